"""Ensembles as one ONNX file: the mixture by hand, the merged graph against its members run
one by one, and members that cannot be combined."""

import numpy as np
import pytest
import torch

from masksem_core.data.stream import BACKGROUND
from masksem_core.export.ensemble import (
    EnsembleError,
    ensemble_info,
    merge_classifiers,
    mixed_logits,
)
from masksem_core.export.onnx_export import export_classifier
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.runtime.session import ActionSession
from masksem_core.skeleton import get_layout
from masksem_core.window_spec import WindowSpec
from masksem_core.yardstick.classifier import YardstickClassifier

SPEC = WindowSpec("kinect_v1_20", "stream", frames=8, seconds=1.0, fps=8.0)
CLASSES = ("down", "up", BACKGROUND)


def member(tmp_path, name: str, seed: int, classes=CLASSES):
    torch.manual_seed(seed)
    model = YardstickClassifier(get_layout("kinect_v1_20"), 8, 4, len(classes)).eval()
    torch.nn.init.normal_(model.linear.weight)
    info = ModelInfo(classes, SPEC, 4, background_class=BACKGROUND)
    return export_classifier(model, tmp_path / f"{name}.onnx", info)


def test_mixture_by_hand():
    first = np.array([[0.0, np.log(3.0)]])  # probabilities 1/4, 3/4
    second = np.array([[0.0, 0.0]])  # 1/2, 1/2
    expected = 0.25 * np.log([[0.25, 0.75]]) + 0.75 * np.log([[0.5, 0.5]])
    np.testing.assert_allclose(mixed_logits([first, second], [0.25, 0.75]), expected)


def test_merged_file_equals_its_members(tmp_path):
    paths = [member(tmp_path, "a", 0), member(tmp_path, "b", 1)]
    info = ensemble_info(paths, [0.3, 0.7])
    out = merge_classifiers(paths, [0.3, 0.7], tmp_path / "ensemble.onnx", info)
    windows = np.random.default_rng(3).normal(size=(5, 2, 8, 20, 3)).astype(np.float32)
    expected = mixed_logits([ActionSession(p).logits(windows) for p in paths], [0.3, 0.7])
    session = ActionSession(out)
    np.testing.assert_allclose(session.logits(windows), expected, atol=1e-4)
    assert session.info.class_names == CLASSES and "0.3·a.onnx + 0.7·b.onnx" in info.experiment


def test_members_of_other_classes_are_refused(tmp_path):
    paths = [member(tmp_path, "a", 0), member(tmp_path, "c", 1, ("sit", "up", BACKGROUND))]
    with pytest.raises(EnsembleError, match="must share classes"):
        merge_classifiers(
            paths, [0.5, 0.5], tmp_path / "e.onnx", ensemble_info(paths[:1] * 2, [0.5, 0.5])
        )
    with pytest.raises(EnsembleError, match="≥ 2 members"):
        merge_classifiers(
            paths[:1], [1.0], tmp_path / "e.onnx", ensemble_info(paths[:1] * 2, [1, 0])
        )
