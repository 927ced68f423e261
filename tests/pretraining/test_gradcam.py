import pytest
import torch
import torch.nn.functional as F

from masksem_core.pretraining.gradcam import (
    adjacency_smoothing,
    bf16_forward,
    binary_part_scores,
    grad_cam_channel_weights,
    grad_cam_scores,
    offline_dense_features,
    similarity_gradient,
)
from masksem_core.skeleton import NTU25
from tests.conftest import tiny_encoder


def autograd_grad_cam(encoder, x, reference):
    """Grad-CAM the textbook way: backward of −sim through the dense features (eqs. 5–7)."""
    dense = encoder(x).detach().requires_grad_(True)  # H_e, (N, Te, V, D)
    ref_dense = encoder(reference[None]).detach()
    sim = F.cosine_similarity(dense.mean(dim=(1, 2)), ref_dense.mean(dim=(1, 2)), dim=1)
    (-sim).sum().backward()
    alpha = torch.relu(dense.grad).mean(dim=(1, 2))  # eq. 6: average of the ReLU over T, V
    return dense.grad, alpha, torch.relu((alpha[:, None, None, :] * dense).sum(-1))


def test_closed_form_grad_cam_equals_autograd_on_a_small_model():
    enc = tiny_encoder(25).eval()
    x = torch.randn(3, 16, 25, 3)
    reference = torch.randn(16, 25, 3) * 0.1
    grad, alpha_autograd, cam_autograd = autograd_grad_cam(enc, x, reference)

    dense = offline_dense_features(enc, x)
    ref_dense = offline_dense_features(enc, reference[None])
    g = similarity_gradient(dense, ref_dense)
    torch.testing.assert_close(g[:, None, None, :].expand_as(grad), grad, atol=1e-7, rtol=1e-4)
    alpha = grad_cam_channel_weights(dense, ref_dense)
    torch.testing.assert_close(alpha, alpha_autograd, atol=1e-7, rtol=1e-4)
    torch.testing.assert_close(grad_cam_scores(dense, alpha), cam_autograd, atol=1e-6, rtol=1e-4)
    assert not dense.requires_grad  # the offline features never build a graph


def test_absent_bodies_are_encoded_once_with_identical_features():
    enc = tiny_encoder(25).eval()
    x = torch.randn(5, 16, 25, 3)
    x[[0, 2, 3]] = 0.0  # three absent second bodies among five sequences
    batches = []
    enc.register_forward_hook(lambda module, args, out: batches.append(args[0].shape[0]))
    dense = offline_dense_features(enc, x)
    assert batches == [3]  # the two real sequences and one empty one
    with torch.no_grad():
        one_by_one = torch.cat([enc(x[i : i + 1]) for i in range(5)])
    torch.testing.assert_close(dense, one_by_one, atol=1e-6, rtol=1e-5)


def test_bf16_forward_runs_in_bf16_under_bf16_autocast_and_keeps_fp32_weights():
    enc = tiny_encoder(25).eval()
    weights = {k: v.clone() for k, v in enc.state_dict().items()}
    x = torch.randn(3, 16, 25, 3)
    with torch.no_grad():
        exact = enc(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            autocast = enc(x)
            low = bf16_forward(enc, x)
    assert low.dtype == torch.bfloat16
    scale = exact.abs().max()
    # bf16 keeps 8 bits of mantissa: the pure-bf16 forward stays within a few times autocast's error
    assert (low.float() - exact).abs().max() < 0.05 * scale
    assert (low.float() - exact).abs().max() < 3 * (autocast.float() - exact).abs().max() + 1e-2
    for name, value in enc.state_dict().items():
        assert value.dtype == weights[name].dtype
        torch.testing.assert_close(value, weights[name], rtol=0, atol=0)


def test_bf16_forward_is_the_plain_forward_without_bf16_autocast():
    enc = tiny_encoder(25).eval()
    x = torch.randn(2, 16, 25, 3)
    with torch.no_grad():
        torch.testing.assert_close(bf16_forward(enc, x), enc(x), rtol=0, atol=0)


def test_similarity_gradient_by_hand_on_two_tokens():
    # one sequence, Te·V = 2 tokens, D = 2: z = mean = (1, 0); z̄ = (1, 1)
    dense = torch.tensor([[[[2.0, 0.0], [0.0, 0.0]]]])  # (1, Te=1, V=2, D=2)
    ref = torch.tensor([[[[1.0, 1.0], [1.0, 1.0]]]])
    # sim = 1/√2; ∂sim/∂z = z̄/(|z||z̄|) − sim z/|z|² = (1,1)/√2 − (1,0)/√2 = (0, 1/√2)
    # ∂(−sim)/∂H per token = −(0, 1/√2)/2
    expected = torch.tensor([[0.0, -0.5 / 2**0.5]])
    torch.testing.assert_close(similarity_gradient(dense, ref), expected)
    # α = ReLU(·) = 0 → η = 0; flip the reference to make channel 1 count
    alpha = grad_cam_channel_weights(dense, -ref)
    torch.testing.assert_close(alpha, torch.tensor([[0.0, 0.5 / 2**0.5]]))


def test_grad_cam_scores_weighted_sum_then_relu():
    dense = torch.tensor([[[[1.0, 2.0], [-3.0, 1.0]]]])  # (1, 1, 2, 2)
    alpha = torch.tensor([[0.5, 0.25]])
    # token 0: 0.5 + 0.5 = 1.0; token 1: −1.5 + 0.25 = −1.25 → 0
    torch.testing.assert_close(grad_cam_scores(dense, alpha), torch.tensor([[[1.0, 0.0]]]))


def test_adjacency_smoothing_spreads_a_score_to_neighbours():
    adjacency = torch.from_numpy(NTU25.normalized_adjacency())
    scores = torch.zeros(1, 1, 25)
    scores[0, 0, NTU25.index("head")] = 1.0
    eta = adjacency_smoothing(scores, adjacency)[0, 0]
    neck, head = NTU25.index("neck"), NTU25.index("head")
    assert eta[head] > 0 and eta[neck] > 0
    assert eta[NTU25.index("left_foot")] == 0
    # head has degree 2 (self, neck), neck has degree 3 (self, head, spine_shoulder)
    assert eta[neck].item() == pytest.approx(1 / (2 * 3) ** 0.5)
    assert eta[head].item() == pytest.approx(0.5)


def test_binary_part_scores_average_active_joints_within_each_part():
    scores = torch.zeros(1, 1, 25)
    left_arm = NTU25.body_parts[1]
    scores[0, 0, left_arm[0]] = 1e-3  # one active joint out of six in the left arm
    out = binary_part_scores(scores, NTU25.body_parts)[0, 0]
    for v in left_arm:
        assert out[v].item() == pytest.approx(1 / 6)
    assert out.sum().item() == pytest.approx(1.0)
