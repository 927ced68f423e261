"""PKU-MMD phase I/II: per-video skeleton txt (150 numbers a frame) + label txt → clips (the
paper's protocol) or whole recordings with their labelled intervals (stream windows)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence, check_finite

VIDEO_PATTERN = re.compile(r"[A-Za-z0-9]+-[LMR]")
VIEWS = {"L": 1, "M": 2, "R": 3}

# label ids 1…51 in the order of the dataset's Actions.xlsx
ACTION_NAMES = (
    "bow",
    "brushing hair",
    "brushing teeth",
    "check time (from watch)",
    "cheer up",
    "clapping",
    "cross hands in front (say stop)",
    "drink water",
    "drop",
    "eat meal/snack",
    "falling",
    "giving something to other person",
    "hand waving",
    "handshaking",
    "hopping (one foot jumping)",
    "hugging other person",
    "jump up",
    "kicking other person",
    "kicking something",
    "make a phone call/answer phone",
    "pat on back of other person",
    "pickup",
    "playing with phone/tablet",
    "point finger at the other person",
    "pointing to something with finger",
    "punching/slapping other person",
    "pushing other person",
    "put on a hat/cap",
    "put something inside pocket",
    "reading",
    "rub two hands together",
    "salute",
    "sitting down",
    "standing up",
    "take off a hat/cap",
    "take off glasses",
    "take off jacket",
    "take out something from pocket",
    "taking a selfie",
    "tear up paper",
    "throw",
    "touch back (backache)",
    "touch chest (stomachache/heart pain)",
    "touch head (headache)",
    "touch neck (neckache)",
    "typing on a keyboard",
    "use a fan (with hand or paper)/feeling warm",
    "wear jacket",
    "wear on glasses",
    "wipe face",
    "writing",
)
NUM_CLASSES = len(ACTION_NAMES)
FPS = 30.0  # Kinect v2 frame rate of the recordings


def read_pku_video(path: str | Path) -> np.ndarray:
    """A video's skeleton file → (2, T, 25, 3); the second body is zeros when absent."""
    path = Path(path)
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 150:
            raise SkeletonFileError(
                path, f"expected 150 numbers (2 bodies × 25 joints × 3), got {len(parts)}", number
            )
        try:
            row = np.array(parts, dtype=np.float32)
        except ValueError:
            raise SkeletonFileError(
                path, f"non-numeric value in line {line[:60]!r}…", number
            ) from None
        check_finite(path, row, number, 150)
        rows.append(row)
    if not rows:
        raise SkeletonFileError(path, "empty file", 1)
    return np.stack(rows).reshape(-1, 2, 25, 3).transpose(1, 0, 2, 3)


def read_pku_labels(path: str | Path, num_frames: int) -> list[tuple[int, int, int]]:
    """Label file rows ``class, start, end, confidence`` → [(label 0-based, start, end)]."""
    path = Path(path)
    clips = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            action, start, end = (int(float(v)) for v in line.replace(",", " ").split()[:3])
        except ValueError:
            raise SkeletonFileError(
                path, f"expected 'class, start, end, confidence', got {line!r}", number
            ) from None
        if not 1 <= action <= NUM_CLASSES:
            raise SkeletonFileError(path, f"class {action} outside 1..{NUM_CLASSES}", number)
        if not 0 <= start < end <= num_frames:
            raise SkeletonFileError(
                path, f"clip [{start}, {end}) outside the video's {num_frames} frames", number
            )
        clips.append((action - 1, start, end))
    return clips


def read_pku_clips(skeleton_path: str | Path, label_path: str | Path) -> list[SkeletonSequence]:
    """Slice a video into its labelled clips; the empty second body stays zero."""
    skeleton_path = Path(skeleton_path)
    video = read_pku_video(skeleton_path)
    name = skeleton_path.stem
    view = VIEWS.get(name.rsplit("-", 1)[-1], -1)
    out = []
    for k, (label, start, end) in enumerate(read_pku_labels(label_path, video.shape[1])):
        out.append(
            SkeletonSequence(
                name=f"{name}_{k:03d}",
                label=label,
                data=np.ascontiguousarray(video[:, start:end]),
                view=view,
                extra={"video": name, "start": start, "end": end},
            )
        )
    return out


def read_pku_recording(skeleton_path: str | Path, label_path: str | Path) -> SkeletonSequence:
    """A whole video as one continuous recording with its labelled actions, for stream windows
    and the streaming evaluation: (2, T', 25, 3) of the frames in which a body is present, with
    ``extra`` stamps (frame / 30 Hz: a frame without a body leaves a gap in time, not a jump)
    and intervals (class, first index, end index) re-indexed onto the kept frames."""
    skeleton_path = Path(skeleton_path)
    video = read_pku_video(skeleton_path)
    kept = np.flatnonzero(np.abs(video).sum(axis=(0, 2, 3)) > 0)
    if kept.size == 0:
        raise SkeletonFileError(skeleton_path, "no body in any frame")
    intervals = []
    for label, start, end in read_pku_labels(label_path, video.shape[1]):
        first, stop = np.searchsorted(kept, start), np.searchsorted(kept, end)
        if stop - first >= 2:  # an action with fewer than 2 skeletons is unusable
            intervals.append([label, int(first), int(stop)])
    name = skeleton_path.stem
    return SkeletonSequence(
        name=name,
        label=-1,
        data=np.ascontiguousarray(video[:, kept]),
        view=VIEWS.get(name.rsplit("-", 1)[-1], -1),
        extra={"video": name, "stamps": (kept / FPS).tolist(), "intervals": intervals},
    )


def read_pku_split_file(path: str | Path) -> dict[str, set[str]]:
    """Parse a published split list (cross-subject.txt / cross-view.txt) into {train, test}."""
    path = Path(path)
    sections: dict[str, set[str]] = {"train": set(), "test": set()}
    current = None
    for line in path.read_text().splitlines():
        lowered = line.lower()
        if "train" in lowered:
            current = "train"
        elif "valid" in lowered or "test" in lowered:
            current = "test"
        videos = VIDEO_PATTERN.findall(line.split(":", 1)[-1])
        if videos:
            if current is None:
                raise SkeletonFileError(path, "video ids before a 'Training'/'Validation' header")
            sections[current].update(videos)
    if not sections["train"] or not sections["test"]:
        raise SkeletonFileError(path, "split file lists no training or no test videos")
    return sections


def pku_splits(samples: list[dict], split_files: dict[str, Path]) -> dict[str, list[int]]:
    """xsub/xview splits from the dataset's own published split files."""
    splits = {}
    for protocol, path in split_files.items():
        sides = read_pku_split_file(path)
        for side, videos in sides.items():
            splits[f"{protocol}_{side}"] = [
                i for i, s in enumerate(samples) if s["extra"]["video"] in videos
            ]
    return splits
