"""What the runtime adds to a window built by the model's ``WindowSpec``: absent bodies."""

from __future__ import annotations

import numpy as np


def pad_bodies(window: np.ndarray, bodies: int) -> np.ndarray:
    """Append absent (all-zero) bodies up to ``bodies``, as training stored them: a model trained
    with a zero second body averages it into its features. (M, T, V, C) → (max(M, bodies), …)."""
    missing = bodies - window.shape[0]
    if missing <= 0:
        return window
    return np.concatenate([window, np.zeros((missing, *window.shape[1:]), window.dtype)])
