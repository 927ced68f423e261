"""The live recognition pipeline without ROS: message → per-person buffer → window → model →
threshold and smoothing → decision, with stride gating and statistics. The ROS node only
converts messages and publishes what this decides."""

from __future__ import annotations

import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from masksem_core.errors import ConfigError
from masksem_core.runtime.live import (
    DecisionSmoother,
    LatestOnlyWorker,
    SkeletonMessageError,
    StampedRing,
    decode_bodies,
    decode_joints,
)
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.runtime.preprocess import pad_bodies
from masksem_core.runtime.session import ActionSession


@dataclass(frozen=True)
class LiveSettings:
    """What the pipeline does with a stream; every field can change while it runs."""

    window_seconds: float = 0.0  # history classified each time (0: the model's)
    stride_seconds: float = 0.5  # message time between two classifications
    score_threshold: float = -1.0  # below: no_action_label (< 0: the model's calibrated one)
    smoothing_window: int = 1  # majority vote over the last decisions (1 = none; chosen on
    # GTU's validation split: a vote over 3 detected 8 points fewer actions, 0.5 s later)
    no_action_label: str = "no action"
    max_persons: int = 2  # bodies accepted per message
    person_timeout: float = 1.0  # a body unseen this long leaves the window
    max_gap_seconds: float = 2.0  # a larger gap between stamps, forwards or back, restarts
    # every stream (a smaller step back is a message out of order, dropped)

    def __post_init__(self) -> None:
        problems = check_settings(self)
        if problems:
            raise ConfigError("; ".join(problems))


def check_settings(settings: LiveSettings) -> list[str]:
    """Why ``settings`` cannot be used (empty when they can)."""
    problems = []
    for name in ("stride_seconds", "person_timeout", "max_gap_seconds"):
        if not getattr(settings, name) > 0:
            problems.append(f"{name} must be > 0, got {getattr(settings, name)}")
    if settings.window_seconds < 0:
        problems.append(
            f"window_seconds must be ≥ 0 (0: the model's), got {settings.window_seconds}"
        )
    if not settings.score_threshold <= 1.0:
        problems.append(
            f"score_threshold must be in [0, 1] (< 0: the model's), got {settings.score_threshold}"
        )
    if not settings.no_action_label.strip():
        problems.append("no_action_label must not be empty")
    if settings.smoothing_window < 1:
        problems.append(f"smoothing_window must be ≥ 1, got {settings.smoothing_window}")
    if settings.max_persons < 1:
        problems.append(f"max_persons must be ≥ 1, got {settings.max_persons}")
    return problems


STAMP_TOLERANCE = 1e-6  # s: header stamps are whole nanoseconds, 15 frames at 30 Hz 0.4999…
CLIP_WINDOW_SECONDS = 4.0  # the history a clip-mode model classifies unless told otherwise
UNCALIBRATED_THRESHOLD = 0.5


def effective_window_seconds(settings: LiveSettings, info: ModelInfo) -> float:
    """A stream-mode model's windows span the time it was trained on, whatever the settings say
    (a different non-zero value is an error); a clip-mode model's span the setting (default
    4 s)."""
    spec = info.window_spec
    if spec.mode == "stream":
        if settings.window_seconds and abs(settings.window_seconds - spec.seconds) > 1e-6:
            raise ConfigError(
                f"window_seconds={settings.window_seconds} but the model was trained on "
                f"{spec.seconds} s stream windows; leave window_seconds at 0"
            )
        return spec.seconds
    return settings.window_seconds or CLIP_WINDOW_SECONDS


def effective_threshold(settings: LiveSettings, info: ModelInfo) -> float:
    """The setting when ≥ 0, else the model's calibrated threshold (0.5 when it has none)."""
    if settings.score_threshold >= 0:
        return settings.score_threshold
    return info.score_threshold if info.score_threshold >= 0 else UNCALIBRATED_THRESHOLD


@dataclass(frozen=True)
class Decision:
    person: str  # the tracker's id, or a PoseArray body's slot index as text ("0", "1", …)
    label: str  # smoothed and thresholded
    probabilities: np.ndarray  # (K,) raw, in the model's class order
    smoothed: np.ndarray  # (K,) mean of the probabilities of the decisions voted over
    received: float  # perf_counter when the window's last message arrived
    model_seconds: float
    stamp_ns: int  # capture time of the window's last frame: that message's own stamp (ns)
    window_start_ns: int  # where the window starts, never before the person's first frame

    @property
    def stamp(self) -> float:
        """``stamp_ns`` in seconds."""
        return self.stamp_ns * 1e-9

    @property
    def window_start(self) -> float:
        """``window_start_ns`` in seconds."""
        return self.window_start_ns * 1e-9


