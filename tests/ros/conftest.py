"""Real rclpy over real DDS: nodes run as separate processes on an isolated localhost domain."""

from __future__ import annotations

import os
import random
import shutil
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
from masksem_core.window_spec import WindowSpec

rclpy = pytest.importorskip("rclpy", reason="needs the ROS 2 wheels (pip install -e .[ros])")

GTU_CLASSES = 14
STREAM_SECONDS = 2.0
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


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
    """A small NTU-25 model with the 14 GTU class names, clip mode (random weights: the tests
    check the plumbing, not accuracy)."""
    from masksem_core.data.gtu import CLASS_NAMES

    info = ModelInfo(tuple(CLASS_NAMES), WindowSpec("ntu25"), segment_length=4)
    return random_model(info, tmp_path_factory.mktemp("model") / "gtu.onnx")


@pytest.fixture(scope="session")
def stream_model(tmp_path_factory) -> Path:
    """The same with a "no action" class, trained (here: random) on 2 s stream windows."""
    from masksem_core.data.gtu import CLASS_NAMES

    info = ModelInfo(
        (*CLASS_NAMES, "no action"),
        WindowSpec("ntu25", "stream", seconds=STREAM_SECONDS),
        segment_length=4,
        bodies=1,
        background_class="no action",
        score_threshold=0.0,
    )
    return random_model(info, tmp_path_factory.mktemp("model") / "stream.onnx")


def random_model(info: ModelInfo, path: Path) -> Path:
    encoder = SkeletonEncoder(25, dim=32, depth=1, num_heads=2, mlp_dim=64)
    model = ActionClassifier(encoder, LinearProbeHead(32, len(info.class_names))).eval()
    return export_classifier(model, path, info)


@pytest.fixture(scope="session")
def interfaces_env(ros_env, tmp_path_factory) -> dict:
    """masksem_interfaces built as CI and users build it (tools/colcon_build.sh: colcon against
    this environment's ROS 2 wheels), and the environment in which the recognizer finds it (and
    publishes its per-person actions topic)."""
    if shutil.which("colcon") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but colcon is not installed")
        pytest.skip("needs colcon and the rosidl wheels (pip install -e .[all])")
    out = tmp_path_factory.mktemp("interfaces")
    result = subprocess.run(
        [str(REPO / "tools" / "colcon_build.sh"), str(out), "--interfaces-only"],
        env=ros_env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    install = out / "install" / "masksem_interfaces"
    site = next(install.glob("lib/python3*/site-packages"))

    def prepend(key: str, value: Path) -> str:
        return os.pathsep.join([str(value), *filter(None, [ros_env.get(key, "")])])

    return dict(
        ros_env,
        PYTHONPATH=prepend("PYTHONPATH", site),
        LD_LIBRARY_PATH=prepend("LD_LIBRARY_PATH", install / "lib"),
        AMENT_PREFIX_PATH=prepend("AMENT_PREFIX_PATH", install),
    )


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
