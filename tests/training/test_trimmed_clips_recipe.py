"""The README's trimmed-clips recipe, run as written on a small pyskl pickle: prepare, fine-tune
from the shipped general encoder, its from-scratch twin (the same model), the yardstick, export.
Only the schedules are shortened (appended overrides), so that the test runs in seconds."""

import os
import re
import shlex
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
import torch

from masksem_core.config import load_experiment
from masksem_core.data.demo import DEMO_CLASS_NAMES, generate_demo_dataset
from masksem_core.data.pyskl import write_pyskl
from masksem_core.engine.checkpoint import load_pretrained_encoder
from tests.conftest import REPO

MARKER = "<!-- tests/training/test_trimmed_clips_recipe.py runs the block below as written -->"
# appended to the commands of these scripts: the schedules a test affords
SHORTER = {
    "training/finetune.py": ["finetune.epochs=1", "finetune.warmup_epochs=0"],
    "bench/yardstick.py": ["--frames", "12", "--l2", "1", "--passes", "1"],
}


def readme_commands() -> list[list[str]]:
    """The commands of the README's block after MARKER, continuation lines joined."""
    readme = (REPO / "README.md").read_text()
    assert MARKER in readme, "the README's trimmed-clips block lost its marker"
    block = re.search(r"```bash\n(.*?)```", readme[readme.index(MARKER) :], re.S).group(1)
    return [shlex.split(line) for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def clips_pickle(path) -> None:
    """Demo clips as a user's trimmed clips: subjects 1-6 train, 7-8 val, 9-10 test."""
    sequences = generate_demo_dataset(4, seed=2)
    for s in sequences:
        s.data = np.where(s.data != 0, s.data + np.float32([0.2, 0.0, 2.5]), 0.0)
    part = {"train": range(1, 7), "val": range(7, 9), "test": range(9, 11)}
    splits = {
        name: [s.name for s in sequences if s.subject in subjects]
        for name, subjects in part.items()
    }
    assert all(splits.values())
    write_pyskl(path, sequences, splits, label_names=list(DEMO_CLASS_NAMES))


def encoder_shapes(checkpoint) -> dict[str, tuple[int, ...]]:
    _, state, _ = load_pretrained_encoder(checkpoint)
    return {name: tuple(tensor.shape) for name, tensor in state.items()}


@pytest.fixture(scope="module")
def recipe_run(tmp_path_factory):
    """Run every README command in a user's folder (the repository's scripts and models)."""
    work = tmp_path_factory.mktemp("user")
    for folder in ("training", "bench", "models"):
        (work / folder).symlink_to(REPO / folder)
    clips_pickle(work / "mine.pkl")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    outputs = []
    for command in readme_commands():
        assert command[0] == "python", command
        extra = SHORTER.get(command[1], [])
        done = subprocess.run(
            [sys.executable, *command[1:], *extra],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, f"{shlex.join(command)}\n{done.stdout}\n{done.stderr}"
        outputs.append(done.stdout + done.stderr)
    return work, outputs


def test_the_recipe_is_prepare_finetune_twin_yardstick_export():
    scripts = [command[1] for command in readme_commands()]
    assert scripts == [
        "training/prepare_data.py",
        "training/finetune.py",
        "training/finetune.py",
        "bench/yardstick.py",
        "training/export_onnx.py",
    ]


def test_the_recipe_matches_the_general_encoders_input_and_architecture():
    config = load_experiment("trimmed_clips")
    encoder, _, _ = load_pretrained_encoder(REPO / "models" / "general_encoder.pt")
    assert config.data.normalise_view and config.data.normalise_scale
    assert config.data.window_mode == "clip" and config.data.window == 120
    assert (config.model.depth, config.model.dim, config.model.heads, config.model.mlp_dim) == (
        encoder.depth,
        encoder.dim,
        encoder.heads,
        encoder.mlp_dim,
    )


def test_the_readme_commands_run_and_the_twin_is_the_same_model(recipe_run):
    work, outputs = recipe_run
    pretrained = work / "runs" / "trimmed_clips" / "finetune"
    scratch = work / "runs" / "trimmed_clips_scratch" / "finetune"
    assert "encoder loaded from" in outputs[1] and "general_encoder.pt" in outputs[1]
    assert "from scratch: the architecture of models/general_encoder.pt" in outputs[2]
    init = torch.load(pretrained / "last.pt", map_location="cpu", weights_only=False)
    assert init["config"]["finetune"]["init"] == "models/general_encoder.pt"
    fine_tuned, twin, general = (
        encoder_shapes(path)
        for path in (
            pretrained / "last.pt",
            scratch / "last.pt",
            REPO / "models" / "general_encoder.pt",
        )
    )
    assert fine_tuned == twin  # the same model, parameter for parameter
    assert sum(np.prod(shape) for shape in twin.values()) == 104_896  # 25 joints embedded
    # the general encoder's own blocks; only the spatial embedding follows the data's joints
    spatial = "positional_embedding.spatial"
    assert twin.pop(spatial) == (1, 1, 25, 64) and general.pop(spatial) == (1, 1, 20, 64)
    assert twin == general
    assert "| test | test |" in outputs[3]  # the yardstick's one test row
    session = ort.InferenceSession(str(work / "mine.onnx"), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {session.get_inputs()[0].name: np.zeros((1, 1, 120, 25, 3), "f")})
    assert logits.shape[-1] == len(DEMO_CLASS_NAMES)
    assert (work / "mine.md").is_file()
