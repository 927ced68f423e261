"""Calibration of a stream-mode model's decisions on a validation split (never the test split):
a temperature for its probabilities and the threshold that keeps false alarms on idle windows
at a target rate. Both are stored in the ONNX metadata and used by the live recognizer."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from masksem_core.errors import MaskSemError
from masksem_core.runtime.decision_rule import candidate_actions, names_action

TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(8.0), 121))
CURVE_RATES = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)  # idle false-alarm targets of the curve
MIN_ACTION_RECALL = 0.5  # a calibration naming fewer validation actions right is refused


class CalibrationError(MaskSemError):
    """A calibration that cannot be trusted on people it has not seen."""


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
class CurvePoint:
    """One operating point: the threshold for a target idle false-alarm rate and what it gives
    on the validation windows."""

    target_false_alarm: float
    threshold: float
    idle_false_alarm: float
    action_recall: float


@dataclass(frozen=True)
class Calibration:
    decision_rule: str
    temperature: float
    threshold: float
    target_false_alarm: float
    idle_false_alarm: float  # on the validation idle windows, at the threshold
    action_recall: float  # validation action windows named right at the threshold
    windows: int
    curve: tuple[CurvePoint, ...] = ()  # the detection / false-alarm curve it chose from
    subjects: int = 0  # subjects the validation windows pool (0: not named by the dataset)
    source: str = ""  # where the windows come from: a validation split, or held-out folds


def operating_point(
    probabilities: np.ndarray, labels: np.ndarray, background: int, target: float, rule: str
) -> CurvePoint:
    """The threshold for ``target`` on the idle windows and its rates on all windows."""
    idle = labels == background
    threshold = idle_threshold(probabilities[idle], background, target, rule)
    top, score = candidate_actions(probabilities, background, rule)
    named = names_action(top, score, background, threshold)
    return CurvePoint(
        target_false_alarm=target,
        threshold=threshold,
        idle_false_alarm=float(named[idle].mean()) if idle.any() else 0.0,
        action_recall=float((named & (top == labels))[~idle].mean()) if (~idle).any() else 0.0,
    )


def curve_table(curve: tuple[CurvePoint, ...]) -> list[str]:
    """The curve as Markdown rows (export output and model card)."""
    rows = [
        "| target idle false alarms | threshold | idle false alarms | actions named right |",
        "|---|---|---|---|",
    ]
    rows += [
        f"| {p.target_false_alarm:.1%} | {p.threshold:.3f} | {p.idle_false_alarm:.1%} | "
        f"{p.action_recall:.1%} |"
        for p in curve
    ]
    return rows


def calibrate(
    logits: np.ndarray,
    labels: np.ndarray,
    background: int,
    target_false_alarm: float,
    rule: str,
) -> Calibration:
    """Temperature on every validation window, then the threshold of the decision ``rule``
    on its idle ones, and the curve of the other operating points (``CURVE_RATES``)."""
    temperature = fit_temperature(logits, labels)
    probabilities = softmax(logits, temperature)
    chosen = operating_point(probabilities, labels, background, target_false_alarm, rule)
    rates = sorted({*CURVE_RATES, target_false_alarm})
    return Calibration(
        decision_rule=rule,
        temperature=temperature,
        threshold=chosen.threshold,
        target_false_alarm=target_false_alarm,
        idle_false_alarm=chosen.idle_false_alarm,
        action_recall=chosen.action_recall,
        windows=len(labels),
        curve=tuple(operating_point(probabilities, labels, background, r, rule) for r in rates),
    )


@dataclass(frozen=True)
class HeldOutWindows:
    """Calibration windows scored by a model that never trained on them: logits (N, K), labels
    (N,) and each window's subject (N,); one cross-validation fold's, or several pooled."""

    logits: np.ndarray
    labels: np.ndarray
    subjects: np.ndarray

    def save(self, path: Path) -> None:
        np.savez(path, logits=self.logits, labels=self.labels, subjects=self.subjects.astype(str))

    @classmethod
    def load(cls, path: Path) -> HeldOutWindows:
        """Read a file :meth:`save` wrote (data only, never pickled objects)."""
        try:
            with np.load(path, allow_pickle=False) as stored:
                windows = cls(stored["logits"], stored["labels"], stored["subjects"])
        except (OSError, ValueError, KeyError) as err:
            raise CalibrationError(
                f"{path}: not held-out calibration windows written by training/crossval.py "
                f"({err}); run the cross-validation again"
            ) from None
        n = len(windows.labels)
        if windows.logits.ndim != 2 or len(windows.logits) != n or len(windows.subjects) != n:
            raise CalibrationError(f"{path}: logits, labels and subjects disagree in length")
        return windows

    @classmethod
    def pooled(cls, parts: list[HeldOutWindows]) -> HeldOutWindows:
        return cls(
            np.concatenate([p.logits for p in parts]),
            np.concatenate([p.labels for p in parts]),
            np.concatenate([p.subjects.astype(str) for p in parts]),
        )

    def calibrate(self, target_false_alarm: float, rule: str, source: str) -> Calibration:
        """:func:`calibrate` on these windows ("no action" is the last class), naming how many
        subjects they pool and where they come from."""
        calibration = calibrate(
            self.logits, self.labels, self.logits.shape[1] - 1, target_false_alarm, rule
        )
        return replace(calibration, subjects=len(set(self.subjects.tolist())), source=source)
