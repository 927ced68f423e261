"""The prepared format: ``data.npy`` (N, M, T_max, V, C) memmap + samples/splits/meta json.

Written by ``training/prepare_data.py`` into a temporary directory that is renamed into place
only when complete, so a failed preparation never leaves a partial dataset directory.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from masksem_core.atomic import write_json_atomic
from masksem_core.data.sequence import SkeletonSequence
from masksem_core.data.splits import label_fraction_split_name, label_fraction_subset
from masksem_core.data.transforms import WindowTransform
from masksem_core.errors import DataError
from masksem_core.windows import prepare_sequence, resize_time

FORMAT_VERSION = 1
FILES = ("data.npy", "samples.json", "splits.json", "meta.json")


def fit_frames(sequence: np.ndarray, max_frames: int) -> np.ndarray:
    """Sequences longer than ``max_frames`` are linearly resampled to it; shorter ones kept."""
    if sequence.shape[1] <= max_frames:
        return sequence
    return resize_time(sequence, 0, sequence.shape[1], max_frames)


class PreparedWriter:
    """Stream sequences into a new prepared dataset; ``finish`` renames it into place."""

    def __init__(
        self,
        out_dir: str | Path,
        num_bodies: int,
        num_joints: int,
        channels: int = 3,
        max_frames: int = 300,
        centre_joint: int | None = None,
        overwrite: bool = False,
    ) -> None:
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not overwrite:
            raise FileExistsError(f"{self.out_dir} exists; pass --overwrite to replace it")
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.tmp_dir = Path(
            tempfile.mkdtemp(prefix=f".{self.out_dir.name}.tmp-", dir=self.out_dir.parent)
        )
        self.record_shape = (num_bodies, max_frames, num_joints, channels)
        self.max_frames = max_frames
        self.centre_joint = centre_joint
        self.raw = (self.tmp_dir / "data.raw").open("wb")
        self.samples: list[dict] = []

    def add(self, sequence: SkeletonSequence) -> None:
        data = sequence.data
        m, _, v, c = data.shape
        bodies, _, joints, channels = self.record_shape
        if (v, c) != (joints, channels) or m > bodies:
            raise DataError(
                f"{sequence.name}: shape {data.shape} does not fit records of "
                f"{bodies} bodies × {joints} joints × {channels} channels"
            )
        data = prepare_sequence(data, self.centre_joint)
        if data.shape[1] == 0:
            raise DataError(f"{sequence.name}: no body in any frame")
        data = fit_frames(data, self.max_frames)
        timed = "stamps" in sequence.extra or "intervals" in sequence.extra
        if timed and data.shape[1] != sequence.frames:
            raise DataError(
                f"{sequence.name}: a recording with stamps or labelled intervals must keep every "
                "frame "
                f"({sequence.frames} frames; frames without a body or over {self.max_frames})"
            )
        record = np.zeros(self.record_shape, dtype=np.float32)
        record[:m, : data.shape[1]] = data
        self.raw.write(record.tobytes())
        self.samples.append(
            {
                "name": sequence.name,
                "label": int(sequence.label),
                "frames": int(data.shape[1]),
                "original_frames": sequence.frames,
                "subject": sequence.subject,
                "view": sequence.view,
                "setup": sequence.setup,
                "extra": sequence.extra,
            }
        )

    def finish(self, splits: dict[str, list[int]], meta: dict) -> Path:
        """Write data.npy and the json files, then move the directory into place."""
        self.raw.close()
        raw_path = self.tmp_dir / "data.raw"
        shape = (len(self.samples), *self.record_shape)
        array = np.lib.format.open_memmap(
            self.tmp_dir / "data.npy", mode="w+", dtype=np.float32, shape=shape
        )
        record_bytes = int(np.prod(self.record_shape)) * 4
        with raw_path.open("rb") as raw:
            for i in range(len(self.samples)):
                array[i] = np.frombuffer(raw.read(record_bytes), dtype=np.float32).reshape(
                    self.record_shape
                )
        array.flush()
        del array
        raw_path.unlink()
        meta = {
            **meta,
            "format_version": FORMAT_VERSION,
            "num_samples": len(self.samples),
            "record_shape": list(self.record_shape),
        }
        write_json_atomic(self.tmp_dir / "samples.json", self.samples)
        write_json_atomic(self.tmp_dir / "splits.json", splits)
        write_json_atomic(self.tmp_dir / "meta.json", meta)
        if self.out_dir.exists():
            old = self.out_dir.with_name(self.out_dir.name + ".old")
            self.out_dir.rename(old)
            self.tmp_dir.rename(self.out_dir)
            shutil.rmtree(old)
        else:
            self.tmp_dir.rename(self.out_dir)
        return self.out_dir

    def abort(self) -> None:
        self.raw.close()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)


def write_prepared(
    out_dir: str | Path,
    sequences: Iterable[SkeletonSequence],
    splits_for: Callable[[list[dict]], dict[str, list[int]]],
    meta: dict,
    num_bodies: int,
    num_joints: int,
    max_frames: int = 300,
    centre_joint: int | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a whole dataset; ``splits_for(samples)`` computes the splits from the sample list."""
    writer = PreparedWriter(
        out_dir,
        num_bodies,
        num_joints,
        max_frames=max_frames,
        centre_joint=centre_joint,
        overwrite=overwrite,
    )
    try:
        for sequence in sequences:
            writer.add(sequence)
        return writer.finish(splits_for(writer.samples), meta)
    except BaseException:
        writer.abort()
        raise


