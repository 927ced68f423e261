"""UTKinect-Action3D continuous recordings: ``joints_sSS_eEE.txt`` (a line per skeleton frame:
the 30 Hz video frame number, then 20 joints × x y z in metres, Kinect v1 SDK order) and
``actionLabel.txt`` (per take, ``action: start end`` in video frame numbers). A recording is one
sample with its capture stamps and its labelled intervals (``recordings.Recording``, the path a
user's own recordings take); everything outside them is real unlabelled activity (standing,
turning, walking to the next spot)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from masksem_core.data.recordings import Recording, checked_recording
from masksem_core.data.sequence import SkeletonFileError, check_finite

CLASS_NAMES = (
    "walk",
    "sitDown",
    "standUp",
    "pickUp",
    "carry",
    "throw",
    "push",
    "pull",
    "waveHands",
    "clapHands",
)
VIDEO_FPS = 30.0
SKELETON_FPS = 7.5  # skeletons arrive every 4 video frames at the median
JOINTS = 20
LABELS_FILE = "actionLabel.txt"
CORRECTED_LABELS_FILE = "actionLabel_modified.txt"  # the dataset's own published corrections


DEFAULT_VAL_SUBJECTS = ("4", "5")  # calibration pooled over two subjects; 6-10 held out
LabelledAction = tuple[int, float, float, int]  # class, first and last video frame, line


def labels_file(src: str | Path) -> Path:
    """The labels of a UTKinect folder: the dataset's corrected ``actionLabel_modified.txt``
    when it is there, else ``actionLabel.txt``."""
    corrected = Path(src) / CORRECTED_LABELS_FILE
    return corrected if corrected.is_file() else Path(src) / LABELS_FILE


def read_action_labels(path: str | Path) -> tuple[dict[str, list[LabelledAction]], list[str]]:
    """Take name (``s01_e01``) → (class, first video frame, last video frame, line) per action,
    and notes: ``name: NaN NaN`` (an action the take does not hold) is skipped with one."""
    path = Path(path)
    takes: dict[str, list[LabelledAction]] = {}
    notes: list[str] = []
    current, take = None, ""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        if ":" not in text:
            take = text
            current = takes.setdefault(text, [])
            continue
        name, _, frames = text.partition(":")
        parts = frames.split()
        if current is None or name.strip() not in CLASS_NAMES or len(parts) != 2:
            raise SkeletonFileError(
                path, f"expected 'action: start end' in a take, got {text!r}", number
            )
        if [p.lower() for p in parts] == ["nan", "nan"]:
            notes.append(f"{path.name}:{number}: {take} has no {name.strip()} (NaN NaN), skipped")
            continue
        try:
            start, end = int(parts[0]), int(parts[1])
        except ValueError:
            raise SkeletonFileError(
                path, f"frame numbers must be integers: {text!r}", number
            ) from None
        if end < start:
            raise SkeletonFileError(path, f"interval ends before it starts: {text!r}", number)
        current.append((CLASS_NAMES.index(name.strip()), start, end, number))
    return takes, notes


def read_recording(
    path: str | Path, actions: list[LabelledAction], labels_path: str | Path = LABELS_FILE
) -> Recording:
    """One recording: stamps = video frame / 30 Hz (a repeated frame number keeps its first
    skeleton), joints (T, 1, 20, 3), and its labelled ``actions`` in seconds."""
    path = Path(path)
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        values = line.split()
        if len(values) != 1 + 3 * JOINTS:
            raise SkeletonFileError(
                path,
                f"expected a frame number and {3 * JOINTS} coordinates, got {len(values)} values",
                number,
            )
        try:
            rows.append(np.array(values, dtype=np.float64))
        except ValueError:
            raise SkeletonFileError(path, "a value is not a number", number) from None
    if not rows:
        raise SkeletonFileError(path, "no skeleton frames")
    table = np.stack(rows)
    check_finite(path, table[:, 1:], 1, 3 * JOINTS)
    video_frames, first = np.unique(table[:, 0].astype(np.int64), return_index=True)
    joints = table[first, 1:].reshape(-1, 1, JOINTS, 3).astype(np.float32)
    name = re.fullmatch(r"joints_s(\d+)_e(\d+)", path.stem)
    if name is None:
        raise SkeletonFileError(path, "the name must be joints_sSS_eEE.txt (subject, take)")
    intervals = [
        (label, start / VIDEO_FPS, end / VIDEO_FPS, line) for label, start, end, line in actions
    ]
    return checked_recording(
        path,
        Path(labels_path),
        path.stem.removeprefix("joints_"),
        str(int(name.group(1))),
        video_frames / VIDEO_FPS,
        joints,
        intervals,
        CLASS_NAMES,
    )
