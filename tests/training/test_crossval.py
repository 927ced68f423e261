"""Leave-one-subject-out cross-validation (training/crossval.py) on a user's own recordings:
folds that never see their subject, nested thresholds, the model of everyone and its export,
and evaluate_stream --crossval."""

import json
import subprocess
import sys

import numpy as np
import pytest

from masksem_core.config import load_experiment
from masksem_core.data.prepare import prepare_dataset
from masksem_core.data.prepared import PreparedData
from masksem_core.engine.crossval import (
    EVERYONE_SPLIT,
    add_crossval_splits,
    everyone_config,
    fold_config,
)
from masksem_core.errors import DataError
from masksem_core.export.calibration import CalibrationError, HeldOutWindows
from masksem_core.runtime.session import ActionSession
from tests.conftest import REPO, run_script, tiny_overrides
from tests.data.test_recordings import recordings_folder

TARGET = "0.1"


@pytest.fixture
def mine(tmp_path):
    """Four people's recordings: alice and carol train, bob validates, dan is the test."""
    recordings_folder(tmp_path / "mine")
    prepare_dataset(
        "recordings",
        tmp_path / "mine",
        tmp_path / "prep",
        val_subjects=["bob"],
        test_subjects=["dan"],
    )
    return tmp_path / "prep"


def overrides(prepared, out) -> list[str]:
    return [
        *tiny_overrides(prepared, out),
        "data.dataset=recordings",
        "data.window_mode=stream",
        "data.window_seconds=2.0",
        "data.train_split=train",
        "data.val_split=val",
        "data.test_split=val",
        "data.window=32",
        "data.min_crop_frames=8",
        "finetune.epochs=1",
    ]


def subjects_of(prepared: PreparedData, split: str) -> set[str]:
    return {prepared.samples[i]["extra"]["subject"] for i in prepared.split_indices(split)}


def test_folds_leave_each_subject_out_and_never_touch_the_test_subjects(mine, tmp_path):
    config = load_experiment("demo", overrides(mine, tmp_path / "runs"))
    prepared = PreparedData(mine)
    assert add_crossval_splits(prepared, config) == ["alice", "bob", "carol"]
    reread = PreparedData(mine)
    assert subjects_of(reread, EVERYONE_SPLIT) == {"alice", "bob", "carol"}
    for subject in ("alice", "bob", "carol"):
        fold = fold_config(config, subject)
        assert subjects_of(reread, fold.data.train_split) == {"alice", "bob", "carol"} - {subject}
        assert subjects_of(reread, fold.data.val_split) == {subject}
        assert fold.data.test_split == fold.data.val_split
        assert fold.output_dir == str(tmp_path / "runs" / "crossval" / f"subject_{subject}")
    everyone = everyone_config(config)
    assert everyone.data.train_split == EVERYONE_SPLIT and everyone.data.val_split is None


def test_fewer_than_three_subjects_or_unnamed_ones_are_refused(mine, demo_root, tmp_path):
    config = load_experiment("demo", [*overrides(mine, tmp_path / "r"), "data.val_split=null"])
    with pytest.raises(DataError, match="at least 3"):
        add_crossval_splits(PreparedData(mine), config, save=False)
    demo = load_experiment("demo", tiny_overrides(demo_root, tmp_path / "r"))
    with pytest.raises(DataError, match="name no subject"):
        add_crossval_splits(PreparedData(demo_root), demo, save=False)


def test_held_out_windows_that_are_not_ours_are_refused(tmp_path):
    (tmp_path / "bad.npz").write_bytes(b"not a numpy file")
    with pytest.raises(CalibrationError, match="bad.npz"):
        HeldOutWindows.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "short.npz", logits=np.zeros((3, 4)), labels=np.zeros(2), subjects=["a"])
    with pytest.raises(CalibrationError, match="disagree"):
        HeldOutWindows.load(tmp_path / "short.npz")


