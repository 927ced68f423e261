"""Linear evaluation: a BatchNorm + linear head on the frozen pretrained encoder.

Reports test top-1/top-5 every epoch and writes <output_dir>/linear/summary.json.
"""

from __future__ import annotations

import sys

from masksem_core.engine.run_layout import pretrained_checkpoint
from masksem_core.engine.stage import run_stage
from masksem_core.engine.tasks import linear_probe
from masksem_training.cli_common import base_parser, run_main


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__, argv)
    parser.add_argument(
        "--init",
        metavar="CHECKPOINT",
        help="pretraining checkpoint (default: <output_dir>/pretrain/last.pt)",
    )
    parser.add_argument(
        "--no-init",
        action="store_true",
        help="probe the seeded random initialisation instead (the baseline a pretrained "
        "encoder must beat)",
    )
    args = parser.parse_intermixed_args(argv)

    def body(config, context):
        init = (
            None
            if args.no_init
            else (args.init or config.linear.init or str(pretrained_checkpoint(config)))
        )
        run_stage(linear_probe(config, context, init), args.resume)

    return run_main(args, body)


if __name__ == "__main__":
    sys.exit(main())
