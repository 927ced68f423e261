import subprocess
import sys
import time

import numpy as np
import pytest

from tests.ros.conftest import (
    GTU_CLASSES,
    recognizer,
    ros_client,
    rss_mb,
    run_publisher,
    start_node,
    stop_node,
    wait_until,
)


def spin_while(process: subprocess.Popen, spin_for, timeout: float) -> None:
    deadline = time.time() + timeout
    while process.poll() is None and time.time() < deadline:
        spin_for(0.2)
    assert process.poll() == 0, "the publisher did not finish"


def test_real_sequence_gives_labels_and_scores(shared_data, gtu_model, ros_env, listener, tmp_path):
    from masksem_core.data.gtu import CLASS_NAMES

    received, spin_for = listener
    received["labels"].clear()
    received["scores"].clear()
    node = recognizer(gtu_model, ros_env, tmp_path)
    try:
        publisher = run_publisher(
            ros_env, shared_data / "gtu" / "8" / "movement4.txt", "--rate", "30", "--loops", "2"
        )
        spin_while(publisher, spin_for, 60)
        spin_for(1.0)
    finally:
        stop_node(node)
    assert len(received["labels"]) >= 3, (tmp_path / "recognizer.log").read_text()[-2000:]
    assert {label for _, label in received["labels"]} <= set(CLASS_NAMES)
    scores = received["scores"][-1]
    assert scores.layout.dim[0].label == "classes" and scores.layout.dim[0].size == GTU_CLASSES
    assert len(scores.data) == GTU_CLASSES
    assert abs(sum(scores.data) - 1.0) < 1e-4


def test_bad_messages_are_dropped_and_the_node_keeps_publishing(
    shared_data, gtu_model, ros_env, listener, tmp_path
):
    from diagnostic_msgs.msg import DiagnosticStatus

    received, spin_for = listener
    received["labels"].clear()
    received["diagnostics"].clear()
    received["statuses"].clear()
    node = recognizer(gtu_model, ros_env, tmp_path)
    try:
        assert wait_until(lambda: "active" in (tmp_path / "recognizer.log").read_text(), 30)
        time.sleep(1.0)
        memory_before = rss_mb(node.pid)
        publisher = run_publisher(
            ros_env,
            shared_data / "gtu" / "8" / "movement4.txt",
            "--rate",
            "30",
            "--loops",
            "3",
            "--bad",
        )
        deadline = time.time() + 90
        while publisher.poll() is None and time.time() < deadline:
            spin_for(0.1)
        sent_lines = publisher.stdout.read().splitlines()
        spin_for(1.5)
        memory_after = rss_mb(node.pid)
        assert node.poll() is None, "the recognizer died"
    finally:
        stop_node(node)
    log = (tmp_path / "recognizer.log").read_text()
    assert "poses is not a multiple of the model's 25 joints" in log
    assert "is not after the previous" in log
    diagnostics = received["diagnostics"]  # counters over DDS, not parsed from the log
    assert int(diagnostics["dropped_pose_count"]) >= 1, diagnostics
    assert int(diagnostics["dropped_no_valid_joints"]) >= 1, diagnostics
    assert int(diagnostics["dropped_out_of_order"]) >= 1, diagnostics
    assert int(diagnostics["gap_resets"]) in (1, 2), diagnostics
    assert int(diagnostics["inferences"]) >= 3 and float(diagnostics["model_p50_ms"]) > 0
    # every message accounted: the good ones, 4 bad ones and the burst of 1,000
    sent = sum(line.startswith("sent ") for line in sent_lines) + 4 + 1000
    handled = int(diagnostics["received"])
    assert handled + int(diagnostics["lost_in_transport"]) == sent, (sent, diagnostics)
    assert handled == int(diagnostics["accepted"]) + int(diagnostics["dropped_total"])
    warnings = [text for level, text in received["statuses"] if level == DiagnosticStatus.WARN]
    assert any("dropped (" in text and "pose_count: " in text for text in warnings), warnings
    assert received["statuses"][-1][0] == DiagnosticStatus.OK, received["statuses"][-3:]
    burst_time = float(sent_lines[40].split()[2])  # message 41 follows the bad burst
    late_labels = [t for t, _ in received["labels"] if t > burst_time + 1.0]
    assert len(late_labels) >= 3, log[-2000:]
    assert memory_after - memory_before < 40, (memory_before, memory_after)


