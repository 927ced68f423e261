"""Checkpoints: atomic writes, ``weights_only`` loading, strict key checks, RNG state capture."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch
from torch import nn

from masksem_core.atomic import atomic_path
from masksem_core.config import ExperimentConfig, ModelConfig
from masksem_core.errors import ConfigError, MaskSemError

FORMAT = "masksem-checkpoint"
VERSION = 1


class CheckpointError(MaskSemError, ValueError):
    """A checkpoint that is missing, unreadable or does not fit the model."""


def save_checkpoint(path: str | Path, content: dict) -> Path:
    """Write atomically (``atomic_path``): a crash or kill during the write leaves the previous
    checkpoint intact."""
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "version": VERSION, **content}, tmp)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict:
    """Load with ``weights_only=True``; clear errors for missing, corrupt or foreign files."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; train first (e.g. "
            "python training/pretrain.py) or check the path"
        )
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for corrupt files
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(err).__name__}: "
            f"{str(err).splitlines()[0][:200]})"
        ) from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a MaskSem checkpoint (no '{FORMAT}' marker)")
    if content.get("version") != VERSION:
        raise CheckpointError(
            f"{path}: checkpoint version {content.get('version')}, this code "
            f"reads version {VERSION}"
        )
    if "kind" in content and "stage" not in content:  # written before the stage vocabulary
        content["stage"] = content.pop("kind")
    return content


def load_state_strict(module: nn.Module, state: dict, source: str) -> None:
    """``load_state_dict(strict=True)`` with a message naming missing and unexpected keys and
    mismatched shapes, never a silent partial load."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = sorted(
        f"{k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in set(own) & set(state)
        if state[k].shape != own[k].shape
    )
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys {missing[:6]}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys {unexpected[:6]}")
        if shapes:
            parts.append(f"shape mismatches (checkpoint vs model) {shapes[:6]}")
        raise CheckpointError(
            f"{source} does not fit the {type(module).__name__}: " + "; ".join(parts)
        )
    module.load_state_dict(state, strict=True)


def sub_state(state: dict, prefix: str) -> dict:
    """The entries under ``prefix.`` with the prefix removed."""
    return {k[len(prefix) + 1 :]: v for k, v in state.items() if k.startswith(prefix + ".")}


def capture_rng_state() -> dict:
    """Python, NumPy, torch (and CUDA) RNG states as weights_only-loadable data."""
    np_state = np.random.get_state()
    state = {
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    random.setstate(_tuplify(state["python"]))
    np_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(value: object) -> object:
    if isinstance(value, list | tuple):
        return tuple(_tuplify(v) for v in value)
    return value


def load_pretrained_encoder(path: str | Path) -> tuple[ModelConfig, dict, str]:
    """(model config, encoder state, layout) of any MaskSem checkpoint holding an encoder."""
    state = load_checkpoint(path)
    encoder = sub_state(state["model"], "encoder")
    if not encoder:
        raise CheckpointError(f"{path} holds no encoder weights (no 'encoder.*' keys)")
    return checkpoint_config(state, path).model, encoder, state["layout"]


def checkpoint_config(state: dict, path: str | Path) -> ExperimentConfig:
    """The typed experiment config a checkpoint was trained with (validated like a YAML file)."""
    try:
        return ExperimentConfig.from_dict(state["config"])
    except (KeyError, ConfigError) as err:
        raise CheckpointError(f"{path}: its stored config does not fit this code ({err})") from None
