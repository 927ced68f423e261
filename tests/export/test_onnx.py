import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from masksem_core.data.gtu import read_gtu
from masksem_core.data.prepared import PreparedData
from masksem_core.engine.distributed import setup_distributed
from masksem_core.engine.stage import run_stage
from masksem_core.engine.summary import RunSummary
from masksem_core.engine.tasks import Pretraining, linear_probe
from masksem_core.export.export_checkpoint import export_checkpoint, write_model_card
from masksem_core.export.onnx_export import ParityError, check_parity, export_classifier
from masksem_core.export.quantise import quantise_dynamic_int8
from masksem_core.model import FineTuneHead, LinearProbeHead
from masksem_core.runtime.session import ActionSession
from masksem_core.window_spec import WindowSpec
from tests.conftest import META, tiny_classifier


@pytest.mark.parametrize("attention", ["standard", "fused"])
@pytest.mark.parametrize("head", [LinearProbeHead, FineTuneHead])
def test_random_weights_parity_with_dynamic_batch_and_bodies(tmp_path, head, attention):
    model = tiny_classifier(head)
    path = export_classifier(model, tmp_path / "m.onnx", META, attention=attention)
    session = ActionSession(path)
    assert session.provider == "CPUExecutionProvider"
    for batch, bodies in ((1, 1), (3, 2)):
        x = np.random.default_rng(batch).normal(size=(batch, bodies, 16, 25, 3)).astype(np.float32)
        report = check_parity(model, session, x)
        assert report["max_abs_diff"] <= 1e-4 and report["same_argmax"]
    graph = onnx.load(str(path))
    assert graph.opset_import[0].version >= 17
    meta = {p.key: p.value for p in graph.metadata_props}
    assert json.loads(meta["class_names"]) == ["a", "b", "c"]
    assert json.loads(meta["window_spec"])["frames"] == 16
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and dims[1].dim_param  # B and M dynamic
    fused = [n for n in graph.graph.node if n.op_type == "MultiHeadAttention"]
    assert len(fused) == (len(model.encoder.transformer.blocks) if attention == "fused" else 0)
    assert all(n.domain == "com.microsoft" for n in fused)
    assert all(m.path == "auto" for m in model.modules() if hasattr(m, "path"))


def test_unknown_attention_export_is_refused(tmp_path):
    with pytest.raises(ValueError, match="attention must be one of"):
        export_classifier(tiny_classifier(), tmp_path / "m.onnx", META, attention="flash")


def test_parity_failure_is_loud(tmp_path):
    model = tiny_classifier()
    session = ActionSession(export_classifier(model, tmp_path / "m.onnx", META))
    with torch.no_grad():
        model.head.fc.bias.add_(1.0)  # the PyTorch model drifts from the exported graph
    x = np.zeros((1, 1, 16, 25, 3), dtype=np.float32)
    with pytest.raises(ParityError, match="parity check failed"):
        check_parity(model, session, x)


def test_int8_variant_keeps_metadata_and_mostly_agrees(tmp_path):
    model = tiny_classifier()
    fp32 = export_classifier(model, tmp_path / "m.onnx", META)
    int8 = quantise_dynamic_int8(fp32, tmp_path / "m.int8.onnx")
    session = ActionSession(int8)
    assert session.info.precision == "int8-dynamic"
    assert session.info.class_names == META.class_names
    x = np.random.default_rng(0).normal(size=(8, 1, 16, 25, 3)).astype(np.float32)
    diff = np.abs(session.logits(x) - ActionSession(fp32).logits(x)).max()
    assert 0 < diff < 0.5


