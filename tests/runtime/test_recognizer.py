"""The live pipeline without ROS or DDS, on the shipped model."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from masksem_core.errors import ConfigError
from masksem_core.runtime.live import SkeletonMessageError
from masksem_core.runtime.recognizer import LiveRecognizer, LiveSettings, assess_health
from masksem_core.runtime.session import ActionSession

MODEL = Path(__file__).resolve().parents[2] / "models" / "gtu_masksem.onnx"


@pytest.fixture(scope="module")
def session():
    return ActionSession(MODEL, threads=1)


def walking(frames: int, rate: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Stamps and (T, 25, 3) joints of a person swaying in front of the camera."""
    stamps = 100.0 + np.arange(frames) / rate
    base = np.random.default_rng(0).normal(scale=0.3, size=(25, 3)) + np.array([0, 0, 2.5])
    sway = 0.1 * np.sin(2 * np.pi * 0.5 * (stamps - 100.0))[:, None, None]
    return stamps, base[None] + sway * np.array([1.0, 0.0, 0.0])


def run(recognizer: LiveRecognizer, stamps: np.ndarray, joints: np.ndarray) -> None:
    for stamp, frame in zip(stamps, joints, strict=True):
        recognizer.on_message(float(stamp), frame)


def test_stride_gating_windows_and_decisions(session):
    decisions = []
    settings = LiveSettings(window_seconds=2.0, stride_seconds=0.5, score_threshold=0.0)
    recognizer = LiveRecognizer(session, settings, decisions.extend, pytest.fail, background=False)
    stamps, joints = walking(150)  # 5 s at 30 Hz
    run(recognizer, stamps, joints)
    # the first classification waits for half a window (1 s), then one every 0.5 s of stamps
    assert 7 <= len(decisions) <= 9
    for decision in decisions:
        assert decision.label in session.class_names
        np.testing.assert_allclose(decision.probabilities.sum(), 1.0, rtol=1e-5)
        assert decision.model_seconds > 0
    stats = recognizer.statistics()
    assert stats["accepted"] == 150 and stats["inferences"] == len(decisions)
    assert stats["dropped_total"] == 0 and stats["model_p50_ms"] > 0


def test_settings_change_while_running(session):
    decisions = []
    settings = LiveSettings(window_seconds=2.0, stride_seconds=0.5, score_threshold=0.0)
    recognizer = LiveRecognizer(session, settings, decisions.extend, pytest.fail, background=False)
    stamps, joints = walking(150)
    run(recognizer, stamps[:75], joints[:75])
    recognizer.update(replace(settings, score_threshold=1.0, smoothing_window=1))
    before = len(decisions)
    run(recognizer, stamps[75:], joints[75:])
    assert {d.label for d in decisions[before:]} == {"no action"}
    with pytest.raises(ConfigError, match="max_persons cannot change while running"):
        recognizer.update(replace(settings, max_persons=3))
    with pytest.raises(ConfigError, match="score_threshold must be in"):
        replace(settings, score_threshold=1.5)
    with pytest.raises(ConfigError, match="max_persons must be ≥ 1"):
        LiveSettings(max_persons=-3)


def test_bad_messages_are_counted_by_reason(session):
    recognizer = LiveRecognizer(session, LiveSettings(), lambda d: None, pytest.fail, False)
    stamps, joints = walking(10)
    recognizer.on_message(stamps[0], joints[0])
    for positions, kind in (
        (np.full((25, 3), np.nan), "no_valid_joints"),
        (joints[1][:24], "pose_count"),
        (np.where(np.arange(75).reshape(25, 3) == 4, np.inf, joints[1]), "infinite"),
    ):
        with pytest.raises(SkeletonMessageError) as err:
            recognizer.on_message(stamps[1], positions)
        assert err.value.kind == kind
    with pytest.raises(SkeletonMessageError, match="not after the previous"):
        recognizer.on_message(stamps[0], joints[0])
    stats = recognizer.statistics()
    assert stats["dropped_no_valid_joints"] == stats["dropped_pose_count"] == 1
    assert stats["dropped_out_of_order"] == 1 and stats["dropped_total"] == 4
    assert stats["accepted"] == 1
    assert assess_health({}, stats) == (
        "warn",
        "4 messages dropped (infinite: 1, no_valid_joints: 1, out_of_order: 1, pose_count: 1)",
    )
    assert assess_health(stats, stats) == ("ok", "0 inferences since the last report")


def test_health_compares_two_reports():
    before = {"inferences": 10, "dropped_total": 2, "dropped_pose_count": 2, "stale_windows": 1}
    assert assess_health(before, {**before, "inferences": 14}) == (
        "ok",
        "4 inferences since the last report",
    )
    level, message = assess_health(before, {**before, "stale_windows": 4})
    assert level == "warn" and message.startswith("3 windows skipped: the model is slower")
    level, message = assess_health(
        before, {**before, "inference_failures": 2, "dropped_total": 3, "dropped_pose_count": 3}
    )
    assert level == "error"
    assert message == "2 inferences failed (see the log); 1 message dropped (pose_count: 1)"
