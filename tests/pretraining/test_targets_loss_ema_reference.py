import pytest
import torch
from torch import nn

from masksem_core.pretraining.ema import ema_update_
from masksem_core.pretraining.loss import hybrid_motion_loss, masked_reconstruction_loss
from masksem_core.pretraining.reference import average_motion_reference
from masksem_core.pretraining.targets import (
    acceleration,
    motion_targets,
    standardise_tokens,
    velocity,
)


def test_velocity_and_acceleration_of_a_quadratic_by_hand():
    t = torch.arange(6.0)
    x = (t**2).reshape(1, 6, 1, 1)  # x = 0 1 4 9 16 25
    assert velocity(x).flatten().tolist() == [1, 3, 5, 7, 9, 0]
    assert acceleration(x).flatten().tolist() == [2, 2, 2, 2, 0, 0]


def test_motion_targets_are_tokenised_like_the_embedding():
    x = torch.arange(8.0).reshape(1, 8, 1, 1).expand(1, 8, 2, 3).contiguous()
    targets = motion_targets(x, "hybrid", segment_length=4, standardise=False)
    assert set(targets) == {"velocity", "acceleration"}
    assert targets["velocity"].shape == (1, 4, 12)  # L = 2 segments × 2 joints
    assert targets["velocity"][0, 0].tolist() == [1.0] * 12
    assert targets["velocity"][0, 2].tolist() == [1.0] * 9 + [0.0] * 3  # last frame padded
    assert torch.all(targets["acceleration"] == 0)
    assert set(motion_targets(x, "velocity", 4)) == {"velocity"}
    standardised = motion_targets(x, "velocity", 4)["velocity"]  # MAMP's default
    torch.testing.assert_close(standardised[0, 0], torch.zeros(12))  # constant token → 0
    torch.testing.assert_close(standardised[0, 2], standardise_tokens(targets["velocity"])[0, 2])
    with pytest.raises(ValueError, match="unknown reconstruction target"):
        motion_targets(x, "position", 4)


def test_standardise_tokens_by_hand():
    tokens = torch.tensor([[[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]]])
    out = standardise_tokens(tokens)
    # token 0: mean 2, unbiased variance 1; token 1: mean 2, variance (4 + 4 + 16) / 2 = 12
    torch.testing.assert_close(out[0, 0], torch.tensor([-1.0, 0.0, 1.0]) / (1 + 1e-6) ** 0.5)
    expected = torch.tensor([-2.0, -2.0, 4.0]) / (12 + 1e-6) ** 0.5
    torch.testing.assert_close(out[0, 1], expected)


def test_pi_weighted_masked_loss_on_two_tokens_by_hand():
    pred = torch.tensor([[[1.0, 1.0], [0.0, 0.0], [5.0, 5.0]]])
    target = torch.tensor([[[0.0, 0.0], [0.0, 2.0], [5.0, 5.0]]])
    masked = torch.tensor([[True, True, False]])
    pi = torch.tensor([[0.2, 0.3, 0.5]])
    # token 0: ‖(1,1)‖² / 2 values = 1, ·0.2 = 0.2; token 1: 4 / 2 = 2, ·0.3 = 0.6;
    # mean over the 2 masked tokens = 0.4; unweighted (1 + 2) / 2 = 1.5
    assert masked_reconstruction_loss(pred, target, masked, pi).item() == pytest.approx(0.4)
    assert masked_reconstruction_loss(pred, target, masked).item() == pytest.approx(1.5)


def test_hybrid_loss_convex_combination():
    lv, la = torch.tensor(1.0), torch.tensor(3.0)
    assert hybrid_motion_loss(lv, la, 0.2).item() == pytest.approx(0.8 * 1 + 0.2 * 3)
    with pytest.raises(ValueError):
        hybrid_motion_loss(lv, la, 1.5)


def test_ema_after_one_step_by_hand():
    theta, phi = nn.Linear(2, 1), nn.Linear(2, 1)
    nn.init.constant_(theta.weight, 1.0)
    nn.init.constant_(phi.weight, 3.0)
    nn.init.constant_(theta.bias, 0.0)
    nn.init.constant_(phi.bias, 10.0)
    ema_update_(theta, phi, momentum=0.9)
    torch.testing.assert_close(theta.weight, torch.full((1, 2), 0.9 * 1 + 0.1 * 3))
    torch.testing.assert_close(theta.bias, torch.tensor([1.0]))
    assert phi.weight[0, 0].item() == 3.0  # φ untouched


def test_average_reference_skips_absent_bodies():
    a = torch.ones(1, 2, 4, 2, 3)
    a[:, 1] = 0  # absent second body
    b = torch.full((1, 1, 4, 2, 3), 4.0)
    ref = average_motion_reference([a, b[:, :1].expand(1, 1, 4, 2, 3)])
    torch.testing.assert_close(ref, torch.full((4, 2, 3), 2.5))
    with pytest.raises(ValueError, match="no non-empty sequence"):
        average_motion_reference([torch.zeros(1, 1, 4, 2, 3)])
