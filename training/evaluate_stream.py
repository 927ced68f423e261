"""Evaluate a model as deployed: continuous streams built from a prepared split, played at the
dataset's frame rate with stamps through the same LiveRecognizer the ROS node runs.

  python training/evaluate_stream.py --model models/gtu_masksem.onnx \\
      --data data/prepared/gtu --split stratified_test [--json]

Scenarios: each action alone; standing still → action → standing still (idle synthetic unless
the dataset records it); actions back to back; two people in one message (the second standing
still); the dataset's real continuous recordings where it has them. Per scenario: instances,
share detected (the right label published during the action or within 1 s after it), median and
p90 delay from the action's start, label accuracy during actions (and the share of decisions
there that say "no action"), idle false-alarm rate (share of decisions while nobody acts that
name an action), false alarms per minute and segmental F1@{0.10, 0.25, 0.50}; and the offline
top-1 of the same model on the same split. Several
--model flags compare models in one run. --crossval DIR scores a leave-one-subject-out
cross-validation (training/crossval.py): each subject's streams through the fold model and
threshold that never saw them, pooled into one row per scenario. --camera-yaw replays
everything as a camera moved around the people would see it (a robot's camera is never where
the dataset's was); several compare camera positions in one run. Report the test split once;
choose settings on a validation split.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path

from masksem_core.data.prepared import PreparedData
from masksem_core.engine.crossval import FOLDS_FILE
from masksem_core.errors import DataError
from masksem_core.evaluation.replay import (
    add_scenario,
    offline_counts,
    offline_top1,
    scenario_row,
    score_scenario,
)
from masksem_core.evaluation.stream_metrics import StreamScore, realised_false_alarms
from masksem_core.evaluation.streams import Scenario, build_scenarios, camera_yaw, seen_from
from masksem_core.runtime.recognizer import LiveSettings, effective_threshold
from masksem_core.runtime.session import ActionSession
from masksem_training.cli_common import report_errors, script_parser

COLUMNS = (
    ("scenario", "scenario", "{}"),
    ("instances", "n", "{}"),
    ("detected", "detected", "{:.1%}"),
    ("median_delay_s", "median delay s", "{:.2f}"),
    ("p90_delay_s", "p90 delay s", "{:.2f}"),
    ("label_accuracy", "label acc.", "{:.1%}"),
    ("silent_during_actions", "silent in actions", "{:.1%}"),
    ("idle_false_alarm_rate", "idle FA rate", "{:.1%}"),
    ("announced_right", "announced right", "{:.1%}"),
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
        default=[],
        help="ONNX model (repeat to compare models in one run)",
    )
    parser.add_argument(
        "--crossval",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a cross-validation folder of training/crossval.py (<output_dir>/crossval): every "
        "fold's model on the subject it left out, pooled (repeat to compare recipes)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="prepared dataset folder (--crossval: default the one it was trained on)",
    )
    parser.add_argument("--split", help="split of --data to build streams from (with --model)")
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
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="DIR",
        help="write one PNG per real recording into DIR: the labelled actions, what each "
        "person was announced, the score against the threshold, missed actions and idle "
        "false alarms marked (--crossval: each through the fold that never saw its person)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per row")
    args = parser.parse_args(argv)
    if not args.model and not args.crossval:
        parser.error("give at least one --model or --crossval")
    if args.model and (args.data is None or args.split is None):
        parser.error("--model needs --data and --split")
    return args


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
        given = ([model_name(row)] if models else []) + (
            [f"{row['camera_yaw_deg']:g}"] if yaws else []
        )
        lines.append("| " + " | ".join(given + cells) + " |")
    return "\n".join(lines)


def fold_table(rows: list[dict]) -> str:
    """Each fold's idle false-alarm rate realised on the person it left out (all scenarios
    pooled), at the threshold the other folds chose, beside the target."""
    models = len({row["model"] for row in rows}) > 1
    lines = [
        "\nIdle false alarms realised on each person left out, at the threshold the other "
        "folds chose:",
        "| " + ("model | " if models else "") + "subject left out | threshold | target | idle "
        "decisions | realised idle FA | holds |",
        "|" + "---|" * (6 + models),
    ]
    for row in rows:
        target, rate = row["target_false_alarm"], row["idle_false_alarm_rate"]
        cells = [
            row["subject"],
            f"{row['threshold']:.3f}",
            "—" if target is None else f"{target:.1%}",
            str(row["idle_decisions"]),
            "—" if rate is None else f"{rate:.1%}",
            {True: "yes", False: "**no**", None: "—"}[row["holds"]],
        ]
        lines.append("| " + " | ".join(([model_name(row)] if models else []) + cells) + " |")
    return "\n".join(lines)


def false_alarm_classes(rows: list[dict]) -> str:
    """The actions idle decisions named, most frequent first, per scenario row."""
    lines = ["\nIdle false alarms by the action they named:"]
    for row in rows:
        counts = row["idle_false_alarms_by_class"]
        named = ", ".join(f"{label} {count}" for label, count in counts.items())
        lines.append(f"- {model_name(row)}, {row['scenario']}: {named}")
    return "\n".join(lines)


def model_name(row: dict) -> str:
    """A model's name in the table: its file, or its recipe's folder and folds."""
    if "folds" in row:
        return f"{Path(row['model']).parent.name} ({row['folds']} folds)"
    return Path(row["model"]).name


def evaluate(args: argparse.Namespace) -> None:
    settings = LiveSettings(
        stride_seconds=args.stride,
        smoothing_window=args.smoothing,
        score_threshold=args.threshold,
    )
    rows: list[dict] = []
    emit = rows.append
    if args.json:

        def emit(row: dict) -> None:
            rows.append(row)
            print(json.dumps(row), flush=True)

    for model in args.model:
        model_rows(model, PreparedData(args.data), args, settings, emit)
    for folder in args.crossval:
        crossval_rows(folder, args, settings, emit)
    if not args.json:
        where = f"{args.split}, " if args.model else ""
        print(
            f"{where}stride {args.stride} s, smoothing {args.smoothing}, seed {args.seed}"
            + (
                " (cross-validation: each subject through the fold that left it out)"
                if args.crossval
                else ""
            )
        )
        print(table([row for row in rows if row["scenario"] != "fold"]))
        folds = [row for row in rows if row["scenario"] == "fold"]
        if folds:
            print(fold_table(folds))
        classes = [row for row in rows if row.get("idle_false_alarms_by_class")]
        if classes:
            print(false_alarm_classes(classes))


def chosen_scenarios(
    prepared: PreparedData, split: str, args: argparse.Namespace
) -> list[Scenario]:
    """The split's scenarios, only those named by --scenario when given."""
    scenarios = build_scenarios(prepared, split, args.seed)
    if args.scenario:
        unknown = set(args.scenario) - {s.name for s in scenarios}
        if unknown:
            names = ", ".join(s.name for s in scenarios)
            raise SystemExit(f"error: no scenario {sorted(unknown)} for this split; it has {names}")
        scenarios = [s for s in scenarios if s.name in args.scenario]
    return scenarios


