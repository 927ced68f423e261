"""What an exported model says about itself: the one place that writes and reads the metadata
props of a MaskSem ONNX file (plain strings; lists as JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from masksem_core.errors import MaskSemError
from masksem_core.runtime.decision_rule import DECISION_RULES

NORMALISATION = (
    "centred on the layout's centre joint of the first body's first valid frame; "
    "centre crop of 95 % of the valid frames, linearly resized to the window"
)
STREAM_NORMALISATION = (
    "the last window_seconds of the stream resampled by timestamp to the window (the first "
    "frame held before the stream starts); centred on the layout's centre joint of the first "
    "body's first valid frame"
)
REQUIRED = ("class_names", "layout", "window", "segment_length")
WINDOW_MODES = ("clip", "stream")


class ModelFileError(MaskSemError, ValueError):
    """An ONNX file that is missing, not ONNX, or inconsistent with its metadata."""


@dataclass(frozen=True)
class ModelInfo:
    class_names: tuple[str, ...]
    layout: str
    window: int
    segment_length: int
    normalisation: str = NORMALISATION
    dataset: str = ""
    experiment: str = ""
    source_checkpoint: str = ""
    precision: str = "fp32"
    producer: str = "masksem"
    window_mode: str = "clip"  # clip: trimmed clips resized; stream: a fixed stretch of time
    window_seconds: float = 0.0  # stream mode: the timeline one window covers
    bodies: int = 0  # bodies per input in training (absent ones zero); 0: as present
    temperature: float = 1.0  # probabilities = softmax(logits / temperature), calibrated
    score_threshold: float = -1.0  # calibrated decision threshold; < 0: none chosen
    background_class: str = ""  # the class that means "no action", if the model has one
    decision_rule: str = "top_class"  # how probabilities name an action (decision_rule.py)
    view_normalisation: bool = False  # windows rotated into the body's own frame
    scale_normalisation: bool = False  # windows divided by the torso length

    def __post_init__(self) -> None:
        if self.window_mode not in WINDOW_MODES:
            raise ModelFileError(
                f"window_mode must be one of {WINDOW_MODES}, got {self.window_mode!r}"
            )
        if self.window_mode == "stream" and not self.window_seconds > 0:
            raise ModelFileError("a stream-mode model needs window_seconds > 0")
        if self.background_class and self.background_class not in self.class_names:
            raise ModelFileError(f"background class {self.background_class!r} is not a class")
        if self.decision_rule not in DECISION_RULES:
            raise ModelFileError(
                f"decision_rule must be one of {DECISION_RULES}, got {self.decision_rule!r}"
            )
        if self.decision_rule == "action_mass" and not self.background_class:
            raise ModelFileError("decision_rule action_mass needs a background class")

    def to_metadata(self) -> dict[str, str]:
        """String metadata props for the ONNX file."""
        values = asdict(self)
        values["class_names"] = json.dumps(list(self.class_names))
        return {key: str(value) for key, value in values.items()}

    @classmethod
    def from_metadata(cls, meta: dict[str, str], where: str) -> ModelInfo:
        """Read the props back; ``where`` (the file) names the model in errors."""
        missing = [key for key in REQUIRED if key not in meta]
        if missing:
            raise ModelFileError(
                f"{where} lacks MaskSem metadata {missing}; export it with training/export_onnx.py"
            )
        try:
            names = json.loads(meta["class_names"])
            values = {key: meta[key] for key in cls.__dataclass_fields__ if key in meta}
            numbers = {k: v for k, v in NUMBERS.items() if k in meta}
            values.update({key: kind(meta[key]) for key, kind in numbers.items()})
            values["class_names"] = tuple(str(n) for n in names)
        except (ValueError, TypeError) as err:
            raise ModelFileError(f"{where}: unreadable MaskSem metadata ({err})") from None
        return cls(**values)

    def with_precision(self, precision: str) -> ModelInfo:
        return replace(self, precision=precision)


NUMBERS = {
    "window": int,
    "segment_length": int,
    "window_seconds": float,
    "bodies": int,
    "temperature": float,
    "score_threshold": float,
    "view_normalisation": lambda value: value == "True",
    "scale_normalisation": lambda value: value == "True",
}
