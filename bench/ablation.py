"""Does our pretraining learn? The small-scale study on real data, with paired seeds.

NW-UCLA (views 1–2 train, view 3 test) with a 3×64 encoder: every variant is pretrained with the
same model, schedule, batch and seeds (same seed ⇒ same initial weights, data order and
augmentation), then evaluated under the same converged protocols:

  linear          100-epoch linear probe (BatchNorm + linear head on the frozen encoder)
  finetune_10pct  100-epoch fine-tuning on a seeded, class-stratified 10 % of the labels
  finetune_100pct 50-epoch fine-tuning on all labels, batch 32 (the length at which the
                  validation curves of bench/viewpoint.py flatten)

Variants (rows of the paper's Table V, plus the baselines every claim needs):

  random_encoder      the seeded initialisation, no pretraining (fine-tune: from scratch)
  mamp                motion-aware masking, velocity target (MAMP, the paper's baseline)
  mamp_hybrid         motion-aware masking, hybrid velocity + acceleration target
  semantic_velocity   semantic-guided masking, velocity target
  masksem             semantic-guided masking, hybrid target, π-weighted loss, single stage
  masksem_two_stage   MAMP for E/2 epochs, then MaskSem for E/2 from it (the official recipe)
  masksem_curriculum  one run: MAMP's objective until epoch E/2, then θ ← φ and MaskSem
  general             the shipped general encoder (models/general_encoder.pt: MaskSem on every
                      real source, NW-UCLA view 3 and GTU's test split never seen), not
                      pretrained here

Every record names its initialisation (``init``): scratch, the variant's own pretraining on the
dataset's training split, or the general encoder.

Every finished evaluation is appended to docs/results.json at once (a session may end at any
time; ``--commit`` also commits it), and docs/results.md is generated from that file. Runs resume
at every epoch: rerun the same command. A second process started beside the first (each with
``--threads 1`` on two cores) takes the variants the first is not running.

  python bench/ablation.py                       # the plan, most important runs first
  python bench/ablation.py --only nw_ucla:mamp:0 # one variant and seed
  python bench/ablation.py --recipe normalised --only nw_ucla:general:0:linear  # one protocol
  python bench/ablation.py --seeds 5             # two more paired seeds of every row
  python bench/ablation.py --recipe normalised  # the recipe chosen on validation: linear
                                              # and full fine-tuning, from scratch, from
                                              # MAMP and from MaskSem
  python bench/ablation.py --recipe normalised --pretrain-epochs 400  # the same, pretrained
                                              # longer (records of each length side by side)
  python bench/ablation.py --recipe normalised --schedule  # MAMP pretrained 100 … 800
                                              # epochs, linear probe on NW-UCLA's validation
                                              # protocol (view 1 → view 2)
  python bench/ablation.py --report-only         # rebuild docs/results.md from results.json

A recipe is a set of data options (viewpoint augmentation and normalisation, bench/study_common.py)
applied to pretraining and evaluation alike; the default one is MAMP's. Recipes are chosen on
NW-UCLA's validation protocol (bench/viewpoint.py: train view 1, validate view 2), never on view 3.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from study_common import (  # bench/ is the script's folder
    DEFAULT_RECIPE,
    RECIPES,
    SMALL_MODEL,
    commit,
)

from masksem_core.atomic import write_json_atomic
from masksem_core.config import ExperimentConfig, load_experiment
from masksem_core.data.prepare import prepare_dataset
from masksem_core.engine.checkpoint import load_checkpoint
from masksem_core.engine.distributed import setup_distributed
from masksem_core.engine.stage import claimed, finished_or_run
from masksem_core.engine.summary import RunSummary
from masksem_core.engine.tasks import FineTuning, Pretraining, linear_probe

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
# name: (experiment config, source dataset under SHARED, split overrides)
DATASETS = {
    "nw_ucla": ("nw_ucla_xview", "nw_ucla", []),
    "nw_ucla_val": (  # for choices made without view 3: pretraining and probe on view 1 only
        "nw_ucla_xview",
        "nw_ucla",
        ["data.train_split=view1_train", "data.test_split=view2_val"],
    ),
    "gtu": ("gtu_stratified", "gtu", []),
}
DATASET_NAMES = {"nw_ucla": "NW-UCLA", "nw_ucla_val": "NW-UCLA validation", "gtu": "GTU"}
SPLITS = {
    "nw_ucla": "views 1–2 train (1,020), view 3 test (464)",
    "nw_ucla_val": "view 1 train (516), view 2 validation (504), view 3 untouched",
    "gtu": "stratified split, train 354, test 154",
}
PRETRAINING_DATA = {  # what a variant's own pretraining sees
    "nw_ucla": "NW-UCLA views 1–2",
    "nw_ucla_val": "NW-UCLA view 1",
    "gtu": "GTU stratified_train",
}
# --schedule: pretraining lengths compared on validation; view 1 has half the sequences of
# views 1–2, so 400 epochs there take about the optimiser steps of the study's 200
SCHEDULE_EPOCHS = (800, 400, 200, 100)
MODEL = "3x64"
PRETRAIN_EPOCHS = 200
SCHEDULE = [
    "pretrain.batch_size=32",
    "linear.epochs=100",
    "linear.batch_size=64",
    "finetune.epochs=100",
    "finetune.batch_size=16",
    "finetune.warmup_epochs=5",
    "finetune.drop_path=0.1",
    "data.num_workers=0",
    "eval_batch_size=128",
    "log_every=20",
]
PRESETS = {
    "mamp": "mamp",
    "mamp_hybrid": "motion_hybrid",
    "semantic_velocity": "semantic_velocity",
    "masksem": "masksem",
    "masksem_two_stage": "masksem",
    "masksem_curriculum": "masksem",
}
LABELS = {
    "random_encoder": "random encoder (no pretraining)",
    "mamp": "MAMP (motion-aware, velocity)",
    "mamp_hybrid": "motion-aware, hybrid target",
    "semantic_velocity": "semantic-guided, velocity",
    "masksem": "MaskSem, single stage",
    "masksem_two_stage": "MaskSem, two-stage (MAMP E/2 → MaskSem E/2)",
    "masksem_curriculum": "MaskSem, curriculum (semantic_from_epoch = E/2)",
    "general": "general encoder (every real source, test splits never seen)",
}
GENERAL_ENCODER = REPO / "models" / "general_encoder.pt"
# Table V of the paper: NTU-60 X-view linear evaluation (%), 8×256 encoder, 400 epochs
PAPER_TABLE_V = {
    "masksem": 90.8,
    "mamp": 89.1,
    "semantic_velocity": 90.3,
    "mamp_hybrid": 90.0,
}
# The paper's claims as paired differences (variant − baseline, same seeds)
CLAIMS = [
    ("mamp", "random_encoder", "pretraining learns (MAMP beats the random encoder)"),
    ("masksem", "mamp", "MaskSem beats MAMP (Table V: +1.7)"),
    ("masksem_two_stage", "mamp", "two-stage MaskSem beats MAMP at equal total epochs"),
    ("masksem_curriculum", "mamp", "curriculum MaskSem beats MAMP at equal total epochs"),
    ("semantic_velocity", "mamp", "semantic beats motion-aware masking (Table V: +1.2)"),
    ("mamp_hybrid", "mamp", "hybrid beats velocity target (Table V: +0.9)"),
    ("masksem", "semantic_velocity", "hybrid beats velocity, semantic masking (Table V: +0.5)"),
]


@dataclass(frozen=True)
class Run:
    """One variant, seed and evaluation protocol on one dataset."""

    dataset: str
    variant: str
    seed: int
    protocol: str  # linear | finetune_10pct | finetune_100pct
    pretrain_epochs: int = PRETRAIN_EPOCHS
    recipe: str = DEFAULT_RECIPE

    @property
    def key(self) -> tuple:
        return record_key(self.__dict__)


DEFAULT_OPTIONS = "the defaults (MAMP: random rotation ±0.3 rad about each axis)"
RECORD_KEYS = ("dataset", "variant", "seed", "pretrain_epochs", "protocol", "recipe")
FULL_FINETUNE = ["finetune.epochs=50", "finetune.batch_size=32"]


def record_key(record: dict) -> tuple:
    """What identifies a run's record."""
    return tuple(record[k] for k in RECORD_KEYS)