def opened(model: Path) -> ActionSession:
    session = ActionSession(model, threads=None)
    for note in session.info.notes:
        print(f"note: {model}: {note}", file=sys.stderr)
    return session


def model_rows(
    model: Path,
    prepared: PreparedData,
    args: argparse.Namespace,
    settings: LiveSettings,
    emit: Callable[[dict], None],
) -> None:
    """One model's rows on --split: every scenario, then offline, for each camera yaw."""
    scenarios = chosen_scenarios(prepared, args.split, args)
    session = opened(model)
    for yaw in args.camera_yaw or [0.0]:
        camera = camera_yaw(yaw)
        # which data the model's encoder was pretrained on, as its metadata says
        given = {"model": str(model), "init": session.info.init, "camera_yaw_deg": yaw}
        draw = timeline_writer(args, session, settings, f"{model.stem}, yaw {yaw:g}°")
        for scenario in scenarios:
            seen = seen_from(scenario, camera)
            on_stream = draw if scenario.name == RECORDINGS else None
            emit({**given, **score_scenario(seen, session, settings, on_stream)})
        top1 = offline_top1(session, prepared, args.split, camera)
        emit({**given, "scenario": "offline", "top1": top1})


def crossval_rows(
    folder: Path, args: argparse.Namespace, settings: LiveSettings, emit: Callable[[dict], None]
) -> None:
    """A cross-validation's rows: each scenario pooled over the folds, every subject's streams
    played through the fold model (and threshold) that never saw that subject; then offline;
    then one row per fold: its idle false-alarm rate realised on its subject's streams at the
    threshold the other folds chose, beside the target it was chosen for."""
    index = fold_index(folder)
    prepared = PreparedData(args.data or index["data"])
    folds = [(f["subject"], opened(Path(f["model"])), f["split"]) for f in index["folds"]]
    for yaw in args.camera_yaw or [0.0]:
        camera = camera_yaw(yaw)
        given = {
            "model": str(folder),
            "init": index["init"],
            "camera_yaw_deg": yaw,
            "folds": len(folds),
        }
        scores: dict[str, tuple[Scenario, StreamScore]] = {}
        fold_rows = []
        correct = windows = 0
        for subject, session, split in folds:
            mine: dict[str, StreamScore] = {}
            who = f"{folder.parent} fold without subject {subject}, yaw {yaw:g}°"
            draw = timeline_writer(args, session, settings, who)
            for scenario in chosen_scenarios(prepared, split, args):
                _, pooled = scores.setdefault(scenario.name, (scenario, StreamScore()))
                on_stream = draw if scenario.name == RECORDINGS else None
                score = mine.setdefault(scenario.name, StreamScore())
                add_scenario(score, seen_from(scenario, camera), session, settings, on_stream)
                pooled.absorb(score)  # each stream played once, counted per fold and pooled
            right, seen_windows = offline_counts(session, prepared, split, camera)
            correct, windows = correct + right, windows + seen_windows
            threshold = effective_threshold(settings, session.info)
            fold_rows.append(
                realised_false_alarms(subject, mine, threshold, index.get("target_false_alarm"))
            )
        for scenario, score in scores.values():
            emit({**given, **scenario_row(scenario, score)})
        emit({**given, "scenario": "offline", "top1": 100.0 * correct / windows})
        for row in fold_rows:
            emit({**given, **row})


