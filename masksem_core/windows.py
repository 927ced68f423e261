"""Centring, valid-frame crop + linear resize to the model's window, and rotation matrices.

``evaluation_window`` is the one deterministic transform shared by evaluation, ONNX parity
checks and the live recognizer.
"""

from __future__ import annotations

import math

import numpy as np

from masksem_core.skeleton import SkeletonLayout

WINDOW = 120
MIN_LENGTH = 64
TRAIN_RATIO_RANGE = (0.5, 1.0)
TEST_RATIO = 0.95


def valid_frames(sequence: np.ndarray) -> int:
    """Frames up to and including the last one where any body has a non-zero joint. (M, T, V, C)"""
    active = np.flatnonzero(np.abs(sequence).sum(axis=(0, 2, 3)) > 0)
    return int(active[-1]) + 1 if active.size else 0


def centre_sequence(sequence: np.ndarray, centre_joint: int) -> np.ndarray:
    """Subtract the centre joint of the first body's first valid frame; absent joints stay 0."""
    body = sequence[0]  # (T, V, C)
    present = np.flatnonzero(np.abs(body).sum(axis=(1, 2)) > 0)
    if not present.size:
        return sequence.astype(np.float32, copy=True)
    origin = body[present[0], centre_joint]  # (C,)
    mask = np.abs(sequence).sum(axis=-1, keepdims=True) > 0  # (M, T, V, 1)
    return np.where(mask, sequence - origin, 0.0).astype(np.float32)


def prepare_sequence(sequence: np.ndarray, centre_joint: int | None) -> np.ndarray:
    """The preparation contract every dataset goes through (pyskl pickles included): frames in
    which no body is present are dropped (as the NTU reader drops them), then the sequence is
    centred with ``centre_sequence``. (M, T, V, C) → (M, T', V, C)."""
    present = np.abs(sequence).sum(axis=(0, 2, 3)) > 0
    cleaned = sequence[:, present]
    return cleaned if centre_joint is None else centre_sequence(cleaned, centre_joint)


def crop_length(valid: int, ratio: float, min_length: int = MIN_LENGTH) -> int:
    """min(max(floor(valid·ratio), min_length), valid) frames, at least 1."""
    return max(1, min(max(math.floor(valid * ratio), min_length), valid))


def resize_time(sequence: np.ndarray, start: int, length: int, out_frames: int) -> np.ndarray:
    """Linearly resample frames [start, start + length) to ``out_frames`` frames, end points
    included (a linear ramp stays exactly linear). (M, T, V, C) → (M, out_frames, V, C)."""
    positions = np.linspace(start, start + length - 1, out_frames)
    low = np.floor(positions).astype(np.int64)
    high = np.minimum(low + 1, start + length - 1)
    weight = (positions - low).astype(np.float32)[None, :, None, None]
    return (sequence[:, low] * (1.0 - weight) + sequence[:, high] * weight).astype(np.float32)


