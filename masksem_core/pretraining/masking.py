"""Masking distributions and Gumbel top-k token selection (paper eqs. 8–9, MAMP, random)."""

from __future__ import annotations

import torch

from masksem_core.model.embedding import segment_tokens
from masksem_core.pretraining.targets import velocity


def num_kept_tokens(num_tokens: int, mask_ratio: float) -> int:
    """int(L·(1−δ)) tokens enter the online encoder (74 for L = 750, δ = 0.9, as MAMP)."""
    if not 0.0 <= mask_ratio < 1.0:
        raise ValueError(f"mask ratio δ must be in [0, 1), got {mask_ratio}")
    return max(1, int(num_tokens * (1 - mask_ratio)))


def semantic_masking_log_distribution(
    scores: torch.Tensor, tau_grad: float, normalise_by_max: bool = True
) -> torch.Tensor:
    """log π with π = softmax(η/τ_grad) over a sequence's L tokens (eq. 8): (N, L) → (N, L).

    The paper leaves the scale of η open; raw η is O(1/L), which makes π uniform. With
    ``normalise_by_max`` η is first divided by its per-sequence maximum (as MAMP and the official
    release do), so τ_grad has the same meaning for every sample. A sequence with η ≡ 0 gets a
    uniform π.
    """
    if tau_grad <= 0:
        raise ValueError(f"temperature τ_grad must be positive, got {tau_grad}")
    eta = scores.float()
    if normalise_by_max:
        eta = eta / eta.amax(dim=1, keepdim=True).clamp_min(1e-12)
    return torch.log_softmax(eta / tau_grad, dim=1)


MOTION_SCORES = ("segment_difference", "frame_velocity")


def motion_aware_log_distribution(
    sequences: torch.Tensor, segment_length: int, tau: float, score: str = "segment_difference"
) -> torch.Tensor:
    """MAMP's motion-aware masking: log softmax(m / (max m · τ)) over a sequence's tokens.

    ``segment_difference`` (MAMP): m = mean over a token's l·C values of |x_seg(t) − x_seg(t−1)|,
    the difference between consecutive segments of the patchified input; the first segment copies
    the second. ``frame_velocity``: m = mean |x[t+1] − x[t]| over the frames inside a segment.
    (N, T, V, C) → (N, L).
    """
    if tau <= 0:
        raise ValueError(f"motion-aware temperature τ must be positive, got {tau}")
    if score == "segment_difference":
        tokens = segment_tokens(sequences, segment_length)  # (N, Te, V, l·C)
        difference = (tokens[:, 1:] - tokens[:, :-1]).abs()  # (N, Te − 1, V, l·C)
        difference = torch.cat([difference[:, :1], difference], dim=1)  # first copies second
        motion = difference.mean(dim=-1)  # (N, Te, V)
    elif score == "frame_velocity":
        motion = segment_tokens(velocity(sequences).abs(), segment_length).mean(dim=-1)
    else:
        raise ValueError(f"unknown motion score {score!r}; choose one of {MOTION_SCORES}")
    motion = motion.flatten(1).float()
    motion = motion / (motion.amax(dim=1, keepdim=True) * tau + 1e-10)
    return torch.log_softmax(motion, dim=1)


def gumbel_noise(
    shape: torch.Size, device: torch.device, generator: torch.Generator | None = None
) -> torch.Tensor:
    """r = −log(−log ε), ε ~ U[0, 1] (eq. 9), with ε kept away from 0 and 1."""
    eps = torch.rand(shape, device=device, generator=generator)
    eps = eps.clamp(torch.finfo(eps.dtype).tiny, 1.0 - torch.finfo(eps.dtype).eps)
    return -torch.log(-torch.log(eps))


def gumbel_top_k_masking(
    log_pi: torch.Tensor, num_keep: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """idx^mask = Index-of-Top-K(log π + r) with K = L − num_keep (eq. 9).

    Samples the masked set without replacement in proportion to π: a more salient token is masked
    more often. A uniform ``log_pi`` gives random masking. Returns ``keep_index`` (N, num_keep),
    sorted, and a boolean ``masked`` (N, L).
    """
    n, length = log_pi.shape
    if not 0 < num_keep <= length:
        raise ValueError(f"cannot keep {num_keep} of {length} tokens")
    perturbed = log_pi + gumbel_noise(log_pi.shape, log_pi.device, generator)
    order = torch.argsort(perturbed, dim=1)  # ascending: the largest L − K are masked
    keep_index = order[:, :num_keep].sort(dim=1).values
    masked = torch.ones(n, length, dtype=torch.bool, device=log_pi.device)
    masked.scatter_(1, keep_index, False)
    return keep_index, masked
