"""The streaming evaluation's scores, by hand on a tiny scripted stream."""

import pytest

from masksem_core.evaluation.stream_metrics import (
    StreamScore,
    idle_seconds,
    realised_false_alarms,
    score_stream,
    segment_counts,
    segments,
)

NO = "no action"


def test_segments_are_runs_without_background():
    labels = ["a", "a", NO, "b", "b", "b", NO, "a"]
    assert segments(labels, NO) == [("a", 0, 1), ("b", 3, 5), ("a", 7, 7)]


def test_segment_counts_by_iou():
    truth = [NO, "a", "a", "a", "a", NO, "b", "b"]
    predicted = [NO, NO, "a", "a", NO, NO, "c", "b"]
    # a: predicted 2–3 vs truth 1–4, IoU 2/4; c: no truth segment; b: 7 vs 6–7, IoU 1/2
    assert segment_counts(predicted, truth, NO, 0.5) == (2, 1, 0)
    assert segment_counts(predicted, truth, NO, 0.6) == (0, 3, 2)


def test_idle_seconds_leave_out_actions_and_their_grace():
    actions = [("a", 2.0, 3.0), ("b", 3.5, 5.0)]
    # [0, 10] minus [2, 4] and [3.5, 6] → 2 + 4 = 6 s
    assert idle_seconds(actions, 0.0, 10.0, grace=1.0) == pytest.approx(6.0)


SCRIPTED_ACTIONS = [("wave", 2.0, 4.0), ("clap", 8.0, 9.0)]
SCRIPTED_DECISIONS = [
    (0.5, NO),
    (1.0, "clap"),  # idle false alarm (run 1)
    (1.5, "clap"),  # same run
    (2.5, NO),  # during wave, wrong
    (3.0, "wave"),  # first right: delay 1.0
    (3.5, "wave"),
    (4.5, "wave"),  # within the 1 s grace: neither action nor idle
    (6.0, NO),  # idle, fine
    (6.5, "wave"),  # idle false alarm (run 2)
    (8.5, "wave"),  # during clap, wrong
    (9.5, "clap"),  # after clap within grace: detected, delay 1.5
]


def test_a_scripted_stream_by_hand():
    actions, decisions = SCRIPTED_ACTIONS, SCRIPTED_DECISIONS
    score = StreamScore()
    score_stream(score, decisions, actions, span=(0.0, 12.0), background=NO)
    result = score.summary()
    assert result["instances"] == 2 and result["detected"] == 1.0  # delays 1.0 and 1.5
    assert result["median_delay_s"] == pytest.approx(1.25)
    assert result["label_accuracy"] == pytest.approx(2 / 4)  # inside: 2.5, 3.0, 3.5, 8.5
    assert result["silent_during_actions"] == pytest.approx(1 / 4)  # 2.5 said no action
    assert result["idle_false_alarm_rate"] == pytest.approx(3 / 5)  # 0.5, 1, 1.5, 6, 6.5
    idle = 12.0 - (5.0 - 2.0) - (10.0 - 8.0)
    assert result["false_alarms_per_min"] == pytest.approx(60 * 2 / idle)
    # truth at the stamps: NO NO NO wave wave wave NO NO NO clap NO; predicted runs: clap(1–2),
    # wave(4–6), wave(8–9), clap(10): wave 4–6 vs wave 3–5 IoU 2/4 → TP at 0.25, the rest FP
    assert score.segments[0.25] == [1, 3, 1]
    assert result["f1_25"] == pytest.approx(2 / (2 + 3 + 1))


def test_an_action_never_decided_on_counts_as_missed():
    score = StreamScore()
    score_stream(score, [], [("wave", 0.0, 1.0)], span=(0.0, 1.0), background=NO)
    result = score.summary()
    assert result["instances"] == 1 and result["detected"] == 0.0
    assert result["median_delay_s"] is None and result["f1_25"] == 0.0


def test_announcements_and_idle_false_alarms_by_class_by_hand():
    score = StreamScore()
    score_stream(score, SCRIPTED_DECISIONS, SCRIPTED_ACTIONS, span=(0.0, 12.0), background=NO)
    result = score.summary()
    # announcements (the label changing to an action): clap@1.0 (idle: wrong), wave@3.0 (right),
    # wave@6.5 after "no action" (idle: wrong), clap@9.5 (within clap's grace: right); wave@8.5
    # repeats wave@6.5 and is no new announcement
    assert result["announcements"] == 4
    assert result["announced_right"] == pytest.approx(2 / 4)
    assert result["idle_false_alarms_by_class"] == {"clap": 2, "wave": 1}
    assert result["idle_decisions"] == 5


def test_realised_false_alarms_of_two_synthetic_folds():
    """Fold "a": one stream, 1 of 4 idle decisions names an action → 25 %, over a 10 % target.
    Fold "b": two scenarios, 0 of 3 and 1 of 7 → 10 % pooled, holding."""
    a = {"recordings": StreamScore()}
    score_stream(a["recordings"], [(0.0, NO), (1.0, "wave"), (2.0, NO), (3.0, NO)], [], (0, 3), NO)
    b = {"recordings": StreamScore(), "alone": StreamScore()}
    score_stream(b["alone"], [(0.0, NO), (1.0, NO), (2.0, NO)], [], (0, 2), NO)
    idle = [(float(t), NO) for t in range(6)] + [(6.0, "clap")]
    score_stream(b["recordings"], idle, [], (0, 6), NO)
    row_a = realised_false_alarms("a", a, threshold=0.8, target=0.1)
    row_b = realised_false_alarms("b", b, threshold=0.7, target=0.1)
    assert row_a["idle_false_alarm_rate"] == pytest.approx(0.25) and row_a["holds"] is False
    assert row_a["idle_decisions"] == 4 and row_a["threshold"] == 0.8
    assert row_b["idle_false_alarm_rate"] == pytest.approx(0.1) and row_b["holds"] is True
    assert row_b["by_scenario"] == {"recordings": pytest.approx(1 / 7), "alone": 0.0}
    unknown = realised_false_alarms("c", b, threshold=0.7, target=None)
    assert unknown["holds"] is None and unknown["target_false_alarm"] is None
