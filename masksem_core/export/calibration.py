"""Calibration of a stream-mode model's decisions on a validation split (never the test split):
a temperature for its probabilities and the threshold that keeps false alarms on idle windows
at a target rate. Both are stored in the ONNX metadata and used by the live recognizer."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from masksem_core.runtime.decision_rule import candidate_actions, names_action

TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    shifted = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T (grid over 0.25 … 8, log-spaced) minimising the negative
    log-likelihood of softmax(logits / T) (temperature scaling, Guo et al. 2017)."""
    rows = np.arange(len(labels))

    def nll(temperature: float) -> float:
        return float(-np.log(softmax(logits, temperature)[rows, labels] + 1e-12).mean())

    return float(min(TEMPERATURES, key=nll))


def idle_threshold(
    probabilities: np.ndarray, background: int, target_rate: float, rule: str
) -> float:
    """A score threshold at which at most ``target_rate`` of these idle windows (rows) would
    name an action under the decision ``rule`` (their candidate is not ``background`` and
    scores at least the threshold): halfway between the highest score that must be refused and
    the next higher one (1 above it; tied scores are refused together). 0 when fewer than
    that many name an action at all."""
    index, score = candidate_actions(probabilities, background, rule)
    scores = np.sort(score[index != background])  # windows that can name an action
    allowed = int(np.floor(target_rate * len(probabilities)))
    if len(scores) <= allowed:
        return 0.0
    refused = scores[len(scores) - allowed - 1]  # the highest score that must not name one
    higher = scores[scores > refused]
    return float((refused + (higher[0] if len(higher) else 1.0)) / 2)


@dataclass(frozen=True)
class Calibration:
    decision_rule: str
    temperature: float
    threshold: float
    target_false_alarm: float
    idle_false_alarm: float  # on the validation idle windows, at the threshold
    action_recall: float  # validation action windows named right at the threshold
    windows: int


def calibrate(
    logits: np.ndarray,
    labels: np.ndarray,
    background: int,
    target_false_alarm: float,
    rule: str,
) -> Calibration:
    """Temperature on every validation window, then the threshold of the decision ``rule``
    on its idle ones."""
    temperature = fit_temperature(logits, labels)
    probabilities = softmax(logits, temperature)
    idle = labels == background
    threshold = idle_threshold(probabilities[idle], background, target_false_alarm, rule)
    top, score = candidate_actions(probabilities, background, rule)
    named = names_action(top, score, background, threshold)
    return Calibration(
        decision_rule=rule,
        temperature=temperature,
        threshold=threshold,
        target_false_alarm=target_false_alarm,
        idle_false_alarm=float(named[idle].mean()) if idle.any() else 0.0,
        action_recall=float((named & (top == labels))[~idle].mean()) if (~idle).any() else 0.0,
        windows=len(labels),
    )
