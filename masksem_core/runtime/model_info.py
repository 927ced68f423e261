"""What an exported model says about itself: the one place that writes and reads the metadata
props of a MaskSem ONNX file (plain strings; lists and the window specification as JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace

from masksem_core.errors import MaskSemError
from masksem_core.runtime.decision_rule import DECISION_RULES
from masksem_core.window_spec import WindowSpec, WindowSpecError

REQUIRED = ("class_names", "segment_length")
LEGACY_NOTE = (
    "exported before the window specification: its evaluation crop ratio, minimum crop length "
    "and frame rate are not recorded, the defaults {crop}, {length} and {fps:g} Hz are "
    "assumed{effect}; export it again to record them"
)


class ModelFileError(MaskSemError, ValueError):
    """An ONNX file that is missing, not ONNX, or inconsistent with its metadata."""


@dataclass(frozen=True)
class ModelInfo:
    class_names: tuple[str, ...]
    window_spec: WindowSpec  # the model's input contract (masksem_core/window_spec.py)
    segment_length: int
    dataset: str = ""
    experiment: str = ""
    init: str = ""  # what the encoder was initialised from (a checkpoint, or "scratch")
    source_checkpoint: str = ""
    precision: str = "fp32"
    producer: str = "masksem"
    bodies: int = 0  # bodies per input in training (absent ones zero); 0: as present
    temperature: float = 1.0  # probabilities = softmax(logits / temperature), calibrated
    score_threshold: float = -1.0  # calibrated decision threshold; < 0: none chosen
    background_class: str = ""  # the class that means "no action", if the model has one
    decision_rule: str = "top_class"  # how probabilities name an action (decision_rule.py)
    notes: tuple[str, ...] = ()  # what the file lacks (read back, never written)

    def __post_init__(self) -> None:
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
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "notes"}
        values["class_names"] = json.dumps(list(self.class_names))
        values["window_spec"] = self.window_spec.to_json()
        return {key: str(value) for key, value in values.items()}

    @classmethod
    def from_metadata(cls, meta: dict[str, str], where: str) -> ModelInfo:
        """Read the props back; ``where`` (the file) names the model in errors. A model exported
        before the window specification loads with a note of what it lacks."""
        missing = [key for key in REQUIRED if key not in meta]
        if "window_spec" not in meta:
            missing += [key for key in ("layout", "window") if key not in meta]
        if missing:
            raise ModelFileError(
                f"{where} lacks MaskSem metadata {missing}; export it with training/export_onnx.py"
            )
        try:
            spec, notes = window_spec_of(meta, where)
            values = {key: meta[key] for key in SCALARS if key in meta}
            values.update({key: kind(meta[key]) for key, kind in NUMBERS.items() if key in meta})
            names = tuple(str(n) for n in json.loads(meta["class_names"]))
        except (ValueError, TypeError) as err:
            raise ModelFileError(f"{where}: unreadable MaskSem metadata ({err})") from None
        return cls(class_names=names, window_spec=spec, notes=notes, **values)

    def with_precision(self, precision: str) -> ModelInfo:
        return replace(self, precision=precision)


def window_spec_of(meta: dict[str, str], where: str) -> tuple[WindowSpec, tuple[str, ...]]:
    """The stored window specification, or one rebuilt from a legacy model's props (with the
    note of what it lacks)."""
    if "window_spec" in meta:
        try:
            return WindowSpec.from_json(meta["window_spec"], where), ()
        except WindowSpecError as err:
            raise ModelFileError(str(err)) from None
    mode = meta.get("window_mode", "clip")
    spec = WindowSpec(
        layout=meta["layout"],
        mode=mode,
        frames=int(meta["window"]),
        seconds=float(meta.get("window_seconds", 0.0)) if mode == "stream" else 0.0,
        normalise_view=meta.get("view_normalisation") == "True",
        normalise_scale=meta.get("scale_normalisation") == "True",
    )
    effect = (
        " (they do not matter: a stream window is neither cropped nor resampled at a rate)"
        if mode == "stream"
        else ""
    )
    note = LEGACY_NOTE.format(
        crop=spec.crop_ratio, length=spec.min_crop_frames, fps=spec.fps, effect=effect
    )
    return spec, (note,)


SCALARS = (
    "dataset",
    "experiment",
    "init",
    "source_checkpoint",
    "precision",
    "producer",
    "background_class",
    "decision_rule",
)
NUMBERS = {
    "segment_length": int,
    "bodies": int,
    "temperature": float,
    "score_threshold": float,
}
