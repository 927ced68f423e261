"""Lifecycle transitions of the recognizer over DDS, as `ros2 lifecycle set` drives them."""

import time

from tests.ros.conftest import recognizer, ros_client, run_publisher, wait_until


def change_state(node_name: str, transition_id: int) -> bool:
    """What `ros2 lifecycle set NODE TRANSITION` does: the node's change_state service."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    with ros_client("test_lifecycle_client") as (node, executor):
        client = node.create_client(ChangeState, f"{node_name}/change_state")
        assert client.wait_for_service(timeout_sec=20.0)
        future = client.call_async(ChangeState.Request(transition=Transition(id=transition_id)))
        executor.spin_until_future_complete(future, timeout_sec=20.0)
        return future.result().success


def test_deactivate_stops_labels_activate_resumes_them_shutdown_ends_the_process(
    shared_data, gtu_model, ros_env, listener, tmp_path
):
    from lifecycle_msgs.msg import Transition

    received, spin_for = listener
    labels = received["labels"]
    labels.clear()
    node = recognizer(gtu_model, ros_env, tmp_path, stride_seconds=0.25)
    log = tmp_path / "recognizer.log"
    publisher = None
    try:
        assert wait_until(lambda: "active" in log.read_text(), 30)
        publisher = run_publisher(
            ros_env, shared_data / "gtu" / "8" / "movement4.txt", "--rate", "30", "--loops", "8"
        )

        def labels_within(seconds: float) -> int:
            before = len(labels)
            spin_for(seconds)
            return len(labels) - before

        assert wait_until(lambda: labels_within(0.2) > 0 or len(labels) >= 3, 20)
        assert change_state("/recognizer", Transition.TRANSITION_DEACTIVATE)
        spin_for(0.5)  # decisions already in flight
        assert labels_within(2.0) == 0, "an inactive recognizer published labels"
        assert change_state("/recognizer", Transition.TRANSITION_ACTIVATE)
        assert labels_within(3.0) > 0, log.read_text()[-2000:]
        assert change_state("/recognizer", Transition.TRANSITION_DEACTIVATE)
        assert change_state("/recognizer", Transition.TRANSITION_CLEANUP)
        assert change_state("/recognizer", Transition.TRANSITION_CONFIGURE)  # reloads the model
        assert change_state("/recognizer", Transition.TRANSITION_ACTIVATE)
        assert labels_within(3.0) > 0, log.read_text()[-2000:]
        started = time.time()
        assert change_state("/recognizer", Transition.TRANSITION_ACTIVE_SHUTDOWN)
        assert node.wait(timeout=15) == 0, log.read_text()[-2000:]
        assert time.time() - started < 15
        assert "Traceback" not in log.read_text()
    finally:
        if node.poll() is None:
            node.kill()
        if publisher is not None:
            publisher.kill()
