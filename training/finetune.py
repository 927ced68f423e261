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

from masksem_core.engine.run_layout import pretrained_checkpoint
from masksem_core.engine.stage import run_stage
from masksem_core.engine.tasks import FineTuning
from masksem_training.cli_common import base_parser, run_main


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__, argv)
    parser.add_argument(
        "--init",
        metavar="CHECKPOINT",
        help="pretrained checkpoint, possibly of another dataset (transfer); "
        "default: <output_dir>/pretrain/last.pt",
    )
    parser.add_argument(
        "--no-init",
        action="store_true",
        help="train from random initialisation (supervised baseline)",
    )
    parser.add_argument(
        "--label-fraction",
        type=float,
        metavar="F",
        help="fine-tune on a class-stratified fraction of the training labels "
        "(0.01 for 1 %%, 0.1 for 10 %%)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the label-fraction subset (report mean ± std over seeds)",
    )
    args = parser.parse_intermixed_args(argv)

    def body(config, context):
        if args.label_fraction is not None:
            finetune = replace(
                config.finetune, label_fraction=args.label_fraction, label_seed=args.seed
            )
            config = replace(config, finetune=finetune)
        init = (
            None
            if args.no_init
            else (args.init or config.finetune.init or str(pretrained_checkpoint(config)))
        )
        run_stage(FineTuning(config, context, init), args.resume)

    return run_main(args, body)


if __name__ == "__main__":
    sys.exit(main())
