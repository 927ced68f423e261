"""Convert a dataset from its original files to the prepared format (data.npy + json).

Examples:
  python training/prepare_data.py --dataset ntu60 --src RAW_DIR --out data/prepared/ntu60
  python training/prepare_data.py --dataset nw_ucla --src ../shared/data/nw_ucla --out prep/ucla
  python training/prepare_data.py --dataset utkinect --src ../shared/data/utkinect --out prep/utk
  python training/prepare_data.py --dataset recordings --src my_recordings --out prep/mine \
      --val-subjects alice --test-subjects bob,carol
  python training/prepare_data.py --dataset demo --out data/prepared/demo
  python training/prepare_data.py --export-pyskl ntu60.pkl --src data/prepared/ntu60
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from masksem_core.data.datasets import SPECS
from masksem_core.data.prepare import (
    PreparationReport,
    prepare_dataset,
    prepare_demo_dataset,
    prepared_to_pyskl,
)
from masksem_core.errors import DataError
from masksem_core.skeleton import LAYOUTS
from masksem_training.cli_common import report_errors, script_parser

DATASETS = [*sorted(SPECS), "recordings", "rosbag", "pyskl", "demo"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = script_parser(__doc__)
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        help="source format: NTU RGB+D 60/120 raw .skeleton, PKU-MMD phase I/II "
        "(skeleton + label folders and the published split files; pku1/pku2: the labelled "
        "clips, pku1_stream/pku2_stream: whole videos with their labelled intervals, for "
        "stream windows and the streaming evaluation), NW-UCLA json, "
        "GTU txt, UTKinect-Action3D recordings (joints_sSS_eEE.txt + actionLabel.txt), "
        "your own continuous recordings (a folder with recordings.yaml; README, 'Your own "
        "recordings'), ROS 2 bags of BodyArray or PoseArray messages with a labels file "
        "(rosbag: --src a bag or a folder of bags, --labels; README, 'Bags as recordings'), "
        "the general pretraining corpus of every real source (general: --src "
        "holds nw_ucla/, gtu/, utkinect/, ntu_samples/), "
        "a pyskl annotation pickle, or the synthetic demo data",
    )
    parser.add_argument(
        "--src",
        type=Path,
        help="folder (or pyskl .pkl file) holding the original files; with "
        "--export-pyskl, the prepared directory to export",
    )
    parser.add_argument("--out", type=Path, help="prepared dataset directory to create")
    parser.add_argument(
        "--workers",
        type=int,
        default=max(1, (os.cpu_count() or 1)),
        help="parallel parsing processes (default: all cores)",
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        default=300,
        help="frames stored per sample; longer sequences are resampled to it",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace --out if it exists (atomically, once the new one is done)",
    )
    parser.add_argument(
        "--demo-samples-per-class",
        type=int,
        default=60,
        help="size of the synthetic demo dataset (with --dataset demo)",
    )
    parser.add_argument(
        "--val-subjects",
        type=subject_list,
        help="recordings and utkinect: the subjects (comma-separated) whose recordings form the "
        "'val' split (settings, calibration; utkinect default: 4,5)",
    )
    parser.add_argument(
        "--test-subjects",
        type=subject_list,
        help="recordings and utkinect: the subjects of the 'test' split (report it once); "
        "'train' holds every other subject",
    )
    parser.add_argument(
        "--export-pyskl",
        type=Path,
        metavar="FILE.pkl",
        help="instead of preparing, export the prepared --src to a pyskl pickle",
    )
    parser.add_argument(
        "--layout",
        choices=sorted(LAYOUTS),
        help="pyskl: the skeleton layout of the keypoints (default: the layout with that many "
        "joints; the README lists each layout's joint order); rosbag: the joints' layout when "
        "the labels file does not name it",
    )
    parser.add_argument(
        "--joint-order",
        metavar="NAMES",
        help="pyskl: the keypoints' joint order as comma-separated layout joint names, mapped "
        "to the layout's order (default: the pickle's 'joint_order', else the layout's order)",
    )
    parser.add_argument(
        "--class-names",
        type=Path,
        metavar="FILE",
        help="pyskl: a text file with one class name per line, label 0 first (default: the "
        "pickle's 'label_names', else class_000, class_001, …)",
    )
    parser.add_argument(
        "--fps",
        type=float,
        help="pyskl only: frames per second of the sequences (default 30); stream-mode "
        "training and the streaming evaluation play them at this rate",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        metavar="YAML",
        help="rosbag: the recordings' labels (classes; per recording bag, id, subject and "
        "[name, start, end] on the bag's clock)",
    )
    parser.add_argument(
        "--skip-bad-labels",
        action="store_true",
        help="recordings with labels (utkinect): prepare without a take whose label is wrong "
        "(each printed, in words) instead of refusing with exit 2",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.export_pyskl is None and (args.dataset is None or args.out is None):
        parser.error("--dataset and --out are required (or use --export-pyskl with --src)")
    if args.dataset not in (None, "demo") and args.src is None:
        parser.error(f"--src is required for --dataset {args.dataset}")
    return args


def read_class_names(path: Path) -> list[str]:
    names = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not names:
        raise DataError(f"--class-names {path} holds no names (one per line)")
    return names


def subject_list(text: str) -> list[str]:
    """``4,5`` → ["4", "5"] (subject names as written in the recordings)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} names no subject")
    return names


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return report_errors(lambda: prepare(args))


def prepare(args: argparse.Namespace) -> None:
    """Write the prepared dataset (or the pyskl pickle) that ``args`` ask for."""
    if args.export_pyskl is not None:
        print(f"wrote {prepared_to_pyskl(args.src, args.export_pyskl)}")
        return
    if args.dataset == "demo":
        prepare_demo_dataset(args.out, args.demo_samples_per_class, overwrite=args.overwrite)
        report = PreparationReport("demo", args.out)
    else:
        report = prepare_dataset(
            args.dataset,
            args.src,
            args.out,
            args.workers,
            args.max_frames,
            args.overwrite,
            progress=not args.quiet,
            layout=args.layout,
            joint_order=args.joint_order.split(",") if args.joint_order else None,
            class_names=read_class_names(args.class_names) if args.class_names else None,
            fps=args.fps,
            val_subjects=args.val_subjects,
            test_subjects=args.test_subjects,
            skip_bad_labels=args.skip_bad_labels,
            labels=args.labels,
        )
    print(report.summary())


if __name__ == "__main__":
    sys.exit(main())
