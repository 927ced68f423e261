"""Evaluate a model as deployed: continuous streams built from a prepared split, played at the
dataset's frame rate with stamps through the same LiveRecognizer the ROS node runs.

  python training/evaluate_stream.py --model models/gtu_masksem.onnx \\
      --data data/prepared/gtu --split stratified_test [--json]

Scenarios: each action alone; standing still → action → standing still (idle synthetic unless
the dataset records it); actions back to back; two people in one message (the second standing
still); the dataset's real continuous recordings where it has them. Per scenario: instances,
share detected (the right label published during the action or within 1 s after it), median and
p90 delay from the action's start, label accuracy during actions, idle false-alarm rate (share
of decisions while nobody acts that name an action), false alarms per minute and segmental
F1@{0.10, 0.25, 0.50}; and the offline top-1 of the same model on the same split. Several
--model flags compare models in one run. --camera-yaw replays everything as a camera moved
around the people would see it (a robot's camera is never where the dataset's was); several
compare camera positions in one run. Report the test split once; choose settings on a
validation split.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from masksem_core.data.prepared import PreparedData
from masksem_core.evaluation.replay import offline_top1, score_scenario
from masksem_core.evaluation.streams import build_scenarios, camera_yaw, seen_from
from masksem_core.runtime.recognizer import LiveSettings
from masksem_core.runtime.session import ActionSession
from masksem_training.cli_common import report_errors, script_parser

COLUMNS = (
    ("scenario", "scenario", "{}"),
    ("instances", "n", "{}"),
    ("detected", "detected", "{:.1%}"),
    ("median_delay_s", "median delay s", "{:.2f}"),
    ("p90_delay_s", "p90 delay s", "{:.2f}"),
    ("label_accuracy", "label acc.", "{:.1%}"),
    ("idle_false_alarm_rate", "idle FA rate", "{:.1%}"),
    ("false_alarms_per_min", "FA / min", "{:.2f}"),
    ("f1_10", "F1@10", "{:.3f}"),
    ("f1_25", "F1@25", "{:.3f}"),
    ("f1_50", "F1@50", "{:.3f}"),
    ("synthetic_idle", "synthetic idle", "{}"),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = script_parser(__doc__)
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        required=True,
        help="ONNX model (repeat to compare models in one run)",
    )
    parser.add_argument("--data", type=Path, required=True, help="prepared dataset folder")
    parser.add_argument("--split", required=True, help="split of --data to build streams from")
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the synthetic idle and the order"
    )
    parser.add_argument(
        "--stride",
        type=float,
        default=LiveSettings.stride_seconds,
        help="seconds between decisions (the recognizer's stride_seconds)",
    )
    parser.add_argument(
        "--smoothing",
        type=int,
        default=LiveSettings.smoothing_window,
        help="majority vote over this many decisions (the recognizer's smoothing_window)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=LiveSettings.score_threshold,
        help="score threshold (< 0: the model's calibrated one, else 0.5)",
    )
    parser.add_argument(
        "--scenario", action="append", help="only these scenarios (repeatable; default: all)"
    )
    parser.add_argument(
        "--camera-yaw",
        type=finite_degrees,
        action="append",
        metavar="DEG",
        help="replay as a camera moved DEG degrees around the people about the vertical axis "
        "sees it: streams and offline windows alike (repeat to compare; default: 0)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    return parser.parse_args(argv)


def finite_degrees(text: str) -> float:
    """An angle in degrees: any finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of degrees") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: the angle must be finite")
    return value


def table(rows: list[dict]) -> str:
    """A Markdown table of the rows (— where a scenario has no such quantity); model and camera
    yaw columns only when the rows differ in them."""
    models = len({row["model"] for row in rows}) > 1
    yaws = {row["camera_yaw_deg"] for row in rows} != {0.0}
    heads = (["model"] if models else []) + (["camera yaw °"] if yaws else [])
    heads += [head for _, head, _ in COLUMNS]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for row in rows:
        if row["scenario"] == "offline":
            cells = [f"offline top-1 {row['top1']:.2f} %"] + [""] * (len(COLUMNS) - 1)
        else:
            cells = ["—" if row[key] is None else form.format(row[key]) for key, _, form in COLUMNS]
        given = ([Path(row["model"]).name] if models else []) + (
            [f"{row['camera_yaw_deg']:g}"] if yaws else []
        )
        lines.append("| " + " | ".join(given + cells) + " |")
    return "\n".join(lines)


def evaluate(args: argparse.Namespace) -> None:
    prepared = PreparedData(args.data)
    scenarios = build_scenarios(prepared, args.split, args.seed)
    if args.scenario:
        unknown = set(args.scenario) - {s.name for s in scenarios}
        if unknown:
            names = ", ".join(s.name for s in scenarios)
            raise SystemExit(f"error: no scenario {sorted(unknown)} for this split; it has {names}")
        scenarios = [s for s in scenarios if s.name in args.scenario]
    settings = LiveSettings(
        stride_seconds=args.stride,
        smoothing_window=args.smoothing,
        score_threshold=args.threshold,
    )
    rows = []
    for model in args.model:
        session = ActionSession(model, threads=None)
        for note in session.info.notes:
            print(f"note: {model}: {note}", file=sys.stderr)
        for yaw in args.camera_yaw or [0.0]:
            camera = camera_yaw(yaw)
            # which data the model's encoder was pretrained on, as its metadata says
            given = {"model": str(model), "init": session.info.init, "camera_yaw_deg": yaw}
            for scenario in scenarios:
                row = {**given, **score_scenario(seen_from(scenario, camera), session, settings)}
                rows.append(row)
                if args.json:
                    print(json.dumps(row), flush=True)
            top1 = offline_top1(session, prepared, args.split, camera)
            rows.append({**given, "scenario": "offline", "top1": top1})
            if args.json:
                print(json.dumps(rows[-1]), flush=True)
    if not args.json:
        print(
            f"{prepared.meta['dataset']} {args.split}, {prepared.fps:g} Hz, stride "
            f"{args.stride} s, smoothing {args.smoothing}, seed {args.seed}"
        )
        print(table(rows))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report_errors(lambda: evaluate(args))


if __name__ == "__main__":
    sys.exit(main())
