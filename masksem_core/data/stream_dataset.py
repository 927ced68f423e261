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
    extend_with_idle,
    idle_window_end,
)
from masksem_core.data.transforms import Compose
from masksem_core.data.windows import WINDOW, centre_sequence, stream_window
from masksem_core.skeleton import get_layout


class StreamWindowDataset(Dataset):
    """(M, window, V, C) stream windows of one split. A window covers
    ``sampling.window_seconds`` of the sample's timeline (its stamps; beyond its ends a person
    standing still, synthetic), resampled to ``window`` frames by :func:`stream_window`,
    centred and ``normalise``-d as the live recognizer does, then passed through ``augment``.
    Training (``train``): the window ends anywhere the action is named, or, with probability
    ``background_fraction``, where nothing happens (label ``len(class_names)``); evaluation: it
    ends where the action ends, idle context seeded by the item, so the windows are the same
    every time; ``idle_windows`` adds, after them, that many seeded idle windows per action
    (calibration of the "no action" decision)."""

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
    ) -> None:
        self.prepared = prepared
        self.items = prepared.actions(split)
        self.sampling = sampling
        self.train = train
        self.background_fraction = background_fraction
        self.normalise = normalise
        self.augment = augment
        self.window = window
        self.idle_windows = 0 if train else idle_windows
        self.background = len(prepared.class_names)
        layout = get_layout(prepared.meta["layout"])
        self.centre_joint = layout.index(layout.centre_joint)

    def __len__(self) -> int:
        return len(self.items) * (1 + self.idle_windows)

    def timeline(
        self, index: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, list[Interval]]:
        """A sample's frames (T, M, V, C) with a window of synthetic idle on each side, their
        stamps and the sample's labelled actions in seconds."""
        prepared = self.prepared
        stamps = prepared.stamps(index)
        frames, times = extend_with_idle(
            prepared.sequence(index), stamps, self.sampling.window_seconds, prepared.fps, rng
        )
        intervals = [
            Interval(label, float(stamps[first]), float(stamps[end - 1]))
            for label, first, end in prepared.intervals(index)
        ]
        return frames, times, intervals

    def __getitem__(self, item: int) -> tuple[torch.Tensor, int]:
        index, label, first, end = self.items[item % len(self.items)]
        rng = torch_seeded_rng() if self.train else np.random.default_rng(item)
        frames, times, intervals = self.timeline(index, rng)
        stamps = self.prepared.stamps(index)
        action = Interval(label, float(stamps[first]), float(stamps[end - 1]))
        idle = item >= len(self.items) or (self.train and rng.random() < self.background_fraction)
        if idle:
            grace = 0.0 if self.train else DECISION_GRACE_SECONDS
            window_end = idle_window_end(
                times, intervals, self.sampling, self.background, rng, grace
            )
            label = self.background
        else:
            window_end = action_window_end(action, self.sampling, rng if self.train else None)
        window = stream_window(times, frames, window_end, self.sampling.window_seconds, self.window)
        window = centre_sequence(window, self.centre_joint)
        if self.normalise is not None:
            window = self.normalise(window)
        if self.augment is not None:
            window = self.augment(window, rng)
        return torch.from_numpy(np.ascontiguousarray(window)), label
