"""The average-motion reference S̄ (paper eq. 2)."""

from __future__ import annotations

from collections.abc import Iterable

import torch


def average_motion_reference(batches: Iterable[torch.Tensor]) -> torch.Tensor:
    """S̄ = (1/N) Σ_i S_i over every present body of every batch (eq. 2).

    ``batches`` yields (B, M, T, V, C) windows; bodies that are all zero (an absent second
    person) are not sequences and are left out. Returns (T, V, C) in float32. The paper's
    default passes the whole training set once; the official release's variant passes only the
    current batch (``average_motion_reference([x])``).
    """
    total: torch.Tensor | None = None
    count = 0
    for x in batches:
        if x.ndim != 5:
            raise ValueError(f"expected (B, M, T, V, C) batches, got shape {tuple(x.shape)}")
        bodies = x.detach().flatten(0, 1).float()  # (B·M, T, V, C)
        present = bodies.flatten(1).abs().amax(dim=1) > 0
        part = bodies[present].sum(dim=0)
        total = part if total is None else total + part
        count += int(present.sum())
    if total is None or count == 0:
        raise ValueError("cannot compute the average-motion reference: no non-empty sequence seen")
    return total / count
