"""The robot interface over real DDS: per-person stamped decisions, a fresh stream after a gap,
parameter files under a namespace, and a Ctrl-C during start-up."""

import json
import signal
import subprocess
import sys
import time

import numpy as np

from tests.conftest import SHARED_DATA
from tests.ros.conftest import (
    HERE,
    REPO,
    STREAM_SECONDS,
    recognizer,
    run_publisher,
    start_node,
    stop_node,
    wait_until,
)

GTU_FILE = SHARED_DATA / "gtu" / "8" / "movement4.txt"


def listen(env: dict, seconds: float, topic: str = "/actions") -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, str(HERE / "action_listener.py"), topic, str(seconds)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout.readline().strip() == "listening", process.stdout.read()
    return process


def decisions_of(listener: subprocess.Popen) -> list[dict]:
    """The decisions and departures (rows with "left") the listener printed."""
    out, _ = listener.communicate(timeout=120)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def sent_stamps(publisher: subprocess.Popen) -> tuple[set[int], dict[str, list[float]]]:
    """The stamps the publisher sent (integer nanoseconds), and its events: where it left gaps
    (s), rewound its stamps and had a body leave (ns)."""
    lines = publisher.stdout.read().splitlines()
    stamps = {int(line.split()[3]) for line in lines if line.startswith("sent ")}
    events = {
        event: [kind(line.split()[1]) for line in lines if line.startswith(f"{event} ")]
        for event, kind in (("gap", float), ("rewind", int), ("left", int))
    }
    return stamps, events


def published_decisions(
    model, env: dict, tmp_path, seconds: float, *publisher_args: str
) -> tuple[list[dict], set[int], dict[str, list[float]]]:
    """Run the recognizer on ``model``, play the GTU file with ``publisher_args``, return what
    reached /actions, the stamps sent and the publisher's events."""
    node = recognizer(model, env, tmp_path, window_seconds=0.0, smoothing_window=3)
    try:
        assert wait_until(lambda: "active" in (tmp_path / "recognizer.log").read_text(), 30)
        listener = listen(env, seconds)
        publisher = run_publisher(env, GTU_FILE, "--rate", "30", *publisher_args)
        decisions = decisions_of(listener)
        return decisions, *sent_stamps(publisher)
    finally:
        stop_node(node)


def test_two_people_get_two_stamped_decision_streams(
    shared_data, stream_model, interfaces_env, tmp_path
):
    decisions, stamps, _ = published_decisions(
        stream_model, interfaces_env, tmp_path, 12.0, "--bodies", "2"
    )
    log = (tmp_path / "recognizer.log").read_text()
    departures = [d for d in decisions if "left" in d]  # when the input stops, both leave
    decisions = [d for d in decisions if "left" not in d]
    assert {d["person"] for d in decisions} == {"0", "1"}, log[-2000:]
    assert sorted(d["left"] for d in departures) == ["0", "1"]
    first = min(stamps)
    for d in decisions:
        # the header stamp is the capture time of the window's last frame: a sent stamp, to the
        # nanosecond; the window starts STREAM_SECONDS earlier, never before the first frame
        assert d["stamp_ns"] in stamps, d["stamp_ns"]
        expected = max(d["stamp_ns"] - round(STREAM_SECONDS * 1e9), first)
        assert d["window_start_ns"] == expected, (d, first)
        assert d["frame_id"] == "camera" and d["array_stamp"] == d["stamp"]
        assert d["class_names"][-1] == "no action" and len(d["probabilities"]) == 15
        assert abs(sum(d["probabilities"]) - 1) < 1e-4 and abs(sum(d["smoothed"]) - 1) < 1e-4
        assert d["label"] in d["class_names"]


def test_after_a_gap_the_first_decision_is_from_the_new_stream_only(
    shared_data, stream_model, interfaces_env, tmp_path
):
    decisions, _, events = published_decisions(
        stream_model, interfaces_env, tmp_path, 16.0, "--loops", "2", "--gap", "3.0"
    )
    (gap,) = events["gap"]
    decisions = [d for d in decisions if "left" not in d]
    before = [d for d in decisions if d["stamp"] < gap]
    after = [d for d in decisions if d["stamp"] >= gap]
    assert len(before) >= 3 and len(after) >= 3, (tmp_path / "recognizer.log").read_text()[-2000:]
    # smoothing over 3 decisions: later ones mix the history, the first after the gap has none
    assert any(not np.allclose(d["smoothed"], d["probabilities"]) for d in before[1:])
    np.testing.assert_allclose(after[0]["smoothed"], after[0]["probabilities"], atol=1e-6)
    # the window of the new stream starts at its first frame, not before it
    assert after[0]["window_start_ns"] >= round(gap * 1e9) - 1000


