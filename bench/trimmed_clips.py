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
from masksem_core.yardstick.study import grid, validated

REPO = Path(__file__).resolve().parents[1]
CONFIG = "trimmed_clips"
# dataset: (prepared folder, training split, validation split)
PROTOCOLS = {
    "utkinect": ("data/prepared/utkinect", "train", "val"),
    "gtu": ("data/prepared/gtu", "stratified_fit", "stratified_val"),
    "nw_ucla": ("data/prepared/nw_ucla", "view1_train", "view2_val"),
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


def experiment(dataset: str, min_crop: int, epochs: int, seed: int, out: Path):
    """The recipe on a dataset's validation protocol."""
    root, train, val = PROTOCOLS[dataset]
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
        "val_top1": round(summary.last_epoch.top1, 2),
        "val_curve": [round(h["test_top1"], 2) for h in summary.history],
        "wall_s": round(summary.wall_seconds, 1),
    }


def yardstick(config: ExperimentConfig, seed: int) -> dict:
    """The best validation top-1 of the yardstick's grid on the recipe's windows."""
    started = time.monotonic()
    best, scores = validated(
        config, config.data.train_split, config.data.test_split, grid(), PASSES, seed
    )
    return {
        "val_top1": round(scores[best], 2),
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
    return (record["dataset"], record["variant"], record["epochs"], record["seed"])


def save(results: Path, record: dict) -> None:
    with locked(results) as records:
        records = [r for r in records if key(r) != key(record)] + [record]
        write_json_atomic(results, records, indent=1)


def table(records: list[dict]) -> str:
    lines = [
        "| dataset | variant | epochs | seed | validation top-1 % |",
        "|---|---|---|---|---|",
    ]
    for r in sorted(records, key=lambda r: (r["dataset"], -r["val_top1"])):
        lines.append(
            f"| {r['dataset']} | {r['variant']} | {r['epochs']} | {r['seed']} | "
            f"{r['val_top1']:.2f} |"
        )
    return "\n".join(lines)


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
    parser.add_argument("--table", action="store_true", help="print the recorded table, run none")
    parser.add_argument("--commit", action="store_true", help="git-commit each finished record")
    args = parser.parse_args()
    if args.table:
        with locked(args.results) as records:
            print(table(records))
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    for dataset in args.dataset or list(PROTOCOLS):
        if not (REPO / PROTOCOLS[dataset][0] / "splits.json").is_file():
            print(
                f"error: {PROTOCOLS[dataset][0]} is not prepared; run training/prepare_data.py "
                f"--dataset {dataset} --src ../shared/data/{dataset} --out {PROTOCOLS[dataset][0]}",
                file=sys.stderr,
            )
            return 2
        for variant in args.only or [*VARIANTS, "yardstick"]:
            with locked(args.results) as records:
                done = any(key(r) == (dataset, variant, args.epochs, args.seed) for r in records)
            if done:
                continue
            from_encoder, min_crop = VARIANTS.get(variant, (False, 64))
            out = args.work_dir / dataset / f"{variant}_e{args.epochs}_s{args.seed}"
            config = experiment(dataset, min_crop, args.epochs, args.seed, out)
            what = f"{dataset} {variant} (seed {args.seed}, {args.epochs} epochs)"
            if variant == "yardstick":
                result = yardstick(config, args.seed)
            else:
                result = learned(config, from_encoder, what)
            if result is None:
                continue
            train, val = config.data.train_split, config.data.test_split
            record = {
                "dataset": dataset,
                "variant": variant,
                "epochs": args.epochs,
                "seed": args.seed,
                "protocol": f"{train} → {val}",
                **({} if variant == "yardstick" else {"min_crop_frames": min_crop}),
                **result,
                "cpu": cpu_name(),
            }
            save(args.results, record)
            print(json.dumps({k: v for k, v in record.items() if k != "val_curve"}), flush=True)
            if args.commit:
                commit(
                    [args.results],
                    f"Trimmed-clips study: {dataset} {variant}, {args.epochs} epochs, seed "
                    f"{args.seed}: validation top-1 {record['val_top1']} %",
                )
    with locked(args.results) as records:
        print(table(records))
    return 0


if __name__ == "__main__":
    sys.exit(main())
