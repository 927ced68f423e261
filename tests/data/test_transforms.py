import numpy as np
import pytest

from masksem_core.config import load_experiment
from masksem_core.data.transforms import (
    BodyNormalisation,
    Centre,
    Compose,
    ModelInput,
    RandomCropResize,
    RandomMirror,
    RandomRotation,
    training_transform,
)
from masksem_core.window_spec import WindowSpec
from masksem_core.windows import rotation_matrix


def ramp(frames: int) -> np.ndarray:
    """(1, frames, 1, 3): every coordinate of frame t equals t."""
    return np.repeat(np.arange(frames, dtype=np.float32)[None, :, None, None], 3, axis=3)


def test_random_crop_resize_takes_a_contiguous_part_at_the_natural_order():
    window = RandomCropResize(window=8, ratio_range=(0.5, 0.5), min_length=1)(
        ramp(20), np.random.default_rng(0)
    )[0, :, 0, 0]
    # 10 of 20 frames, resampled to 8: a linear ramp of slope 9/7 starting at the offset
    assert window.shape == (8,) and 0 <= window[0] <= 10
    np.testing.assert_allclose(np.diff(window), 9 / 7, rtol=1e-5)


def test_model_input_is_the_specs_deterministic_centre_crop():
    spec = WindowSpec("ntu25", frames=5, crop_ratio=0.5, min_crop_frames=1)
    transform = ModelInput(spec)
    assert not transform.random
    clip = np.repeat(ramp(20) + 1.0, 25, axis=2)  # (1, 20, 25, 3), centred on frame 0
    window = transform(clip)[0, :, 0, 0]
    np.testing.assert_allclose(window, [5, 7.25, 9.5, 11.75, 14])  # frames 5..14, centred


def test_centre_moves_the_first_frames_centre_joint_to_the_origin():
    clip = np.repeat(ramp(4) + 2.0, 25, axis=2)
    centred = Centre("ntu25")(clip)
    np.testing.assert_allclose(centred[0, :, 1, 0], [0, 1, 2, 3])


def test_random_rotation_by_hand_and_per_axis_range():
    x = np.zeros((2, 1, 2, 3), dtype=np.float32)
    x[0, 0, 0] = [1, 0, 0]
    x[0, 0, 1] = [0, 1, 0]  # body 1 absent: all zeros
    rotated = RandomRotation((0.0, 0.0, 1.0))(x, np.random.default_rng(4))
    angle = np.random.default_rng(4).uniform(-1.0, 1.0, size=3)[2]  # the z angle drawn
    np.testing.assert_allclose(rotated[0, 0, 0], [np.cos(angle), np.sin(angle), 0], atol=1e-6)
    np.testing.assert_allclose(rotated[0, 0, 1], [-np.sin(angle), np.cos(angle), 0], atol=1e-6)
    assert not rotated[1].any()
    np.testing.assert_allclose(
        rotation_matrix(np.array([0.0, 0.0, angle])) @ [1, 0, 0], rotated[0, 0, 0], atol=1e-6
    )


def test_compose_applies_in_order_and_is_random_if_any_part_is():
    crop = ModelInput(WindowSpec("ntu25", frames=4, crop_ratio=1.0, min_crop_frames=1))
    pipeline = Compose((crop, RandomRotation((0.0, 0.0, 0.0))))
    assert pipeline.random and not Compose((crop,)).random
    clip = np.repeat(ramp(7), 25, axis=2)
    np.testing.assert_allclose(pipeline(clip, np.random.default_rng(0)), crop(clip))


def test_pipelines_follow_the_config():
    config = load_experiment("demo", ["data.rotation=[0, 1.0, 0]", "data.test_crop=0.8"])
    train = training_transform(config.data, "ntu25")
    assert [type(t) for t in train.transforms] == [Centre, RandomCropResize, RandomRotation]
    assert train.transforms[2].max_angles == (0.0, 1.0, 0.0)
    off = load_experiment("demo", ["data.rotation=[0, 0, 0]"])
    kinds = [type(t) for t in training_transform(off.data, "ntu25").transforms]
    assert kinds == [Centre, RandomCropResize]
    spec = WindowSpec.from_data_config(config.data, "ntu25", fps=30.0)
    assert (spec.crop_ratio, spec.min_crop_frames, spec.frames) == (0.8, 64, 120)