def test_the_window_of_a_raw_clip_is_the_training_evaluation_window(shared_data, tmp_path):
    from masksem_core.config import load_experiment
    from masksem_core.data.prepare import prepare_dataset
    from masksem_core.engine.builders import evaluation_windows, window_spec

    report = prepare_dataset("gtu", shared_data / "gtu", tmp_path / "gtu", progress=False)
    prepared = PreparedData(report.out_dir)
    data = load_experiment("gtu_stratified").data
    dataset = evaluation_windows(prepared, "stratified_test", data)
    index = dataset.items[0][0]
    name = prepared.samples[index]["name"]
    raw = read_gtu(shared_data / "gtu" / f"{name}.txt").data
    spec = window_spec(data, prepared)
    np.testing.assert_allclose(spec.from_clip(raw), dataset[0][0].numpy(), atol=1e-6)
    with pytest.raises(ValueError, match=r"expected \(M, T, V, 3\) with V = 25"):
        spec.from_clip(raw[:, :, :20])


def test_briefly_trained_model_exports_with_parity_and_int8(tiny_config):
    context = setup_distributed("cpu")
    checkpoint = run_stage(Pretraining(tiny_config, context)).checkpoint
    probe = run_stage(linear_probe(tiny_config, context, checkpoint))
    linear = Path(probe.checkpoint)
    report = export_checkpoint(
        linear,
        Path(tiny_config.output_dir) / "m.onnx",
        int8=True,
        parity_windows=8,
        attention="fused",
    )
    assert report["attention"] == "fused"
    assert report["real"]["max_abs_diff"] <= 1e-4 and report["real"]["same_argmax"]
    assert report["real"]["windows"] == 8
    assert 0.0 <= report["int8"]["agreement_with_fp32"] <= 1.0
    session = ActionSession(report["onnx"])
    assert session.info.window_spec.layout == "ntu25" and len(session.class_names) == 10
    card = write_model_card(report, linear, Path(tiny_config.output_dir) / "m.md").read_text()
    assert f"top-1 {RunSummary.read(linear.parent).last_epoch.top1:.2f} %" in card
    assert "xsub_train" in card and "wave right hand" in card
    assert "attention: fused" in card
    with pytest.raises(Exception, match="export needs a classifier"):
        export_checkpoint(checkpoint, Path(tiny_config.output_dir) / "x.onnx")


def test_class_names_of_a_users_pickle_reach_the_onnx_metadata(tmp_path):
    from masksem_core.config import load_experiment
    from masksem_core.data.demo import demo_splits, generate_demo_dataset
    from masksem_core.data.prepare import prepare_dataset
    from masksem_core.data.pyskl import write_pyskl
    from tests.conftest import tiny_overrides

    sequences = generate_demo_dataset(2, seed=3)
    samples = [{"subject": s.subject} for s in sequences]
    splits = {k: [sequences[i].name for i in v] for k, v in demo_splits(samples).items()}
    names = [f"gesture {i}" for i in range(10)]
    write_pyskl(tmp_path / "mine.pkl", sequences, splits, label_names=names)
    prepared = prepare_dataset("pyskl", tmp_path / "mine.pkl", tmp_path / "data", progress=False)
    config = load_experiment(
        "demo",
        [*tiny_overrides(prepared.out_dir, tmp_path / "runs"), "data.dataset=pyskl"],
    )
    context = setup_distributed("cpu")
    run_stage(linear_probe(config, context, None))
    report = export_checkpoint(tmp_path / "runs" / "linear" / "last.pt", tmp_path / "m.onnx")
    assert ActionSession(report["onnx"]).class_names == tuple(names)


def test_the_model_card_says_how_windows_are_normalised():
    from masksem_core.config import DataConfig
    from masksem_core.export.export_checkpoint import window_line

    def line(**data: object) -> str:
        config = DataConfig(**data)
        return window_line(config, WindowSpec.from_data_config(config, "ntu25", 30.0), {})

    plain = line()
    both = line(normalise_view=True, normalise_scale=True)
    scale = line(normalise_scale=True, window_mode="stream")
    assert "normalised" not in plain and "centre crop of 95%" in plain
    assert "view and scale normalised" in both
    assert "stream windows" in scale and "scale normalised" in scale and "view" not in scale
