"""Self-supervised MaskSem pretraining, then (by default for the demo) linear evaluation.

With no arguments this runs the demo experiment end to end on synthetic data: pretraining,
then a linear probe on the frozen encoder, printing top-1/top-5 accuracy.
"""

from __future__ import annotations

import sys

from masksem_core.engine.stage import run_stage
from masksem_core.engine.tasks import Pretraining, linear_probe
from masksem_training.cli_common import base_parser, run_main


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__, argv)
    parser.add_argument(
        "--init",
        metavar="CHECKPOINT",
        help="start from another pretraining checkpoint with a fresh optimiser and schedule, "
        "e.g. two-stage MaskSem: --init runs/X/pretrain/last.pt pretraining.preset=masksem "
        "after a pretraining.preset=mamp run",
    )
    parser.add_argument(
        "--linear-eval",
        dest="linear_eval",
        action="store_true",
        default=None,
        help="run linear evaluation after pretraining (default: the config's "
        "pretrain.then_linear_eval)",
    )
    parser.add_argument(
        "--no-linear-eval", dest="linear_eval", action="store_false", help="stop after pretraining"
    )
    args = parser.parse_intermixed_args(argv)

    def body(config, context):
        pretrained = run_stage(Pretraining(config, context, args.init), args.resume)
        then_linear = (
            config.pretrain.then_linear_eval if args.linear_eval is None else args.linear_eval
        )
        if then_linear:
            run_stage(linear_probe(config, context, pretrained.checkpoint))

    return run_main(args, body)


if __name__ == "__main__":
    sys.exit(main())
