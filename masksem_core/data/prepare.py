"""Dataset preparation: parallel parsing with a progress bar, skips with reasons, a summary."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from masksem_core.data.datasets import SPECS, get_spec
from masksem_core.data.demo import DEMO_CLASS_NAMES, DEMO_FPS, demo_splits, generate_demo_dataset
from masksem_core.data.prepared import PreparedData, write_prepared
from masksem_core.data.pyskl import read_pyskl, write_pyskl
from masksem_core.data.recordings import read_recordings, subject_splits
from masksem_core.data.rosbag import read_bag_recordings
from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence
from masksem_core.data.utkinect import labels_file, read_action_labels
from masksem_core.errors import DataError
from masksem_core.skeleton import NTU25, SkeletonLayout, get_layout, layout_for_joint_count
from masksem_core.windows import MIN_LENGTH


@dataclass
class PreparationReport:
    dataset: str
    out_dir: Path
    files: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was left out of kept files, and why

    @property
    def seconds_per_1000_files(self) -> float:
        return 1000.0 * self.seconds / max(self.files, 1)

    def summary(self) -> str:
        prepared = PreparedData(self.out_dir)
        lines = [
            f"prepared {self.dataset}: {len(prepared.samples)} samples from {self.files} "
            f"items in {self.seconds:.1f} s ({self.seconds_per_1000_files:.1f} s per 1,000 "
            f"items) → {self.out_dir}"
        ]
        names = prepared.class_names
        for split, indices in sorted(prepared.splits.items()):
            per_class = Counter(label for _, label, _, _ in prepared.actions(split))
            counts = ", ".join(f"{names[c]}:{per_class[c]}" for c in sorted(per_class))
            lines.append(f"  {split}: {len(indices)} samples ({counts})")
        lengths = [
            end - first
            for index in range(len(prepared.samples))
            for _, first, end in prepared.intervals(index)
        ]
        short = sum(length < MIN_LENGTH for length in lengths)
        if short:
            lines.append(
                f"  short clips: {short} of {len(lengths)} actions have fewer than {MIN_LENGTH} "
                f"frames (median {int(np.median(lengths))}), the default data.min_crop_frames: "
                "a clip-mode training crop takes them whole (stretched to the window); set "
                "data.min_crop_frames lower (e.g. 16) for crops that vary"
            )
        lines.append(f"  skipped: {len(self.skipped)}")
        lines.extend(f"    {path}: {reason}" for path, reason in self.skipped)
        lines.extend(f"  note: {note}" for note in self.notes)
        return "\n".join(lines)


@dataclass(frozen=True)
class BadLabel:
    """A labels-file problem found while reading an item (the file, line and reason, in words):
    the preparation refuses, or skips the item with ``skip_bad_labels``."""

    text: str


def item_file(item: object) -> str:
    """The file an item of a dataset's list is read from (an item may carry its labels)."""
    return str(item[0] if isinstance(item, tuple) else item)


def _read(job: tuple[str, object]) -> tuple[object, list[SkeletonSequence] | str | BadLabel]:
    dataset, item = job
    try:
        return item, get_spec(dataset).read_item(item)
    except SkeletonFileError as err:
        if err.path != item_file(item):  # the item's labels, not its skeletons
            return item, BadLabel(str(err))
        return item, err.reason if err.line is None else f"line {err.line}: {err.reason}"


