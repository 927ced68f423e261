"""ROS 2 node ``recognizer``: /skeleton (PoseArray) → ONNX model → /action_label, /action_scores.

Thin wrapper: buffering, resampling, smoothing and inference live in masksem_core.runtime.
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
import rclpy
from geometry_msgs.msg import PoseArray
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from std_msgs.msg import Float32MultiArray, MultiArrayDimension, String

from masksem_core.runtime.live import (
    DecisionSmoother,
    LatestOnlyWorker,
    SkeletonMessageError,
    TimedSkeletonBuffer,
    decode_joints,
)
from masksem_core.runtime.preprocess import inference_window
from masksem_core.runtime.session import ActionSession, ModelFileError
from masksem_ros.spin import spin_until_shutdown

PARAMETERS = {
    "model_path": ("", "ONNX model exported by training/export_onnx.py"),
    "window_seconds": (4.0, "length of the skeleton history classified each time (s)"),
    "stride_seconds": (0.5, "message time between two classifications (s)"),
    "score_threshold": (0.5, "below this top probability the decision is no_action_label"),
    "smoothing_window": (3, "majority vote over this many last decisions (1 = none)"),
    "no_action_label": ("no action", "label published when no class reaches the threshold"),
    "max_persons": (2, "bodies accepted per message (V·M poses)"),
    "person_timeout": (1.0, "a body unseen for this long is dropped from the window (s)"),
    "max_gap_seconds": (2.0, "a larger gap between stamps restarts the history (s)"),
    "providers": ([""], "ONNX Runtime providers in order; empty = TensorRT → CUDA → CPU"),
    "threads": (0, "ONNX Runtime intra-op threads (0 = runtime default)"),
    "input_topic": ("/skeleton", "geometry_msgs/PoseArray input, sensor-data QoS"),
    "label_topic": ("/action_label", "std_msgs/String output"),
    "scores_topic": ("/action_scores", "std_msgs/Float32MultiArray class probabilities"),
    "stats_period": (10.0, "seconds between statistics log lines (0 = never)"),
}


class RecognizerNode(Node):
    def __init__(self) -> None:
        super().__init__("recognizer")
        self.worker: LatestOnlyWorker | None = None
        for name, (default, description) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description))
        p = {name: self.get_parameter(name).value for name in PARAMETERS}
        providers = [x for x in p["providers"] if x] or None
        self.session = ActionSession(
            p["model_path"], providers=providers, threads=p["threads"] or None
        )
        info = self.session.info
        self.get_logger().info(
            f"model {p['model_path']}: {len(info.class_names)} classes, layout {info.layout}, "
            f"provider {self.session.provider}"
        )
        self.session.warm_up(p["max_persons"])
        self.window_frames = info.window
        self.buffer = TimedSkeletonBuffer(
            p["window_seconds"],
            p["max_gap_seconds"],
            p["max_persons"],
            self.session.num_joints,
            p["person_timeout"],
        )
        self.smoother = DecisionSmoother(
            info.class_names, p["score_threshold"], p["smoothing_window"], p["no_action_label"]
        )
        self.stride = p["stride_seconds"]
        self.max_persons = p["max_persons"]
        self.last_trigger: float | None = None
        self.dropped: dict[str, int] = {}
        self.latencies: list[float] = []  # last skeleton message → labels published (s)
        self.model_latencies: list[float] = []  # the ONNX session alone (s)
        self.label_pub = self.create_publisher(
            String, p["label_topic"], QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        )
        self.scores_pub = self.create_publisher(Float32MultiArray, p["scores_topic"], 10)
        self.create_subscription(
            PoseArray, p["input_topic"], self.on_skeleton, qos_profile_sensor_data
        )
        self.worker = LatestOnlyWorker(self.infer, self.on_worker_error)
        if p["stats_period"] > 0:
            self.create_timer(p["stats_period"], self.log_stats)

    def drop(self, reason: str, detail: str) -> None:
        """Count a dropped message; log the first of each reason, then at most once a second."""
        self.dropped[reason] = self.dropped.get(reason, 0) + 1
        text = f"dropped a /skeleton message ({reason}): {detail}"
        if self.dropped[reason] == 1:
            self.get_logger().warning(text)
        else:
            self.get_logger().warning(text, throttle_duration_sec=1.0)

    def on_skeleton(self, msg: PoseArray) -> None:
        received = time.perf_counter()
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        positions = np.array(
            [[q.position.x, q.position.y, q.position.z] for q in msg.poses], dtype=np.float64
        ).reshape(-1, 3)
        try:
            joints = decode_joints(positions, self.buffer.num_joints, self.max_persons)
            self.buffer.push(stamp, joints)
        except SkeletonMessageError as err:
            self.drop(err.kind, str(err))
            return
        if self.last_trigger is None or stamp < self.last_trigger:
            self.last_trigger = stamp
        if stamp - self.last_trigger >= self.stride:
            window = self.buffer.window(self.window_frames)
            if window is not None:
                self.last_trigger = stamp
                self.worker.submit((received, window))

    def infer(self, item: tuple[float, np.ndarray]) -> None:
        received, window = item
        model_input = inference_window(window, self.session.info.layout, self.window_frames)
        started = time.perf_counter()
        probabilities = self.session.probabilities(model_input[None])[0]
        self.model_latencies.append(time.perf_counter() - started)
        label = self.smoother.update(probabilities)
        scores = Float32MultiArray()
        scores.layout.dim = [
            MultiArrayDimension(label="classes", size=len(probabilities), stride=len(probabilities))
        ]
        scores.data = probabilities.astype(np.float32).tolist()
        self.scores_pub.publish(scores)
        self.label_pub.publish(String(data=label))
        self.latencies.append(time.perf_counter() - received)
        del self.latencies[:-1000]
        del self.model_latencies[:-1000]

    def on_worker_error(self, err: BaseException) -> None:
        self.get_logger().error(f"inference failed, window dropped: {err}")

    def log_stats(self) -> None:
        lat = np.array(self.latencies or [0.0]) * 1000
        model = np.array(self.model_latencies or [0.0]) * 1000
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.get_logger().info(
            f"stats: accepted {self.buffer.stats.accepted}, dropped {self.dropped}, backwards "
            f"{self.buffer.stats.dropped_backwards}, gap resets "
            f"{self.buffer.stats.resets_after_gap}, inferences {self.worker.processed}, stale "
            f"windows {self.worker.stale}, latency p50 {np.percentile(lat, 50):.1f} ms p90 "
            f"{np.percentile(lat, 90):.1f} ms (model alone p50 {np.percentile(model, 50):.1f} ms), "
            f"peak RSS {rss:.0f} MB"
        )

    def destroy_node(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    rclpy.init(args=args)
    try:
        node = RecognizerNode()
    except (ModelFileError, ValueError) as err:
        print(f"recognizer: {err}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    spin_until_shutdown(node)
    return 0


if __name__ == "__main__":
    sys.exit(main())
