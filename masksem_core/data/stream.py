"""Stream windows for training as deployed: a fixed stretch of the stream's timeline around an
action at its natural speed, with what surrounds it (the recording's own frames, else a person
standing in the first or last pose), and windows in which no action happens.

Numpy only: the streaming evaluation builds its test streams from the same pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BACKGROUND = "no action"  # the class of stream windows in which no labelled action happens
DECISION_GRACE_SECONDS = 1.0  # a decision this soon after an action is judged neither way
IDLE_OVERLAP_SECONDS = 0.2  # an action begun less than this long ago is not yet in view
SWAY_AMPLITUDE = 0.015  # m, slow sway of a standing person (synthetic idle)
SWAY_PERIOD = (2.0, 6.0)  # s
JITTER = 0.004  # m, per-joint noise of a skeleton tracker (synthetic idle)


@dataclass(frozen=True)
class Interval:
    """A labelled action: class ``label`` from ``start`` to ``end`` (seconds on the stream)."""

    label: int
    start: float
    end: float


@dataclass(frozen=True)
class StreamSampling:
    """Which window ends get an action's label and which count as idle (all in seconds)."""

    window_seconds: float
    min_visible: float = 0.4  # an action is named once this much of it (or half) is seen
    tail: float = 0.5  # … and until this long after it ends


def synthetic_idle(
    pose: np.ndarray, seconds: float, fps: float, rng: np.random.Generator
) -> np.ndarray:
    """A person standing in ``pose`` (M, V, C) for ``seconds``: a slow sway of the whole body
    (±1.5 cm, 2–6 s period, random phase and direction) plus per-joint tracker jitter (4 mm).
    Absent (all-zero) bodies stay zero. Synthetic: named so wherever it is used. → (M, T, V, C)"""
    frames = max(1, round(seconds * fps))
    t = np.arange(frames) / fps
    period = rng.uniform(*SWAY_PERIOD)
    direction = rng.normal(size=3)
    direction[1] *= 0.2  # mostly horizontal
    direction /= np.linalg.norm(direction) + 1e-9
    sway = SWAY_AMPLITUDE * np.sin(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))
    idle = pose[:, None] + (sway[:, None] * direction)[None, :, None, :]
    idle = idle + rng.normal(0.0, JITTER, size=idle.shape)
    present = np.abs(pose).sum(axis=(1, 2)) > 0
    return np.where(present[:, None, None, None], idle, 0.0).astype(np.float32)


def extend_with_idle(
    sequence: np.ndarray,
    stamps: np.ndarray,
    seconds: float,
    fps: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``seconds`` of synthetic idle in the first pose before the sequence and in the last
    pose after it. (M, T, V, C) at ``stamps`` → (T', M, V, C) frames and their stamps."""
    before = synthetic_idle(sequence[:, 0], seconds, fps, rng)
    after = synthetic_idle(sequence[:, -1], seconds, fps, rng)
    step = 1.0 / fps
    frames = np.concatenate([before, sequence, after], axis=1).transpose(1, 0, 2, 3)
    times = np.concatenate(
        [
            stamps[0] - step * np.arange(before.shape[1], 0, -1),
            stamps,
            stamps[-1] + step * np.arange(1, after.shape[1] + 1),
        ]
    )
    return np.ascontiguousarray(frames), times


def chain_clips(
    clips: list[tuple[np.ndarray, np.ndarray]], fps: float, centre_joint: int
) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Clips (frames (T, M, V, C), stamps) one after another, 1/fps apart, each moved so that
    the first body's centre joint continues where the previous clip left it (a person does not
    jump across the room); absent (all-zero) bodies stay zero. → frames (T', M, V, C), their
    stamps (the first clip keeps its own) and the shift added to each clip's stamps."""
    frames, stamps, shifts = [], [], []
    position = None
    for clip_frames, clip_stamps in clips:
        moved = clip_frames
        if position is not None:
            present = np.abs(moved).sum(axis=(2, 3), keepdims=True) > 0  # (T, M, 1, 1)
            moved = np.where(present, moved - moved[0, 0, centre_joint] + position, 0.0)
        shift = stamps[-1][-1] + 1.0 / fps - clip_stamps[0] if stamps else 0.0
        frames.append(moved)
        stamps.append(clip_stamps + shift)
        shifts.append(float(shift))
        position = moved[-1, 0, centre_joint]
    return np.concatenate(frames).astype(np.float32), np.concatenate(stamps), shifts


def window_label(
    end: float, intervals: list[Interval], sampling: StreamSampling, background: int
) -> int | None:
    """The label of the window ending at ``end``: the action it names (seen for
    ``min_visible`` or half of it, until ``tail`` after it ends; the latest when several
    qualify); None while an action has begun but is not yet seen enough (not trained on);
    ``background`` otherwise, also once an action is over, even while the window still shows
    it: a robot must hear "no action" soon after the person stops."""
    named, started = [], False
    for a in intervals:
        visible = a.start + min(sampling.min_visible, 0.5 * (a.end - a.start))
        if visible <= end <= a.end + sampling.tail:
            named.append(a)
        started |= a.start + IDLE_OVERLAP_SECONDS <= end < visible
    if named:
        return max(named, key=lambda a: a.start).label
    return None if started else background


def action_window_end(
    action: Interval, sampling: StreamSampling, rng: np.random.Generator | None
) -> float:
    """Where a window showing ``action`` ends: uniform over the span in which the action is
    named (training), or at the action's end (evaluation, ``rng`` None)."""
    if rng is None:
        return action.end
    visible = min(sampling.min_visible, 0.5 * (action.end - action.start))
    return float(rng.uniform(action.start + visible, action.end + sampling.tail))


def training_window_end(
    action: Interval,
    intervals: list[Interval],
    sampling: StreamSampling,
    background: int,
    rng: np.random.Generator,
) -> tuple[float, int]:
    """A training window showing ``action``: its end, uniform where the action is named, and
    the label :func:`window_label` gives there: the action's, or the next action's once that
    is seen enough (the action itself is named at every such end, so there always is one)."""
    end = action_window_end(action, sampling, rng)
    label = window_label(end, intervals, sampling, background)
    assert label is not None, (end, action)
    return end, label


def idle_window_end(
    stamps: np.ndarray,
    intervals: list[Interval],
    sampling: StreamSampling,
    background: int,
    rng: np.random.Generator,
    grace: float = 0.0,
    tries: int = 20,
) -> float:
    """A window end on the timeline ``stamps`` whose window is idle, and not within ``grace``
    seconds after an action (calibration uses the idle decisions the streaming evaluation
    judges); where none is found by chance, a window that ends before the first action."""
    low, high = stamps[0] + 0.5 * sampling.window_seconds, stamps[-1]
    for _ in range(tries):
        end = float(rng.uniform(low, high))
        after = any(a.end < end <= a.end + grace for a in intervals)
        if not after and window_label(end, intervals, sampling, background) == background:
            return end
    return min(a.start for a in intervals)
