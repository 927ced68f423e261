"""Reconstruction targets: velocity and acceleration of the input (paper eq. 12)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from masksem_core.model.embedding import segment_tokens

TARGETS = ("velocity", "acceleration", "hybrid")


def velocity(x: torch.Tensor) -> torch.Tensor:
    """M^v_i = S_{i+1} − S_i along time (eq. 12); the last frame is 0. (N, T, V, C) → same."""
    return F.pad(x[:, 1:] - x[:, :-1], (0, 0, 0, 0, 0, 1))


def acceleration(x: torch.Tensor) -> torch.Tensor:
    """M^a_i = M^v_{i+1} − M^v_i (eq. 12) on the T−1 true velocities; the last 2 frames are 0."""
    v = x[:, 1:] - x[:, :-1]
    return F.pad(v[:, 1:] - v[:, :-1], (0, 0, 0, 0, 0, 2))


def standardise_tokens(tokens: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """MAMP's target normalisation: each token's l·C values to zero mean and unit (unbiased)
    variance, ``(M − mean) / sqrt(var + eps)``. (N, L, l·C) → same."""
    mean = tokens.mean(dim=-1, keepdim=True)
    var = tokens.var(dim=-1, keepdim=True)
    return (tokens - mean) / (var + eps).sqrt()


def motion_targets(
    sequences: torch.Tensor, target: str, segment_length: int, standardise: bool = True
) -> dict[str, torch.Tensor]:
    """Per-token targets {"velocity"?, "acceleration"?}: (N, T, V, C) → each (N, L, l·C).

    Eq. 12 per token; ``standardise`` applies MAMP's per-token normalisation (the default)."""
    if target not in TARGETS:
        raise ValueError(f"unknown reconstruction target {target!r}; choose one of {TARGETS}")
    kinds = ("velocity", "acceleration") if target == "hybrid" else (target,)
    functions = {"velocity": velocity, "acceleration": acceleration}
    out = {}
    for kind in kinds:
        tokens = segment_tokens(functions[kind](sequences), segment_length).flatten(1, 2)
        out[kind] = standardise_tokens(tokens) if standardise else tokens
    return out
