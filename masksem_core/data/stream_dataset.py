"""Stream-mode windows of a prepared split: what the live recognizer will see (``data.window_mode:
stream``). Each item is one labelled action; in training a share of the items becomes an idle
window (class ``background``) instead."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from masksem_core.data.prepared import PreparedData, torch_seeded_rng
from masksem_core.data.stream import (
    DECISION_GRACE_SECONDS,
    Interval,
    StreamSampling,
    action_window_end,
    chain_clips,
    extend_with_idle,
    idle_window_end,
    training_window_end,
)
from masksem_core.data.transforms import Compose, Rotation
from masksem_core.errors import DataError
from masksem_core.skeleton import get_layout
from masksem_core.window_spec import WindowSpec


class StreamWindowDataset(Dataset):
    """(M, frames, V, C) stream windows of one split. A window is ``spec``'s window of the
    sample's timeline (its stamps; beyond its ends a person standing still, synthetic) at the
    window's end, exactly as the live recognizer builds it (``WindowSpec.from_timeline``),
    the timeline first seen by ``camera`` when given, then passed through ``augment``; in
    training the timeline is played at a speed drawn from ``tempo``.
    Training (``train``): the window ends anywhere the action is named, labelled by
    :func:`training_window_end`, or, with probability ``background_fraction``, where
    nothing happens (label ``len(class_names)``); with probability ``context_fraction`` the
    sample is first chained between two random actions of the split (back to back, as a
    person goes from one task to the next). Evaluation: the window ends where the action ends,
    idle context seeded by the item, so the windows are the same every time; ``idle_windows``
    adds, after them, that many seeded idle windows per action (calibration of the
    "no action" decision)."""

    def __init__(
        self,
        prepared: PreparedData,
        split: str,
        spec: WindowSpec,
        sampling: StreamSampling,
        train: bool,
        background_fraction: float = 0.0,
        augment: Compose | None = None,
        idle_windows: int = 0,
        context_fraction: float = 0.0,
        camera: Rotation | None = None,
        tempo: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        if spec.mode != "stream" or spec.seconds != sampling.window_seconds:
            raise DataError(
                f"stream windows need a stream-mode window spec of the sampling's "
                f"{sampling.window_seconds} s, got {spec.mode} windows of {spec.seconds} s"
            )
        self.prepared = prepared
        self.spec = spec
        self.items = prepared.actions(split)
        self.sampling = sampling
        self.train = train
        self.background_fraction = background_fraction
        self.context_fraction = context_fraction if train else 0.0
        self.augment = augment
        self.camera = camera
        self.tempo = tempo if train else (1.0, 1.0)
        self.idle_windows = 0 if train else idle_windows
        self.background = len(prepared.class_names)
        layout = get_layout(prepared.meta["layout"])
        self.centre_joint = layout.index(layout.centre_joint)

    def __len__(self) -> int:
        return len(self.items) * (1 + self.idle_windows)

    def clip(self, item: int) -> tuple[np.ndarray, np.ndarray, list[Interval]]:
        """An item's labelled frames (T, M, V, C), their stamps and its one interval."""
        index, label, first, end = self.items[item]
        frames, stamps = self.prepared.action_frames(index, first, end)
        return frames, stamps, [Interval(label, float(stamps[0]), float(stamps[-1]))]

    def timeline(
        self, item: int, rng: np.random.Generator, context: bool
    ) -> tuple[np.ndarray, np.ndarray, list[Interval], Interval]:
        """The item's sample (between two random actions of the split when ``context``) with
        a window of synthetic idle on each side: frames (T, M, V, C), stamps, the labelled
        actions in seconds and the item's own action among them."""
        prepared = self.prepared
        index, label, first, end = self.items[item]
        stamps = prepared.stamps(index)
        intervals = [
            Interval(label, float(stamps[first]), float(stamps[end - 1]))
            for label, first, end in prepared.intervals(index)
        ]
        action = Interval(label, float(stamps[first]), float(stamps[end - 1]))
        frames = prepared.sequence(index).transpose(1, 0, 2, 3)  # (T, M, V, C)
        if context:
            pieces = [self.clip(int(i)) for i in rng.integers(len(self.items), size=2)]
            pieces.insert(1, (frames, stamps, intervals))
            frames, stamps, shifts = chain_clips(
                [(f, t) for f, t, _ in pieces], prepared.fps, self.centre_joint
            )
            intervals = [
                Interval(a.label, a.start + shift, a.end + shift)
                for (_, _, piece), shift in zip(pieces, shifts, strict=True)
                for a in piece
            ]
            action = Interval(action.label, action.start + shifts[1], action.end + shifts[1])
        frames, times = extend_with_idle(
            frames.transpose(1, 0, 2, 3), stamps, self.sampling.window_seconds, prepared.fps, rng
        )
        return frames, times, intervals, action

    def __getitem__(self, item: int) -> tuple[torch.Tensor, int]:
        rng = torch_seeded_rng() if self.train else np.random.default_rng(item)
        context = self.train and rng.random() < self.context_fraction
        frames, times, intervals, action = self.timeline(item % len(self.items), rng, context)
        if self.tempo != (1.0, 1.0):
            times, intervals, action = played_at(rng.uniform(*self.tempo), times, intervals, action)
        idle = item >= len(self.items) or (self.train and rng.random() < self.background_fraction)
        if idle:
            grace = 0.0 if self.train else DECISION_GRACE_SECONDS
            window_end = idle_window_end(
                times, intervals, self.sampling, self.background, rng, grace
            )
            label = self.background
        elif self.train:
            window_end, label = training_window_end(
                action, intervals, self.sampling, self.background, rng
            )
        else:
            window_end, label = action_window_end(action, self.sampling, None), action.label
        if self.camera is not None:
            frames = self.camera(frames)
        window = self.spec.from_timeline(times, frames, window_end)
        if self.augment is not None:
            window = self.augment(window, rng)
        return torch.from_numpy(np.ascontiguousarray(window)), label


def played_at(
    speed: float, times: np.ndarray, intervals: list[Interval], action: Interval
) -> tuple[np.ndarray, list[Interval], Interval]:
    """A timeline played ``speed`` times as fast: its stamps, its actions and the item's own
    action divided by ``speed`` (a person acting faster or slower)."""

    def scaled(a: Interval) -> Interval:
        return Interval(a.label, a.start / speed, a.end / speed)

    return times / speed, [scaled(a) for a in intervals], scaled(action)
