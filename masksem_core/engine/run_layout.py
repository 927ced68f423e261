"""The one place that knows a run folder's layout: ``<output_dir>/<folder>/`` holds ``last.pt``,
``summary.json``, ``tb/`` (TensorBoard) and, for a cached linear probe, ``features.pt``."""

from __future__ import annotations

from pathlib import Path

from masksem_core.config import ExperimentConfig

CHECKPOINT = "last.pt"
SUMMARY = "summary.json"
TENSORBOARD = "tb"
FEATURE_CACHE = "features.pt"


def stage_dir(config: ExperimentConfig, folder: str) -> Path:
    """``pretrain``, ``linear``, ``finetune`` or ``finetune_10pct_seed0`` (a label fraction)."""
    return Path(config.output_dir) / folder


def finetune_folder(config: ExperimentConfig) -> str:
    """A fine-tuning stage's folder: ``finetune``, or its label fraction and seed."""
    fine = config.finetune
    if fine.label_fraction:
        return f"finetune_{fine.label_fraction * 100:g}pct_seed{fine.label_seed}"
    return "finetune"


def pretrained_checkpoint(config: ExperimentConfig) -> Path:
    """Where pretraining leaves its final checkpoint (the default ``--init`` of the probes)."""
    return stage_dir(config, "pretrain") / CHECKPOINT
