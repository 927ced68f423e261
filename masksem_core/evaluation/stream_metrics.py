"""What a robot gets from the recognizer, scored against the truth of a stream.

A stream's truth is its labelled actions ``(label, start, end)`` (seconds); the recognizer's
output is its published decisions ``(stamp, label)``, stamp = the end of the window decided on.
The scores:

- an action is **detected** when its label is published at least once from its start until
  ``grace`` seconds after its end; its **delay** is that first decision's stamp − its start;
- **label accuracy**: of the decisions stamped inside an action, the share that name it; the
  share that say "no action" there is **silent during actions** (the rest name another action:
  which of the two failures limits a model);
- **idle decisions** are those stamped outside every [start, end + grace]; the **idle
  false-alarm rate** is the share of them that name an action, and **false alarms per minute**
  counts runs of consecutive such decisions per minute of idle time;
- **announced right**: an announcement is a decision that names an action other than the
  person's previous decision (what a robot acts on: the label changing to an action); it is
  right when an action of that label spans its stamp (from its start to ``grace`` seconds
  after its end);
- **idle false alarms by class**: the idle decisions that name an action, counted by the
  action they name;
- **segmental F1@τ** (MS-TCN's): the decision sequence and the truth sampled at the decision
  stamps are cut into segments of equal label ("no action" is no segment); a predicted segment
  is a true positive when it overlaps an unmatched truth segment of its label with IoU ≥ τ;
  an action no decision falls in is a missed truth segment.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from masksem_core.data.stream import DECISION_GRACE_SECONDS

F1_THRESHOLDS = (0.10, 0.25, 0.50)


@dataclass
class StreamScore:
    """Counts accumulated over the streams of one scenario."""

    instances: int = 0
    detected: int = 0
    delays: list[float] = field(default_factory=list)
    action_decisions: int = 0
    correct_action_decisions: int = 0
    silent_action_decisions: int = 0
    idle_decisions: int = 0
    idle_false_alarms: int = 0
    false_alarm_runs: int = 0
    idle_seconds: float = 0.0
    announcements: int = 0
    announcements_right: int = 0
    idle_false_alarms_by_class: Counter = field(default_factory=Counter)
    segments: dict[float, list[int]] = field(
        default_factory=lambda: {t: [0, 0, 0] for t in F1_THRESHOLDS}  # tp, fp, fn
    )

    def absorb(self, other: StreamScore) -> None:
        """Add ``other``'s counts to these (a scenario pooled over cross-validation folds)."""
        for name in (
            "instances",
            "detected",
            "action_decisions",
            "correct_action_decisions",
            "silent_action_decisions",
            "idle_decisions",
            "idle_false_alarms",
            "false_alarm_runs",
            "idle_seconds",
            "announcements",
            "announcements_right",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.delays += other.delays
        self.idle_false_alarms_by_class.update(other.idle_false_alarms_by_class)
        for threshold, counts in other.segments.items():
            self.segments[threshold] = [
                a + b for a, b in zip(self.segments[threshold], counts, strict=True)
            ]

    def summary(self) -> dict[str, float | int | None]:
        def share(part: int, whole: int) -> float | None:
            return part / whole if whole else None

        def f1(tp: int, fp: int, fn: int) -> float | None:
            return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else None

        delays = np.array(self.delays)
        return {
            "instances": self.instances,
            "detected": share(self.detected, self.instances),
            "median_delay_s": float(np.median(delays)) if delays.size else None,
            "p90_delay_s": float(np.percentile(delays, 90)) if delays.size else None,
            "label_accuracy": share(self.correct_action_decisions, self.action_decisions),
            "silent_during_actions": share(self.silent_action_decisions, self.action_decisions),
            "idle_false_alarm_rate": share(self.idle_false_alarms, self.idle_decisions),
            "idle_decisions": self.idle_decisions,
            "idle_false_alarms_by_class": dict(self.idle_false_alarms_by_class.most_common()),
            "announcements": self.announcements,
            "announced_right": share(self.announcements_right, self.announcements),
            "false_alarms_per_min": (
                60.0 * self.false_alarm_runs / self.idle_seconds if self.idle_seconds else None
            ),
            **{f"f1_{round(100 * t)}": f1(*self.segments[t]) for t in F1_THRESHOLDS},
        }


def segments(labels: list[str], background: str) -> list[tuple[str, int, int]]:
    """Runs of equal labels as (label, first index, last index), background runs left out."""
    runs = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            if labels[start] != background:
                runs.append((labels[start], start, i - 1))
            start = i
    return runs


def segment_counts(
    predicted: list[str], truth: list[str], background: str, threshold: float
) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) of segmental F1 at IoU ``threshold``."""
    pred, true = segments(predicted, background), segments(truth, background)
    matched = [False] * len(true)
    tp = fp = 0
    for label, first, last in pred:
        best, best_iou = -1, 0.0
        for k, (true_label, t_first, t_last) in enumerate(true):
            if true_label != label:
                continue
            inter = min(last, t_last) - max(first, t_first) + 1
            union = max(last, t_last) - min(first, t_first) + 1
            if inter / union > best_iou:
                best, best_iou = k, inter / union
        if best >= 0 and best_iou >= threshold and not matched[best]:
            matched[best] = True
            tp += 1
        else:
            fp += 1
    return tp, fp, len(true) - sum(matched)


def idle_seconds(
    actions: list[tuple[str, float, float]], start: float, end: float, grace: float
) -> float:
    """Seconds of [start, end] outside every [action start, action end + grace]."""
    busy, covered = sorted((a_start, a_end + grace) for _, a_start, a_end in actions), 0.0
    cursor = start
    for low, high in busy:
        low, high = max(low, cursor), min(high, end)
        if high > low:
            covered += high - low
            cursor = high
    return max(0.0, end - start - covered)


def score_stream(
    score: StreamScore,
    decisions: list[tuple[float, str]],
    actions: list[tuple[str, float, float]],
    span: tuple[float, float],
    background: str,
    grace: float = DECISION_GRACE_SECONDS,
) -> None:
    """Add one stream to ``score``: its decisions (stamp, label), its actions (label, start,
    end) and its time span (first, last stamp)."""
    score.instances += len(actions)
    for label, start, end in actions:
        hits = [t for t, said in decisions if start <= t <= end + grace and said == label]
        if hits:
            score.detected += 1
            score.delays.append(hits[0] - start)
    truth = []
    previous_false_alarm = False
    previous = background
    for stamp, said in decisions:
        if said not in (background, previous):
            score.announcements += 1
            score.announcements_right += any(
                label == said and start <= stamp <= end + grace for label, start, end in actions
            )
        previous = said
        inside = [label for label, start, end in actions if start <= stamp <= end]
        truth.append(inside[-1] if inside else background)
        if inside:
            score.action_decisions += 1
            score.correct_action_decisions += said == inside[-1]
            score.silent_action_decisions += said == background
        idle = not any(start <= stamp <= end + grace for _, start, end in actions)
        false_alarm = idle and said != background
        if idle:
            score.idle_decisions += 1
            score.idle_false_alarms += false_alarm
            if false_alarm:
                score.idle_false_alarms_by_class[said] += 1
            score.false_alarm_runs += false_alarm and not previous_false_alarm
        previous_false_alarm = false_alarm
    score.idle_seconds += idle_seconds(actions, *span, grace)
    predicted = [said for _, said in decisions]
    unseen = sum(not any(start <= t <= end for t, _ in decisions) for _, start, end in actions)
    for threshold in F1_THRESHOLDS:
        tp, fp, fn = segment_counts(predicted, truth, background, threshold)
        counts = (tp, fp, fn + unseen)  # an action no decision falls in is a missed segment
        score.segments[threshold] = [
            a + b for a, b in zip(score.segments[threshold], counts, strict=True)
        ]


def realised_false_alarms(
    subject: str,
    by_scenario: dict[str, StreamScore],
    threshold: float,
    target: float | None,
) -> dict[str, object]:
    """One cross-validation fold's idle false-alarm rate realised on the streams of the person
    it left out (every scenario's idle decisions pooled, and each scenario's), at the
    ``threshold`` the other folds' held-out windows chose for ``target``; ``holds`` says
    whether the realised rate stays at or under the target."""
    idle = sum(score.idle_decisions for score in by_scenario.values())
    alarms = sum(score.idle_false_alarms for score in by_scenario.values())
    rate = alarms / idle if idle else None
    return {
        "scenario": "fold",
        "subject": subject,
        "threshold": threshold,
        "target_false_alarm": target,
        "idle_decisions": idle,
        "idle_false_alarm_rate": rate,
        "by_scenario": {
            name: score.summary()["idle_false_alarm_rate"] for name, score in by_scenario.items()
        },
        "holds": None if target is None or rate is None else rate <= target,
    }
