"""Real rclpy over real DDS: nodes run as separate processes on an isolated localhost domain."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from masksem_core.export.onnx_export import export_classifier
from masksem_core.model import ActionClassifier, LinearProbeHead, SkeletonEncoder
from masksem_core.runtime.model_info import ModelInfo

rclpy = pytest.importorskip("rclpy", reason="needs the ROS 2 wheels (pip install -e .[ros])")

GTU_CLASSES = 14


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
