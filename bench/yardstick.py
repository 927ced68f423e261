"""The yardstick: what a linear model on hand-made skeleton features scores on exactly the
windows, splits and folds of a learned recipe. A learned row that does not beat it has not
learned more than a simple model would.

  python bench/yardstick.py --data data/prepared/utkinect --crossval [--json]
  python bench/yardstick.py --config nw_ucla_xview data.normalise_view=true \\
      data.normalise_scale=true --select-on view1_train view2_val

Features (masksem_core/yardstick/features.py): every joint relative to the mid-hip point,
divided by the torso length, resampled to F frames; their frame-to-frame differences; the
mid-hip point's displacement from its first position. Model: multinomial logistic regression
with L2 strength C on standardised features (L-BFGS, convex). The input is the learned model's
own window (the config's window mode, normalisation and idle share); training windows are
--passes draws of the config's training windows (random crops or window ends, augmentation).

F and C are chosen on validation only: --crossval by leave-one-subject-out over the config's
training and validation subjects (training/crossval.py's folds; mean held-out top-1), else on
--select-on TRAIN VAL (default: the config's training and validation splits). The chosen
setting is then fitted on the training data (--crossval: every fold subject) and scored once
on the config's test split. With --crossval on a stream-mode recipe, every fold is exported as
ONNX, calibrated on the other folds' held-out windows, into --out/crossval (training/crossval.py's
layout), so that `training/evaluate_stream.py --crossval <out>/crossval` plays the yardstick
live beside a learned recipe; the model of everyone is <out>/crossval/all/model.onnx.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from machine import describe  # bench/ is the script's folder

from masksem_core.config import load_experiment
from masksem_core.data.prepared import PreparedData
from masksem_core.engine.crossval import EVERYONE_SPLIT
from masksem_core.yardstick.study import (
    FRAMES,
    L2,
    PASSES,
    crossvalidate,
    export_validated,
    grid,
    tested,
    validated,
)
from masksem_training.cli_common import add_calibration_options, report_errors, script_parser
from masksem_training.crossval import print_folds

DEFAULT_CONFIGS = {  # the learned recipe whose windows a prepared dataset is scored on
    "utkinect": "utkinect_deploy",
    "gtu": "gtu_deploy",
    "nw_ucla": "nw_ucla_xview",
    "demo": "demo",
}


def parse_args(argv: list[str] | None):
    parser = script_parser(__doc__)
    parser.add_argument(
        "--config",
        help="the learned recipe (shipped name or YAML) whose windows and splits to use "
        f"(default: by the prepared dataset, {DEFAULT_CONFIGS})",
    )
    parser.add_argument("--data", type=Path, help="prepared dataset folder (data.root)")
    parser.add_argument(
        "--crossval",
        action="store_true",
        help="leave-one-subject-out (training/crossval.py's folds)",
    )
    parser.add_argument(
        "--select-on",
        nargs=2,
        metavar=("TRAIN", "VAL"),
        help="choose the setting fitted on TRAIN, scored on VAL (default: the config's "
        "training and validation splits)",
    )
    parser.add_argument(
        "--frames", type=int, nargs="+", default=list(FRAMES), help="resampled frames tried"
    )
    parser.add_argument("--l2", type=float, nargs="+", default=list(L2), help="L2 strengths tried")
    parser.add_argument("--passes", type=int, default=PASSES, help="draws of every training window")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training draws")
    parser.add_argument(
        "--test-split",
        help="split scored once by the chosen setting (default: with --crossval the prepared "
        "dataset's 'test' split, the subjects no fold holds; else the config's test split)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="--crossval on a stream recipe: where the fold models go (default "
        "runs/yardstick/<experiment>); else an ONNX file for the model fitted on the training "
        "split, calibrated on the validation split, to play with evaluate_stream --model",
    )
    add_calibration_options(parser, "the other folds' held-out windows for each fold")
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    parser.add_argument(
        "--record",
        type=Path,
        metavar="RESULTS_JSON",
        help="also write the test row into the study's results (docs/results.json of "
        "bench/ablation.py), beside the learned rows of the same dataset and --recipe",
    )
    parser.add_argument(
        "--recipe", default="normalised", help="the study recipe the data options are (--record)"
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides")
    args = parser.parse_args(argv)
    if args.config is None and args.data is None:
        parser.error("give --config or --data")
    if args.passes < 1:
        parser.error("--passes must be ≥ 1")
    return args


def experiment(args):
    """The learned recipe's config, over --data when given."""
    overrides = list(args.overrides)
    name = args.config
    if args.data is not None:
        overrides.append(f"data.root={args.data}")
        if name is None:
            dataset = PreparedData(args.data).meta["dataset"]
            name = DEFAULT_CONFIGS.get(dataset)
            if name is None:
                raise SystemExit(
                    f"error: no default recipe for dataset {dataset!r} of {args.data}; "
                    "give --config"
                )
    return load_experiment(name, overrides)