@dataclass
class PersonStream:
    """One person's decision stream: their own frames, smoothing and stride phase."""

    frames: StampedRing
    smoother: DecisionSmoother
    last_trigger: float
    first_ns: int  # the stamp of the person's first frame (ns)

    def last_seen(self) -> float:
        """Stamp (s) of the person's newest frame; their stream's start while it holds none."""
        return self.frames.newest if self.frames.count else self.first_ns * 1e-9

    def history(self, window_seconds: float, stream_mode: bool) -> float | None:
        """Seconds of history the next window spans: a stream-mode model's always span
        ``window_seconds`` (the first frame held before the person appeared, as in training),
        once two frames are held; a clip-mode model's span what is held, up to
        ``window_seconds``, once half of it is. None: not yet."""
        covered = self.frames.covered_seconds()
        if covered <= 0 or (not stream_mode and covered < 0.5 * window_seconds):
            return None
        return window_seconds if stream_mode else min(covered, window_seconds)


class LiveRecognizer:
    """Feed ``on_bodies(stamp_ns, ids, bodies)`` (people with the upstream tracker's ids) or
    ``on_message(stamp_ns, positions)`` (bodies by position: slot b is person "b"). Each person
    has a decision stream of their own (buffer, window, smoothing), which starts afresh when
    they appear, after a gap in the stamps or a jump back (a bag replayed in a loop), and after
    ``reset``. A person leaves when a tracked message no longer holds their id, when a
    shrinking position message no longer holds their slot (departures from its end: the other
    slots keep their ids), or when unseen for ``person_timeout`` (an all-NaN body is unseen);
    ``on_left(stamp_ns, ids)`` says so, after every decision about them and before none.
    Message order, gaps and timeouts are decided here, once per message, for everyone. Every
    ``stride_seconds`` of a person's message time their last window is classified (the windows
    of everyone due at one message in one batch, on a worker thread that keeps only the newest
    batch when ``background``) and ``publish(decisions)`` is called with that batch's decisions
    of the people still there."""

    def __init__(
        self,
        session: ActionSession,
        settings: LiveSettings,
        publish: Callable[[list[Decision]], None],
        on_error: Callable[[BaseException], None],
        background: bool = True,
        on_left: Callable[[int, list[str]], None] = lambda stamp_ns, ids: None,
    ) -> None:
        self.session = session
        self.settings = settings
        self.publish = publish
        self.on_left = on_left
        effective_window_seconds(settings, session.info)  # a mismatch is refused now
        self.people: dict[str, PersonStream] = {}
        self.restart = False  # the next message starts every stream afresh (gap, jump back)
        self.announce = threading.Lock()  # decisions and departures reach publish in order
        self.departures = 0
        self.newest: int | None = None
        self.input_seconds = 0.0  # stamp time the accepted messages advanced by
        self.first_received: float | None = None  # perf_counter of the first message
        self.last_received = 0.0  # perf_counter of the latest accepted message
        self.received = 0  # messages handed in: accepted + dropped (by reason)
        self.accepted = 0
        self.gap_resets = 0
        self.stamp_resets = 0  # stamps that jumped back by more than max_gap_seconds
        self.dropped: dict[str, int] = {}
        self.latencies: list[float] = []  # last message of a window → decision published (s)
        self.model_latencies: list[float] = []
        self.inferences = 0
        self.worker = LatestOnlyWorker(self.classify, on_error) if background else None

    def person_stream(self, stamp_ns: int) -> PersonStream:
        settings, info = self.settings, self.session.info
        smoother = DecisionSmoother(
            self.session.class_names,
            effective_threshold(settings, info),
            settings.smoothing_window,
            settings.no_action_label,
            info.background_class,
            info.decision_rule,
        )
        ring = StampedRing(self.session.num_joints)
        return PersonStream(ring, smoother, last_trigger=stamp_ns * 1e-9, first_ns=stamp_ns)

    def update(self, settings: LiveSettings) -> None:
        """Apply new settings to the running pipeline; people beyond a lowered ``max_persons``
        leave."""
        info = self.session.info
        effective_window_seconds(settings, info)  # a mismatch is refused before anything changes
        beyond = list(self.people)[settings.max_persons :]  # the latest to appear leave
        self.leave(beyond, self.newest or 0)
        for person in self.people.values():
            person.smoother.threshold = effective_threshold(settings, info)
            person.smoother.window = settings.smoothing_window
            person.smoother.no_action_label = settings.no_action_label
        self.settings = settings

    def reset(self) -> None:
        """Forget every person's history (deactivation): the next message starts afresh."""
        self.people.clear()
        self.newest = None

    def accept(self, stamp_ns: int, decode: Callable[[], np.ndarray]) -> np.ndarray:
        """The message's (M, V, 3) bodies (``decode()``); raises SkeletonMessageError (counted
        by its kind) for a message that is dropped. Order is decided on the exact stamps (ns)."""
        self.received += 1
        newest = self.newest
        gap_ns = round(self.settings.max_gap_seconds * 1e9)
        jumped_back = newest is not None and newest - stamp_ns > gap_ns
        try:
            joints = decode()
            if newest is not None and stamp_ns <= newest and not jumped_back:
                hint = " (all-zero header stamps? set header.stamp to the capture time)"
                raise SkeletonMessageError(
                    "out_of_order",
                    f"stamp {stamp_ns * 1e-9:.3f} s is not after the previous "
                    f"{newest * 1e-9:.3f} s (out of order or duplicate)"
                    f"{hint if stamp_ns == 0 else ''}",
                )
        except SkeletonMessageError as err:
            self.dropped[err.kind] = self.dropped.get(err.kind, 0) + 1
            raise
        if jumped_back:  # a bag replayed in a loop, a driver restarted with another clock
            self.stamp_resets += 1
            self.restart = True
        elif newest is not None:
            if stamp_ns - newest > gap_ns:
                self.gap_resets += 1
                self.restart = True  # a new stream: nothing of the previous one carries over
            self.input_seconds += (stamp_ns - newest) * 1e-9
        self.newest = stamp_ns
        self.accepted += 1
        self.last_received = time.perf_counter()
        self.first_received = self.first_received or self.last_received
        return joints

    def on_message(self, stamp_ns: int, positions: np.ndarray) -> None:
        """Accept one message of (V·M, 3) joint positions at capture time ``stamp_ns`` (integer
        nanoseconds, carried unchanged to the decisions it triggers); body b is person "b", and
        the slots a shrinking message no longer holds have left. Raises SkeletonMessageError
        for a message that is dropped."""
        received = time.perf_counter()
        settings = self.settings
        joints = self.accept(
            stamp_ns,
            lambda: decode_joints(positions, self.session.num_joints, settings.max_persons),
        )
        self.track(received, stamp_ns, [str(b) for b in range(len(joints))], joints)

    def on_bodies(self, stamp_ns: int, ids: list[str], bodies: list[np.ndarray]) -> None:
        """Accept one message of tracked people (ids from the upstream tracker, (V, 3) joint
        positions each) at capture time ``stamp_ns``; a person it does not hold has left.
        Raises SkeletonMessageError for a message that is dropped."""
        received = time.perf_counter()
        settings = self.settings
        joints = self.accept(
            stamp_ns,
            lambda: decode_bodies(ids, bodies, self.session.num_joints, settings.max_persons),
        )
        self.track(received, stamp_ns, list(ids), joints)

    def track(self, received: float, stamp_ns: int, ids: list[str], joints: np.ndarray) -> None:
        """Buffer each person's body (M, V, 3), announce who left, submit the windows due."""
        stamp = stamp_ns * 1e-9
        info, due = self.session.info, []
        window_seconds = effective_window_seconds(self.settings, info)
        self.leave([p for p in self.people if p not in ids], stamp_ns)
        if self.restart:  # every stream starts afresh; the people stay who they are
            self.people = {p: self.person_stream(stamp_ns) for p in self.people}
            self.restart = False
        for person, body in zip(ids, joints, strict=True):
            if np.isnan(body).all():
                continue  # not seen in this message
            if person not in self.people:
                self.people[person] = self.person_stream(stamp_ns)
            stream = self.people[person]
            stream.frames.push(stamp, body)
            if stamp - stream.last_trigger < self.settings.stride_seconds - STAMP_TOLERANCE:
                continue
            seconds = stream.history(window_seconds, info.window_spec.mode == "stream")
            if seconds is not None:
                stream.last_trigger = stamp
                stamps, frames = stream.frames.recent(seconds)
                start_ns = max(stamp_ns - round(seconds * 1e9), stream.first_ns)
                due.append((person, stream, (stamps, frames, seconds), start_ns))
        unseen = [
            p
            for p, s in self.people.items()
            if stamp - s.last_seen() > self.settings.person_timeout
        ]
        self.leave(unseen, stamp_ns)  # a returning body is a new person
        if due:
            item = (received, stamp_ns, due)
            if self.worker is None:
                self.classify(item)
            else:
                self.worker.submit(item)

    def classify(self, item: tuple[float, int, list]) -> None:
        """Run the model on the windows of every person due at one message, one batch."""
        received, end_ns, due = item
        end = end_ns * 1e-9
        info = self.session.info
        inputs = np.stack(
            [
                pad_bodies(
                    info.window_spec.from_timeline(stamps, frames, end, seconds), info.bodies
                )
                for _, _, (stamps, frames, seconds), _ in due
            ]
        )
        started = time.perf_counter()
        batch = self.session.probabilities(inputs)
        model_seconds = time.perf_counter() - started
        with self.announce:  # the people who left meanwhile get no decision after their departure
            decisions = []
            for (person, stream, _, start), probabilities in zip(due, batch, strict=True):
                if self.people.get(person) is not stream:
                    continue
                label = stream.smoother.update(probabilities)
                smoothed = stream.smoother.smoothed
                decisions.append(
                    Decision(
                        person,
                        label,
                        probabilities,
                        smoothed,
                        received,
                        model_seconds,
                        end_ns,
                        start,
                    )
                )
            if decisions:
                self.publish(decisions)
        self.inferences += len(due)
        self.model_latencies.append(model_seconds)
        self.latencies.append(time.perf_counter() - received)
        del self.latencies[:-1000]
        del self.model_latencies[:-1000]

    def leave(self, ids: list[str], stamp_ns: int) -> None:
        """``ids`` have left: their streams end and ``on_left`` says so (nothing if empty)."""
        if not ids:
            return
        with self.announce:
            for person in ids:
                del self.people[person]
            self.departures += len(ids)
            self.on_left(stamp_ns, list(ids))

    def leave_if_silent(self) -> None:
        """Everyone leaves once no message has come for ``person_timeout`` of wall-clock time
        (the input stopped), announced at the newest stamp; call it from a timer."""
        if self.people and time.perf_counter() - self.last_received > self.settings.person_timeout:
            self.leave(list(self.people), self.newest)

    def people_in_view(self) -> int:
        """People tracked, or 0 once no message has come for ``person_timeout`` of wall-clock
        time (the input stopped: nobody is known to be there)."""
        silent = time.perf_counter() - self.last_received
        return len(self.people) if silent <= self.settings.person_timeout else 0

    def statistics(self) -> dict[str, float | int]:
        """Counters and latency percentiles (ms) of the recent windows, peak RSS (MB)."""
        latency = np.array(self.latencies or [np.nan]) * 1000
        model = np.array(self.model_latencies or [np.nan]) * 1000
        wall = time.perf_counter() - self.first_received if self.first_received else 0.0
        return {
            "received": self.received,
            "accepted": self.accepted,
            "input_seconds": self.input_seconds,
            "wall_seconds": wall,
            **{f"dropped_{kind}": count for kind, count in sorted(self.dropped.items())},
            "dropped_total": sum(self.dropped.values()),
            "gap_resets": self.gap_resets,
            "stamp_resets": self.stamp_resets,
            "people": self.people_in_view(),
            "departures": self.departures,
            "inferences": self.inferences,
            "stale_windows": self.worker.stale if self.worker else 0,
            "inference_failures": self.worker.failed if self.worker else 0,
            "latency_p50_ms": float(np.percentile(latency, 50)),
            "latency_p90_ms": float(np.percentile(latency, 90)),
            "model_p50_ms": float(np.percentile(model, 50)),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        }

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()


