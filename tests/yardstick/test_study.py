"""bench/yardstick.py on a user's own recordings: leave-one-subject-out on the learned recipe's
folds, the test subject once, fold models that evaluate_stream --crossval plays, an ensemble of
folds (training/ensemble.py), and the refusals."""

import json
import subprocess
import sys

import matplotlib.image
import pytest

from masksem_core.data.prepared import PreparedData
from masksem_core.runtime.session import ActionSession
from tests.conftest import REPO, run_script
from tests.training.test_crossval import mine, overrides  # noqa: F401  (the fixture)


def yardstick(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "bench" / "yardstick.py"), *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def ensembled(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "training" / "ensemble.py"), *map(str, args)]
    command += ["--target-false-alarm", "0.1"]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_yardstick_crossval_plays_live_and_joins_an_ensemble(mine, tmp_path):  # noqa: F811
    out = tmp_path / "yardstick"
    common = ["--config", "demo", "--frames", "4", "8", "--l2", "0.1", "--passes", "2"]
    result = yardstick(
        *common,
        "--crossval",
        "--out",
        out,
        "--target-false-alarm",
        "0.1",
        "--json",
        *overrides(mine, tmp_path / "runs"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(row["model"] == "yardstick" for row in rows)
    grid = [r for r in rows if r["protocol"] == "loso_grid"]
    assert {(r["frames"], r["l2"]) for r in grid} == {(4, 0.1), (8, 0.1)}
    loso = [r for r in rows if r["protocol"] == "loso"]
    assert [r["split"] for r in loso] == [
        "subject_alice",
        "subject_bob",
        "subject_carol",
        "mean over subjects",
    ]
    best = max(grid, key=lambda r: r["top1"])
    assert loso[-1]["top1"] == pytest.approx(best["top1"]) and loso[-1]["frames"] == best["frames"]
    test = next(r for r in rows if r["protocol"] == "test")
    assert test["split"] == "test"  # dan, whom no fold holds, scored once
    assert test["windows"] == len(PreparedData(mine).actions("test"))

    root = out / "crossval"
    index = json.loads((root / "folds.json").read_text())
    assert index["init"] == "yardstick" and index["target_false_alarm"] == 0.1
    assert ActionSession(root / "all" / "model.onnx").info.background_class == "no action"
    pictures = tmp_path / "timelines"
    played = run_script("evaluate_stream", "--crossval", root, "--json", "--plot", pictures)
    assert played.returncode == 0, played.stderr[-3000:]
    pngs = sorted(pictures.glob("*.png"))
    prepared = PreparedData(mine)
    people = prepared.split_indices("train") + prepared.split_indices("val")
    assert len(pngs) == len(people)  # one per recording of alice, bob and carol
    image = matplotlib.image.imread(pngs[0])
    assert image.shape[0] > 150 and image.shape[1] > 1000  # a timeline, wide
    assert image[..., :3].std() > 0.05  # not blank
    live = [json.loads(line) for line in played.stdout.splitlines()]
    assert {r["init"] for r in live} == {"yardstick"}
    assert len([r for r in live if r["scenario"] == "fold"]) == 3

    ensemble = tmp_path / "ensemble"
    joined = ensembled("--crossval", root, "--crossval", root, "--out", ensemble)
    assert joined.returncode == 0, joined.stderr[-3000:]
    folds = json.loads((ensemble / "folds.json").read_text())
    assert folds["weight"] == 1.0  # two equal members: every weight ties, the first wins
    model = root / "all" / "model.onnx"
    shipped = ensembled(
        "--models", model, model, "--folds", ensemble, "--out", tmp_path / "shipped.onnx"
    )
    assert shipped.returncode == 0, shipped.stderr[-3000:]
    assert ActionSession(tmp_path / "shipped.onnx").info.score_threshold >= 0


def test_bad_input_is_refused_naming_the_data(mine, tmp_path):  # noqa: F811
    settings = overrides(mine, tmp_path / "runs")
    too_long = yardstick(
        "--config", "demo", "--frames", "500", "--select-on", "train", "val", *settings
    )
    assert too_long.returncode == 2 and str(mine) in too_long.stderr
    assert "frames [500]" in too_long.stderr
    no_validation = yardstick("--config", "demo", *settings, "data.val_split=null")
    assert no_validation.returncode != 0 and "--select-on" in no_validation.stderr
    meta = json.loads((mine / "meta.json").read_text())
    meta["layout"] = "kinect_v9"
    (mine / "meta.json").write_text(json.dumps(meta))
    unknown = yardstick("--config", "demo", "--select-on", "train", "val", *settings)
    assert unknown.returncode == 2 and "kinect_v9" in unknown.stderr
