"""The yardstick's hand-made skeleton features, computed in torch so that they export to ONNX
with the classifier (the features are part of the graph; the input is the learned model's).

Per body of a (B, M, T, V, 3) window:

- **pose**: every joint relative to the mid-hip point (the root) of its own frame, divided by
  the body's torso length (mid-hips → mid-shoulders, averaged over the frames where the body is
  present), linearly resampled to ``frames`` frames → (frames, V, 3);
- **motion**: the differences of consecutive resampled poses → (frames − 1, V, 3);
- **trajectory**: the root's displacement from its first resampled position, divided by the
  torso length → (frames, 3).

The three are flattened and concatenated; a window's features are the mean over the bodies
present in it (an absent body is all zeros), so any body count M gives the same width.
"""

from __future__ import annotations

import torch
from torch import nn

from masksem_core.errors import MaskSemError
from masksem_core.skeleton import SkeletonLayout

MIN_TORSO = 1e-3  # metres (or torso units): a body whose torso is shorter is treated as absent


class YardstickError(MaskSemError, ValueError):
    """Input the yardstick cannot turn into features."""


def resampling_matrix(source: int, frames: int) -> torch.Tensor:
    """(frames, source) weights of linear interpolation from ``source`` evenly spaced frames to
    ``frames`` (first and last frames kept exactly)."""
    if frames < 2 or source < frames:
        raise YardstickError(
            f"the yardstick resamples to {frames} frames; it needs 2 ≤ frames ≤ the window's "
            f"{source} frames"
        )
    position = torch.linspace(0, source - 1, frames, dtype=torch.float64)
    low = position.floor().long().clamp(max=source - 2)
    fraction = position - low
    weights = torch.zeros(frames, source, dtype=torch.float64)
    rows = torch.arange(frames)
    weights[rows, low] = 1 - fraction
    weights[rows, low + 1] += fraction
    return weights.float()


def feature_width(num_joints: int, frames: int) -> int:
    """Features per window: pose, motion and trajectory."""
    return frames * num_joints * 3 + (frames - 1) * num_joints * 3 + frames * 3


class SkeletonFeatures(nn.Module):
    """(B, M, T, V, 3) windows → (B, F) yardstick features (module docstring)."""

    def __init__(self, layout: SkeletonLayout, window: int, frames: int) -> None:
        super().__init__()
        self.layout_name = layout.name
        self.num_joints = layout.num_joints
        self.window = window
        self.frames = frames
        self.register_buffer("resample", resampling_matrix(window, frames), persistent=False)
        self.hips = (layout.index("left_hip"), layout.index("right_hip"))
        self.shoulders = (layout.index("left_shoulder"), layout.index("right_shoulder"))

    @property
    def width(self) -> int:
        return feature_width(self.num_joints, self.frames)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 5 or x.shape[2] != self.window or x.shape[3:] != (self.num_joints, 3):
            raise YardstickError(
                f"expected (B, M, {self.window}, {self.num_joints}, 3) windows of layout "
                f"{self.layout_name}, got {tuple(x.shape)}"
            )
        root = (x[..., self.hips[0], :] + x[..., self.hips[1], :]) / 2  # (B, M, T, 3)
        neck = (x[..., self.shoulders[0], :] + x[..., self.shoulders[1], :]) / 2
        present = (x.abs().sum(dim=(3, 4)) > 0).float()  # (B, M, T)
        torso = ((neck - root).norm(dim=-1) * present).sum(2) / present.sum(2).clamp(min=1)
        body = (torso > MIN_TORSO).float()  # (B, M)
        scale = 1 / torso.clamp(min=MIN_TORSO)  # (B, M)
        relative = (x - root.unsqueeze(3)) * present[..., None, None]  # (B, M, T, V, 3)
        pose = torch.einsum("kt,bmtvc->bmkvc", self.resample, relative)  # (B, M, K, V, 3)
        pose = pose * scale[..., None, None, None]
        motion = pose[:, :, 1:] - pose[:, :, :-1]  # (B, M, K-1, V, 3)
        path = torch.einsum("kt,bmtc->bmkc", self.resample, root)  # (B, M, K, 3)
        path = (path - path[:, :, :1]) * scale[..., None, None]
        per_body = torch.cat(
            [pose.flatten(2), motion.flatten(2), path.flatten(2)], dim=2
        )  # (B, M, F)
        total = (per_body * body.unsqueeze(2)).sum(1)
        return total / body.sum(1, keepdim=True).clamp(min=1)  # (B, F)
