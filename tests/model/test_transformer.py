import pytest
import torch
import torch.nn.functional as F

from masksem_core.model.transformer import DropPath, MultiHeadSelfAttention, TransformerBlock


def test_sdpa_attention_matches_explicit_softmax_attention():
    attn = MultiHeadSelfAttention(dim=8, num_heads=2)
    x = torch.randn(2, 5, 8)
    q, k, v = attn.qkv(x).reshape(2, 5, 3, 2, 4).permute(2, 0, 3, 1, 4)
    weights = F.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1)  # sqrt(head dim 4) = 2
    by_hand = attn.proj((weights @ v).transpose(1, 2).reshape(2, 5, 8))
    torch.testing.assert_close(attn(x), by_hand, atol=1e-6, rtol=1e-5)


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
