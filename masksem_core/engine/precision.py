"""Mixed precision: the autocast context of a run's ``precision`` setting."""

from __future__ import annotations

import torch

from masksem_core.errors import ConfigError


def autocast(precision: str, device: torch.device) -> torch.autocast:
    """bf16/fp16 autocast where asked for (``auto``: bf16 on a CUDA GPU that supports it)."""
    if precision == "auto":
        precision = "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    if precision not in ("fp32", "bf16", "fp16"):
        raise ConfigError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError("fp16 autocast needs a CUDA device; use bf16 or fp32 on CPU")
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype, enabled=precision != "fp32")
