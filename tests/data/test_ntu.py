from pathlib import Path

import numpy as np
import pytest

from masksem_core.data.ntu import (
    NTU120_XSUB_TRAIN_SUBJECTS,
    ntu_splits,
    parse_ntu_name,
    read_ntu_bodies,
    read_ntu_skeleton,
)
from masksem_core.data.sequence import SkeletonFileError

EXPECTED_FRAMES = {"A001": 103, "A003": 100, "A011": 82, "A017": 124, "A034": 71, "A058": 70}


def test_every_shared_sample_parses_with_documented_frames_and_bodies(shared_data):
    files = sorted((shared_data / "ntu_samples").glob("*.skeleton"))
    assert len(files) == 6
    for path in files:
        action = path.stem[-4:]
        frames, _ = read_ntu_bodies(path)
        assert frames == EXPECTED_FRAMES[action], path.name
        sequence = read_ntu_skeleton(path)
        assert sequence.data.shape == (2, EXPECTED_FRAMES[action], 25, 3)
        assert sequence.label == int(action[1:]) - 1
        assert np.isfinite(sequence.data).all()
        present = (np.abs(sequence.data).sum(axis=(1, 2, 3)) > 0).sum()
        assert present == (2 if path.stem == "S001C003P008R002A058" else 1), path.name
    two = read_ntu_skeleton(shared_data / "ntu_samples" / "S001C003P008R002A058.skeleton")
    assert two.extra["bodies_seen"] >= 2


def test_paddlevideo_npy_sample_loads(shared_data):
    x = np.load(shared_data / "ntu_samples" / "paddlevideo_example_ntu.npy")
    assert x.shape == (3, 300, 25, 2) and x.dtype == np.float32
    assert (np.abs(x).sum(axis=(0, 2, 3)) > 0).sum() == 72
    assert not x[..., 1].any()


def test_name_parsing():
    info = parse_ntu_name("S017C002P040R001A120.skeleton")
    assert (info.setup, info.camera, info.performer, info.replication, info.action) == (
        17,
        2,
        40,
        1,
        120,
    )
    with pytest.raises(ValueError, match="not an NTU RGB"):
        parse_ntu_name("movement1.txt")


def test_splits_from_names_have_no_overlap_and_correct_sides():
    names = [
        f"S{s:03d}C{c:03d}P{p:03d}R001A001"
        for s in (1, 2, 17, 18)
        for c in (1, 2, 3)
        for p in (1, 3, 45, 106)
    ]
    samples = []
    for name in names:
        info = parse_ntu_name(name)
        samples.append({"subject": info.performer, "view": info.camera, "setup": info.setup})
    for dataset, protocols in (("ntu60", ("xsub", "xview")), ("ntu120", ("xsub", "xset"))):
        splits = ntu_splits(samples, dataset)
        for protocol in protocols:
            train, test = set(splits[f"{protocol}_train"]), set(splits[f"{protocol}_test"])
            assert not train & test and len(train | test) == len(samples)
        for i in splits["xsub_train"]:
            allowed = (1, 45) if dataset == "ntu120" else (1,)
            assert samples[i]["subject"] in allowed
    assert all(samples[i]["view"] in (2, 3) for i in ntu_splits(samples, "ntu60")["xview_train"])
    assert all(samples[i]["setup"] % 2 == 0 for i in ntu_splits(samples, "ntu120")["xset_train"])
    assert len(NTU120_XSUB_TRAIN_SUBJECTS) == 53


def _write(tmp_path: Path, lines: list[str], name="S001C001P001R001A001.skeleton") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _frame(joints=25, value="0.1 0.2 3.0 1 2 3 4 0 0 0 0 2"):
    return ["1", "72057594037931101 0 1 1 1 1 0 0.0 0.0 2", str(joints)] + [value] * joints


def test_truncated_file_names_file_and_line(tmp_path):
    lines = ["2", *_frame()]
    lines += _frame()[:10]
    path = _write(tmp_path, lines)
    with pytest.raises(SkeletonFileError, match=r"A001.skeleton:.*truncated"):
        read_ntu_skeleton(path)


def test_joint_count_24(tmp_path):
    path = _write(tmp_path, ["1", *_frame(joints=24)])
    with pytest.raises(SkeletonFileError, match=r"\.skeleton:4: joint count 24, expected 25"):
        read_ntu_skeleton(path)


def test_non_numeric_line(tmp_path):
    lines = ["1", *_frame()]
    lines[10] = "0.1 0.2 abc 1 2 3 4 0 0 0 0 2"
    with pytest.raises(SkeletonFileError, match=r"\.skeleton:11: non-numeric value"):
        read_ntu_skeleton(_write(tmp_path, lines))


def test_empty_file(tmp_path):
    with pytest.raises(SkeletonFileError, match=r"\.skeleton:1: empty file"):
        read_ntu_skeleton(_write(tmp_path, [""]))


def test_nan_coordinate(tmp_path):
    lines = ["1", *_frame()]
    lines[7] = "0.1 nan 3.0 1 2 3 4 0 0 0 0 2"
    with pytest.raises(SkeletonFileError, match=r"\.skeleton:8: non-finite coordinate"):
        read_ntu_skeleton(_write(tmp_path, lines))


def test_file_with_no_body_is_a_missing_skeleton(tmp_path):
    with pytest.raises(SkeletonFileError, match="no usable body"):
        read_ntu_skeleton(_write(tmp_path, ["2", "0", "0"]))
