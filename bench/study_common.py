"""What the accuracy studies share: the small model, the data recipes they compare and choose
between, and committing a finished record (a session may end at any time)."""

from __future__ import annotations

import fcntl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from masksem_core.config import ExperimentConfig
from masksem_core.engine.run_layout import CHECKPOINT, SUMMARY, stage_dir
from masksem_core.engine.stage import run_stage
from masksem_core.engine.summary import RunSummary
from masksem_core.engine.tasks import StageBuilder

SMALL_MODEL = [
    "model.dim=64",
    "model.depth=3",
    "model.heads=4",
    "model.mlp_dim=128",
    "model.decoder_dim=64",
    "model.decoder_depth=1",
    "model.decoder_heads=4",
    "model.decoder_mlp_dim=128",
]
MODEL_SIZES = {
    "3x64": SMALL_MODEL,
    "4x128": [
        "model.dim=128",
        "model.depth=4",
        "model.heads=8",
        "model.mlp_dim=256",
        "model.decoder_dim=128",
        "model.decoder_depth=1",
        "model.decoder_heads=8",
        "model.decoder_mlp_dim=256",
    ],
}
# Data recipes: viewpoint augmentation and normalisation, as config overrides; each sets every
# option it is about, so a recipe means the same whatever the config's defaults
RECIPES = {
    "mamp_rotation": [  # random rotation ±0.3 rad about each axis (MAMP's NTU value)
        "data.rotation=[0.3, 0.3, 0.3]",
        "data.normalise_view=false",
        "data.normalise_scale=false",
    ],
    "wide_vertical": [  # ±60° about the vertical axis
        "data.rotation=[0.3, 1.05, 0.3]",
        "data.normalise_view=false",
        "data.normalise_scale=false",
    ],
    "normalised": [
        "data.rotation=[0.3, 0.3, 0.3]",
        "data.normalise_view=true",
        "data.normalise_scale=true",
    ],
    "wide_normalised": [
        "data.rotation=[0.3, 1.05, 0.3]",
        "data.normalise_view=true",
        "data.normalise_scale=true",
    ],
}
DEFAULT_RECIPE = "mamp_rotation"


@contextmanager
def claimed(folder: Path, wait: bool) -> Iterator[bool]:
    """Hold ``folder``'s lock for the block, so that study processes started side by side never
    run the same stage twice; yields False when another process holds it and ``wait`` is off."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


def finished_or_run(config: ExperimentConfig, builder: StageBuilder, what: str) -> RunSummary:
    """The stage's summary when it has finished; otherwise run (or resume) it. A stage another
    study process is running is waited for, then read."""
    folder = stage_dir(config, builder.stage)
    with claimed(folder, wait=True):
        if (folder / SUMMARY).is_file():
            return RunSummary.read(folder)
        resume = "auto" if (folder / CHECKPOINT).is_file() else None
        print(f"== {what}" + (" (resuming)" if resume else ""), flush=True)
        return run_stage(builder, resume)


def commit(paths: list[Path], message: str) -> None:
    """Commit only ``paths`` in the repository that holds them (whatever else is staged stays
    staged); retried while git is busy."""
    git = ["git", "-C", str(paths[0].parent)]
    for _ in range(10):
        added = subprocess.run([*git, "add", *map(str, paths)], check=False)
        done = subprocess.run(
            [*git, "commit", "-q", "-m", message, "--", *map(str, paths)], check=False
        )
        if added.returncode == 0 and done.returncode == 0:
            return
        time.sleep(3)
    print(f"warning: could not commit {paths}; commit them by hand")
