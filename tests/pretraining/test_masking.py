import pytest
import torch

from masksem_core.pretraining.masking import (
    gumbel_top_k_masking,
    motion_aware_log_distribution,
    num_kept_tokens,
    semantic_masking_log_distribution,
)


def test_kept_count_is_int_of_l_times_one_minus_delta():
    assert num_kept_tokens(750, 0.9) == int(750 * (1 - 0.9)) == 74
    assert num_kept_tokens(100, 0.5) == 50
    with pytest.raises(ValueError):
        num_kept_tokens(10, 1.0)


def test_softmax_over_eta_with_temperature_by_hand():
    eta = torch.tensor([[0.0, 1.0, 2.0]])
    log_pi = semantic_masking_log_distribution(eta, tau_grad=0.5, normalise_by_max=False)
    expected = torch.softmax(torch.tensor([[0.0, 2.0, 4.0]]), dim=1)
    torch.testing.assert_close(log_pi.exp(), expected)
    normalised = semantic_masking_log_distribution(eta, tau_grad=0.5, normalise_by_max=True)
    torch.testing.assert_close(normalised.exp(), torch.softmax(torch.tensor([[0.0, 1.0, 2.0]]), 1))
    zero = semantic_masking_log_distribution(torch.zeros(1, 4), 0.8)
    torch.testing.assert_close(zero.exp(), torch.full((1, 4), 0.25))


def test_top_k_keeps_exact_count_unique_sorted_and_mask_is_complement():
    log_pi = torch.log_softmax(torch.randn(5, 750), dim=1)
    keep, masked = gumbel_top_k_masking(log_pi, 74)
    assert keep.shape == (5, 74)
    for row in range(5):
        assert len(set(keep[row].tolist())) == 74
        assert torch.all(keep[row][1:] > keep[row][:-1])
        assert masked[row].sum() == 750 - 74
        assert not masked[row, keep[row]].any()


def test_same_seed_same_mask_and_different_seed_differs():
    log_pi = torch.log_softmax(torch.randn(2, 100), dim=1)
    a = gumbel_top_k_masking(log_pi, 10, torch.Generator().manual_seed(3))[0]
    b = gumbel_top_k_masking(log_pi, 10, torch.Generator().manual_seed(3))[0]
    c = gumbel_top_k_masking(log_pi, 10, torch.Generator().manual_seed(4))[0]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_higher_eta_is_masked_more_often():
    eta = torch.linspace(0, 1, 20)[None]  # token 19 most salient
    log_pi = semantic_masking_log_distribution(eta, tau_grad=0.3)
    generator = torch.Generator().manual_seed(0)
    counts = torch.zeros(20)
    for _ in range(2000):
        counts += gumbel_top_k_masking(log_pi, 10, generator)[1][0].float()
    assert counts[-1] > counts[0] + 500
    # monotone on average: correlation between saliency and masking frequency is strong
    assert torch.corrcoef(torch.stack([eta[0], counts]))[0, 1] > 0.95
    # exactly K masked per draw
    assert counts.sum() == 2000 * 10


def test_uniform_distribution_masks_uniformly():
    log_pi = torch.full((1, 10), -torch.log(torch.tensor(10.0)).item())
    generator = torch.Generator().manual_seed(1)
    counts = sum(gumbel_top_k_masking(log_pi, 5, generator)[1][0].float() for _ in range(2000))
    assert torch.all((counts / 2000 - 0.5).abs() < 0.06)


def test_motion_aware_segment_difference_by_hand():
    """MAMP's score: |token t − token t−1| of the patchified input, mean over its l·C values."""
    x = torch.zeros(1, 8, 3, 3)
    x[0, :, 2, 0] = torch.arange(8.0) ** 2  # joint 2: x = 0 1 4 9 | 16 25 36 49
    x[0, 4:, 1, 0] = 1.0  # joint 1 steps from 0 to 1 between the two segments
    log_pi = motion_aware_log_distribution(x, segment_length=4, tau=0.8)
    # segment 1 − segment 0: joint 2 → 16 + 24 + 32 + 40 = 112 over 12 values; joint 1 → 4 / 12;
    # the first segment copies the second. s = m / (max m · τ)
    m = torch.tensor([0.0, 4 / 12, 112 / 12]).repeat(2)
    s = m / (m.max() * 0.8)
    torch.testing.assert_close(log_pi.exp()[0], torch.softmax(s, 0), atol=1e-6, rtol=1e-5)


def test_motion_aware_frame_velocity_option_by_hand():
    x = torch.zeros(1, 8, 3, 3)
    x[0, :, 2, 0] = torch.arange(8.0)  # only joint 2 moves
    log_pi = motion_aware_log_distribution(x, 4, 0.8, score="frame_velocity")
    pi = log_pi.exp().reshape(2, 3)
    # segment 0 of joint 2: |Δx| = 1,1,1,1 in x of the 12 values → m = 4/12;
    # segment 1: the last frame's velocity is 0 → 3/12. s = m / (max·0.8)
    s = torch.tensor([[0, 0, 1 / 0.8], [0, 0, 0.75 / 0.8]]).flatten()
    torch.testing.assert_close(pi.flatten(), torch.softmax(s, 0), atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="unknown motion score"):
        motion_aware_log_distribution(x, 4, 0.8, score="optical_flow")
