"""Shipping a pretrained encoder: a small checkpoint fine-tuning takes, and its card."""

import pytest

from masksem_core.config import load_experiment
from masksem_core.data.prepare import prepare_dataset
from masksem_core.engine.checkpoint import (
    CheckpointError,
    load_pretrained_encoder,
    save_checkpoint,
)
from masksem_core.engine.distributed import setup_distributed
from masksem_core.engine.stage import run_stage
from masksem_core.engine.tasks import Pretraining
from masksem_core.export.encoder_card import ship_encoder
from tests.conftest import tiny_overrides


def test_the_shipped_encoder_holds_only_the_encoder_and_its_card_its_sources(
    shared_data, demo_root, tmp_path
):
    corpus = prepare_dataset("general", shared_data, tmp_path / "general", progress=False)
    overrides = tiny_overrides(demo_root, tmp_path / "runs")
    overrides += [f"data.root={corpus.out_dir}", "pretrain.epochs=1", "pretrain.batch_size=64"]
    config = load_experiment("general", overrides)
    context = setup_distributed("cpu")
    checkpoint = run_stage(Pretraining(config, context)).checkpoint
    encoder, card = ship_encoder(checkpoint, tmp_path / "models" / "general_encoder.pt")
    model_cfg, state, layout = load_pretrained_encoder(encoder)
    assert layout == "kinect_v1_20" and model_cfg.dim == 32
    assert state and all(not k.startswith(("offline", "decoder")) for k in state)
    text = card.read_text()
    for source in ("nw_ucla", "gtu", "utkinect", "ntu_samples"):
        assert f"| {source} |" in text
    assert "view 3 (the xview test split)" in text and "| 1 |" in text  # held out, loss curve
    linear = save_checkpoint(tmp_path / "linear.pt", {"stage": "linear"})
    with pytest.raises(CheckpointError, match="ship the encoder of a pretraining checkpoint"):
        ship_encoder(linear, tmp_path / "x.pt")
