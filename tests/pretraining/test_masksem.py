import pytest
import torch

from masksem_core.pretraining.config import PRESETS, MaskSemConfig
from masksem_core.pretraining.masksem import MaskSem
from masksem_core.pretraining.reference import average_motion_reference
from masksem_core.skeleton import KINECT_V1_20, NTU25, layout_for_joint_count
from tests.conftest import tiny_encoder


def build(num_joints=25, **options):
    model = MaskSem(
        tiny_encoder(num_joints),
        layout_for_joint_count(num_joints),
        MaskSemConfig.from_dict(options),
        decoder_dim=32,
        decoder_depth=1,
        decoder_heads=4,
        decoder_mlp_dim=64,
    )
    return model


def smooth_batch(batch=2, bodies=2, joints=25, frames=16):
    """Every joint follows one sinusoid per body with its own fixed amplitude: any kept token
    reveals the body's phase, so masked motion is predictable and the loss can be driven down."""
    t = torch.linspace(0, 1, frames)[None, None, :, None, None]
    phase = torch.rand(batch, bodies, 1, 1, 1) * 6.28
    amplitude = torch.linspace(0.1, 0.5, joints * 3).reshape(1, 1, 1, joints, 3)
    return torch.sin(6.28 * t + phase) * amplitude


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("joints,bodies", [(25, 1), (20, 2)])
def test_every_preset_runs_for_any_layout(preset, joints, bodies):
    model = build(joints, preset=preset)
    x = smooth_batch(1, bodies, joints)
    model.set_reference(average_motion_reference([smooth_batch(4, 1, joints)]))
    loss, stats = model(x)
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert torch.isfinite(stats["pi_entropy"])


def test_default_is_the_paper():
    cfg = MaskSemConfig()
    assert (cfg.masking, cfg.target, cfg.reference, cfg.cam, cfg.loss_weighting) == (
        "semantic",
        "hybrid",
        "dataset",
        "paper",
        "pi",
    )
    assert cfg.mask_ratio == 0.9 and cfg.beta == 0.2


def test_overfits_a_tiny_fixed_batch_and_theta_gets_no_gradient():
    torch.manual_seed(0)
    model = build()
    x = smooth_batch()
    model.set_reference(average_motion_reference([x]))
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    losses = []
    for step in range(120):
        loss, _ = model(x, generator)
        optimiser.zero_grad()
        loss.backward()
        if step == 0:
            enc = model.encoder
            assert enc.joint_embedding.proj.weight.grad.abs().sum() > 0
            assert enc.positional_embedding.temporal.grad.abs().sum() > 0
            assert enc.transformer.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
            assert model.decoder.prediction.weight.grad.abs().sum() > 0
            assert model.decoder.mask_token.grad.abs().sum() > 0
            assert all(
                p.grad is None and not p.requires_grad for p in model.offline_encoder.parameters()
            )
        optimiser.step()
        model.update_offline_encoder()
        losses.append(loss.item())
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < 0.5 * first, (first, last)


def test_offline_encoder_follows_online_by_ema():
    model = build(ema_momentum=0.5)
    theta0 = model.offline_encoder.joint_embedding.proj.weight.clone()
    with torch.no_grad():
        model.encoder.joint_embedding.proj.weight.add_(1.0)
    model.update_offline_encoder()
    torch.testing.assert_close(model.offline_encoder.joint_embedding.proj.weight, theta0 + 0.5)


def test_pi_mean_one_is_the_paper_loss_times_the_token_count():
    x = smooth_batch()
    losses = {}
    for weighting in ("pi", "pi_mean_one"):
        torch.manual_seed(0)
        model = build(reference="batch", loss_weighting=weighting)
        losses[weighting] = model(x, torch.Generator().manual_seed(0))[0].item()
    assert losses["pi_mean_one"] == pytest.approx(losses["pi"] * 100, rel=1e-5)  # L = 100


def test_mamp_mode_has_no_offline_encoder_and_velocity_head():
    model = build(preset="mamp")
    assert model.offline_encoder is None
    assert model.decoder.prediction.out_features == 12
    assert build().decoder.prediction.out_features == 12  # one M^pred for both targets (eq. 14)
    assert build(prediction="separate").decoder.prediction.out_features == 24


def test_dataset_reference_must_be_set():
    model = build()
    with pytest.raises(ValueError, match="reference motion S̄ is not set"):
        model(smooth_batch())
    loss, _ = build(reference="batch")(smooth_batch())
    assert torch.isfinite(loss)
    with pytest.raises(ValueError, match="must have shape"):
        model.set_reference(torch.zeros(3, 25, 3))


def test_semantic_masking_masks_salient_tokens_more_than_random():
    model = build()
    x = smooth_batch(4, 1)
    model.set_reference(average_motion_reference([x]))
    log_pi = model.masking_log_distribution(x)
    assert log_pi.shape == (4, 100)
    torch.testing.assert_close(log_pi.exp().sum(dim=1), torch.ones(4))
    _, stats = model(x)
    assert stats["masked_pi_mass"] > 0.9  # 90 % of tokens masked, salient ones preferred


