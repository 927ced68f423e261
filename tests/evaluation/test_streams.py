"""Test streams as another camera sees them: the rotation by hand, and a view-normalised model
deciding the same whatever the camera's yaw."""

import numpy as np
import pytest

from masksem_core.data.prepared import PreparedData
from masksem_core.evaluation.replay import offline_top1, reraise, score_scenario
from masksem_core.evaluation.streams import Scenario, Stream, build_scenarios, camera_yaw, seen_from
from masksem_core.runtime.recognizer import LiveRecognizer, LiveSettings
from masksem_core.runtime.session import ActionSession
from masksem_core.window_spec import WindowSpec
from masksem_core.windows import rotation_matrix


def test_camera_yaw_turns_about_the_vertical_axis_and_keeps_absent_bodies_zero():
    frames = np.zeros((2, 2, 3, 3), np.float32)  # (T, M, V, 3), second body absent
    frames[:, 0] = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    stream = Stream("s", np.array([0.0, 0.1]), frames, [("wave", 0.0, 0.1)])
    seen = seen_from(Scenario("alone", [stream], synthetic_idle=False), camera_yaw(90.0))
    turned = seen.streams[0]
    # 90° about y: x → −z, y stays, z → x
    np.testing.assert_allclose(turned.frames[0, 0], [[0, 0, -1], [0, 1, 0], [1, 0, 0]], atol=1e-6)
    assert not turned.frames[:, 1].any()
    assert turned.actions == stream.actions and turned.stamps is stream.stamps
    assert seen.name == "alone" and not seen.synthetic_idle
    np.testing.assert_allclose(camera_yaw(0.0)(frames), frames)
    np.testing.assert_allclose(
        camera_yaw(30.0)(frames),
        frames @ rotation_matrix(np.array([0.0, np.pi / 6, 0.0])).T,
        atol=1e-6,
    )


def exported(tmp_path, prepared: PreparedData, normalised: bool) -> ActionSession:
    """A stream-mode model (random weights) trained with or without the body normalisation."""
    from masksem_core.export.onnx_export import export_classifier
    from masksem_core.model import ActionClassifier, LinearProbeHead, SkeletonEncoder
    from masksem_core.runtime.model_info import ModelInfo

    classes = (*prepared.class_names, "no action")
    encoder = SkeletonEncoder(25, dim=32, depth=1, num_heads=2, mlp_dim=64)
    model = ActionClassifier(encoder, LinearProbeHead(32, len(classes))).eval()
    meta = ModelInfo(
        classes,
        WindowSpec(
            prepared.meta["layout"],
            "stream",
            seconds=2.0,
            normalise_view=normalised,
            normalise_scale=normalised,
        ),
        segment_length=4,
        background_class="no action",
    )
    return ActionSession(export_classifier(model, tmp_path / f"{normalised}.onnx", meta))


def live_probabilities(stream: Stream, session: ActionSession) -> np.ndarray:
    """(decisions, K) raw probabilities the live recognizer computes along the stream."""
    decisions = []
    recognizer = LiveRecognizer(
        session, LiveSettings(), decisions.extend, reraise, background=False
    )
    for stamp, frame in zip(stream.stamps, stream.frames, strict=True):
        recognizer.on_message(round(stamp * 1e9), frame[:1].reshape(-1, 3))
    return np.stack([d.probabilities for d in decisions])


@pytest.mark.parametrize("normalised", [True, False])
def test_only_a_view_normalised_model_decides_the_same_from_any_camera_yaw(
    tmp_path, demo_root, normalised
):
    prepared = PreparedData(demo_root)
    session = exported(tmp_path, prepared, normalised)
    scenario = build_scenarios(prepared, "xsub_test")[1]  # standing still → action → still
    scenario = Scenario(scenario.name, scenario.streams[:2], scenario.synthetic_idle)
    moved = seen_from(scenario, camera_yaw(70.0))
    for here, elsewhere in zip(scenario.streams, moved.streams, strict=True):
        same = np.allclose(
            live_probabilities(here, session), live_probabilities(elsewhere, session), atol=1e-4
        )
        assert same == normalised
    if normalised:  # and so are the scores, online and offline
        settings = LiveSettings()
        assert score_scenario(scenario, session, settings) == score_scenario(
            moved, session, settings
        )
        top1 = offline_top1(session, prepared, "xsub_test")
        assert offline_top1(session, prepared, "xsub_test", camera_yaw(70.0)) == top1
