"""Seeded, class-stratified sample selection: train/test splits and label-fraction subsets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from masksem_core.errors import ConfigError


def _per_class(labels: Sequence[int], indices: Sequence[int]) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = {}
    for i in indices:
        groups.setdefault(int(labels[i]), []).append(int(i))
    return groups


def stratified_split(
    labels: Sequence[int], test_fraction: float, seed: int, prefix: str = "stratified"
) -> dict[str, list[int]]:
    """Seeded class-stratified train/test split, for datasets that name no subjects (GTU)."""
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test fraction must be in (0, 1), got {test_fraction}")
    rng = np.random.default_rng(seed)
    test: set[int] = set()
    for members in _per_class(labels, range(len(labels))).values():
        chosen = rng.permutation(members)[: max(1, round(len(members) * test_fraction))]
        test.update(int(i) for i in chosen)
    return {
        f"{prefix}_train": [i for i in range(len(labels)) if i not in test],
        f"{prefix}_test": sorted(test),
    }


def label_fraction_subset(
    labels: Sequence[int], indices: Sequence[int], fraction: float, seed: int
) -> list[int]:
    """A seeded subset of ``indices`` with ``fraction`` of each class (at least one per class)."""
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"label fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    subset: list[int] = []
    for members in _per_class(labels, indices).values():
        count = max(1, round(len(members) * fraction))
        subset.extend(int(i) for i in rng.permutation(members)[:count])
    return sorted(subset)


def label_fraction_split_name(split: str, fraction: float, seed: int) -> str:
    """The splits.json key of a subset, e.g. ``xsub_train_1pct_seed0``."""
    return f"{split}_{fraction * 100:g}pct_seed{seed}"
