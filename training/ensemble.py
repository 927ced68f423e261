"""One ONNX file from two classifiers that read the same window: logits = w · log_softmax(first)
+ (1 − w) · log_softmax(second), e.g. a learned recipe beside the yardstick (bench/yardstick.py).

  # cross-validated: each fold's weight chosen on the other folds' held-out windows
  python training/ensemble.py --crossval runs/utkinect_deploy/crossval \\
      --crossval runs/yardstick/utkinect_deploy/crossval --out runs/ensemble/utkinect_deploy \\
      --target-false-alarm 0.1
  python training/evaluate_stream.py --crossval runs/ensemble/utkinect_deploy --json
  # the file to ship: the two models of everyone, at the weight every fold chose, calibrated on
  # every fold's held-out windows
  python training/ensemble.py --models runs/utkinect_deploy/everyone.onnx \\
      runs/yardstick/utkinect_deploy/crossval/all/model.onnx \\
      --folds runs/ensemble/utkinect_deploy --target-false-alarm 0.1 \\
      --out models/utkinect_masksem.onnx

The weight is chosen by the held-out action windows' top-1 over 0, 0.1, …, 1 (1: the first
model alone). The ensemble is one graph, one session, one batch in the recognizer; its parity
with the two members run one by one is checked (exit 3 on a mismatch).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

from masksem_core.engine.crossval import FOLDS_FILE, HELDOUT_FILE
from masksem_core.errors import DataError
from masksem_training.cli_common import add_calibration_options, report_errors, script_parser


def parse_args(argv: list[str] | None):
    parser = script_parser(__doc__)
    parser.add_argument(
        "--crossval",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a cross-validation folder (<output_dir>/crossval, or the yardstick's); give two",
    )
    parser.add_argument(
        "--models", type=Path, nargs=2, metavar=("FIRST", "SECOND"), help="two ONNX models"
    )
    parser.add_argument(
        "--folds",
        type=Path,
        help="with --models: the ensemble's cross-validation folder (its weight and held-out "
        "windows)",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder or ONNX file")
    add_calibration_options(parser, "the held-out windows of the other folds (or all of them)")
    args = parser.parse_args(argv)
    if bool(args.crossval) == bool(args.models):
        parser.error("give two --crossval folders, or --models FIRST SECOND with --folds")
    if args.crossval and len(args.crossval) != 2:
        parser.error("give exactly two --crossval folders")
    if args.models and args.folds is None:
        parser.error("--models needs --folds (the weight and calibration of the ensemble)")
    return args


def run(args) -> None:
    from masksem_core.export.calibration import HeldOutWindows
    from masksem_core.export.ensemble import ensemble_info, merge_classifiers
    from masksem_core.export.ensemble_crossval import action_top1, crossvalidate_ensemble
    from masksem_core.export.export_checkpoint import CROSSVAL_SOURCE
    from masksem_training.crossval import print_folds

    if args.crossval:
        result = crossvalidate_ensemble(
            *args.crossval, args.out, args.target_false_alarm, args.decision_rule
        )
        parts_a, parts_b = result["parts"]
        print(
            "| subject left out | weight of the first | top-1 first | top-1 second "
            "| top-1 ensemble |"
        )
        print("|---|---|---|---|---|")
        for fold, a, b in zip(result["folds"], parts_a, parts_b, strict=True):
            mine = HeldOutWindows.load(Path(fold["model"]).parent / HELDOUT_FILE)
            print(
                f"| {fold['subject']} | {fold['weight']:.1f} | {action_top1(a):.1%} | "
                f"{action_top1(b):.1%} | {action_top1(mine):.1%} |"
            )
        print("\nEach held-out subject at the threshold the other folds chose:")
        print_folds(
            [
                (
                    f["subject"],
                    HeldOutWindows.load(Path(f["model"]).parent / HELDOUT_FILE),
                    f["calibration"],
                )
                for f in result["folds"]
            ]
        )
        print(f"weight chosen on every fold: {result['weight']:.1f}; folds: {result['index']}")
        return
    index_path = args.folds / FOLDS_FILE
    if not index_path.is_file():
        raise DataError(f"{args.folds} holds no {FOLDS_FILE}; run --crossval first")
    index = json.loads(index_path.read_text())
    weight = float(index["weight"])
    heldout = HeldOutWindows.load(Path(index["heldout"]))
    calibration = heldout.calibrate(args.target_false_alarm, args.decision_rule, CROSSVAL_SOURCE)
    info = replace(
        ensemble_info(list(args.models), [weight, 1.0 - weight]),
        temperature=calibration.temperature,
        score_threshold=calibration.threshold,
        decision_rule=args.decision_rule,
    )
    merge_classifiers(list(args.models), [weight, 1.0 - weight], args.out, info)
    print(json.dumps({"onnx": str(args.out), "weight": weight, "calibration": asdict(calibration)}))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report_errors(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