def test_skeleton_source_on_a_photo_of_a_person(ros_env, tmp_path):
    import cv2
    from geometry_msgs.msg import PoseArray
    from rclpy.qos import qos_profile_sensor_data
    from skimage.data import astronaut

    image = tmp_path / "astronaut.png"
    cv2.imwrite(str(image), astronaut()[:, :, ::-1])
    source = start_node(
        "masksem_ros.skeleton_source_node",
        {"source": str(image), "rate_hz": 5.0},
        ros_env,
        tmp_path / "source.log",
    )
    messages = []
    try:
        with ros_client("test_skeleton_listener") as (node, executor):
            node.create_subscription(
                PoseArray, "/skeleton", messages.append, qos_profile_sensor_data
            )
            deadline = time.time() + 60
            while not messages and time.time() < deadline and source.poll() is None:
                executor.spin_once(timeout_sec=0.2)
    finally:
        stop_node(source)
    assert messages, (tmp_path / "source.log").read_text()[-2000:]
    msg = messages[0]
    joints = np.array([[p.position.x, p.position.y, p.position.z] for p in msg.poses])
    assert joints.shape == (25, 3) and np.isfinite(joints).all()
    assert msg.header.stamp.sec > 0
    assert joints[3, 1] > joints[0, 1]  # head above the spine base: NTU's y is up


def get_parameters(name: str, names: list[str]) -> list:
    """What `ros2 param get` does: the node's get_parameters service, over DDS."""
    from rclpy.parameter_client import AsyncParameterClient

    with ros_client("test_param_getter") as (node, executor):
        client = AsyncParameterClient(node, name)
        assert client.wait_for_services(timeout_sec=20.0)
        future = client.get_parameters(names)
        executor.spin_until_future_complete(future, timeout_sec=20.0)
        return future.result().values


def set_parameters(name: str, values: dict) -> list:
    """What `ros2 param set` does: the node's set_parameters service, over DDS."""
    from rclpy.parameter import Parameter
    from rclpy.parameter_client import AsyncParameterClient

    with ros_client("test_param_client") as (node, executor):
        client = AsyncParameterClient(node, name)
        assert client.wait_for_services(timeout_sec=20.0)
        future = client.set_parameters([Parameter(k, value=v) for k, v in values.items()])
        executor.spin_until_future_complete(future, timeout_sec=20.0)
        return future.result().results


def test_parameters_apply_while_running_and_bad_values_are_rejected(
    shared_data, gtu_model, ros_env, listener, tmp_path
):
    received, spin_for = listener
    received["labels"].clear()
    node = recognizer(gtu_model, ros_env, tmp_path, stride_seconds=0.25)
    try:
        assert wait_until(lambda: "active" in (tmp_path / "recognizer.log").read_text(), 30)
        publisher = run_publisher(
            ros_env, shared_data / "gtu" / "8" / "movement4.txt", "--rate", "30", "--loops", "4"
        )
        deadline = time.time() + 10
        while time.time() < deadline and len(received["labels"]) < 3:
            spin_for(0.2)
        assert received["labels"] and all(
            label != "no action" for _, label in received["labels"]
        )  # random weights, threshold 0: always a class
        (result,) = set_parameters("/recognizer", {"score_threshold": 0.99})
        assert result.successful, result.reason
        switched = time.time()
        spin_while(publisher, spin_for, 60)
        late = [label for t, label in received["labels"] if t > switched + 1.5]
        assert late and set(late) == {"no action"}, late  # 14 classes never reach 0.99
        rejected = set_parameters("/recognizer", {"max_persons": -3})[0]
        assert not rejected.successful and rejected.reason
        out_of_range = set_parameters("/recognizer", {"score_threshold": 1.5})[0]
        assert not out_of_range.successful
        read_only = set_parameters("/recognizer", {"model_path": "other.onnx"})[0]
        assert not read_only.successful
        assert node.poll() is None
    finally:
        stop_node(node)


