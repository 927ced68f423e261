"""The live recognition pipeline without ROS: message → per-person buffer → window → model →
threshold and smoothing → decision, with stride gating and statistics. The ROS node only
converts messages and publishes what this decides."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from masksem_core.errors import ConfigError
from masksem_core.runtime.live import (
    DecisionSmoother,
    LatestOnlyWorker,
    SkeletonMessageError,
    TimedSkeletonBuffer,
    decode_joints,
)
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.runtime.preprocess import inference_window, pad_bodies
from masksem_core.runtime.session import ActionSession


@dataclass(frozen=True)
class LiveSettings:
    """What the pipeline does with a stream; every field can change while it runs except
    ``max_persons`` (the buffer's shape)."""

    window_seconds: float = 0.0  # history classified each time (0: the model's)
    stride_seconds: float = 0.5  # message time between two classifications
    score_threshold: float = -1.0  # below: no_action_label (< 0: the model's calibrated one)
    smoothing_window: int = 3  # majority vote over the last decisions (1 = none)
    no_action_label: str = "no action"
    max_persons: int = 2  # bodies accepted per message
    person_timeout: float = 1.0  # a body unseen this long leaves the window
    max_gap_seconds: float = 2.0  # a larger gap between stamps restarts the history

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


CLIP_WINDOW_SECONDS = 4.0  # the history a clip-mode model classifies unless told otherwise
UNCALIBRATED_THRESHOLD = 0.5


def effective_window_seconds(settings: LiveSettings, info: ModelInfo) -> float:
    """A stream-mode model's windows span the time it was trained on, whatever the settings say
    (a different non-zero value is an error); a clip-mode model's span the setting (default
    4 s)."""
    if info.window_mode == "stream":
        if settings.window_seconds and abs(settings.window_seconds - info.window_seconds) > 1e-6:
            raise ConfigError(
                f"window_seconds={settings.window_seconds} but the model was trained on "
                f"{info.window_seconds} s stream windows; leave window_seconds at 0"
            )
        return info.window_seconds
    return settings.window_seconds or CLIP_WINDOW_SECONDS


def effective_threshold(settings: LiveSettings, info: ModelInfo) -> float:
    """The setting when ≥ 0, else the model's calibrated threshold (0.5 when it has none)."""
    if settings.score_threshold >= 0:
        return settings.score_threshold
    return info.score_threshold if info.score_threshold >= 0 else UNCALIBRATED_THRESHOLD


@dataclass(frozen=True)
class Decision:
    label: str
    probabilities: np.ndarray  # (K,) in the model's class order
    received: float  # perf_counter when the window's last message arrived
    model_seconds: float
    stamp: float  # capture time of the window's last frame (s)
    window_start: float  # capture time the window starts at (s)


class LiveRecognizer:
    """Feed ``on_message(stamp, positions)``; every ``stride_seconds`` of message time the last
    window is classified (on a worker thread that keeps only the newest window when
    ``background``) and ``publish(decision)`` is called."""

    def __init__(
        self,
        session: ActionSession,
        settings: LiveSettings,
        publish: Callable[[Decision], None],
        on_error: Callable[[BaseException], None],
        background: bool = True,
    ) -> None:
        self.session = session
        self.settings = settings
        self.publish = publish
        info = session.info
        self.buffer = TimedSkeletonBuffer(
            effective_window_seconds(settings, info),
            settings.max_gap_seconds,
            settings.max_persons,
            session.num_joints,
            settings.person_timeout,
        )
        self.smoother = DecisionSmoother(
            session.class_names,
            effective_threshold(settings, info),
            settings.smoothing_window,
            settings.no_action_label,
            info.background_class,
        )
        self.last_trigger = -np.inf
        self.dropped: dict[str, int] = {}
        self.latencies: list[float] = []  # last message of a window → decision published (s)
        self.model_latencies: list[float] = []
        self.inferences = 0
        self.worker = LatestOnlyWorker(self.classify, on_error) if background else None

    def update(self, settings: LiveSettings) -> None:
        """Apply new settings to the running pipeline (``max_persons`` needs a restart)."""
        if settings.max_persons != self.settings.max_persons:
            raise ConfigError("max_persons cannot change while running; restart the recognizer")
        buffer, smoother, info = self.buffer, self.smoother, self.session.info
        buffer.window_seconds = effective_window_seconds(settings, info)
        buffer.max_gap_seconds = settings.max_gap_seconds
        buffer.person_timeout = settings.person_timeout
        smoother.threshold = effective_threshold(settings, info)
        smoother.window = settings.smoothing_window
        smoother.no_action_label = settings.no_action_label
        self.settings = settings

    def on_message(self, stamp: float, positions: np.ndarray) -> None:
        """Accept one message of (V·M, 3) joint positions at capture time ``stamp`` (s); raises
        SkeletonMessageError (counted by its kind) for a message that is dropped."""
        received = time.perf_counter()
        buffer = self.buffer
        gaps = buffer.stats.resets_after_gap
        try:
            joints = decode_joints(positions, buffer.num_joints, self.settings.max_persons)
            buffer.push(stamp, joints)
        except SkeletonMessageError as err:
            self.dropped[err.kind] = self.dropped.get(err.kind, 0) + 1
            raise
        if buffer.stats.resets_after_gap != gaps or len(buffer.stamps) == 1:
            self.restart(stamp)  # a new stream: nothing of the previous one carries over
        if stamp - self.last_trigger >= self.settings.stride_seconds:
            info = self.session.info
            window = buffer.window(info.window, hold_before_start=info.window_mode == "stream")
            if window is not None:
                self.last_trigger = stamp
                start = stamp - min(buffer.window_seconds, buffer.covered_seconds())
                if info.window_mode == "stream":
                    start = stamp - buffer.window_seconds
                item = (received, window, start, stamp)
                if self.worker is None:
                    self.classify(item)
                else:
                    self.worker.submit(item)

    def restart(self, stamp: float) -> None:
        """Forget the smoothing history and the stride phase: the stream starts at ``stamp``."""
        self.smoother.reset()
        self.last_trigger = stamp

    def classify(self, item: tuple[float, np.ndarray, float, float]) -> None:
        received, window, start, end = item  # window: (M, T, V, 3)
        info = self.session.info
        model_input = inference_window(window, info.layout, info.window, info.window_mode)
        model_input = pad_bodies(model_input, info.bodies)
        started = time.perf_counter()
        probabilities = self.session.probabilities(model_input[None])[0]
        model_seconds = time.perf_counter() - started
        label = self.smoother.update(probabilities)
        self.publish(Decision(label, probabilities, received, model_seconds, end, start))
        self.inferences += 1
        self.model_latencies.append(model_seconds)
        self.latencies.append(time.perf_counter() - received)
        del self.latencies[:-1000]
        del self.model_latencies[:-1000]

    def statistics(self) -> dict[str, float | int]:
        """Counters and latency percentiles (ms) of the recent windows, peak RSS (MB)."""
        latency = np.array(self.latencies or [np.nan]) * 1000
        model = np.array(self.model_latencies or [np.nan]) * 1000
        stats = self.buffer.stats
        return {
            "accepted": stats.accepted,
            **{f"dropped_{kind}": count for kind, count in sorted(self.dropped.items())},
            "dropped_total": sum(self.dropped.values()),
            "gap_resets": stats.resets_after_gap,
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
        problems.append(
            f"{count(skipped, 'window')} skipped: the model is slower than stride_seconds "
            "(raise it, or use a faster provider or an int8 model)"
        )
    if not problems:
        return "ok", f"{count(since('inferences'), 'inference')} since the last report"
    return ("error" if failed else "warn"), "; ".join(problems)
