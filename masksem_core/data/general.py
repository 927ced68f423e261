"""The general pretraining corpus: every real skeleton source the project reads, unlabelled, in
one joint set (``GENERAL_LAYOUT``), for an encoder that every dataset and layout starts from.

``--src`` is a folder holding the sources in their original formats under their usual names
(``nw_ucla/``, ``gtu/``, ``utkinect/``, ``ntu_samples/``, as in ``../shared/data``); a missing one
is left out and named in the report. Every clip of a split this project reports is held out
(``HELD_OUT``), so no evaluation row was pretrained on its own test motion. Continuous
recordings (UTKinect) enter whole, their unlabelled activity between actions included: resampled
by their stamps to ``FPS`` and cut into ``SEGMENT_SECONDS`` segments.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from masksem_core.data import gtu, nw_ucla, utkinect
from masksem_core.data.ntu import read_ntu_skeleton
from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence
from masksem_core.data.splits import stratified_split
from masksem_core.skeleton import KINECT_V1_20, NTU25, SkeletonLayout, map_joints
from masksem_core.windows import resample_by_time

# The joints every layout the project reads has (NTU-25 and MediaPipe-33 reach them by
# dropping joints, never by inventing any): the general encoder's input.
GENERAL_LAYOUT = KINECT_V1_20
FPS = 30.0
SEGMENT_SECONDS = 4.0
MIN_SEGMENT_SECONDS = 1.0
CLASS_NAMES = ("unlabelled",)
HELD_OUT = {
    "nw_ucla": "view 3 (the xview test split)",
    "gtu": "stratified_test (the seeded 30 %)",
    "utkinect": "subject 5 (subject 4, also in UTKinect's val split, is seen without labels); "
    "subjects 6-10 are not in the shared copy",
    "ntu_samples": "nothing (no split of these samples is reported)",
}
UTKINECT_SUBJECTS = (1, 2, 3, 4)


@dataclass(frozen=True)
class CorpusItem:
    """One file of one source."""

    source: str
    path: Path
    layout: SkeletonLayout


def _gtu_items(folder: Path) -> list[Path]:
    """GTU files outside the seeded stratified test split (the split ``prepare_data.py
    --dataset gtu`` writes, computed from the same sorted file list)."""
    files = sorted(folder.glob("*/movement*.txt"))
    labels = [int(p.parent.name) if p.parent.name.isdigit() else 0 for p in files]
    test = set(stratified_split(labels, gtu.TEST_FRACTION, gtu.SPLIT_SEED)["stratified_test"])
    return [p for i, p in enumerate(files) if i not in test]


def list_corpus(src: Path) -> list[CorpusItem]:
    """Every file of every source found under ``src``, held-out splits left out."""
    sources = {
        "nw_ucla": (
            KINECT_V1_20,
            [
                p
                for p in sorted((src / "nw_ucla").rglob("a*_s*_e*_v*.json"))
                if not p.stem.endswith("_v03")
            ],
        ),
        "gtu": (NTU25, _gtu_items(src / "gtu")),
        "utkinect": (
            KINECT_V1_20,
            [
                p
                for p in sorted((src / "utkinect").glob("joints_s*_e*.txt"))
                if any(p.stem.startswith(f"joints_s{s:02d}_") for s in UTKINECT_SUBJECTS)
            ],
        ),
        "ntu_samples": (NTU25, sorted((src / "ntu_samples").glob("*.skeleton"))),
    }
    items = [
        CorpusItem(name, path, layout)
        for name, (layout, paths) in sources.items()
        for path in paths
    ]
    if not items:
        raise FileNotFoundError(
            f"no skeleton source under {src}: expected folders {', '.join(sources)}"
        )
    return items


def _utkinect_segments(path: Path) -> list[SkeletonSequence]:
    """A whole recording, actions and the activity between them, at ``FPS`` in segments."""
    recording = utkinect.read_recording(path, [])
    stamps, frames = recording.stamps, recording.joints[:, 0]  # (T,), (T, V, C)
    count = int((stamps[-1] - stamps[0]) * FPS) + 1
    uniform = resample_by_time(stamps, frames, stamps[0], stamps[0] + (count - 1) / FPS, count)
    per_segment = int(SEGMENT_SECONDS * FPS)
    segments = []
    for k, first in enumerate(range(0, count, per_segment)):
        piece = uniform[first : first + per_segment]
        if len(piece) >= MIN_SEGMENT_SECONDS * FPS:
            segments.append(
                SkeletonSequence(name=f"{recording.name}/{k:03d}", label=0, data=piece[None])
            )
    return segments


def read_corpus_item(item: CorpusItem) -> list[SkeletonSequence]:
    """One file → unlabelled sequences (1, T, V, C) in ``GENERAL_LAYOUT``, named by source;
    NTU's second body is dropped (one body a record keeps the corpus small and fast)."""
    if item.source == "utkinect":
        sequences = _utkinect_segments(item.path)
    elif item.source == "nw_ucla":
        sequences = [nw_ucla.read_nw_ucla(item.path)]
    elif item.source == "gtu":
        sequences = [gtu.read_gtu(item.path)]
    elif item.source == "ntu_samples":
        sequences = [read_ntu_skeleton(item.path, max_bodies=1)]
    else:
        raise SkeletonFileError(item.path, f"unknown corpus source {item.source!r}")
    return [
        SkeletonSequence(
            name=f"{item.source}/{s.name}",
            label=0,
            data=map_joints(s.data, item.layout, GENERAL_LAYOUT),
            extra={"source": item.source},
        )
        for s in sequences
    ]


def corpus_splits(samples: list[dict]) -> dict[str, list[int]]:
    """``pretrain``: everything; one split per source (``source_<name>``) to count them."""
    splits = {"pretrain": list(range(len(samples)))}
    for i, sample in enumerate(samples):
        splits.setdefault(f"source_{sample['extra']['source']}", []).append(i)
    return splits


def source_summary(samples: list[dict], fps: float = FPS) -> dict[str, dict[str, float]]:
    """Samples and hours of motion per source."""
    summary: dict[str, dict[str, float]] = {}
    for sample in samples:
        entry = summary.setdefault(sample["extra"]["source"], {"samples": 0, "hours": 0.0})
        entry["samples"] += 1
        entry["hours"] += sample["frames"] / fps / 3600.0
    return {k: {"samples": v["samples"], "hours": round(v["hours"], 3)} for k, v in summary.items()}
