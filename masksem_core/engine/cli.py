"""Command-line plumbing shared by the training scripts: config + overrides + errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import yaml

from masksem_core.data.sequence import SkeletonFileError
from masksem_core.engine.checkpoint import CheckpointError
from masksem_core.engine.config import DEFAULT_CONFIG, apply_overrides, load_config
from masksem_core.engine.distributed import (
    DistributedContext,
    cleanup_distributed,
    setup_distributed,
)

OVERRIDES_HELP = (
    "dotted overrides of the config, parsed as YAML, e.g. pretrain.epochs=1 "
    "pretrain.lr=5e-4 pretraining.preset=mamp data.num_workers=0"
)
EPILOG = """\
Multi-GPU / multi-node: launch with torchrun, e.g.
  torchrun --nproc_per_node=4 {script} --config ntu60_xsub
(nccl on GPUs, gloo on CPU; batch sizes in the config are totals over all processes).
"""


def base_parser(script: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=script,
        description=description,
        epilog=EPILOG.format(script=script),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        help="experiment config: a YAML path or a name in training/configs "
        f"(default: {DEFAULT_CONFIG}, synthetic data, a few minutes on a CPU)",
    )
    parser.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        default=None,
        metavar="PATH",
        help="continue from a checkpoint (model, optimiser, schedule, scaler, "
        "epoch and RNG states); without PATH, the stage's last.pt",
    )
    parser.add_argument(
        "--device",
        default="auto",
        choices=["auto", "cpu", "cuda"],
        help="auto: CUDA if available, else CPU",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved config (after overrides) and exit",
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help=OVERRIDES_HELP)
    return parser


def resolve_config(args: argparse.Namespace) -> dict:
    return apply_overrides(load_config(args.config), args.overrides)


def run_main(args: argparse.Namespace, body: Callable[[dict, DistributedContext], None]) -> int:
    """Resolve the config, set up distribution, run ``body``; user errors become one line."""
    try:
        config = resolve_config(args)
        if args.print_config:
            print(yaml.safe_dump(config, sort_keys=False))
            return 0
        context = setup_distributed(args.device)
        try:
            body(config, context)
        finally:
            cleanup_distributed()
    except (
        CheckpointError,
        SkeletonFileError,
        FileNotFoundError,
        FileExistsError,
        ValueError,
        KeyError,
        FloatingPointError,
    ) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"error: {message}", file=sys.stderr)
        return 2
    return 0
