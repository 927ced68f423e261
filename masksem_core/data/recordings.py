"""Continuous recordings with stamps and labelled intervals: a user's own, and UTKinect's.

A robot team records a few dozen takes of the actions that matter to them. Each take is a
skeleton sequence with capture stamps (any rate, irregular allowed), the labelled intervals of
the actions in it (everything else is real unlabelled activity) and the subject who performed
it. The documented folder format (README, "Your own recordings")::

    recordings.yaml            layout: kinect_v1_20        # joint order of the files
                               classes: [wave, pick, ...]
                               recordings:
                                 - file: alice_01.csv
                                   subject: alice
                                   actions:
                                     - [wave, 3.2, 5.9]    # name, start s, end s
                                     - [pick, null, null]  # not in this take: skipped
    alice_01.csv               a line per skeleton: stamp (s), then V·M × x y z (metres)

Splits are by subject, chosen by the user: ``val`` and ``test`` hold the subjects named for
them, ``train`` every other one, ``all`` everything.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence
from masksem_core.errors import DataError
from masksem_core.skeleton import get_layout

MANIFEST = "recordings.yaml"


@dataclass(frozen=True)
class Recording:
    """One take: stamps (T,) strictly increasing seconds, joints (T, M, V, 3) metres, labelled
    intervals (class, start s, end s) and what was skipped (``notes``)."""

    name: str
    subject: str
    stamps: np.ndarray
    joints: np.ndarray
    intervals: tuple[tuple[int, float, float], ...]
    notes: tuple[str, ...] = ()

    def sequence(self) -> SkeletonSequence:
        """The prepared form: (M, T, V, 3) with the stamps and each interval as frame indices
        [first, end) of the skeletons inside it (an interval holding fewer than two is left
        out, with a note)."""
        intervals = []
        for label, start, end in self.intervals:
            first = int(np.searchsorted(self.stamps, start, side="left"))
            stop = int(np.searchsorted(self.stamps, end, side="right"))
            if stop - first >= 2:
                intervals.append([label, first, stop])
        return SkeletonSequence(
            name=self.name,
            label=-1,
            data=np.nan_to_num(self.joints.transpose(1, 0, 2, 3), nan=0.0).astype(np.float32),
            extra={
                "stamps": self.stamps.tolist(),
                "intervals": intervals,
                "subject": self.subject,
                "notes": list(self.notes),
            },
        )


def checked_recording(
    path: Path,
    labels_path: Path,
    name: str,
    subject: str,
    stamps: np.ndarray,
    joints: np.ndarray,
    intervals: list[tuple[int, float, float, int | None]],
    class_names: tuple[str, ...],
    notes: tuple[str, ...] = (),
) -> Recording:
    """A recording whose stamps increase and whose intervals (class, start, end, line of
    ``labels_path``) lie inside it without overlapping; else a SkeletonFileError naming the
    skeleton file or the labels file (and the line)."""
    if len(stamps) < 2:
        raise SkeletonFileError(path, "a recording needs at least two stamped skeletons")
    steps = np.diff(stamps)
    if (steps <= 0).any():
        bad = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise SkeletonFileError(
            path, f"stamp {stamps[bad]} s of skeleton {bad + 1} is not after the previous one"
        )
    ordered = sorted(intervals, key=lambda a: a[1])
    for label, start, end, line in ordered:
        where = f"{class_names[label]} [{start:.3f}, {end:.3f}] s"
        if not start < end:
            raise SkeletonFileError(
                labels_path, f"{name}: {where}: the interval ends before it starts", line
            )
        if start < stamps[0] - 1e-6 or end > stamps[-1] + 1e-6:
            raise SkeletonFileError(
                labels_path,
                f"{name}: {where} lies outside the recording [{stamps[0]:.3f}, {stamps[-1]:.3f}] s",
                line,
            )
    for (la, sa, ea, _), (lb, sb, eb, line) in itertools.pairwise(ordered):
        if sb < ea - 1e-6:
            raise SkeletonFileError(
                labels_path,
                f"{name}: {class_names[lb]} [{sb:.3f}, {eb:.3f}] s overlaps {class_names[la]} "
                f"[{sa:.3f}, {ea:.3f}] s",
                line,
            )
    return Recording(
        name,
        subject,
        stamps,
        joints,
        tuple((label, start, end) for label, start, end, _ in ordered),
        notes,
    )


def read_manifest(src: Path) -> dict:
    """``recordings.yaml`` of a folder, checked for its keys."""
    path = src / MANIFEST
    if not path.is_file():
        raise DataError(f"{src} has no {MANIFEST}: see the README, 'Your own recordings'")
    try:
        manifest = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SkeletonFileError(path, f"not valid YAML: {err}") from None
    if not isinstance(manifest, dict) or not {"layout", "classes", "recordings"} <= set(manifest):
        raise SkeletonFileError(path, "expected the keys layout, classes and recordings")
    try:
        get_layout(str(manifest["layout"]))
    except ValueError as err:
        raise SkeletonFileError(path, str(err)) from None
    classes = manifest["classes"]
    if not classes or len(set(map(str, classes))) != len(classes):
        raise SkeletonFileError(path, "classes must be a non-empty list of distinct names")
    return manifest


def read_skeleton_csv(path: Path, num_joints: int) -> tuple[np.ndarray, np.ndarray]:
    """Stamps (T,) and joints (T, M, V, 3) of a recording file (``#`` lines are comments)."""
    rows, lines = [], []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        values = text.replace(",", " ").split()
        try:
            rows.append([float(v) for v in values])
        except ValueError:
            raise SkeletonFileError(path, "a value is not a number", number) from None
        lines.append(number)
    if not rows:
        raise SkeletonFileError(path, "no skeleton lines")
    widths = {len(r) for r in rows}
    width = len(rows[0])
    if len(widths) != 1 or (width - 1) % (3 * num_joints) or width == 1:
        bad = next(
            i for i, r in enumerate(rows) if len(r) != width or (width - 1) % (3 * num_joints)
        )
        raise SkeletonFileError(
            path,
            f"expected a stamp and a multiple of {3 * num_joints} coordinates "
            f"({num_joints} joints × x y z per body), got {len(rows[bad])} values",
            lines[bad],
        )
    table = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(table[:, 0]).all():
        bad = int(np.flatnonzero(~np.isfinite(table[:, 0]))[0])
        raise SkeletonFileError(
            path, "a recording without stamps: every line starts with one", lines[bad]
        )
    infinite = np.flatnonzero(np.isinf(table[:, 1:]).any(axis=1))
    if infinite.size:
        raise SkeletonFileError(
            path, "infinite coordinate (write NaN for a missing joint)", lines[infinite[0]]
        )
    bodies = (width - 1) // (3 * num_joints)
    joints = table[:, 1:].reshape(len(table), bodies, num_joints, 3).astype(np.float32)
    return table[:, 0], joints


def manifest_intervals(
    path: Path, entry: dict, classes: tuple[str, ...], line: int | None
) -> tuple[list[tuple[int, float, float, int | None]], tuple[str, ...]]:
    """(class, start, end, line) of a manifest entry's actions; ``[name, null, null]`` (an
    action the take does not hold) is skipped with a note."""
    intervals, notes = [], []
    for action in entry.get("actions") or []:
        if not isinstance(action, list | tuple) or len(action) != 3:
            raise SkeletonFileError(
                path, f"an action must be [name, start, end], got {action}", line
            )
        name, start, end = action
        if str(name) not in classes:
            raise SkeletonFileError(
                path,
                f"unknown action {name!r} in {entry['file']}; classes: {', '.join(classes)}",
                line,
            )
        if start is None and end is None:
            notes.append(f"{name}: not in this take (no interval), skipped")
            continue
        try:
            intervals.append((classes.index(str(name)), float(start), float(end), line))
        except (TypeError, ValueError):
            raise SkeletonFileError(
                path, f"{name}: start and end must be seconds, got {start!r} {end!r}", line
            ) from None
    return intervals, tuple(notes)


def read_recordings(src: str | Path) -> tuple[list[Recording], str, tuple[str, ...]]:
    """Every recording of a folder in the documented format, its layout and its classes."""
    src = Path(src)
    manifest = read_manifest(src)
    manifest_path = src / MANIFEST
    layout = get_layout(str(manifest["layout"]))
    classes = tuple(str(c) for c in manifest["classes"])
    lines = manifest_path.read_text().splitlines()
    recordings = []
    for entry in manifest["recordings"] or []:
        if not isinstance(entry, dict) or "file" not in entry or "subject" not in entry:
            raise SkeletonFileError(manifest_path, f"a recording needs file and subject: {entry}")
        line = next((n for n, text in enumerate(lines, 1) if str(entry["file"]) in text), None)
        path = src / str(entry["file"])
        if not path.is_file():
            raise SkeletonFileError(manifest_path, f"{path} does not exist", line)
        intervals, notes = manifest_intervals(manifest_path, entry, classes, line)
        stamps, joints = read_skeleton_csv(path, layout.num_joints)
        recordings.append(
            checked_recording(
                path,
                manifest_path,
                Path(entry["file"]).stem,
                str(entry["subject"]),
                stamps,
                joints,
                intervals,
                classes,
                notes,
            )
        )
    if not recordings:
        raise SkeletonFileError(manifest_path, "no recordings listed")
    return recordings, layout.name, classes


def subject_splits(
    samples: list[dict], val_subjects: list[str], test_subjects: list[str]
) -> dict[str, list[int]]:
    """``val`` and ``test``: the recordings of the subjects named for them; ``train``: every
    other subject's; ``all``; ``subject_<name>``: one subject's (to look at each person). A
    subject named twice or unknown is an error listing the known."""
    subjects = [str(s["extra"]["subject"]) for s in samples]
    known = sorted(set(subjects), key=lambda s: (len(s), s))
    twice = sorted(set(val_subjects) & set(test_subjects))
    if twice:
        raise DataError(f"subject(s) {', '.join(twice)} named for both validation and test")
    unknown = sorted((set(val_subjects) | set(test_subjects)) - set(subjects))
    if unknown:
        raise DataError(
            f"no recording of subject(s) {', '.join(unknown)}; the subjects are {', '.join(known)}"
        )
    held = set(val_subjects) | set(test_subjects)
    return {
        "train": [i for i, s in enumerate(subjects) if s not in held],
        "val": [i for i, s in enumerate(subjects) if s in val_subjects],
        "test": [i for i, s in enumerate(subjects) if s in test_subjects],
        "all": list(range(len(samples))),
        **{f"subject_{name}": [i for i, s in enumerate(subjects) if s == name] for name in known},
    }
