"""An ensemble of two cross-validated recipes (training/crossval.py, bench/yardstick.py
--crossval), cross-validated itself: each fold's weight is chosen on the *other* folds' held-out
windows (nested, so the person left out never chooses it), the fold's ensemble file is merged
from the two fold models and calibrated on the other folds' held-out windows; the layout is
training/crossval.py's, so evaluate_stream --crossval plays it."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from masksem_core.atomic import write_json_atomic
from masksem_core.engine.crossval import FOLD_MODEL, FOLDS_FILE, HELDOUT_FILE
from masksem_core.export.calibration import HeldOutWindows
from masksem_core.export.ensemble import (
    EnsembleError,
    ensemble_info,
    merge_classifiers,
    mixed_logits,
)
from masksem_core.export.export_checkpoint import CROSSVAL_SOURCE

WEIGHTS = tuple(
    np.round(np.linspace(0.0, 1.0, 11), 2)
)  # the first recipe's weight; 1 − w the second's


def action_top1(windows: HeldOutWindows) -> float:
    """Top-1 on the action windows ("no action", the last class, left out)."""
    actions = windows.labels != windows.logits.shape[1] - 1
    return float((windows.logits[actions].argmax(1) == windows.labels[actions]).mean())


def mixed(first: HeldOutWindows, second: HeldOutWindows, weight: float) -> HeldOutWindows:
    """The ensemble's held-out windows at ``weight`` (the first recipe's)."""
    return HeldOutWindows(
        mixed_logits([first.logits, second.logits], [weight, 1.0 - weight]),
        first.labels,
        first.subjects,
    )


def best_weight(first: list[HeldOutWindows], second: list[HeldOutWindows]) -> float:
    """The weight of ``WEIGHTS`` with the best pooled action top-1 (ties: the heavier first)."""
    pooled = HeldOutWindows.pooled(first), HeldOutWindows.pooled(second)
    return max(reversed(WEIGHTS), key=lambda w: action_top1(mixed(*pooled, w)))


def read_folds(folder: Path) -> tuple[dict, list[HeldOutWindows]]:
    """A cross-validation's index and each fold's held-out windows."""
    path = folder / FOLDS_FILE
    if not path.is_file():
        raise EnsembleError(f"{folder} holds no {FOLDS_FILE}; run its cross-validation first")
    index = json.loads(path.read_text())
    parts = []
    for fold in index["folds"]:
        windows = Path(fold["model"]).parent / HELDOUT_FILE
        if not windows.is_file() or not Path(fold["model"]).is_file():
            raise EnsembleError(f"{folder}: fold {fold['subject']} lacks {windows} or its model")
        parts.append(HeldOutWindows.load(windows))
    return index, parts


def crossvalidate_ensemble(
    first: Path, second: Path, out: Path, target_false_alarm: float, decision_rule: str
) -> dict:
    """The ensemble of the cross-validations ``first`` and ``second`` (same data, subjects and
    held-out windows) in ``out``. → its index, each fold's weight and calibration, and the
    weight chosen on every fold (the one to ship)."""
    index_a, parts_a = read_folds(first)
    index_b, parts_b = read_folds(second)
    if index_a["subjects"] != index_b["subjects"] or index_a["data"] != index_b["data"]:
        raise EnsembleError(
            f"{first} and {second} are not folds of the same people and data: "
            f"{index_a['subjects']} of {index_a['data']} against "
            f"{index_b['subjects']} of {index_b['data']}"
        )
    for subject, a, b in zip(index_a["subjects"], parts_a, parts_b, strict=True):
        if a.logits.shape != b.logits.shape or not np.array_equal(a.labels, b.labels):
            raise EnsembleError(
                f"subject {subject}: the two recipes' held-out windows differ; both must score "
                "the same windows (the same data settings)"
            )
    folds = []
    for k, (fold_a, fold_b) in enumerate(zip(index_a["folds"], index_b["folds"], strict=True)):
        subject = fold_a["subject"]
        others_a = [p for j, p in enumerate(parts_a) if j != k]
        others_b = [p for j, p in enumerate(parts_b) if j != k]
        weight = best_weight(others_a, others_b)
        others = HeldOutWindows.pooled(
            [mixed(a, b, weight) for a, b in zip(others_a, others_b, strict=True)]
        )
        calibration = others.calibrate(target_false_alarm, decision_rule, CROSSVAL_SOURCE)
        if fold_b["subject"] != subject:
            raise EnsembleError(f"{second}: fold {k} leaves out {fold_b['subject']}, not {subject}")
        members = [Path(fold_a["model"]), Path(fold_b["model"])]
        info = replace(
            ensemble_info(members, [weight, 1.0 - weight]),
            temperature=calibration.temperature,
            score_threshold=calibration.threshold,
            decision_rule=decision_rule,
        )
        folder = out / f"subject_{subject}"
        folder.mkdir(parents=True, exist_ok=True)
        mixed(parts_a[k], parts_b[k], weight).save(folder / HELDOUT_FILE)
        merge_classifiers(members, [weight, 1.0 - weight], folder / FOLD_MODEL, info)
        folds.append(
            {
                "subject": subject,
                "split": fold_a["split"],
                "model": str(folder / FOLD_MODEL),
                "weight": weight,
                "calibration": asdict(calibration),
            }
        )
    weight = best_weight(parts_a, parts_b)
    pooled = HeldOutWindows.pooled(
        [mixed(a, b, weight) for a, b in zip(parts_a, parts_b, strict=True)]
    )
    pooled.save(out / HELDOUT_FILE)
    index = {
        "experiment": f"ensemble of {first} and {second}",
        "data": index_a["data"],
        "init": f"ensemble ({index_a['init']} + {index_b['init']})",
        "target_false_alarm": target_false_alarm,
        "subjects": index_a["subjects"],
        "folds": [{k: f[k] for k in ("subject", "split", "model")} for f in folds],
        "members": [str(first), str(second)],
        "weights": {f["subject"]: f["weight"] for f in folds},
        "weight": weight,
        "heldout": str(out / HELDOUT_FILE),
    }
    write_json_atomic(out / FOLDS_FILE, index)
    return {
        "index": out / FOLDS_FILE,
        "folds": folds,
        "weight": weight,
        "parts": (parts_a, parts_b),
    }
