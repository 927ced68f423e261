"""Models built from the typed model config: the encoder and encoder + head classifiers."""

from __future__ import annotations

from masksem_core.config import ModelConfig
from masksem_core.model.encoder import SkeletonEncoder
from masksem_core.model.heads import ActionClassifier, FineTuneHead, LinearProbeHead, PooledMLPHead


def build_encoder(
    model_cfg: ModelConfig, num_joints: int, window: int, drop_path: float = 0.0
) -> SkeletonEncoder:
    return SkeletonEncoder(
        num_joints,
        in_channels=3,
        window=window,
        segment_length=model_cfg.segment_length,
        dim=model_cfg.dim,
        depth=model_cfg.depth,
        num_heads=model_cfg.heads,
        mlp_dim=model_cfg.mlp_dim,
        drop_path=drop_path,
        weight_init=model_cfg.weight_init,
    )


def build_classifier(
    model_cfg: ModelConfig,
    num_joints: int,
    window: int,
    num_classes: int,
    head: str,
    drop_path: float = 0.0,
    head_dropout: float = 0.3,
) -> ActionClassifier:
    """Encoder + head: ``linear`` probe, ``mlp`` (MAMP's fine-tuning head) or ``pooled_mlp``."""
    encoder = build_encoder(model_cfg, num_joints, window, drop_path)
    if head == "linear":
        return ActionClassifier(encoder, LinearProbeHead(encoder.dim, num_classes))
    if head == "mlp":
        return ActionClassifier(
            encoder, FineTuneHead(encoder.dim, num_joints, num_classes, dropout=head_dropout)
        )
    if head == "pooled_mlp":
        return ActionClassifier(
            encoder, PooledMLPHead(encoder.dim, num_classes, dropout=head_dropout)
        )
    raise ValueError(f"unknown head {head!r}; choose linear, mlp or pooled_mlp")
