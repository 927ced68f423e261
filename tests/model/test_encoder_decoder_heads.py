import pytest
import torch

from masksem_core.model import ActionClassifier, FineTuneHead, LinearProbeHead, MaskedMotionDecoder
from tests.conftest import tiny_encoder


@pytest.mark.parametrize("num_joints", [20, 25])
@pytest.mark.parametrize("bodies", [1, 2])
@pytest.mark.parametrize("head_cls", [LinearProbeHead, FineTuneHead])
def test_classifier_shapes_for_any_layout_and_body_count(num_joints, bodies, head_cls):
    encoder = tiny_encoder(num_joints)
    head = head_cls(encoder.dim, num_joints, 7) if head_cls is FineTuneHead else None
    model = ActionClassifier(encoder, head or head_cls(encoder.dim, 7)).eval()
    x = torch.randn(1, bodies, 16, num_joints, 3)  # batch 1
    assert model.features(x).shape == (1, bodies, 4, num_joints, 32)
    assert model(x).shape == (1, 7)


def test_full_size_default_encoder_token_count():
    from masksem_core.model import SkeletonEncoder

    enc = SkeletonEncoder(25)
    assert enc.num_segments == 30 and enc.num_tokens == 750
    assert len(enc.transformer.blocks) == 8 and enc.dim == 256


def test_encoder_on_a_token_subset_matches_positions():
    enc = tiny_encoder(20).eval()
    x = torch.randn(2, 16, 20, 3)
    tokens = enc.embed(x).flatten(1, 2)
    full = enc.encode_tokens(tokens)
    assert full.shape == (2, 80, 32)
    torch.testing.assert_close(enc(x).flatten(1, 2), full)


def test_linear_probe_averages_bodies_then_batchnorm_without_affine():
    head = LinearProbeHead(dim=4, num_classes=3).eval()
    assert head.norm.affine is False
    feats = torch.randn(2, 2, 3, 5, 4)
    pooled = feats.mean(dim=(1, 2, 3))
    by_hand = head.fc(head.norm(pooled))
    torch.testing.assert_close(head(feats), by_hand)


def test_decoder_places_kept_tokens_and_mask_tokens():
    dec = MaskedMotionDecoder(
        num_segments=2,
        num_joints=3,
        encoder_dim=8,
        out_dim=12,
        dim=8,
        depth=0,
        num_heads=2,
        mlp_dim=16,
    )
    kept = torch.randn(1, 2, 8)
    keep_index = torch.tensor([[1, 4]])
    out = dec(kept, keep_index)
    assert out.shape == (1, 6, 12)
    # with depth 0 the decoder is LN(projection + positions) → FC; check a kept and a masked token
    pos = (dec.positional_embedding.temporal + dec.positional_embedding.spatial).reshape(6, 8)
    norm, fc = dec.transformer.norm, dec.prediction
    torch.testing.assert_close(out[0, 4], fc(norm(dec.input_projection(kept[0, 1]) + pos[4])))
    torch.testing.assert_close(out[0, 0], fc(norm(dec.mask_token[0, 0] + pos[0])))


def test_mamp_fine_tune_head_by_hand():
    from torch import nn

    head = FineTuneHead(dim=2, num_joints=3, num_classes=4, hidden_dim=5).eval()
    features = torch.randn(2, 2, 4, 3, 2)  # (B, M, Te, V, D)
    pooled = features.mean(dim=2).reshape(2, 2, 6).mean(dim=1)  # mean T, flatten V·D, mean M
    expected = head.fc2(torch.relu(head.norm(head.fc1(pooled))))
    torch.testing.assert_close(head(features), expected)
    assert head.fc1.in_features == 6 and isinstance(head.norm, nn.BatchNorm1d)
    assert head.dropout.p == 0.3
    bound = (6 / (6 + 5)) ** 0.5
    assert head.fc1.weight.abs().max() <= bound and torch.all(head.fc1.bias == 0)


def test_an_encoder_moves_to_another_layout_through_its_spatial_embedding():
    from masksem_core.model.encoder import SPATIAL_EMBEDDING, encoder_state_for_layout
    from masksem_core.skeleton import KINECT_V1_20, NTU25

    source = tiny_encoder(20).state_dict()
    moved = encoder_state_for_layout(source, KINECT_V1_20, NTU25)
    target = tiny_encoder(25)
    target.load_state_dict(moved)  # every key fits, shapes included
    spatial = moved[SPATIAL_EMBEDDING][0, 0]  # (25, D)
    assert torch.equal(spatial[NTU25.index("neck")], source[SPATIAL_EMBEDDING][0, 0, 2])
    assert torch.equal(spatial[NTU25.index("right_hand_tip")], source[SPATIAL_EMBEDDING][0, 0, 11])
    shared = [k for k in source if k != SPATIAL_EMBEDDING]
    assert all(torch.equal(moved[k], source[k]) for k in shared)
    assert encoder_state_for_layout(source, KINECT_V1_20, KINECT_V1_20) is source
