"""Live-stream logic of the recognizer, free of ROS: decoding, time-stamped buffering,
resampling to the model window, decision smoothing and a latest-only inference worker."""

from __future__ import annotations

import queue
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from masksem_core.data.windows import stream_window
from masksem_core.errors import MaskSemError
from masksem_core.runtime.decision_rule import candidate_actions, names_action


class SkeletonMessageError(MaskSemError, ValueError):
    """A skeleton message that cannot be used (it is dropped, the stream goes on); ``kind``
    names the reason for counting."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def decode_joints(positions: np.ndarray, num_joints: int, max_persons: int) -> np.ndarray:
    """(N, 3) joint positions of V·M poses → (M, V, 3), NaN marking missing joints.

    Raises SkeletonMessageError when N is not a positive multiple of V or exceeds max_persons
    bodies, a coordinate is infinite, or every joint is NaN.
    """
    count = len(positions)
    if count == 0 or count % num_joints:
        raise SkeletonMessageError(
            "pose_count",
            f"{count} poses is not a multiple of the model's "
            f"{num_joints} joints (V·M poses expected)",
        )
    bodies = count // num_joints
    if bodies > max_persons:
        raise SkeletonMessageError(
            "too_many_bodies", f"{bodies} bodies exceed max_persons={max_persons}"
        )
    if np.isinf(positions).any():
        raise SkeletonMessageError("infinite", "infinite coordinate (use NaN for a missing joint)")
    if np.isnan(positions).all():
        raise SkeletonMessageError("no_valid_joints", "every joint is NaN (nobody detected)")
    return positions.reshape(bodies, num_joints, 3).astype(np.float32)


def fill_missing(frames: np.ndarray) -> np.ndarray:
    """Fill NaN joints by linear interpolation over time from the same joint's valid samples
    (held constant beyond the ends); a joint never seen, or an absent body, becomes 0.
    (T, M, V, 3) → same."""
    out = frames.copy()
    t = np.arange(len(frames))
    flat = out.reshape(len(frames), -1, 3)  # (T, M·V, 3)
    valid = ~np.isnan(flat).any(axis=2)  # (T, M·V)
    for j in np.flatnonzero(~valid.all(axis=0)):
        ok = valid[:, j]
        if not ok.any():
            flat[:, j] = 0.0
            continue
        for c in range(3):
            flat[:, j, c] = np.interp(t, t[ok], flat[ok, j, c])
    return flat.reshape(frames.shape)


@dataclass
class BufferStats:
    accepted: int = 0
    resets_after_gap: int = 0


class TimedSkeletonBuffer:
    """The last ``window_seconds`` of frames, keyed by capture time, bounded in memory.

    Frames whose stamp is not after the newest are rejected (out of order / duplicates); a gap
    longer than ``max_gap_seconds`` clears the buffer, since a window across it would splice
    two different moments. A body not seen for ``person_timeout`` seconds before the newest
    frame is left out of the window (the person has left).
    """

    def __init__(
        self,
        window_seconds: float,
        max_gap_seconds: float,
        max_persons: int,
        num_joints: int,
        person_timeout: float = 1.0,
        max_frames: int = 1024,
    ) -> None:
        if window_seconds <= 0:
            raise ValueError(f"window_seconds must be positive, got {window_seconds}")
        self.window_seconds = window_seconds
        self.max_gap_seconds = max_gap_seconds
        self.max_persons = max_persons
        self.num_joints = num_joints
        self.person_timeout = person_timeout
        self.stamps: deque[float] = deque(maxlen=max_frames)
        self.frames: deque[np.ndarray] = deque(maxlen=max_frames)
        self.stats = BufferStats()

    @property
    def newest(self) -> float | None:
        return self.stamps[-1] if self.stamps else None

    def push(self, stamp: float, joints: np.ndarray) -> None:
        """Add one (M, V, 3) frame; raises SkeletonMessageError for a stamp going backwards."""
        newest = self.newest
        if newest is not None and stamp <= newest:
            raise SkeletonMessageError(
                "out_of_order",
                f"stamp {stamp:.3f} s is not after the previous "
                f"{newest:.3f} s (out of order or duplicate)",
            )
        if newest is not None and stamp - newest > self.max_gap_seconds:
            self.stats.resets_after_gap += 1
            self.stamps.clear()
            self.frames.clear()
        frame = np.full((self.max_persons, self.num_joints, 3), np.nan, dtype=np.float32)
        frame[: len(joints)] = joints
        self.stamps.append(stamp)
        self.frames.append(frame)
        while self.stamps and self.stamps[0] < stamp - self.window_seconds - 1.0:
            self.stamps.popleft()
            self.frames.popleft()
        self.stats.accepted += 1

    def covered_seconds(self) -> float:
        return self.stamps[-1] - self.stamps[0] if len(self.stamps) > 1 else 0.0

    def window(self, out_frames: int, hold_before_start: bool) -> np.ndarray | None:
        """The last ``window_seconds`` as a stream window (M, out_frames, V, 3): missing joints
        filled, timed-out bodies left out. ``hold_before_start`` (stream-mode models): the
        window always spans ``window_seconds``, the first frame held before the stream began,
        as in training; otherwise (clip-mode models) it spans what is covered, and None until
        half a window is. None when no body is present."""
        covered = self.covered_seconds()
        if covered <= 0 or (not hold_before_start and covered < 0.5 * self.window_seconds):
            return None
        stamps = np.fromiter(self.stamps, dtype=np.float64)
        end = stamps[-1]
        seconds = self.window_seconds if hold_before_start else min(covered, self.window_seconds)
        first = max(0, int(np.searchsorted(stamps, end - seconds, side="right")) - 1)
        frames = np.stack(list(self.frames)[first:])  # (T, M, V, 3)
        seen = ~np.isnan(frames).all(axis=(2, 3))  # (T, M)
        recent = stamps[first:] >= end - self.person_timeout
        present = (seen & recent[:, None]).any(axis=0)  # bodies seen within the timeout
        if not present.any():
            return None
        frames = fill_missing(frames[:, present])
        return stream_window(stamps[first:], frames, end, seconds, out_frames)


@dataclass
class DecisionSmoother:
    """Thresholding + majority vote over the last ``window`` decisions.

    Each decision is the action that ``decision_rule`` (:mod:`decision_rule`) names at
    ``threshold``, else ``no_action_label`` (a class of its own in the vote: the model's
    ``background_class`` and low-confidence guesses), so a robot never acts on a guess.
    ``smoothed`` is the mean of the probabilities of the decisions voted over.
    """

    class_names: tuple[str, ...]
    threshold: float = 0.5
    window: int = 3
    no_action_label: str = "no action"
    background_class: str = ""
    decision_rule: str = "top_class"
    history: deque = field(default_factory=deque)  # (decision, probabilities), oldest first
    background: int | None = field(init=False)  # index of background_class (None: none)

    def __post_init__(self) -> None:
        self.background = (
            self.class_names.index(self.background_class) if self.background_class else None
        )

    @property
    def smoothed(self) -> np.ndarray:
        return np.mean([probabilities for _, probabilities in self.history], axis=0)

    def update(self, probabilities: np.ndarray) -> str:
        index, score = candidate_actions(probabilities, self.background, self.decision_rule)
        named = names_action(index, score, self.background, self.threshold)
        decision = self.class_names[int(index)] if named else self.no_action_label
        self.history.append((decision, probabilities))
        while len(self.history) > max(1, self.window):
            self.history.popleft()
        counts = Counter(past for past, _ in self.history)
        top = max(counts.values())
        for past, _ in reversed(self.history):  # ties go to the most recent decision
            if counts[past] == top:
                return past
        return decision


class LatestOnlyWorker:
    """Runs ``handler`` on a background thread for the newest submitted item only.

    The queue holds one item: submitting while the handler is busy replaces the waiting item,
    which is counted as stale, so latency never builds up behind a slow model.
    """

    def __init__(
        self, handler: Callable[[object], None], on_error: Callable[[BaseException], None]
    ) -> None:
        self.handler = handler
        self.on_error = on_error
        self.pending: queue.Queue = queue.Queue(maxsize=1)
        self.stale = 0
        self.failed = 0
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.running = True
        self.thread.start()

    def submit(self, item: object) -> None:
        with self.lock:
            try:
                self.pending.get_nowait()
                self.stale += 1
            except queue.Empty:
                pass
            self.pending.put_nowait(item)

    def _run(self) -> None:
        while self.running:
            try:
                item = self.pending.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is None:
                break
            try:
                self.handler(item)
            except Exception as err:  # the worker must survive a bad window
                self.failed += 1
                self.on_error(err)

    def stop(self) -> None:
        self.running = False
        self.submit(None)
        self.thread.join(timeout=2.0)
