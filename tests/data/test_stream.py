"""Stream windows: the pieces by hand, and the training window equal to the live window."""

import itertools

import numpy as np
import pytest

from masksem_core.config import load_experiment
from masksem_core.data.prepared import PreparedData
from masksem_core.data.stream import (
    Interval,
    StreamSampling,
    action_window_end,
    chain_clips,
    extend_with_idle,
    idle_window_end,
    synthetic_idle,
    training_window_end,
    window_label,
)
from masksem_core.data.stream_dataset import StreamWindowDataset, played_at
from masksem_core.engine.builders import model_class_names, stream_windows, training_windows
from masksem_core.runtime.live import StampedRing
from masksem_core.runtime.preprocess import pad_bodies
from masksem_core.window_spec import WindowSpec

SAMPLING = StreamSampling(window_seconds=2.0, min_visible=0.4, tail=0.5)


def test_window_label_names_seen_actions_then_no_action_once_over():
    actions = [Interval(3, 10.0, 12.0), Interval(5, 20.0, 20.4)]
    assert window_label(10.4, actions, SAMPLING, background=9) == 3  # 0.4 s seen
    assert window_label(12.5, actions, SAMPLING, background=9) == 3  # tail
    assert window_label(10.1, actions, SAMPLING, background=9) == 9  # 0.1 s: not in view yet
    assert window_label(10.3, actions, SAMPLING, background=9) is None  # started, not yet named
    assert window_label(13.0, actions, SAMPLING, background=9) == 9  # over, though still shown
    assert window_label(14.5, actions, SAMPLING, background=9) == 9
    assert window_label(20.2, actions, SAMPLING, background=9) == 5  # short: half of it seen


def test_action_and_idle_window_ends():
    action = Interval(1, 5.0, 8.0)
    rng = np.random.default_rng(0)
    ends = [action_window_end(action, SAMPLING, rng) for _ in range(200)]
    assert min(ends) >= 5.4 and max(ends) <= 8.5
    assert action_window_end(action, SAMPLING, None) == 8.0
    stamps = np.arange(0, 15, 0.1)
    for _ in range(20):
        end = idle_window_end(stamps, [action], SAMPLING, 7, rng)
        assert window_label(end, [action], SAMPLING, 7) == 7


def test_synthetic_idle_sways_gently_and_keeps_absent_bodies_zero():
    pose = np.zeros((2, 25, 3), dtype=np.float32)
    pose[0] = np.random.default_rng(1).normal(size=(25, 3))
    idle = synthetic_idle(pose, seconds=4.0, fps=30, rng=np.random.default_rng(2))
    assert idle.shape == (2, 120, 25, 3) and not idle[1].any()
    drift = np.abs(idle[0] - pose[0]).max()
    assert 0.005 < drift < 0.04  # cm-scale sway and mm-scale jitter, never a movement


def test_extend_with_idle_keeps_the_sequence_and_its_stamps():
    sequence = np.random.default_rng(0).normal(size=(1, 10, 25, 3)).astype(np.float32)
    stamps = 5.0 + np.arange(10) / 30
    frames, times = extend_with_idle(sequence, stamps, 1.0, 30, np.random.default_rng(0))
    assert frames.shape == (70, 1, 25, 3) and len(times) == 70
    np.testing.assert_array_equal(frames[30:40], sequence.transpose(1, 0, 2, 3))
    np.testing.assert_allclose(times[30:40], stamps)
    assert np.all(np.diff(times) > 0)


@pytest.fixture(scope="module")
def demo(demo_root):
    return PreparedData(demo_root)


@pytest.mark.parametrize("normalised", [False, True])
def test_the_training_window_is_the_live_window_of_the_same_stream_segment(demo, normalised):
    """The stream window a model is trained and evaluated on is, to float precision, what a
    person's ring buffer and the window spec make of the same frames arriving at their stamps
    (with and without the body normalisation)."""
    spec = WindowSpec(
        "ntu25",
        "stream",
        seconds=2.0,
        fps=demo.fps,
        normalise_view=normalised,
        normalise_scale=normalised,
    )
    dataset = StreamWindowDataset(demo, "xsub_test", spec, SAMPLING, train=False)
    for item in (0, 7):
        trained, _ = dataset[item]
        frames, times, _, action = dataset.timeline(item, np.random.default_rng(item), False)
        ring = StampedRing(num_joints=25)
        for stamp, frame in zip(times, frames, strict=True):
            if stamp <= action.end + 1e-9:
                ring.push(float(stamp), frame[0])
        stamps, recent = ring.recent(spec.seconds)
        live = spec.from_timeline(stamps, recent, float(stamps[-1]))
        np.testing.assert_allclose(pad_bodies(live, 1), trained.numpy(), atol=1e-5)