def test_random_mirror_swaps_left_and_right_and_negates_x():
    from masksem_core.skeleton import KINECT_V1_20

    layout = KINECT_V1_20

    clip = np.zeros((1, 2, 20, 3), dtype=np.float32)
    clip[0, :, layout.index("left_hand")] = [-0.3, 1.0, 0.2]
    clip[0, :, layout.index("right_hand")] = [0.4, 0.5, 0.1]
    clip[0, :, layout.index("head")] = [0.05, 1.6, 0.0]
    always, never = RandomMirror("kinect_v1_20", 1.0), RandomMirror("kinect_v1_20", 0.0)
    mirrored = always(clip, np.random.default_rng(0))
    np.testing.assert_allclose(mirrored[0, :, layout.index("right_hand")], [[0.3, 1.0, 0.2]] * 2)
    np.testing.assert_allclose(mirrored[0, :, layout.index("left_hand")], [[-0.4, 0.5, 0.1]] * 2)
    np.testing.assert_allclose(mirrored[0, :, layout.index("head")], [[-0.05, 1.6, 0.0]] * 2)
    np.testing.assert_array_equal(always(mirrored, np.random.default_rng(0)), clip)
    np.testing.assert_array_equal(never(clip, np.random.default_rng(0)), clip)


def test_mirror_augmentation_follows_the_config():
    config = load_experiment("demo", ["data.mirror=0.5"])
    kinds = [type(t) for t in training_transform(config.data, "ntu25").transforms]
    assert kinds == [Centre, RandomCropResize, RandomMirror, RandomRotation]
    assert load_experiment("paper").data.mirror == 0.0


@pytest.mark.parametrize("name", ["demo", "ntu60_xsub", "paper"])
def test_paper_configs_keep_mamps_augmentation(name):
    data = load_experiment(name).data
    assert data.rotation == (0.3, 0.3, 0.3) and data.train_crop == (0.5, 1.0)
    assert data.test_crop == 0.95 and data.min_crop_frames == 64


def canonical_skeleton() -> np.ndarray:
    """(1, 2, 25, 3): an NTU-25 skeleton in its own body frame (hips along x, spine along y,
    torso 0.5 m), standing still for two frames."""
    from masksem_core.skeleton import NTU25

    pose = np.random.default_rng(0).normal(scale=0.1, size=(25, 3))
    pose[NTU25.index("left_hip")] = [-0.1, 0.0, 0.0]
    pose[NTU25.index("right_hip")] = [0.1, 0.0, 0.0]
    pose[NTU25.index("left_shoulder")] = [-0.2, 0.5, 0.0]
    pose[NTU25.index("right_shoulder")] = [0.2, 0.5, 0.0]
    return np.repeat(pose[None, None], 2, axis=1).astype(np.float32)


def test_a_rotated_skeleton_normalises_back_to_the_canonical_one():
    canonical = canonical_skeleton()
    rotation = rotation_matrix(np.array([0.4, -1.1, 2.0]))
    seen = (canonical @ rotation.T) * 1.7  # another camera, another person's size
    view = BodyNormalisation("ntu25", normalise_view=True, normalise_scale=False)
    np.testing.assert_allclose(view(seen), canonical * 1.7, atol=1e-5)
    both = BodyNormalisation("ntu25", normalise_view=True, normalise_scale=True)
    np.testing.assert_allclose(both(seen), canonical / 0.5, atol=1e-5)  # torso 0.5 m → 1


def test_scale_normalisation_makes_the_torso_length_one_and_keeps_absent_bodies_zero():
    from masksem_core.skeleton import NTU25

    x = np.concatenate([canonical_skeleton() * 3.0, np.zeros((1, 2, 25, 3), np.float32)])
    out = BodyNormalisation("ntu25", normalise_view=False, normalise_scale=True)(x)
    hips = (out[0, 0, NTU25.index("left_hip")] + out[0, 0, NTU25.index("right_hip")]) / 2
    shoulders = (
        out[0, 0, NTU25.index("left_shoulder")] + out[0, 0, NTU25.index("right_shoulder")]
    ) / 2
    assert np.linalg.norm(shoulders - hips) == pytest.approx(1.0, rel=1e-5)
    assert not out[1].any()
    assert not BodyNormalisation("ntu25", True, True)(np.zeros((1, 3, 25, 3), np.float32)).any()


def test_normalisation_joins_the_pipelines_when_asked():
    on = load_experiment("demo", ["data.normalise_view=true", "data.normalise_scale=true"]).data
    names = [type(t).__name__ for t in training_transform(on, "ntu25").transforms]
    assert names == ["Centre", "RandomCropResize", "BodyNormalisation", "RandomRotation"]
    spec = WindowSpec.from_data_config(on, "ntu25", fps=30.0)
    assert spec.normalise_view and spec.normalise_scale
