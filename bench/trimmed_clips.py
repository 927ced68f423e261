"""The trimmed-clips recipe (masksem_core/configs/trimmed_clips.yaml) chosen on validation only.

Every trimmed-clip set the project reads is fine-tuned with the recipe on a validation protocol
that never touches its test split:

  nw_ucla    view 1 → view 2 (view 3, the test view, untouched)
  gtu        stratified_fit → stratified_val (stratified_test untouched)
  utkinect   the labelled clips of subjects 1-3 → subjects 4-5 (subjects 6-10 untouched)

Variants differ in one thing each: the start (the shipped general encoder, or the same
architecture from random weights: ``scratch``) and ``data.min_crop_frames`` (MAMP's 64, which
takes every shorter clip whole, or 16, which lets the random crop vary short clips). The
yardstick (bench/yardstick.py: a linear model on hand-made features of the same windows) is
the floor every learned row must clear; its row is the best of its grid on the same validation
split, an upper bound on what it would score with its setting chosen elsewhere.

The general encoder saw NW-UCLA views 1-2, GTU outside stratified_test and UTKinect subjects
1-4 without labels; a validation row measures what the labels add on top of that, as a user's
own unlabelled clips would.

Every finished run is appended to docs/trimmed_clips.json at once (resumable: a finished run is
skipped, an interrupted one resumes from its last epoch; a second process started beside the
first takes the runs it has not claimed) and committed with --commit.

  python bench/trimmed_clips.py --threads 1 --commit &  python bench/trimmed_clips.py --threads 1
  python bench/trimmed_clips.py --table                 # the table of what is recorded

Once chosen, the recipe and its two baselines are scored once on the standard test splits:

  python bench/trimmed_clips.py --test --only general_min64 --only scratch_min64 --only yardstick
"""

from __future__ import annotations

import argparse
import fcntl
import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch
from machine import cpu_name  # bench/ is the script's folder
from study_common import commit

from masksem_core.atomic import write_json_atomic
from masksem_core.config import ExperimentConfig, load_experiment
from masksem_core.engine.distributed import setup_distributed
from masksem_core.engine.initialisation import resolve_initialisation
from masksem_core.engine.stage import finished_or_run
from masksem_core.engine.tasks import FineTuning
from masksem_core.yardstick.study import grid, tested, validated

REPO = Path(__file__).resolve().parents[1]
CONFIG = "trimmed_clips"
# dataset: (prepared folder, training split, validation split)
PROTOCOLS = {
    "utkinect": ("data/prepared/utkinect", "train", "val"),
    "gtu": ("data/prepared/gtu", "stratified_fit", "stratified_val"),
    "nw_ucla": ("data/prepared/nw_ucla", "view1_train", "view2_val"),
}
# --test, once the settings are chosen: the standard split (UTKinect's test subjects 6-10 are
# not in the shared copy)
TEST_PROTOCOLS = {
    "gtu": ("data/prepared/gtu", "stratified_train", "stratified_test"),
    "nw_ucla": ("data/prepared/nw_ucla", "xview_train", "xview_test"),
}
# variant: (from the general encoder?, data.min_crop_frames)
VARIANTS = {
    "general_min64": (True, 64),
    "general_min16": (True, 16),
    "scratch_min64": (False, 64),
    "scratch_min16": (False, 16),
}
PASSES = 10
LOCK = REPO / "runs" / "trimmed_clips.lock"


def experiment(
    protocol: tuple[str, str, str], dataset: str, min_crop: int, epochs: int, seed: int, out: Path
):
    """The recipe on one of a dataset's protocols, (folder, training split, scored split)."""
    root, train, val = protocol
    return load_experiment(
        CONFIG,
        [
            f"data.dataset={dataset}",
            f"data.root={REPO / root}",
            f"data.train_split={train}",
            f"data.test_split={val}",
            f"data.min_crop_frames={min_crop}",
            f"finetune.epochs={epochs}",
            f"seed={seed}",
            f"output_dir={out}",
            f"experiment=trimmed_clips_{dataset}",
        ],
    )


def learned(config: ExperimentConfig, from_encoder: bool, what: str) -> dict | None:
    """Fine-tune (resumable); None when another process holds the run."""
    config, init, mismatch = resolve_initialisation(config, None, not from_encoder, {})
    builder = FineTuning(config, setup_distributed("cpu"), init, mismatch)
    summary = finished_or_run(config, builder, what, wait=False)
    if summary is None:
        return None
    return {
        "top1": round(summary.last_epoch.top1, 2),
        "curve": [round(h["test_top1"], 2) for h in summary.history],
        "wall_s": round(summary.wall_seconds, 1),
    }


def yardstick(config: ExperimentConfig, dataset: str, seed: int, test: bool) -> dict:
    """The yardstick on the recipe's windows: its best validation top-1 over its grid, or, with
    ``test``, the setting chosen on validation fitted on the training split and scored once."""
    started = time.monotonic()
    _, train, val = PROTOCOLS[dataset]
    best, scores = validated(config, train, val, grid(), PASSES, seed)
    split = config.data.test_split
    score = tested(config, config.data.train_split, split, best, PASSES, seed)[0] if test else None
    return {
        "top1": round(scores[best] if score is None else score, 2),
        "setting": best.describe(),
        "wall_s": round(time.monotonic() - started, 1),
    }


