"""The model's input contract: which window of a skeleton stream the model sees.

A :class:`WindowSpec` is built once from the data config (:meth:`WindowSpec.from_data_config`),
stored whole in the exported model (one versioned JSON field) and read back by the runtime. It
alone turns a trimmed clip (:meth:`from_clip`) or a stamped timeline at a given time
(:meth:`from_timeline`) into the model's (M, frames, V, C) input, in training evaluation,
export, replay and the live recognizer alike. Numpy only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from masksem_core.errors import MaskSemError
from masksem_core.skeleton import get_layout
from masksem_core.windows import (
    MIN_LENGTH,
    TEST_RATIO,
    WINDOW,
    centre_sequence,
    evaluation_window,
    normalise_body,
    stream_window,
)

if TYPE_CHECKING:
    from masksem_core.config import DataConfig

SPEC_VERSION = 1
DEFAULT_FPS = 30.0  # Kinect's rate: what a model exported before the spec is assumed to have
WINDOW_MODES = ("clip", "stream")


class WindowSpecError(MaskSemError, ValueError):
    """A window specification that cannot be used, or input that does not fit it."""


@dataclass(frozen=True)
class WindowSpec:
    """Everything that decides the model's input window.

    clip mode (the paper's protocol): a trimmed action, centre-cropped to ``crop_ratio`` of its
    valid frames (at least ``min_crop_frames``) and linearly resized to ``frames``; from a live
    timeline, the history is first resampled by timestamp to the training data's ``fps``, so
    that a clip arriving at that rate is exactly the clip training evaluated. stream mode
    (deployment): the last ``seconds`` of the timeline resampled by timestamp to ``frames``.
    Both: centred on ``centre_joint`` (default: the layout's) of the first body's first valid
    frame, then rotated into the body's own frame (``normalise_view``) and scaled to unit torso
    length (``normalise_scale``).
    """

    layout: str
    mode: str = "clip"
    frames: int = WINDOW
    seconds: float = 0.0
    fps: float = DEFAULT_FPS
    crop_ratio: float = TEST_RATIO
    min_crop_frames: int = MIN_LENGTH
    centre_joint: str = ""
    normalise_view: bool = False
    normalise_scale: bool = False

    def __post_init__(self) -> None:
        layout = get_layout(self.layout)  # a clear error for an unknown layout
        if not self.centre_joint:
            object.__setattr__(self, "centre_joint", layout.centre_joint)
        if self.centre_joint not in layout.joint_names:
            raise WindowSpecError(f"layout {self.layout} has no centre joint {self.centre_joint!r}")
        if self.mode not in WINDOW_MODES:
            raise WindowSpecError(f"window mode must be one of {WINDOW_MODES}, got {self.mode!r}")
        if self.mode == "stream" and not self.seconds > 0:
            raise WindowSpecError("a stream window needs seconds > 0")
        if not self.fps > 0:
            raise WindowSpecError(f"fps must be > 0, got {self.fps}")
        if self.frames < 1 or not 0 < self.crop_ratio <= 1 or self.min_crop_frames < 1:
            raise WindowSpecError(
                f"frames ({self.frames}) and min_crop_frames ({self.min_crop_frames}) must be "
                f"≥ 1 and crop_ratio ({self.crop_ratio}) in (0, 1]"
            )

    @classmethod
    def from_data_config(cls, data: DataConfig, layout: str, fps: float) -> WindowSpec:
        """The window a run with this ``data`` config section evaluates on, over data of
        ``layout`` recorded at ``fps`` (the prepared dataset's)."""
        stream = data.window_mode == "stream"
        return cls(
            layout=layout,
            mode=data.window_mode,
            frames=data.window,
            seconds=data.window_seconds if stream else 0.0,
            fps=fps,
            crop_ratio=data.test_crop,
            min_crop_frames=data.min_crop_frames,
            normalise_view=data.normalise_view,
            normalise_scale=data.normalise_scale,
        )

    @property
    def num_joints(self) -> int:
        return get_layout(self.layout).num_joints

    def _check(self, sequence: np.ndarray, what: str, body_axis: int) -> None:
        shape = list(sequence.shape)
        if sequence.ndim != 4 or shape[2:] != [self.num_joints, 3] or shape[body_axis] < 1:
            order = "(M, T, V, 3)" if body_axis == 0 else "(T, M, V, 3)"
            raise WindowSpecError(
                f"{what}: expected {order} with V = {self.num_joints} (layout {self.layout}), "
                f"got {tuple(shape)}"
            )

    def _centre(self, sequence: np.ndarray) -> np.ndarray:
        return centre_sequence(sequence, get_layout(self.layout).index(self.centre_joint))

    def _normalise(self, window: np.ndarray) -> np.ndarray:
        layout = get_layout(self.layout)
        return normalise_body(window, layout, self.normalise_view, self.normalise_scale)

    def from_clip(self, sequence: np.ndarray) -> np.ndarray:
        """A trimmed clip (M, T, V, C) → the model's (M, frames, V, C) input (clip mode):
        centred, centre-cropped and resized, normalised."""
        self._check(sequence, "clip", 0)
        if self.mode != "clip":
            raise WindowSpecError(
                "a stream-mode model's window is a stretch of a timeline: use from_timeline"
            )
        cropped = evaluation_window(
            self._centre(sequence), self.frames, self.crop_ratio, self.min_crop_frames
        )
        return self._normalise(cropped)

    def from_timeline(
        self,
        stamps: np.ndarray,
        frames: np.ndarray,
        end: float,
        history_seconds: float | None = None,
    ) -> np.ndarray:
        """Frames (T, M, V, C) at ``stamps`` (s, increasing) → the model's input for the moment
        ``end``. Stream mode: the last ``seconds`` before ``end``, resampled by timestamp (the
        first frame held before the timeline begins). Clip mode: the last ``history_seconds``
        resampled by timestamp at ``fps``, then treated as a trimmed clip."""
        self._check(frames, "timeline", 1)
        if len(stamps) != len(frames):
            raise WindowSpecError(f"{len(stamps)} stamps for {len(frames)} frames")
        if self.mode == "stream":
            if history_seconds is not None and abs(history_seconds - self.seconds) > 1e-9:
                raise WindowSpecError(
                    f"a stream window spans the model's {self.seconds} s, not {history_seconds}"
                )
            window = stream_window(stamps, frames, end, self.seconds, self.frames)
            return self._normalise(self._centre(window))
        if history_seconds is None or not history_seconds > 0:
            raise WindowSpecError("a clip-mode window from a timeline needs history_seconds > 0")
        count = max(2, round(history_seconds * self.fps) + 1)
        return self.from_clip(stream_window(stamps, frames, end, history_seconds, count))

    def describe(self) -> str:
        """One line for logs and model cards."""
        if self.mode == "stream":
            span = f"the last {self.seconds:g} s of the stream resampled by timestamp"
        else:
            span = (
                f"centre crop of {self.crop_ratio:.0%} of the valid frames "
                f"(≥ {self.min_crop_frames}) linearly resized"
            )
        normalised = [
            name
            for name, on in (("view", self.normalise_view), ("scale", self.normalise_scale))
            if on
        ]
        body = f"; {' and '.join(normalised)} normalised" if normalised else ""
        return (
            f"{self.mode} windows of {self.frames} frames, layout {self.layout}: {span}; centred "
            f"on the first frame's {self.centre_joint}{body}"
        )

    def to_json(self) -> str:
        """One versioned JSON object (the ONNX metadata field ``window_spec``)."""
        return json.dumps({"version": SPEC_VERSION, **asdict(self)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, where: str) -> WindowSpec:
        """Read :meth:`to_json`'s output back; ``where`` names the source in errors."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as err:
            raise WindowSpecError(f"{where}: window_spec is not JSON ({err.msg})") from None
        if not isinstance(values, dict) or values.get("version") != SPEC_VERSION:
            version = values.get("version") if isinstance(values, dict) else None
            raise WindowSpecError(
                f"{where}: window_spec version {version}, this code reads {SPEC_VERSION}; "
                "update masksem or export the model again"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known - {"version"})
        if unknown:
            raise WindowSpecError(f"{where}: window_spec has unknown fields {unknown}")
        values.pop("version")
        try:
            return cls(**values)
        except (TypeError, ValueError) as err:
            raise WindowSpecError(f"{where}: unusable window_spec ({err})") from None
