"""Fine-tuning of the whole network with an MLP head; also semi-supervised and transfer.

  python training/finetune.py --config ntu60_xsub                        # fine-tune
  python training/finetune.py --config ntu60_xsub --label-fraction 0.01 --seed 1   # 1 % labels
  python training/finetune.py --config pku2_xsub --init runs/ntu60_xsub/pretrain/last.pt  # transfer
  python training/finetune.py --config demo --no-init                     # from scratch

Semi-supervised subsets are class-stratified, seeded and saved to the dataset's splits.json.
"""

from __future__ import annotations

import sys
from dataclasses import replace

from masksem_core.engine.stage import run_stage
from masksem_core.engine.tasks import FineTuning
from masksem_training.cli_common import (
    add_init_options,
    base_parser,
    initialisation,
    non_negative_int,
    run_main,
)


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__, argv)
    add_init_options(parser, "the config's finetune.init, else <output_dir>/pretrain/last.pt")
    parser.add_argument(
        "--label-fraction",
        type=float,
        metavar="F",
        help="fine-tune on a class-stratified fraction of the training labels "
        "(0.01 for 1 %%, 0.1 for 10 %%)",
    )
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        help="the run's seed (initial weights, data order, augmentation) and the "
        "label-fraction subset's: the keys seed and finetune.label_seed (default: the "
        "config's; report mean ± std over seeds)",
    )
    args = parser.parse_intermixed_args(argv)
    if args.seed is not None:  # as overrides, so that --print-config and the summary show it
        args.overrides += [f"seed={args.seed}", f"finetune.label_seed={args.seed}"]

    def body(config, context):
        if args.label_fraction is not None:
            config = replace(
                config, finetune=replace(config.finetune, label_fraction=args.label_fraction)
            )
        config, init, mismatch = initialisation(config, args)
        run_stage(FineTuning(config, context, init, mismatch), args.resume)

    return run_main(args, body)


if __name__ == "__main__":
    sys.exit(main())
