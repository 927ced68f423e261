import pytest
import torch

from masksem_core.model import ActionClassifier, LinearProbeHead
from tests.conftest import tiny_encoder


@pytest.fixture
def model():
    enc = tiny_encoder(25)
    return ActionClassifier(enc, LinearProbeHead(enc.dim, 3)).eval()


def test_wrong_rank_names_expected_shape(model):
    with pytest.raises(ValueError, match=r"\(B, M, T=16, V=25, C=3\).*rank 4"):
        model(torch.zeros(1, 16, 25, 3))


def test_t_not_divisible_by_segment_length(model):
    with pytest.raises(ValueError, match="T=15 is not divisible by the segment length 4"):
        model(torch.zeros(1, 1, 15, 25, 3))


def test_wrong_window_length(model):
    with pytest.raises(ValueError, match="got T=20; resample windows to 16"):
        model(torch.zeros(1, 1, 20, 25, 3))


def test_wrong_joint_count(model):
    with pytest.raises(ValueError, match="V=24"):
        model(torch.zeros(1, 1, 16, 24, 3))


def test_nan_is_reported_with_its_index(model):
    x = torch.zeros(1, 2, 16, 25, 3)
    x[0, 1, 5, 7, 2] = float("nan")
    expected = r"NaN/inf, first at index \(b, m, t, v, c\)=\(0, 1, 5, 7, 2\)"
    with pytest.raises(ValueError, match=expected):
        model(x)


def test_integer_input_rejected(model):
    with pytest.raises(ValueError, match="floating-point"):
        model(torch.zeros(1, 1, 16, 25, 3, dtype=torch.int64))