def test_stream_training_windows_mix_actions_and_no_action(demo):
    config = load_experiment("demo", ["data.window_mode=stream", "data.background_fraction=0.5"])
    names = model_class_names(demo, config.data)
    assert names[-1] == "no action" and len(names) == len(demo.class_names) + 1
    windows = training_windows(demo, "xsub_train", config.data)
    labels = np.array([windows[i][1] for i in range(len(windows))])
    assert windows[0][0].shape == (1, 120, 25, 3)
    assert 0.3 < (labels == len(demo.class_names)).mean() < 0.7
    clip = load_experiment("demo").data
    assert model_class_names(demo, clip) == demo.class_names


def test_played_at_a_speed_divides_the_timeline_and_its_actions():
    times = np.array([0.0, 0.5, 1.0, 2.0])
    action = Interval(3, 0.5, 2.0)
    faster, intervals, own = played_at(2.0, times, [Interval(1, 0.0, 0.4), action], action)
    np.testing.assert_allclose(faster, [0.0, 0.25, 0.5, 1.0])
    assert intervals == [Interval(1, 0.0, 0.2), Interval(3, 0.25, 1.0)]
    assert own == Interval(3, 0.25, 1.0)


def test_tempo_draws_only_in_training(demo):
    config = load_experiment(
        "demo", ["data.window_mode=stream", "data.tempo=[0.5, 0.5]", "data.mirror=0.5"]
    )
    train = training_windows(demo, "xsub_train", config.data)
    assert train.tempo == (0.5, 0.5) and train.augment.random
    evaluation = stream_windows(demo, "xsub_test", config.data, train=False)
    assert evaluation.tempo == (1.0, 1.0) and evaluation.augment is None


def test_chain_clips_continues_time_and_place():
    first = np.zeros((3, 2, 25, 3), dtype=np.float32)
    first[:, 0] = 1.0
    first[-1, 0, 0] = [2.0, 1.0, 1.0]  # the centre joint ends 1 m further along x
    second = np.full((2, 2, 25, 3), 5.0, dtype=np.float32)
    second[:, 1] = 0.0  # the second body is absent
    stamps = 10.0 + np.arange(3) / 30
    frames, times, shifts = chain_clips(
        [(first, stamps), (second, np.array([0.0, 1 / 30]))], fps=30, centre_joint=0
    )
    assert frames.shape == (5, 2, 25, 3) and shifts == [0.0, pytest.approx(10.1)]
    np.testing.assert_allclose(times, 10.0 + np.arange(5) / 30)
    np.testing.assert_allclose(frames[3, 0, 0], [2.0, 1.0, 1.0])  # continues where it stopped
    np.testing.assert_allclose(frames[3, 0, 1], [2.0, 1.0, 1.0])  # the body moved as a whole
    assert not frames[3:, 1].any()


def test_context_training_windows_chain_the_action_between_two_others(demo):
    spec = WindowSpec("ntu25", "stream", seconds=SAMPLING.window_seconds)
    dataset = StreamWindowDataset(
        demo,
        "xsub_train",
        spec,
        SAMPLING,
        train=True,
        background_fraction=0.0,
        context_fraction=1.0,
    )
    rng = np.random.default_rng(3)
    frames, times, intervals, action = dataset.timeline(5, rng, context=True)
    assert len(intervals) == 3 and intervals[1] == action
    assert action.label == dataset.items[5][1]
    assert all(a.end < b.start for a, b in itertools.pairwise(intervals))
    assert frames.shape[0] == len(times) and np.all(np.diff(times) > 0)
    assert times[0] < intervals[0].start and times[-1] > intervals[2].end  # idle at both ends
    window, label = dataset[5]
    assert window.shape == (1, 120, 25, 3) and 0 <= label < len(demo.class_names)


def test_a_training_window_takes_the_next_action_once_it_is_seen():
    first, second = Interval(1, 0.0, 2.0), Interval(2, 2.05, 4.0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        end, label = training_window_end(first, [first, second], SAMPLING, 9, rng)
        assert 0.4 <= end <= 2.5
        assert label == (2 if end >= 2.45 else 1)  # the second is named 0.4 s after it starts


def test_pad_bodies_adds_zero_bodies_as_training_stored_them():
    window = np.ones((1, 4, 25, 3), dtype=np.float32)
    padded = pad_bodies(window, 2)
    assert padded.shape == (2, 4, 25, 3) and not padded[1].any()
    assert pad_bodies(window, 0) is window
