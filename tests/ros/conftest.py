"""Real rclpy over real DDS: nodes run as separate processes on an isolated localhost domain."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from masksem_core.export.onnx_export import export_classifier
from masksem_core.model import ActionClassifier, LinearProbeHead, SkeletonEncoder
from masksem_core.runtime.model_info import ModelInfo

rclpy = pytest.importorskip("rclpy", reason="needs the ROS 2 wheels (pip install -e .[ros])")

GTU_CLASSES = 14
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def ros_env() -> dict:
    """Environment of every ROS process of the session: its own domain, discovery on localhost."""
    domain = str(random.Random(os.getpid()).randint(20, 99))
    env = dict(
        os.environ,
        ROS_DOMAIN_ID=domain,
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        ROS_LOCALHOST_ONLY="1",
        RMW_IMPLEMENTATION="rmw_fastrtps_cpp",
        PYTHONUNBUFFERED="1",
    )
    os.environ.update(
        {
            k: env[k]
            for k in (
                "ROS_DOMAIN_ID",
                "ROS_AUTOMATIC_DISCOVERY_RANGE",
                "ROS_LOCALHOST_ONLY",
                "RMW_IMPLEMENTATION",
            )
        }
    )
    return env


@pytest.fixture(scope="session")
def gtu_model(tmp_path_factory) -> Path:
    """A small NTU-25 model with the 14 GTU class names (random weights: the tests check the
    plumbing, not accuracy)."""
    from masksem_core.data.gtu import CLASS_NAMES

    encoder = SkeletonEncoder(25, dim=32, depth=1, num_heads=2, mlp_dim=64)
    model = ActionClassifier(encoder, LinearProbeHead(32, GTU_CLASSES)).eval()
    info = ModelInfo(tuple(CLASS_NAMES), "ntu25", window=120, segment_length=4)
    return export_classifier(model, tmp_path_factory.mktemp("model") / "gtu.onnx", info)


@contextmanager
def ros_client(name: str) -> Iterator[tuple]:
    """A node of the test process on a context of its own, with the executor that spins it."""
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node

    context = rclpy.Context()
    rclpy.init(context=context)
    node = Node(name, context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        yield node, executor
    finally:
        executor.shutdown()
        node.destroy_node()
        rclpy.shutdown(context=context)


def start_node(module: str, params: dict, env: dict, log: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", module, "--ros-args"]
    for key, value in params.items():
        args += ["-p", f"{key}:={value}"]
    handle = log.open("w")
    return subprocess.Popen(args, env=env, stdout=handle, stderr=subprocess.STDOUT)


def stop_node(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def wait_until(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.fixture(scope="module")
def listener(ros_env):
    """The test process subscribes to the recognizer's outputs over DDS."""
    from diagnostic_msgs.msg import DiagnosticArray
    from std_msgs.msg import Float32MultiArray, String

    received = {"labels": [], "scores": [], "diagnostics": {}, "statuses": []}

    def on_diagnostics(message: DiagnosticArray) -> None:
        for status in message.status:
            received["diagnostics"].update({v.key: v.value for v in status.values})
            received["statuses"].append((status.level, status.message))

    with ros_client("test_listener") as (node, executor):
        node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
        node.create_subscription(
            String, "/action_label", lambda m: received["labels"].append((time.time(), m.data)), 10
        )
        node.create_subscription(
            Float32MultiArray, "/action_scores", lambda m: received["scores"].append(m), 10
        )

        def spin_for(seconds: float) -> None:
            end = time.time() + seconds
            while time.time() < end:
                executor.spin_once(timeout_sec=0.05)

        yield received, spin_for


def run_publisher(ros_env, file: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(HERE / "skeleton_publisher.py"), str(file), *extra],
        env=ros_env,
        stdout=subprocess.PIPE,
        text=True,
    )


def recognizer(gtu_model, ros_env, tmp_path, **params):
    defaults = {
        "model_path": str(gtu_model),
        "window_seconds": 2.0,
        "stride_seconds": 0.5,
        "score_threshold": 0.0,
        "diagnostics_period": 0.5,
    }
    return start_node(
        "masksem_ros.recognizer_node", {**defaults, **params}, ros_env, tmp_path / "recognizer.log"
    )
