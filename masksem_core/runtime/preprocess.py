"""The one test-time transform shared by evaluation, ONNX parity checks and live inference."""

from __future__ import annotations

import numpy as np

from masksem_core.data.windows import WINDOW, centre_sequence, evaluation_window, normalise_body
from masksem_core.skeleton import get_layout


def inference_window(
    sequence: np.ndarray,
    layout: str,
    window: int = WINDOW,
    mode: str = "clip",
    view: bool = False,
    scale: bool = False,
) -> np.ndarray:
    """Raw (M, T, V, C) metres → the model's (M, window, V, C) input.

    Exactly training's evaluation path: centre on the layout's centre joint of the first body's
    first valid frame (done once at preparation for stored data, idempotent here), then, in
    clip mode, the deterministic centre crop + linear resize; in stream mode the sequence is
    already the resampled stream window (``stream_window``) and is only centred; then the
    body normalisation the model was trained with (``view``, ``scale``).
    """
    spec = get_layout(layout)
    if sequence.ndim != 4 or sequence.shape[2:] != (spec.num_joints, 3):
        raise ValueError(
            f"expected a (M, T, {spec.num_joints}, 3) sequence for layout {layout}, "
            f"got {sequence.shape}"
        )
    centred = centre_sequence(sequence, spec.index(spec.centre_joint))
    if mode == "stream" and centred.shape[1] != window:
        raise ValueError(f"a stream window has {window} frames, got {centred.shape[1]}")
    cropped = centred if mode == "stream" else evaluation_window(centred, window)
    return normalise_body(cropped, spec, view, scale)


def pad_bodies(window: np.ndarray, bodies: int) -> np.ndarray:
    """Append absent (all-zero) bodies up to ``bodies``, as training stored them: a model trained
    with a zero second body averages it into its features. (M, T, V, C) → (max(M, bodies), …)."""
    missing = bodies - window.shape[0]
    if missing <= 0:
        return window
    return np.concatenate([window, np.zeros((missing, *window.shape[1:]), window.dtype)])
