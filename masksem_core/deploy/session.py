"""ONNX Runtime session for MaskSem classifiers: providers, metadata, input validation."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from masksem_core.errors import MaskSemError

PROVIDER_PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
REQUIRED_METADATA = ("class_names", "layout", "window", "segment_length")


class ModelFileError(MaskSemError, ValueError):
    """An ONNX file that is missing, not ONNX, or inconsistent with its metadata."""


@dataclass(frozen=True)
class ModelInfo:
    class_names: tuple[str, ...]
    layout: str
    window: int
    segment_length: int
    num_joints: int
    channels: int
    metadata: dict


def choose_providers(requested: list[str] | None = None) -> list[str]:
    """TensorRT → CUDA → CPU among those this onnxruntime build offers (or the requested)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted = requested or list(PROVIDER_PREFERENCE)
    unknown = [p for p in wanted if p not in available]
    if requested and unknown:
        raise ValueError(
            f"providers {unknown} are not available in this onnxruntime build; "
            f"available: {available}"
        )
    chosen = [p for p in wanted if p in available]
    return chosen or ["CPUExecutionProvider"]


def read_model_info(path: str | Path) -> ModelInfo:
    """Read and check an exported model's metadata without starting a session."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(
            f"model file {path} does not exist; export one with "
            "python training/export_onnx.py --checkpoint CKPT --out FILE.onnx"
        )
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # protobuf raises DecodeError and others for non-ONNX bytes
        raise ModelFileError(f"{path} is not an ONNX model ({type(err).__name__})") from None
    if not model.graph.input or not model.graph.output:
        raise ModelFileError(f"{path} is not an ONNX model (no graph inputs/outputs)")
    meta = {p.key: p.value for p in model.metadata_props}
    missing = [k for k in REQUIRED_METADATA if k not in meta]
    if missing:
        raise ModelFileError(
            f"{path} lacks MaskSem metadata {missing}; export it with training/export_onnx.py"
        )
    class_names = tuple(json.loads(meta["class_names"]))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    out_dims = model.graph.output[0].type.tensor_type.shape.dim
    if len(dims) != 5 or len(out_dims) != 2:
        raise ModelFileError(
            f"{path}: expected input (B, M, T, V, C) and output (B, K), got "
            f"ranks {len(dims)} and {len(out_dims)}"
        )
    classes = out_dims[1].dim_value
    if classes != len(class_names):
        raise ModelFileError(
            f"{path}: the model outputs {classes} classes but its metadata "
            f"lists {len(class_names)} class names"
        )
    return ModelInfo(
        class_names,
        meta["layout"],
        int(meta["window"]),
        int(meta["segment_length"]),
        dims[3].dim_value,
        dims[4].dim_value,
        meta,
    )


class ActionSession:
    """A validated ONNX Runtime session: ``logits``/``probabilities`` of (B, M, T, V, C) windows."""

    def __init__(
        self,
        path: str | Path,
        providers: list[str] | None = None,
        threads: int | None = None,
        optimisation: str = "all",
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        self.info = read_model_info(self.path)
        options = ort.SessionOptions()
        levels = {
            "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }
        if optimisation not in levels:
            raise ValueError(f"optimisation must be one of {sorted(levels)}, got {optimisation!r}")
        options.graph_optimization_level = levels[optimisation]
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(self.path), options, providers=choose_providers(providers)
        )
        self.provider = self.session.get_providers()[0]

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info.class_names

    def validate(self, windows: np.ndarray) -> np.ndarray:
        """Return ``windows`` as float32 (B, M, T, V, C) or raise a ValueError saying what's off."""
        info = self.info
        expected = f"(B, M, {info.window}, {info.num_joints}, {info.channels})"
        if not isinstance(windows, np.ndarray):
            raise ValueError(f"expected a numpy array {expected}, got {type(windows).__name__}")
        if windows.ndim != 5 or windows.shape[2:] != (info.window, info.num_joints, info.channels):
            raise ValueError(f"{self.path.name}: expected input {expected}, got {windows.shape}")
        if not np.issubdtype(windows.dtype, np.floating):
            raise ValueError(f"{self.path.name}: expected float32 input, got {windows.dtype}")
        if not np.isfinite(windows).all():
            raise ValueError(
                f"{self.path.name}: input contains NaN/inf; fill or drop missing joints first"
            )
        return np.ascontiguousarray(windows, dtype=np.float32)

    def logits(self, windows: np.ndarray) -> np.ndarray:
        return self.session.run(["logits"], {"skeleton": self.validate(windows)})[0]

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        logits = self.logits(windows)
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def warm_up(self, bodies: int = 1) -> None:
        """Run one window of zeros so the first live window does not pay for memory-arena
        allocation and kernel selection."""
        info = self.info
        self.logits(np.zeros((1, bodies, info.window, info.num_joints, info.channels), np.float32))