def test_bf16_step_keeps_the_masking_distribution_and_trains_theta_free():
    torch.manual_seed(0)
    model = build()
    x = smooth_batch(4, 1)
    model.set_reference(average_motion_reference([x]))
    exact = model.masking_log_distribution(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = model.masking_log_distribution(x)
        loss, _ = model(x)
    assert low.dtype == torch.float32 and not low.is_inference()
    torch.testing.assert_close(low.exp(), exact.exp(), rtol=0.05, atol=0.05 / exact.shape[1])
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is None for p in model.offline_encoder.parameters())
    assert all(p.dtype == torch.float32 for p in model.offline_encoder.parameters())


def test_bad_options_and_bad_input_are_clear():
    with pytest.raises(ValueError, match=r"pretraining.masking='block'"):
        MaskSemConfig(masking="block")
    with pytest.raises(ValueError, match="unknown key pretraining.mask_rate"):
        MaskSemConfig.from_dict({"mask_rate": 0.5})
    with pytest.raises(ValueError, match="unknown pretraining preset"):
        MaskSemConfig.from_dict({"preset": "bert"})
    with pytest.raises(ValueError, match="layout kinect_v1_20 has 20 joints"):
        MaskSem(tiny_encoder(25), KINECT_V1_20)
    model = build(reference="batch")
    with pytest.raises(ValueError, match="rank 4"):
        model(torch.zeros(2, 16, 25, 3))
    with pytest.raises(ValueError, match="not divisible by the segment length"):
        model(torch.zeros(1, 1, 18, 25, 3))
    x = smooth_batch()
    x[0, 0, 3, 3, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model(x)


def test_initialise_from_a_mamp_checkpoint():
    mamp = build(preset="mamp")
    masksem = build()
    assert masksem.initialise_from_pretrained(mamp.state_dict()) == []  # same M^pred shape
    separate = build(prediction="separate")
    fresh = separate.initialise_from_pretrained(mamp.state_dict())
    assert fresh == ["decoder.prediction.weight", "decoder.prediction.bias"]
    for name, value in mamp.encoder.state_dict().items():
        torch.testing.assert_close(masksem.encoder.state_dict()[name], value)
        torch.testing.assert_close(masksem.offline_encoder.state_dict()[name], value)
    official = build(preset="official")
    assert official.initialise_from_pretrained(mamp.state_dict()) == []
    broken = {k: v for k, v in mamp.state_dict().items() if "blocks.1" not in k}
    with pytest.raises(ValueError, match=r"missing \d+ keys"):
        masksem.initialise_from_pretrained(broken)
    wide = MaskSem(
        tiny_encoder(25, dim=64),
        NTU25,
        MaskSemConfig(),
        decoder_dim=32,
        decoder_depth=1,
        decoder_heads=4,
        decoder_mlp_dim=64,
    )
    with pytest.raises(ValueError, match="has shape"):
        masksem.initialise_from_pretrained(wide.state_dict())


def test_curriculum_runs_mamp_until_the_switch_then_copies_phi_into_theta():
    model = build(semantic_from_epoch=2)
    x = smooth_batch()
    model.set_reference(average_motion_reference([x]))
    model.begin_epoch(0)
    assert model.stage_objective() == ("motion", "velocity", "none")
    theta_before = model.offline_encoder.joint_embedding.proj.weight.clone()
    with torch.no_grad():
        model.encoder.joint_embedding.proj.weight.add_(1.0)  # φ moves during the MAMP stage
    model.update_offline_encoder()  # no EMA while θ is unused
    torch.testing.assert_close(model.offline_encoder.joint_embedding.proj.weight, theta_before)
    _, stats = model(x)
    assert set(k for k in stats if k.startswith("loss_")) == {"loss_velocity"}
    model.begin_epoch(1)
    assert model.stage_objective()[0] == "motion"
    model.begin_epoch(2)  # the switch: θ ← φ, semantic masking, hybrid target, π weights
    assert model.stage_objective() == ("semantic", "hybrid", "pi")
    for name, value in model.encoder.state_dict().items():
        torch.testing.assert_close(model.offline_encoder.state_dict()[name], value)
    _, stats = model(x)
    assert {"loss_velocity", "loss_acceleration"} <= set(stats)
    with pytest.raises(ValueError, match="needs pretraining.masking=semantic"):
        MaskSemConfig.from_dict({"preset": "mamp", "semantic_from_epoch": 3})
    with pytest.raises(ValueError, match="must be ≥ 0"):
        MaskSemConfig(semantic_from_epoch=-1)


def test_separate_outputs_predict_velocity_with_the_first_half():
    model = build(prediction="separate", semantic_from_epoch=1)
    x = smooth_batch()
    model.begin_epoch(0)
    loss, stats = model(x, torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and set(k for k in stats if k.startswith("loss_")) == {
        "loss_velocity"
    }
