"""The linear probe on cached features against the online probe, timed in one run.

Both probe the same seeded random 3×64 encoder (the study's model size) on real NW-UCLA
windows (../shared/data/nw_ucla, view 3 test) with the same seed, batch and epochs: the cached
probe encodes ``linear.feature_draws`` augmentation draws of the training windows and the test
windows once, then trains BatchNorm + linear head on the stored features; the online probe runs
the frozen encoder over train and test every epoch. Wall time includes everything from loading
the dataset to the last evaluation; each probe starts from an empty output folder.

  python bench/linear_probe.py                  # 100 epochs each (the paper's protocol)
  python bench/linear_probe.py --epochs 20 --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import torch
from machine import describe  # bench/ is the script's folder

from masksem_core.config import load_experiment
from masksem_core.data.prepare import prepare_dataset
from masksem_core.engine.distributed import setup_distributed
from masksem_core.engine.stage import run_stage
from masksem_core.engine.summary import RunSummary
from masksem_core.engine.tasks import linear_probe

REPO = Path(__file__).resolve().parents[1]
NW_UCLA = REPO.parent / "shared" / "data" / "nw_ucla"
SMALL_MODEL = [
    "model.dim=64",
    "model.depth=3",
    "model.heads=4",
    "model.mlp_dim=128",
]


def probe(work: Path, cached: bool, epochs: int, seed: int) -> RunSummary:
    """One linear probe of the seeded random encoder; returns its summary."""
    out = work / ("cached" if cached else "online")
    shutil.rmtree(out, ignore_errors=True)
    config = load_experiment(
        "nw_ucla_xview",
        [
            *SMALL_MODEL,
            f"linear.epochs={epochs}",
            "linear.batch_size=64",
            f"linear.cache_features={str(cached).lower()}",
            "data.num_workers=0",
            "eval_batch_size=128",
            f"seed={seed}",
            f"data.root={work / 'data'}",
            f"output_dir={out}",
            f"experiment=probe_{out.name}",
        ],
    )
    context = setup_distributed("cpu")
    return run_stage(linear_probe(config, context, None))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=100, help="probe epochs (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="encoder, data order, augmentation")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=REPO / "runs" / "bench_probe",
        help="prepared data and probe outputs (default: runs/bench_probe)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    args = parser.parse_args()
    if not NW_UCLA.is_dir():
        raise SystemExit(f"no NW-UCLA data in {NW_UCLA}: this benchmark needs the real windows")
    torch.set_num_threads(args.threads)
    if not (args.work_dir / "data" / "meta.json").is_file():
        prepare_dataset("nw_ucla", NW_UCLA, args.work_dir / "data", workers=2, overwrite=True)
    rows = []
    for cached in (True, False):
        summary = probe(args.work_dir, cached, args.epochs, args.seed)
        rows.append(
            {
                "probe": "cached features" if cached else "online",
                "epochs": summary.epochs,
                "wall_s": round(summary.wall_seconds, 1),
                "top1": round(summary.last_epoch.top1, 2),
            }
        )
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(describe(args.threads))
    print(f"random 3×64 encoder, NW-UCLA, seed {args.seed}, {args.epochs} probe epochs")
    print("| probe | wall s | ÷ cached | last-epoch top-1 % |")
    print("|---|---|---|---|")
    for row in rows:
        ratio = row["wall_s"] / rows[0]["wall_s"]
        print(f"| {row['probe']} | {row['wall_s']:.1f} | {ratio:.1f} | {row['top1']:.2f} |")


if __name__ == "__main__":
    main()
