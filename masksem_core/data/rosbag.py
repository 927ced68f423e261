"""Recordings from ROS 2 bags (``ros2 bag record /bodies``), read without a ROS installation
through the pure-Python ``rosbags`` library (sqlite3 and mcap storage).

A ``masksem_interfaces/BodyArray`` topic gives one recording per tracker id (a departure, the
id absent from a message, ends it; an id that comes back starts a new one); a
``geometry_msgs/PoseArray`` topic one per body slot (an all-NaN slot is an absent body). Stamps
are the messages' header stamps (integer ns). The labels file is the recordings format with
times on the bag's clock::

    layout: kinect_v1_20          # the joints' order (or prepare_data.py --layout)
    topic: /bodies                # optional: the bag's only BodyArray or PoseArray topic
    classes: [wave, handover]
    recordings:
      - bag: take_01              # a bag folder under --src (or "." when --src is the bag)
        id: alice                 # the tracker id (BodyArray) or the slot "0", "1" (PoseArray)
        subject: alice
        actions:
          - [wave, 1733580003.20, 1733580005.90]   # name, start s, end s (header stamps)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import yaml

from masksem_core.data.recordings import Recording, checked_recording, manifest_intervals
from masksem_core.errors import DataError
from masksem_core.skeleton import get_layout

BODY_ARRAY = "masksem_interfaces/msg/BodyArray"
POSE_ARRAY = "geometry_msgs/msg/PoseArray"
SKELETON_TYPES = (BODY_ARRAY, POSE_ARRAY)


def interface_messages() -> dict[str, Path]:
    """masksem_interfaces' own .msg files (the checkout's, else an installed workspace's)."""
    folders = [Path(__file__).resolve().parents[2] / "masksem_interfaces" / "msg"]
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            folders.append(Path(prefix) / "share" / "masksem_interfaces" / "msg")
    for folder in folders:
        if (folder / "BodyArray.msg").is_file():
            return {f"masksem_interfaces/msg/{p.stem}": p for p in folder.glob("*.msg")}
    raise DataError(
        "cannot find masksem_interfaces' .msg files (run from a checkout, or source a workspace "
        "that built masksem_interfaces)"
    )


def typestore():
    """ROS 2 Kilted's message types plus masksem_interfaces', from the package's .msg files."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for name, path in interface_messages().items():
        types.update(get_types_from_msg(path.read_text(), name))
    store.register(types)
    return store


def read_labels(path: Path) -> tuple[dict, list[tuple[dict, int]]]:
    """The labels file and its recording entries with their line numbers."""
    if not path.is_file():
        raise DataError(f"--labels {path} does not exist")
    try:
        text = path.read_text()
        labels = yaml.safe_load(text)
        nodes = yaml.compose(text)
    except yaml.YAMLError as err:
        raise DataError(f"{path}: not YAML ({err})") from None
    if (
        not isinstance(labels, dict)
        or not labels.get("classes")
        or not isinstance(labels.get("recordings"), list)
        or not labels["recordings"]
    ):
        raise DataError(f"{path}: needs 'classes' and 'recordings' (README: bags as recordings)")
    entries = next(v for k, v in nodes.value if k.value == "recordings").value
    lines = [node.start_mark.line + 1 for node in entries]
    return labels, list(zip(labels["recordings"], lines, strict=True))


def bag_tracks(
    bag: Path, topic: str | None, num_joints: int
) -> tuple[str, dict[str, list[tuple[np.ndarray, np.ndarray]]]]:
    """The skeleton topic read and, per id, its recordings: (stamps s (T,), joints
    (T, 1, V, 3)), one per stay in view."""
    from rosbags.highlevel import AnyReader

    try:
        reader = AnyReader([bag], default_typestore=typestore())
        reader.open()
    except Exception as err:  # rosbags raises its own errors for unreadable bags and plugins
        raise DataError(f"bag {bag} does not open: {err}") from None
    try:
        skeletons = [c for c in reader.connections if c.msgtype in SKELETON_TYPES]
        chosen = [c for c in reader.connections if c.topic == topic] if topic else skeletons
        if not chosen:
            found = ", ".join(f"{c.topic} ({c.msgtype})" for c in reader.connections) or "none"
            raise DataError(
                f"bag {bag}: no {'topic ' + topic if topic else 'BodyArray or PoseArray topic'}; "
                f"its topics: {found}"
            )
        if len({c.topic for c in chosen}) > 1:
            raise DataError(
                f"bag {bag} holds several skeleton topics ({', '.join(c.topic for c in chosen)}); "
                "name one with 'topic:' in the labels file"
            )
        if chosen[0].msgtype not in SKELETON_TYPES:
            raise DataError(
                f"bag {bag}: topic {chosen[0].topic} is {chosen[0].msgtype}, not a BodyArray or "
                "PoseArray"
            )
        name, msgtype = chosen[0].topic, chosen[0].msgtype
        frames = [
            (
                msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec,
                bodies_of(msg, msgtype, num_joints, bag, name),
            )
            for msg in (
                reader.deserialize(raw, c.msgtype)
                for c, _, raw in reader.messages(connections=chosen)
            )
        ]
    finally:
        reader.close()
    return name, split_stays(frames, bag, name)


def bodies_of(
    message, msgtype: str, num_joints: int, bag: Path, topic: str
) -> dict[str, np.ndarray]:
    """Id → (V, 3) joints of one message; a body whose joints are all NaN is absent."""
    if msgtype == BODY_ARRAY:
        bodies = {}
        for body in message.bodies:
            joints = np.array([[p.x, p.y, p.z] for p in body.joints], dtype=np.float32)
            if len(joints) != num_joints:
                raise DataError(
                    f"bag {bag}, topic {topic}: body {body.id!r} has {len(joints)} joints, the "
                    f"layout {num_joints}"
                )
            bodies[body.id] = joints
        return bodies
    poses = np.array([[p.position.x, p.position.y, p.position.z] for p in message.poses])
    if len(poses) % num_joints:
        raise DataError(
            f"bag {bag}, topic {topic}: {len(poses)} poses are not a multiple of the layout's "
            f"{num_joints} joints"
        )
    slots = poses.reshape(-1, num_joints, 3).astype(np.float32)
    return {str(m): joints for m, joints in enumerate(slots) if not np.isnan(joints).all()}


def split_stays(
    frames: list[tuple[int, dict[str, np.ndarray]]], bag: Path, topic: str
) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per id, one (stamps, joints) per uninterrupted stay; stamps going backwards refused."""
    stays: dict[str, list[list[tuple[int, np.ndarray]]]] = {}
    present: set[str] = set()
    previous = None
    for stamp, bodies in frames:
        if previous is not None and stamp <= previous:
            raise DataError(
                f"bag {bag}, topic {topic}: header stamp {stamp} ns is not after the previous "
                f"message's {previous} ns (stamps must increase)"
            )
        previous = stamp
        for person, joints in bodies.items():
            if person not in present:
                stays.setdefault(person, []).append([])
            stays[person][-1].append((stamp, joints))
        present = set(bodies)
    return {
        person: [
            (np.array([s for s, _ in stay]) * 1e-9, np.stack([j for _, j in stay])[:, None])
            for stay in runs
        ]
        for person, runs in stays.items()
    }


