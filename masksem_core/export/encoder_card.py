"""A pretrained encoder shipped as a file of its own (the general encoder in ``models/``): only
the encoder's weights, its config and layout, and a Markdown card of what it was trained on."""

from __future__ import annotations

from pathlib import Path

from masksem_core.data.general import HELD_OUT, source_summary
from masksem_core.data.prepared import PreparedData
from masksem_core.engine.checkpoint import (
    CheckpointError,
    checkpoint_config,
    load_checkpoint,
    save_checkpoint,
)

KEPT = ("format", "version", "stage", "config", "layout", "class_names", "epoch", "history")
CURVE_POINTS = 8  # epochs of the loss curve shown in the card


def ship_encoder(checkpoint: str | Path, out: str | Path) -> tuple[Path, Path]:
    """Write the encoder of a pretraining ``checkpoint`` to ``out`` (a checkpoint that
    fine-tuning and the linear probe take as ``--init``) and its card beside it (``.md``)."""
    state = load_checkpoint(checkpoint)
    if state.get("stage") != "pretrain":
        raise CheckpointError(
            f"{checkpoint} is a {state.get('stage')!r} checkpoint; ship the encoder of a "
            "pretraining checkpoint (training/pretrain.py)"
        )
    slim = {key: state[key] for key in KEPT}
    slim["model"] = {k: v for k, v in state["model"].items() if k.startswith("encoder.")}
    out = save_checkpoint(out, slim)
    card = out.with_suffix(".md")
    card.write_text(encoder_card(slim, checkpoint, out))
    return out, card


def loss_curve(history: list[dict]) -> list[str]:
    """A table of the loss at ``CURVE_POINTS`` epochs spread over the run."""
    picks = sorted(
        {round(i * (len(history) - 1) / (CURVE_POINTS - 1)) for i in range(CURVE_POINTS)}
    )
    rows = ["| epoch | loss | velocity | acceleration |", "|---|---|---|---|"]
    for i in picks:
        h = history[i]
        rows.append(
            f"| {h['epoch']} | {h['loss']:.6f} | {h.get('loss_velocity', float('nan')):.6f} | "
            f"{h.get('loss_acceleration', float('nan')):.6f} |"
        )
    return rows


def encoder_card(state: dict, checkpoint: str | Path, out: Path) -> str:
    """What the encoder is, what it saw (samples and hours per source, what was held out),
    how long and with which objective it was trained, and its loss curve."""
    config = checkpoint_config(state, checkpoint)
    prepared = PreparedData(config.data.root)
    split = prepared.split_indices(config.data.train_split)
    sources = source_summary([prepared.samples[i] for i in split], prepared.fps)
    model, data, objective = config.model, config.data, config.pretraining
    hours = sum(entry["hours"] for entry in sources.values())
    parameters = sum(v.numel() for v in state["model"].values())
    wall = state["history"][-1].get("wall_seconds", 0.0) if state["history"] else 0.0
    lines = [
        f"# Encoder card: {out.name}",
        "",
        f"- **What**: a MaskSem-pretrained transformer encoder ({model.depth} blocks, width "
        f"{model.dim}, {model.heads} heads, {parameters:,} parameters), no labels used, layout "
        f"`{state['layout']}` (the joints every layout shares: NTU-25 and MediaPipe-33 reach "
        "them by dropping joints). `--init` it in `training/finetune.py` or "
        "`training/linear_eval.py` on any dataset of a layout with a joint correspondence "
        "(`ntu25`, `kinect_v1_20`): the spatial embedding is mapped to the data's joints.",
        f"- **Training**: {state['epoch']} epochs of the objective masking={objective.masking}, "
        f"target={objective.target}, mask ratio {objective.mask_ratio} on "
        f"{data.window_mode} windows of {data.window} frames, view normalised "
        f"{data.normalise_view}, scale normalised {data.normalise_scale}; batch "
        f"{config.pretrain.batch_size}, lr {config.pretrain.lr}; {wall / 3600:.1f} h on the "
        "machine that trained it.",
        f"- **Data**: `{data.dataset}` (`{data.root}`, split `{data.train_split}`), "
        f"{len(split)} samples, {hours:.2f} h of motion:",
        "",
        "| source | samples | hours | held out (never seen) |",
        "|---|---|---|---|",
        *(
            f"| {name} | {entry['samples']} | {entry['hours']:.3f} | {HELD_OUT.get(name, '')} |"
            for name, entry in sorted(sources.items())
        ),
        "",
        "## Loss curve (π-weighted masked reconstruction, paper eq. 15)",
        "",
        *loss_curve(state["history"]),
        "",
        "## Reproduce",
        "",
        "```bash",
        f"python training/prepare_data.py --dataset general --src ../shared/data --out {data.root}",
        f"python training/pretrain.py --config {config.experiment}",
        f"python training/export_encoder.py --checkpoint {checkpoint} --out {out}",
        "```",
        "",
    ]
    return "\n".join(lines)
