"""Window transforms: small composable objects, one job each (mmaction2's pose-transform style).

Each transform maps an (M, T, V, C) sequence to another, drawing randomness only from the
``rng`` it is given; ``random`` says whether it draws at all (a deterministic pipeline needs no
generator). The pipelines of a run are built from its ``data`` config section by
:func:`training_transform` and :func:`evaluation_transform`; the evaluation pipeline is the
paper's centre crop, the same ``evaluation_window`` that export parity and the live recognizer
call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from masksem_core.data.windows import (
    MIN_LENGTH,
    TEST_RATIO,
    TRAIN_RATIO_RANGE,
    WINDOW,
    evaluation_window,
    normalise_body,
    rotation_matrix,
    training_window,
)
from masksem_core.skeleton import get_layout

if TYPE_CHECKING:
    from masksem_core.config import DataConfig


class WindowTransform(Protocol):
    random: bool

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None) -> np.ndarray: ...


@dataclass(frozen=True)
class RandomCropResize:
    """Valid-frame crop of ratio p ~ U[ratio_range] at a random offset, resized to ``window``
    frames (MAMP's training crop)."""

    window: int = WINDOW
    ratio_range: tuple[float, float] = TRAIN_RATIO_RANGE
    min_length: int = MIN_LENGTH
    random = True

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        return training_window(sequence, rng, self.window, self.ratio_range, self.min_length)


@dataclass(frozen=True)
class CentreCropResize:
    """Centre crop of ``ratio`` of the valid frames, resized to ``window`` frames (evaluation)."""

    window: int = WINDOW
    ratio: float = TEST_RATIO
    min_length: int = MIN_LENGTH
    random = False

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return evaluation_window(sequence, self.window, self.ratio, self.min_length)


@dataclass(frozen=True)
class RandomRotation:
    """One rotation of every frame and body, angle about axis i ~ U[−max_angles[i], max_angles[i]]
    (radians, axes x, y, z; R = Rz·Ry·Rx)."""

    max_angles: tuple[float, float, float] = (0.3, 0.3, 0.3)
    random = True

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        limit = np.asarray(self.max_angles, dtype=np.float64)
        return Rotation(tuple(rng.uniform(-limit, limit)))(sequence)


@dataclass(frozen=True)
class Rotation:
    """One fixed rotation of every frame and body by ``angles`` (radians about x, y, z; R =
    Rz·Ry·Rx): the skeleton as a camera placed elsewhere sees it. Any (…, 3) array."""

    angles: tuple[float, float, float]
    random = False

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        matrix = rotation_matrix(np.asarray(self.angles, dtype=np.float64))
        return (sequence @ matrix.T).astype(np.float32)


@dataclass(frozen=True)
class BodyNormalisation:
    """Body-centred view (``view``) and unit torso length (``scale``) of each window, from its
    first valid frame (``normalise_body``, shared with the live recognizer)."""

    layout: str
    view: bool = True
    scale: bool = True
    random = False

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return normalise_body(sequence, get_layout(self.layout), self.view, self.scale)


@dataclass(frozen=True)
class Compose:
    """Apply ``transforms`` in order."""

    transforms: tuple[WindowTransform, ...]

    @property
    def random(self) -> bool:
        return any(t.random for t in self.transforms)

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        for transform in self.transforms:
            sequence = transform(sequence, rng)
        return sequence


def normalisation_transform(data_cfg: DataConfig, layout: str) -> Compose:
    """The config's body normalisation of a window (none when both switches are off)."""
    view, scale = data_cfg.normalise_view, data_cfg.normalise_scale
    return Compose((BodyNormalisation(layout, view, scale),) if view or scale else ())


def rotation_transform(data_cfg: DataConfig) -> Compose:
    """The config's augmentation of a window: rotation (none when every angle is 0)."""
    return Compose((RandomRotation(tuple(data_cfg.rotation)),) if any(data_cfg.rotation) else ())


def training_transform(data_cfg: DataConfig, layout: str) -> Compose:
    """Crop + resize, the body normalisation, then the augmentation, from a ``DataConfig``."""
    crop = RandomCropResize(data_cfg.window, tuple(data_cfg.train_crop), data_cfg.min_crop_frames)
    return Compose(
        (
            crop,
            *normalisation_transform(data_cfg, layout).transforms,
            *rotation_transform(data_cfg).transforms,
        )
    )


def evaluation_transform(data_cfg: DataConfig, layout: str) -> Compose:
    """The deterministic centre crop + resize and the body normalisation, from a
    ``DataConfig``."""
    crop = CentreCropResize(data_cfg.window, data_cfg.test_crop, data_cfg.min_crop_frames)
    return Compose((crop, *normalisation_transform(data_cfg, layout).transforms))
