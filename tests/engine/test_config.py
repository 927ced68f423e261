import pytest

from masksem_core.engine.config import apply_overrides, load_config, resolve_config_path


def test_every_shipped_config_loads_and_extends_the_paper():
    paper = load_config("paper")
    assert paper["pretrain"]["epochs"] == 400 and paper["model"]["depth"] == 8
    assert paper["pretrain"]["lr"] == 1e-3 and paper["linear"]["lr"] == 0.1
    for name in (
        "ntu60_xsub",
        "ntu60_xview",
        "ntu120_xsub",
        "ntu120_xset",
        "pku1_xsub",
        "pku2_xsub",
        "nw_ucla_xview",
        "gtu_stratified",
        "demo",
    ):
        config = load_config(name)
        assert config["experiment"] == name
        assert set(config) >= {"data", "model", "pretraining", "pretrain", "linear", "finetune"}
    assert load_config("ntu120_xsub")["model"]["decoder_depth"] == 5
    assert load_config("ntu120_xsub")["model"]["dim"] == 256  # inherited


def test_dotted_overrides_parse_yaml_values():
    config = apply_overrides(
        load_config("demo"),
        ["pretrain.lr=5e-4", "pretrain.epochs=1", "pretraining.preset=mamp", "seed=3"],
    )
    assert config["pretrain"]["lr"] == 5e-4 and config["pretrain"]["epochs"] == 1
    assert config["pretraining"]["preset"] == "mamp" and config["seed"] == 3


def test_bad_overrides_and_names_are_clear():
    config = load_config("demo")
    with pytest.raises(ValueError, match="unknown key pretrain.lrr"):
        apply_overrides(config, ["pretrain.lrr=1"])
    with pytest.raises(ValueError, match="not of the form"):
        apply_overrides(config, ["pretrain.lr"])
    with pytest.raises(ValueError, match="optim is not a section"):
        apply_overrides(config, ["optim.lr=1"])
    with pytest.raises(FileNotFoundError, match="no config file 'nope'"):
        resolve_config_path("nope")
