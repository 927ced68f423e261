"""Live-stream logic of the recognizer, free of ROS: decoding, a person's stamped ring buffer,
decision smoothing and a latest-only inference worker."""

from __future__ import annotations

import queue
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

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


def decode_bodies(
    ids: list[str], bodies: list[np.ndarray], num_joints: int, max_persons: int
) -> np.ndarray:
    """Tracked bodies (an id and (V, 3) joint positions each) → (M, V, 3), NaN marking missing
    joints; none at all is a valid message (nobody in view).

    Raises SkeletonMessageError for an empty or duplicate id, a body whose joint count is not
    the model's, more than max_persons bodies, or an infinite coordinate.
    """
    if any(not person.strip() for person in ids):
        raise SkeletonMessageError("empty_id", "a body has an empty id (the tracker's id needed)")
    repeated = sorted({person for person in ids if ids.count(person) > 1})
    if repeated:
        raise SkeletonMessageError("duplicate_id", f"ids {repeated} appear more than once")
    wrong = [
        (person, len(b)) for person, b in zip(ids, bodies, strict=True) if len(b) != num_joints
    ]
    if wrong:
        person, count = wrong[0]
        raise SkeletonMessageError(
            "joint_count", f"body {person!r} has {count} joints, the model's layout {num_joints}"
        )
    if len(ids) > max_persons:
        raise SkeletonMessageError(
            "too_many_bodies", f"{len(ids)} bodies exceed max_persons={max_persons}"
        )
    joints = np.asarray(bodies, dtype=np.float64).reshape(len(ids), num_joints, 3)
    if np.isinf(joints).any():
        raise SkeletonMessageError("infinite", "infinite coordinate (use NaN for a missing joint)")
    return joints.astype(np.float32)


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


class StampedRing:
    """One person's recent frames: a ring buffer of ``capacity`` stamped (V, 3) frames (NaN:
    a missing joint), the oldest overwritten first. It checks nothing: ordering, gaps and
    timeouts are decided once, by the recognizer, before a frame reaches a ring."""

    def __init__(self, num_joints: int, capacity: int = 1024) -> None:
        self.stamps = np.zeros(capacity, dtype=np.float64)
        self.joints = np.zeros((capacity, num_joints, 3), dtype=np.float32)
        self.count = 0  # frames held (≤ capacity)
        self.next = 0  # slot the next frame goes to

    def push(self, stamp: float, joints: np.ndarray) -> None:
        """Add one (V, 3) frame captured at ``stamp`` (s), later than every frame held."""
        self.stamps[self.next] = stamp
        self.joints[self.next] = joints
        self.next = (self.next + 1) % len(self.stamps)
        self.count = min(self.count + 1, len(self.stamps))

    def _order(self) -> np.ndarray:
        return (self.next - self.count + np.arange(self.count)) % len(self.stamps)

    @property
    def newest(self) -> float:
        return float(self.stamps[(self.next - 1) % len(self.stamps)])

    def covered_seconds(self) -> float:
        """Time from the oldest to the newest frame held."""
        return self.newest - float(self.stamps[self._order()[0]]) if self.count > 1 else 0.0

    def recent(self, seconds: float) -> tuple[np.ndarray, np.ndarray]:
        """The frames of the last ``seconds`` before the newest, and the one before them (the
        window interpolates from it): stamps (T,) and frames (T, 1, V, 3), missing joints
        filled (``fill_missing``)."""
        order = self._order()
        stamps = self.stamps[order]
        first = max(0, int(np.searchsorted(stamps, stamps[-1] - seconds, side="right")) - 1)
        return stamps[first:], fill_missing(self.joints[order[first:], None])


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
