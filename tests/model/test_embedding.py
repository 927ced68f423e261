import torch

from masksem_core.model.embedding import (
    JointEmbedding,
    SpatioTemporalPositionalEmbedding,
    segment_tokens,
)


def test_segment_tokens_groups_l_consecutive_frames_per_joint():
    x = torch.arange(1 * 8 * 2 * 3, dtype=torch.float32).reshape(1, 8, 2, 3)  # (N, T, V, C)
    tokens = segment_tokens(x, 4)
    assert tokens.shape == (1, 2, 2, 12)
    # token (segment 1, joint 0) = frames 4..7 of joint 0, channels interleaved per frame
    expected = torch.cat([x[0, t, 0] for t in range(4, 8)])
    assert torch.equal(tokens[0, 1, 0], expected)


def test_joint_embedding_is_a_linear_map_of_each_token():
    emb = JointEmbedding(in_channels=3, segment_length=4, dim=5)
    x = torch.randn(2, 8, 3, 3)
    out = emb(x)
    assert out.shape == (2, 2, 3, 5)
    by_hand = segment_tokens(x, 4)[1, 0, 2] @ emb.proj.weight.T + emb.proj.bias
    torch.testing.assert_close(out[1, 0, 2], by_hand)


def test_positional_embedding_broadcasts_over_time_and_joints():
    pos = SpatioTemporalPositionalEmbedding(num_segments=3, num_joints=4, dim=2)
    out = pos(torch.zeros(1, 3, 4, 2))
    torch.testing.assert_close(out[0, 2, 1], pos.temporal[0, 2, 0] + pos.spatial[0, 0, 1])
