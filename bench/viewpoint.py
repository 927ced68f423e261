"""Viewpoint robustness chosen without looking at the test view: NW-UCLA's validation protocol.

The standard split trains on views 1–2 and tests on view 3, a camera position the model never
saw. Settings are chosen here on a protocol that never touches view 3: train on view 1,
validate on view 2 (also a camera the model never saw). Each variant fine-tunes the same
encoder from scratch (same seed and size: same initial weights and data order) and differs only
in its data options:

  mamp_rotation        random rotation ±0.3 rad about each axis (MAMP's NTU value)
  wide_vertical        ±0.3 rad about x and z, ±1.05 rad (60°) about the vertical axis y
  normalised           MAMP's rotation, windows in the body's own frame, torso length 1
                       (chosen here; nw_ucla_xview's default)
  wide_normalised      wide_vertical and normalised together

What limits view-2 accuracy, the camera or the people? ``--validation`` trains on view 1's
subjects 1–7 and validates on subjects 8–10 seen from the same camera (``same_view``) or from
view 2 (``new_view_new_subjects``): the difference is the viewpoint gap alone.
``--train-subjects 3`` or ``5`` trains on fewer people: a learning curve in people.

Every finished run is appended to docs/viewpoint.json at once (resumable: a finished run is
skipped, an interrupted one resumes from its last epoch) and committed with --commit.

  python bench/viewpoint.py --epochs 50 --commit        # the table of validation top-1
  python bench/viewpoint.py --only normalised --size 4x128 --commit   # a larger encoder
  python bench/viewpoint.py --only normalised --validation same_view --commit
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from machine import cpu_name  # bench/ is the script's folder
from study_common import MODEL_SIZES, RECIPES, commit

from masksem_core.atomic import write_json_atomic
from masksem_core.config import load_experiment
from masksem_core.data.prepare import prepare_dataset
from masksem_core.engine.distributed import setup_distributed
from masksem_core.engine.stage import finished_or_run
from masksem_core.engine.summary import RunSummary
from masksem_core.engine.tasks import FineTuning

REPO = Path(__file__).resolve().parents[1]
NW_UCLA = REPO.parent / "shared" / "data" / "nw_ucla"


# name: (training split, validation split, description), {n}: training subjects 1–n of view 1;
# none touches view 3
VALIDATIONS = {
    "new_view": ("view1_train", "view2_val", "train view 1, validate view 2 (view 3 untouched)"),
    "same_view": (
        "view1_subjects1to{n}",
        "view1_subjects8to10",
        "train view 1 subjects 1-{n}, validate view 1 subjects 8-10 (view 3 untouched)",
    ),
    "new_view_new_subjects": (
        "view1_subjects1to{n}",
        "view2_subjects8to10",
        "train view 1 subjects 1-{n}, validate view 2 subjects 8-10 (view 3 untouched)",
    ),
}
TRAIN_SUBJECTS = (3, 5, 7)  # the people-held-out protocols' learning curve in people


def validation_splits(validation: str, subjects: int | None) -> tuple[str, str, str]:
    """(training split, validation split, description) of a protocol."""
    return tuple(text.format(n=subjects) for text in VALIDATIONS[validation])


def record_key(record: dict) -> tuple:
    """(variant, epochs, seed, size, validation, training subjects); older records are 3×64 on
    ``new_view``, and the people-held-out ones trained on subjects 1–7."""
    validation = record.get("validation", "new_view")
    return (
        record["variant"],
        record["epochs"],
        record["seed"],
        record.get("size", "3x64"),
        validation,
        None if validation == "new_view" else record.get("train_subjects", 7),
    )


def run(
    work: Path,
    variant: str,
    epochs: int,
    seed: int,
    size: str,
    validation: str,
    subjects: int | None,
) -> RunSummary:
    """Fine-tune from scratch on the validation protocol's training split (resumable)."""
    train, val, _ = validation_splits(validation, subjects)
    out = work / (
        f"{variant}_e{epochs}_s{seed}"
        + ("" if size == "3x64" else f"_{size}")
        + ("" if validation == "new_view" else f"_{validation}")
        + ("" if subjects in (None, 7) else f"_{subjects}subjects")
    )
    config = load_experiment(
        "nw_ucla_xview",
        [
            *MODEL_SIZES[size],
            *RECIPES[variant],
            f"seed={seed}",
            f"data.root={work / 'data'}",
            f"data.train_split={train}",
            f"data.test_split={val}",
            "data.num_workers=0",
            f"finetune.epochs={epochs}",
            "finetune.batch_size=32",
            "finetune.drop_path=0.1",
            "eval_batch_size=128",
            f"output_dir={out}",
            f"experiment=viewpoint_{variant}",
        ],
    )
    builder = FineTuning(config, setup_distributed("cpu"), None)
    return finished_or_run(config, builder, f"{variant} (seed {seed}, {epochs} epochs, {size})")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=50, help="fine-tuning epochs (default 50)")
    parser.add_argument("--seed", type=int, default=0, help="initial weights, data order")
    parser.add_argument(
        "--only", choices=sorted(RECIPES), action="append", help="these variants (repeatable)"
    )
    parser.add_argument(
        "--work-dir", type=Path, default=REPO / "runs" / "viewpoint", help="data and runs"
    )
    parser.add_argument(
        "--results", type=Path, default=REPO / "docs" / "viewpoint.json", help="records (JSON)"
    )
    parser.add_argument(
        "--size", choices=sorted(MODEL_SIZES), default="3x64", help="encoder depth × width"
    )
    parser.add_argument(
        "--validation",
        choices=sorted(VALIDATIONS),
        default="new_view",
        help="new_view (default): train view 1, validate view 2, the model-selection protocol; "
        "same_view / new_view_new_subjects: train view 1 subjects 1-7, validate subjects 8-10 "
        "from view 1 / view 2 (the viewpoint gap alone)",
    )
    parser.add_argument(
        "--train-subjects",
        type=int,
        choices=TRAIN_SUBJECTS,
        help="same_view / new_view_new_subjects: train on view 1's subjects 1 to this (default "
        "7); fewer draw the learning curve in people",
    )
    parser.add_argument("--commit", action="store_true", help="git-commit each finished record")
    args = parser.parse_args()
    if args.validation == "new_view" and args.train_subjects:
        parser.error("--train-subjects needs --validation same_view or new_view_new_subjects")
    if not NW_UCLA.is_dir():
        print(f"error: no NW-UCLA data in {NW_UCLA}", file=sys.stderr)
        return 2
    data = args.work_dir / "data"
    splits = data / "splits.json"
    subjects = None if args.validation == "new_view" else args.train_subjects or 7
    train, _, protocol = validation_splits(args.validation, subjects)
    if not splits.is_file() or train not in json.loads(splits.read_text()):
        prepare_dataset("nw_ucla", NW_UCLA, data, overwrite=True)
    records = json.loads(args.results.read_text()) if args.results.is_file() else []
    for variant in args.only or list(RECIPES):
        summary = run(
            args.work_dir, variant, args.epochs, args.seed, args.size, args.validation, subjects
        )
        key = (variant, args.epochs, args.seed, args.size, args.validation, subjects)
        records = [r for r in records if record_key(r) != key]
        records.append(
            {
                "variant": variant,
                "size": args.size,
                "validation": args.validation,
                **({} if subjects is None else {"train_subjects": subjects}),
                "options": RECIPES[variant],
                "protocol": protocol,
                "epochs": args.epochs,
                "seed": args.seed,
                "val_top1": round(summary.last_epoch.top1, 2),
                "val_curve": [round(h["test_top1"], 2) for h in summary.history],
                "wall_s": round(summary.wall_seconds, 1),
                "cpu": cpu_name(),
            }
        )
        write_json_atomic(args.results, records, indent=1)
        print(json.dumps({k: v for k, v in records[-1].items() if k != "val_curve"}), flush=True)
        if args.commit:
            top1 = records[-1]["val_top1"]
            commit(
                [args.results],
                f"Viewpoint study: {variant} ({args.size}) seed {args.seed}, {args.validation} "
                f"validation top-1 {top1} %",
            )
    print(
        "| validation | training subjects | variant | size | epochs | seed | val top-1 % |\n"
        "|---|---|---|---|---|---|---|"
    )
    for r in sorted(records, key=lambda r: (r.get("validation", "new_view"), -r["val_top1"])):
        variant, epochs, seed, size, validation, subjects = record_key(r)
        print(
            f"| {validation} | {subjects or 'all'} | {variant} | {size} | {epochs} | {seed} "
            f"| {r['val_top1']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
