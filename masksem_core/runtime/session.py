"""ONNX Runtime session for MaskSem classifiers: providers, metadata, input validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from masksem_core.runtime.model_info import ModelFileError, ModelInfo

PROVIDER_PREFERENCE = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
__all__ = ["ActionSession", "ModelFileError", "ModelInfo", "choose_providers"]


def choose_providers(requested: list[str] | None = None) -> list[str]:
    """TensorRT → CUDA → CPU among those this onnxruntime build offers (or the requested)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    wanted = requested or list(PROVIDER_PREFERENCE)
    unknown = [p for p in wanted if p not in available]
    if requested and unknown:
        raise ModelFileError(
            f"providers {unknown} are not available in this onnxruntime build; "
            f"available: {available}"
        )
    chosen = [p for p in wanted if p in available]
    return chosen or ["CPUExecutionProvider"]


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
        if not self.path.is_file():
            raise ModelFileError(
                f"model file {self.path} does not exist; export one with "
                "python training/export_onnx.py --checkpoint CKPT --out FILE.onnx"
            )
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
        chosen = choose_providers(providers)
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=chosen)
        except Exception as err:  # ort raises its own InvalidProtobuf, Fail, NoSuchFile, ...
            raise ModelFileError(
                f"{self.path} is not a loadable ONNX model ({type(err).__name__}: "
                f"{str(err).splitlines()[0][:160]})"
            ) from None
        self.info = ModelInfo.from_metadata(
            self.session.get_modelmeta().custom_metadata_map, str(self.path)
        )
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        in_shape, out_shape = inputs[0].shape, outputs[0].shape
        if len(in_shape) != 5 or len(out_shape) != 2:
            raise ModelFileError(
                f"{self.path}: expected input (B, M, T, V, C) and output (B, K), got "
                f"ranks {len(in_shape)} and {len(out_shape)}"
            )
        classes = out_shape[1]
        if classes != len(self.info.class_names):
            raise ModelFileError(
                f"{self.path}: the model outputs {classes} classes but its metadata "
                f"lists {len(self.info.class_names)} class names"
            )
        self.num_joints, self.channels = int(in_shape[3]), int(in_shape[4])
        if self.num_joints != self.info.window_spec.num_joints:
            raise ModelFileError(
                f"{self.path}: the model takes {self.num_joints} joints but its window "
                f"specification names layout {self.info.window_spec.layout} "
                f"({self.info.window_spec.num_joints} joints)"
            )
        self.provider = self.session.get_providers()[0]

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.info.class_names

    def validate(self, windows: np.ndarray) -> np.ndarray:
        """Return ``windows`` as float32 (B, M, T, V, C) or raise a ValueError saying what's off."""
        info = self.info
        expected = f"(B, M, {info.window_spec.frames}, {self.num_joints}, {self.channels})"
        if not isinstance(windows, np.ndarray):
            raise ValueError(f"expected a numpy array {expected}, got {type(windows).__name__}")
        if windows.ndim != 5 or windows.shape[2:] != (
            info.window_spec.frames,
            self.num_joints,
            self.channels,
        ):
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
        """Class probabilities, softmax(logits / T) with the model's calibrated temperature."""
        logits = self.logits(windows) / self.info.temperature
        shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def warm_up(self, bodies: int = 1) -> None:
        """Run one window of zeros so the first live window does not pay for memory-arena
        allocation and kernel selection."""
        info = self.info
        self.logits(
            np.zeros(
                (1, bodies, info.window_spec.frames, self.num_joints, self.channels), np.float32
            )
        )
