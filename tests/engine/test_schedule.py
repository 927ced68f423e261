import pytest
import torch

from masksem_core.engine.schedule import (
    apply_lr_scales,
    build_adamw,
    encoder_layer_id,
    parameter_groups,
    warmup_cosine_factor,
)
from tests.conftest import tiny_encoder


def test_warmup_then_cosine_to_min_ratio():
    assert warmup_cosine_factor(0, 10, 110, 0.5) == 0.0
    assert warmup_cosine_factor(5, 10, 110, 0.5) == 0.5
    assert warmup_cosine_factor(10, 10, 110, 0.5) == 1.0
    assert warmup_cosine_factor(60, 10, 110, 0.5) == pytest.approx(0.75)
    assert warmup_cosine_factor(110, 10, 110, 0.5) == pytest.approx(0.5)


def test_no_weight_decay_on_biases_norms_and_positions():
    enc = tiny_encoder()
    groups = parameter_groups(enc, weight_decay=0.05)
    decayed = {id(p) for g in groups if g["weight_decay"] > 0 for p in g["params"]}
    for name, p in enc.named_parameters():
        expect = p.ndim > 1 and "positional_embedding" not in name
        assert (id(p) in decayed) == expect, name


def test_layer_wise_lr_decay():
    enc = tiny_encoder()  # depth 2
    assert encoder_layer_id("joint_embedding.proj.weight", 2) == 0
    assert encoder_layer_id("transformer.blocks.1.attn.qkv.weight", 2) == 2
    assert encoder_layer_id("transformer.norm.weight", 2) == 3
    groups = parameter_groups(enc, 0.05, layer_decay=0.5, depth=2)
    optimizer = torch.optim.AdamW(groups, lr=1.0)
    apply_lr_scales(optimizer)
    lrs = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            lrs[id(p)] = group["lr"]
    assert lrs[id(enc.joint_embedding.proj.weight)] == 0.125
    assert lrs[id(enc.transformer.blocks[0].mlp[0].weight)] == 0.25
    assert lrs[id(enc.transformer.norm.weight)] == 1.0


def test_fused_adamw_matches_the_per_parameter_loop():
    """The same gradients (weight decay, bias correction, per-group settings) give the same
    parameters after several steps as PyTorch's reference per-parameter AdamW."""
    torch.manual_seed(0)
    enc = tiny_encoder()
    twin = tiny_encoder()
    twin.load_state_dict(enc.state_dict())
    initial = [p.detach().clone() for p in enc.parameters()]
    fused = build_adamw(parameter_groups(enc, 0.05), 1e-2, (0.9, 0.95))
    loop = torch.optim.AdamW(
        parameter_groups(twin, 0.05), lr=1e-2, betas=(0.9, 0.95), foreach=False
    )
    assert fused.param_groups[0]["fused"]
    for _ in range(5):
        for a, b in zip(enc.parameters(), twin.parameters(), strict=True):
            a.grad = torch.randn_like(a)
            b.grad = a.grad.clone()
        fused.step()
        loop.step()
    for a, b in zip(enc.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)
    assert all((a - b).abs().max() > 1e-3 for a, b in zip(enc.parameters(), initial, strict=True))
