"""The one PoseArray ⇄ array codec: the recognizer, the camera source, the tests and the
benchmark all read and write /skeleton through it."""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import Pose, PoseArray
from rclpy.time import Time


def positions_of(msg: PoseArray) -> tuple[int, np.ndarray]:
    """(capture time in integer nanoseconds, exactly as stamped; (V·M, 3) joint positions,
    NaN = missing) of a /skeleton message."""
    stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
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
