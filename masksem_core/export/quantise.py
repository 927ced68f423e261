"""Reduced-precision ONNX variants for CPU inference."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

from masksem_core.atomic import atomic_path
from masksem_core.export.onnx_export import read_metadata, set_metadata


def quantise_dynamic_int8(src: str | Path, out: str | Path) -> Path:
    """Dynamic int8 quantisation of MatMul/Gemm weights (activations quantised at run time);
    the metadata is the source's with precision ``int8-dynamic``."""
    with atomic_path(out) as tmp:
        quantize_dynamic(
            str(src), str(tmp), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"]
        )
        model = onnx.load(str(tmp))
        set_metadata(model, read_metadata(src).with_precision("int8-dynamic"))
        onnx.save(model, str(tmp))
    return Path(out)