@pytest.mark.parametrize("how", ["params_file_string", "command_line_integer"])
def test_skeleton_source_takes_a_camera_index_as_the_launch_passes_it(ros_env, tmp_path, how):
    """The launch passes source as a string ('0'); `-p source:=0` passes an integer. Both reach
    the camera (none here): a clear error and exit 2, never a parameter type exception."""
    log = tmp_path / "source.log"
    args = [sys.executable, "-m", "masksem_ros.skeleton_source_node", "--ros-args"]
    if how == "params_file_string":
        params = tmp_path / "params.yaml"
        params.write_text("skeleton_source:\n  ros__parameters:\n    source: '0'\n")
        args += ["--params-file", str(params)]
    else:
        args += ["-p", "source:=0"]
    result = subprocess.run(args, env=ros_env, capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    log.write_text(output)
    assert "InvalidParameterTypeException" not in output
    assert "cannot open camera 0" in output, output[-2000:]
    assert result.returncode == 2


def test_a_second_ctrl_c_during_shutdown_is_not_a_crash(gtu_model, ros_env, tmp_path):
    import signal

    for attempt in range(3):
        log = tmp_path / f"sigint{attempt}.log"
        node = start_node(
            "masksem_ros.recognizer_node", {"model_path": str(gtu_model)}, ros_env, log
        )
        assert wait_until(lambda log=log: "active" in log.read_text(), 30)
        node.send_signal(signal.SIGINT)
        time.sleep(0.01 * attempt)
        node.send_signal(signal.SIGINT)
        assert node.wait(timeout=20) == 0, log.read_text()[-2000:]
        assert "Traceback" not in log.read_text()


def test_integer_values_of_double_parameters_are_accepted_and_ranges_named(
    gtu_model, ros_env, tmp_path
):
    """`stride_seconds: 1` in a params file and `ros2 param set … stride_seconds 2` are doubles;
    a value out of range is refused naming the range, at start (exit 2) and live."""
    params = tmp_path / "params.yaml"
    params.write_text(
        "/**/recognizer:\n  ros__parameters:\n    stride_seconds: 1\n    person_timeout: 2\n"
    )
    log = tmp_path / "recognizer.log"
    command = [sys.executable, "-m", "masksem_ros.recognizer_node", "--ros-args"]
    command += ["--params-file", str(params), "-p", f"model_path:={gtu_model}"]
    with log.open("w") as handle:
        node = subprocess.Popen(command, env=ros_env, stdout=handle, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: "active" in log.read_text(), 30), log.read_text()
        from rcl_interfaces.msg import ParameterType

        (stride,) = get_parameters("/recognizer", ["stride_seconds"])
        assert stride.type == ParameterType.PARAMETER_DOUBLE and stride.double_value == 1.0
        (text,) = set_parameters("/recognizer", {"stride_seconds": "fast"})
        assert not text.successful and "must be a number (a double), got 'fast'" in text.reason
        (accepted,) = set_parameters("/recognizer", {"stride_seconds": 2})
        assert accepted.successful, accepted.reason
        (refused,) = set_parameters("/recognizer", {"stride_seconds": -1})
        assert not refused.successful and "Min: 0.01" in refused.reason, refused.reason
        assert node.poll() is None
    finally:
        stop_node(node)
    params.write_text("/**/recognizer:\n  ros__parameters:\n    stride_seconds: -1\n")
    result = subprocess.run(command, env=ros_env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "stride_seconds = -1 is out of its range [0.01, 60]" in result.stderr
    assert "Traceback" not in result.stderr
