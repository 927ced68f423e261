"""Switches of the MaskSem objective (defaults: the paper, then MAMP) and the presets that
reproduce the rows of the paper's Table V and the official release."""

from __future__ import annotations

from dataclasses import dataclass

from masksem_core.errors import ConfigError
from masksem_core.typed import check_choices, from_dict, setting, to_dict


@dataclass(frozen=True)
class MaskSemConfig:
    """Switches of the objective. Defaults are the paper; see PRESETS for the baselines."""

    mask_ratio: float = setting(0.9, "δ: fraction of the L tokens masked (MAMP keeps int(L(1−δ)))")
    masking: str = setting(
        "semantic",
        "semantic: Grad-CAM + Gumbel top-k (eqs. 5–9) | motion: MAMP | random",
        ("semantic", "motion", "random"),
    )
    target: str = setting(
        "hybrid",
        "velocity | acceleration | hybrid: (1−β)·velocity + β·acceleration (eqs. 12, 15)",
        ("velocity", "acceleration", "hybrid"),
    )
    beta: float = setting(0.2, "β of eq. 15")
    reference: str = setting(
        "dataset",
        "S̄ of eq. 2: dataset (mean training sequence) | batch (official: mean of the batch)",
        ("dataset", "batch"),
    )
    cam: str = setting(
        "paper",
        "paper: adjacency-smoothed η (eq. 7) | binary_parts: official body-part CAM",
        ("paper", "binary_parts"),
    )
    loss_weighting: str = setting(
        "pi",
        "pi: π-weighted loss (eq. 14) | pi_mean_one: π·L | none: unweighted (MAMP, official)",
        ("pi", "pi_mean_one", "none"),
    )
    prediction: str = setting(
        "shared",
        "shared: one M^pred regressed to both targets (eqs. 13–14) | separate: one per target",
        ("shared", "separate"),
    )
    tau_grad: float = setting(0.8, "τ_grad of eq. 8")
    normalise_cam_by_max: bool = setting(
        True, "divide η by its maximum before eq. 8 (false: the literal η/τ_grad)"
    )
    motion_tau: float = setting(0.8, "τ of MAMP's motion-aware masking")
    motion_score: str = setting(
        "segment_difference",
        "MAMP: |segment t − segment t−1| | frame_velocity: mean per-frame |velocity| in a segment",
        ("segment_difference", "frame_velocity"),
    )
    ema_momentum: float = setting(0.99, "m of eq. 10 (θ ← mθ + (1−m)φ)")
    standardise_targets: bool = setting(
        True, "MAMP: standardise each token's l·C target values (false: raw targets)"
    )
    semantic_from_epoch: int = setting(
        0, "curriculum: MAMP's objective until this epoch, then θ ← φ and semantic (0: off)"
    )

    def __post_init__(self) -> None:
        check_choices(self, "pretraining")
        if self.semantic_from_epoch < 0:
            raise ConfigError(
                f"pretraining.semantic_from_epoch must be ≥ 0, got {self.semantic_from_epoch}"
            )
        if self.semantic_from_epoch and self.masking != "semantic":
            raise ConfigError(
                "pretraining.semantic_from_epoch switches to semantic masking; it needs "
                f"pretraining.masking=semantic, got {self.masking!r}"
            )

    @classmethod
    def from_dict(cls, values: dict, where: str = "pretraining") -> MaskSemConfig:
        """Build from plain data, starting from ``values['preset']`` (default masksem)."""
        values = dict(values)
        preset = values.pop("preset", "masksem")
        if preset not in PRESETS:
            raise ConfigError(f"unknown pretraining preset {preset!r}; known: {', '.join(PRESETS)}")
        return from_dict(cls, {**PRESETS[preset], **values}, where)

    def to_dict(self) -> dict:
        return to_dict(self)


PRESETS: dict[str, dict] = {
    "masksem": {},
    "mamp": {"masking": "motion", "target": "velocity", "loss_weighting": "none"},
    "random_velocity": {"masking": "random", "target": "velocity", "loss_weighting": "none"},
    "semantic_velocity": {"target": "velocity"},
    "semantic_acceleration": {"target": "acceleration"},
    "motion_hybrid": {"masking": "motion", "loss_weighting": "none"},
    "masksem_pi_mean_one": {"loss_weighting": "pi_mean_one"},
    "semantic_velocity_pi_mean_one": {"target": "velocity", "loss_weighting": "pi_mean_one"},
    "official": {"reference": "batch", "cam": "binary_parts", "loss_weighting": "none"},
}
