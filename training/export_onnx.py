"""Export a trained classifier (encoder + head) to one self-contained ONNX file.

The export is checked against PyTorch on random windows and on real test windows of the
checkpoint's dataset (max |Δlogit| ≤ 1e-4 and the same argmax) and fails loudly otherwise.

  python training/export_onnx.py --checkpoint runs/demo/linear/last.pt --out models/demo.onnx
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from masksem_core.export.onnx_export import ATTENTION_EXPORTS
from masksem_training.cli_common import add_calibration_options, report_errors, script_parser


def main(argv: list[str] | None = None) -> int:
    parser = script_parser(__doc__)
    parser.add_argument(
        "--checkpoint",
        required=True,
        type=Path,
        help="linear-eval or fine-tune checkpoint (…/linear/last.pt)",
    )
    parser.add_argument("--out", required=True, type=Path, help="ONNX file to write")
    parser.add_argument(
        "--data",
        type=Path,
        help="prepared dataset for the real-window parity check (default: the "
        "checkpoint config's data.root)",
    )
    parser.add_argument(
        "--split", help="split of --data to draw windows from (default: the config's test split)"
    )
    parser.add_argument(
        "--parity-windows", type=int, default=16, help="number of real windows in the parity check"
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="also write FILE.int8.onnx (dynamic int8 quantisation) and report "
        "its agreement with fp32 on the real windows",
    )
    parser.add_argument(
        "--attention",
        choices=tuple(ATTENTION_EXPORTS),
        default="standard",
        help="standard: attention as plain ONNX MatMul/Softmax, readable by any ONNX runtime; "
        "fused: ONNX Runtime's MultiHeadAttention kernel (CPU and CUDA providers), faster on "
        "CPU (bench/inference.py) but ONNX Runtime only",
    )
    parser.add_argument(
        "--model-card", action="store_true", help="also write a Markdown model card FILE.md"
    )
    add_calibration_options(
        parser,
        "the windows of a stream-mode model's data.val_split (or of --heldout) with a 'no "
        "action' class",
    )
    parser.add_argument(
        "--heldout",
        type=Path,
        metavar="NPZ",
        help="calibrate on the pooled held-out windows of a leave-one-subject-out "
        "cross-validation (training/crossval.py writes <output_dir>/crossval/heldout.npz) "
        "instead of the config's val_split: for the model trained on every subject",
    )
    parser.add_argument(
        "--accept-low-recall",
        action="store_true",
        help="export a model whose calibration names fewer than half of the validation actions "
        "right (refused otherwise, with the curve to choose another point from); the output "
        "and the model card then say so",
    )
    args = parser.parse_args(argv)
    return report_errors(lambda: export(args))


def export(args: argparse.Namespace) -> None:
    """Export, check parity, optionally quantise and write the model card; print the report."""
    from masksem_core.export.calibration import CurvePoint, HeldOutWindows, curve_table
    from masksem_core.export.export_checkpoint import export_checkpoint, write_model_card

    report = export_checkpoint(
        args.checkpoint,
        args.out,
        args.data,
        args.split,
        args.parity_windows,
        args.int8,
        args.attention,
        args.target_false_alarm,
        args.decision_rule,
        args.accept_low_recall,
        HeldOutWindows.load(args.heldout) if args.heldout else None,
    )
    if "calibration" in report:
        curve = tuple(CurvePoint(**p) for p in report["calibration"]["curve"])
        print("detection / false-alarm curve on the validation windows:", file=sys.stderr)
        print("\n".join(curve_table(curve)), file=sys.stderr)
    if report.get("calibration_warning"):
        print(f"WARNING: {report['calibration_warning']}", file=sys.stderr)
    if args.model_card:
        card = write_model_card(report, args.checkpoint, args.out.with_suffix(".md"))
        report["model_card"] = str(card)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    sys.exit(main())
