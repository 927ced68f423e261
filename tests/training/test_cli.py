"""The training commands as a user runs them: exit codes, --help, switches, closed pipes."""

import subprocess
import sys
from pathlib import Path

from masksem_core.engine.checkpoint import load_checkpoint
from masksem_core.engine.summary import RunSummary
from tests.conftest import REPO, run_script, tiny_overrides


def test_pretrain_cli_switches_and_two_stage_init(demo_root, tmp_path):
    """Each switch of the objective works from the command line on the demo config."""
    out = tmp_path / "cli"
    base = [
        sys.executable,
        str(REPO / "training" / "pretrain.py"),
        "--no-linear-eval",
        *tiny_overrides(demo_root, out),
        "pretrain.epochs=1",
    ]
    for switch in (
        "pretraining.masking=random",
        "pretraining.masking=motion",
        "pretraining.target=velocity",
        "pretraining.reference=batch",
        "pretraining.cam=binary_parts",
        "pretraining.prediction=shared",
        "pretraining.loss_weighting=pi_mean_one",
        "pretraining.normalise_cam_by_max=false",
        "pretraining.standardise_targets=false",
        "pretraining.prediction=separate",
        "pretraining.semantic_from_epoch=1",
        "pretraining.preset=mamp",
    ):
        result = subprocess.run([*base, switch], capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (switch, result.stderr[-2000:])
    mamp = out / "pretrain" / "last.pt"
    two_stage = tmp_path / "two_stage"
    result = subprocess.run(
        [*base, f"output_dir={two_stage}", "--init", str(mamp), "pretraining.preset=masksem"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"initialised from {mamp}" in result.stdout
    state = load_checkpoint(two_stage / "pretrain" / "last.pt")
    assert RunSummary.read(two_stage / "pretrain").init == str(mamp) and state["epoch"] == 1
    missing = subprocess.run(
        [*base, "--init", str(tmp_path / "none.pt")], capture_output=True, text=True, timeout=300
    )
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    typo = subprocess.run([*base, "pretraining.maskin=random"], capture_output=True, text=True)
    assert typo.returncode == 2
    suggested = "unknown key pretraining.maskin (did you mean pretraining.masking?); "
    assert suggested + "known keys of pretraining: preset, mask_ratio, " in typo.stderr


def test_help_explains_every_preset_and_switch():
    from masksem_core.pretraining.config import PRESETS, MaskSemConfig

    result = subprocess.run(
        [sys.executable, str(REPO / "training" / "pretrain.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    for preset in PRESETS:
        assert f"  {preset} " in result.stdout, preset
    for name in MaskSemConfig.__dataclass_fields__:
        assert f"pretraining.{name} = " in result.stdout, name


def test_print_config_into_a_closed_pipe_ends_without_a_traceback():
    """`pretrain.py --print-config | head -1` must not print a BrokenPipeError traceback."""
    process = subprocess.Popen(
        [sys.executable, str(REPO / "training" / "pretrain.py"), "--print-config"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # the reader is gone before the first write
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141, stderr
    assert stderr == ""


def test_console_scripts_are_the_training_scripts():
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    for name, module in [
        ("masksem-pretrain", "pretrain"),
        ("masksem-linear-eval", "linear_eval"),
        ("masksem-finetune", "finetune"),
        ("masksem-prepare", "prepare_data"),
        ("masksem-export", "export_onnx"),
        ("masksem-evaluate-stream", "evaluate_stream"),
    ]:
        assert scripts[name] == f"masksem_training.{module}:main", name


def test_every_script_turns_a_user_error_into_one_line_and_exit_2(tmp_path):
    commands = [
        ["export_onnx", "--checkpoint", str(tmp_path / "none.pt"), "--out", str(tmp_path / "m")],
        ["prepare_data", "--dataset", "gtu", "--src", str(tmp_path / "none"), "--out", "x"],
        ["linear_eval", "--init", str(tmp_path / "none.pt")],
    ]
    for command in commands:
        result = subprocess.run(
            [sys.executable, "-m", f"masksem_training.{command[0]}", *command[1:]],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 2, (command, result.stderr[-2000:])
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_help_lists_the_values_of_the_config_that_will_run():
    def help_text(*args: str) -> str:
        result = run_script("pretrain", *args, "--help")
        assert result.returncode == 0, result.stderr
        return result.stdout

    demo = help_text()
    assert "pretrain.epochs = 6 " in demo and "model.dim = 64 " in demo  # the demo that runs
    assert "data.train_crop = [0.5, 1.0] " in demo  # a list on one line
    paper = help_text("--config", "paper", "pretrain.epochs=300")
    assert "pretrain.epochs = 300 " in paper and "model.dim = 256 " in paper


def test_the_installed_command_names_itself_in_its_usage():
    command = Path(sys.executable).parent / "masksem-pretrain"
    result = subprocess.run([str(command), "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("usage: masksem-pretrain")


def test_a_misspelt_key_suggests_the_nearest_known_one():
    result = run_script("pretrain", "pretrian.epochs=3")
    assert result.returncode == 2
    assert "unknown key pretrian.epochs (did you mean pretrain.epochs?)" in result.stderr
