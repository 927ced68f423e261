"""Test helper process: print each decision of the recognizer's per-person topic as JSON, and
each departure as {"left": ID, "stamp_ns": …}.

  python tests/ros/action_listener.py TOPIC SECONDS

It runs where masksem_interfaces is built (the tests pass its environment)."""

from __future__ import annotations

import json
import sys
import time

import rclpy
from rclpy.node import Node

from masksem_interfaces.msg import ActionDecisionArray


def seconds(stamp: object) -> float:
    return stamp.sec + stamp.nanosec * 1e-9


def nanoseconds(stamp: object) -> int:
    return stamp.sec * 1_000_000_000 + stamp.nanosec


def main() -> None:
    topic, duration = sys.argv[1], float(sys.argv[2])
    rclpy.init()
    node = Node("test_action_listener")

    def on_actions(message: ActionDecisionArray) -> None:
        for person in message.left:
            departure = {"left": person, "stamp_ns": nanoseconds(message.header.stamp)}
            print(json.dumps(departure), flush=True)
        for d in message.decisions:
            row = {
                "array_stamp": seconds(message.header.stamp),
                "stamp": seconds(d.header.stamp),
                "stamp_ns": nanoseconds(d.header.stamp),
                "window_start_ns": nanoseconds(d.window_start),
                "frame_id": d.header.frame_id,
                "window_start": seconds(d.window_start),
                "person": d.person_id,
                "label": d.label,
                "confidence": d.confidence,
                "class_names": list(d.class_names),
                "probabilities": list(d.probabilities),
                "smoothed": list(d.smoothed_probabilities),
            }
            print(json.dumps(row), flush=True)

    node.create_subscription(ActionDecisionArray, topic, on_actions, 10)
    print("listening", flush=True)
    end = time.time() + duration
    while time.time() < end:
        rclpy.spin_once(node, timeout_sec=0.05)
    node.destroy_node()
    rclpy.shutdown()


if __name__ == "__main__":
    main()
