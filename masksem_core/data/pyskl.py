"""pyskl annotation pickles, both ways: {'split': {...}, 'annotations': [{'keypoint': M×T×V×C}]}."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from masksem_core.atomic import atomic_path
from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence


def read_pyskl(path: str | Path) -> tuple[list[SkeletonSequence], dict[str, list[str]]]:
    """Read every annotation and the split lists (by frame_dir)."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            content = pickle.load(handle)
    except (pickle.UnpicklingError, EOFError) as err:
        raise SkeletonFileError(path, f"not a readable pickle ({err})") from None
    if not isinstance(content, dict) or "annotations" not in content:
        raise SkeletonFileError(path, "expected a dict with 'split' and 'annotations'")
    sequences = []
    for k, ann in enumerate(content["annotations"]):
        try:
            keypoint = np.asarray(ann["keypoint"], dtype=np.float32)
            name, label = str(ann["frame_dir"]), int(ann["label"])
        except (KeyError, TypeError, ValueError) as err:
            raise SkeletonFileError(path, f"annotation {k} is malformed ({err!r})") from None
        if keypoint.ndim != 4:
            raise SkeletonFileError(
                path,
                f"annotation {k} ({name}): keypoint has shape "
                f"{keypoint.shape}, expected (M, T, V, C)",
            )
        if not np.isfinite(keypoint).all():
            raise SkeletonFileError(path, f"annotation {k} ({name}): non-finite keypoint")
        sequences.append(SkeletonSequence(name=name, label=label, data=keypoint))
    splits = {key: [str(v) for v in value] for key, value in content.get("split", {}).items()}
    return sequences, splits


def write_pyskl(
    path: str | Path, sequences: list[SkeletonSequence], splits: dict[str, list[str]]
) -> None:
    """Write a pyskl pickle (splits by frame_dir) atomically."""
    path = Path(path)
    content = {
        "split": splits,
        "annotations": [
            {
                "frame_dir": s.name,
                "label": int(s.label),
                "total_frames": s.frames,
                "keypoint": s.data.astype(np.float32),
            }
            for s in sequences
        ],
    }
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        pickle.dump(content, handle, protocol=pickle.HIGHEST_PROTOCOL)
