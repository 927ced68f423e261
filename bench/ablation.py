"""Small-scale reproduction of the paper's ablation (Table V) on real data, with equal compute.

NW-UCLA (views 1–2 train, view 3 test) and GTU (seeded stratified split); every variant uses the
same reduced model, epochs and seeds; then linear evaluation and fine-tuning of each.

  (a) masksem          semantic-guided masking, hybrid target, π-weighted loss (the paper)
  (a') masksem_pi_mean_one  (a) with π·L loss weights (mean 1; the loss-scale control)
  (b) mamp             motion-aware masking, velocity target (MAMP)
  (c) random_velocity  random masking, velocity target
  (d) official         the official release's variants (batch S̄, binary part CAM, no π weights)
  (f) semantic_velocity semantic masking, velocity only (isolates the hybrid target)
  (f') semantic_velocity_pi_mean_one  (f) with π·L loss weights (the scale control of (a'))
  (g) motion_hybrid    motion-aware masking, hybrid target (Table V row 3)
  (h) semantic_acceleration  semantic masking, acceleration only (Table V row 4)
  (e) none             no pretraining (random encoder for the linear probe; fine-tune from scratch)

Resumable at every epoch: rerun the same command after an interruption. Results go to
``--work-dir`` (summaries, checkpoints, TensorBoard) and the report to docs/results.md with
PNG figures in docs/.

  python bench/ablation.py                          # the table (~1.9 h on 2 idle CPU cores)
  python bench/ablation.py --extended               # + every other row of Table V (~1.5 h more)
  python bench/ablation.py --only nw_ucla:mamp:0    # one row (its pretrain + linear eval)
  python bench/ablation.py --report-only            # rebuild docs/ from finished runs
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

import numpy as np
import torch

from masksem_core.data.prepare import prepare_dataset
from masksem_core.data.prepared import PreparedData, WindowDataset
from masksem_core.engine.builders import build_pretrainer
from masksem_core.engine.checkpoint import save_checkpoint
from masksem_core.engine.classify_run import run_classification
from masksem_core.engine.config import apply_overrides, load_config
from masksem_core.engine.distributed import setup_distributed
from masksem_core.engine.pretrain_run import run_pretraining

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DATASETS = {
    "nw_ucla": ("nw_ucla_xview", SHARED / "nw_ucla"),
    "gtu": ("gtu_stratified", SHARED / "gtu"),
}
SMALL_MODEL = [
    "model.dim=64",
    "model.depth=3",
    "model.heads=4",
    "model.mlp_dim=128",
    "model.decoder_dim=64",
    "model.decoder_depth=1",
    "model.decoder_heads=4",
    "model.decoder_mlp_dim=128",
]
SCHEDULE = [
    "pretrain.epochs=30",
    "pretrain.batch_size=32",
    "pretrain.warmup_epochs=3",
    "linear.epochs=12",
    "linear.batch_size=64",
    "finetune.epochs=12",
    "finetune.batch_size=32",
    "finetune.warmup_epochs=2",
    "finetune.drop_path=0.1",
    "data.num_workers=0",
    "eval_batch_size=64",
    "log_every=10",
]
VARIANTS = {
    "masksem": "(a) MaskSem (paper)",
    "masksem_pi_mean_one": "(a') MaskSem, π weights × L (mean 1)",
    "mamp": "(b) MAMP mode",
    "random_velocity": "(c) random masking + velocity",
    "official": "(d) official-release variants",
    "semantic_velocity": "(f) semantic masking + velocity",
    "semantic_velocity_pi_mean_one": "(f') semantic masking + velocity, π × L",
    "motion_hybrid": "(g) motion-aware masking + hybrid target",
    "semantic_acceleration": "(h) semantic masking + acceleration only",
    "none": "(e) no pretraining",
}
# Table V of the paper: NTU-60 X-view linear evaluation (%), 8×256 encoder, 400 epochs
PAPER_TABLE_V = {
    "masksem": 90.8,
    "mamp": 89.1,
    "semantic_velocity": 90.3,
    "motion_hybrid": 90.0,
    "semantic_acceleration": 85.8,
}
# (dataset, variant, seed, stages), most informative first so partial runs are still useful
PLAN = [
    *[
        (d, v, s, ("pretrain", "linear"))
        for s in (0, 1, 2)
        for d, v in (("nw_ucla", "masksem"), ("nw_ucla", "mamp"))
    ],
    *[
        ("nw_ucla", v, 0, ("pretrain", "linear"))
        for v in ("random_velocity", "official", "semantic_velocity", "none")
    ],
    *[
        ("nw_ucla", v, 0, ("finetune",))
        for v in ("masksem", "mamp", "random_velocity", "official", "semantic_velocity", "none")
    ],
    *[("gtu", v, 0, ("pretrain", "linear")) for v in ("masksem", "mamp", "none")],
    *[("nw_ucla", "masksem_pi_mean_one", s, ("pretrain", "linear")) for s in (0, 1, 2)],
    ("nw_ucla", "masksem_pi_mean_one", 0, ("finetune",)),
]
# --extended: the remaining rows of Table V, the loss-scale control of (f) and 3 seeds of the
# single-seed semantic rows, ≈ 1.5 h more
EXTENDED_PLAN = [
    *[
        ("nw_ucla", v, s, ("pretrain", "linear"))
        for v in ("motion_hybrid", "semantic_velocity_pi_mean_one")
        for s in (0, 1, 2)
    ],
    ("nw_ucla", "semantic_acceleration", 0, ("pretrain", "linear")),
    *[("nw_ucla", "random_velocity", s, ("pretrain", "linear")) for s in (1, 2)],
    ("nw_ucla", "motion_hybrid", 0, ("finetune",)),
    *[
        ("nw_ucla", v, s, ("pretrain", "linear"))
        for v in ("semantic_velocity", "semantic_acceleration")
        for s in (1, 2)
    ],
]


QUICK = [
    "pretrain.epochs=1",
    "pretrain.warmup_epochs=0",
    "linear.epochs=1",
    "finetune.epochs=1",
    "finetune.warmup_epochs=0",
]


def run_config(work: Path, dataset: str, variant: str, seed: int, quick: bool = False) -> dict:
    name, _ = DATASETS[dataset]
    preset = "masksem" if variant == "none" else variant
    overrides = [
        *SMALL_MODEL,
        *SCHEDULE,
        *(QUICK if quick else []),
        f"seed={seed}",
        f"pretraining.preset={preset}",
        f"data.root={work / 'data' / dataset}",
        f"output_dir={work / dataset / f'{variant}_s{seed}'}",
        f"experiment=ablation_{dataset}_{variant}_s{seed}",
    ]
    return apply_overrides(load_config(name), overrides)


def ensure_prepared(work: Path) -> None:
    for dataset, (_, src) in DATASETS.items():
        root = work / "data" / dataset
        if not (root / "meta.json").is_file():
            prepare_dataset(dataset, src, root, workers=2, overwrite=root.exists())


def random_encoder_checkpoint(config: dict, path: Path) -> Path:
    """(e): the seeded random initialisation saved as a 0-epoch pretraining checkpoint."""
    torch.manual_seed(config["seed"])
    layout = PreparedData(config["data"]["root"]).meta["layout"]
    model = build_pretrainer(config, layout)
    return save_checkpoint(
        path,
        {
            "kind": "pretrain",
            "config": config,
            "layout": layout,
            "model": model.state_dict(),
            "epoch": 0,
            "history": [],
        },
    )


def run_stage(config: dict, variant: str, stage: str) -> None:
    out = Path(config["output_dir"])
    summary = out / stage / "summary.json"
    if summary.is_file():
        return
    resume = "auto" if (out / stage / "last.pt").is_file() else None
    context = setup_distributed("cpu")
    print(f"== {config['experiment']}: {stage}" + (" (resuming)" if resume else ""), flush=True)
    init = out / "pretrain" / "last.pt"
    if stage == "pretrain":
        if variant == "none":
            random_encoder_checkpoint(config, init)
            summary.parent.mkdir(parents=True, exist_ok=True)
            summary.write_text(
                json.dumps({"stage": "pretrain", "epochs": 0, "history": [], "wall_seconds": 0.0})
            )
        else:
            run_pretraining(config, context, resume=resume)
    elif stage == "linear":
        run_classification(config, context, "linear", init=str(init), resume=resume)
    else:
        run_classification(
            config,
            context,
            "finetune",
            init=None if variant == "none" else str(init),
            resume=resume,
        )


def pretraining_throughput(work: Path, steps: int = 6) -> list[dict]:
    """Samples/s of one pretraining step, MaskSem vs MAMP mode, and the offline encoder's share
    (θ forward for the CAM + EMA update) of the MaskSem step."""
    from pretrain_step import time_steps  # bench/ is the script's folder

    x = torch.randn(32, 1, 120, 20, 3) * 0.2
    rows = []
    for variant in ("masksem", "mamp"):
        timing = time_steps(run_config(work, "nw_ucla", variant, 0), "kinect_v1_20", x, steps)
        rows.append(
            {
                "variant": variant,
                "samples_per_s": timing["seq_per_s"],
                "step_ms": timing["ms"],
                "offline_share": timing["offline"],
            }
        )
    return rows


def collect(work: Path) -> dict:
    results: dict = {}
    for dataset in DATASETS:
        for variant in VARIANTS:
            for seed in (0, 1, 2):
                out = work / dataset / f"{variant}_s{seed}"
                for stage in ("pretrain", "linear", "finetune"):
                    path = out / stage / "summary.json"
                    if path.is_file():
                        results.setdefault((dataset, variant, stage), {})[seed] = json.loads(
                            path.read_text()
                        )
    return results


def adam_gradient_scale(checkpoint: Path) -> dict:
    """Per-entry RMS gradient of a finished pretraining run, read from AdamW's bias-corrected
    second moment: its median and the fraction of entries below ε, whose updates ε shrinks."""
    from masksem_core.engine.checkpoint import load_checkpoint

    optimizer = load_checkpoint(checkpoint)["optimizer"]
    beta2 = optimizer["param_groups"][0]["betas"][1]
    eps = optimizer["param_groups"][0]["eps"]
    rms = torch.cat(
        [
            (state["exp_avg_sq"] / (1 - beta2 ** float(state["step"]))).sqrt().flatten()
            for state in optimizer["state"].values()
        ]
    )
    return {
        "median_rms": float(rms.median()),
        "below_eps": float((rms < eps).float().mean()),
        "eps": eps,
    }


def mean_std(values: list[float]) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f} (n={len(values)})"


def make_figures(work: Path, results: dict, docs: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for variant in VARIANTS:
        runs = results.get(("nw_ucla", variant, "pretrain"), {})
        if 0 in runs and runs[0]["history"]:
            loss = [h["loss"] for h in runs[0]["history"]]
            axes[0].plot(range(1, len(loss) + 1), np.array(loss) / loss[0], label=variant)
        lin = results.get(("nw_ucla", variant, "linear"), {})
        if 0 in lin:
            axes[1].plot(
                [h["epoch"] for h in lin[0]["history"]],
                [h["test_top1"] for h in lin[0]["history"]],
                label=variant,
            )
    axes[0].set(
        title="NW-UCLA pretraining loss (÷ first epoch), seed 0", xlabel="epoch", yscale="log"
    )
    axes[1].set(title="NW-UCLA linear probe, test top-1 (%), seed 0", xlabel="epoch")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(docs / "ablation_curves.png", dpi=110)
    plt.close(fig)
    figures.append("ablation_curves.png")

    checkpoint = work / "nw_ucla" / "masksem_s0" / "pretrain" / "last.pt"
    if checkpoint.is_file():
        from masksem_core.engine.checkpoint import load_checkpoint, load_state_strict
        from masksem_core.skeleton import KINECT_V1_20

        state = load_checkpoint(checkpoint)
        model = build_pretrainer(state["config"], state["layout"])
        load_state_strict(model, state["model"], str(checkpoint))
        prepared = PreparedData(state["config"]["data"]["root"])
        dataset = WindowDataset(prepared, "xview_test", train=False)
        x, label = dataset[0]
        with torch.no_grad():
            pi = model.masking_log_distribution(x[None]).exp()[0]
        grid = pi.reshape(model.encoder.num_segments, -1).T.numpy()  # (V, Te)
        fig, ax = plt.subplots(figsize=(9, 5))
        image = ax.imshow(grid, aspect="auto", cmap="magma")
        ax.set_yticks(range(len(KINECT_V1_20.joint_names)), KINECT_V1_20.joint_names, fontsize=7)
        ax.set(
            xlabel="segment (4 frames each)",
            title=f"MaskSem masking probability π, NW-UCLA test sample "
            f"'{prepared.class_names[label]}'",
        )
        fig.colorbar(image, ax=ax)
        fig.tight_layout()
        fig.savefig(docs / "masking_probability_map.png", dpi=110)
        plt.close(fig)
        figures.append("masking_probability_map.png")
    return figures


def write_report(work: Path, docs: Path) -> Path:
    from inference import cpu_name  # bench/ is the script's folder

    results = collect(work)
    throughput = (
        json.loads((work / "throughput.json").read_text())
        if (work / "throughput.json").is_file()
        else []
    )
    lines = [
        "# Ablation at small scale on real data",
        "",
        f"Generated by `python bench/ablation.py` on {cpu_name()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}. Model: 3×64 encoder (4 heads, MLP 128), 1×64 decoder, "
        "30 pretraining epochs (batch 32, lr 1e-3, warm-up 3), 12 linear-probe epochs, "
        "12 fine-tuning epochs; every variant has the same model, schedule and seeds. "
        "Accuracies are last-epoch test top-1 (%).",
        "",
        "| variant | NW-UCLA linear | NW-UCLA fine-tune | GTU linear | pretrain wall s | "
        "paper, Table V (NTU-60 X-view linear) |",
        "|---|---|---|---|---|---|",
    ]
    total_wall = 0.0
    for variant, label in VARIANTS.items():
        cells = []
        for dataset, stage in (("nw_ucla", "linear"), ("nw_ucla", "finetune"), ("gtu", "linear")):
            runs = results.get((dataset, variant, stage), {})
            cells.append(mean_std([r["last_epoch"]["top1"] for r in runs.values()]))
        walls = [
            r.get("wall_seconds", 0.0)
            for (d, v, s), runs in results.items()
            if v == variant
            for r in runs.values()
        ]
        total_wall += sum(walls)
        pre = results.get(("nw_ucla", variant, "pretrain"), {})
        pre_wall = mean_std([r.get("wall_seconds", 0.0) for r in pre.values()])
        paper = PAPER_TABLE_V.get(variant, "—")
        lines.append(f"| {label} | {' | '.join(cells)} | {pre_wall} | {paper} |")
    lines += ["", f"Total training wall time of the finished runs: {total_wall / 60:.1f} min.", ""]
    if throughput:
        lines += [
            "Pretraining step throughput (CPU, batch 32 × 1 body, NW-UCLA shape, same process):",
            "",
            "| mode | samples/s | ms/step | offline encoder θ share (CAM forward + EMA) |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {r['variant']} | {r['samples_per_s']:.1f} | {r['step_ms']:.0f} | "
            f"{100 * r['offline_share']:.0f} % |"
            for r in throughput
        ]
        lines.append("")
    scale_rows, eps = [], None
    for variant, label in VARIANTS.items():
        checkpoints = sorted((work / "nw_ucla").glob(f"{variant}_s[0-9]/pretrain/last.pt"))
        if variant != "none" and checkpoints:
            scales = [adam_gradient_scale(c) for c in checkpoints]
            eps = scales[0]["eps"]
            scale_rows.append(
                f"| {label} | {statistics.median(s['median_rms'] for s in scales):.1e} | "
                f"{mean_std([100 * s['below_eps'] for s in scales])} |"
            )
    if scale_rows:
        lines += [
            "Gradient scale at the end of NW-UCLA pretraining, from AdamW's bias-corrected "
            f"second moment (per-entry RMS gradient; AdamW divides by RMS + ε, ε = {eps:.0e}, "
            "so an entry whose RMS is below ε takes less than half of its nominal step):",
            "",
            "| variant | median RMS gradient | entries below ε (%) |",
            "|---|---|---|",
            *scale_rows,
            "",
        ]
    figures = make_figures(work, results, docs)
    lines += [f"![{name}]({name})" for name in figures]
    path = docs / "results.md"
    body = "\n".join(lines) + "\n"
    notes = docs / "results_notes.md"
    if notes.is_file():
        body += "\n" + notes.read_text()
    path.write_text(body)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=REPO / "runs" / "ablation",
        help="prepared data, checkpoints, summaries and TensorBoard logs (default: runs/ablation)",
    )
    parser.add_argument(
        "--docs",
        type=Path,
        default=REPO / "docs",
        help="where results.md and the PNG figures go (default: docs/)",
    )
    parser.add_argument("--only", help="run one plan entry DATASET:VARIANT:SEED")
    parser.add_argument(
        "--extended",
        action="store_true",
        help="also run (f'), (g), (h) and seeds 1–2 of (c), (f), (h): every row of Table V "
        "(≈ 1.5 h more)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 epoch per stage: checks the pipeline, not a result"
    )
    parser.add_argument(
        "--report-only", action="store_true", help="only rebuild docs/results.md and the figures"
    )
    args = parser.parse_args()
    args.docs.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        ensure_prepared(args.work_dir)
        if not (args.work_dir / "throughput.json").is_file():
            rows = pretraining_throughput(args.work_dir)
            (args.work_dir / "throughput.json").write_text(json.dumps(rows, indent=1))
        plan = PLAN + EXTENDED_PLAN if args.extended else PLAN
        if args.only:
            dataset, variant, seed = args.only.split(":")
            plan = [p for p in PLAN + EXTENDED_PLAN if p[:3] == (dataset, variant, int(seed))]
            if not plan:
                raise SystemExit(f"{args.only} is not in the plan")
        for dataset, variant, seed, stages in plan:
            config = run_config(args.work_dir, dataset, variant, seed, args.quick)
            for stage in stages:
                run_stage(config, variant, stage)
    print(f"wrote {write_report(args.work_dir, args.docs)}")


if __name__ == "__main__":
    main()
