"""Shared fixtures: tiny models for fast CPU tests and the location of ../shared/data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from masksem_core.config import load_experiment
from masksem_core.data.prepare import prepare_demo_dataset
from masksem_core.model import ActionClassifier, FineTuneHead, LinearProbeHead, SkeletonEncoder
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.window_spec import WindowSpec

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """../shared/data: skipped on a fresh clone, a failure in CI (CI=true) where it must exist."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the shared data directory {SHARED_DATA} is missing")
        pytest.skip(f"needs {SHARED_DATA} (not part of a fresh clone)")
    return SHARED_DATA


def tiny_encoder(num_joints: int = 25, window: int = 16, **kwargs) -> SkeletonEncoder:
    """A 2-layer, 32-wide encoder over 16-frame windows (4 segments): fast on CPU."""
    params = dict(window=window, segment_length=4, dim=32, depth=2, num_heads=4, mlp_dim=64)
    params.update(kwargs)
    return SkeletonEncoder(num_joints, **params)


META = ModelInfo(("a", "b", "c"), WindowSpec("ntu25", frames=16), segment_length=4)


def tiny_classifier(head: type = LinearProbeHead) -> ActionClassifier:
    """A tiny 3-class classifier over 16-frame windows, in eval mode."""
    enc = tiny_encoder(25)
    if head is FineTuneHead:
        return ActionClassifier(enc, FineTuneHead(enc.dim, 25, 3)).eval()
    return ActionClassifier(enc, head(enc.dim, 3)).eval()


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)


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
    return load_experiment("demo", tiny_overrides(demo_root, tmp_path / "runs"))


def run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    """Run ``training/<script>.py`` as a user would, in a fresh process."""
    command = [sys.executable, str(REPO / "training" / f"{script}.py"), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)
