"""Export a classifier (encoder + head, or the yardstick) to one self-contained ONNX file with
metadata, and check parity."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn

from masksem_core.atomic import atomic_path
from masksem_core.errors import MaskSemError
from masksem_core.model.transformer import attention_path
from masksem_core.runtime.model_info import ModelInfo

OPSET = 18


class ParityError(MaskSemError, RuntimeError):
    """The exported graph does not reproduce PyTorch within tolerance (exit code 3: the file
    was written but must not be used)."""

    exit_code = 3


ATTENTION_EXPORTS = {"standard": "matmul", "fused": "onnxruntime"}


def export_classifier(
    model: nn.Module,
    out: str | Path,
    info: ModelInfo,
    bodies: int = 1,
    opset: int = OPSET,
    attention: str = "standard",
) -> Path:
    """Write ``model`` (any module from (B, M, T, V, C) windows of ``info``'s window
    specification to logits) as ONNX: input ``skeleton`` (B, M, T, V, C), output ``logits`` (B, K);
    B and M dynamic; ``info`` becomes the file's metadata props.

    ``attention``: ``standard`` writes attention as plain ONNX MatMul/Softmax (any runtime);
    ``fused`` as ONNX Runtime's ``com.microsoft.MultiHeadAttention`` kernel (CPU and CUDA
    providers), faster on CPU but readable only by ONNX Runtime.
    """
    if attention not in ATTENTION_EXPORTS:
        raise ValueError(f"attention must be one of {sorted(ATTENTION_EXPORTS)}, got {attention!r}")
    out = Path(out)
    model = model.eval().float()
    spec = info.window_spec
    example = torch.zeros(2, bodies, spec.frames, spec.num_joints, 3)
    with (
        atomic_path(out) as tmp,
        warnings.catch_warnings(),
        attention_path(model, ATTENTION_EXPORTS[attention]),
    ):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=["skeleton"],
            output_names=["logits"],
            dynamic_axes={"skeleton": {0: "batch", 1: "bodies"}, "logits": {0: "batch"}},
            opset_version=opset,
            custom_opsets={"com.microsoft": 1} if attention == "fused" else None,
            dynamo=False,
        )
        graph = onnx.load(str(tmp))
        set_metadata(graph, info)
        onnx.checker.check_model(graph)
        onnx.save(graph, str(tmp))
    return out


def set_metadata(graph: onnx.ModelProto, info: ModelInfo) -> None:
    """Replace the graph's metadata props with ``info``'s."""
    del graph.metadata_props[:]
    for key, value in info.to_metadata().items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, value


def read_metadata(path: str | Path) -> ModelInfo:
    """The ModelInfo of an ONNX file, read with onnx (export side; the runtime uses ORT)."""
    graph = onnx.load(str(path), load_external_data=False)
    return ModelInfo.from_metadata({p.key: p.value for p in graph.metadata_props}, str(path))


def check_parity(model: nn.Module, session, windows: np.ndarray, tolerance: float = 1e-4) -> dict:
    """Compare PyTorch and ONNX Runtime logits on (B, M, T, V, C) windows; raise on mismatch."""
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(windows)).numpy()
    return compare_logits(expected, session.logits(windows), tolerance)


def compare_logits(expected: np.ndarray, got: np.ndarray, tolerance: float = 1e-4) -> dict:
    """The parity report of ``got`` (B, K) against ``expected``; ParityError on a mismatch."""
    max_diff = float(np.abs(expected - got).max())
    same_argmax = bool((expected.argmax(1) == got.argmax(1)).all())
    report = {"max_abs_diff": max_diff, "same_argmax": same_argmax, "windows": len(got)}
    if max_diff > tolerance or not same_argmax:
        raise ParityError(
            f"parity check failed, the ONNX file is not trustworthy: max |Δlogit| {max_diff:.2e} "
            f"(tolerance {tolerance:.0e}), same argmax: {same_argmax}"
        )
    return report
