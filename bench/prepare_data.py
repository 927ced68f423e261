"""Throughput of NTU raw-file preparation: seconds per 1,000 files for 1 and N workers.

Uses the real NTU samples in ../shared/data/ntu_samples, copied under distinct names to reach
``--files`` files (NTU-120 has 114,480), and prints a table with the projected full-NTU-120 time.

  python bench/prepare_data.py --files 1200
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from masksem_core.data.prepare import prepare_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "ntu_samples"
NTU120_FILES = 114_480


def make_copies(src: Path, dst: Path, count: int) -> None:
    samples = sorted(src.glob("*.skeleton"))
    if not samples:
        raise SystemExit(f"no NTU samples in {src}")
    for i in range(count):
        sample = samples[i % len(samples)]
        name = sample.name
        performer = 1 + i // len(samples) % 999
        new = name[:8] + f"P{performer:03d}" + f"R{1 + i // (len(samples) * 999):03d}" + name[16:]
        shutil.copyfile(sample, dst / new)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1200, help="number of .skeleton files")
    parser.add_argument("--src", type=Path, default=SHARED, help="folder of NTU samples")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "raw"
        src.mkdir()
        make_copies(args.src, src, args.files)
        rows = []
        for workers in sorted({1, cores}):
            report = prepare_dataset(
                "ntu120", src, Path(tmp) / f"out{workers}", workers=workers, progress=False
            )
            rows.append((workers, report))
    base = rows[0][1].seconds_per_1000_files
    print(f"NTU raw .skeleton preparation, {args.files} files, {cores} cores")
    print(
        f"{'workers':>7} | {'s / 1,000 files':>15} | {'files / s':>9} | "
        f"{'speed-up':>8} | {'NTU-120 (114,480) min':>21}"
    )
    for workers, report in rows:
        per_k = report.seconds_per_1000_files
        print(
            f"{workers:>7} | {per_k:>15.2f} | {1000 / per_k:>9.1f} | {base / per_k:>8.2f} | "
            f"{per_k * NTU120_FILES / 1000 / 60:>21.1f}"
        )


if __name__ == "__main__":
    main()
