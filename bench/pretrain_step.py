"""Pretraining-step throughput: MAMP mode vs MaskSem of the same code, fp32 and bf16 autocast.

The reference setting of DESIGN §7: 8×256 encoder, 3-layer decoder, mask ratio 0.9, AdamW,
batch 16 × 2 bodies, NTU-25, 120 frames, on windows of the real NTU files in ../shared/data
(5 of the 6 are one-person actions with an empty second body, as 49 of NTU-60's 60 classes).
For every precision and objective it times the step as shipped (attention kernel chosen by
device and dtype, fused AdamW) and, as the baseline in the same run, the previous
implementation (SDPA everywhere, PyTorch's per-parameter AdamW loop, θ's CAM forward under
autocast instead of in bf16 throughout).
Prints sequences/s, ms/step, the bf16 ÷ fp32 gain, the MaskSem ÷ MAMP cost, the offline
encoder's share of the MaskSem step (θ forward for the CAM + EMA update), and the CAM forward
as shipped beside θ run over every body and S̄ separately (the cost before absent bodies were
shared).

  python bench/pretrain_step.py --steps 4
  python bench/pretrain_step.py --json          # one JSON object per row
  python bench/pretrain_step.py --device cuda   # on a GPU (timed after CUDA synchronisation)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from pathlib import Path
from unittest import mock

import numpy as np
import torch
from machine import describe  # bench/ is the script's folder

from masksem_core.config import load_experiment
from masksem_core.data.ntu import read_ntu_skeleton
from masksem_core.engine.builders import build_pretrainer
from masksem_core.engine.precision import autocast
from masksem_core.engine.schedule import build_adamw, parameter_groups
from masksem_core.model.transformer import attention_path
from masksem_core.pretraining import gradcam
from masksem_core.window_spec import WindowSpec

NTU_SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "data" / "ntu_samples"

IMPLEMENTATIONS = {
    "shipped": "auto attention kernel, fused AdamW",
    "baseline": "SDPA attention, per-parameter AdamW loop, θ's CAM forward under autocast",
}


def real_ntu_batch(batch: int) -> torch.Tensor:
    """(B, 2, 120, 25, 3) windows of the real NTU files, cycling over them."""
    files = sorted(NTU_SAMPLES.glob("*.skeleton"))
    if not files:
        raise SystemExit(f"no NTU .skeleton files in {NTU_SAMPLES}: the benchmark uses real data")
    windows = [WindowSpec("ntu25").from_clip(read_ntu_skeleton(f).data) for f in files]
    return torch.from_numpy(np.stack([windows[i % len(windows)] for i in range(batch)]))


def build_step(mode: str, implementation: str, x: torch.Tensor):
    """The model (on ``x``'s device), its optimiser and the attention context of one row."""
    torch.manual_seed(0)
    config = load_experiment("paper", [f"pretraining.preset={mode}"])
    model = build_pretrainer(config, "ntu25").to(x.device)
    model.set_reference(x.flatten(0, 1).mean(0))
    groups = parameter_groups(model, 0.05)
    if implementation == "shipped":
        return model, build_adamw(groups, 1e-4, (0.9, 0.95)), contextlib.nullcontext()
    optimizer = torch.optim.AdamW(groups, lr=1e-4, betas=(0.9, 0.95), foreach=False)
    previous = contextlib.ExitStack()
    previous.enter_context(attention_path(model, "sdpa"))
    previous.enter_context(mock.patch.object(gradcam, "bf16_forward", lambda module, x: module(x)))
    return model, optimizer, previous


def clock(device: torch.device) -> float:
    """perf_counter after the device's queued work has finished (CUDA runs asynchronously)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def time_steps(mode: str, implementation: str, x: torch.Tensor, steps: int, precision: str) -> dict:
    """Best of two repetitions of ``steps`` optimiser steps (after one warm-up step) on the batch
    ``x`` (B, M, T, V, C): sequences/s, ms/step and the offline encoder's share of the step."""
    model, optimizer, kernels = build_step(mode, implementation, x)
    device = x.device
    semantic = model.offline_encoder is not None
    best = None
    with kernels:
        for repetition in range(2):
            total = offline = cam_only = every_body = 0.0
            for step in range(steps + (repetition == 0)):
                start = clock(device)
                with autocast(precision, device):
                    loss, _ = model(x)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                ema = clock(device)
                model.update_offline_encoder()
                end = clock(device)
                if repetition == 0 and step == 0:  # warms up allocators and kernels
                    continue
                total += end - start
                offline += end - ema
                if semantic:  # the CAM's θ forward, timed on its own outside the step
                    cam = clock(device)
                    with autocast(precision, device):
                        model.masking_log_distribution(x)
                    cam_only += clock(device) - cam
                    # θ over every body and S̄ separately, as before the sharing of absent bodies
                    cam = clock(device)
                    with autocast(precision, device), torch.no_grad():
                        gradcam.bf16_forward(model.offline_encoder, x.flatten(0, 1))
                        gradcam.bf16_forward(model.offline_encoder, model.reference[None])
                    every_body += clock(device) - cam
            if best is None or total < best[0]:
                best = (total, offline + cam_only, cam_only, every_body)
    total, offline, cam_only, every_body = best
    return {
        "ms_per_step": 1000 * total / steps,
        "seq_per_s": steps * x.shape[0] * x.shape[1] / total,
        "theta_share": offline / total if semantic else 0.0,
        "cam_forward_ms": 1000 * cam_only / steps if semantic else 0.0,
        "theta_every_body_ms": 1000 * every_body / steps if semantic else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=4, help="timed steps per repetition")
    parser.add_argument("--batch", type=int, default=16, help="sequences per batch")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument(
        "--implementations",
        nargs="+",
        default=list(IMPLEMENTATIONS),
        choices=list(IMPLEMENTATIONS),
        help="; ".join(f"{k}: {v}" for k, v in IMPLEMENTATIONS.items()),
    )
    parser.add_argument(
        "--device", choices=["cpu", "cuda"], default="cpu", help="where the steps run"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA GPU (a CPU build of torch, or no driver)")
    x = real_ntu_batch(args.batch).to(args.device)  # (B, 2, T, V, C)
    empty = float(x.flatten(2).eq(0).all(dim=2).float().mean())
    rows = []
    for implementation in args.implementations:
        for precision in args.precisions:
            for mode in ("mamp", "masksem"):
                row = time_steps(mode, implementation, x, args.steps, precision)
                rows.append(
                    {
                        "device": args.device,
                        "precision": precision,
                        "mode": mode,
                        "implementation": implementation,
                        **row,
                    }
                )
    if args.json:
        for row in rows:
            print(
                json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()})
            )
        return
    print(describe(args.threads))
    print(
        f"pretraining step, 8×256 encoder, 3×256 decoder, mask ratio 0.9, batch "
        f"{args.batch} × 2 bodies ({100 * empty:.0f} % empty), best of 2 × {args.steps} steps"
    )
    print(
        "| implementation | precision | mode | sequences/s | ms/step | bf16 ÷ fp32 speed | "
        "MaskSem ÷ MAMP time | θ share (CAM forward + EMA) | CAM forward ms | θ over every "
        "body ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    index = {(r["implementation"], r["precision"], r["mode"]): r for r in rows}
    for row in rows:
        fp32 = index.get((row["implementation"], "fp32", row["mode"]))
        mamp = index[(row["implementation"], row["precision"], "mamp")]
        gain = fp32["ms_per_step"] / row["ms_per_step"] if fp32 else float("nan")
        print(
            f"| {row['implementation']} | {row['precision']} | {row['mode']} | "
            f"{row['seq_per_s']:.2f} | {row['ms_per_step']:.0f} | {gain:.2f} | "
            f"{row['ms_per_step'] / mamp['ms_per_step']:.2f} | "
            f"{100 * row['theta_share']:.0f} % | {row['cam_forward_ms']:.0f} | "
            f"{row['theta_every_body_ms']:.0f} |"
        )


if __name__ == "__main__":
    main()
