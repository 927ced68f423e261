"""Attention kernels on this machine: PyTorch's SDPA, plain matmuls and chunked matmuls, by dtype,
length and grad.

The measurement behind ``masksem_core.model.attention.preferred_attention_path``: for the
token counts of the reference setting (75 kept tokens of φ at mask ratio 0.9, 750 tokens of θ,
the decoder and fine-tuning; 150 and 300 in between), batch 16 × 8 heads × 32 channels, it
times the forward alone (no grad: θ, inference) and forward + backward (training) of every
kernel and shows which one ``auto`` picks.

  python bench/attention.py
  python bench/attention.py --json
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from machine import describe  # bench/ is the script's folder

from masksem_core.model.attention import KERNELS, preferred_attention_path


def time_kernel(kernel, shape: tuple, dtype: torch.dtype, grad: bool, repeats: int) -> float:
    """Best wall time in ms of ``repeats`` calls (after one warm-up) on random q, k, v."""
    q, k, v = (torch.randn(shape, dtype=dtype, requires_grad=grad) for _ in range(3))
    best = float("inf")
    for i in range(repeats + 1):
        start = time.perf_counter()
        if grad:
            kernel(q, k, v).sum().backward()
        else:
            with torch.no_grad():
                kernel(q, k, v)
        if i:
            best = min(best, time.perf_counter() - start)
    return 1000 * best


def auto_choice(shape: tuple, dtype: torch.dtype, grad: bool) -> str:
    q = torch.empty(shape, dtype=dtype, requires_grad=grad)
    with torch.set_grad_enabled(grad):
        return preferred_attention_path(q)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=3, help="timed calls per cell (best of)")
    parser.add_argument("--lengths", type=int, nargs="+", default=[75, 150, 300, 750])
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for length in args.lengths:
        shape = (16, 8, length, 32)
        for dtype in (torch.float32, torch.bfloat16):
            for grad in (False, True):
                times = {
                    name: time_kernel(kernel, shape, dtype, grad, args.repeats)
                    for name, kernel in KERNELS.items()
                }
                auto = auto_choice(shape, dtype, grad)
                rows.append(
                    {
                        "tokens": length,
                        "dtype": str(dtype).removeprefix("torch."),
                        "pass": "forward+backward" if grad else "forward",
                        **{f"{name}_ms": round(ms, 2) for name, ms in times.items()},
                        "auto": auto,
                        "auto_is_fastest": times[auto] <= min(times.values()) * 1.05,
                    }
                )
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(describe(args.threads))
    print("batch 16 × 8 heads × 32 channels; best of", args.repeats)
    names = list(KERNELS)
    print(
        "| tokens | dtype | pass | "
        + " | ".join(f"{name} ms" for name in names)
        + " | best ÷ SDPA | auto picks | fastest |"
    )
    print("|---|---|---|" + "---|" * (len(names) + 3))
    for r in rows:
        times = [r[f"{name}_ms"] for name in names]
        print(
            f"| {r['tokens']} | {r['dtype']} | {r['pass']} | "
            + " | ".join(f"{ms:.1f}" for ms in times)
            + f" | {min(times) / r['sdpa_ms']:.2f} | {r['auto']} | "
            f"{'yes' if r['auto_is_fastest'] else 'no'} |"
        )


if __name__ == "__main__":
    main()
