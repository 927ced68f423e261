"""What a benchmark ran on: CPU model, cores, ISA features that decide low-precision speed."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

FEATURES = ("avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8")


def cpu_info() -> tuple[str, list[str]]:
    """CPU model name and the low-precision ISA flags it reports (Linux; else the platform)."""
    cpuinfo = Path("/proc/cpuinfo")
    name, flags = platform.processor() or platform.machine(), []
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                present = set(line.split(":", 1)[1].split())
                flags = [f for f in FEATURES if f in present]
                break
    return name, flags


def cpu_name() -> str:
    return cpu_info()[0]


def describe(threads: int) -> str:
    """One line: CPU, its bf16/int8 features, cores, threads used, torch version, and the GPU
    where there is one."""
    name, flags = cpu_info()
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (
        f"machine: {name} ({', '.join(flags) or 'no AVX-512/AMX'}), {os.cpu_count()} cores, "
        f"{threads} threads, torch {torch.__version__}{gpu}"
    )