def departure_and_after(
    decisions: list[dict], left_ns: int, stamps: set[int]
) -> tuple[list[dict], list[dict]]:
    """The departures reported before the input stopped (when it stops, everyone leaves at the
    last stamp), and the decisions at or after the frame a body left."""
    departures = [d for d in decisions if "left" in d and d["stamp_ns"] < max(stamps)]
    return departures, [d for d in decisions if "left" not in d and d["stamp_ns"] >= left_ns]


def test_a_body_leaving_a_shrinking_posearray_keeps_the_others_id_and_stream(
    shared_data, stream_model, interfaces_env, tmp_path
):
    """Two bodies by position, then the array shrinks to one: slot "1" has left (reported at
    that frame), slot "0" keeps its id and its decision stream (its smoothing goes on)."""
    decisions, stamps, events = published_decisions(
        stream_model, interfaces_env, tmp_path, 12.0, "--bodies", "2", "--leave-at", "90"
    )
    (left_ns,) = events["left"]
    departures, after = departure_and_after(decisions, left_ns, stamps)
    assert departures == [{"left": "1", "stamp_ns": left_ns}], decisions[-5:]
    assert after and {d["person"] for d in after} == {"0"}
    assert not np.allclose(after[0]["smoothed"], after[0]["probabilities"])


def test_tracked_ids_alice_and_bob_and_alices_departure(
    shared_data, stream_model, interfaces_env, tmp_path
):
    """masksem_interfaces/BodyArray with the tracker's ids: decisions carry them; alice's id
    missing from a message is her departure, reported once; bob goes on as bob."""
    decisions, stamps, events = published_decisions(
        stream_model,
        interfaces_env,
        tmp_path,
        12.0,
        "--bodies",
        "2",
        "--tracked",
        "--leave-at",
        "90",
    )
    (left_ns,) = events["left"]
    departures, after = departure_and_after(decisions, left_ns, stamps)
    before = [d for d in decisions if "left" not in d and d["stamp_ns"] < left_ns]
    assert {d["person"] for d in before} == {"alice", "bob"}, decisions[:5]
    assert departures == [{"left": "alice", "stamp_ns": left_ns}]
    assert after and {d["person"] for d in after} == {"bob"}
    assert not np.allclose(after[0]["smoothed"], after[0]["probabilities"])


def test_bad_tracked_bodies_are_dropped_by_reason_and_the_node_goes_on(
    shared_data, stream_model, interfaces_env, listener, tmp_path
):
    """BodyArrays with a repeated id, an empty id and a wrong joint count: each dropped,
    counted by its reason on /diagnostics and logged; decisions go on."""
    received, spin_for = listener
    received["diagnostics"].clear()
    node = recognizer(stream_model, interfaces_env, tmp_path, window_seconds=0.0)
    try:
        assert wait_until(lambda: "active" in (tmp_path / "recognizer.log").read_text(), 30)
        listener_process = listen(interfaces_env, 12.0)
        publisher = run_publisher(
            interfaces_env, GTU_FILE, "--rate", "30", "--bodies", "2", "--tracked", "--bad"
        )
        deadline = time.time() + 60
        while publisher.poll() is None and time.time() < deadline:
            spin_for(0.1)
        spin_for(1.5)
        decisions = decisions_of(listener_process)
        sent = [line for line in publisher.stdout.read().splitlines() if line.startswith("sent ")]
        assert node.poll() is None, "the recognizer died"
    finally:
        stop_node(node)
    log = (tmp_path / "recognizer.log").read_text()
    diagnostics = received["diagnostics"]
    for kind in ("duplicate_id", "empty_id", "joint_count"):
        assert int(diagnostics[f"dropped_{kind}"]) == 1, diagnostics
        assert f"({kind})" in log, log[-2000:]
    assert "ids ['alice'] appear more than once" in log
    after_bad = int(sent[40].split()[3])  # the first message after the bad ones
    late = [d for d in decisions if "left" not in d and d["stamp_ns"] >= after_bad]
    assert {d["person"] for d in late} == {"alice", "bob"} and len(late) >= 6


