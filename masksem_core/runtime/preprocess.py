"""The one test-time transform shared by evaluation, ONNX parity checks and live inference."""

from __future__ import annotations

import numpy as np

from masksem_core.data.windows import WINDOW, centre_sequence, evaluation_window
from masksem_core.skeleton import get_layout


def inference_window(sequence: np.ndarray, layout: str, window: int = WINDOW) -> np.ndarray:
    """Raw (M, T, V, C) metres → the model's (M, window, V, C) input.

    Exactly training's evaluation path: centre on the layout's centre joint of the first body's
    first valid frame (done once at preparation for stored data, idempotent here), then the
    deterministic centre crop + linear resize.
    """
    spec = get_layout(layout)
    if sequence.ndim != 4 or sequence.shape[2:] != (spec.num_joints, 3):
        raise ValueError(
            f"expected a (M, T, {spec.num_joints}, 3) sequence for layout {layout}, "
            f"got {sequence.shape}"
        )
    return evaluation_window(centre_sequence(sequence, spec.index(spec.centre_joint)), window)
