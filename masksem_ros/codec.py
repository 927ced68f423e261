"""The one message ⇄ array codec: the recognizer, the camera source, the tests and the
benchmark read and write skeletons through it (geometry_msgs/PoseArray: bodies by position;
masksem_interfaces/BodyArray: bodies with the tracker's ids)."""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Pose, PoseArray
from rclpy.time import Time


def stamp_ns(header: object) -> int:
    """A header's stamp in integer nanoseconds, exactly as stamped."""
    return header.stamp.sec * 1_000_000_000 + header.stamp.nanosec


def positions_of(msg: PoseArray) -> tuple[int, np.ndarray]:
    """(capture time in integer nanoseconds, exactly as stamped; (V·M, 3) joint positions,
    NaN = missing) of a /skeleton message."""
    stamp = stamp_ns(msg.header)
    positions = np.array(
        [(q.position.x, q.position.y, q.position.z) for q in msg.poses], dtype=np.float64
    ).reshape(-1, 3)
    return stamp, positions


def skeleton_message(joints: np.ndarray, stamp: float, frame_id: str = "camera") -> PoseArray:
    """A /skeleton message of (…, 3) joint positions (bodies one after the other) at ``stamp``."""
    msg = PoseArray()
    msg.header.stamp = Time(nanoseconds=round(stamp * 1e9)).to_msg()
    msg.header.frame_id = frame_id
    for x, y, z in np.asarray(joints, dtype=np.float64).reshape(-1, 3).tolist():
        pose = Pose()
        pose.position.x, pose.position.y, pose.position.z = x, y, z
        msg.poses.append(pose)
    return msg


def bodies_of(msg: object) -> tuple[int, list[str], list[np.ndarray]]:
    """(capture time in integer nanoseconds; the tracker's ids; (V, 3) joint positions per
    body, NaN = missing) of a masksem_interfaces/BodyArray message."""
    ids = [body.id for body in msg.bodies]
    bodies = [
        np.array([(p.x, p.y, p.z) for p in body.joints], dtype=np.float64).reshape(-1, 3)
        for body in msg.bodies
    ]
    return stamp_ns(msg.header), ids, bodies


def bodies_message(
    ids: list[str], joints: np.ndarray, stamp: float, frame_id: str = "camera"
) -> object:
    """A masksem_interfaces/BodyArray of (M, V, 3) joint positions with ids at ``stamp``."""
    from geometry_msgs.msg import Point

    from masksem_interfaces.msg import Body, BodyArray

    msg = BodyArray()
    msg.header.stamp = Time(nanoseconds=round(stamp * 1e9)).to_msg()
    msg.header.frame_id = frame_id
    for person, body in zip(ids, np.asarray(joints, dtype=np.float64), strict=True):
        msg.bodies.append(
            Body(id=person, joints=[Point(x=x, y=y, z=z) for x, y, z in body.tolist()])
        )
    return msg
