"""A tiny demo experiment (6 samples per class, 1-layer 32-wide model) for engine tests."""

from __future__ import annotations

import pytest

from masksem_core.data.prepare import prepare_demo_dataset
from masksem_core.engine.config import apply_overrides, load_config


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    return prepare_demo_dataset(tmp_path_factory.mktemp("data") / "demo", samples_per_class=6)


def tiny_overrides(demo_root, out_dir) -> list[str]:
    return [
        f"data.root={demo_root}",
        f"output_dir={out_dir}",
        "data.num_workers=0",
        "model.dim=32",
        "model.depth=1",
        "model.heads=2",
        "model.mlp_dim=64",
        "model.decoder_dim=32",
        "model.decoder_depth=1",
        "model.decoder_heads=2",
        "model.decoder_mlp_dim=64",
        "pretrain.epochs=2",
        "pretrain.batch_size=8",
        "pretrain.warmup_epochs=1",
        "linear.epochs=1",
        "linear.batch_size=8",
        "finetune.epochs=1",
        "finetune.batch_size=8",
        "eval_batch_size=8",
        "log_every=1",
    ]


@pytest.fixture
def tiny_config(demo_root, tmp_path):
    return apply_overrides(load_config("demo"), tiny_overrides(demo_root, tmp_path / "runs"))