def _parse_all(
    dataset: str,
    items: list,
    workers: int,
    report: PreparationReport,
    progress: bool,
    skip_bad_labels: bool = False,
) -> Iterator[SkeletonSequence]:
    """The items' sequences; an unreadable skeleton file is skipped with its reason, a bad
    label refuses the preparation (DataError naming the labels file and line) unless
    ``skip_bad_labels``, then its item is skipped, said in words."""
    jobs = [(dataset, item) for item in items]
    bar = tqdm(total=len(jobs), desc=f"parsing {dataset}", unit="file", disable=not progress)
    if workers > 1:
        pool = get_context("spawn").Pool(workers)
        results = pool.imap(_read, jobs, chunksize=16)
    else:
        pool, results = None, map(_read, jobs)
    try:
        for item, outcome in results:
            bar.update()
            if isinstance(outcome, BadLabel):
                if not skip_bad_labels:
                    raise DataError(
                        f"{outcome.text}. Correct the label, or pass --skip-bad-labels to "
                        "prepare without the take it belongs to"
                    )
                report.skipped.append((item_file(item), f"its label: {outcome.text}"))
                continue
            if isinstance(outcome, str):
                report.skipped.append((item_file(item), outcome))
                continue
            yield from outcome
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()


def prepare_dataset(
    dataset: str,
    src: str | Path,
    out: str | Path,
    workers: int = 1,
    max_frames: int = 300,
    overwrite: bool = False,
    progress: bool = True,
    layout: str | None = None,
    joint_order: list[str] | None = None,
    class_names: list[str] | None = None,
    fps: float | None = None,
    val_subjects: list[str] | None = None,
    test_subjects: list[str] | None = None,
    skip_bad_labels: bool = False,
    labels: str | Path | None = None,
) -> PreparationReport:
    """Read ``src`` in its original format and write the prepared format to ``out``.

    For a pyskl pickle, ``layout`` names its skeleton layout (default: by joint count),
    ``joint_order`` the order of its joints by name (default: the pickle's 'joint_order', else
    the layout's order), ``class_names`` its classes (default: the pickle's 'label_names') and
    ``fps`` its frame rate (default 30). Recordings (``recordings``: a folder in the
    documented format; ``utkinect``) are split by subject: ``val_subjects`` and
    ``test_subjects`` (default: the dataset's), ``train`` the others."""
    src, out = Path(src), Path(out)
    subjects = (val_subjects, test_subjects)
    if dataset == "recordings":
        return _prepare_recordings(src, out, overwrite, *subjects)
    if dataset == "rosbag":
        if labels is None:
            raise DataError("--dataset rosbag needs --labels LABELS.yaml (README: bags)")
        return _prepare_recordings(src, out, overwrite, *subjects, Path(labels), layout)
    if labels is not None:
        raise DataError(f"--labels is for --dataset rosbag, not {dataset}")
    if subjects != (None, None) and (dataset not in SPECS or SPECS[dataset].subjects is None):
        raise DataError(
            f"--val-subjects and --test-subjects are for recordings split by subject "
            f"(recordings, utkinect), not {dataset}"
        )
    if dataset == "pyskl":
        return _prepare_pyskl(
            src, out, max_frames, overwrite, layout, joint_order, class_names, fps or 30.0
        )
    if layout or joint_order or class_names or fps:
        raise DataError(
            f"--layout, --joint-order, --class-names and --fps are for pyskl pickles; {dataset} "
            "defines its own"
        )
    return _prepare_known(
        dataset, src, out, workers, max_frames, overwrite, progress, *subjects, skip_bad_labels
    )


def chosen_subject_splits(
    defaults: tuple[tuple[str, ...], tuple[str, ...]],
    val_subjects: list[str] | None,
    test_subjects: list[str] | None,
) -> Callable[[list[dict]], dict[str, list[int]]]:
    """The splits by subject the user chose (the dataset's defaults where not)."""
    val = list(defaults[0]) if val_subjects is None else val_subjects
    test = list(defaults[1]) if test_subjects is None else test_subjects
    return lambda samples: subject_splits(samples, val, test)


