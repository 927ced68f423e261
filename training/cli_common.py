"""What the training scripts share: the parser (config, overrides, generated help), the typed
config, distribution set-up and the one place that turns errors into messages and exit codes."""

from __future__ import annotations

import argparse
import logging
import os
import select
import sys
from collections.abc import Callable
from dataclasses import replace

import yaml

from masksem_core.config import (
    DEFAULT_CONFIG,
    ExperimentConfig,
    describe,
    describe_presets,
    load_experiment,
    shipped_configs,
)
from masksem_core.engine.distributed import (
    DistributedContext,
    cleanup_distributed,
    setup_distributed,
)
from masksem_core.errors import MaskSemError

USER_ERROR = 2  # bad config, data, checkpoint or model file: a one-line message
PIPE_CLOSED = 141  # the reader of stdout went away (e.g. `| head`): the shell's code for SIGPIPE
OVERRIDES_HELP = (
    "dotted overrides of any setting below, parsed as YAML, e.g. pretrain.epochs=1 "
    "pretrain.lr=5e-4 pretraining.preset=mamp pretraining.reference=batch"
)
EPILOG = """\
Presets of the objective (pretraining.preset=NAME; other pretraining.* settings override them):
{presets}

Every setting of --config {config} (section.key = value  meaning [choices]); override any of
them as KEY=VALUE:
{settings}

Multi-GPU / multi-node: launch with torchrun, e.g.
  torchrun --nproc_per_node=4 {script} --config ntu60_xsub
(nccl on GPUs, gloo on CPU; batch sizes are totals over all processes).
"""


def program_name() -> str:
    """How the user called the script: ``training/pretrain.py`` in a checkout, the console
    script's name (``masksem-pretrain``) when installed."""
    called = sys.argv[0]
    return called if called.endswith(".py") else os.path.basename(called)


