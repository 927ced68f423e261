import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from masksem_core.engine.checkpoint import (
    CheckpointError,
    capture_rng_state,
    load_checkpoint,
    load_state_strict,
    restore_rng_state,
    save_checkpoint,
)
from tests.conftest import tiny_encoder


def test_round_trip_with_weights_only_and_rng(tmp_path):
    enc = tiny_encoder()
    rng = capture_rng_state()
    path = save_checkpoint(
        tmp_path / "a.pt", {"model": enc.state_dict(), "rng": [rng], "config": {"a": [1, 2]}}
    )
    content = load_checkpoint(path)
    assert content["config"] == {"a": [1, 2]}
    expected = torch.rand(3)
    restore_rng_state(content["rng"][0])
    assert torch.equal(torch.rand(3), expected)
    fresh = tiny_encoder()
    load_state_strict(fresh, content["model"], "test")
    assert torch.equal(fresh.joint_embedding.proj.weight, enc.joint_embedding.proj.weight)


def test_missing_corrupt_and_foreign_files(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist; train first"):
        load_checkpoint(tmp_path / "none.pt")
    (tmp_path / "junk.pt").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match="junk.pt cannot be read"):
        load_checkpoint(tmp_path / "junk.pt")
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a MaskSem checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_strict_loading_names_missing_unexpected_and_shapes():
    enc = tiny_encoder()
    state = enc.state_dict()
    state.pop("transformer.norm.weight")
    state["extra.weight"] = torch.zeros(1)
    state["joint_embedding.proj.weight"] = torch.zeros(5, 5)
    with pytest.raises(CheckpointError) as err:
        load_state_strict(tiny_encoder(), state, "ckpt.pt")
    message = str(err.value)
    assert "missing keys ['transformer.norm.weight']" in message
    assert "unexpected keys ['extra.weight']" in message
    assert "joint_embedding.proj.weight: (5, 5) vs (32, 12)" in message


def test_failed_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "last.pt", {"epoch": 1})

    def broken_save(obj, target):
        Path(target).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


WRITER = """
import sys, torch
from masksem_core.engine.checkpoint import save_checkpoint
big = torch.randn(4_000_000)
epoch = 0
while True:
    epoch += 1
    save_checkpoint(sys.argv[1], {"epoch": epoch, "big": big})
    print(epoch, flush=True)
"""


def test_killing_the_writer_mid_write_leaves_a_readable_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "1"  # one complete checkpoint exists
        time.sleep(0.37)  # then kill it at an arbitrary point, most likely mid-write
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    content = load_checkpoint(path)
    assert content["epoch"] >= 1 and content["big"].numel() == 4_000_000


def test_a_checkpoint_written_before_the_stage_vocabulary_reads_with_its_stage(tmp_path):
    path = save_checkpoint(tmp_path / "old.pt", {"kind": "finetune", "epoch": 3})
    state = load_checkpoint(path)
    assert state["stage"] == "finetune" and "kind" not in state
