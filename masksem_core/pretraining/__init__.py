"""The MaskSem objective (paper §III-C to §III-E), one named function per equation."""

from masksem_core.pretraining.config import PRESETS, MaskSemConfig
from masksem_core.pretraining.masksem import MaskSem
from masksem_core.pretraining.reference import average_motion_reference

__all__ = ["PRESETS", "MaskSem", "MaskSemConfig", "average_motion_reference"]
