"""The deploy configs start from the shipped general encoder; --no-init trains from scratch."""

import pytest

from masksem_core.config import load_experiment
from masksem_core.engine.checkpoint import load_pretrained_encoder
from masksem_core.engine.distributed import setup_distributed
from masksem_core.engine.tasks import FineTuning
from masksem_core.shipped import locate_shipped
from tests.conftest import REPO

ENCODER = REPO / "models" / "general_encoder.pt"


def test_the_shipped_general_encoder_and_its_card_are_in_the_repository():
    model_cfg, state, layout = load_pretrained_encoder(ENCODER)
    assert layout == "kinect_v1_20" and (model_cfg.depth, model_cfg.dim) == (3, 64)
    assert {key.split(".")[0] for key in state} == {
        "joint_embedding",
        "positional_embedding",
        "transformer",
    }  # the encoder alone: no offline encoder, decoder or optimiser
    card = ENCODER.with_suffix(".md").read_text()
    for source in ("nw_ucla", "gtu", "utkinect", "ntu_samples"):
        assert f"| {source} |" in card


@pytest.mark.parametrize("name", ["utkinect_deploy"])
def test_a_deploy_config_starts_from_the_general_encoder(name, monkeypatch):
    monkeypatch.chdir(REPO)
    config = load_experiment(name)
    assert locate_shipped(config.finetune.init).resolve() == ENCODER.resolve()
    builder = FineTuning(config, setup_distributed("cpu"), config.finetune.init)
    assert builder.init_layout == "kinect_v1_20" and builder.encoder_state is not None
    assert builder.model_cfg.dim == 64