def assess_health(
    previous: dict[str, float | int], current: dict[str, float | int]
) -> tuple[str, str]:
    """Level (``"ok"``, ``"warn"`` or ``"error"``) and a one-line message for what happened
    between two ``statistics()`` reports (``previous`` empty for the first one): failed
    inferences are an error; dropped messages, and windows skipped because the model is slower
    than the stride, are a warning. No input is not a problem: nobody may be in view."""

    def since(key: str) -> int:
        return int(current.get(key, 0) - previous.get(key, 0))

    def count(number: int, noun: str) -> str:
        return f"{number} {noun}{'' if number == 1 else 's'}"

    problems = []
    if failed := since("inference_failures"):
        problems.append(f"{count(failed, 'inference')} failed (see the log)")
    if dropped := since("dropped_total"):
        kinds = [
            f"{key.removeprefix('dropped_')}: {since(key)}"
            for key in current
            if key.startswith("dropped_") and key != "dropped_total" and since(key)
        ]
        problems.append(f"{count(dropped, 'message')} dropped ({', '.join(kinds)})")
    if skipped := since("stale_windows"):
        wall = current.get("wall_seconds", 0.0) - previous.get("wall_seconds", 0.0)
        advanced = current.get("input_seconds", 0.0) - previous.get("input_seconds", 0.0)
        speed = advanced / wall if wall > 0 else 0.0
        cause = (
            f"the input arrives {speed:.1f}× faster than real time (a bag played fast, or a "
            "burst of messages)"
            if speed > 1.5
            else "the model is slower than stride_seconds (raise it, or use a faster provider "
            "or an int8 model)"
        )
        problems.append(f"{count(skipped, 'window')} skipped: {cause}")
    if not problems:
        return "ok", f"{count(since('inferences'), 'inference')} since the last report"
    return ("error" if failed else "warn"), "; ".join(problems)
