"""The live pipeline without ROS or DDS: on the shipped model, and on small exported models of
each window mode (random weights: the plumbing, not accuracy)."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from masksem_core.errors import ConfigError
from masksem_core.runtime.live import SkeletonMessageError
from masksem_core.runtime.recognizer import LiveRecognizer, LiveSettings, assess_health
from masksem_core.runtime.session import ActionSession
from masksem_core.window_spec import WindowSpec

MODEL = Path(__file__).resolve().parents[2] / "models" / "gtu_masksem.onnx"
CLASSES = ("wave", "clap", "no action")


def exported(tmp_path_factory, spec: WindowSpec | None = None, **info: object) -> ActionSession:
    from masksem_core.export.onnx_export import export_classifier
    from masksem_core.model import ActionClassifier, LinearProbeHead, SkeletonEncoder
    from masksem_core.runtime.model_info import ModelInfo

    encoder = SkeletonEncoder(25, dim=32, depth=1, num_heads=2, mlp_dim=64)
    model = ActionClassifier(encoder, LinearProbeHead(32, len(CLASSES))).eval()
    meta = ModelInfo(CLASSES, spec or WindowSpec("ntu25"), segment_length=4, **info)
    return ActionSession(export_classifier(model, tmp_path_factory.mktemp("m") / "m.onnx", meta))


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """A clip-mode model."""
    return exported(tmp_path_factory)


@pytest.fixture(scope="module")
def stream_session(tmp_path_factory):
    """A stream-mode model with a calibrated "no action" decision."""
    return exported(
        tmp_path_factory,
        WindowSpec("ntu25", "stream", seconds=1.5),
        bodies=2,
        background_class="no action",
        score_threshold=0.0,
    )


def walking(frames: int, rate: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    """Stamps and (T, 25, 3) joints of a person swaying in front of the camera."""
    stamps = 100.0 + np.arange(frames) / rate
    base = np.random.default_rng(0).normal(scale=0.3, size=(25, 3)) + np.array([0, 0, 2.5])
    sway = 0.1 * np.sin(2 * np.pi * 0.5 * (stamps - 100.0))[:, None, None]
    return stamps, base[None] + sway * np.array([1.0, 0.0, 0.0])


def ns(seconds: float) -> int:
    """A stamp in integer nanoseconds, as a message header carries it."""
    return round(float(seconds) * 1e9)


def run(recognizer: LiveRecognizer, stamps: np.ndarray, joints: np.ndarray) -> None:
    for stamp, frame in zip(stamps, joints, strict=True):
        recognizer.on_message(ns(stamp), frame)


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
    two = np.concatenate([joints[:1], joints[:1] + 1.0], axis=1)  # (1, 50, 3): two people
    recognizer.on_message(ns(stamps[-1] + 0.01), two[0])
    assert sorted(recognizer.people) == ["0", "1"]
    recognizer.update(replace(settings, max_persons=1))  # live: the second person leaves
    assert sorted(recognizer.people) == ["0"]
    with pytest.raises(SkeletonMessageError, match="2 bodies exceed max_persons=1"):
        recognizer.on_message(ns(stamps[-1] + 0.02), two[0])
    with pytest.raises(ConfigError, match="score_threshold must be in"):
        replace(settings, score_threshold=1.5)
    with pytest.raises(ConfigError, match="max_persons must be ≥ 1"):
        LiveSettings(max_persons=-3)
    with pytest.raises(ConfigError, match="no_action_label must not be empty"):
        LiveSettings(no_action_label=" ")


def test_a_stream_model_decides_on_its_own_window_from_the_first_stride(stream_session):
    decisions = []
    settings = LiveSettings(stride_seconds=0.5)
    recognizer = LiveRecognizer(stream_session, settings, decisions.extend, pytest.fail, False)
    stamps, joints = walking(60)  # 2 s
    run(recognizer, stamps, joints)
    assert len(decisions) == 3  # at 0.5, 1.0 and 1.5 s: no waiting for half a window
    for decision, at in zip(decisions, (15, 30, 45), strict=True):
        assert decision.person == "0" and decision.label in CLASSES
        assert decision.stamp_ns == ns(stamps[at])  # the message's own stamp, exactly
        assert decision.window_start_ns == ns(stamps[0])  # never before the person appeared
    run(recognizer, stamps + 2.0, joints)
    late = decisions[-1]  # 4 s in: the whole 1.5 s window lies after the first frame
    assert late.stamp_ns - late.window_start_ns == 1_500_000_000
    with pytest.raises(ConfigError, match="trained on 1.5 s stream windows"):
        LiveRecognizer(stream_session, LiveSettings(window_seconds=4.0), print, pytest.fail, False)


def test_each_person_has_a_decision_stream_that_restarts_after_a_gap(stream_session):
    batches = []
    settings = LiveSettings(stride_seconds=0.5, smoothing_window=3, max_gap_seconds=1.0)
    recognizer = LiveRecognizer(stream_session, settings, batches.append, pytest.fail, False)
    stamps, joints = walking(90)
    two = np.concatenate([joints, joints + np.array([1.0, 0.0, 0.0])], axis=1)  # (T, 50, 3)
    run(recognizer, stamps, two)
    assert all([d.person for d in batch] == ["0", "1"] for batch in batches)  # one batch each
    assert any(not np.allclose(d.smoothed, d.probabilities) for b in batches[1:] for d in b)
    batches.clear()
    run(recognizer, stamps + 10.0, two)  # 7 s later: a new stream
    first = batches[0]
    assert recognizer.statistics()["gap_resets"] == 1
    for decision in first:  # nothing of the previous stream in its first decision
        np.testing.assert_allclose(decision.smoothed, decision.probabilities)


def test_a_person_who_leaves_ends_their_stream(stream_session):
    decisions = []
    settings = LiveSettings(stride_seconds=0.5, person_timeout=0.5)
    recognizer = LiveRecognizer(stream_session, settings, decisions.extend, pytest.fail, False)
    stamps, joints = walking(90)
    second = joints + np.array([1.0, 0.0, 0.0])
    absent = np.full_like(second, np.nan)
    for i, stamp in enumerate(stamps):
        body = second[i] if i < 30 or i >= 60 else absent[i]  # gone from 1 s to 2 s
        recognizer.on_message(ns(stamp), np.concatenate([joints[i], body]))
    returned = [d for d in decisions if d.person == "1" and d.stamp > stamps[60]]
    assert returned and returned[0].stamp - stamps[60] == pytest.approx(0.5, abs=0.04)
    np.testing.assert_allclose(returned[0].smoothed, returned[0].probabilities)


def test_the_shipped_model_is_a_calibrated_stream_model():
    info = ActionSession(MODEL, threads=1).info
    assert info.window_spec.mode == "stream" and info.window_spec.seconds > 0
    assert info.background_class == "no action" == info.class_names[-1]
    assert 0.0 <= info.score_threshold <= 1.0 and info.temperature > 0


def test_bad_messages_are_counted_by_reason(session):
    recognizer = LiveRecognizer(session, LiveSettings(), lambda d: None, pytest.fail, False)
    stamps, joints = walking(10)
    recognizer.on_message(ns(stamps[0]), joints[0])
    for positions, kind in (
        (np.full((25, 3), np.nan), "no_valid_joints"),
        (joints[1][:24], "pose_count"),
        (np.where(np.arange(75).reshape(25, 3) == 4, np.inf, joints[1]), "infinite"),
    ):
        with pytest.raises(SkeletonMessageError) as err:
            recognizer.on_message(ns(stamps[1]), positions)
        assert err.value.kind == kind
    with pytest.raises(SkeletonMessageError, match="not after the previous"):
        recognizer.on_message(ns(stamps[0]), joints[0])
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
    fast = {**before, "stale_windows": 4, "input_seconds": 30.0, "wall_seconds": 10.0}
    level, message = assess_health(before, fast)
    assert "the input arrives 3.0× faster than real time" in message
    level, message = assess_health(
        before, {**before, "inference_failures": 2, "dropped_total": 3, "dropped_pose_count": 3}
    )
    assert level == "error"
    assert message == "2 inferences failed (see the log); 1 message dropped (pose_count: 1)"


def test_a_jump_back_in_time_restarts_the_streams_and_decisions_follow(stream_session):
    """A bag replayed in a loop: the stamps jump back by the bag's length. Every stream starts
    afresh and decisions follow within a second of new stream time; a small step back is a
    message out of order."""
    decisions = []
    settings = LiveSettings(stride_seconds=0.5, max_gap_seconds=1.0)
    recognizer = LiveRecognizer(stream_session, settings, decisions.extend, pytest.fail, False)
    stamps, joints = walking(90)
    run(recognizer, stamps, joints)
    with pytest.raises(SkeletonMessageError, match="not after the previous"):
        recognizer.on_message(ns(stamps[-1] - 0.5), joints[0])
    before = len(decisions)
    run(recognizer, stamps, joints)  # the second pass of the loop
    replayed = decisions[before:]
    statistics = recognizer.statistics()
    assert statistics["stamp_resets"] == 1 and statistics["dropped_out_of_order"] == 1
    assert replayed and replayed[0].stamp - stamps[0] <= 1.0
    np.testing.assert_allclose(replayed[0].smoothed, replayed[0].probabilities)
    assert len(replayed) == before  # every pass decides alike


def test_people_fall_to_zero_once_the_input_stops(session):
    import time

    settings = LiveSettings(window_seconds=2.0, person_timeout=0.5)
    recognizer = LiveRecognizer(session, settings, lambda _: None, pytest.fail, False)
    stamps, joints = walking(5)
    run(recognizer, stamps, joints)
    assert recognizer.people_in_view() == 1
    time.sleep(1.0)  # no message for two person timeouts of wall-clock time
    assert recognizer.statistics()["people"] == 0


def watched(session, settings: LiveSettings) -> tuple[LiveRecognizer, list, list]:
    """A synchronous recognizer with the decisions it publishes and the departures it announces
    ((stamp_ns, ids) each)."""
    decisions, departures = [], []
    recognizer = LiveRecognizer(
        session,
        settings,
        decisions.extend,
        pytest.fail,
        False,
        on_left=lambda stamp_ns, ids: departures.append((stamp_ns, ids)),
    )
    return recognizer, decisions, departures


def test_a_shrinking_message_is_a_departure_from_its_end(stream_session):
    """Two bodies by position, then one: slot 1 has left (announced at that stamp, no decision
    about it after), slot 0 keeps its id and its decision stream."""
    recognizer, decisions, left = watched(
        stream_session, LiveSettings(stride_seconds=0.5, smoothing_window=3)
    )
    stamps, joints = walking(90)
    two = np.concatenate([joints, joints + np.array([1.0, 0.0, 0.0])], axis=1)  # (T, 50, 3)
    run(recognizer, stamps[:45], two[:45])
    assert left == []
    run(recognizer, stamps[45:], joints[45:])  # the array shrinks to the first body
    assert left == [(ns(stamps[45]), ["1"])]
    assert not [d for d in decisions if d.person == "1" and d.stamp >= stamps[45]]
    after = [d for d in decisions if d.stamp >= stamps[45]]
    assert after and {d.person for d in after} == {"0"}
    assert not np.allclose(after[0].smoothed, after[0].probabilities)  # the same stream goes on
    assert recognizer.statistics()["departures"] == 1


def test_tracked_ids_follow_people_and_a_missing_id_has_left(stream_session):
    recognizer, decisions, departures = watched(stream_session, LiveSettings(stride_seconds=0.5))
    stamps, joints = walking(90)
    bob = joints + np.array([1.0, 0.0, 0.0])
    for i in range(45):  # the tracker lists them in any order
        ids, bodies = (["alice", "bob"], [joints[i], bob[i]])
        if i % 2:
            ids, bodies = ids[::-1], bodies[::-1]
        recognizer.on_bodies(ns(stamps[i]), ids, bodies)
    assert {d.person for d in decisions} == {"alice", "bob"}
    for i in range(45, 90):
        recognizer.on_bodies(ns(stamps[i]), ["bob"], [bob[i]])
    assert [ids for _, ids in departures] == [["alice"]]
    assert {d.person for d in decisions if d.stamp >= stamps[45]} == {"bob"}
    recognizer.on_bodies(ns(stamps[-1] + 0.05), [], [])  # nobody in view: a valid message
    assert [ids for _, ids in departures] == [["alice"], ["bob"]] and recognizer.people == {}


@pytest.mark.parametrize(
    ("ids", "joints", "kind"),
    [
        (["alice", "alice"], 2, "duplicate_id"),
        (["alice", " "], 2, "empty_id"),
        (["alice"], 24, "joint_count"),
        (["a", "b", "c"], 3, "too_many_bodies"),
    ],
)
def test_bad_tracked_messages_are_dropped_by_reason(session, ids, joints, kind):
    recognizer = LiveRecognizer(session, LiveSettings(), lambda d: None, pytest.fail, False)
    stamps, frames = walking(2)
    recognizer.on_bodies(ns(stamps[0]), ["alice"], [frames[0]])
    bodies = [frames[1][:joints]] if kind == "joint_count" else [frames[1]] * joints
    with pytest.raises(SkeletonMessageError) as err:
        recognizer.on_bodies(ns(stamps[1]), ids, bodies)
    assert err.value.kind == kind
    stats = recognizer.statistics()
    assert stats[f"dropped_{kind}"] == 1 and stats["received"] == 2 and stats["accepted"] == 1
    assert list(recognizer.people) == ["alice"]  # a dropped message is no departure
