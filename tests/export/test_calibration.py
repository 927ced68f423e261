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
