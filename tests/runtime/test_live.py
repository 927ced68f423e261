import threading
import time

import numpy as np
import pytest

from masksem_core.runtime.live import (
    DecisionSmoother,
    LatestOnlyWorker,
    SkeletonMessageError,
    TimedSkeletonBuffer,
    decode_joints,
    fill_missing,
)


def test_decode_joints_shapes_and_errors():
    joints = decode_joints(np.arange(150, dtype=float).reshape(50, 3), 25, 2)
    assert joints.shape == (2, 25, 3) and joints[1, 0, 0] == 75
    with pytest.raises(SkeletonMessageError, match="24 poses is not a multiple of the model's 25"):
        decode_joints(np.zeros((24, 3)), 25, 2)
    with pytest.raises(SkeletonMessageError, match="0 poses"):
        decode_joints(np.zeros((0, 3)), 25, 2)
    with pytest.raises(SkeletonMessageError, match="3 bodies exceed max_persons=2"):
        decode_joints(np.zeros((75, 3)), 25, 2)
    bad = np.zeros((25, 3))
    bad[3, 1] = np.inf
    with pytest.raises(SkeletonMessageError, match="infinite"):
        decode_joints(bad, 25, 1)


def test_fill_missing_interpolates_in_time_and_zeroes_unseen():
    frames = np.zeros((5, 1, 2, 3), dtype=np.float32)
    frames[:, 0, 0, 0] = [0, np.nan, np.nan, 3, np.nan]
    frames[:, 0, 1] = np.nan
    frames[[0, 1, 2, 4], 0, 0, 1:] = 0
    frames[[1, 2, 4], 0, 0, 1:] = np.nan
    out = fill_missing(frames)
    np.testing.assert_allclose(out[:, 0, 0, 0], [0, 1, 2, 3, 3])
    assert not out[:, 0, 1].any() and np.isfinite(out).all()


def frame(value=0.0, bodies=1):
    return np.full((bodies, 25, 3), value, dtype=np.float32)


def test_buffer_window_backwards_gap_and_bounded_memory():
    buffer = TimedSkeletonBuffer(
        window_seconds=1.0, max_gap_seconds=2.0, max_persons=2, num_joints=25, max_frames=64
    )
    for i in range(10):
        buffer.push(i / 30, frame(i))
    assert buffer.window(120, hold_before_start=False) is None  # 0.3 s of 1 s covered
    for i in range(10, 40):
        buffer.push(i / 30, frame(i))
    window = buffer.window(120, hold_before_start=False)
    assert window.shape == (1, 120, 25, 3)  # the absent second body is left out
    np.testing.assert_allclose(window[0, -1, 0, 0], 39, atol=1e-4)
    np.testing.assert_allclose(window[0, 0, 0, 0], 39 - 30, atol=1e-3)  # 1 s earlier
    with pytest.raises(SkeletonMessageError, match="not after the previous"):
        buffer.push(0.5, frame())
    buffer.push(10.0, frame())  # a 8.7 s gap: history restarts
    assert buffer.stats.resets_after_gap == 1 and len(buffer.stamps) == 1
    for i in range(1, 1001):  # a burst of 1,000 messages stays within max_frames
        buffer.push(10.0 + i * 1e-4, frame())
    assert len(buffer.frames) <= 64


def test_stream_mode_window_spans_the_trained_time_holding_the_first_frame():
    buffer = TimedSkeletonBuffer(
        window_seconds=2.0, max_gap_seconds=2.0, max_persons=1, num_joints=25
    )
    for i in range(16):  # 0.5 s of a ramp at 30 Hz
        buffer.push(10 + i / 30, frame(i))
    window = buffer.window(9, hold_before_start=True)[0, :, 0, 0]  # instants 8.5, 8.75, …, 10.5
    np.testing.assert_allclose(window[:7], 0.0)  # up to the stream's start: its first frame
    np.testing.assert_allclose(window[7:], [7.5, 15.0], atol=1e-4)
    assert buffer.window(9, hold_before_start=False) is None  # clip mode: half a window first


def test_person_timeout_drops_a_body_that_left():
    buffer = TimedSkeletonBuffer(2.0, 2.0, max_persons=2, num_joints=25, person_timeout=0.5)
    for i in range(60):
        joints = frame(1.0, bodies=2 if i < 20 else 1)
        buffer.push(i / 30, joints)
    assert (
        buffer.window(120, hold_before_start=False).shape[0] == 1
    )  # the second person left 1.3 s ago
    buffer = TimedSkeletonBuffer(2.0, 2.0, max_persons=2, num_joints=25, person_timeout=2.0)
    for i in range(60):
        buffer.push(i / 30, frame(1.0, bodies=2 if i < 20 else 1))
    assert buffer.window(120, hold_before_start=False).shape[0] == 2


def test_smoother_threshold_and_majority():
    smoother = DecisionSmoother(("wave", "walk"), threshold=0.6, window=3)
    assert smoother.update(np.array([0.9, 0.1])) == "wave"
    assert smoother.update(np.array([0.55, 0.45])) == "no action"  # tie → most recent
    assert smoother.update(np.array([0.2, 0.8])) == "walk"  # three different: most recent
    assert smoother.update(np.array([0.3, 0.7])) == "walk"
    single = DecisionSmoother(("a", "b"), threshold=0.0, window=1)
    assert single.update(np.array([0.4, 0.6])) == "b"


def test_latest_only_worker_drops_stale_items_and_survives_errors():
    seen, errors = [], []
    gate = threading.Event()

    def handler(item):
        gate.wait(1.0)
        if item == "bad":
            raise RuntimeError("broken window")
        seen.append(item)

    worker = LatestOnlyWorker(handler, errors.append)
    for i in range(50):
        worker.submit(i)
    gate.set()

    def wait_for(condition):
        deadline = time.time() + 3
        while not condition() and time.time() < deadline:
            time.sleep(0.01)
        assert condition()

    wait_for(lambda: len(seen) + worker.stale == 50)  # each item handled or replaced
    worker.submit("bad")
    wait_for(lambda: len(errors) == 1)
    worker.submit(99)
    wait_for(lambda: 99 in seen)
    worker.stop()
    assert len(seen) < 10 and worker.stale >= 40
    assert isinstance(errors[0], RuntimeError) and worker.failed == 1


def test_runtime_imports_neither_torch_nor_onnx():
    """A robot installs the runtime without torch or onnx (pip install .[ros,cpu])."""
    import subprocess
    import sys

    code = (
        "import sys, masksem_core.runtime.session, masksem_core.runtime.live, "
        "masksem_core.runtime.preprocess, masksem_core.runtime.camera, "
        "masksem_core.runtime.model_info; "
        "print(sorted(m for m in ('torch', 'onnx') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