def read_bag_recordings(
    src: Path, labels_path: Path, layout_name: str | None = None
) -> tuple[list[Recording], str, tuple[str, ...]]:
    """Every labelled recording of the bags under ``src``, its layout and classes."""
    labels, entries = read_labels(labels_path)
    name = layout_name or labels.get("layout")
    if not name:
        raise DataError(f"{labels_path}: give the joints' 'layout:' (or --layout)")
    layout = get_layout(str(name))
    classes = tuple(str(c) for c in labels["classes"])
    recordings, read = [], {}
    for entry, line in entries:
        if not isinstance(entry, dict) or not {"bag", "id", "subject"} <= set(entry):
            raise DataError(f"{labels_path}:{line}: a recording needs bag, id and subject")
        bag = src if str(entry["bag"]) == "." else src / str(entry["bag"])
        if not bag.exists():
            raise DataError(f"{labels_path}:{line}: bag {bag} does not exist")
        if bag not in read:
            read[bag] = bag_tracks(bag, labels.get("topic"), layout.num_joints)
        topic, tracks = read[bag]
        person = str(entry["id"])
        if person not in tracks:
            raise DataError(
                f"{labels_path}:{line}: id {person!r} is not in bag {bag} (topic {topic}); "
                f"its ids: {', '.join(sorted(tracks)) or 'none'}"
            )
        intervals, notes = manifest_intervals(
            labels_path, {**entry, "file": f"{entry['bag']}/{person}"}, classes, line
        )
        placed = set()
        for k, (stamps, joints) in enumerate(tracks[person]):
            mine = [a for a in intervals if stamps[0] - 1e-6 <= a[1] <= stamps[-1] + 1e-6]
            placed.update(mine)
            recordings.append(
                checked_recording(
                    bag,
                    labels_path,
                    f"{Path(str(entry['bag'])).name}/{person}" + (f"/{k + 1}" if k else ""),
                    str(entry["subject"]),
                    stamps,
                    joints,
                    mine,
                    classes,
                    notes,
                )
            )
        lost = [a for a in intervals if a not in placed]
        if lost:
            label, begin, finish, _ = lost[0]
            raise DataError(
                f"{labels_path}:{line}: {classes[label]} [{begin:.3f}, {finish:.3f}] s starts "
                f"outside every stay of id {person!r} in bag {bag}"
            )
    return recordings, layout.name, classes
