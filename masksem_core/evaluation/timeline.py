"""A picture of one recording played through the recognizer: where the actions were, what it
announced for each person, and how close its score came to the threshold; missed actions and
idle false alarms marked (evaluate_stream --plot)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from masksem_core.data.stream import DECISION_GRACE_SECONDS
from masksem_core.evaluation.streams import Stream
from masksem_core.runtime.decision_rule import candidate_actions
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.runtime.recognizer import Decision

MISSED = "#d62728"
NO_ACTION = "#bbbbbb"


def plot_timeline(
    stream: Stream,
    decisions: dict[str, list[tuple[float, Decision]]],
    info: ModelInfo,
    threshold: float,
    no_action_label: str,
    out: Path,
    title: str,
) -> Path:
    """Write ``out`` (PNG): top, the labelled actions and each person's published labels;
    bottom, the actor's decision score (the model's rule over its smoothed probabilities)
    against ``threshold``. An action never named right from its start to 1 s after its end is
    marked missed; a decision naming an action outside every action (and its 1 s) is a false
    alarm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(info.class_names)
    colours = {name: plt.cm.tab20(i % 20) for i, name in enumerate(names)}
    background = names.index(info.background_class) if info.background_class else None
    people = sorted({"0", *decisions})
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(14, 2.2 + 0.5 * len(people)),
        sharex=True,
        gridspec_kw={"height_ratios": [1 + 0.4 * len(people), 1.6]},
    )
    rows = {person: k + 1 for k, person in enumerate(people)}
    for label, start, end in stream.actions:
        said = [
            d.label
            for at, d in decisions.get("0", [])
            if start <= at <= end + DECISION_GRACE_SECONDS
        ]
        missed = label not in said
        top.broken_barh([(start, end - start)], (0.1, 0.8), color=colours.get(label, "k"))
        top.text((start + end) / 2, 0.5, label, ha="center", va="center", fontsize=7)
        if missed:
            top.text((start + end) / 2, -0.25, "missed", color=MISSED, ha="center", fontsize=7)
        bottom.axvspan(start, end, color=colours.get(label, "k"), alpha=0.15, lw=0)
    for person, row in rows.items():
        mine = decisions.get(person, [])
        actions = stream.actions if person == "0" else []
        for at, decision in mine:
            if decision.label == no_action_label:
                top.plot(at, row + 0.5, "|", color=NO_ACTION, ms=6)
                continue
            inside = any(start <= at <= end + DECISION_GRACE_SECONDS for _, start, end in actions)
            top.plot(at, row + 0.5, "s", color=colours.get(decision.label, "k"), ms=5)
            if not inside:
                top.plot(at, row + 0.5, "x", color=MISSED, ms=8, mew=1.5)
    top.set_yticks(
        [0.5, *(row + 0.5 for row in rows.values())],
        ["labelled", *(f"person {p} said" for p in rows)],
        fontsize=8,
    )
    top.set_ylim(-0.5, len(people) + 1.1)
    mine = decisions.get("0", [])
    if mine:
        stamps = np.array([at for at, _ in mine])
        smoothed = np.stack([d.smoothed for _, d in mine])
        _, score = candidate_actions(smoothed, background, info.decision_rule)
        bottom.plot(stamps, score, color="k", lw=1, label=f"score ({info.decision_rule})")
    bottom.axhline(threshold, color=MISSED, ls="--", lw=1, label=f"threshold {threshold:.3f}")
    bottom.set_ylim(0, 1.02)
    bottom.set_ylabel("person 0", fontsize=8)
    bottom.set_xlabel("time (s)")
    bottom.legend(loc="lower right", bbox_to_anchor=(1, 1), fontsize=7, ncol=2)
    handles = [
        plt.Line2D([], [], ls="", marker="s", color="grey", label="announced action"),
        plt.Line2D([], [], ls="", marker="x", color=MISSED, label="idle false alarm"),
        plt.Line2D([], [], ls="", marker="|", color=NO_ACTION, label="no action"),
    ]
    top.legend(handles=handles, loc="lower right", bbox_to_anchor=(1, 1), fontsize=7, ncol=3)
    top.set_title(title, fontsize=9, loc="left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
