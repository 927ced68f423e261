import numpy as np
import pytest

from masksem_core.runtime.decision_rule import candidate_actions, names_action
from masksem_core.runtime.live import DecisionSmoother
from masksem_core.runtime.model_info import ModelFileError, ModelInfo
from masksem_core.window_spec import WindowSpec

# classes: wave, walk, no action (background 2)
SPLIT = np.array([0.45, 0.40, 0.15])  # sure that something happens, unsure which
IDLE = np.array([0.30, 0.10, 0.60])
SURE = np.array([0.05, 0.90, 0.05])


def test_top_class_by_hand():
    index, score = candidate_actions(np.stack([SPLIT, IDLE, SURE]), 2, "top_class")
    assert index.tolist() == [0, 2, 1]
    assert score == pytest.approx([0.45, 0.60, 0.90])
    assert names_action(index, score, 2, 0.5).tolist() == [False, False, True]


def test_action_mass_by_hand():
    index, score = candidate_actions(np.stack([SPLIT, IDLE, SURE]), 2, "action_mass")
    assert index.tolist() == [0, 0, 1]  # never the background class
    assert score == pytest.approx([0.85, 0.40, 0.95])
    assert names_action(index, score, 2, 0.5).tolist() == [True, False, True]


def test_rules_without_background():
    index, score = candidate_actions(SPLIT[None], None, "top_class")
    assert names_action(index, score, None, 0.4).tolist() == [True]
    with pytest.raises(ValueError, match="no action"):
        candidate_actions(SPLIT[None], None, "action_mass")
    with pytest.raises(ValueError, match="decision rule"):
        candidate_actions(SPLIT[None], 2, "vote")


@pytest.mark.parametrize(("rule", "expected"), [("top_class", "none"), ("action_mass", "wave")])
def test_smoother_applies_the_rule(rule, expected):
    smoother = DecisionSmoother(
        ("wave", "walk", "no action"), 0.5, 1, "none", "no action", decision_rule=rule
    )
    assert smoother.update(SPLIT) == expected
    assert smoother.update(IDLE) == "none"


def test_model_info_checks_the_rule():
    names = ("wave", "walk", "no action")
    info = ModelInfo(
        names, WindowSpec("ntu25"), 4, background_class="no action", decision_rule="action_mass"
    )
    assert ModelInfo.from_metadata(info.to_metadata(), "m.onnx").decision_rule == "action_mass"
    with pytest.raises(ModelFileError, match="background class"):
        ModelInfo(names, WindowSpec("ntu25"), 4, decision_rule="action_mass")
    with pytest.raises(ModelFileError, match="decision_rule"):
        ModelInfo(names, WindowSpec("ntu25"), 4, decision_rule="vote")
