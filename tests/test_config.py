import pytest

from masksem_core.config import (
    ExperimentConfig,
    describe,
    load_experiment,
    resolve_config_path,
    shipped_configs,
)
from masksem_core.errors import ConfigError
from masksem_core.pretraining.config import PRESETS


def test_every_shipped_config_loads_and_extends_the_paper():
    paper = load_experiment("paper")
    assert paper.pretrain.epochs == 400 and paper.model.depth == 8
    assert paper.pretrain.lr == 1e-3 and paper.linear.lr == 0.1
    assert set(shipped_configs()) >= {"ntu60_xsub", "nw_ucla_xview", "gtu_deploy", "demo"}
    for name in shipped_configs():
        config = load_experiment(name)
        if name != "paper":
            assert config.experiment == name
    assert load_experiment("ntu120_xsub").model.decoder_depth == 5
    assert load_experiment("ntu120_xsub").model.dim == 256  # inherited


def test_dotted_overrides_are_typed():
    config = load_experiment(
        "demo",
        ["pretrain.lr=5e-4", "pretrain.epochs=1", "pretraining.preset=mamp", "seed=3"],
    )
    assert config.pretrain.lr == 5e-4 and config.pretrain.epochs == 1
    assert config.pretraining.masking == "motion" and config.seed == 3
    assert load_experiment("demo", ["pretrain.betas=[0.8, 0.9]"]).pretrain.betas == (0.8, 0.9)


@pytest.mark.parametrize(
    "override,field,value",
    [
        ("pretraining.masking=random", "masking", "random"),
        ("pretraining.masking=motion", "masking", "motion"),
        ("pretraining.target=velocity", "target", "velocity"),
        ("pretraining.reference=batch", "reference", "batch"),
        ("pretraining.cam=binary_parts", "cam", "binary_parts"),
        ("pretraining.prediction=separate", "prediction", "separate"),
        ("pretraining.loss_weighting=pi_mean_one", "loss_weighting", "pi_mean_one"),
        ("pretraining.normalise_cam_by_max=false", "normalise_cam_by_max", False),
        ("pretraining.standardise_targets=false", "standardise_targets", False),
        ("pretraining.semantic_from_epoch=1", "semantic_from_epoch", 1),
    ],
)
def test_every_objective_switch_is_overridable(override, field, value):
    assert getattr(load_experiment("demo", [override]).pretraining, field) == value


def test_preset_and_explicit_switches_combine():
    config = load_experiment("demo", ["pretraining.preset=mamp", "pretraining.target=hybrid"])
    assert (config.pretraining.masking, config.pretraining.target) == ("motion", "hybrid")


def test_bad_overrides_and_names_are_clear():
    with pytest.raises(
        ConfigError,
        match=r"unknown key pretrain.lrr \(did you mean pretrain.lr\?\); known keys of pretrain: ",
    ):
        load_experiment("demo", ["pretrain.lrr=1"])
    with pytest.raises(ConfigError, match="not of the form"):
        load_experiment("demo", ["pretrain.lr"])
    with pytest.raises(ConfigError, match="unknown key optim.lr; known keys: experiment"):
        load_experiment("demo", ["optim.lr=1"])
    with pytest.raises(ConfigError, match="pretraining.masking='block' is not one of"):
        load_experiment("demo", ["pretraining.masking=block"])
    with pytest.raises(ConfigError, match="pretrain.epochs must be int, got 'ten'"):
        load_experiment("demo", ["pretrain.epochs=ten"])
    with pytest.raises(ConfigError, match="unknown pretraining preset 'bert'"):
        load_experiment("demo", ["pretraining.preset=bert"])
    with pytest.raises(ConfigError, match="no config file 'nope'"):
        resolve_config_path("nope")


def test_round_trip_through_plain_data():
    config = load_experiment("ntu120_xsub", ["pretraining.preset=official"])
    assert ExperimentConfig.from_dict(config.to_dict()) == config


def test_user_yaml_extends_a_shipped_config_by_name(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: demo\nexperiment: mine\npretrain:\n  epochs: 3\n")
    config = load_experiment(path)
    assert config.experiment == "mine" and config.pretrain.epochs == 3
    assert config.model.dim == 64  # from demo
    path.write_text("base: demo\npretrain:\n  epochz: 3\n")
    with pytest.raises(ConfigError, match="unknown key pretrain.epochz"):
        load_experiment(path)


def test_description_covers_every_preset_and_switch():
    text = "\n".join(describe())
    for name in ("pretraining.masking", "pretraining.semantic_from_epoch", "linear.feature_draws"):
        assert name in text
    assert set(PRESETS) >= {"masksem", "mamp", "official"}
