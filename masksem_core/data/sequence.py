"""The in-memory record every reader returns, and the error every reader raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from masksem_core.errors import MaskSemError


class SkeletonFileError(MaskSemError, ValueError):
    """A skeleton file that cannot be read, with the file and (where known) the line."""

    def __init__(self, path: str | Path, message: str, line: int | None = None) -> None:
        where = f"{path}" if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.reason = message


@dataclass
class SkeletonSequence:
    """One labelled sample: ``data`` is (M, T, V, C) float32 metres; absent bodies are zeros."""

    name: str
    label: int
    data: np.ndarray
    subject: int = -1
    view: int = -1
    setup: int = -1
    extra: dict = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return int(self.data.shape[1])


def check_finite(
    path: str | Path, array: np.ndarray, first_line: int, values_per_line: int
) -> None:
    """Raise naming the line of the first NaN/inf in ``array`` (flattened in file order)."""
    bad = np.flatnonzero(~np.isfinite(array.reshape(-1)))
    if bad.size:
        line = first_line + int(bad[0]) // values_per_line
        raise SkeletonFileError(path, "non-finite coordinate (NaN or inf)", line)
