"""Inference latency of the classifier: PyTorch eager vs ONNX Runtime fp32 vs reduced precision.

Prints, for batch 1/2/8 and 1/2 bodies, p50/p90/p99 latency per call, windows/s and the ratio
to PyTorch fp32 measured in the same run, then each variant's agreement with fp32 on real
windows (GTU, ../shared/data/gtu) and the model sizes.

  python bench/inference.py                       # default 8×256 model, random weights
  python bench/inference.py --checkpoint runs/gtu/linear/last.pt
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from masksem_core.data.gtu import read_gtu
from masksem_core.export.export_checkpoint import classifier_from_checkpoint
from masksem_core.export.onnx_export import export_classifier
from masksem_core.export.quantise import quantise_dynamic_int8
from masksem_core.model import ActionClassifier, LinearProbeHead, SkeletonEncoder
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.runtime.preprocess import inference_window
from masksem_core.runtime.session import ActionSession

GTU = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtu"


def percentiles(times: list[float]) -> tuple[float, float, float]:
    p50, p90, p99 = np.percentile(np.array(times) * 1000, [50, 90, 99])
    return float(p50), float(p90), float(p99)


def measure(run, x, iterations: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        run(x)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - start)
    return times


def real_windows(count: int) -> np.ndarray:
    files = sorted(GTU.glob("*/movement*.txt"))
    if not files:
        raise SystemExit(f"no GTU data in {GTU} for the agreement check")
    picks = np.linspace(0, len(files) - 1, count).astype(int)
    return np.stack([inference_window(read_gtu(files[i]).data, "ntu25") for i in picks])


def cpu_name() -> str:
    for line in (
        Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    ):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="classifier checkpoint (default: the "
        "paper-size 8×256 encoder with random weights, 14 classes)",
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--iterations", type=int, default=30, help="timed calls per cell")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 8])
    parser.add_argument("--bodies", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.checkpoint:
        model, _ = classifier_from_checkpoint(args.checkpoint)
    else:
        torch.manual_seed(0)
        model = ActionClassifier(SkeletonEncoder(25), LinearProbeHead(256, 14)).eval()
    enc = model.encoder
    tmp = Path(tempfile.mkdtemp())
    info = ModelInfo(
        tuple(str(i) for i in range(model.num_classes)), "ntu25", enc.window, enc.segment_length
    )
    fp32_path = export_classifier(model, tmp / "model.onnx", info)
    int8_path = quantise_dynamic_int8(fp32_path, tmp / "model.int8.onnx")
    ort_fp32 = ActionSession(fp32_path, threads=args.threads)
    ort_int8 = ActionSession(int8_path, threads=args.threads)

    def torch_fp32(x):
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()

    def torch_bf16(x):
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return model(torch.from_numpy(x)).float().numpy()

    variants = {
        "pytorch fp32": torch_fp32,
        "pytorch bf16 autocast": torch_bf16,
        "ort fp32 (opt all)": ort_fp32.logits,
        "ort int8 dynamic": ort_int8.logits,
    }
    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, threads={args.threads}, torch "
        f"{torch.__version__}, encoder {len(enc.transformer.blocks)}×{enc.dim}, "
        f"{enc.num_tokens} tokens per body, provider {ort_fp32.provider}"
    )
    print(
        f"{'variant':<22} | {'B':>2} | {'M':>2} | {'p50 ms':>8} | {'p90 ms':>8} | "
        f"{'p99 ms':>8} | {'windows/s':>9} | {'× fp32':>6}"
    )
    rng = np.random.default_rng(0)
    for batch in args.batches:
        for bodies in args.bodies:
            x = (rng.normal(size=(batch, bodies, enc.window, enc.num_joints, 3)) * 0.3).astype(
                np.float32
            )
            iterations = max(5, args.iterations // max(1, batch * bodies // 2))
            baseline = None
            for name, run in variants.items():
                p50, p90, p99 = percentiles(measure(run, x, iterations))
                baseline = baseline or p50
                print(
                    f"{name:<22} | {batch:>2} | {bodies:>2} | {p50:>8.1f} | {p90:>8.1f} | "
                    f"{p99:>8.1f} | {batch * 1000 / p50:>9.1f} | {baseline / p50:>6.2f}"
                )
    windows = real_windows(32)
    reference = torch_fp32(windows)
    print(f"\nagreement with PyTorch fp32 on {len(windows)} real GTU windows:")
    print(f"{'variant':<22} | {'max |Δlogit|':>12} | {'same argmax':>11} | {'file MB':>7}")
    sizes = {
        "ort fp32 (opt all)": fp32_path.stat().st_size,
        "ort int8 dynamic": int8_path.stat().st_size,
    }
    for name, run in variants.items():
        got = run(windows)
        size = sizes.get(name)
        print(
            f"{name:<22} | {np.abs(got - reference).max():>12.2e} | "
            f"{(got.argmax(1) == reference.argmax(1)).mean() * 100:>10.1f}% | "
            f"{size / 1e6 if size else float('nan'):>7.2f}"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
