import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from masksem_core.engine.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from masksem_core.engine.distributed import setup_distributed
from masksem_core.engine.stage import run_stage
from masksem_core.engine.summary import RunSummary
from masksem_core.engine.tasks import FineTuning, Pretraining, linear_probe, pretraining_data
from tests.conftest import tiny_overrides

REPO = Path(__file__).resolve().parents[2]


def pretrain(config, context, init=None, resume=None) -> str:
    """Pretrain with ``config``; the final checkpoint's path."""
    return run_stage(Pretraining(config, context, init), resume).checkpoint


def probe_encoder(config, context, init) -> RunSummary:
    return run_stage(linear_probe(config, context, init))


def test_pretrain_then_linear_and_finetune_from_its_checkpoint(tiny_config):
    context = setup_distributed("cpu")
    checkpoint = pretrain(tiny_config, context)
    state = load_checkpoint(checkpoint)
    assert state["stage"] == "pretrain" and state["epoch"] == 2
    assert state["model"]["reference_ready"].item()  # S̄ computed and stored
    assert any(k.startswith("offline_encoder.") for k in state["model"])
    summary = probe_encoder(tiny_config, context, checkpoint)
    assert summary.test_samples == summary.unique_test_samples > 0
    assert 0.0 <= summary.last_epoch.top1 <= summary.last_epoch.top5 <= 100.0
    linear = load_checkpoint(Path(tiny_config.output_dir) / "linear" / "last.pt")
    for name, value in state["model"].items():
        if name.startswith("encoder."):  # the frozen encoder is untouched
            assert torch.equal(linear["model"][name], value), name
    semi = replace(
        tiny_config, finetune=replace(tiny_config.finetune, label_fraction=0.5, label_seed=1)
    )
    fine = run_stage(FineTuning(semi, context, checkpoint))
    assert fine.train_split == "xsub_train_50pct_seed1" and fine.stage == "finetune"
    assert fine.folder == "finetune_50pct_seed1" and fine.features is None
    assert (Path(tiny_config.output_dir) / "finetune_50pct_seed1" / "summary.json").is_file()


def test_checkpoint_with_wrong_layout_or_missing_keys_is_refused(tiny_config, tmp_path):
    context = setup_distributed("cpu")
    tiny_config = replace(tiny_config, pretrain=replace(tiny_config.pretrain, epochs=1))
    checkpoint = pretrain(tiny_config, context)
    state = load_checkpoint(checkpoint)
    state["model"] = {k: v for k, v in state["model"].items() if "blocks.0.mlp" not in k}
    broken = save_checkpoint(tmp_path / "broken.pt", state)
    with pytest.raises(CheckpointError, match="missing keys .*blocks.0.mlp"):
        probe_encoder(tiny_config, context, str(broken))
    wide = replace(tiny_config, model=replace(tiny_config.model, dim=64)).to_dict()
    state = load_checkpoint(checkpoint)
    state["config"] = wide
    mismatched = save_checkpoint(tmp_path / "wide.pt", state)
    with pytest.raises(CheckpointError, match="shape mismatches"):
        probe_encoder(tiny_config, context, str(mismatched))
    with pytest.raises(CheckpointError, match="does not exist"):
        probe_encoder(tiny_config, context, str(tmp_path / "none.pt"))


def test_resume_gives_identical_weights(tiny_config, tmp_path):
    context = setup_distributed("cpu")
    straight = replace(tiny_config, output_dir=str(tmp_path / "straight"))
    pretrain(straight, context)
    split = replace(tiny_config, output_dir=str(tmp_path / "split"))
    first_ckpt = _pretrain_one_epoch_of_two(split, context)
    assert load_checkpoint(first_ckpt)["epoch"] == 1
    pretrain(split, context, resume="auto")
    a = load_checkpoint(Path(straight.output_dir) / "pretrain" / "last.pt")["model"]
    b = load_checkpoint(Path(split.output_dir) / "pretrain" / "last.pt")["model"]
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name


def _pretrain_one_epoch_of_two(config, context):
    """Interrupt a 2-epoch run after its first epoch, as a crash would."""
    import masksem_core.engine.training_state as checkpoint

    original = checkpoint.save_checkpoint

    class StopError(Exception):
        pass

    def save_then_stop(path, content):
        original(path, content)
        raise StopError

    checkpoint.save_checkpoint = save_then_stop
    try:
        with pytest.raises(StopError):
            pretrain(config, context)
    finally:
        checkpoint.save_checkpoint = original
    return Path(config.output_dir) / "pretrain" / "last.pt"