class PreparedData:
    """Read access to a prepared directory: arrays by memmap, json metadata, splits."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        missing = [f for f in FILES if not (self.root / f).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{self.root} is not a prepared dataset (missing {', '.join(missing)}); create it "
                f"with: python training/prepare_data.py --dataset NAME --src PATH --out {self.root}"
            )
        self.meta = json.loads((self.root / "meta.json").read_text())
        if self.meta.get("format_version") != FORMAT_VERSION:
            raise DataError(
                f"{self.root}: prepared format version "
                f"{self.meta.get('format_version')}, this code reads {FORMAT_VERSION}"
            )
        self.samples = json.loads((self.root / "samples.json").read_text())
        self.splits = json.loads((self.root / "splits.json").read_text())
        self._data: np.ndarray | None = None

    @property
    def data(self) -> np.ndarray:
        if self._data is None:  # opened lazily so each DataLoader worker maps its own view
            self._data = np.load(self.root / "data.npy", mmap_mode="r")
        return self._data

    @property
    def class_names(self) -> list[str]:
        return list(self.meta["class_names"])

    @property
    def labels(self) -> list[int]:
        return [s["label"] for s in self.samples]

    def split_indices(self, split: str) -> list[int]:
        if split not in self.splits:
            raise DataError(f"{self.root}: no split {split!r}; available: {sorted(self.splits)}")
        return list(self.splits[split])

    def sequence(self, index: int) -> np.ndarray:
        """One stored sample trimmed to its frames: (M, frames, V, C)."""
        return np.asarray(self.data[index, :, : self.samples[index]["frames"]], dtype=np.float32)

    @property
    def fps(self) -> float:
        """Frames per second of the stored sequences (their stamps where a sample has them)."""
        if "fps" not in self.meta:
            raise DataError(
                f"{self.root} records no frame rate (prepared by an older version); prepare it "
                "again with training/prepare_data.py"
            )
        return float(self.meta["fps"])

    def stamps(self, index: int) -> np.ndarray:
        """Capture times (s) of a sample's frames: its own where recorded (irregular streams),
        else frame / fps."""
        sample = self.samples[index]
        if "stamps" in sample["extra"]:
            return np.asarray(sample["extra"]["stamps"], dtype=np.float64)
        return np.arange(sample["frames"]) / self.fps

    def intervals(self, index: int) -> list[tuple[int, int, int]]:
        """(label, first frame, end frame) of each labelled action of a sample: the labelled
        intervals of a continuous recording, else the whole clip."""
        sample = self.samples[index]
        if "intervals" in sample["extra"]:
            return [tuple(map(int, a)) for a in sample["extra"]["intervals"]]
        return [(sample["label"], 0, sample["frames"])]

    def action_frames(self, index: int, first: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """Frames [first, end) of a sample, (T, M, V, C), and their stamps: one labelled action."""
        frames = self.data[index, :, first:end].transpose(1, 0, 2, 3)
        return np.asarray(frames, dtype=np.float32), self.stamps(index)[first:end]

    def actions(self, split: str) -> list[tuple[int, int, int, int]]:
        """(sample, label, first frame, end frame) of every labelled action of a split."""
        return [(i, *a) for i in self.split_indices(split) for a in self.intervals(i)]

    def add_label_fraction_split(
        self, split: str, fraction: float, seed: int, save: bool = True
    ) -> str:
        """Create (or reuse) a class-stratified seeded subset of ``split``; ``save`` writes it to
        splits.json (only one process of a distributed run should)."""
        name = label_fraction_split_name(split, fraction, seed)
        if name not in self.splits:
            self.splits[name] = label_fraction_subset(
                self.labels, self.split_indices(split), fraction, seed
            )
            if save:
                write_json_atomic(self.root / "splits.json", self.splits)
        return name


class WindowDataset(Dataset):
    """(M, window, V, C) windows of the labelled actions of one split (clip mode: each action
    cropped to its frames), each passed through ``transform``. A random transform draws from a
    generator seeded by torch's RNG, so DataLoader seeding governs it."""

    def __init__(
        self,
        prepared: PreparedData,
        split: str,
        transform: WindowTransform,
    ) -> None:
        self.prepared = prepared
        self.split = split
        self.items = prepared.actions(split)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, item: int) -> tuple[torch.Tensor, int]:
        index, label, first, end = self.items[item]
        rng = torch_seeded_rng() if self.transform.random else None
        window = self.transform(self.prepared.sequence(index)[:, first:end], rng)
        return torch.from_numpy(np.ascontiguousarray(window)), label


def torch_seeded_rng() -> np.random.Generator:
    """A numpy generator seeded from torch's RNG (per DataLoader worker and epoch)."""
    return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))
