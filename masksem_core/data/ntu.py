"""NTU RGB+D 60/120 raw ``.skeleton`` files: names, parsing, body selection, splits."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from masksem_core.data.sequence import SkeletonFileError, SkeletonSequence, check_finite

NAME_PATTERN = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
NUM_JOINTS = 25
VALUES_PER_JOINT = 12  # x y z, depth x y, colour x y, orientation w x y z, tracking state

# A001…A120 as the dataset's README names them; NTU-60 is the first 60
ACTION_NAMES = (
    "drink water",
    "eat meal/snack",
    "brushing teeth",
    "brushing hair",
    "drop",
    "pickup",
    "throw",
    "sitting down",
    "standing up (from sitting position)",
    "clapping",
    "reading",
    "writing",
    "tear up paper",
    "wear jacket",
    "take off jacket",
    "wear a shoe",
    "take off a shoe",
    "wear on glasses",
    "take off glasses",
    "put on a hat/cap",
    "take off a hat/cap",
    "cheer up",
    "hand waving",
    "kicking something",
    "put something inside pocket / take out something from pocket",
    "hopping (one foot jumping)",
    "jump up",
    "make a phone call/answer phone",
    "playing with phone/tablet",
    "typing on a keyboard",
    "pointing to something with finger",
    "taking a selfie",
    "check time (from watch)",
    "rub two hands together",
    "nod head/bow",
    "shake head",
    "wipe face",
    "salute",
    "put the palms together",
    "cross hands in front (say stop)",
    "sneeze/cough",
    "staggering",
    "falling",
    "touch head (headache)",
    "touch chest (stomachache/heart pain)",
    "touch back (backache)",
    "touch neck (neckache)",
    "nausea or vomiting condition",
    "use a fan (with hand or paper)/feeling warm",
    "punching/slapping other person",
    "kicking other person",
    "pushing other person",
    "pat on back of other person",
    "point finger at the other person",
    "hugging other person",
    "giving something to other person",
    "touch other person's pocket",
    "handshaking",
    "walking towards each other",
    "walking apart from each other",
    "put on headphone",
    "take off headphone",
    "shoot at the basket",
    "bounce ball",
    "tennis bat swing",
    "juggling table tennis balls",
    "hush (quiet)",
    "flick hair",
    "thumb up",
    "thumb down",
    "make ok sign",
    "make victory sign",
    "staple book",
    "counting money",
    "cutting nails",
    "cutting paper (using scissors)",
    "snapping fingers",
    "open bottle",
    "sniff (smell)",
    "squat down",
    "toss a coin",
    "fold paper",
    "ball up paper",
    "play magic cube",
    "apply cream on face",
    "apply cream on hand back",
    "put on bag",
    "take off bag",
    "put something into a bag",
    "take something out of a bag",
    "open a box",
    "move heavy objects",
    "shake fist",
    "throw up cap/hat",
    "hands up (both hands)",
    "cross arms",
    "arm circles",
    "arm swings",
    "running on the spot",
    "butt kicks (kick backward)",
    "cross toe touch",
    "side kick",
    "yawn",
    "stretch oneself",
    "blow nose",
    "hit other person with something",
    "wield knife towards other person",
    "knock over other person (hit with body)",
    "grab other person's stuff",
    "shoot at other person with a gun",
    "step on foot",
    "high-five",
    "cheers and drink",
    "carry something with other person",
    "take a photo of other person",
    "follow other person",
    "whisper in other person's ear",
    "exchange things with other person",
    "support somebody with hand",
    "finger-guessing game (playing rock-paper-scissors)",
)

NTU60_XSUB_TRAIN_SUBJECTS = frozenset(
    (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
)
NTU120_XSUB_TRAIN_SUBJECTS = NTU60_XSUB_TRAIN_SUBJECTS | frozenset(
    (
        45,
        46,
        47,
        49,
        50,
        52,
        53,
        54,
        55,
        56,
        57,
        58,
        59,
        70,
        74,
        78,
        80,
        81,
        82,
        83,
        84,
        85,
        86,
        89,
        91,
        92,
        93,
        94,
        95,
        97,
        98,
        100,
        103,
    )
)
NTU60_XVIEW_TRAIN_CAMERAS = frozenset((2, 3))


@dataclass(frozen=True)
class NtuName:
    setup: int
    camera: int
    performer: int
    replication: int
    action: int  # 1-based, as in the file name


def parse_ntu_name(name: str) -> NtuName:
    """``S001C002P003R002A013`` → setup 1, camera 2, performer 3, replication 2, action 13."""
    match = NAME_PATTERN.search(Path(name).name)
    if not match:
        raise ValueError(f"{name}: not an NTU RGB+D name (expected SsssCcccPpppRrrrAaaa)")
    return NtuName(*(int(g) for g in match.groups()))


def _int_line(path: Path, lines: list[str], i: int, what: str) -> int:
    if i >= len(lines):
        raise SkeletonFileError(path, f"file ends where the {what} was expected (truncated)", i + 1)
    try:
        return int(lines[i].split()[0])
    except (ValueError, IndexError):
        raise SkeletonFileError(path, f"expected the {what}, got {lines[i]!r}", i + 1) from None


def read_ntu_bodies(path: str | Path) -> tuple[int, dict[str, np.ndarray]]:
    """Parse a raw file into (frame count, {body id: (T, 25, 3) array, NaN where absent})."""
    path = Path(path)
    lines = path.read_text().splitlines()
    if not lines or not lines[0].strip():
        raise SkeletonFileError(path, "empty file", 1)
    num_frames = _int_line(path, lines, 0, "frame count")
    bodies: dict[str, np.ndarray] = {}
    i = 1
    for frame in range(num_frames):
        num_bodies = _int_line(path, lines, i, f"body count of frame {frame + 1}")
        i += 1
        for _ in range(num_bodies):
            if i >= len(lines):
                raise SkeletonFileError(path, "file ends inside a body (truncated)", i + 1)
            body_id = lines[i].split()[0]
            num_joints = _int_line(path, lines, i + 1, "joint count")
            if num_joints != NUM_JOINTS:
                raise SkeletonFileError(path, f"joint count {num_joints}, expected 25", i + 2)
            first = i + 2
            block = lines[first : first + NUM_JOINTS]
            if len(block) < NUM_JOINTS:
                raise SkeletonFileError(
                    path, "file ends inside a joint block (truncated)", first + len(block) + 1
                )
            joints = _parse_joint_block(path, block, first + 1)
            track = bodies.setdefault(
                body_id, np.full((num_frames, NUM_JOINTS, 3), np.nan, dtype=np.float32)
            )
            track[frame] = joints
            i = first + NUM_JOINTS
    return num_frames, bodies


def _parse_joint_block(path: Path, block: list[str], first_line: int) -> np.ndarray:
    try:
        values = np.array(" ".join(block).split(), dtype=np.float64)
    except ValueError:
        values = None
    if values is None or values.size != NUM_JOINTS * VALUES_PER_JOINT:
        for offset, line in enumerate(block):
            parts = line.split()
            if len(parts) != VALUES_PER_JOINT:
                raise SkeletonFileError(
                    path,
                    f"expected {VALUES_PER_JOINT} numbers for a joint, got {len(parts)}",
                    first_line + offset,
                )
            try:
                [float(p) for p in parts]
            except ValueError:
                raise SkeletonFileError(
                    path, f"non-numeric value in {line!r}", first_line + offset
                ) from None
    xyz = values.reshape(NUM_JOINTS, VALUES_PER_JOINT)[:, :3]
    check_finite(path, xyz, first_line, 3)
    return xyz.astype(np.float32)


def motion_energy(track: np.ndarray) -> float:
    """Σ over joints and axes of the temporal variance over the frames where the body is seen."""
    seen = track[~np.isnan(track).any(axis=(1, 2))]
    return float(seen.var(axis=0).sum()) if len(seen) > 1 else 0.0


def select_bodies(bodies: dict[str, np.ndarray], max_bodies: int = 2) -> np.ndarray:
    """Keep the ``max_bodies`` most active bodies (most active first) and drop frames with no
    body: returns (M, T', V, 3) with zeros where a body is absent."""
    ranked = sorted(bodies.values(), key=motion_energy, reverse=True)[:max_bodies]
    stacked = np.stack(ranked)  # (M', T, V, 3), NaN where absent
    present = ~np.isnan(stacked).any(axis=(2, 3))  # (M', T)
    stacked = stacked[:, present.any(axis=0)]
    out = np.zeros((max_bodies, *stacked.shape[1:]), dtype=np.float32)
    out[: len(ranked)] = np.nan_to_num(stacked, nan=0.0)
    return out


def read_ntu_skeleton(path: str | Path, max_bodies: int = 2) -> SkeletonSequence:
    """Read one raw NTU file into a cleaned (M, T, 25, 3) sequence labelled by its name."""
    path = Path(path)
    info = parse_ntu_name(path.name)
    num_frames, bodies = read_ntu_bodies(path)
    if not bodies:
        raise SkeletonFileError(path, f"no usable body in {num_frames} frames (missing skeleton)")
    data = select_bodies(bodies, max_bodies)
    return SkeletonSequence(
        name=path.name.split(".")[0],
        label=info.action - 1,
        data=data,
        subject=info.performer,
        view=info.camera,
        setup=info.setup,
        extra={"replication": info.replication, "bodies_seen": len(bodies)},
    )


def ntu_splits(samples: list[dict], dataset: str) -> dict[str, list[int]]:
    """Cross-subject / cross-view (NTU-60) or cross-subject / cross-setup (NTU-120) from names."""
    subjects = NTU60_XSUB_TRAIN_SUBJECTS if dataset == "ntu60" else NTU120_XSUB_TRAIN_SUBJECTS
    rules = {"xsub": lambda s: s["subject"] in subjects}
    if dataset == "ntu60":
        rules["xview"] = lambda s: s["view"] in NTU60_XVIEW_TRAIN_CAMERAS
    else:
        rules["xset"] = lambda s: s["setup"] % 2 == 0
    splits = {}
    for name, is_train in rules.items():
        splits[f"{name}_train"] = [i for i, s in enumerate(samples) if is_train(s)]
        splits[f"{name}_test"] = [i for i, s in enumerate(samples) if not is_train(s)]
    return splits
