"""Pretraining-step throughput: MaskSem vs MAMP mode of the same code, fp32 and bf16 autocast.

The reference setting of DESIGN §7: 8×256 encoder, 3-layer decoder, mask ratio 0.9, AdamW,
batch 16 × 2 bodies, NTU-25, 120 frames. Prints sequences/s, ms/step, the MaskSem/MAMP cost
ratio and the offline encoder's share (θ forward for the CAM + EMA update) of the MaskSem step.

  python bench/pretrain_step.py --steps 5
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from masksem_core.config import load_experiment
from masksem_core.engine.builders import autocast, build_pretrainer


def time_steps(
    config: dict, layout: str, x: torch.Tensor, steps: int, precision: str = "fp32"
) -> dict:
    """Time ``steps`` optimiser steps (after one warm-up step) of the config's objective on the
    batch ``x`` (B, M, T, V, C): sequences/s, ms/step and the offline encoder's share."""
    torch.manual_seed(0)
    model = build_pretrainer(config, layout)
    model.set_reference(x.flatten(0, 1).mean(0))
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], betas=(0.9, 0.95)
    )
    device = torch.device("cpu")
    semantic = model.offline_encoder is not None
    total = offline = 0.0
    for step in range(steps + 1):
        start = time.perf_counter()
        with autocast(precision, device):
            loss, _ = model(x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema = time.perf_counter()
        model.update_offline_encoder()
        end = time.perf_counter()
        if step:  # the first step warms up allocators and kernels
            total += end - start
            offline += end - ema
            if semantic:  # the CAM's θ forward, timed on its own
                cam = time.perf_counter()
                with autocast(precision, device):
                    model.masking_log_distribution(x)
                offline += time.perf_counter() - cam
    sequences = steps * x.shape[0] * x.shape[1]
    return {"seq_per_s": sequences / total, "ms": 1000 * total / steps, "offline": offline / total}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--bodies", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"pretraining step, 8×256 encoder, 3×256 decoder, batch {args.batch} × {args.bodies} "
        f"bodies, {args.threads} threads, torch {torch.__version__}"
    )
    print("| precision | mode | sequences/s | ms/step | MaskSem ÷ MAMP time | θ share |")
    print("|---|---|---|---|---|---|")
    for precision in args.precisions:
        x = torch.randn(args.batch, args.bodies, 120, 25, 3) * 0.3
        rows = {}
        for preset in ("mamp", "masksem"):
            config = load_experiment("paper", [f"pretraining.preset={preset}"])
            rows[preset] = time_steps(config, "ntu25", x, args.steps, precision)
        ratio = rows["masksem"]["ms"] / rows["mamp"]["ms"]
        for preset, row in rows.items():
            print(
                f"| {precision} | {preset} | {row['seq_per_s']:.1f} | {row['ms']:.0f} | "
                f"{ratio if preset == 'masksem' else 1.0:.2f} | "
                f"{100 * row['offline']:.0f} % |"
            )


if __name__ == "__main__":
    main()
