import numpy as np
import pytest

from masksem_core.windows import (
    centre_sequence,
    crop_length,
    evaluation_window,
    resample_by_time,
    resize_time,
    stream_window,
    training_window,
    valid_frames,
)


def ramp(valid, total=300):
    x = np.zeros((2, total, 25, 3), dtype=np.float32)
    x[0, :valid] = np.arange(1, valid + 1, dtype=np.float32)[:, None, None]
    return x


@pytest.mark.parametrize("valid", [1, 64, 120, 300])
def test_windows_are_120_frames_for_any_valid_length(valid):
    x = ramp(valid)
    assert valid_frames(x) == valid
    rng = np.random.default_rng(0)
    assert training_window(x, rng).shape == (2, 120, 25, 3)
    assert evaluation_window(x).shape == (2, 120, 25, 3)


def test_crop_length_rule():
    assert crop_length(300, 0.5) == 150
    assert crop_length(100, 0.5) == 64  # minimum length
    assert crop_length(50, 0.5) == 50  # never more than the valid frames
    assert crop_length(1, 0.95) == 1


def test_linear_ramp_stays_linear():
    x = ramp(200)
    out = resize_time(x, 17, 150, 120)[0, :, 0, 0]
    np.testing.assert_allclose(np.diff(out), np.full(119, 149 / 119), atol=1e-4)
    assert out[0] == 18 and out[-1] == pytest.approx(167)
    window = training_window(x, np.random.default_rng(3))[0, :, 0, 0]
    steps = np.diff(window)
    np.testing.assert_allclose(steps, steps[0], atol=1e-4)


def test_test_window_is_deterministic_centre_crop():
    x = ramp(100)
    a, b = evaluation_window(x), evaluation_window(x)
    assert np.array_equal(a, b)
    # 95 of 100 frames, centred: frames 2..96 → values 3..97
    assert a[0, 0, 0, 0] == 3 and a[0, -1, 0, 0] == pytest.approx(97)


def test_centring_on_first_body_first_valid_frame_keeps_absent_joints_zero():
    x = np.zeros((2, 5, 25, 3), dtype=np.float32)
    x[0, 1:] = 2.0
    x[0, 1, 1] = [1.0, 2.0, 3.0]  # centre joint in the first valid frame
    out = centre_sequence(x, centre_joint=1)
    np.testing.assert_allclose(out[0, 1, 1], 0.0)
    np.testing.assert_allclose(out[0, 2, 0], [1.0, 0.0, -1.0])
    assert not out[0, 0].any() and not out[1].any()


def test_resample_irregular_stamps_keeps_a_linear_motion_linear():
    stamps = np.array([0.0, 0.02, 0.09, 0.1, 0.31, 0.4])
    frames = (stamps * 10)[:, None, None, None] * np.ones((1, 1, 1, 3))
    out = resample_by_time(stamps, frames.astype(np.float32), 0.0, 0.4, 9)
    np.testing.assert_allclose(out[:, 0, 0, 0], np.linspace(0, 4, 9), atol=1e-5)


def test_stream_window_holds_the_first_frame_before_the_stream_and_is_m_first():
    stamps = np.arange(5) / 10  # 0.0 … 0.4 s
    frames = np.broadcast_to(np.arange(5, dtype=np.float32)[:, None, None, None], (5, 2, 1, 3))
    window = stream_window(stamps, frames, end=0.4, seconds=0.8, out_frames=5)
    assert window.shape == (2, 5, 1, 3)
    np.testing.assert_allclose(window[0, :, 0, 0], [0, 0, 0, 2, 4])  # −0.4, −0.2, 0, 0.2, 0.4 s