def _prepare_known(
    dataset: str,
    src: Path,
    out: Path,
    workers: int,
    max_frames: int,
    overwrite: bool,
    progress: bool,
    val_subjects: list[str] | None = None,
    test_subjects: list[str] | None = None,
    skip_bad_labels: bool = False,
) -> PreparationReport:
    """A dataset whose reader this project has (``datasets.SPECS``); a bad label refuses the
    preparation unless ``skip_bad_labels``."""
    spec = get_spec(dataset)
    if not src.exists():
        raise FileNotFoundError(f"--src {src} does not exist")
    items = spec.list_items(src)
    report = PreparationReport(dataset, out, files=len(items))
    start = time.perf_counter()
    meta = {
        "dataset": dataset,
        "layout": spec.layout.name,
        "class_names": list(spec.class_names),
        "source": str(src),
        "fps": spec.fps,
    }
    sequences = _parse_all(dataset, items, workers, report, progress, skip_bad_labels)
    if dataset == "utkinect":
        labels = labels_file(src)
        report.notes = [f"labels from {labels}", *read_action_labels(labels)[1]]
    by_subject = (
        chosen_subject_splits(spec.subjects, val_subjects, test_subjects)
        if spec.subjects is not None
        else None
    )

    def splits(samples: list[dict]) -> dict[str, list[int]]:
        meta["skipped"] = [{"item": path, "reason": reason} for path, reason in report.skipped]
        meta["notes"] = report.notes
        return by_subject(samples) if by_subject else spec.splits(samples, src)

    write_prepared(
        out,
        sequences,
        splits,
        meta,
        spec.num_bodies,
        spec.layout.num_joints,
        max_frames=spec.record_frames or max_frames,
        centre_joint=spec.layout.index(spec.layout.centre_joint),
        overwrite=overwrite,
    )
    report.seconds = time.perf_counter() - start
    return report


def _prepare_recordings(
    src: Path,
    out: Path,
    overwrite: bool,
    val_subjects: list[str] | None,
    test_subjects: list[str] | None,
    labels: Path | None = None,
    layout: str | None = None,
) -> PreparationReport:
    """A folder of the user's own recordings (``recordings.py``), or ROS 2 bags with a labels
    file (``rosbag.py``, when ``labels``): stamps kept, intervals as frames, split by the
    subjects the user names; the frame rate recorded is the median."""
    start = time.perf_counter()
    if labels is None:
        dataset = "recordings"
        recordings, layout_name, classes = read_recordings(src)
    else:
        dataset = "rosbag"
        recordings, layout_name, classes = read_bag_recordings(src, labels, layout)
    layout_spec = get_layout(layout_name)
    steps = np.concatenate([np.diff(r.stamps) for r in recordings])
    meta = {
        "dataset": dataset,
        "layout": layout_spec.name,
        "class_names": list(classes),
        "source": str(src),
        "fps": float(1.0 / np.median(steps)),
        "notes": [f"{r.name}: {note}" for r in recordings for note in r.notes],
    }
    write_prepared(
        out,
        [r.sequence() for r in recordings],
        chosen_subject_splits(((), ()), val_subjects, test_subjects),
        meta,
        max(r.joints.shape[1] for r in recordings),
        layout_spec.num_joints,
        max_frames=max(len(r.stamps) for r in recordings),
        centre_joint=layout_spec.index(layout_spec.centre_joint),
        overwrite=overwrite,
    )
    report = PreparationReport(dataset, out, files=len(recordings))
    report.notes = meta["notes"]
    report.seconds = time.perf_counter() - start
    return report


def reorder_joints(
    sequences: list[SkeletonSequence], joint_order: list[str], layout: SkeletonLayout, src: Path
) -> list[SkeletonSequence]:
    """Map sequences whose joints come in ``joint_order`` (names) to ``layout``'s order."""
    if sorted(joint_order) != sorted(layout.joint_names):
        missing = sorted(set(layout.joint_names) - set(joint_order))
        extra = sorted(set(joint_order) - set(layout.joint_names))
        raise SkeletonFileError(
            src,
            f"joint_order does not name the {layout.num_joints} joints of layout {layout.name}"
            f" (missing {missing[:3]}, unknown {extra[:3]}); the layout's names: "
            f"{', '.join(layout.joint_names)}",
        )
    index = [joint_order.index(name) for name in layout.joint_names]
    return [replace(s, data=s.data[:, :, index]) for s in sequences]


