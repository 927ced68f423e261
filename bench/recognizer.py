"""End-to-end latency and sustained input rate of the ROS 2 recognizer over real DDS.

Starts the recognizer node as its own process, publishes a real recording of the model's layout
(GTU for ntu25, UTKinect for kinect_v1_20; looped, --bodies people 0.8 m apart) on
/skeleton at --rate Hz with --bodies bodies from this process, listens to /action_label, and
prints: messages sent/accepted, inferences, stale windows, latency from the last message of a
window to its /action_label (p50/p90/p99) next to the node's own measure (callback → publish) and
the ONNX session alone in the same run (DESIGN §7 target: end-to-end ≤ model + 5 ms), and the
node's memory at start and end.

  python bench/recognizer.py --seconds 30 --bodies 2 --rate 30
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
GTU = REPO.parent / "shared" / "data" / "gtu" / "8" / "movement4.txt"
UTKINECT = REPO.parent / "shared" / "data" / "utkinect"


def real_frames(layout: str) -> np.ndarray:
    """(T, V, 3) real frames of the model's layout: a GTU sequence (ntu25) or a UTKinect
    recording (kinect_v1_20)."""
    if layout == "ntu25":
        from masksem_core.data.gtu import read_gtu

        return read_gtu(GTU).data[0]
    if layout == "kinect_v1_20":
        from masksem_core.data.utkinect import labels_file, read_action_labels, read_recording

        labels, _ = read_action_labels(labels_file(UTKINECT))
        recording = read_recording(UTKINECT / "joints_s01_e01.txt", labels["s01_e01"])
        return recording.joints[:, 0]
    raise SystemExit(f"error: no real recording of layout {layout} to publish")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, default=REPO / "models" / "gtu_masksem.onnx")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument(
        "--bodies", type=int, default=2, help="people in every message (0.8 m apart)"
    )
    parser.add_argument("--stride", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.environ.update(
        ROS_DOMAIN_ID=str(random.randint(20, 99)),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        ROS_LOCALHOST_ONLY="1",
    )
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from geometry_msgs.msg import PoseArray
    from rclpy.node import Node
    from rclpy.qos import qos_profile_sensor_data
    from std_msgs.msg import String

    from masksem_core.runtime.session import ActionSession
    from masksem_ros.codec import skeleton_message

    log = Path("/tmp") / f"recognizer_bench_{os.getpid()}.log"
    node_proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "masksem_ros.recognizer_node",
            "--ros-args",
            "-p",
            f"model_path:={args.model}",
            "-p",
            f"stride_seconds:={args.stride}",
            "-p",
            f"threads:={args.threads}",
            "-p",
            "diagnostics_period:=1.0",
            "-p",
            f"max_persons:={max(args.bodies, 1)}",
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    rclpy.init()
    node = Node("recognizer_bench")
    pub = node.create_publisher(PoseArray, "/skeleton", qos_profile_sensor_data)
    labels: list[float] = []
    node.create_subscription(String, "/action_label", lambda m: labels.append(time.time()), 10)
    diagnostics: dict[str, str] = {}
    node.create_subscription(
        DiagnosticArray,
        "/diagnostics",
        lambda m: diagnostics.update({v.key: v.value for s in m.status for v in s.values}),
        10,
    )
    while pub.get_subscription_count() == 0 or "classes" not in log.read_text():
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(0.5)
    memory_start = rss_mb(node_proc.pid)
    frames = real_frames(ActionSession(args.model).info.window_spec.layout)
    period = 1.0 / args.rate
    sent: list[tuple[float, float]] = []  # (stamp, wall time of publish)
    start = time.time()
    stamp = start
    i = 0
    while time.time() - start < args.seconds:
        joints = np.concatenate(
            [frames[i % len(frames)] + np.array([0.8 * k, 0.0, 0.0]) for k in range(args.bodies)]
        )
        pub.publish(skeleton_message(joints, stamp))
        sent.append((stamp, time.time()))
        i += 1
        stamp += period
        next_time = start + i * period
        while time.time() < next_time:
            rclpy.spin_once(node, timeout_sec=max(0.0, next_time - time.time()))
    end = time.time() + 1.5
    while time.time() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    memory_end = rss_mb(node_proc.pid)
    final = dict(diagnostics)  # the node's last /diagnostics before it stops
    node_proc.terminate()
    node_proc.wait(timeout=10)
    node.destroy_node()
    rclpy.shutdown()
    # The node classifies on the first message whose stamp is ≥ stride after the last trigger
    # (from the first message), a clip-mode model once half its 4 s window is buffered: replay
    # that rule to pair labels with triggers.
    info = ActionSession(args.model).info
    wait = 0.0 if info.window_spec.mode == "stream" else 2.0
    triggers, last = [], sent[0][0]
    for stamp_i, wall in sent:
        if stamp_i - last >= args.stride - 1e-6 and stamp_i - sent[0][0] >= wait - 1e-6:
            triggers.append(wall)
            last = stamp_i
    accepted = int(final.get("accepted", 0))
    stale = int(final.get("stale_windows", 0))
    latencies = []
    for trigger in triggers:
        after = [t for t in labels if t >= trigger]
        if after:
            latencies.append((after[0] - trigger) * 1000)
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99]) if latencies else (np.nan,) * 3
    node_p50 = float(final.get("latency_p50_ms", "nan"))
    model_p50 = float(final.get("model_p50_ms", "nan"))
    print(
        f"recognizer over DDS: {args.bodies} bodies at {args.rate:.0f} Hz for "
        f"{args.seconds:.0f} s, stride {args.stride} s, model {args.model.name}, "
        f"{args.threads} ORT threads"
    )
    print(
        "| messages sent | accepted | labels | stale windows | end-to-end latency p50 / p90 / "
        "p99 ms | in the node p50 ms | model alone p50 ms | end-to-end − model p50 ms | "
        "node RSS start → end MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {len(sent)} | {accepted} | {len(labels)} | {stale} | {p50:.1f} / {p90:.1f} / "
        f"{p99:.1f} | {node_p50:.1f} | {model_p50:.1f} | {p50 - model_p50:.1f} | "
        f"{memory_start:.0f} → {memory_end:.0f} |"
    )
    print(f"input rate achieved: {len(sent) / args.seconds:.1f} msg/s; diagnostics: {final}")


if __name__ == "__main__":
    main()
