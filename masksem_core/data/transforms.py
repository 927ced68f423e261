"""Window transforms: small composable objects, one job each (mmaction2's pose-transform style).

Each transform maps an (M, T, V, C) sequence to another, drawing randomness only from the
``rng`` it is given; ``random`` says whether it draws at all (a deterministic pipeline needs no
generator). The training pipeline is built from the run's ``data`` config section by
:func:`training_transform`; the evaluation pipeline is :class:`ModelInput`, the run's
:class:`~masksem_core.window_spec.WindowSpec`: the window that export parity, replay and the
live recognizer use too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from masksem_core.skeleton import get_layout
from masksem_core.window_spec import WindowSpec
from masksem_core.windows import (
    centre_sequence,
    normalise_body,
    rotation_matrix,
    training_window,
)

if TYPE_CHECKING:
    from masksem_core.config import DataConfig


class WindowTransform(Protocol):
    random: bool

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None) -> np.ndarray: ...


@dataclass(frozen=True)
class Centre:
    """Subtract the layout's centre joint of the first body's first valid frame (absent joints
    stay 0): a clip cut out of a recording starts where its person stands."""

    layout: str
    random = False

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        layout = get_layout(self.layout)
        return centre_sequence(sequence, layout.index(layout.centre_joint))


@dataclass(frozen=True)
class RandomCropResize:
    """Valid-frame crop of ratio p ~ U[ratio_range] at a random offset, resized to ``window``
    frames (MAMP's training crop)."""

    window: int
    ratio_range: tuple[float, float]
    min_length: int
    random = True

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        return training_window(sequence, rng, self.window, self.ratio_range, self.min_length)


@dataclass(frozen=True)
class ModelInput:
    """The model's input from a trimmed clip, as its :class:`WindowSpec` defines it (centred,
    centre crop, resize, body normalisation): the deterministic evaluation window."""

    spec: WindowSpec
    random = False

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        return self.spec.from_clip(sequence)


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
class RandomMirror:
    """With probability ``probability``, the mirror image of every frame and body: x negated
    and each left joint swapped with its right twin (the same action done by the other hand;
    in a body-centred view x is the hip line, so this is the person's own left-right)."""

    layout: str
    probability: float = 0.5
    random = True

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        if rng.random() >= self.probability:
            return sequence
        mirrored = sequence[..., get_layout(self.layout).mirror_order, :].copy()
        mirrored[..., 0] *= -1.0
        return mirrored


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
    """Body-centred view (``normalise_view``) and unit torso length (``normalise_scale``) of each
    window, from its first valid frame (``normalise_body``, shared with the window spec)."""

    layout: str
    normalise_view: bool
    normalise_scale: bool
    random = False

    def __call__(self, sequence: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
        layout = get_layout(self.layout)
        return normalise_body(sequence, layout, self.normalise_view, self.normalise_scale)


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


def augmentation(data_cfg: DataConfig, layout: str) -> Compose:
    """The config's augmentation of a window: mirroring (when ``data.mirror`` > 0), then
    rotation (none when every angle is 0)."""
    mirror = (RandomMirror(layout, data_cfg.mirror),) if data_cfg.mirror > 0 else ()
    rotation = (RandomRotation(tuple(data_cfg.rotation)),) if any(data_cfg.rotation) else ()
    return Compose((*mirror, *rotation))


def training_transform(data_cfg: DataConfig, layout: str) -> Compose:
    """Centring, crop + resize, the body normalisation, then the augmentation, from a
    ``DataConfig``."""
    crop = RandomCropResize(data_cfg.window, tuple(data_cfg.train_crop), data_cfg.min_crop_frames)
    view, scale = data_cfg.normalise_view, data_cfg.normalise_scale
    normalise = (BodyNormalisation(layout, view, scale),) if view or scale else ()
    return Compose((Centre(layout), crop, *normalise, *augmentation(data_cfg, layout).transforms))
