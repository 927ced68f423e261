"""UTKinect-Action3D continuous recordings: ``joints_sSS_eEE.txt`` (a line per skeleton frame:
the 30 Hz video frame number, then 20 joints × x y z in metres, Kinect v1 SDK order) and
``actionLabel.txt`` (per take, ``action: start end`` in video frame numbers). A recording is one
sample with its capture stamps and its labelled intervals; everything outside them is real
unlabelled activity (standing, turning, walking to the next spot)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence, check_finite

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
JOINTS = 20
LABELS_FILE = "actionLabel.txt"


def read_action_labels(path: str | Path) -> dict[str, list[tuple[int, int, int]]]:
    """Take name (``s01_e01``) → (class, first video frame, last video frame) per action."""
    path = Path(path)
    takes: dict[str, list[tuple[int, int, int]]] = {}
    current = None
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text:
            continue
        if ":" not in text:
            current = takes.setdefault(text, [])
            continue
        name, _, frames = text.partition(":")
        parts = frames.split()
        if current is None or name.strip() not in CLASS_NAMES or len(parts) != 2:
            raise SkeletonFileError(
                path, f"expected 'action: start end' in a take, got {text!r}", number
            )
        try:
            start, end = int(parts[0]), int(parts[1])
        except ValueError:
            raise SkeletonFileError(
                path, f"frame numbers must be integers: {text!r}", number
            ) from None
        if end < start:
            raise SkeletonFileError(path, f"interval ends before it starts: {text!r}", number)
        current.append((CLASS_NAMES.index(name.strip()), start, end))
    return takes


def read_recording(path: str | Path, actions: list[tuple[int, int, int]]) -> SkeletonSequence:
    """One recording as a (1, T, 20, 3) sequence (repeated frame numbers keep their first
    skeleton) with ``extra`` stamps (video frame / 30 Hz, seconds) and intervals (class, first
    index, end index) of its labelled ``actions``."""
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
    joints = table[first, 1:].reshape(-1, JOINTS, 3).astype(np.float32)
    intervals = []
    for label, start, end in actions:
        first_index = int(np.searchsorted(video_frames, start, side="left"))
        end_index = int(np.searchsorted(video_frames, end, side="right"))
        if end_index - first_index >= 2:  # an action with fewer than 2 skeletons is unusable
            intervals.append([label, first_index, end_index])
    name = re.fullmatch(r"joints_s(\d+)_e(\d+)", path.stem)
    if name is None:
        raise SkeletonFileError(path, "the name must be joints_sSS_eEE.txt (subject, take)")
    subject, take = int(name.group(1)), int(name.group(2))
    return SkeletonSequence(
        name=path.stem.removeprefix("joints_"),
        label=-1,
        data=joints[None],
        subject=subject,
        view=take,
        extra={"stamps": (video_frames / VIDEO_FPS).tolist(), "intervals": intervals},
    )


def utkinect_splits(samples: list[dict]) -> dict[str, list[int]]:
    """By subject: 1–4 to train on and choose settings with (``fit``: 1–3, ``calib``: 4 for
    calibration), 5 to validate on; the held-out subjects 6–10 are not in the shared copy."""

    def subjects(*numbers: int) -> list[int]:
        return [i for i, s in enumerate(samples) if s["subject"] in numbers]

    return {
        "train": subjects(1, 2, 3, 4),
        "fit": subjects(1, 2, 3),
        "calib": subjects(4),
        "val": subjects(5),
        "all": list(range(len(samples))),
    }
