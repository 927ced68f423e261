"""The model's input contract: the live recognizer's window is the training evaluation's window
for every shipped config, and the specification survives the ONNX file."""

import json
import subprocess
import sys

import numpy as np
import pytest

from masksem_core.config import load_experiment, shipped_configs
from masksem_core.data.datasets import SPECS
from masksem_core.data.prepared import PreparedData, write_prepared
from masksem_core.data.sequence import SkeletonSequence
from masksem_core.data.stream import BACKGROUND
from masksem_core.engine.builders import evaluation_windows, window_spec
from masksem_core.export.onnx_export import export_classifier
from masksem_core.model import ActionClassifier, LinearProbeHead, SkeletonEncoder
from masksem_core.runtime.model_info import ModelFileError, ModelInfo
from masksem_core.runtime.recognizer import LiveRecognizer, LiveSettings
from masksem_core.runtime.session import ActionSession
from masksem_core.skeleton import get_layout
from masksem_core.window_spec import WindowSpec, WindowSpecError

FPS = 30.0
CASES = [(name, ()) for name in sorted(shipped_configs())] + [("demo", ("data.test_crop=0.8",))]


class RecordingSession(ActionSession):
    """The real ONNX session, keeping the inputs the recognizer gives it."""

    inputs: list[np.ndarray]

    def probabilities(self, windows: np.ndarray) -> np.ndarray:
        self.inputs.append(windows.copy())
        return super().probabilities(windows)


def moving_person(layout: str, frames: int, seed: int) -> np.ndarray:
    """(1, frames, V, 3): a standing body (hips and shoulders apart) that walks and waves."""
    spec = get_layout(layout)
    rng = np.random.default_rng(seed)
    pose = rng.normal(scale=0.2, size=(spec.num_joints, 3)) + np.array([0.3, 0.1, 2.5])
    for name, x, y in (("left_hip", -0.1, 0), ("right_hip", 0.1, 0)):
        pose[spec.index(name)] = [x + 0.3, y + 0.1, 2.5]
    for name, x in (("left_shoulder", -0.2), ("right_shoulder", 0.2)):
        pose[spec.index(name)] = [x + 0.3, 0.6, 2.5]
    t = np.arange(frames)[:, None, None] / FPS
    motion = 0.2 * np.sin(2 * np.pi * 0.7 * t + rng.uniform(0, 6, size=(1, spec.num_joints, 1)))
    walk = 0.4 * t * np.array([1.0, 0.0, 0.0])  # 0.4 m/s along x
    return (pose[None] + motion + walk)[None].astype(np.float32)


def tiny_dataset(root, layout: str) -> PreparedData:
    """One 2.5 s clip of one person at 30 Hz, in the prepared format."""
    spec = get_layout(layout)
    sequence = SkeletonSequence("clip", 0, moving_person(layout, 76, 0))
    write_prepared(
        root,
        [sequence],
        lambda samples: {"test": [0]},
        {"dataset": "tiny", "layout": layout, "class_names": ["a", "b"], "fps": FPS},
        1,
        spec.num_joints,
        centre_joint=spec.index(spec.centre_joint),
    )
    return PreparedData(root)


def exported_session(config, prepared: PreparedData, path) -> RecordingSession:
    spec = window_spec(config.data, prepared)
    classes = ("a", "b", BACKGROUND) if spec.mode == "stream" else ("a", "b")
    encoder = SkeletonEncoder(spec.num_joints, dim=16, depth=1, num_heads=2, mlp_dim=32)
    model = ActionClassifier(encoder, LinearProbeHead(16, len(classes))).eval()
    info = ModelInfo(classes, spec, segment_length=4)
    session = RecordingSession(export_classifier(model, path, info), threads=1)
    session.inputs = []
    return session


