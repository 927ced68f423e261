"""Embedding, transformer blocks, encoder, decoder and classifier heads (paper §III-B, §III-E)."""

from masksem_core.model.decoder import MaskedMotionDecoder
from masksem_core.model.encoder import SkeletonEncoder
from masksem_core.model.heads import (
    ActionClassifier,
    FineTuneHead,
    LinearProbeHead,
    PooledMLPHead,
)

__all__ = [
    "ActionClassifier",
    "FineTuneHead",
    "LinearProbeHead",
    "MaskedMotionDecoder",
    "PooledMLPHead",
    "SkeletonEncoder",
]
