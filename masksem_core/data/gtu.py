"""GTU 3D Actions: Kinect v2 in NTU-25 order, one "x y z" line a joint, 25 lines a frame."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence, check_finite

TEST_FRACTION = 0.3
VAL_FRACTION = 0.15  # of the training split: calibration and settings, never the test split
SPLIT_SEED = 0
CLASS_NAMES = (
    "opening and closing the arms",
    "right-handed shaking",
    "right and left waist stretch",
    "walking",
    "bending the left leg",
    "bending the right leg",
    "left-handed shaking",
    "one right-left step",
    "crouching",
    "standing on the sandal",
    "sit and applause",
    "lower back",
    "right and left 8-step motion",
    "neck relaxation",
)


def read_gtu(path: str | Path) -> SkeletonSequence:
    """Read ``<class 1..14>/movementN.txt`` into a (1, T, 25, 3) sequence; class from the folder."""
    path = Path(path)
    try:
        label = int(path.parent.name) - 1
    except ValueError:
        raise SkeletonFileError(path, "parent folder is not a class number 1..14") from None
    if not 0 <= label < len(CLASS_NAMES):
        raise SkeletonFileError(path, f"class folder {path.parent.name} is outside 1..14")
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    if not lines:
        raise SkeletonFileError(path, "empty file", 1)
    if len(lines) % 25:
        raise SkeletonFileError(
            path,
            f"{len(lines)} joint lines is not a whole number of 25-joint frames (truncated?)",
            len(lines),
        )
    try:
        values = np.array(" ".join(lines).split(), dtype=np.float32)
    except ValueError:
        values = None
    if values is None or values.size != 3 * len(lines):
        for number, line in enumerate(lines, 1):
            parts = line.split()
            if len(parts) != 3:
                raise SkeletonFileError(path, f"expected 3 numbers, got {len(parts)}", number)
            try:
                [float(p) for p in parts]
            except ValueError:
                raise SkeletonFileError(path, f"non-numeric value in {line!r}", number) from None
    check_finite(path, values, 1, 3)
    data = values.reshape(1, -1, 25, 3)
    return SkeletonSequence(name=f"{path.parent.name}/{path.stem}", label=label, data=data)
