"""Where a classifier starts: the pretrained encoder it loads, or, from scratch, the same
architecture with random weights, so that "from scratch" is the same model as the one it is
compared with. The input a fine-tune gives the encoder must be the input it was pretrained on.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from masksem_core.config import ExperimentConfig, ModelConfig
from masksem_core.engine.checkpoint import checkpoint_config, load_checkpoint
from masksem_core.engine.run_layout import pretrained_checkpoint
from masksem_core.errors import ConfigError
from masksem_core.shipped import locate_shipped

log = logging.getLogger(__name__)

# data settings that decide what the encoder sees: pretraining and fine-tuning must agree
INPUT_SETTINGS = ("normalise_view", "normalise_scale", "window")
ARCHITECTURE = ("dim", "depth", "heads", "mlp_dim", "segment_length")


def describe_architecture(model: ModelConfig) -> str:
    return (
        f"{model.depth}×{model.dim} ({model.heads} heads, MLP {model.mlp_dim}, segments of "
        f"{model.segment_length})"
    )


def default_init(config: ExperimentConfig) -> str | None:
    """The checkpoint a fine-tune of ``config`` starts from without --init: ``finetune.init``,
    else its own pretraining when that exists."""
    if config.finetune.init:
        return config.finetune.init
    own = pretrained_checkpoint(config)
    return str(own) if Path(own).is_file() else None


def input_mismatches(pretrained: ExperimentConfig, config: ExperimentConfig) -> list[str]:
    """``data.KEY: pretrained A, fine-tune B`` for every input setting that differs."""
    return [
        f"data.{key}: pretrained {getattr(pretrained.data, key)}, this run "
        f"{getattr(config.data, key)}"
        for key in INPUT_SETTINGS
        if getattr(pretrained.data, key) != getattr(config.data, key)
    ]


def resolve_initialisation(
    config: ExperimentConfig,
    init: str | None,
    no_init: bool,
    explicit_model: dict[str, object],
    allow_input_mismatch: bool = False,
) -> tuple[ExperimentConfig, str | None, list[str]]:
    """The config to fine-tune with, the checkpoint to start from (None: from scratch) and the
    input settings the user allowed to differ.

    With an init (``init``, else :func:`default_init`) the architecture is the checkpoint's;
    from scratch (``no_init``) it is the architecture of ``init`` when given, else of the
    default init, so that the from-scratch twin is the same model. Refused (ConfigError,
    exit 2): a ``model.*`` value set on the command line (``explicit_model``) that the
    checkpoint's architecture contradicts, and an input setting that differs from the
    pretraining's unless ``allow_input_mismatch``."""
    start = (
        None if no_init else (init or default_init(config) or str(pretrained_checkpoint(config)))
    )
    source = start or ((init or default_init(config)) if no_init else None)
    if source is None:
        log.info(f"from scratch: the config's architecture, {describe_architecture(config.model)}")
        return config, None, []
    path = locate_shipped(source)
    if not Path(path).is_file():
        if no_init:
            return config, None, []
        return config, start, []  # the stage reports the missing file with its own message
    pretrained = checkpoint_config(load_checkpoint(path), path)
    contradicted = {
        key: value
        for key, value in explicit_model.items()
        if key in ARCHITECTURE and getattr(pretrained.model, key) != value
    }
    if contradicted:
        asked = ", ".join(f"model.{k}={v}" for k, v in contradicted.items())
        raise ConfigError(
            f"{source} holds a {describe_architecture(pretrained.model)} encoder, but {asked} "
            f"was set on the command line; drop the override, or start from a checkpoint of "
            f"that architecture{'' if no_init else ' (or --no-init)'}"
        )
    mismatches = [] if no_init else input_mismatches(pretrained, config)
    if mismatches and not allow_input_mismatch:
        raise ConfigError(
            f"{source} was pretrained on another input than this fine-tune gives it: "
            f"{'; '.join(mismatches)}. Set them to the pretraining's values, or pass "
            "--allow-input-mismatch if you mean it (the model card records it)"
        )
    for mismatch in mismatches:
        log.warning(f"input differs from the pretraining's (allowed): {mismatch}")
    config = replace(
        config,
        model=replace(config.model, **{k: getattr(pretrained.model, k) for k in ARCHITECTURE}),
    )
    if no_init:
        log.info(
            f"from scratch: the architecture of {source}, "
            f"{describe_architecture(pretrained.model)}, with random weights"
        )
    return config, start, mismatches