@pytest.mark.slow
def test_two_process_ddp_with_gloo(demo_root, tmp_path):
    out = tmp_path / "ddp"
    overrides = [*tiny_overrides(demo_root, out), "pretrain.epochs=1", "pretrain.batch_size=8"]
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        str(REPO / "training" / "pretrain.py"),
        "--device",
        "cpu",
        *overrides,
    ]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    pretrained = RunSummary.read(out / "pretrain")
    assert pretrained.world_size == 2 and pretrained.replicas_in_sync is True
    linear = RunSummary.read(out / "linear")
    test_size = len(json.loads((demo_root / "splits.json").read_text())["xsub_test"])
    assert linear.world_size == 2 and linear.replicas_in_sync is True
    assert linear.test_samples == linear.unique_test_samples == test_size


def test_cached_probe_features_are_the_online_probe_features(tiny_config):
    from masksem_core.data.prepared import PreparedData
    from masksem_core.engine.builders import build_classifier, eval_loader, evaluation_windows
    from masksem_core.engine.evaluation import evaluate
    from masksem_core.engine.linear_probe import encode_pooled, evaluate_head

    context = setup_distributed("cpu")
    prepared = PreparedData(tiny_config.data.root)
    model = build_classifier(tiny_config.model, 25, 120, len(prepared.class_names), "linear")
    test_set = evaluation_windows(prepared, "xsub_test", tiny_config.data)
    loader = eval_loader(test_set, 4, context, workers=0)
    features, labels = encode_pooled(model, loader, context, "fp32")
    assert features.shape == (len(test_set), tiny_config.model.dim)
    x, y = test_set[len(test_set) - 1]
    with torch.no_grad():
        online = model.head.pool(model.features(x[None]))[0]
    torch.testing.assert_close(features[-1], online)
    assert labels[-1].item() == y
    model.head.norm.train()
    model.head.classify(features)  # give the BatchNorm running statistics
    cached = evaluate_head(model.head, features, labels)
    direct = evaluate(model, loader, context, "fp32")
    for key in ("top1", "top5", "samples"):
        assert cached[key] == pytest.approx(direct[key]), key
    assert cached["loss"] == pytest.approx(direct["loss"], rel=1e-5)


def test_random_encoder_probe_is_the_pretraining_initialisation(tiny_config):
    context = setup_distributed("cpu")
    tiny_config = replace(tiny_config, pretrain=replace(tiny_config.pretrain, epochs=0))
    initial = load_checkpoint(pretrain(tiny_config, context))
    assert initial["epoch"] == 0
    summary = probe_encoder(tiny_config, context, None)
    assert summary.init is None and summary.stage == "linear" and summary.features == "cached"
    probe = load_checkpoint(Path(tiny_config.output_dir) / "linear" / "last.pt")["model"]
    for name, value in initial["model"].items():
        if name.startswith("encoder."):
            assert torch.equal(probe[name], value), name


def test_pretraining_reads_its_own_window_mode(tiny_config):
    stream = replace(tiny_config, data=replace(tiny_config.data, window_mode="stream"))
    assert pretraining_data(stream) == stream.data  # "data": as the data section says
    clip = replace(stream, pretrain=replace(stream.pretrain, window_mode="clip"))
    assert pretraining_data(clip) == replace(stream.data, window_mode="clip")
    assert clip.data.window_mode == "stream"  # fine-tuning and export keep stream windows


def test_finetuning_maps_a_checkpoint_of_another_layout(tiny_config, tmp_path):
    """A Kinect-v1-20 pretraining checkpoint starts an NTU-25 classifier (joints mapped); a
    layout pair without a correspondence, or pretraining on other joints, is a clear error."""
    from dataclasses import replace as copy_with

    from masksem_core.data.demo import DEMO_CLASS_NAMES, demo_splits, generate_demo_dataset
    from masksem_core.data.prepared import write_prepared
    from masksem_core.engine.checkpoint import save_checkpoint
    from masksem_core.skeleton import KINECT_V1_20, NTU25, map_joints

    sequences = [
        copy_with(s, data=map_joints(s.data, NTU25, KINECT_V1_20)) for s in generate_demo_dataset(4)
    ]
    meta = {"dataset": "demo", "layout": "kinect_v1_20", "class_names": list(DEMO_CLASS_NAMES)}
    root = write_prepared(tmp_path / "k20", sequences, demo_splits, {**meta, "fps": 30.0}, 1, 20)
    context = setup_distributed("cpu")
    kinect = replace(tiny_config, data=replace(tiny_config.data, root=str(root)))
    checkpoint = pretrain(kinect, context)
    fine = run_stage(FineTuning(tiny_config, context, checkpoint))
    assert fine.init == checkpoint and fine.last_epoch is not None
    with pytest.raises(CheckpointError, match="pretraining continues only on the same joints"):
        Pretraining(tiny_config, context, checkpoint).build_model(NTU25, None)
    state = load_checkpoint(checkpoint)
    foreign = save_checkpoint(tmp_path / "mp.pt", {**state, "layout": "mediapipe33"})
    with pytest.raises(CheckpointError, match=r"layout mediapipe33\) cannot start .* ntu25"):
        run_stage(FineTuning(tiny_config, context, str(foreign)))