@pytest.mark.parametrize(("name", "overrides"), CASES, ids=[" ".join((n, *o)) for n, o in CASES])
def test_the_live_window_is_the_training_evaluation_window(name, overrides, tmp_path):
    """A sequence played through ``LiveRecognizer`` as a timeline gives, through an exported
    model's metadata, exactly the window the config's training evaluation gives."""
    config = load_experiment(name, list(overrides))
    # the demo's layout, and that of a user's pyskl clips (trimmed_clips) in this test
    own = config.data.dataset in ("demo", "pyskl")
    layout = "ntu25" if own else SPECS[config.data.dataset].layout.name
    prepared = tiny_dataset(tmp_path / "data", layout)
    session = exported_session(config, prepared, tmp_path / "m.onnx")
    spec = session.info.window_spec
    assert spec == window_spec(config.data, prepared)  # the metadata holds it whole
    evaluated, _ = evaluation_windows(prepared, "test", config.data)[0]
    if spec.mode == "stream":
        dataset = evaluation_windows(prepared, "test", config.data)
        frames, stamps, _, action = dataset.timeline(0, np.random.default_rng(0), False)
        keep = stamps <= action.end + 1e-9
        frames, stamps, history = frames[keep], stamps[keep], 0.0
    else:
        frames = prepared.sequence(0).transpose(1, 0, 2, 3)  # (T, M, V, C)
        stamps = np.arange(len(frames)) / FPS
        history = float(stamps[-1])  # the recognizer's history is the whole clip
    settings = LiveSettings(window_seconds=history, stride_seconds=1e-3, score_threshold=0.0)
    recognizer = LiveRecognizer(session, settings, lambda _: None, pytest.fail, background=False)
    for stamp, frame in zip(stamps, frames, strict=True):
        recognizer.on_message(round(stamp * 1e9), frame.reshape(-1, 3))
    np.testing.assert_allclose(session.inputs[-1][0], evaluated.numpy(), atol=1e-5)


def legacy_model(path, **props: str) -> str:
    """A tiny model whose metadata is what exports before the window specification wrote."""
    import onnx

    encoder = SkeletonEncoder(25, dim=16, depth=1, num_heads=2, mlp_dim=32)
    model = ActionClassifier(encoder, LinearProbeHead(16, 2)).eval()
    export_classifier(model, path, ModelInfo(("a", "b"), WindowSpec("ntu25"), 4))
    graph = onnx.load(str(path))
    kept = {p.key: p.value for p in graph.metadata_props if p.key != "window_spec"}
    del graph.metadata_props[:]
    for key, value in {**kept, "layout": "ntu25", "window": "120", **props}.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.save(graph, str(path))
    return str(path)


def test_a_model_exported_before_the_spec_loads_with_a_note(tmp_path):
    clip = ActionSession(legacy_model(tmp_path / "clip.onnx"), threads=1).info
    assert clip.window_spec == WindowSpec("ntu25")
    assert len(clip.notes) == 1 and "crop ratio" in clip.notes[0] and "0.95" in clip.notes[0]
    stream = ActionSession(
        legacy_model(
            tmp_path / "stream.onnx",
            window_mode="stream",
            window_seconds="3.0",
            view_normalisation="True",
            scale_normalisation="True",
        ),
        threads=1,
    ).info
    expected = WindowSpec("ntu25", "stream", seconds=3.0, normalise_view=True, normalise_scale=True)
    assert stream.window_spec == expected and "do not matter" in stream.notes[0]


def test_the_spec_round_trips_and_refuses_what_it_cannot_read():
    spec = WindowSpec("kinect_v1_20", "stream", seconds=4.0, fps=7.5, normalise_view=True)
    assert WindowSpec.from_json(spec.to_json(), "m.onnx") == spec
    future = json.loads(spec.to_json()) | {"version": 99}
    with pytest.raises(WindowSpecError, match="m.onnx: window_spec version 99"):
        WindowSpec.from_json(json.dumps(future), "m.onnx")
    with pytest.raises(WindowSpecError, match=r"unknown fields \['colour'\]"):
        WindowSpec.from_json(json.dumps(json.loads(spec.to_json()) | {"colour": 1}), "m.onnx")
    with pytest.raises(WindowSpecError, match="a stream window needs seconds > 0"):
        WindowSpec("ntu25", "stream")
    with pytest.raises(ModelFileError, match="window_spec is not JSON"):
        ModelInfo.from_metadata(
            {"class_names": '["a"]', "segment_length": "4", "window_spec": "{"}, "m.onnx"
        )


def test_a_window_of_the_wrong_layout_is_refused_by_name():
    spec = WindowSpec("kinect_v1_20")
    with pytest.raises(
        WindowSpecError, match=r"V = 20 \(layout kinect_v1_20\), got \(1, 9, 25, 3\)"
    ):
        spec.from_clip(np.zeros((1, 9, 25, 3), np.float32))
    with pytest.raises(WindowSpecError, match="use from_timeline"):
        WindowSpec("ntu25", "stream", seconds=2.0).from_clip(np.zeros((1, 9, 25, 3), np.float32))


def test_the_config_and_the_runtime_import_without_torch():
    code = (
        "import sys; sys.modules['torch'] = None; "
        "import masksem_core.config, masksem_core.runtime.recognizer, masksem_core.window_spec"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
