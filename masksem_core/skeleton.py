"""Joint layouts as joint names + parent arrays, and everything derived from them.

A layout is the single source of truth for a skeleton: bones, the normalised adjacency used to
smooth Grad-CAM scores (paper eq. 7) and the five body parts of the official release's
binary-part CAM are all computed from the parent array, never listed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

BODY_PART_NAMES = ("trunk", "left_arm", "right_arm", "left_leg", "right_leg")


@dataclass(frozen=True)
class SkeletonLayout:
    """A joint layout: ordered joint names and each joint's parent index (-1 for the root).

    ``part_roots`` names the first joint of each limb; a limb is the subtree under that joint
    and the trunk is every joint outside the four limbs.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    part_roots: tuple[str, str, str, str]  # left arm, right arm, left leg, right leg
    centre_joint: str

    def __post_init__(self) -> None:
        if len(self.joint_names) != len(self.parents):
            raise ValueError(
                f"layout {self.name}: {len(self.joint_names)} joint names but "
                f"{len(self.parents)} parents"
            )
        roots = [v for v, p in enumerate(self.parents) if p == -1]
        if len(roots) != 1:
            raise ValueError(f"layout {self.name}: expected exactly one root, found {roots}")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def index(self, joint: str) -> int:
        """Index of a joint by name; a clear error for unknown names."""
        try:
            return self.joint_names.index(joint)
        except ValueError:
            raise ValueError(f"layout {self.name} has no joint named {joint!r}") from None

    @property
    def root(self) -> int:
        return self.parents.index(-1)

    @cached_property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(child, parent) pairs, one per non-root joint: V - 1 bones."""
        return tuple((v, p) for v, p in enumerate(self.parents) if p != -1)

    @cached_property
    def children(self) -> tuple[tuple[int, ...], ...]:
        kids: list[list[int]] = [[] for _ in range(self.num_joints)]
        for child, parent in self.bones:
            kids[parent].append(child)
        return tuple(tuple(k) for k in kids)

    def subtree(self, joint: int) -> tuple[int, ...]:
        """The joint and all its descendants, in index order."""
        stack, seen = [joint], []
        while stack:
            v = stack.pop()
            seen.append(v)
            stack.extend(self.children[v])
        return tuple(sorted(seen))

    @cached_property
    def mirror_order(self) -> tuple[int, ...]:
        """For each joint, the index of its mirror twin (``left`` and ``right`` swapped in its
        name; itself for joints on the midline): the joint order of the mirrored body."""
        swap = {"left": "right", "right": "left"}

        def twin(name: str) -> str:
            return "_".join(swap.get(part, part) for part in name.split("_"))

        return tuple(
            self.index(twin(n)) if twin(n) in self.joint_names else v
            for v, n in enumerate(self.joint_names)
        )

    @cached_property
    def body_parts(self) -> tuple[tuple[int, ...], ...]:
        """Joint indices of the five parts in BODY_PART_NAMES order."""
        limbs = [self.subtree(self.index(root)) for root in self.part_roots]
        in_limb = {v for limb in limbs for v in limb}
        trunk = tuple(v for v in range(self.num_joints) if v not in in_limb)
        return (trunk, *limbs)

    def adjacency(self, self_loops: bool = True) -> np.ndarray:
        """Binary symmetric adjacency (V, V) of the bone graph, with self loops by default."""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        for child, parent in self.bones:
            a[child, parent] = a[parent, child] = 1.0
        if self_loops:
            a += np.eye(self.num_joints, dtype=np.float32)
        return a

    def normalized_adjacency(self) -> np.ndarray:
        """D^-1/2 (A + I) D^-1/2: the symmetric normalised adjacency with self loops (V, V)."""
        a = self.adjacency(self_loops=True)
        d = 1.0 / np.sqrt(a.sum(axis=1))
        return (a * d[:, None] * d[None, :]).astype(np.float32)


# NTU RGB+D / Kinect v2 order (joint k of the dataset's 1-based list is index k-1 here).
# Parents follow the Kinect v2 SDK bone list (thumb hangs off the wrist, hand tip off the hand).
NTU25 = SkeletonLayout(
    name="ntu25",
    joint_names=(
        "spine_base",
        "spine_mid",
        "neck",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "left_hand",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "right_hand",
        "left_hip",
        "left_knee",
        "left_ankle",
        "left_foot",
        "right_hip",
        "right_knee",
        "right_ankle",
        "right_foot",
        "spine_shoulder",
        "left_hand_tip",
        "left_thumb",
        "right_hand_tip",
        "right_thumb",
    ),
    parents=(
        -1,
        0,
        20,
        2,
        20,
        4,
        5,
        6,
        20,
        8,
        9,
        10,
        0,
        12,
        13,
        14,
        0,
        16,
        17,
        18,
        1,
        7,
        6,
        11,
        10,
    ),
    part_roots=("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    centre_joint="spine_mid",
)

# Kinect v1 order used by NW-UCLA (and MSR-Action3D-style datasets).
KINECT_V1_20 = SkeletonLayout(
    name="kinect_v1_20",
    joint_names=(
        "hip_center",
        "spine",
        "shoulder_center",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "left_hand",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "right_hand",
        "left_hip",
        "left_knee",
        "left_ankle",
        "left_foot",
        "right_hip",
        "right_knee",
        "right_ankle",
        "right_foot",
    ),
    parents=(
        -1,
        0,
        1,
        2,
        2,
        4,
        5,
        6,
        2,
        8,
        9,
        10,
        0,
        12,
        13,
        14,
        0,
        16,
        17,
        18,
    ),
    part_roots=("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    centre_joint="spine",
)

# MediaPipe Pose landmarks. The tree is rooted at the left hip (MediaPipe has no pelvis joint);
# the face hangs off the nose, the nose off the left shoulder.
MEDIAPIPE33 = SkeletonLayout(
    name="mediapipe33",
    joint_names=(
        "nose",
        "left_eye_inner",
        "left_eye",
        "left_eye_outer",
        "right_eye_inner",
        "right_eye",
        "right_eye_outer",
        "left_ear",
        "right_ear",
        "mouth_left",
        "mouth_right",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_pinky",
        "right_pinky",
        "left_index",
        "right_index",
        "left_thumb",
        "right_thumb",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
        "left_heel",
        "right_heel",
        "left_foot_index",
        "right_foot_index",
    ),
    parents=(
        11,
        0,
        1,
        2,
        0,
        4,
        5,
        3,
        6,
        0,
        0,
        23,
        24,
        11,
        12,
        13,
        14,
        15,
        16,
        15,
        16,
        15,
        16,
        -1,
        23,
        23,
        24,
        25,
        26,
        27,
        28,
        27,
        28,
    ),
    part_roots=("left_elbow", "right_elbow", "left_knee", "right_knee"),
    centre_joint="left_hip",
)

# MediaPipe world landmarks: x to the image right, y down, z away from the camera (metres).
# NTU / Kinect camera space: x to the image left, y up, z away: a 180° turn about z.
MEDIAPIPE_TO_NTU_AXES = np.array([-1.0, -1.0, 1.0], dtype=np.float32)


def mediapipe_to_ntu25(landmarks: np.ndarray) -> np.ndarray:
    """MediaPipe-33 world landmarks (..., 33, 3) → NTU-25 joints (..., 25, 3) in NTU axes.

    Joints NTU has and MediaPipe lacks are synthesised: spine base = mid-hips, spine shoulder =
    mid-shoulders, spine mid = their midpoint, head = mid-ears, neck = 30 % of the way from the
    spine shoulder to the head, hand = mid(index, pinky), hand tip = index, foot = foot index.
    """
    if landmarks.shape[-2:] != (33, 3):
        raise ValueError(f"expected MediaPipe landmarks (..., 33, 3), got {landmarks.shape}")
    mp = {name: landmarks[..., i, :] for i, name in enumerate(MEDIAPIPE33.joint_names)}
    spine_base = 0.5 * (mp["left_hip"] + mp["right_hip"])
    spine_shoulder = 0.5 * (mp["left_shoulder"] + mp["right_shoulder"])
    head = 0.5 * (mp["left_ear"] + mp["right_ear"])
    joints = {
        "spine_base": spine_base,
        "spine_mid": 0.5 * (spine_base + spine_shoulder),
        "spine_shoulder": spine_shoulder,
        "neck": spine_shoulder + 0.3 * (head - spine_shoulder),
        "head": head,
    }
    for side in ("left", "right"):
        for joint in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "thumb"):
            joints[f"{side}_{joint}"] = mp[f"{side}_{joint}"]
        joints[f"{side}_hand"] = 0.5 * (mp[f"{side}_index"] + mp[f"{side}_pinky"])
        joints[f"{side}_hand_tip"] = mp[f"{side}_index"]
        joints[f"{side}_foot"] = mp[f"{side}_foot_index"]
    ntu = np.stack([joints[name] for name in NTU25.joint_names], axis=-2)
    return (ntu * MEDIAPIPE_TO_NTU_AXES).astype(np.float32)


# The same body point under another layout's name (the Kinect v1 SDK names its pelvis
# "hip_center", NTU "spine_base"); joints named alike in both layouts correspond as well.
SAME_JOINT: dict[tuple[str, str], dict[str, str]] = {
    ("ntu25", "kinect_v1_20"): {
        "spine_base": "hip_center",
        "spine_mid": "spine",
        "spine_shoulder": "shoulder_center",
    },
}


def joint_correspondence(source: SkeletonLayout, target: SkeletonLayout) -> dict[int, int]:
    """Target joint index → source joint index, for every joint both layouts have.

    A pair with no documented correspondence (MediaPipe-33 has no pelvis or spine: it reaches
    NTU-25 only through ``mediapipe_to_ntu25``) is a clear error naming both layouts.
    """
    if source.name == target.name:
        return {v: v for v in range(target.num_joints)}
    if (source.name, target.name) in SAME_JOINT:
        renamed = SAME_JOINT[(source.name, target.name)]
    elif (target.name, source.name) in SAME_JOINT:
        renamed = {t: s for s, t in SAME_JOINT[(target.name, source.name)].items()}
    else:
        raise ValueError(
            f"no joint correspondence between layouts {source.name} and {target.name}; "
            f"known pairs: {sorted(SAME_JOINT)} (and each layout with itself)"
        )
    pairs = {}
    for s, name in enumerate(source.joint_names):
        name = renamed.get(name, name)
        if name in target.joint_names:
            pairs[target.index(name)] = s
    return pairs


def map_joints(joints: np.ndarray, source: SkeletonLayout, target: SkeletonLayout) -> np.ndarray:
    """(..., V_source, C) joints → (..., V_target, C): every target joint must exist in the
    source (NTU-25 → Kinect-v1-20 drops the neck, hand tips and thumbs; the reverse is an error:
    joints are never invented)."""
    pairs = joint_correspondence(source, target)
    missing = [target.joint_names[v] for v in range(target.num_joints) if v not in pairs]
    if missing:
        raise ValueError(
            f"layout {source.name} cannot be mapped to {target.name}: it lacks {missing}"
        )
    return joints[..., [pairs[v] for v in range(target.num_joints)], :]


def nearest_corresponding_joints(source: SkeletonLayout, target: SkeletonLayout) -> list[int]:
    """Per target joint, the source joint it corresponds to, or else the one its nearest
    ancestor corresponds to (NTU-25's neck → Kinect-v1-20's shoulder centre, a hand tip → the
    hand): how joint-indexed weights (positional embeddings) move to another layout."""
    pairs = joint_correspondence(source, target)
    chosen = []
    for v in range(target.num_joints):
        joint = v
        while joint not in pairs and target.parents[joint] != -1:
            joint = target.parents[joint]
        if joint not in pairs:
            raise ValueError(
                f"joint {target.joint_names[v]} of {target.name} has no counterpart in "
                f"{source.name}, nor has any of its ancestors"
            )
        chosen.append(pairs[joint])
    return chosen


LAYOUTS: dict[str, SkeletonLayout] = {
    layout.name: layout for layout in (NTU25, KINECT_V1_20, MEDIAPIPE33)
}


def get_layout(name: str) -> SkeletonLayout:
    """Look a layout up by name, listing the known ones on failure."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown skeleton layout {name!r}; known: {sorted(LAYOUTS)}") from None


def layout_for_joint_count(num_joints: int) -> SkeletonLayout:
    """The layout with ``num_joints`` joints (25 → NTU-25, 20 → Kinect-v1-20)."""
    for layout in LAYOUTS.values():
        if layout.num_joints == num_joints:
            return layout
    known = {name: lay.num_joints for name, lay in LAYOUTS.items()}
    raise ValueError(f"no skeleton layout with {num_joints} joints; known: {known}")