@contextmanager
def locked(results: Path):
    """The records file held by this process while it reads and writes it (the lock lives in
    runs/, out of the repository's files)."""
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(LOCK, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield json.loads(results.read_text()) if results.is_file() else []


def key(record: dict) -> tuple:
    return (
        record["dataset"],
        record["variant"],
        record["epochs"],
        record["seed"],
        record["protocol"],
    )


def save(results: Path, record: dict) -> None:
    with locked(results) as records:
        records = [r for r in records if key(r) != key(record)] + [record]
        write_json_atomic(results, records, indent=1)


def top1(record: dict) -> float:
    return record.get("val_top1", record.get("test_top1"))


def table(records: list[dict]) -> str:
    lines = [
        "| dataset | protocol | variant | epochs | seed | top-1 % |",
        "|---|---|---|---|---|---|",
    ]
    for r in sorted(records, key=lambda r: (r["dataset"], "test_top1" in r, -top1(r))):
        scored = "test" if "test_top1" in r else "validation"
        lines.append(
            f"| {r['dataset']} | {r['protocol']} ({scored}) | {r['variant']} | {r['epochs']} "
            f"| {r['seed']} | {top1(r):.2f} |"
        )
    return "\n".join(lines)


def run(args, dataset: str, variant: str) -> dict | None:
    """One variant on one dataset's validation (or --test) protocol, recorded; None when it
    is recorded already or another process holds it."""
    protocol = (TEST_PROTOCOLS if args.test else PROTOCOLS)[dataset]
    scored = "test" if args.test else "val"
    train, val = protocol[1:]
    what = f"{train} → {val}"
    with locked(args.results) as records:
        if any(key(r) == (dataset, variant, args.epochs, args.seed, what) for r in records):
            return None
    from_encoder, min_crop = VARIANTS.get(variant, (False, 64))
    out = (
        args.work_dir
        / dataset
        / (f"{variant}_e{args.epochs}_s{args.seed}" + ("_test" if args.test else ""))
    )
    config = experiment(protocol, dataset, min_crop, args.epochs, args.seed, out)
    if variant == "yardstick":
        result = yardstick(config, dataset, args.seed, args.test)
    else:
        result = learned(config, from_encoder, f"{dataset} {variant} ({what}, {args.epochs} ep.)")
    if result is None:
        return None
    record = {
        "dataset": dataset,
        "variant": variant,
        "epochs": args.epochs,
        "seed": args.seed,
        "protocol": what,
        **({} if variant == "yardstick" else {"min_crop_frames": min_crop}),
        f"{scored}_top1": result.pop("top1"),
        **({f"{scored}_curve": result.pop("curve")} if "curve" in result else {}),
        **result,
        "cpu": cpu_name(),
    }
    save(args.results, record)
    return record


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=30, help="fine-tuning epochs (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="initial weights, data order")
    parser.add_argument(
        "--dataset", choices=sorted(PROTOCOLS), action="append", help="these sets (repeatable)"
    )
    parser.add_argument(
        "--only",
        choices=[*VARIANTS, "yardstick"],
        action="append",
        help="these variants (repeatable; default all)",
    )
    parser.add_argument("--threads", type=int, help="torch threads (two processes: 1 each)")
    parser.add_argument(
        "--work-dir", type=Path, default=REPO / "runs" / "trimmed_clips", help="the runs"
    )
    parser.add_argument(
        "--results", type=Path, default=REPO / "docs" / "trimmed_clips.json", help="records"
    )
    parser.add_argument(
        "--test",
        action="store_true",
        help="once the settings are chosen: fit on the standard training split, score its "
        "test split once (nw_ucla view 3, gtu stratified_test)",
    )
    parser.add_argument("--table", action="store_true", help="print the recorded table, run none")
    parser.add_argument("--commit", action="store_true", help="git-commit each finished record")
    args = parser.parse_args()
    if args.table:
        with locked(args.results) as records:
            print(table(records))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    for dataset in args.dataset or list(TEST_PROTOCOLS if args.test else PROTOCOLS):
        folder = PROTOCOLS[dataset][0]
        if not (REPO / folder / "splits.json").is_file():
            print(
                f"error: {folder} is not prepared; run training/prepare_data.py --dataset "
                f"{dataset} --src ../shared/data/{dataset} --out {folder}",
                file=sys.stderr,
            )
            return 2
        if args.test and dataset not in TEST_PROTOCOLS:
            print(f"error: {dataset} has no test split in the shared copy", file=sys.stderr)
            return 2
        for variant in args.only or [*VARIANTS, "yardstick"]:
            record = run(args, dataset, variant)
            if record is None:
                continue
            print(json.dumps({k: v for k, v in record.items() if "curve" not in k}), flush=True)
            if args.commit:
                scored = "test" if args.test else "validation"
                commit(
                    [args.results],
                    f"Trimmed-clips study: {dataset} {variant}, {args.epochs} epochs, seed "
                    f"{args.seed}: {scored} top-1 {top1(record)} %",
                )
    with locked(args.results) as records:
        print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
