"""Ship a pretrained encoder: its weights as a small checkpoint and a Markdown card beside it.

  python training/export_encoder.py --checkpoint runs/general/pretrain/last.pt \
      --out models/general_encoder.pt

The file starts fine-tuning or the linear probe (--init, or finetune.init in a config) on any
dataset whose layout has a joint correspondence with the encoder's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from masksem_core.export.encoder_card import ship_encoder
from masksem_training.cli_common import report_errors, script_parser


def main(argv: list[str] | None = None) -> int:
    parser = script_parser(__doc__)
    parser.add_argument(
        "--checkpoint", required=True, type=Path, help="a pretraining checkpoint (last.pt)"
    )
    parser.add_argument(
        "--out", required=True, type=Path, help="encoder file to write; its card goes beside it"
    )
    args = parser.parse_args(argv)

    def action() -> None:
        encoder, card = ship_encoder(args.checkpoint, args.out)
        print(f"wrote {encoder} and {card}")

    return report_errors(action)


if __name__ == "__main__":
    sys.exit(main())
