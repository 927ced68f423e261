"""Reduced-precision ONNX variants for CPU inference."""

from __future__ import annotations

from pathlib import Path


def quantise_dynamic_int8(src: str | Path, out: str | Path) -> Path:
    """Dynamic int8 quantisation of MatMul/Gemm weights (activations quantised at run time)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    quantize_dynamic(
        str(src), str(tmp), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"]
    )
    model = onnx.load(str(tmp))
    source = onnx.load(str(src), load_external_data=False)
    del model.metadata_props[:]
    model.metadata_props.extend(source.metadata_props)
    entry = model.metadata_props.add()
    entry.key, entry.value = "precision", "int8-dynamic"
    onnx.save(model, str(tmp))
    tmp.replace(out)
    return out
