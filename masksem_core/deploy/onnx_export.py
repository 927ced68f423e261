"""Export encoder + head to one self-contained ONNX file with metadata, and check parity."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch

from masksem_core.errors import MaskSemError
from masksem_core.model import ActionClassifier

OPSET = 18
NORMALISATION = (
    "centred on the layout's centre joint of the first body's first valid frame; "
    "centre crop of 95 % of the valid frames, linearly resized to the window"
)


class ParityError(MaskSemError, RuntimeError):
    """The exported graph does not reproduce PyTorch within tolerance."""


def export_classifier(
    model: ActionClassifier, out: str | Path, metadata: dict, bodies: int = 1, opset: int = OPSET
) -> Path:
    """Write ``model`` as ONNX: input ``skeleton`` (B, M, T, V, C), output ``logits`` (B, K);
    B and M dynamic; ``metadata`` becomes string metadata props (lists/dicts as JSON)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().float()
    enc = model.encoder
    example = torch.zeros(2, bodies, enc.window, enc.num_joints, enc.in_channels)
    tmp = out.with_name(out.name + ".tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example,),
            str(tmp),
            input_names=["skeleton"],
            output_names=["logits"],
            dynamic_axes={"skeleton": {0: "batch", 1: "bodies"}, "logits": {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )
    graph = onnx.load(str(tmp))
    for key, value in metadata.items():
        entry = graph.metadata_props.add()
        entry.key = key
        entry.value = value if isinstance(value, str) else json.dumps(value)
    onnx.checker.check_model(graph)
    onnx.save(graph, str(tmp))
    tmp.replace(out)
    return out


def check_parity(
    model: ActionClassifier, session, windows: np.ndarray, tolerance: float = 1e-4
) -> dict:
    """Compare PyTorch and ONNX Runtime logits on (B, M, T, V, C) windows; raise on mismatch."""
    with torch.no_grad():
        expected = model.eval()(torch.from_numpy(windows)).numpy()
    got = session.logits(windows)
    max_diff = float(np.abs(expected - got).max())
    same_argmax = bool((expected.argmax(1) == got.argmax(1)).all())
    report = {"max_abs_diff": max_diff, "same_argmax": same_argmax, "windows": len(windows)}
    if max_diff > tolerance or not same_argmax:
        raise ParityError(
            f"ONNX export does not match PyTorch: max |Δlogit| {max_diff:.2e} "
            f"(tolerance {tolerance:.0e}), same argmax: {same_argmax}"
        )
    return report
