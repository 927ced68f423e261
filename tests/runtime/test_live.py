import threading
import time

import numpy as np
import pytest

from masksem_core.runtime.live import (
    DecisionSmoother,
    LatestOnlyWorker,
    SkeletonMessageError,
    StampedRing,
    decode_joints,
    fill_missing,
)
from masksem_core.runtime.recognizer import PersonStream


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


def test_ring_keeps_the_newest_frames_in_order_and_bounded_memory():
    ring = StampedRing(num_joints=25, capacity=64)
    for i in range(40):
        ring.push(i / 30, frame(i)[0])
    stamps, frames = ring.recent(1.0)
    assert frames.shape == (31, 1, 25, 3)  # 1 s at 30 Hz and the frame just before it
    np.testing.assert_allclose(stamps[[0, -1]], [9 / 30, 39 / 30])
    np.testing.assert_allclose(frames[[0, -1], 0, 0, 0], [9, 39])
    assert ring.covered_seconds() == pytest.approx(39 / 30)
    for i in range(1, 1001):  # a burst of 1,000 messages: the oldest are overwritten
        ring.push(2.0 + i * 1e-4, frame(i)[0])
    assert ring.count == 64 and ring.joints.shape[0] == 64
    stamps, frames = ring.recent(10.0)
    assert len(stamps) == 64 and np.all(np.diff(stamps) > 0) and frames[-1, 0, 0, 0] == 1000


def test_ring_fills_missing_joints_from_neighbouring_frames():
    ring = StampedRing(num_joints=25)
    for i in range(3):
        joints = frame(i)[0]
        if i == 1:
            joints[4] = np.nan
        ring.push(i / 30, joints)
    _, frames = ring.recent(1.0)
    assert np.isfinite(frames).all() and frames[1, 0, 4, 0] == pytest.approx(1.0)


def test_history_spans_the_trained_time_once_a_stream_has_begun():
    person = PersonStream(StampedRing(25), DecisionSmoother(("a",)), 0.0, first_ns=10**10)
    person.frames.push(10.0, frame()[0])
    assert person.history(2.0, stream_mode=True) is None  # one frame: nothing to resample
    for i in range(1, 16):  # 0.5 s at 30 Hz
        person.frames.push(10 + i / 30, frame(i)[0])
    assert person.history(2.0, stream_mode=True) == 2.0  # the first frame held before it
    assert person.history(2.0, stream_mode=False) is None  # clip mode: half a window first
    assert person.history(0.8, stream_mode=False) == pytest.approx(0.5)  # what is held


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