def test_crossval_end_to_end(mine, tmp_path):
    """Three folds and the model of everyone, run by two processes side by side; each fold's
    threshold is the other folds' choice; the shipped model is calibrated on all of them; the
    streams of every subject are played through the fold that never saw them."""
    out = tmp_path / "runs"
    command = [
        "--config",
        "demo",
        "--no-init",
        "--threads",
        "1",
        "--target-false-alarm",
        TARGET,
        *overrides(mine, out),
    ]
    script = [sys.executable, str(REPO / "training" / "crossval.py"), *command]
    other = subprocess.Popen(script, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result = run_script("crossval", *command)
    other_out, other_err = other.communicate(timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert other.returncode == 0, other_err[-3000:]
    trained = result.stdout.count("== fold") + other_out.count("== fold")
    assert trained == 3  # each fold trained once, by one of the two
    root = out / "crossval"
    index = json.loads((root / "folds.json").read_text())
    assert index["subjects"] == ["alice", "bob", "carol"] and index["init"] == "scratch"
    parts = {
        s: HeldOutWindows.load(root / f"subject_{s}" / "heldout.npz") for s in index["subjects"]
    }
    for subject, windows in parts.items():
        assert set(windows.subjects.tolist()) == {subject}
        others = HeldOutWindows.pooled([w for s, w in parts.items() if s != subject])
        expected = others.calibrate(float(TARGET), "action_mass", "")
        info = ActionSession(root / f"subject_{subject}" / "model.onnx").info
        assert info.score_threshold == pytest.approx(expected.threshold)
        assert info.temperature == pytest.approx(expected.temperature)
    pooled = HeldOutWindows.load(root / "heldout.npz")
    assert sorted(set(pooled.subjects.tolist())) == ["alice", "bob", "carol"]
    assert "| alice |" in result.stdout + other_out

    model = tmp_path / "everyone.onnx"
    exported = run_script(
        "export_onnx",
        "--checkpoint",
        root / "all" / "finetune" / "last.pt",
        "--heldout",
        root / "heldout.npz",
        "--target-false-alarm",
        TARGET,
        "--accept-low-recall",
        "--out",
        model,
        "--model-card",
    )
    assert exported.returncode == 0, exported.stderr[-3000:]
    report = json.loads(exported.stdout)
    assert report["calibration"]["subjects"] == 3
    assert "leave-one-subject-out" in report["calibration"]["source"]
    card = model.with_suffix(".md").read_text()
    assert "a fit, not a test" in card and "leave-one-subject-out" in card

    evaluated = run_script("evaluate_stream", "--crossval", root, "--json")
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    rows = [json.loads(line) for line in evaluated.stdout.splitlines()]
    recordings = next(r for r in rows if r["scenario"] == "recordings")
    assert recordings["folds"] == 3 and recordings["init"] == "scratch"
    assert recordings["instances"] == 3 * 5  # alice, bob, carol: 3 + 2 actions each; never dan
    offline = next(r for r in rows if r["scenario"] == "offline")
    assert 0.0 <= offline["top1"] <= 100.0
    assert "announced_right" in recordings and "idle_false_alarms_by_class" in recordings
    folds = [r for r in rows if r["scenario"] == "fold"]
    assert [r["subject"] for r in folds] == ["alice", "bob", "carol"]
    for row in folds:
        fold_model = root / f"subject_{row['subject']}" / "model.onnx"
        assert row["threshold"] == pytest.approx(ActionSession(fold_model).info.score_threshold)
        assert row["target_false_alarm"] == float(TARGET)
        assert row["holds"] == (row["idle_false_alarm_rate"] <= float(TARGET))
    missing = run_script("evaluate_stream", "--crossval", tmp_path)
    assert missing.returncode == 2 and "folds.json" in missing.stderr
    (root / "subject_bob" / "model.onnx").unlink()
    gone = run_script("evaluate_stream", "--crossval", root)
    assert gone.returncode == 2 and "subject_bob/model.onnx does not exist" in gone.stderr
