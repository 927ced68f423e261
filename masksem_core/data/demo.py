"""Procedural, clearly synthetic NTU-25 action sequences so a fresh clone trains end to end.

Each class is a distinct parametric motion of a forward-kinematic stick figure (limb subtrees
rotated about their joints) with random body proportions, viewpoint, speed, length and noise.
Never report accuracy on it as a result: it exists to exercise the pipeline.
"""

from __future__ import annotations

import numpy as np

from masksem_core.data.sequence import SkeletonSequence
from masksem_core.skeleton import NTU25
from masksem_core.windows import rotation_matrix

# Rest pose (metres, NTU camera convention: x right, y up, z away from the camera).
_REST = {
    "spine_base": (0.0, 0.0, 0.0),
    "spine_mid": (0.0, 0.28, 0.0),
    "spine_shoulder": (0.0, 0.5, 0.0),
    "neck": (0.0, 0.58, 0.0),
    "head": (0.0, 0.72, 0.0),
    "left_shoulder": (-0.18, 0.48, 0.0),
    "left_elbow": (-0.22, 0.22, 0.0),
    "left_wrist": (-0.24, -0.02, 0.0),
    "left_hand": (-0.25, -0.08, 0.0),
    "left_hand_tip": (-0.25, -0.15, 0.0),
    "left_thumb": (-0.22, -0.07, 0.03),
    "right_shoulder": (0.18, 0.48, 0.0),
    "right_elbow": (0.22, 0.22, 0.0),
    "right_wrist": (0.24, -0.02, 0.0),
    "right_hand": (0.25, -0.08, 0.0),
    "right_hand_tip": (0.25, -0.15, 0.0),
    "right_thumb": (0.22, -0.07, 0.03),
    "left_hip": (-0.09, -0.02, 0.0),
    "left_knee": (-0.1, -0.45, 0.0),
    "left_ankle": (-0.1, -0.85, 0.0),
    "left_foot": (-0.1, -0.88, -0.1),
    "right_hip": (0.09, -0.02, 0.0),
    "right_knee": (0.1, -0.45, 0.0),
    "right_ankle": (0.1, -0.85, 0.0),
    "right_foot": (0.1, -0.88, -0.1),
}
REST_POSE = np.array([_REST[name] for name in NTU25.joint_names], dtype=np.float32)

# class → list of (joint whose subtree rotates, axis, amplitude rad, frequency cycles, phase)
_X, _Y, _Z = 0, 1, 2
DEMO_ACTIONS: dict[str, list[tuple[str, int, float, float, float]]] = {
    "wave right hand": [("right_shoulder", _Z, 2.4, 0.0, 0.0), ("right_elbow", _Z, 0.6, 3.0, 0.0)],
    "wave left hand": [("left_shoulder", _Z, -2.4, 0.0, 0.0), ("left_elbow", _Z, -0.6, 3.0, 0.0)],
    "raise both arms": [
        ("right_shoulder", _Z, 2.8, 1.0, 0.0),
        ("left_shoulder", _Z, -2.8, 1.0, 0.0),
    ],
    "kick right leg": [("right_hip", _X, -1.2, 2.0, 0.0)],
    "kick left leg": [("left_hip", _X, -1.2, 2.0, 0.0)],
    "bow": [("spine_mid", _X, 0.9, 1.0, 0.0)],
    "walk in place": [
        ("right_hip", _X, 0.6, 2.0, 0.0),
        ("left_hip", _X, 0.6, 2.0, np.pi),
        ("right_shoulder", _X, 0.5, 2.0, np.pi),
        ("left_shoulder", _X, 0.5, 2.0, 0.0),
    ],
    "punch forward": [
        ("right_shoulder", _X, -1.5, 3.0, 0.0),
        ("left_shoulder", _X, -1.5, 3.0, np.pi),
    ],
    "shake head": [("neck", _Y, 0.8, 3.0, 0.0)],
    "clap": [
        ("right_shoulder", _Y, 1.2, 4.0, 0.0),
        ("left_shoulder", _Y, -1.2, 4.0, 0.0),
        ("right_shoulder", _X, -1.3, 0.0, 0.0),
        ("left_shoulder", _X, -1.3, 0.0, 0.0),
    ],
}
DEMO_CLASS_NAMES = tuple(DEMO_ACTIONS)


def _axis_rotation(axis: int, angle: float) -> np.ndarray:
    angles = np.zeros(3)
    angles[axis] = angle
    return rotation_matrix(angles)


def _pose(
    rest: np.ndarray, motions: list[tuple[str, int, float, float, float]], phase: float
) -> np.ndarray:
    """Rotate each motion's subtree about its root joint; ``phase`` in [0, 1] over the action."""
    pose = rest.copy()
    for joint, axis, amplitude, frequency, offset in motions:
        root = NTU25.index(joint)
        if frequency == 0.0:  # a held posture, eased in
            angle = amplitude * min(1.0, 3.0 * phase)
        else:  # a repeated movement with an easing envelope
            angle = amplitude * 0.5 * (1 - np.cos(2 * np.pi * frequency * phase + offset))
        subtree = list(NTU25.subtree(root))
        pivot = pose[root]
        pose[subtree] = (pose[subtree] - pivot) @ _axis_rotation(axis, angle).T + pivot
    return pose


DEMO_FPS = 30.0  # the generated sequences are 60–150 frames: 2–5 s


def generate_demo_sequence(label: int, rng: np.random.Generator) -> SkeletonSequence:
    """One synthetic single-person (1, T, 25, 3) sample of class ``label``."""
    motions = DEMO_ACTIONS[DEMO_CLASS_NAMES[label]]
    frames = int(rng.integers(60, 151))
    scale = rng.uniform(0.85, 1.15) * np.array([rng.uniform(0.9, 1.1), 1.0, 1.0])
    rest = REST_POSE * scale.astype(np.float32)
    start = rng.uniform(0.0, 0.15)
    speed = rng.uniform(0.8, 1.2)
    phases = np.clip(start + speed * np.linspace(0, 1, frames), 0, 1.5)
    poses = np.stack([_pose(rest, motions, float(p)) for p in phases])  # (T, 25, 3)
    view = rotation_matrix(np.array([rng.uniform(-0.2, 0.2), rng.uniform(-0.8, 0.8), 0.0]))
    position = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.2, 0.2), rng.uniform(2.5, 3.5)])
    poses = poses @ view.T + position + rng.normal(0, 0.008, size=poses.shape)
    data = poses[None].astype(np.float32)
    return SkeletonSequence(
        name=f"demo_c{label:02d}", label=label, data=data, subject=int(rng.integers(1, 11))
    )


def generate_demo_dataset(samples_per_class: int, seed: int = 0) -> list[SkeletonSequence]:
    """``samples_per_class`` sequences of each demo class, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(samples_per_class):
        for label in range(len(DEMO_CLASS_NAMES)):
            sequence = generate_demo_sequence(label, rng)
            sequence.name = f"demo_{k:04d}_c{label:02d}"
            out.append(sequence)
    return out


def demo_splits(samples: list[dict]) -> dict[str, list[int]]:
    """Subjects 1–7 train, 8–10 test (synthetic subjects)."""
    return {
        "xsub_train": [i for i, s in enumerate(samples) if s["subject"] <= 7],
        "xsub_test": [i for i, s in enumerate(samples) if s["subject"] > 7],
    }
