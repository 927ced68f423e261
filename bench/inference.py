"""Inference latency of the classifier: PyTorch and ONNX Runtime variants against PyTorch fp32.

Prints, for each batch × bodies cell, p50/p90/p99 latency per call, windows/s and the ratio to
PyTorch fp32 measured in the same run; then each variant's agreement with PyTorch fp32 on real
GTU windows (../shared/data/gtu: argmax agreement and max |Δlogit|) and the file sizes.

The default model is the paper-size 8×256 encoder (seeded random weights) with a linear head
fitted on its frozen features of real GTU windows, so that the agreement check compares
decisions with real margins; ``--checkpoint`` takes a trained classifier instead. Static int8 is
calibrated on GTU windows disjoint from those of the agreement check.

  python bench/inference.py                      # the table
  python bench/inference.py --json               # one JSON object per row
  python bench/inference.py --checkpoint runs/gtu_deploy/finetune/last.pt
  python bench/inference.py --profile            # + where the fastest ORT variant spends its time
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from machine import describe  # bench/ is the script's folder
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from masksem_core.data.gtu import read_gtu
from masksem_core.export.export_checkpoint import classifier_from_checkpoint
from masksem_core.export.onnx_export import export_classifier
from masksem_core.export.quantise import quantise_dynamic_int8
from masksem_core.model import ActionClassifier, LinearProbeHead, SkeletonEncoder
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.runtime.session import ActionSession
from masksem_core.window_spec import WindowSpec

GTU = Path(__file__).resolve().parents[2] / "shared" / "data" / "gtu"


def percentiles(times: list[float]) -> tuple[float, float, float]:
    p50, p90, p99 = np.percentile(np.array(times) * 1000, [50, 90, 99])
    return float(p50), float(p90), float(p99)


def measure(run: Callable, x: np.ndarray, iterations: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        run(x)
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - start)
    return times


def gtu_windows() -> tuple[np.ndarray, np.ndarray]:
    """Every GTU sequence as a (1, 120, 25, 3) inference window, in a seeded random order."""
    files = sorted(GTU.glob("*/movement*.txt"))
    if not files:
        raise SystemExit(f"no GTU data in {GTU}: the agreement check needs real windows")
    order = np.random.default_rng(0).permutation(len(files))
    sequences = [read_gtu(files[i]) for i in order]
    windows = np.stack([WindowSpec("ntu25").from_clip(s.data) for s in sequences])
    return windows.astype(np.float32), np.array([s.label for s in sequences])


def paper_size_classifier(windows: np.ndarray, labels: np.ndarray) -> ActionClassifier:
    """8×256 encoder (seed 0) + linear head fitted on its frozen features of ``windows``
    (256 GTU windows)."""
    torch.manual_seed(0)
    model = ActionClassifier(SkeletonEncoder(25), LinearProbeHead(256, 14))
    with torch.no_grad():
        features = torch.cat(
            [
                model.head.pool(model.features(torch.from_numpy(w)))
                for w in np.array_split(windows, 8)
            ]
        )
    optimizer = torch.optim.Adam(model.head.parameters(), lr=1e-2)
    target = torch.from_numpy(labels)
    model.head.train()
    for _ in range(300):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model.head.classify(features), target).backward()
        optimizer.step()
    return model.eval()


def operator_profile(path: Path, x: np.ndarray, threads: int, runs: int) -> dict[str, float]:
    """ms per call spent in each ONNX operator type of ``path`` on ``x`` (ONNX Runtime's
    profiler, CPU provider, 3 warm-up runs left out), largest first."""
    warmup = 3
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.enable_profiling = True
    options.profile_file_prefix = str(path.with_suffix(""))
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    for _ in range(warmup + runs):
        session.run(None, feed)
    trace = Path(session.end_profiling())
    events = json.loads(trace.read_text())
    trace.unlink()
    model_runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])
    timed = model_runs[warmup:]
    totals: dict[str, float] = defaultdict(float)
    for event in events:
        if (
            event.get("cat") == "Node"
            and event["name"].endswith("_kernel_time")
            and event["ts"] >= timed[0]["ts"]
        ):
            totals[event["args"]["op_name"]] += event["dur"] / 1000 / len(timed)
    totals["(whole run, p50)"] = float(np.median([e["dur"] for e in timed])) / 1000
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


class Calibration(CalibrationDataReader):
    def __init__(self, windows: np.ndarray) -> None:
        self.windows = iter(windows)

    def get_next(self) -> dict | None:
        window = next(self.windows, None)
        return None if window is None else {"skeleton": window[None]}


def quantise_static_int8(src: Path, out: Path, calibration: np.ndarray) -> Path:
    """Static int8 QDQ (u8 activations, per-channel s8 weights, min-max calibration) of every
    MatMul, the attention products included; MatMul outputs stay fp32 so Softmax does too."""
    prepared = out.with_suffix(".pre.onnx")
    quant_pre_process(str(src), str(prepared))
    quantize_static(
        str(prepared),
        str(out),
        Calibration(calibration),
        quant_format=QuantFormat.QDQ,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        per_channel=True,
        op_types_to_quantize=["MatMul", "Gemm"],
        extra_options={"OpTypesToExcludeOutputQuantization": ["MatMul", "Gemm"]},
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", type=Path, help="trained classifier checkpoint")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--iterations", type=int, default=30, help="timed calls per cell")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 2, 8])
    parser.add_argument("--bodies", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", action="store_true", help="print one JSON object per row")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile the fastest ONNX Runtime variant (B=1, M=1) by operator type",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    windows, labels = gtu_windows()
    calibration, check, fit = windows[:32], windows[32:192], windows[192:448]
    if args.checkpoint:
        model, _ = classifier_from_checkpoint(args.checkpoint)
    else:
        model = paper_size_classifier(fit, labels[192:448])
    enc = model.encoder
    model_name = f"{len(enc.transformer.blocks)}x{enc.dim}"
    tmp = Path(tempfile.mkdtemp())
    info = ModelInfo(
        tuple(str(i) for i in range(model.num_classes)),
        WindowSpec("ntu25", frames=enc.window),
        enc.segment_length,
    )
    files = {}
    for attention in ("standard", "fused"):
        path = export_classifier(model, tmp / f"{attention}.onnx", info, attention=attention)
        files[f"ort fp32 {attention}"] = path
        files[f"ort int8 dynamic {attention}"] = quantise_dynamic_int8(
            path, tmp / f"{attention}.int8.onnx"
        )
    files["ort int8 static standard"] = quantise_static_int8(
        files["ort fp32 standard"], tmp / "standard.qdq.onnx", calibration
    )
    bf16_model = copy.deepcopy(model).to(torch.bfloat16).eval()

    def torch_fp32(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()

    def torch_bf16_autocast(x: np.ndarray) -> np.ndarray:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return model(torch.from_numpy(x)).float().numpy()

    def torch_bf16_weights(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return bf16_model(torch.from_numpy(x).to(torch.bfloat16)).float().numpy()

    variants: dict[str, Callable] = {
        "pytorch fp32": torch_fp32,
        "pytorch bf16 autocast": torch_bf16_autocast,
        "pytorch bf16 weights": torch_bf16_weights,
    }
    for name, path in files.items():
        variants[name] = ActionSession(path, threads=args.threads).logits
    reference = torch_fp32(check)
    agreement = {}
    for name, run in variants.items():
        got = np.concatenate([run(w) for w in np.array_split(check, 8)])
        agreement[name] = (
            float((got.argmax(1) == reference.argmax(1)).mean()),
            float(np.abs(got - reference).max()),
        )
    rows = []
    rng = np.random.default_rng(0)
    for batch in args.batches:
        for bodies in args.bodies:
            x = windows[rng.integers(0, len(windows), batch)]  # (B, 1, T, V, C)
            x = np.concatenate([x] * bodies, axis=1) if bodies > 1 else x
            iterations = max(5, args.iterations // max(1, batch * bodies // 2))
            for name, run in variants.items():
                p50, p90, p99 = percentiles(measure(run, x, iterations))
                rows.append(
                    {
                        "model": model_name,
                        "variant": name,
                        "batch": batch,
                        "bodies": bodies,
                        "threads": args.threads,
                        "p50_ms": round(p50, 2),
                        "p90_ms": round(p90, 2),
                        "p99_ms": round(p99, 2),
                        "argmax_agreement": round(agreement[name][0], 4),
                    }
                )
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(describe(args.threads))
    print(
        f"model {model_name}, {enc.num_tokens} tokens per body, "
        + ("checkpoint " + str(args.checkpoint) if args.checkpoint else "head fitted on GTU")
    )
    print("| variant | B | M | p50 ms | p90 ms | p99 ms | windows/s | × PyTorch fp32 |")
    print("|---|---|---|---|---|---|---|---|")
    baseline = {}
    for row in rows:
        cell = (row["batch"], row["bodies"])
        baseline.setdefault(cell, row["p50_ms"])
        print(
            f"| {row['variant']} | {row['batch']} | {row['bodies']} | {row['p50_ms']:.1f} | "
            f"{row['p90_ms']:.1f} | {row['p99_ms']:.1f} | "
            f"{row['batch'] * 1000 / row['p50_ms']:.1f} | {baseline[cell] / row['p50_ms']:.2f} |"
        )
    unused = "to calibrate" if args.checkpoint else "to fit the head or to calibrate"
    print(f"\nagreement with PyTorch fp32 on {len(check)} real GTU windows (not used {unused}):")
    print("| variant | same argmax | max abs Δlogit | file MB |")
    print("|---|---|---|---|")
    for name, (same, diff) in agreement.items():
        size = files[name].stat().st_size / 1e6 if name in files else float("nan")
        print(f"| {name} | {100 * same:.1f} % | {diff:.2e} | {size:.2f} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory of this process: {peak:.0f} MB")
    if args.profile:
        single = [r for r in rows if (r["batch"], r["bodies"]) == (1, 1) and r["variant"] in files]
        fastest = min(single, key=lambda r: r["p50_ms"])["variant"]
        profile = operator_profile(files[fastest], windows[:1], args.threads, args.iterations)
        whole = profile["(whole run, p50)"]
        print(f"\nwhere {fastest} spends its time (B=1, M=1, ONNX Runtime profiler):")
        print("| operator | ms per call | share of the run |")
        print("|---|---|---|")
        for op, ms in profile.items():
            print(f"| {op} | {ms:.2f} | {100 * ms / whole:.0f} % |")


if __name__ == "__main__":
    main()
