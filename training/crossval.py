"""Leave-one-subject-out cross-validation of a stream-mode recipe: the honest numbers and the
calibration of a model trained on a few people.

  python training/crossval.py --config utkinect_deploy --target-false-alarm 0.1
  python training/export_onnx.py --checkpoint runs/utkinect_deploy/crossval/all/finetune/last.pt \\
      --heldout runs/utkinect_deploy/crossval/heldout.npz --target-false-alarm 0.1 \\
      --out models/utkinect_masksem.onnx --model-card
  python training/evaluate_stream.py --crossval runs/utkinect_deploy/crossval --json

One fold per subject of the config's training and validation splits (its test split is never
touched): fine-tuned on every other subject, it scores the one it never saw (calibration
windows, saved as heldout.npz) and is exported with the threshold chosen on the other folds'
held-out windows, so that evaluate_stream --crossval plays each subject's streams through a
model and a threshold that never saw them. Then one model is trained on all of them: the one
to ship, calibrated on every fold's held-out windows pooled (export_onnx.py --heldout).
Resumable: finished folds are read, interrupted ones resume; start the command twice side by
side and the two processes share the folds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from masksem_training.cli_common import (
    add_calibration_options,
    add_init_options,
    base_parser,
    initialisation,
    run_main,
)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__, argv)
    add_init_options(parser, "the config's finetune.init, else <output_dir>/pretrain/last.pt")
    parser.add_argument(
        "--folds-only",
        action="store_true",
        help="train and export the folds only, not the model of everyone (a study of a "
        "recipe: its held-out numbers, before deciding to ship it)",
    )
    add_calibration_options(
        parser,
        "the other folds' held-out windows for each fold (use the value you will export with)",
    )
    args = parser.parse_intermixed_args(argv)

    def body(config, context):
        crossvalidate(config, context, args)

    return run_main(args, body)


def crossvalidate(config, context, args) -> None:
    """Train every fold and the model of everyone, then score and export the folds."""
    from masksem_core.data.prepared import PreparedData
    from masksem_core.engine.crossval import (
        FOLD_MODEL,
        HELDOUT_FILE,
        add_crossval_splits,
        crossval_dir,
        everyone_config,
        fold_config,
        subject_split,
        write_index,
    )
    from masksem_core.engine.run_layout import CHECKPOINT, stage_dir
    from masksem_core.engine.stage import finished_or_run
    from masksem_core.engine.tasks import FineTuning
    from masksem_core.export.calibration import HeldOutWindows
    from masksem_core.export.export_checkpoint import (
        calibration_windows,
        classifier_from_checkpoint,
        export_checkpoint,
    )

    prepared = PreparedData(config.data.root)
    subjects = add_crossval_splits(prepared, config, save=context.is_main)
    config, init, mismatch = initialisation(config, args)
    stages = [(fold_config(config, s), f"fold without subject {s}") for s in subjects]
    if not args.folds_only:
        stages.append((everyone_config(config), f"everyone ({', '.join(subjects)})"))
    print(f"leave-one-subject-out over subjects {', '.join(subjects)}; init {init or 'none'}")
    for wait in (False, True):  # first what nobody else runs, then wait for the others
        for stage_config, what in stages:
            finished_or_run(
                stage_config, FineTuning(stage_config, context, init, mismatch), what, wait
            )
    if not context.is_main:
        return
    parts = []
    for subject in subjects:
        fold = fold_config(config, subject)
        path = Path(fold.output_dir) / HELDOUT_FILE
        if not path.is_file():
            model, _ = classifier_from_checkpoint(stage_dir(fold, "finetune") / CHECKPOINT)
            windows = calibration_windows(model, prepared, fold.data, subject_split(subject))
            windows.save(path)
        parts.append(HeldOutWindows.load(path))
    HeldOutWindows.pooled(parts).save(crossval_dir(config) / HELDOUT_FILE)
    rows = []
    for k, subject in enumerate(subjects):
        fold = fold_config(config, subject)
        others = HeldOutWindows.pooled([p for j, p in enumerate(parts) if j != k])
        report = export_checkpoint(
            stage_dir(fold, "finetune") / CHECKPOINT,
            Path(fold.output_dir) / FOLD_MODEL,
            target_false_alarm=args.target_false_alarm,
            decision_rule=args.decision_rule,
            accept_low_recall=True,
            heldout=others,
        )
        rows.append((subject, parts[k], report["calibration"]))
    index = write_index(config, subjects, init, args.target_false_alarm)
    print_folds(rows)
    print(f"folds: {index}; pooled held-out windows: {crossval_dir(config) / HELDOUT_FILE}")


def print_folds(rows: list[tuple[str, object, dict]]) -> None:
    """Each fold's held-out subject: top-1 of its action windows and, at the temperature and
    threshold the other folds chose, its actions named right and its idle false alarms."""
    from masksem_core.export.calibration import softmax
    from masksem_core.runtime.decision_rule import candidate_actions, names_action

    print("| subject left out | action windows | top-1 | threshold | named right | idle FA |")
    print("|---|---|---|---|---|---|")
    for subject, windows, calibration in rows:
        background = windows.logits.shape[1] - 1
        idle = windows.labels == background
        probabilities = softmax(windows.logits, calibration["temperature"])
        top, score = candidate_actions(probabilities, background, calibration["decision_rule"])
        named = names_action(top, score, background, calibration["threshold"])
        top1 = (windows.logits[~idle].argmax(1) == windows.labels[~idle]).mean()
        right = (named & (top == windows.labels))[~idle].mean()
        print(
            f"| {subject} | {int((~idle).sum())} | {top1:.1%} | {calibration['threshold']:.3f} "
            f"| {right:.1%} | {np.mean(named[idle]):.1%} |"
        )


if __name__ == "__main__":
    sys.exit(main())
