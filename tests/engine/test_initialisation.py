"""Where a fine-tune starts: the from-scratch twin is the init's architecture, and a
contradicting model.* override or another input than the pretraining's is refused."""

import pytest

from masksem_core.config import load_experiment
from masksem_core.engine.builders import build_classifier
from masksem_core.engine.initialisation import resolve_initialisation
from masksem_core.errors import ConfigError
from tests.conftest import REPO, run_script

ENCODER = str(REPO / "models" / "general_encoder.pt")


def parameters(config) -> int:
    model = build_classifier(config.model, 20, config.data.window, 11, head="mlp")
    return sum(p.numel() for p in model.encoder.parameters())


def test_the_from_scratch_twin_is_the_init_model():
    config = load_experiment("nw_ucla_xview")  # its YAML says 8×256
    started, init, _ = resolve_initialisation(config, ENCODER, False, {})
    twin, none, _ = resolve_initialisation(config, ENCODER, True, {})
    assert init == ENCODER and none is None
    assert (twin.model.depth, twin.model.dim) == (3, 64) == (started.model.depth, started.model.dim)
    assert parameters(twin) == parameters(started) == 104_576
    assert parameters(config) > 6_000_000  # what --no-init built before


def test_a_contradicting_model_override_is_refused_naming_both():
    config = load_experiment("nw_ucla_xview", ["model.dim=32"])
    for no_init in (False, True):
        with pytest.raises(ConfigError, match=r"3×64 .* but model.dim=32"):
            resolve_initialisation(config, ENCODER, no_init, {"dim": 32})
    agreeing, _, _ = resolve_initialisation(config, ENCODER, False, {"depth": 3})
    assert agreeing.model.depth == 3


def test_another_input_than_the_pretraining_is_refused_unless_allowed():
    config = load_experiment("gtu_stratified")  # normalisation off; the encoder's was on
    with pytest.raises(ConfigError, match="data.normalise_view: pretrained True, this run False"):
        resolve_initialisation(config, ENCODER, False, {})
    _, _, allowed = resolve_initialisation(config, ENCODER, False, {}, allow_input_mismatch=True)
    assert allowed == [
        "data.normalise_view: pretrained True, this run False",
        "data.normalise_scale: pretrained True, this run False",
    ]
    matching = load_experiment(
        "gtu_stratified", ["data.normalise_view=true", "data.normalise_scale=true"]
    )
    assert resolve_initialisation(matching, ENCODER, False, {})[2] == []
    assert resolve_initialisation(config, ENCODER, True, {})[2] == []  # scratch: no input to match


def test_the_refusals_and_the_seed_on_the_command_line(tmp_path):
    refused = run_script("finetune", "--config", "gtu_stratified", "--init", ENCODER)
    assert refused.returncode == 2 and "normalise_view" in refused.stderr
    assert not (tmp_path / "runs").exists()
    wrong = run_script("finetune", "--config", "demo", "--init", ENCODER, "model.dim=32")
    assert wrong.returncode == 2 and "model.dim=32" in wrong.stderr
    printed = run_script("finetune", "--config", "demo", "--seed", "3", "--print-config")
    assert printed.returncode == 0 and "\nseed: 3\n" in printed.stdout
    assert "label_seed: 3" in printed.stdout
    for bad in ("-1", "1.5"):
        result = run_script("finetune", "--config", "demo", "--seed", bad, "--print-config")
        assert result.returncode == 2 and "--seed" in result.stderr