def test_a_bag_replayed_in_a_loop_gets_decisions_on_every_pass(
    shared_data, stream_model, interfaces_env, tmp_path
):
    """The stamps jump back to the start of the recording: every stream restarts, decisions
    follow within 1 s of new stream time, and no message of the second pass is dropped."""
    decisions, _, events = published_decisions(
        stream_model, interfaces_env, tmp_path, 16.0, "--loops", "2", "--rewind"
    )
    (rewind_ns,) = events["rewind"]
    stamps_seen = [d["stamp_ns"] for d in decisions if "left" not in d]
    back = next(i for i in range(1, len(stamps_seen)) if stamps_seen[i] < stamps_seen[i - 1])
    second = [d for d in decisions if "left" not in d][back:]
    assert second, decisions[-3:]
    assert second[0]["stamp_ns"] - rewind_ns <= 1_000_000_000
    np.testing.assert_allclose(second[0]["smoothed"], second[0]["probabilities"], atol=1e-6)
    log = (tmp_path / "recognizer.log").read_text()
    assert "dropped" not in log, log[-2000:]


def test_a_namespaced_recognizer_takes_a_custom_parameter_file(gtu_model, ros_env, tmp_path):
    from rclpy.parameter_client import AsyncParameterClient

    from tests.ros.conftest import ros_client

    params = tmp_path / "custom.yaml"
    params.write_text(
        "/**/recognizer:\n  ros__parameters:\n    stride_seconds: 0.77\n    smoothing_window: 5\n"
    )
    log = tmp_path / "namespaced.log"
    handle = log.open("w")
    node = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "masksem_ros.recognizer_node",
            "--ros-args",
            "-r",
            "__ns:=/right_arm",
            "--params-file",
            str(params),
            "-p",
            f"model_path:={gtu_model}",
        ],
        env=ros_env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    try:
        assert wait_until(lambda: "active" in log.read_text(), 30), log.read_text()
        with ros_client("test_param_reader") as (client_node, executor):
            client = AsyncParameterClient(client_node, "/right_arm/recognizer")
            assert client.wait_for_services(timeout_sec=20.0)
            future = client.get_parameters(["stride_seconds", "smoothing_window"])
            executor.spin_until_future_complete(future, timeout_sec=20.0)
            values = future.result().values
        assert values[0].double_value == 0.77 and values[1].integer_value == 5
    finally:
        stop_node(node)


def test_ctrl_c_at_any_moment_of_start_up_exits_0_without_a_traceback(gtu_model, ros_env, tmp_path):
    """The ROS executable as ros2 launch runs it (scripts/recognizer): a SIGINT at any moment
    of its start-up (interpreter, imports, rclpy.init, node creation, model loading) ends it
    with exit code 0 and no traceback. One that arrives while the interpreter itself starts is
    ignored (SIGINT is ignored until the node notes it), and the SIGTERM that ros2 launch sends
    next ends it with exit code 0 as well; one before the launcher's own first line ends it by
    the signal, with no output (the launch file's ENDED_BY_SHUTDOWN)."""
    command = [str(REPO / "scripts" / "recognizer"), "--ros-args", "-p", f"model_path:={gtu_model}"]
    for delay in (0.0, 0.01, 0.03, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.8, 1.2, 1.8):
        process = subprocess.Popen(
            command, env=ros_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:  # ros2 launch's escalation after its own SIGINT
            process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        # a signal before the launcher's first line (its trap) ends it by the signal, silently:
        # ros2 launch, which sent it while shutting down, does not count that as a failure
        before_trap = process.returncode == -signal.SIGINT and not out + err
        assert process.returncode == 0 or before_trap, (delay, out[-1000:], err[-2000:])
        assert "Traceback" not in err + out, (delay, err[-2000:])


def test_a_missing_model_names_the_folders_searched(ros_env, tmp_path):
    log = tmp_path / "missing.log"
    node = start_node("masksem_ros.recognizer_node", {"model_path": "nope.onnx"}, ros_env, log)
    assert node.wait(timeout=60) == 2
    text = log.read_text()
    assert "model file 'nope.onnx' does not exist; searched" in text and "models/nope.onnx" in text