def record(args, row: dict, wall_s: float) -> None:
    """The test row as a record of bench/ablation.py's results (its key fields set)."""
    from ablation import save_record  # bench/ is the script's folder

    entry = {
        **row,
        "variant": "yardstick",
        "pretrain_epochs": 0,
        "protocol": "yardstick",
        "recipe": args.recipe,
        "wall_s": round(wall_s, 1),
    }
    save_record(args.record, entry)


def run(args) -> None:
    started = time.monotonic()
    config = experiment(args)
    settings = grid(args.frames, args.l2)
    base = {
        "model": "yardstick",
        "dataset": config.data.dataset,
        "config": config.experiment,
        "window_mode": config.data.window_mode,
        "passes": args.passes,
        "seed": args.seed,
    }
    rows = []

    def emit(row: dict) -> None:
        row = {**base, **row}
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)

    if args.crossval:
        out = args.out or Path("runs") / "yardstick" / config.experiment
        result = crossvalidate(
            config,
            out,
            settings,
            args.passes,
            args.seed,
            args.target_false_alarm,
            args.decision_rule,
        )
        best, train_split = result["setting"], EVERYONE_SPLIT
        for setting, mean in result["grid"].items():
            emit(
                {"protocol": "loso_grid", "frames": setting.frames, "l2": setting.l2, "top1": mean}
            )
        for subject, score in result["per_subject"].items():
            emit({"protocol": "loso", "split": f"subject_{subject}", "top1": score, **vars(best)})
        mean = sum(result["per_subject"].values()) / len(result["per_subject"])
        emit({"protocol": "loso", "split": "mean over subjects", "top1": mean, **vars(best)})
    else:
        train, val = args.select_on or (config.data.train_split, config.data.val_split)
        if val is None:
            raise SystemExit(
                f"error: {config.experiment} has no validation split; give --select-on TRAIN VAL "
                "or --crossval (settings are never chosen on the test split)"
            )
        best, scores = validated(config, train, val, settings, args.passes, args.seed)
        for setting, score in scores.items():
            emit(
                {
                    "protocol": "validation_grid",
                    "split": f"{train} → {val}",
                    "frames": setting.frames,
                    "l2": setting.l2,
                    "top1": score,
                }
            )
        train_split = config.data.train_split
    test_split = args.test_split or ("test" if args.crossval else config.data.test_split)
    test = tested(config, train_split, test_split, best, args.passes, args.seed)
    if test is not None:
        emit(
            {
                "protocol": "test",
                "split": test_split,
                "train_split": train_split,
                "top1": test[0],
                "windows": test[1],
                **vars(best),
            }
        )
    if args.out is not None and not args.crossval and test is not None:
        export_validated(
            config, test[2], best, args.out, args.target_false_alarm, args.decision_rule
        )
        print(f"yardstick model: {args.out}", file=sys.stderr)
    if args.record is not None and test is not None:
        record(args, rows[-1], time.monotonic() - started)
    if args.json:
        return
    print(describe(__import__("torch").get_num_threads()))
    print(f"{config.experiment} ({config.data.root}): chosen {best.describe()}")
    print("| protocol | split | frames | L2 | top-1 % |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['protocol']} | {row.get('split', '')} | {row.get('frames', '')} | "
            f"{row.get('l2', '')} | {row['top1']:.2f} |"
        )
    if test is None:
        print(f"test split {test_split!r} holds no sample (kept out of this copy): no test row")
    if args.crossval and result["exported"]:
        print("\nEach held-out subject at the threshold the other folds chose:")
        print_folds(result["exported"]["folds"])
        print(
            f"fold models: {result['exported']['index']}; "
            f"everyone: {result['exported']['everyone']}"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