def plan(seeds: int = 3, recipe: str = DEFAULT_RECIPE, epochs: int = PRETRAIN_EPOCHS) -> list[Run]:
    """Seeds 0 … seeds−1 of every row. Most important first: the Must-show rows seed by seed,
    then the remaining NW-UCLA rows, then GTU as a second set. Another recipe than MAMP's:
    the random encoder, MAMP and MaskSem (pretrained ``epochs`` epochs) under it, linear and
    full fine-tuning, seed by seed, NW-UCLA first, then GTU."""
    if recipe != DEFAULT_RECIPE:
        return [
            Run(dataset, variant, seed, protocol, pretrained_epochs(variant, epochs), recipe)
            for dataset in ("nw_ucla", "gtu")
            for seed in range(seeds)
            for variant in ("random_encoder", "mamp", "masksem", "general")
            for protocol in ("finetune_100pct", "linear")
        ]
    runs = []
    for seed in range(seeds):
        runs.append(Run("nw_ucla", "random_encoder", seed, "linear", 0))
        runs.append(Run("nw_ucla", "mamp", seed, "linear"))
        runs.append(Run("nw_ucla", "random_encoder", seed, "finetune_10pct", 0))
        runs.append(Run("nw_ucla", "mamp", seed, "finetune_10pct"))
        runs.append(Run("nw_ucla", "mamp", seed, "linear", PRETRAIN_EPOCHS // 2))
        runs += [Run("nw_ucla", v, seed, "linear") for v in ("masksem_two_stage", "masksem")]
        runs.append(Run("nw_ucla", "masksem", seed, "finetune_10pct"))
    for seed in range(seeds):
        runs += [
            Run("nw_ucla", v, seed, "linear")
            for v in ("masksem_curriculum", "mamp_hybrid", "semantic_velocity")
        ]
    for seed in range(seeds):
        runs.append(Run("gtu", "random_encoder", seed, "linear", 0))
        runs += [Run("gtu", v, seed, "linear") for v in ("mamp", "masksem")]
    return runs


def pretrained_epochs(variant: str, epochs: int) -> int:
    """The pretraining epochs a variant's encoder has: none for the random encoder, the shipped
    file's for the general encoder, else ``epochs``."""
    if variant == "random_encoder":
        return 0
    if variant == "general":
        return int(load_checkpoint(GENERAL_ENCODER)["epoch"]) if GENERAL_ENCODER.is_file() else 0
    return epochs


def schedule_plan(seeds: int, recipe: str) -> list[Run]:
    """MAMP's linear probe on NW-UCLA's validation protocol after each of SCHEDULE_EPOCHS
    pretraining epochs (longest first), and the random encoder's, seed by seed."""
    return [
        run
        for seed in range(seeds)
        for run in (
            *(Run("nw_ucla_val", "mamp", seed, "linear", e, recipe) for e in SCHEDULE_EPOCHS),
            Run("nw_ucla_val", "random_encoder", seed, "linear", 0, recipe),
        )
    ]


def data_root(work: Path, dataset: str) -> Path:
    """The prepared copy of a dataset's source (shared by the datasets that read one source)."""
    return work / "data" / DATASETS[dataset][1]


def pretrain_dir(work: Path, run: Run, epochs: int | None = None, variant: str | None = None):
    epochs = run.pretrain_epochs if epochs is None else epochs
    recipe = "" if run.recipe == DEFAULT_RECIPE else f"_{run.recipe}"
    return work / run.dataset / f"{variant or run.variant}_e{epochs}_s{run.seed}{recipe}"


def run_config(work: Path, run: Run, out: Path, overrides: list[str] = ()) -> ExperimentConfig:
    name, _, splits = DATASETS[run.dataset]
    return load_experiment(
        name,
        [
            *SMALL_MODEL,
            *SCHEDULE,
            *RECIPES[run.recipe],
            f"seed={run.seed}",
            f"pretraining.preset={PRESETS.get(run.variant, 'mamp')}",
            f"data.root={data_root(work, run.dataset)}",
            *splits,
            f"output_dir={out}",
            f"experiment=study_{out.name}",
            *overrides,
        ],
    )


def pretrain(work: Path, run: Run, quick: bool, device: str) -> tuple[Path | None, float]:
    """Pretrain the run's encoder (resumable); returns its checkpoint and total wall seconds,
    stage 1 of the two-stage recipe included. None for the random encoder."""
    if run.variant == "random_encoder":
        return None, 0.0
    if run.variant == "general":
        return GENERAL_ENCODER, 0.0
    epochs = 1 if quick else run.pretrain_epochs
    warmup = [f"pretrain.warmup_epochs={0 if quick else max(1, epochs // 20)}"]
    init, before = None, 0.0
    if run.variant == "masksem_two_stage":
        stage_one = Run(
            run.dataset, "mamp", run.seed, run.protocol, run.pretrain_epochs // 2, run.recipe
        )
        init, before = pretrain(work, stage_one, quick, device)
        epochs = 1 if quick else run.pretrain_epochs // 2
        warmup = [f"pretrain.warmup_epochs={0 if quick else max(1, epochs // 20)}"]
    extra = [f"pretrain.epochs={epochs}", *warmup]
    if run.variant == "masksem_curriculum":
        extra.append(f"pretraining.semantic_from_epoch={max(1, epochs // 2)}")
    out = pretrain_dir(work, run)
    config = run_config(work, run, out, extra)
    builder = Pretraining(config, setup_distributed(device), init)
    summary = finished_or_run(config, builder, f"pretrain {out.name}")
    return Path(summary.checkpoint), before + summary.wall_seconds


def evaluate(work: Path, run: Run, checkpoint: Path | None, quick: bool, device: str) -> RunSummary:
    """The run's evaluation protocol on its encoder (resumable); returns the summary."""
    overrides = (
        ["linear.epochs=1", "finetune.epochs=1", "finetune.warmup_epochs=0"] if quick else []
    )
    if run.protocol == "finetune_10pct":
        overrides += ["finetune.label_fraction=0.1", f"finetune.label_seed={run.seed}"]
    if run.protocol == "finetune_100pct":
        overrides = FULL_FINETUNE + overrides
    out = pretrain_dir(work, run)
    if run.protocol == "finetune_100pct":
        out = out / "full_labels"  # beside the 10 % run's finetune/ folder, never in it
    config = run_config(work, run, out, overrides)
    context, init = setup_distributed(device), str(checkpoint) if checkpoint else None
    builder = (
        linear_probe(config, context, init)
        if run.protocol == "linear"
        else FineTuning(config, context, init)
    )
    return finished_or_run(config, builder, f"{run.protocol} {pretrain_dir(work, run).name}")


def adam_gradient_scale(checkpoint: Path) -> dict:
    """Per-entry RMS gradient at the end of pretraining, from AdamW's bias-corrected second
    moment: its median and the fraction of entries below ε (their steps are shrunk by ε)."""
    optimizer = load_checkpoint(checkpoint)["optimizer"]
    beta2 = optimizer["param_groups"][0]["betas"][1]
    eps = optimizer["param_groups"][0]["eps"]
    rms = torch.cat(
        [
            (state["exp_avg_sq"] / (1 - beta2 ** float(state["step"]))).sqrt().flatten()
            for state in optimizer["state"].values()
        ]
    )
    return {"median_rms_grad": float(rms.median()), "below_eps": float((rms < eps).float().mean())}


def device_name(device: str) -> str:
    """What a record ran on: ``cpu``, or ``cuda (GPU name)``."""
    return f"cuda ({torch.cuda.get_device_name()})" if device == "cuda" else "cpu"


def record(
    run: Run, summary: RunSummary, checkpoint: Path | None, pretrain_wall: float, device: str
) -> dict:
    entry = {
        "dataset": run.dataset,
        "variant": run.variant,
        "seed": run.seed,
        "model": MODEL,
        "pretrain_epochs": run.pretrain_epochs,
        "protocol": run.protocol,
        "recipe": run.recipe,
        "init": initialisation(run),
        "eval_epochs": summary.epochs,
        "top1": round(summary.last_epoch.top1, 2),
        "top5": round(summary.last_epoch.top5, 2),
        "wall_s": round(pretrain_wall + summary.wall_seconds, 1),
        "device": device_name(device),
        "pretrain_wall_s": round(pretrain_wall, 1),
        "probe_curve": [round(h["test_top1"], 2) for h in summary.history],
    }
    if checkpoint is not None:
        state = load_checkpoint(checkpoint)
        entry["pretrain_loss"] = [round(h["loss"], 5) for h in state["history"]]
        if "optimizer" in state:  # a shipped encoder keeps no optimiser
            entry.update({k: round(v, 12) for k, v in adam_gradient_scale(checkpoint).items()})
    return entry


def initialisation(run: Run) -> str:
    """What the evaluated encoder started from, as every record names it."""
    if run.variant == "random_encoder":
        return "scratch"
    if run.variant == "general":
        return f"general encoder ({GENERAL_ENCODER.name})"
    return f"own pretraining ({PRETRAINING_DATA[run.dataset]}, no labels)"


def load_results(path: Path) -> list[dict]:
    return json.loads(path.read_text()) if path.is_file() else []


def finished_keys(path: Path) -> set[tuple]:
    return {record_key(r) for r in load_results(path)}


def save_record(path: Path, entry: dict) -> None:
    """Replace any record of the same run (old numbers are not kept beside new ones)."""
    results = [r for r in load_results(path) if record_key(r) != record_key(entry)]
    results.append(entry)
    results.sort(key=lambda r: tuple(map(str, record_key(r))))
    write_json_atomic(path, results, indent=1)


def mean_std(values: list[float]) -> str:
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.1f} (n=1)"
    return f"{statistics.mean(values):.1f} ± {statistics.stdev(values):.1f} (n={len(values)})"


T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306}