def _prepare_pyskl(
    src: Path,
    out: Path,
    max_frames: int,
    overwrite: bool,
    layout_name: str | None = None,
    joint_order: list[str] | None = None,
    class_names: list[str] | None = None,
    fps: float = 30.0,
) -> PreparationReport:
    """A pyskl pickle under the same preparation contract as every reader (cleaning, centring
    on the layout's centre joint), in the layout's joint order, with its class names."""
    start = time.perf_counter()
    annotations = read_pyskl(src)
    sequences = annotations.sequences
    joints = sequences[0].data.shape[2]
    if any(s.data.shape[2:] != sequences[0].data.shape[2:] for s in sequences):
        raise SkeletonFileError(src, "annotations differ in joint count or channels")
    layout = get_layout(layout_name) if layout_name else layout_for_joint_count(joints)
    if layout.num_joints != joints:
        raise SkeletonFileError(
            src, f"keypoints have {joints} joints, layout {layout.name} has {layout.num_joints}"
        )
    order = joint_order or annotations.joint_order
    if order is not None:
        sequences = reorder_joints(sequences, order, layout, src)
    names = class_names or annotations.label_names
    num_classes = max(s.label for s in sequences) + 1
    if names is not None and len(names) < num_classes:
        raise SkeletonFileError(src, f"{len(names)} class names for labels up to {num_classes - 1}")
    meta = {
        "dataset": "pyskl",
        "layout": layout.name,
        "source": str(src),
        "fps": fps,
        "class_names": list(names) if names else [f"class_{i:03d}" for i in range(num_classes)],
    }
    position = {s.name: i for i, s in enumerate(sequences)}

    def splits(_samples: list[dict]) -> dict[str, list[int]]:
        return {
            name: [position[n] for n in members] for name, members in annotations.splits.items()
        }

    write_prepared(
        out,
        sequences,
        splits,
        meta,
        max(s.data.shape[0] for s in sequences),
        layout.num_joints,
        max_frames=max_frames,
        centre_joint=layout.index(layout.centre_joint),
        overwrite=overwrite,
    )
    return PreparationReport("pyskl", out, files=1, seconds=time.perf_counter() - start)


def prepare_demo_dataset(
    out: str | Path, samples_per_class: int = 60, seed: int = 0, overwrite: bool = False
) -> Path:
    """Write the synthetic demo dataset (NTU-25, 10 classes) in the prepared format."""
    meta = {
        "dataset": "demo",
        "layout": NTU25.name,
        "class_names": list(DEMO_CLASS_NAMES),
        "synthetic": True,
        "fps": DEMO_FPS,
        "samples_per_class": samples_per_class,
        "seed": seed,
    }
    return write_prepared(
        out,
        generate_demo_dataset(samples_per_class, seed),
        demo_splits,
        meta,
        1,
        NTU25.num_joints,
        centre_joint=NTU25.index(NTU25.centre_joint),
        overwrite=overwrite,
    )


def prepared_to_pyskl(prepared_dir: str | Path, out: str | Path) -> Path:
    """Export a prepared dataset to a pyskl annotation pickle (splits by sample name)."""
    prepared = PreparedData(prepared_dir)
    sequences = [
        SkeletonSequence(name=s["name"], label=s["label"], data=prepared.sequence(i))
        for i, s in enumerate(prepared.samples)
    ]
    splits = {
        name: [prepared.samples[i]["name"] for i in indices]
        for name, indices in prepared.splits.items()
    }
    layout = get_layout(prepared.meta["layout"])
    write_pyskl(out, sequences, splits, prepared.class_names, list(layout.joint_names))
    return Path(out)
