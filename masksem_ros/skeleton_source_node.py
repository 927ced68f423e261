"""ROS 2 node ``skeleton_source``: camera / video / image → MediaPipe Pose → NTU-25 → /skeleton.

Each PoseArray carries 25 poses (joints in NTU order, metres, NTU camera axes) stamped with the
frame's capture time.
"""

from __future__ import annotations

import sys
import threading

from geometry_msgs.msg import PoseArray
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data

from masksem_core.runtime.camera import MediaPipeSkeletonizer, SourceError, open_frames
from masksem_ros.codec import skeleton_message
from masksem_ros.spin import run_node

PARAMETERS = {
    "source": ("0", "camera index, video file or image file"),
    "rate_hz": (30.0, "upper bound of the frame rate (images are republished at this rate)"),
    "loop": (False, "restart a video file at its end"),
    "min_detection_confidence": (0.5, "MediaPipe person detection threshold"),
    "frame_id": ("camera", "header.frame_id of the published skeletons"),
    "output_topic": ("skeleton", "geometry_msgs/PoseArray output (relative to the namespace)"),
}


class SkeletonSourceNode(Node):
    def __init__(self) -> None:
        super().__init__("skeleton_source")
        self.skeletonizer: MediaPipeSkeletonizer | None = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.capture_loop, daemon=True)
        for name, (default, description) in PARAMETERS.items():
            # dynamic typing for source: "-p source:=0" arrives as an integer, a path as a string
            descriptor = ParameterDescriptor(
                description=description, read_only=True, dynamic_typing=name == "source"
            )
            self.declare_parameter(name, default, descriptor)
        self.p = {name: self.get_parameter(name).value for name in PARAMETERS}
        self.publisher = self.create_publisher(
            PoseArray, self.p["output_topic"], qos_profile_sensor_data
        )
        self.skeletonizer = MediaPipeSkeletonizer(self.p["min_detection_confidence"])
        self.frames = open_frames(str(self.p["source"]), self.p["rate_hz"], self.p["loop"])
        self.published = 0
        self.missed = 0
        self.failure: str | None = None

    def capture_loop(self) -> None:
        try:
            for stamp, frame in self.frames:
                if self.stop.is_set():
                    break
                joints = self.skeletonizer(frame)
                if joints is None:
                    self.missed += 1
                    self.get_logger().info("no person in the frame", throttle_duration_sec=5.0)
                    continue
                self.publisher.publish(skeleton_message(joints, stamp, self.p["frame_id"]))
                self.published += 1
        except SourceError as err:
            self.failure = str(err)
            self.get_logger().error(f"{err}; shutting down")
            self.context.try_shutdown()
            return
        except Exception as err:  # keep the reason visible, then end the source
            self.get_logger().error(f"capture stopped: {type(err).__name__}: {err}")
        self.get_logger().info(
            f"source ended: {self.published} skeletons, {self.missed} frames without a person"
        )

    def destroy_node(self) -> None:
        self.stop.set()
        if self.thread.is_alive() and threading.current_thread() is not self.thread:
            self.thread.join(timeout=2.0)
        if self.skeletonizer is not None:
            self.skeletonizer.close()
            self.skeletonizer = None
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    nodes: list[SkeletonSourceNode] = []

    def start(node: SkeletonSourceNode) -> int:
        nodes.append(node)
        node.thread.start()
        return 0

    code = run_node(SkeletonSourceNode, start, args)
    return 2 if nodes and nodes[0].failure else code


if __name__ == "__main__":
    sys.exit(main())