def paired_difference(a: dict[int, float], b: dict[int, float]) -> str:
    """Mean of a − b over the seeds both have (at least one), with a 95 % t interval."""
    seeds = sorted(set(a) & set(b))
    diffs = [a[s] - b[s] for s in seeds]
    mean = statistics.mean(diffs)
    if len(diffs) == 1:
        return f"{mean:+.1f} (n=1, no interval)"
    half = T_975.get(len(diffs) - 1, 1.96) * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return f"{mean:+.1f} [{mean - half:+.1f}, {mean + half:+.1f}] (n={len(diffs)})"


def seed_top1(rows: list[dict], variant: str, epochs: int) -> dict[int, float]:
    """seed → top-1 of a variant pretrained for ``epochs`` epochs (the random encoder: none)."""
    epochs = 0 if variant == "random_encoder" else epochs
    return {
        r["seed"]: r["top1"]
        for r in rows
        if r["variant"] == variant and r["pretrain_epochs"] == epochs
    }


def write_report(results: list[dict], docs: Path) -> Path:
    from machine import cpu_name  # bench/ is the script's folder

    lines = [
        "# Does the pretraining learn? Small-scale study on NW-UCLA and GTU",
        "",
        f"Generated from `docs/results.json` by `python bench/ablation.py` on {cpu_name()}, "
        f"{os.cpu_count()} cores, torch {torch.__version__}. Model {MODEL}: 3-layer, 64-wide "
        "encoder (4 heads, MLP 128), 1×64 decoder; pretraining batch 32, AdamW lr 1e-3 → 5e-4, "
        "warm-up 5 % of the epochs; the MAMP recipe everywhere (per-token standardised targets, "
        "xavier init). Linear: 100-epoch probe on cached features (10 augmentation draws), "
        "SGD lr 0.1, batch 64. 10 % fine-tuning: 100 epochs, batch 16, MAMP's head; full "
        "fine-tuning: 50 epochs, batch 32. A recipe is a set of data options for pretraining "
        "and evaluation alike, chosen on NW-UCLA's validation protocol (docs/viewpoint.json). "
        + "; ".join(f"{DATASET_NAMES[d]}: {SPLITS[d]}" for d in DATASETS)
        + ". Accuracy: last-epoch top-1 (%) on the test split (on NW-UCLA validation: view 2), "
        "mean ± std over paired seeds. For reference only, not like-for-like (NTU-60 X-view, "
        "8×256 encoder, 400 epochs), the paper's Table V gives linear top-1 "
        + "; ".join(f"{LABELS[v]}: {a}" for v, a in PAPER_TABLE_V.items())
        + ".",
        "",
    ]
    others = {r["recipe"] for r in results} - {DEFAULT_RECIPE}
    recipes = [DEFAULT_RECIPE, *sorted(others)]
    tables = [
        (d, recipe, p)
        for d in DATASETS
        for recipe in recipes
        for p in ("linear", "finetune_10pct", "finetune_100pct")
    ]
    for dataset, recipe, protocol in tables:
        rows = [
            r
            for r in results
            if r["protocol"] == protocol and r["dataset"] == dataset and r["recipe"] == recipe
        ]
        if not rows:
            continue
        lines += [
            f"## {DATASET_NAMES[dataset]}, {protocol}, recipe {recipe}",
            "",
            f"Data options: {' '.join(RECIPES[recipe]) or DEFAULT_OPTIONS}.",
            "",
            "| variant | pretrain epochs | top-1 | seeds | mean wall (min) |",
            "|---|---|---|---|---|",
        ]
        groups: dict[tuple, list[dict]] = {}
        for r in rows:
            groups.setdefault((r["variant"], r["pretrain_epochs"]), []).append(r)
        for (variant, epochs), group in sorted(
            groups.items(), key=lambda g: (list(LABELS).index(g[0][0]), g[0][1])
        ):
            wall = statistics.mean(r["wall_s"] for r in group) / 60
            devices = sorted({r.get("device", "cpu") for r in group})
            where = "" if devices == ["cpu"] else f" on {', '.join(devices)}"
            lines.append(
                f"| {LABELS[variant]} | {epochs} | {mean_std([r['top1'] for r in group])} | "
                f"{', '.join(str(r['seed']) for r in sorted(group, key=lambda r: r['seed']))} | "
                f"{wall:.1f}{where} |"
            )
        yardstick = [
            r
            for r in results
            if r["protocol"] == "yardstick" and r["dataset"] == dataset and r["recipe"] == recipe
        ]
        if yardstick:
            lines.append(
                f"| yardstick: linear model on hand-made features (`bench/yardstick.py`) | — | "
                f"{mean_std([r['top1'] for r in yardstick])} | "
                f"{', '.join(str(r['seed']) for r in sorted(yardstick, key=lambda r: r['seed']))}"
                f" | {statistics.mean(r['wall_s'] for r in yardstick) / 60:.1f} |"
            )
        schedules = sorted({r["pretrain_epochs"] for r in rows} - {0})
        claims = [
            (
                claim if len(schedules) == 1 else f"{claim}, {epochs} epochs",
                seed_top1(rows, variant, epochs),
                seed_top1(rows, baseline, epochs),
            )
            for epochs in schedules
            for variant, baseline, claim in CLAIMS
        ]
        claims = [(claim, a, b) for claim, a, b in claims if set(a) & set(b)]
        if claims:
            lines += ["", "Paired differences (variant − baseline, same seeds, 95 % t interval):"]
            lines += ["", "| claim | difference (points) |", "|---|---|"]
            lines += [f"| {claim} | {paired_difference(a, b)} |" for claim, a, b in claims]
        lines.append("")
    pretrained = [r for r in results if "below_eps" in r and r["protocol"] == "linear"]
    if pretrained:
        lines += [
            "Gradient scale at the end of pretraining (AdamW's bias-corrected second moment; "
            "an entry whose RMS gradient is below ε = 1e-8 takes less than half its step):",
            "",
            "| dataset | variant | pretrain epochs | median RMS gradient | entries below ε (%) |",
            "|---|---|---|---|---|",
        ]
        groups = {}
        for r in pretrained:
            groups.setdefault((r["dataset"], r["variant"], r["pretrain_epochs"]), []).append(r)
        for (dataset, variant, epochs), group in sorted(groups.items()):
            lines.append(
                f"| {DATASET_NAMES[dataset]} | {LABELS[variant]} | {epochs} | "
                f"{statistics.median(r['median_rms_grad'] for r in group):.1e} | "
                f"{mean_std([100 * r['below_eps'] for r in group])} |"
            )
        lines.append("")
    figure = make_figure(results, docs)
    if figure:
        lines += [f"![{figure}]({figure})", ""]
    notes = docs / "results_notes.md"
    body = "\n".join(lines) + ("\n" + notes.read_text() if notes.is_file() else "")
    path = docs / "results.md"
    path.write_text(body)
    return path


