"""The MaskSem pretraining module: semantic-guided masking + hybrid motion reconstruction.

One module reproduces MaskSem, its ablations (Table V) and the official release's variants
through the switches of :class:`MaskSemConfig`; the defaults are the paper's.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from masksem_core.model.decoder import MaskedMotionDecoder
from masksem_core.model.encoder import SkeletonEncoder
from masksem_core.model.validation import check_skeleton_batch
from masksem_core.pretraining.config import MaskSemConfig
from masksem_core.pretraining.ema import ema_update_
from masksem_core.pretraining.gradcam import (
    adjacency_smoothing,
    binary_part_scores,
    grad_cam_channel_weights,
    grad_cam_scores,
    offline_dense_features,
)
from masksem_core.pretraining.loss import hybrid_motion_loss, masked_reconstruction_loss
from masksem_core.pretraining.masking import (
    gumbel_top_k_masking,
    motion_aware_log_distribution,
    num_kept_tokens,
    semantic_masking_log_distribution,
)
from masksem_core.pretraining.reference import average_motion_reference
from masksem_core.pretraining.targets import motion_targets
from masksem_core.skeleton import SkeletonLayout


class MaskSem(nn.Module):
    """Online encoder φ, offline encoder θ (EMA of φ), decoder D and the MaskSem loss."""

    def __init__(
        self,
        encoder: SkeletonEncoder,
        layout: SkeletonLayout,
        config: MaskSemConfig | None = None,
        decoder_dim: int = 256,
        decoder_depth: int = 3,
        decoder_heads: int = 8,
        decoder_mlp_dim: int = 1024,
        weight_init: str = "xavier",
    ) -> None:
        super().__init__()
        self.config = config or MaskSemConfig()
        if layout.num_joints != encoder.num_joints:
            raise ValueError(
                f"layout {layout.name} has {layout.num_joints} joints, encoder {encoder.num_joints}"
            )
        self.layout = layout
        self.encoder = encoder  # φ
        self.offline_encoder: SkeletonEncoder | None = None  # θ, only where the CAM needs it
        if self.config.masking == "semantic":
            self.offline_encoder = copy.deepcopy(encoder).requires_grad_(False)
        values = encoder.segment_length * encoder.in_channels
        self.separate_outputs = (
            self.config.target == "hybrid" and self.config.prediction == "separate"
        )
        # curriculum (semantic_from_epoch > 0): MAMP's objective until that epoch (begin_epoch)
        self.motion_stage = self.config.semantic_from_epoch > 0
        self.decoder = MaskedMotionDecoder(
            encoder.num_segments,
            encoder.num_joints,
            encoder.dim,
            out_dim=2 * values if self.separate_outputs else values,
            dim=decoder_dim,
            depth=decoder_depth,
            num_heads=decoder_heads,
            mlp_dim=decoder_mlp_dim,
            weight_init=weight_init,
        )
        self.register_buffer(
            "adjacency", torch.from_numpy(layout.normalized_adjacency()), persistent=False
        )
        self.register_buffer(
            "reference",
            torch.zeros(encoder.window, encoder.num_joints, encoder.in_channels),
        )
        self.register_buffer("reference_ready", torch.tensor(False))

    # -- reference -----------------------------------------------------------------------------
    def set_reference(self, reference: torch.Tensor) -> None:
        """Store S̄ (T, V, C), e.g. ``average_motion_reference(train_batches)`` (eq. 2)."""
        if reference.shape != self.reference.shape:
            raise ValueError(
                f"reference motion must have shape {tuple(self.reference.shape)}, "
                f"got {tuple(reference.shape)}"
            )
        self.reference.copy_(reference)
        self.reference_ready.fill_(True)

    def _reference_for(self, x: torch.Tensor) -> torch.Tensor:
        if self.config.reference == "batch":
            return average_motion_reference([x])
        if not bool(self.reference_ready):
            raise ValueError(
                "the dataset reference motion S̄ is not set: call "
                "set_reference(average_motion_reference(train_batches)) before pretraining, "
                "or use pretraining.reference=batch"
            )
        return self.reference

    # -- curriculum ----------------------------------------------------------------------------
    def begin_epoch(self, epoch: int) -> None:
        """Select the objective of 0-based ``epoch``: with ``semantic_from_epoch = K > 0``, MAMP's
        (motion-aware masking, velocity target, unweighted loss) before epoch K; at epoch K the
        offline encoder θ is set to φ and the configured semantic objective takes over."""
        switch = self.config.semantic_from_epoch
        self.motion_stage = epoch < switch
        if epoch == switch > 0 and self.offline_encoder is not None:
            self.offline_encoder.load_state_dict(self.encoder.state_dict())

    def stage_objective(self) -> tuple[str, str, str]:
        """(masking, target, loss weighting) in force now."""
        cfg = self.config
        if self.motion_stage:
            return "motion", "velocity", "none"
        return cfg.masking, cfg.target, cfg.loss_weighting

    # -- masking -------------------------------------------------------------------------------
    def masking_log_distribution(self, x: torch.Tensor) -> torch.Tensor:
        """log π over every body's tokens: (B, M, T, V, C) → (B·M, L).

        Computed in inference mode (no autograd state, no version counters: θ's full forward
        is the MaskSem step's largest extra cost); the result is copied out as a normal tensor
        because π later weights the loss (eq. 14).
        """
        with torch.inference_mode():
            log_pi = self._masking_log_distribution(x)
        return log_pi.clone()

    def _masking_log_distribution(self, x: torch.Tensor) -> torch.Tensor:
        cfg, enc = self.config, self.encoder
        masking = self.stage_objective()[0]
        sequences = x.flatten(0, 1)  # (N, T, V, C)
        if masking == "random":
            shape = (sequences.shape[0], enc.num_tokens)
            return torch.full(shape, -math.log(enc.num_tokens), device=x.device)
        if masking == "motion":
            return motion_aware_log_distribution(
                sequences, enc.segment_length, cfg.motion_tau, cfg.motion_score
            )
        reference = self._reference_for(x).to(sequences.dtype)[None]  # (1, T, V, C)
        both = offline_dense_features(self.offline_encoder, torch.cat([sequences, reference]))
        dense, reference_dense = both[:-1], both[-1:]  # (N, Te, V, D), (1, Te, V, D)
        scores = grad_cam_scores(dense, grad_cam_channel_weights(dense, reference_dense))
        if cfg.cam == "paper":
            eta = adjacency_smoothing(scores, self.adjacency)
        else:
            eta = binary_part_scores(scores, self.layout.body_parts)
        return semantic_masking_log_distribution(
            eta.flatten(1), cfg.tau_grad, cfg.normalise_cam_by_max
        )

    # -- objective -----------------------------------------------------------------------------
    def forward(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Loss (eq. 15) and detached statistics for a (B, M, T, V, C) batch."""
        cfg, enc = self.config, self.encoder
        check_skeleton_batch(x, enc.num_joints, enc.in_channels, enc.segment_length, enc.window)
        sequences = x.flatten(0, 1)  # (N, T, V, C)
        log_pi = self.masking_log_distribution(x)  # (N, L)
        keep_index, masked = gumbel_top_k_masking(
            log_pi, num_kept_tokens(enc.num_tokens, cfg.mask_ratio), generator
        )
        tokens = enc.embed(sequences).flatten(1, 2)  # (N, L, D)
        kept = torch.gather(tokens, 1, keep_index.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
        prediction = self.decoder(enc.encode_tokens(kept), keep_index)  # (N, L, out)
        _, target, loss_weighting = self.stage_objective()
        targets = motion_targets(sequences, target, enc.segment_length, cfg.standardise_targets)
        pi = log_pi.exp()
        weights = {"pi": pi, "pi_mean_one": pi * pi.shape[1], "none": None}[loss_weighting]
        outputs = prediction.chunk(2, dim=-1) if self.separate_outputs else (prediction,) * 2
        predictions = {"velocity": outputs[0], "acceleration": outputs[1]}  # M^pred (eq. 13)
        losses = {
            kind: masked_reconstruction_loss(predictions[kind], value, masked, weights)
            for kind, value in targets.items()
        }
        if target == "hybrid":
            loss = hybrid_motion_loss(losses["velocity"], losses["acceleration"], cfg.beta)
        else:
            loss = losses[target]
        stats = {f"loss_{kind}": value.detach() for kind, value in losses.items()}
        stats["masked_pi_mass"] = (pi * masked).sum(dim=1).mean()
        stats["pi_entropy"] = -(pi * log_pi).sum(dim=1).mean()
        stats["pi_max"] = pi.amax(dim=1).mean()
        return loss, stats

    @torch.no_grad()
    def update_offline_encoder(self) -> None:
        """θ ← mθ + (1 − m)φ (eq. 10); call after every optimiser step."""
        if self.offline_encoder is not None and not self.motion_stage:
            ema_update_(self.offline_encoder, self.encoder, self.config.ema_momentum)

    def initialise_from_pretrained(self, state_dict: dict[str, torch.Tensor]) -> list[str]:
        """Start from another run of this module (e.g. a finished MAMP-mode checkpoint).

        Encoder and decoder are loaded strictly; the prediction layer is loaded where its shape
        matches and otherwise kept freshly initialised; θ is set to φ. Returns the names of the
        parameters left at their initial value.
        """
        own = self.state_dict()
        fresh = [
            k
            for k in own
            if k.startswith("decoder.prediction.")
            and (k not in state_dict or state_dict[k].shape != own[k].shape)
        ]
        needed = [k for k in own if k.startswith(("encoder.", "decoder.")) and k not in fresh]
        missing = [k for k in needed if k not in state_dict]
        if missing:
            raise ValueError(f"pretrained state is missing {len(missing)} keys, e.g. {missing[:5]}")
        for k in needed:
            if state_dict[k].shape != own[k].shape:
                raise ValueError(
                    f"pretrained {k} has shape {tuple(state_dict[k].shape)}, "
                    f"this model needs {tuple(own[k].shape)}"
                )
        self.load_state_dict({k: state_dict[k] for k in needed}, strict=False)
        if self.offline_encoder is not None:
            self.offline_encoder.load_state_dict(self.encoder.state_dict())
        return fresh