def script_parser(description: str) -> argparse.ArgumentParser:
    """The parser of a command without an experiment config: its name as the user called it,
    its docstring as the help."""
    return argparse.ArgumentParser(
        prog=program_name(),
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def chosen_config(argv: list[str] | None) -> ExperimentConfig:
    """The config the command line selects (its ``--config`` and overrides), so that ``--help``
    shows the values that would run; the built-in defaults when they cannot be read."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--config", default=DEFAULT_CONFIG)
    known, rest = early.parse_known_args(argv)
    overrides = [item for item in rest if "=" in item and not item.startswith("-")]
    try:
        return load_experiment(known.config, overrides)
    except MaskSemError:
        return ExperimentConfig()


def base_parser(description: str, argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser every training command shares; ``argv`` (default: the command line) chooses
    the config whose values ``--help`` lists."""
    script = program_name()
    config = chosen_config(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog=script,
        description=description,
        epilog=EPILOG.format(
            script=script,
            config=config.experiment,
            presets="\n".join(describe_presets()),
            settings="\n".join("  " + line for line in describe(config)),
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        default=DEFAULT_CONFIG,
        help=f"experiment config: a YAML path or a shipped name ({', '.join(shipped_configs())}; "
        f"default: {DEFAULT_CONFIG}, synthetic data, under two minutes on 2 CPU cores). A YAML "
        "file of your own can extend a shipped one with 'base: NAME'",
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
        "--threads", type=int, help="torch CPU threads (overrides the config's threads)"
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved config (after overrides) and exit",
    )
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help=OVERRIDES_HELP)
    return parser


def add_init_options(parser: argparse.ArgumentParser, default: str) -> None:
    """Where a fine-tune starts: ``--init``, ``--no-init`` (the same architecture, random
    weights) and ``--allow-input-mismatch`` (finetune.py, crossval.py)."""
    parser.add_argument(
        "--init",
        metavar="CHECKPOINT",
        help=f"pretrained checkpoint, possibly of another dataset (transfer); default: {default}",
    )
    parser.add_argument(
        "--no-init",
        action="store_true",
        help="train from random initialisation (the supervised baseline) with the architecture "
        "of --init when given, else of the default init (its checkpoint's), so that the "
        "from-scratch twin is the same model",
    )
    parser.add_argument(
        "--allow-input-mismatch",
        action="store_true",
        help="fine-tune although the data settings that decide the encoder's input "
        "(data.normalise_view, data.normalise_scale, data.window) differ from its "
        "pretraining's (refused otherwise; recorded in the checkpoint and model card)",
    )


def initialisation(config, args: argparse.Namespace):
    """(config with the architecture that loads, init checkpoint or None, allowed input
    mismatches) for ``args`` of :func:`add_init_options`; model.* values set on the command
    line must agree with the init's architecture."""
    from masksem_core.engine.initialisation import resolve_initialisation

    keys = {item.split("=", 1)[0] for item in args.overrides if "=" in item}
    explicit = {
        key.split(".", 1)[1]: getattr(config.model, key.split(".", 1)[1])
        for key in keys
        if key.startswith("model.")
    }
    return resolve_initialisation(
        config, args.init, args.no_init, explicit, args.allow_input_mismatch
    )


def non_negative_int(text: str) -> int:
    """An integer ≥ 0 (a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; a seed is an integer ≥ 0")
    return value


def add_calibration_options(parser: argparse.ArgumentParser, windows: str) -> None:
    """``--target-false-alarm`` and ``--decision-rule`` of a stream-mode model's calibration on
    ``windows`` (export_onnx.py, crossval.py)."""
    from masksem_core.runtime.decision_rule import DECISION_RULES

    parser.add_argument(
        "--target-false-alarm",
        type=float,
        default=0.02,
        help=f"the decision threshold is chosen on {windows} so that at most this share of "
        "their idle windows name an action (default 0.02); stored in the model with the "
        "fitted temperature",
    )
    parser.add_argument(
        "--decision-rule",
        choices=DECISION_RULES,
        default="action_mass",
        help="how a calibrated model's probabilities name an action: action_mass (default; "
        "an action happens when 1 - p(no action) reaches the threshold, and it is the most "
        "probable action) or top_class (the most probable class, when its probability reaches "
        "the threshold and it is not 'no action'); chosen on GTU's validation split (README)",
    )


def resolve_config(args: argparse.Namespace) -> ExperimentConfig:
    config = load_experiment(args.config, args.overrides)
    return config if args.threads is None else replace(config, threads=args.threads)


def stdout_reader_gone() -> bool:
    """True when stdout is a pipe whose reader has exited (``| head``): the pipe reports an
    error to poll, so a BrokenPipeError from anything else (a socket, a worker) is not hidden."""
    poller = select.poll()
    poller.register(sys.stdout.fileno(), select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def report_errors(action: Callable[[], int | None]) -> int:
    """Run ``action`` (it returns nothing or an exit code); a ``MaskSemError`` becomes one line
    on stderr and its ``exit_code``, a missing or existing file and a loss that is no longer
    finite exit code 2. A closed stdout (``| head``) ends quietly. Anything else is a bug and
    keeps its traceback. The one place where the scripts turn errors into exit codes."""
    try:
        code = action() or 0
        sys.stdout.flush()
    except (MaskSemError, FileNotFoundError, FileExistsError, FloatingPointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return getattr(err, "exit_code", USER_ERROR)
    except BrokenPipeError:
        if not stdout_reader_gone():
            raise
        # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return PIPE_CLOSED
    return code


def show_library_messages() -> None:
    """The library reports progress through ``logging``; the scripts show it as plain lines."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger("masksem_core")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def run_main(
    args: argparse.Namespace, body: Callable[[ExperimentConfig, DistributedContext], None]
) -> int:
    """Resolve the config, set up distribution, run ``body``; user errors become one line."""

    def action() -> None:
        show_library_messages()
        config = resolve_config(args)
        if args.print_config:
            print(yaml.safe_dump(config.to_dict(), sort_keys=False))
            return
        if config.threads:
            import torch

            torch.set_num_threads(config.threads)
        context = setup_distributed(args.device)
        try:
            body(config, context)
        finally:
            cleanup_distributed()

    return report_errors(action)
