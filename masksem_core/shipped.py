"""Where the files the project ships (``models/``: ONNX models, the general encoder) are found:
a checkout's working folder, or the ``share/masksem_ros/models`` folder a pip or colcon
install puts them in."""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = "masksem_ros"


def shipped_candidates(path: str | Path, shares: list[Path] | tuple[Path, ...] = ()) -> list[Path]:
    """Where ``path`` may be, in order: itself (absolute, or relative to the working folder),
    then the file's name in each installed models folder (``shares`` first, then this
    environment's ``share/masksem_ros``)."""
    candidate = Path(path)
    if candidate.is_absolute():
        return [candidate]
    name = candidate.name
    installed = [*shares, Path(sys.prefix) / "share" / PACKAGE]
    return [Path.cwd() / candidate, *(share / "models" / name for share in installed)]


def locate_shipped(path: str | Path, shares: list[Path] | tuple[Path, ...] = ()) -> Path:
    """The first candidate that exists; ``path`` itself when none does (its reader then says
    that it does not exist)."""
    for candidate in shipped_candidates(path, shares):
        if candidate.is_file():
            return candidate
    return Path(path)
