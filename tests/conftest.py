"""Shared fixtures: tiny models for fast CPU tests and the location of ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from masksem_core.model import SkeletonEncoder

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


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


@pytest.fixture(autouse=True)
def _deterministic() -> None:
    torch.manual_seed(0)
