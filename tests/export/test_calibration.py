import numpy as np
import pytest

from masksem_core.export.calibration import calibrate, fit_temperature, idle_threshold, softmax


def test_temperature_scaling_undoes_overconfidence():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=2000)
    true_logits = rng.normal(size=(2000, 3))
    true_logits[np.arange(2000), labels] += 1.0
    # draw labels from softmax(true_logits), then hand the model logits 3× too sharp
    probabilities = softmax(true_logits)
    drawn = np.array([rng.choice(3, p=p) for p in probabilities])
    assert fit_temperature(3.0 * true_logits, drawn) == pytest.approx(3.0, rel=0.15)


def test_idle_threshold_by_hand():
    background = 2
    idle = np.array(
        [
            [0.1, 0.1, 0.8],  # says no action
            [0.6, 0.3, 0.1],  # names class 0 at 0.6
            [0.2, 0.7, 0.1],  # names class 1 at 0.7
            [0.5, 0.1, 0.4],  # names class 0 at 0.5
        ]
    )
    # top class: 1 of 4 may pass: 0.7 does, 0.6 must not → halfway
    assert idle_threshold(idle, background, 0.25, "top_class") == pytest.approx(0.65)
    assert idle_threshold(idle, background, 0.0, "top_class") == pytest.approx(0.85)  # to 1
    assert idle_threshold(idle, background, 0.75, "top_class") == 0.0
    # action mass: every row can name an action, scored 1 − p(no action): 0.2, 0.9, 0.9, 0.6
    assert idle_threshold(idle, background, 0.5, "action_mass") == pytest.approx(0.75)
    # one may pass, but the two at 0.9 are tied: both refused
    assert idle_threshold(idle, background, 0.25, "action_mass") == pytest.approx(0.95)
    assert idle_threshold(idle, background, 0.0, "action_mass") == pytest.approx(0.95)


def test_calibration_reports_its_validation_rates():
    logits = np.log(
        np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8], [0.6, 0.1, 0.3]])
    )
    labels = np.array([0, 1, 2, 2])
    result = calibrate(logits, labels, background=2, target_false_alarm=0.0, rule="top_class")
    assert result.windows == 4 and result.idle_false_alarm == 0.0
    p = softmax(logits, result.temperature)
    # the one idle window naming an action (row 3, class 0) is refused, up to 1
    assert result.threshold == pytest.approx((p[3, 0] + 1) / 2)
    expected = np.mean([p[0, 0] >= result.threshold, p[1, 1] >= result.threshold])
    assert result.action_recall == pytest.approx(expected)
    mass = calibrate(logits, labels, background=2, target_false_alarm=0.0, rule="action_mass")
    assert mass.decision_rule == "action_mass" and mass.temperature == result.temperature
    # both idle windows can name an action; the higher mass (row 3) is refused, up to 1
    assert mass.threshold == pytest.approx((1 - p[3, 2] + 1) / 2)
    assert mass.idle_false_alarm == 0.0


def test_the_curve_trades_false_alarms_for_detections():
    rng = np.random.default_rng(0)
    labels = np.array([0] * 40 + [1] * 40 + [2] * 200)  # class 2 is "no action"
    logits = rng.normal(size=(280, 3)) + 2.0 * np.eye(3)[labels]
    result = calibrate(logits, labels, background=2, target_false_alarm=0.02, rule="action_mass")
    targets = [p.target_false_alarm for p in result.curve]
    assert 0.02 in targets and targets == sorted(targets)
    thresholds = [p.threshold for p in result.curve]
    recalls = [p.action_recall for p in result.curve]
    assert thresholds == sorted(thresholds, reverse=True) and recalls == sorted(recalls)
    assert all(p.idle_false_alarm <= p.target_false_alarm for p in result.curve)
    chosen = next(p for p in result.curve if p.target_false_alarm == 0.02)
    assert chosen.threshold == result.threshold and chosen.action_recall == result.action_recall


def test_a_calibration_that_names_almost_no_action_is_refused_with_its_curve():
    from dataclasses import replace

    from masksem_core.export.calibration import CalibrationError
    from masksem_core.export.export_checkpoint import check_calibration

    labels = np.array([0] * 20 + [1] * 100)
    logits = np.random.default_rng(1).normal(size=(120, 2))  # no skill at all
    silent = calibrate(logits, labels, background=1, target_false_alarm=0.02, rule="action_mass")
    assert silent.action_recall < 0.5
    with pytest.raises(CalibrationError, match="names only") as err:
        check_calibration(silent, accept_low_recall=False)
    assert "| 20.0% |" in str(err.value) and "--target-false-alarm" in str(err.value)
    assert "names only" in check_calibration(silent, accept_low_recall=True)
    assert check_calibration(replace(silent, action_recall=0.8), False) == ""


def test_calibration_on_one_subject_is_refused(tmp_path):
    from masksem_core.config import load_experiment
    from masksem_core.data.prepare import prepare_dataset
    from masksem_core.data.prepared import PreparedData
    from masksem_core.export.calibration import CalibrationError
    from masksem_core.export.export_checkpoint import calibrate_on
    from tests.data.test_recordings import recordings_folder

    recordings_folder(tmp_path / "mine")
    prepare_dataset("recordings", tmp_path / "mine", tmp_path / "prep", val_subjects=["bob"])
    data = load_experiment("utkinect_deploy", ["data.val_split=val"]).data
    with pytest.raises(CalibrationError, match=r"holds one subject \(bob\)"):
        calibrate_on(None, PreparedData(tmp_path / "prep"), data, 0.02, "action_mass")
