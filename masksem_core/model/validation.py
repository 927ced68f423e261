"""Input checks shared by every model entry point: one clear ValueError per kind of bad input."""

from __future__ import annotations

import torch


def check_skeleton_batch(
    x: torch.Tensor, num_joints: int, in_channels: int, segment_length: int, window: int
) -> None:
    """Raise ``ValueError`` unless ``x`` is a finite (B, M, T, V, C) float tensor of our layout."""
    expected = f"(B, M, T={window}, V={num_joints}, C={in_channels})"
    if x.ndim != 5:
        raise ValueError(
            f"expected a skeleton batch of shape {expected}, got rank {x.ndim} shape "
            f"{tuple(x.shape)}; add the body axis M (M=1 for one person)"
        )
    _, _, t, v, c = x.shape
    if v != num_joints or c != in_channels:
        raise ValueError(
            f"expected a skeleton batch of shape {expected}, got {tuple(x.shape)} "
            f"(V={v}, C={c}); the model was built for {num_joints} joints × {in_channels} channels"
        )
    if t % segment_length:
        raise ValueError(
            f"expected a skeleton batch of shape {expected}: T={t} is not divisible by the "
            f"segment length {segment_length}"
        )
    if t != window:
        raise ValueError(
            f"expected a skeleton batch of shape {expected}, got T={t}; resample windows to "
            f"{window} frames"
        )
    if not x.is_floating_point():
        raise ValueError(f"expected a floating-point skeleton batch, got dtype {x.dtype}")
    if not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()):
        if not torch.isfinite(x).all():
            bad = (~torch.isfinite(x)).nonzero()[0].tolist()
            raise ValueError(
                f"skeleton batch of shape {tuple(x.shape)} contains NaN/inf, first at index "
                f"(b, m, t, v, c)={tuple(bad)}; fill or drop missing joints before inference"
            )
