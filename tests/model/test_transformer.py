import pytest
import torch
import torch.nn.functional as F

from masksem_core.model.attention import ATTENTION_PATHS
from masksem_core.model.transformer import (
    DropPath,
    MultiHeadSelfAttention,
    TransformerBlock,
    TransformerStack,
    attention_path,
)


@pytest.mark.parametrize("path", ATTENTION_PATHS)
def test_every_attention_path_matches_explicit_softmax_attention(path):
    attn = MultiHeadSelfAttention(dim=8, num_heads=2)
    attn.path = path
    x = torch.randn(2, 5, 8)
    q, k, v = attn.qkv(x).reshape(2, 5, 3, 2, 4).permute(2, 0, 3, 1, 4)
    weights = F.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1)  # sqrt(head dim 4) = 2
    by_hand = attn.proj((weights @ v).transpose(1, 2).reshape(2, 5, 8))
    torch.testing.assert_close(attn(x), by_hand, atol=1e-6, rtol=1e-5)


def test_unknown_attention_path_is_refused():
    stack = TransformerStack(dim=8, depth=1, num_heads=2, mlp_dim=16)
    with pytest.raises(ValueError, match="unknown attention path 'flash'"):
        with attention_path(stack, "flash"):
            pass


def test_block_is_pre_ln_residual():
    block = TransformerBlock(dim=8, num_heads=2, mlp_dim=16).eval()
    x = torch.randn(1, 3, 8)
    h = x + block.attn(block.norm1(x))
    torch.testing.assert_close(block(x), h + block.mlp(block.norm2(h)))


def test_drop_path_is_identity_in_eval_and_unbiased_in_training():
    dp = DropPath(0.5)
    x = torch.ones(4000, 3)
    assert torch.equal(dp.eval()(x), x)
    out = dp.train()(x)
    dropped = (out == 0).all(dim=1)
    assert 0.4 < dropped.float().mean() < 0.6
    assert torch.all(out[~dropped] == 2.0)
    with pytest.raises(ValueError):
        DropPath(1.0)


def test_xavier_init_is_mamp_and_trunc_normal_is_the_option():
    from masksem_core.model.transformer import init_transformer_weights
    from tests.conftest import tiny_encoder

    torch.manual_seed(0)
    enc = tiny_encoder(25, dim=64, mlp_dim=256)
    qkv = enc.transformer.blocks[0].attn.qkv  # Linear(64 → 192)
    bound = (6 / (64 + 192)) ** 0.5  # xavier-uniform
    assert qkv.weight.abs().max() <= bound
    assert abs(qkv.weight.std().item() - bound / 3**0.5) < 0.01  # U(−b, b) has std b/√3
    assert torch.all(qkv.bias == 0)
    norm = enc.transformer.blocks[0].norm1
    assert torch.all(norm.weight == 1) and torch.all(norm.bias == 0)
    # the joint embedding keeps PyTorch's default: U(±1/√fan_in), fan_in = l·C = 12 (MAMP's conv)
    embedding = enc.joint_embedding.proj
    assert embedding.weight.abs().max() <= 12**-0.5
    assert embedding.weight.abs().max() > 0.8 * 12**-0.5
    assert embedding.bias.abs().max() > 0
    old = tiny_encoder(25, dim=64, mlp_dim=256, weight_init="trunc_normal")
    assert abs(old.joint_embedding.proj.weight.std().item() - 0.02) < 0.003  # trunc-normal(0.02)
    assert abs(old.transformer.blocks[0].attn.qkv.weight.std().item() - 0.02) < 0.002
    with pytest.raises(ValueError, match="unknown weight init"):
        init_transformer_weights(embedding, "kaiming")
