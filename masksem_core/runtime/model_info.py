"""What an exported model says about itself: the one place that writes and reads the metadata
props of a MaskSem ONNX file (plain strings; lists as JSON)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace

from masksem_core.errors import MaskSemError

NORMALISATION = (
    "centred on the layout's centre joint of the first body's first valid frame; "
    "centre crop of 95 % of the valid frames, linearly resized to the window"
)
REQUIRED = ("class_names", "layout", "window", "segment_length")


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
            values.update(
                class_names=tuple(str(n) for n in names),
                window=int(meta["window"]),
                segment_length=int(meta["segment_length"]),
            )
        except (ValueError, TypeError) as err:
            raise ModelFileError(f"{where}: unreadable MaskSem metadata ({err})") from None
        return cls(**values)

    def with_precision(self, precision: str) -> ModelInfo:
        return replace(self, precision=precision)