RECORDINGS = "recordings"  # the scenario of the dataset's own continuous recordings


def timeline_writer(
    args: argparse.Namespace, session: ActionSession, settings: LiveSettings, who: str
) -> Callable | None:
    """With --plot, what writes a recording's picture (its name: the model and the
    recording); else None."""
    if args.plot is None:
        return None
    from masksem_core.evaluation.timeline import plot_timeline

    threshold = effective_threshold(settings, session.info)
    tag = "".join(c if c.isalnum() else "_" for c in who.split(",")[0])

    def draw(stream, decisions) -> None:
        out = args.plot / f"{tag}_{stream.name}.png"
        title = f"{stream.name} — {who}"
        plot_timeline(
            stream, decisions, session.info, threshold, settings.no_action_label, out, title
        )

    return draw


def fold_index(folder: Path) -> dict:
    """The cross-validation's folds.json, with every fold's model present; a clear exit 2
    otherwise."""
    index_path = folder / FOLDS_FILE
    if not index_path.is_file():
        raise DataError(
            f"{folder} holds no {FOLDS_FILE}; run training/crossval.py (it writes "
            "<output_dir>/crossval) to the end first"
        )
    try:
        index = json.loads(index_path.read_text())
        folds = index["folds"]
        missing = [f["model"] for f in folds if not Path(f["model"]).is_file()]
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(
            f"{index_path} is not a fold index of training/crossval.py ({err})"
        ) from None
    if not folds:
        raise DataError(f"{index_path} lists no fold")
    if missing:
        raise DataError(
            f"{index_path}: fold model {missing[0]} does not exist ({len(missing)} of "
            f"{len(folds)} missing); run training/crossval.py to the end again"
        )
    return index


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report_errors(lambda: evaluate(args))


if __name__ == "__main__":
    sys.exit(main())
