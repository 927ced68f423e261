"""The AdamW optimiser, its parameter groups and the per-iteration warm-up + cosine schedule."""

from __future__ import annotations

import math

import torch
from torch import nn

NO_DECAY_NAMES = ("positional_embedding", "mask_token")


def warmup_cosine_factor(step: int, warmup_steps: int, total_steps: int, min_ratio: float) -> float:
    """Linear 0 → 1 over ``warmup_steps``, then cosine 1 → ``min_ratio`` at ``total_steps``."""
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def warmup_cosine_scheduler(
    optimizer: torch.optim.Optimizer,
    warmup_steps: int,
    total_steps: int,
    base_lr: float,
    min_lr: float,
) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-iteration LambdaLR applying ``warmup_cosine_factor`` to every group's lr."""
    ratio = min_lr / base_lr if base_lr > 0 else 0.0
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_cosine_factor(step, warmup_steps, total_steps, ratio)
    )


def encoder_layer_id(name: str, depth: int) -> int:
    """0 for embeddings, i + 1 for block i, depth + 1 for the final norm and anything after."""
    if "joint_embedding" in name or "positional_embedding" in name:
        return 0
    marker = "transformer.blocks."
    if marker in name:
        return int(name.split(marker, 1)[1].split(".", 1)[0]) + 1
    return depth + 1


def parameter_groups(
    model: nn.Module, weight_decay: float, layer_decay: float | None = None, depth: int = 0
) -> list[dict]:
    """AdamW groups: no weight decay on biases, norms and embeddings-as-parameters; optional
    layer-wise lr decay (scale = layer_decay^(depth + 1 − layer id)) stored as ``lr_scale``."""
    groups: dict[tuple[int, bool], dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        no_decay = param.ndim <= 1 or any(key in name for key in NO_DECAY_NAMES)
        layer = encoder_layer_id(name, depth) if layer_decay is not None else depth + 1
        scale = layer_decay ** (depth + 1 - layer) if layer_decay is not None else 1.0
        group = groups.setdefault(
            (layer, no_decay),
            {"params": [], "weight_decay": 0.0 if no_decay else weight_decay, "lr_scale": scale},
        )
        group["params"].append(param)
    return list(groups.values())


def build_adamw(groups: list[dict], lr: float, betas: tuple[float, float]) -> torch.optim.AdamW:
    """AdamW over ``groups``, with PyTorch's fused kernel (one multi-tensor update on CPU and
    CUDA instead of a Python loop over parameters; same update to float tolerance) wherever
    every parameter is a floating-point tensor on a device it supports."""
    params = [p for group in groups for p in group["params"]]
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point for p in params)
    return torch.optim.AdamW(groups, lr=lr, betas=betas, fused=fused or None)


def apply_lr_scales(optimizer: torch.optim.Optimizer) -> None:
    """Multiply each group's initial lr by its ``lr_scale`` (before creating the scheduler)."""
    for group in optimizer.param_groups:
        group["lr"] = group["lr"] * group.get("lr_scale", 1.0)
        group["initial_lr"] = group["lr"]
