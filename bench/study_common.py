"""What the accuracy studies share: the small model, the data recipes they compare and choose
between, and committing a finished record (a session may end at any time)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

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
