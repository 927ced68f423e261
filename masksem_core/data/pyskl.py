"""pyskl annotation pickles, both ways: {'split': {...}, 'annotations': [{'frame_dir', 'label',
'keypoint': M×T×V×C}], optional 'label_names' and 'joint_order'}."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from masksem_core.atomic import atomic_path
from masksem_core.data.safe_pickle import ForbiddenGlobal, load_data_pickle
from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence


@dataclass
class PysklAnnotations:
    """The validated content of a pyskl pickle."""

    sequences: list[SkeletonSequence]
    splits: dict[str, list[str]]  # split name → frame_dirs
    label_names: list[str] | None  # from the pickle's optional 'label_names'
    joint_order: list[str] | None  # from the pickle's optional 'joint_order'


def read_pyskl(path: str | Path) -> PysklAnnotations:
    """Read and check every annotation and the split lists (by frame_dir): each problem is a
    SkeletonFileError naming the pickle and the sample."""
    path = Path(path)
    try:
        content = load_data_pickle(path)
    except ForbiddenGlobal as err:
        raise SkeletonFileError(path, f"refused: {err}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as err:
        raise SkeletonFileError(path, f"not a readable pickle ({err})") from None
    if not isinstance(content, dict) or "annotations" not in content:
        raise SkeletonFileError(path, "expected a dict with 'split' and 'annotations'")
    sequences, seen = [], set()
    for k, ann in enumerate(content["annotations"]):
        try:
            keypoint = np.asarray(ann["keypoint"], dtype=np.float32)
            name, label = str(ann["frame_dir"]), ann["label"]
        except (KeyError, TypeError, ValueError) as err:
            raise SkeletonFileError(path, f"annotation {k} is malformed ({err!r})") from None
        where = f"annotation {k} ({name})"
        if name in seen:
            raise SkeletonFileError(path, f"{where}: frame_dir {name!r} appears twice")
        seen.add(name)
        if not isinstance(label, int | np.integer) or isinstance(label, bool):
            raise SkeletonFileError(path, f"{where}: label {label!r} is not an integer")
        if keypoint.ndim != 4:
            raise SkeletonFileError(
                path, f"{where}: keypoint has shape {keypoint.shape}, expected (M, T, V, C)"
            )
        if 0 in keypoint.shape[:2]:
            raise SkeletonFileError(path, f"{where}: empty sequence (keypoint {keypoint.shape})")
        if not np.isfinite(keypoint).all():
            raise SkeletonFileError(path, f"{where}: non-finite keypoint")
        sequences.append(SkeletonSequence(name=name, label=int(label), data=keypoint))
    if not sequences:
        raise SkeletonFileError(path, "the pickle holds no annotations")
    label_names = _names(path, content, "label_names")
    _check_labels(path, sequences, label_names)
    splits = _check_splits(path, content, seen)
    return PysklAnnotations(sequences, splits, label_names, _names(path, content, "joint_order"))


def _names(path: Path, content: dict, key: str) -> list[str] | None:
    names = content.get(key)
    if names is None:
        return None
    if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
        raise SkeletonFileError(path, f"'{key}' must be a list of strings")
    return list(names)


def _check_labels(path: Path, sequences: list[SkeletonSequence], names: list[str] | None) -> None:
    """Labels are 0..C−1: C = len(label_names) when given, else every class up to the largest
    label must occur (a gap means a mislabelled or missing class)."""
    labels = {s.label for s in sequences}
    count = len(names) if names is not None else max(labels) + 1
    for s in sequences:
        if not 0 <= s.label < count:
            raise SkeletonFileError(
                path, f"sample {s.name}: label {s.label} is outside 0..{count - 1}"
            )
    missing = sorted(set(range(count)) - labels)
    if names is None and missing:
        raise SkeletonFileError(
            path,
            f"labels are not contiguous: no sample of class {missing[0]} (of 0..{count - 1}); "
            "renumber the labels or give 'label_names' for every class",
        )


def _check_splits(path: Path, content: dict, names: set[str]) -> dict[str, list[str]]:
    splits = content.get("split")
    if not isinstance(splits, dict) or not splits:
        raise SkeletonFileError(
            path, "no 'split' dict (split name → list of frame_dir), e.g. {'train': [...]}"
        )
    out = {}
    for split, members in splits.items():
        members = [str(m) for m in members]
        if not members:
            raise SkeletonFileError(path, f"split {split!r} is empty")
        unknown = [m for m in members if m not in names]
        if unknown:
            raise SkeletonFileError(
                path,
                f"split {split!r} lists {len(unknown)} frame_dir(s) that match no annotation, "
                f"e.g. {unknown[0]!r}",
            )
        out[str(split)] = members
    return out


def write_pyskl(
    path: str | Path,
    sequences: list[SkeletonSequence],
    splits: dict[str, list[str]],
    label_names: list[str] | None = None,
    joint_order: list[str] | None = None,
) -> None:
    """Write a pyskl pickle (splits by frame_dir; class and joint names when given) atomically."""
    path = Path(path)
    names = {"label_names": label_names, "joint_order": joint_order}
    content = {
        **{key: list(value) for key, value in names.items() if value is not None},
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
