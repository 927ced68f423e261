"""The yardstick's logistic regression: it fits what is linearly separable, refuses NaN, and
exports to ONNX with the same logits."""

import numpy as np
import pytest
import torch

from masksem_core.data.stream import BACKGROUND
from masksem_core.runtime.model_info import ModelInfo
from masksem_core.runtime.session import ActionSession
from masksem_core.skeleton import get_layout
from masksem_core.window_spec import WindowSpec
from masksem_core.yardstick.classifier import YardstickClassifier, top1
from masksem_core.yardstick.features import YardstickError
from masksem_core.yardstick.study import export_yardstick

LAYOUT = get_layout("kinect_v1_20")


def raised_hands(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(n, 1, 8, 20, 3) noisy standing bodies; class 1 raises its right hand over the window,
    class 0 keeps it down."""
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=0.01, size=(n, 1, 8, 20, 3)).astype(np.float32)
    x[..., LAYOUT.index("left_shoulder"), 1] += 0.5
    x[..., LAYOUT.index("right_shoulder"), 1] += 0.5
    x[..., LAYOUT.index("left_hip"), 0] -= 0.1
    x[..., LAYOUT.index("right_hip"), 0] += 0.1
    labels = np.arange(n) % 2
    x[labels == 1, 0, :, LAYOUT.index("right_hand"), 1] += np.linspace(0, 0.6, 8, dtype=np.float32)
    return torch.from_numpy(x), torch.from_numpy(labels)


def test_fits_a_separable_problem_and_generalises():
    model = YardstickClassifier(LAYOUT, window=8, frames=4, classes=2)
    x, y = raised_hands(80, seed=0)
    loss = model.fit(model.encode(x), y, l2=1.0)
    assert loss < 0.5
    test_x, test_y = raised_hands(20, seed=1)
    with torch.no_grad():
        assert top1(model(test_x).numpy(), test_y.numpy()) == 1.0
    assert torch.allclose(model.mean, model.encode(x).mean(0))


def test_nan_windows_are_refused():
    model = YardstickClassifier(LAYOUT, window=8, frames=4, classes=2)
    x, _ = raised_hands(2, seed=0)
    x[0, 0, 3, 5, 1] = float("nan")
    with pytest.raises(YardstickError, match="NaN"):
        model.encode(x)


def test_onnx_export_gives_the_same_logits(tmp_path):
    model = YardstickClassifier(LAYOUT, window=8, frames=4, classes=3)
    x, y = raised_hands(30, seed=0)
    model.fit(model.encode(x), y, l2=1e-1)
    spec = WindowSpec("kinect_v1_20", "stream", frames=8, seconds=1.0, fps=8.0)
    info = ModelInfo(("down", "up", BACKGROUND), spec, 4, background_class=BACKGROUND)
    report = export_yardstick(model.eval(), info, tmp_path / "y.onnx", None, 0.1, "action_mass")
    assert report["parity"]["same_argmax"]
    session = ActionSession(tmp_path / "y.onnx")
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(session.logits(x.numpy()), expected, atol=1e-4)
    two_bodies = np.concatenate([x.numpy(), np.zeros_like(x.numpy())], axis=1)
    np.testing.assert_allclose(session.logits(two_bodies), expected, atol=1e-4)
