"""The datasets ``prepare_data.py`` knows: where their files are, how to read and split them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from masksem_core.data import general, gtu, nw_ucla, utkinect
from masksem_core.data.ntu import ACTION_NAMES as NTU_ACTION_NAMES
from masksem_core.data.ntu import ntu_splits, parse_ntu_name, read_ntu_skeleton
from masksem_core.data.pku import ACTION_NAMES as PKU_ACTION_NAMES
from masksem_core.data.pku import FPS as PKU_FPS
from masksem_core.data.pku import pku_splits, read_pku_clips, read_pku_recording
from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence
from masksem_core.data.splits import label_fraction_subset, stratified_split
from masksem_core.errors import DataError
from masksem_core.skeleton import KINECT_V1_20, NTU25, SkeletonLayout

# frames stored per whole PKU-MMD video (stream mode): 5 min at 30 Hz, 5.4 MB a video; a longer
# video is skipped, with the reason in the preparation report
PKU_RECORD_FRAMES = 9000


@dataclass(frozen=True)
class DatasetSpec:
    """How to prepare one dataset: sources → items, item → sequences, samples → splits."""

    name: str
    layout: SkeletonLayout
    num_bodies: int
    class_names: tuple[str, ...]
    list_items: Callable[[Path], list]
    read_item: Callable[[object], list[SkeletonSequence]]
    splits: Callable[[list[dict], Path], dict[str, list[int]]]
    fps: float = 30.0  # frames per second of the recordings (stamped ones: their median)
    record_frames: int | None = None  # frames stored per sample (None: --max-frames)
    subjects: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # default val, test
    # subjects of a dataset split by subject as the user chooses (None: ``splits`` decides)


def _require(paths: list, src: Path, what: str) -> list:
    if not paths:
        raise FileNotFoundError(f"no {what} found under {src}")
    return sorted(paths)


def _ntu_items(src: Path, max_action: int, max_setup: int) -> list[Path]:
    files = []
    for path in src.rglob("*.skeleton"):
        try:
            info = parse_ntu_name(path.name)
        except ValueError:
            continue
        if info.action <= max_action and info.setup <= max_setup:
            files.append(path)
    return _require(files, src, "NTU .skeleton files")


def _single(reader: Callable[[Path], SkeletonSequence], item: Path) -> list[SkeletonSequence]:
    return [reader(item)]


def _pku_items(src: Path) -> list[tuple[Path, Path]]:
    labels = {p.stem: p for p in src.rglob("*.txt") if "label" in str(p.parent).lower()}
    skeletons = [p for p in src.rglob("*.txt") if "skeleton" in str(p.parent).lower()]
    pairs = [(p, labels[p.stem]) for p in skeletons if p.stem in labels]
    return _require(
        pairs, src, "PKU-MMD skeleton/label file pairs (folders named *skeleton*, *label*)"
    )


def _pku_splits(samples: list[dict], src: Path) -> dict[str, list[int]]:
    files = {"xsub": "cross-subject.txt", "xview": "cross-view.txt"}
    found = {}
    for protocol, name in files.items():
        matches = sorted(src.rglob(name))
        if not matches:
            raise FileNotFoundError(f"PKU-MMD split file {name} not found under {src}")
        found[protocol] = matches[0]
    return pku_splits(samples, found)


def _gtu_splits(samples: list[dict], _src: Path) -> dict[str, list[int]]:
    """The seeded stratified 70/30 split, and a stratified 15 % of its training part held out
    for validation (``stratified_val``; the rest is ``stratified_fit``)."""
    labels = [s["label"] for s in samples]
    splits = stratified_split(labels, gtu.TEST_FRACTION, gtu.SPLIT_SEED)
    train = splits["stratified_train"]
    val = label_fraction_subset(labels, train, gtu.VAL_FRACTION, gtu.SPLIT_SEED)
    held = set(val)
    return {**splits, "stratified_val": val, "stratified_fit": [i for i in train if i not in held]}


def _utkinect_items(src: Path) -> list[tuple[Path, list, Path]]:
    labels_path = utkinect.labels_file(src)
    labels, _notes = utkinect.read_action_labels(labels_path)
    recordings = _require(list(src.glob("joints_s*_e*.txt")), src, "UTKinect joints_sSS_eEE.txt")
    missing = [p.name for p in recordings if p.stem.removeprefix("joints_") not in labels]
    if missing:
        raise DataError(f"{labels_path} has no take for {', '.join(missing)}")
    return [(p, labels[p.stem.removeprefix("joints_")], labels_path) for p in recordings]


def _ntu_spec(name: str, classes: int, max_setup: int) -> DatasetSpec:
    return DatasetSpec(
        name,
        NTU25,
        2,
        NTU_ACTION_NAMES[:classes],
        partial(_ntu_items, max_action=classes, max_setup=max_setup),
        partial(_single, read_ntu_skeleton),
        lambda samples, _src: ntu_splits(samples, name),
    )


def _read_pku(item: tuple[Path, Path]) -> list[SkeletonSequence]:
    return read_pku_clips(*item)


def _read_pku_recording(item: tuple[Path, Path]) -> list[SkeletonSequence]:
    recording = read_pku_recording(*item)
    if recording.frames > PKU_RECORD_FRAMES:
        raise SkeletonFileError(
            item[0],
            f"{recording.frames} frames with a body, more than the {PKU_RECORD_FRAMES} stored "
            "per video",
        )
    return [recording]


def _pku_spec(name: str, whole_videos: bool = False) -> DatasetSpec:
    """PKU-MMD's labelled clips, or its whole videos with their labelled intervals
    (``data.window_mode: stream``)."""
    return DatasetSpec(
        name,
        NTU25,
        2,
        PKU_ACTION_NAMES,
        _pku_items,
        _read_pku_recording if whole_videos else _read_pku,
        _pku_splits,
        fps=PKU_FPS,
        record_frames=PKU_RECORD_FRAMES if whole_videos else None,
    )


SPECS: dict[str, DatasetSpec] = {
    "ntu60": _ntu_spec("ntu60", 60, 17),
    "ntu120": _ntu_spec("ntu120", 120, 32),
    "pku1": _pku_spec("pku1"),
    "pku2": _pku_spec("pku2"),
    "pku1_stream": _pku_spec("pku1_stream", whole_videos=True),
    "pku2_stream": _pku_spec("pku2_stream", whole_videos=True),
    "nw_ucla": DatasetSpec(
        "nw_ucla",
        KINECT_V1_20,
        1,
        nw_ucla.CLASS_NAMES,
        lambda src: _require(list(src.rglob("a*_s*_e*_v*.json")), src, "NW-UCLA json files"),
        partial(_single, nw_ucla.read_nw_ucla),
        lambda samples, _src: nw_ucla.nw_ucla_splits(samples),
    ),
    "gtu": DatasetSpec(
        "gtu",
        NTU25,
        1,
        gtu.CLASS_NAMES,
        lambda src: _require(list(src.glob("*/movement*.txt")), src, "GTU movementN.txt files"),
        partial(_single, gtu.read_gtu),
        _gtu_splits,
    ),
    "utkinect": DatasetSpec(
        "utkinect",
        KINECT_V1_20,
        1,
        utkinect.CLASS_NAMES,
        _utkinect_items,
        lambda item: [utkinect.read_recording(*item).sequence()],
        lambda samples, _src: {},
        fps=utkinect.SKELETON_FPS,
        record_frames=4096,
        subjects=(utkinect.DEFAULT_VAL_SUBJECTS, ()),
    ),
    "general": DatasetSpec(
        "general",
        general.GENERAL_LAYOUT,
        1,
        general.CLASS_NAMES,
        general.list_corpus,
        general.read_corpus_item,
        lambda samples, _src: general.corpus_splits(samples),
        fps=general.FPS,
    ),
}


def get_spec(name: str) -> DatasetSpec:
    try:
        return SPECS[name]
    except KeyError:
        raise DataError(
            f"unknown dataset {name!r}; choose one of {sorted(SPECS)} "
            "(or 'pyskl' for an annotation pickle)"
        ) from None