def make_figure(results: list[dict], docs: Path) -> str | None:
    """Pretraining loss and linear-probe curves of seed 0, per variant."""
    rows = [
        r
        for r in results
        if r["seed"] == 0
        and r["protocol"] == "linear"
        and r["dataset"] == "nw_ucla"
        and r["recipe"] == DEFAULT_RECIPE
    ]
    if not rows:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for r in sorted(rows, key=lambda r: (r["variant"], r["pretrain_epochs"])):
        label = f"{r['variant']} ({r['pretrain_epochs']} ep)"
        if r.get("pretrain_loss"):
            axes[0].plot(range(1, len(r["pretrain_loss"]) + 1), r["pretrain_loss"], label=label)
        axes[1].plot(range(1, len(r["probe_curve"]) + 1), r["probe_curve"], label=label)
    axes[0].set(title="NW-UCLA pretraining loss, seed 0", xlabel="epoch", yscale="log")
    axes[1].set(title="NW-UCLA linear probe, test top-1 (%), seed 0", xlabel="probe epoch")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    name = "study_curves.png"
    fig.savefig(docs / name, dpi=110)
    plt.close(fig)
    return name


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 1, got {text!r}")
    return int(text)


def only_run(text: str) -> tuple[str, str, int, str | None]:
    """``DATASET:VARIANT:SEED[:PROTOCOL]`` → (dataset, variant, seed, protocol or None)."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or not parts[2].isdigit():
        raise argparse.ArgumentTypeError(
            f"expected DATASET:VARIANT:SEED[:PROTOCOL], e.g. nw_ucla:mamp:0 or "
            f"nw_ucla:general:0:linear, got {text!r}"
        )
    return parts[0], parts[1], int(parts[2]), parts[3] if len(parts) == 4 else None


def run_and_record(work: Path, run: Run, args: argparse.Namespace) -> None:
    """Pretrain and evaluate ``run``, then append (and commit) its record."""
    checkpoint, pretrain_wall = pretrain(work, run, args.quick, args.device)
    summary = evaluate(work, run, checkpoint, args.quick, args.device)
    entry = record(run, summary, checkpoint, pretrain_wall, args.device)
    if args.quick:
        print(json.dumps({k: v for k, v in entry.items() if "curve" not in k}))
        return
    docs = args.results.parent
    with claimed(work, wait=True):  # one writer of results.json at a time
        save_record(args.results, entry)
        report = write_report(load_results(args.results), docs)
        if args.commit:
            commit(
                [args.results, report, docs / "study_curves.png"],
                f"Study: {run.dataset} {run.variant} ({entry['pretrain_epochs']} epochs) "
                f"seed {run.seed}, {run.protocol}, recipe {run.recipe}: top-1 {entry['top1']} %",
            )
    print(f"recorded {run.variant} seed {run.seed} {run.protocol} ({run.recipe}): {entry['top1']}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=REPO / "runs" / "study",
        help="prepared data, checkpoints, summaries, TensorBoard logs (default: runs/study)",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=REPO / "docs" / "results.json",
        help="the JSON list of finished evaluations (default: docs/results.json); "
        "docs/results.md and the figure are written beside it",
    )
    parser.add_argument(
        "--only",
        metavar="DATASET:VARIANT:SEED[:PROTOCOL]",
        type=only_run,
        help="run one variant and seed (and one protocol)",
    )
    parser.add_argument(
        "--seeds",
        type=positive_int,
        default=3,
        help="paired seeds per row, 0 … N−1 (default 3, the minimum of every claim); a larger N "
        "extends the plan, and finished records are skipped",
    )
    parser.add_argument(
        "--recipe",
        choices=sorted(RECIPES),
        default=DEFAULT_RECIPE,
        help="data options of pretraining and evaluation (bench/study_common.py); another than "
        f"the default ({DEFAULT_RECIPE}) plans the random encoder, MAMP and MaskSem under it, "
        "linear and full fine-tuning",
    )
    parser.add_argument(
        "--pretrain-epochs",
        type=positive_int,
        default=PRETRAIN_EPOCHS,
        help=f"pretraining epochs of MAMP and MaskSem in another recipe's plan (default "
        f"{PRETRAIN_EPOCHS}); records of each length are kept side by side",
    )
    parser.add_argument(
        "--schedule",
        action="store_true",
        help="instead of the recipe's plan: MAMP pretrained for "
        f"{' / '.join(map(str, SCHEDULE_EPOCHS))} epochs and the random encoder, linear probe on "
        "NW-UCLA's validation protocol (view 1 → view 2; view 3 untouched), under --recipe",
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 epoch per stage: checks the pipeline, not a result"
    )
    parser.add_argument(
        "--commit",
        action="store_true",
        help="git-commit results.json and results.md after every finished evaluation",
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads")
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="where pretraining and evaluation run; every record names it (wall times of "
        "different devices are not comparable)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="only rebuild results.md from results.json"
    )
    args = parser.parse_args()
    if args.pretrain_epochs != PRETRAIN_EPOCHS and (args.schedule or args.recipe == DEFAULT_RECIPE):
        parser.error("--pretrain-epochs needs --recipe other than the default, without --schedule")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    docs = args.results.parent
    docs.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        work = args.work_dir / "quick" if args.quick else args.work_dir
        seeds = max(args.seeds, args.only[2] + 1) if args.only else args.seeds
        if args.schedule:
            runs = schedule_plan(seeds, args.recipe)
        else:
            runs = plan(seeds, args.recipe, args.pretrain_epochs)
        if args.only:
            dataset, variant, seed, protocol = args.only
            runs = [
                r
                for r in runs
                if (r.dataset, r.variant, r.seed) == (dataset, variant, seed)
                and protocol in (None, r.protocol)
            ]
            if not runs:
                raise SystemExit(f"{args.only} is not in the plan")
        with claimed(work / "data", wait=True):
            for dataset in sorted({r.dataset for r in runs}):
                root, source = data_root(work, dataset), DATASETS[dataset][1]
                if not (root / "meta.json").is_file():
                    prepare_dataset(source, SHARED / source, root, workers=2, overwrite=True)
        pending = runs
        while pending:
            deferred = []
            for run in pending:
                # a second study process started beside this one takes the variants this one
                # is not running, and comes back to the others
                with claimed(pretrain_dir(work, run), wait=False) as mine:
                    if not mine:
                        deferred.append(run)
                    elif args.quick or run.key not in finished_keys(args.results):
                        run_and_record(work, run, args)
            if deferred:
                time.sleep(60)
            pending = deferred
    if not args.quick:
        print(f"wrote {write_report(load_results(args.results), docs)}")


if __name__ == "__main__":
    main()