def evaluation_window(
    sequence: np.ndarray,
    out_frames: int = WINDOW,
    ratio: float = TEST_RATIO,
    min_length: int = MIN_LENGTH,
) -> np.ndarray:
    """Deterministic evaluation window: centre crop of ``ratio`` of the valid frames, resized."""
    valid = valid_frames(sequence) or sequence.shape[1]
    length = crop_length(valid, ratio, min_length)
    return resize_time(sequence, (valid - length) // 2, length, out_frames)


def training_window(
    sequence: np.ndarray,
    rng: np.random.Generator,
    out_frames: int = WINDOW,
    ratio_range: tuple[float, float] = TRAIN_RATIO_RANGE,
    min_length: int = MIN_LENGTH,
) -> np.ndarray:
    """Random crop with ratio p ~ U[ratio_range] at a random offset, resized to ``out_frames``."""
    valid = valid_frames(sequence) or sequence.shape[1]
    length = crop_length(valid, rng.uniform(*ratio_range), min_length)
    start = int(rng.integers(0, valid - length + 1))
    return resize_time(sequence, start, length, out_frames)


def rotation_matrix(angles: np.ndarray) -> np.ndarray:
    """R = Rz · Ry · Rx for angles (x, y, z) in radians."""
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return (rz @ ry @ rx).astype(np.float32)


def resample_by_time(
    stamps: np.ndarray, frames: np.ndarray, start: float, end: float, out_frames: int
) -> np.ndarray:
    """Linear interpolation of (T, …) frames at ``out_frames`` equally spaced instants of
    [start, end]; instants before the first or after the last stamp take that frame (a person
    held still): a stream at any rate → a fixed window. (T, …) → (out_frames, …)."""
    targets = np.linspace(start, end, out_frames)
    index = np.clip(np.searchsorted(stamps, targets, side="right") - 1, 0, len(stamps) - 1)
    following = np.minimum(index + 1, len(stamps) - 1)
    span = stamps[following] - stamps[index]
    weight = np.where(span > 0, (targets - stamps[index]) / np.where(span > 0, span, 1), 0.0)
    weight = np.clip(weight, 0.0, 1.0).reshape(-1, *([1] * (frames.ndim - 1))).astype(np.float32)
    return frames[index] * (1 - weight) + frames[following] * weight


def stream_window(
    stamps: np.ndarray, frames: np.ndarray, end: float, seconds: float, out_frames: int = WINDOW
) -> np.ndarray:
    """The stream window: the ``seconds`` of timeline ending at ``end`` (s), resampled by
    timestamp to ``out_frames`` frames; before the stream's first frame the person is held at
    it. The one function behind training windows (stream mode) and the live recognizer's
    windows. (T, M, V, C) frames at ``stamps`` (s, increasing) → (M, out_frames, V, C)."""
    window = resample_by_time(stamps, frames, end - seconds, end, out_frames)
    return np.ascontiguousarray(window.transpose(1, 0, 2, 3), dtype=np.float32)


def body_frame(sequence: np.ndarray, layout: SkeletonLayout) -> tuple[np.ndarray, float]:
    """The rotation R (3, 3) whose rows are the body's own axes at the first body's first valid
    frame: x along the hip line (left → right hip), y along the spine (mid-hips → mid-shoulders)
    made orthogonal to x, z = x × y; and the torso length (that spine's length, m).
    Identity and 1 when there is no valid frame or the hips coincide. (M, T, V, 3)."""
    body = sequence[0]
    present = np.flatnonzero(np.abs(body).sum(axis=(1, 2)) > 0)
    if not present.size:
        return np.eye(3, dtype=np.float32), 1.0
    pose = body[present[0]].astype(np.float64)
    left_hip, right_hip = pose[layout.index("left_hip")], pose[layout.index("right_hip")]
    hips = (left_hip + right_hip) / 2
    shoulders = (pose[layout.index("left_shoulder")] + pose[layout.index("right_shoulder")]) / 2
    spine = shoulders - hips
    x = right_hip - left_hip
    if np.linalg.norm(x) < 1e-6 or np.linalg.norm(spine) < 1e-6:
        return np.eye(3, dtype=np.float32), 1.0
    x = x / np.linalg.norm(x)
    y = spine - (spine @ x) * x
    y = y / np.linalg.norm(y)
    return np.stack([x, y, np.cross(x, y)]).astype(np.float32), float(np.linalg.norm(spine))


def normalise_body(
    sequence: np.ndarray, layout: SkeletonLayout, view: bool, scale: bool
) -> np.ndarray:
    """View normalisation (``view``: rotate every frame so that the first valid frame's hip line
    lies along x and its spine along y, whatever the camera position) and scale normalisation
    (``scale``: divide by that frame's torso length, so it becomes 1). Absent joints stay 0.
    The one function behind the training transform and the live recognizer. (M, T, V, 3)."""
    if not (view or scale):
        return sequence
    rotation, torso = body_frame(sequence, layout)
    out = sequence @ rotation.T if view else sequence
    return (out / torso if scale else out).astype(np.float32)
