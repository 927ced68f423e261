"""How class probabilities become "this action" or "no action": the one rule that the live
smoother, the calibration at export and the model's metadata share.

- ``top_class``: the most probable class names itself when its probability reaches the
  threshold and it is not the "no action" class.
- ``action_mass`` (models with a "no action" class): whether *some* action happens is
  1 − p(no action), compared with the threshold; which one is the most probable action. A
  window between two similar actions, or early in one, splits its probability among actions
  and would fall below a ``top_class`` threshold although the model is sure that something
  happens (chosen on GTU's validation split: README, design notes).
"""

from __future__ import annotations

import numpy as np

DECISION_RULES = ("top_class", "action_mass")


def candidate_actions(
    probabilities: np.ndarray, background: int | None, rule: str
) -> tuple[np.ndarray, np.ndarray]:
    """(…, K) probabilities → the class each row would name (…,) and the score compared with
    the threshold (…,). ``background`` is the index of the "no action" class (None: none)."""
    if rule not in DECISION_RULES:
        raise ValueError(f"decision rule must be one of {DECISION_RULES}, got {rule!r}")
    if rule == "top_class":
        index = probabilities.argmax(axis=-1)
        return index, np.take_along_axis(probabilities, index[..., None], axis=-1)[..., 0]
    if background is None:
        raise ValueError("the action_mass rule needs a model with a 'no action' class")
    actions = probabilities.copy()
    actions[..., background] = -np.inf
    return actions.argmax(axis=-1), 1.0 - probabilities[..., background]


def names_action(
    index: np.ndarray, score: np.ndarray, background: int | None, threshold: float
) -> np.ndarray:
    """Whether each candidate of :func:`candidate_actions` is published as an action."""
    named = score >= threshold
    return named if background is None else named & (index != background)
