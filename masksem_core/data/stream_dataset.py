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
from masksem_core.data.transforms import Compose
from masksem_core.data.windows import WINDOW, centre_sequence, stream_window
from masksem_core.skeleton import get_layout


class StreamWindowDataset(Dataset):
    """(M, window, V, C) stream windows of one split. A window covers
    ``sampling.window_seconds`` of the sample's timeline (its stamps; beyond its ends a person
    standing still, synthetic), resampled to ``window`` frames by :func:`stream_window`,
    centred and ``normalise``-d as the live recognizer does, then passed through ``augment``.
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
        sampling: StreamSampling,
        train: bool,
        background_fraction: float = 0.0,
        normalise: Compose | None = None,
        augment: Compose | None = None,
        window: int = WINDOW,
        idle_windows: int = 0,
        context_fraction: float = 0.0,
    ) -> None:
        self.prepared = prepared
        self.items = prepared.actions(split)
        self.sampling = sampling
        self.train = train
        self.background_fraction = background_fraction
        self.context_fraction = context_fraction if train else 0.0
        self.normalise = normalise
        self.augment = augment
        self.window = window
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
        window = stream_window(times, frames, window_end, self.sampling.window_seconds, self.window)
        window = centre_sequence(window, self.centre_joint)
        if self.normalise is not None:
            window = self.normalise(window)
        if self.augment is not None:
            window = self.augment(window, rng)
        return torch.from_numpy(np.ascontiguousarray(window)), label
