"""The yardstick's features by hand on a 3-frame skeleton."""

import numpy as np
import pytest
import torch

from masksem_core.skeleton import get_layout
from masksem_core.yardstick.features import (
    SkeletonFeatures,
    YardstickError,
    feature_width,
    resampling_matrix,
)

LAYOUT = get_layout("kinect_v1_20")


def three_frames() -> torch.Tensor:
    """A body walking +0.1 m a frame along x, torso 0.5 m, its right hand rising 0.1 m a frame;
    every other joint 0.25 m above the mid-hip point. (1, 1, 3, 20, 3)."""
    x = torch.zeros(3, 20, 3)
    for t in range(3):
        root = torch.tensor([0.1 * t, 0.0, 0.0])
        x[t, :] = root + torch.tensor([0.0, 0.25, 0.0])
        x[t, LAYOUT.index("left_hip")] = root + torch.tensor([-0.1, 0.0, 0.0])
        x[t, LAYOUT.index("right_hip")] = root + torch.tensor([0.1, 0.0, 0.0])
        x[t, LAYOUT.index("left_shoulder")] = root + torch.tensor([-0.15, 0.5, 0.0])
        x[t, LAYOUT.index("right_shoulder")] = root + torch.tensor([0.15, 0.5, 0.0])
        x[t, LAYOUT.index("right_hand")] = root + torch.tensor([0.3, 0.2 + 0.1 * t, 0.0])
    return x[None, None]


def test_resampling_keeps_the_ends_and_interpolates_between():
    assert torch.equal(resampling_matrix(3, 3), torch.eye(3))
    expected = torch.tensor([[1, 0, 0, 0], [0, 0.5, 0.5, 0], [0, 0, 0, 1]])
    assert torch.allclose(resampling_matrix(4, 3), expected)


def test_features_of_a_hand_made_three_frame_skeleton():
    features = SkeletonFeatures(LAYOUT, window=3, frames=3)(three_frames())[0]
    assert features.shape == (feature_width(20, 3),) == (3 * 60 + 2 * 60 + 9,)
    pose, motion, path = features[:180], features[180:300], features[300:]
    pose = pose.reshape(3, 20, 3)
    hand = LAYOUT.index("right_hand")
    # relative to the mid-hip point, in torso lengths (0.5 m)
    assert torch.allclose(
        pose[:, hand], torch.tensor([[0.6, 0.4, 0], [0.6, 0.6, 0], [0.6, 0.8, 0]])
    )
    assert torch.allclose(pose[1, LAYOUT.index("head")], torch.tensor([0.0, 0.5, 0.0]))
    assert torch.allclose(pose[2, LAYOUT.index("left_shoulder")], torch.tensor([-0.3, 1.0, 0.0]))
    # motion: only the hand moves relative to the body, 0.1 m = 0.2 torso a frame, upwards
    motion = motion.reshape(2, 20, 3)
    expected = torch.zeros(2, 20, 3)
    expected[:, hand, 1] = 0.2
    assert torch.allclose(motion, expected, atol=1e-6)
    # the mid-hip point walks 0.1 m = 0.2 torso a frame along x
    assert torch.allclose(path.reshape(3, 3), torch.tensor([[0, 0, 0], [0.2, 0, 0], [0.4, 0, 0.0]]))


def test_an_absent_second_body_changes_nothing():
    one = three_frames()
    two = torch.cat([one, torch.zeros_like(one)], dim=1)
    features = SkeletonFeatures(LAYOUT, window=3, frames=3)
    assert torch.allclose(features(one), features(two))


def test_bad_input_is_refused_with_the_expected_shape():
    with pytest.raises(YardstickError, match="2 ≤ frames ≤ the window's 3"):
        SkeletonFeatures(LAYOUT, window=3, frames=4)
    with pytest.raises(YardstickError, match=r"\(B, M, 3, 20, 3\)"):
        SkeletonFeatures(LAYOUT, window=3, frames=3)(torch.zeros(1, 1, 3, 25, 3))


def test_nobody_in_view_gives_zero_features():
    features = SkeletonFeatures(LAYOUT, 3, 2)(torch.zeros(1, 1, 3, 20, 3)).numpy()
    assert np.isfinite(features).all() and not features.any()
