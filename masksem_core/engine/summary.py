"""The typed summary every stage writes to ``<output_dir>/<stage>/summary.json`` and that the
study (bench/ablation.py) and the model card read back."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

from masksem_core.atomic import write_json_atomic
from masksem_core.engine.run_layout import SUMMARY
from masksem_core.errors import DataError


@dataclass(frozen=True)
class EpochAccuracy:
    epoch: int
    top1: float
    top5: float


@dataclass(frozen=True)
class RunSummary:
    """What a finished stage did. ``last_epoch`` is the reported accuracy; ``best_epoch_on_test``
    was selected on the test split and is kept for reference only (None for pretraining)."""

    experiment: str
    stage: str  # pretrain | linear | finetune (as in checkpoints and the config's sections)
    folder: str  # under output_dir: pretrain, linear, finetune, finetune_10pct_seed0
    features: str | None  # a linear probe's: cached | online (None: other stages)
    dataset: str
    train_split: str
    init: str | None  # the checkpoint it started from; None: random initialisation
    epochs: int
    world_size: int
    replicas_in_sync: bool
    checkpoint: str
    wall_seconds: float
    history: list[dict] = field(default_factory=list)
    test_split: str | None = None
    test_samples: int | None = None
    unique_test_samples: int | None = None
    last_epoch: EpochAccuracy | None = None
    best_epoch_on_test: EpochAccuracy | None = None

    @classmethod
    def from_history(cls, history: list[dict], **fields: object) -> RunSummary:
        """Fill the test fields from the test metrics of a classifier's history."""
        if not history or "test_top1" not in history[-1]:
            return cls(history=history, **fields)
        final = history[-1]
        best = max(history, key=lambda h: h["test_top1"])
        return cls(
            history=history,
            test_samples=final["test_samples"],
            unique_test_samples=final["test_unique_samples"],
            last_epoch=EpochAccuracy(final["epoch"], final["test_top1"], final["test_top5"]),
            best_epoch_on_test=EpochAccuracy(best["epoch"], best["test_top1"], best["test_top5"]),
            **fields,
        )

    def write(self, folder: Path) -> Path:
        return write_json_atomic(Path(folder) / SUMMARY, dataclasses.asdict(self))

    @classmethod
    def read(cls, folder: str | Path) -> RunSummary:
        """The summary of the stage folder ``folder``; a clear error when it is absent or not a
        summary of this version."""
        path = Path(folder) / SUMMARY
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: the stage has not finished")
        data = upgrade_summary(json.loads(path.read_text()))
        try:
            for key in ("last_epoch", "best_epoch_on_test"):
                if data.get(key) is not None:
                    data[key] = EpochAccuracy(**data[key])
            return cls(**data)
        except TypeError as err:
            raise DataError(f"{path} is not a run summary of this version: {err}") from None


LEGACY_TASKS = {  # summaries written before the stage vocabulary: "task" → (stage, features)
    "pretraining": ("pretrain", None),
    "cached_probe": ("linear", "cached"),
    "online_probe": ("linear", "online"),
    "finetuning": ("finetune", None),
}


def upgrade_summary(data: dict) -> dict:
    """A summary of an earlier version (``stage`` was the folder, ``task`` the kind of stage)
    in today's fields; others are returned as they are."""
    if "task" not in data or data["task"] not in LEGACY_TASKS:
        return data
    data = dict(data)
    data["folder"] = data["stage"]
    data["stage"], data["features"] = LEGACY_TASKS[data.pop("task")]
    return data
