import json
import pickle

import numpy as np
import pytest

from masksem_core.data import datasets
from masksem_core.data.gtu import read_gtu
from masksem_core.data.nw_ucla import read_nw_ucla
from masksem_core.data.pku import read_pku_clips, read_pku_recording, read_pku_split_file
from masksem_core.data.prepare import prepare_dataset
from masksem_core.data.prepared import PreparedData
from masksem_core.data.pyskl import read_pyskl
from masksem_core.data.sequence import SkeletonFileError


def test_nw_ucla_file(shared_data):
    seq = read_nw_ucla(shared_data / "nw_ucla" / "all_sqe" / "a12_s01_e00_v03.json")
    assert seq.data.shape[0] == 1 and seq.data.shape[2:] == (20, 3)
    assert (seq.label, seq.subject, seq.view) == (9, 1, 3)


def test_gtu_file(shared_data):
    seq = read_gtu(shared_data / "gtu" / "4" / "movement1.txt")
    assert seq.label == 3 and seq.data.shape[2:] == (25, 3) and seq.data.shape[0] == 1


def test_nw_ucla_bad_files(tmp_path):
    bad = tmp_path / "a01_s01_e00_v01.json"
    bad.write_text('{"skeletons": [[[0, 0]]]}')
    with pytest.raises(SkeletonFileError, match="expected \\(T, 20, 3\\)"):
        read_nw_ucla(bad)
    bad.write_text('{"skeletons": ')
    with pytest.raises(SkeletonFileError, match="a01_s01_e00_v01.json:1: invalid json"):
        read_nw_ucla(bad)
    bad.write_text(json.dumps({"skeletons": [[[float("nan"), 0, 0]] * 20]}).replace("NaN", "NaN"))
    with pytest.raises(SkeletonFileError, match="non-finite"):
        read_nw_ucla(bad)
    with pytest.raises(SkeletonFileError, match="unknown NW-UCLA action a07"):
        read_nw_ucla(tmp_path / "a07_s01_e00_v01.json")


def test_gtu_bad_files(tmp_path):
    folder = tmp_path / "3"
    folder.mkdir()
    path = folder / "movement1.txt"
    path.write_text("0 0 1\n" * 24)
    with pytest.raises(SkeletonFileError, match="movement1.txt:24: 24 joint lines"):
        read_gtu(path)
    path.write_text("0 0 1\n" * 10 + "0 x 1\n" + "0 0 1\n" * 14)
    with pytest.raises(SkeletonFileError, match="movement1.txt:11: non-numeric"):
        read_gtu(path)
    path.write_text("0 0 1\n" * 12 + "0 nan 1\n" + "0 0 1\n" * 12)
    with pytest.raises(SkeletonFileError, match="movement1.txt:13: non-finite"):
        read_gtu(path)
    path.write_text("")
    with pytest.raises(SkeletonFileError, match="empty file"):
        read_gtu(path)


def _pku_tree(tmp_path):
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "skeleton").mkdir()
    (tmp_path / "label").mkdir()
    rng = np.random.default_rng(0)
    for video in ("0002-L", "0002-M", "0003-R"):
        frames = rng.normal(size=(40, 150))
        frames[:, 75:] = 0  # one person
        np.savetxt(tmp_path / "skeleton" / f"{video}.txt", frames, fmt="%.5f")
        (tmp_path / "label" / f"{video}.txt").write_text("3,0,12,1\n7,15,39,2\n")
    (tmp_path / "cross-subject.txt").write_text(
        "Training videos: \n0002-L, 0002-M\nValidataion videos: \n0003-R\n"
    )
    (tmp_path / "cross-view.txt").write_text(
        "Training videos: \n0002-M, 0003-R\nValidataion videos: \n0002-L\n"
    )
    return tmp_path


def test_pku_clips_and_published_split_files(tmp_path):
    root = _pku_tree(tmp_path)
    clips = read_pku_clips(root / "skeleton" / "0002-L.txt", root / "label" / "0002-L.txt")
    assert [(c.label, c.frames) for c in clips] == [(2, 12), (6, 24)]
    assert clips[0].data.shape == (2, 12, 25, 3) and not clips[0].data[1].any()
    assert read_pku_split_file(root / "cross-subject.txt") == {
        "train": {"0002-L", "0002-M"},
        "test": {"0003-R"},
    }


def test_pku_tree_prepares_with_action_names_and_published_splits(tmp_path):
    root = _pku_tree(tmp_path / "pku")
    prepare_dataset("pku1", root, tmp_path / "prepared", progress=False)
    prepared = PreparedData(tmp_path / "prepared")
    assert len(prepared.samples) == 6  # 3 videos × 2 labelled clips
    assert len(prepared.class_names) == 51
    assert [prepared.class_names[label] for label in prepared.labels[:2]] == [
        "brushing teeth",  # PKU-MMD label 3
        "cross hands in front (say stop)",  # label 7
    ]
    videos = [s["extra"]["video"] for s in prepared.samples]
    assert sorted(videos[i] for i in prepared.split_indices("xsub_test")) == ["0003-R", "0003-R"]
    assert sorted(videos[i] for i in prepared.split_indices("xview_test")) == ["0002-L", "0002-L"]


def test_a_pku_video_as_one_recording_with_its_intervals(tmp_path):
    root = _pku_tree(tmp_path)
    path = root / "skeleton" / "0002-L.txt"
    frames = np.loadtxt(path)
    frames[5:8] = 0  # the person leaves the view for three frames inside the first action
    np.savetxt(path, frames, fmt="%.5f")
    recording = read_pku_recording(path, root / "label" / "0002-L.txt")
    assert recording.label == -1 and recording.data.shape == (2, 37, 25, 3)
    stamps = np.array(recording.extra["stamps"])
    assert stamps[5] == pytest.approx(8 / 30)  # a gap in time, not a jump in the frames
    # labels 3 [0, 12) and 7 [15, 39) (1-based classes) on the 37 kept frames
    assert recording.extra["intervals"] == [[2, 0, 9], [6, 12, 36]]


def test_pku_stream_tree_prepares_whole_videos(tmp_path, monkeypatch):
    root = _pku_tree(tmp_path / "pku")
    prepare_dataset("pku1_stream", root, tmp_path / "prepared", progress=False)
    prepared = PreparedData(tmp_path / "prepared")
    assert len(prepared.samples) == 3 and prepared.fps == 30.0
    actions = prepared.actions("xsub_train")
    assert [(label, first, end) for _, label, first, end in actions] == [
        (2, 0, 12),
        (6, 15, 39),
    ] * 2
    np.testing.assert_allclose(prepared.stamps(0)[:3], [0, 1 / 30, 2 / 30])
    long_video = root / "skeleton" / "0003-R.txt"
    long_video.write_text(long_video.read_text() * 2)  # 80 frames
    monkeypatch.setattr(datasets, "PKU_RECORD_FRAMES", 60)
    report = prepare_dataset("pku1_stream", root, tmp_path / "short", workers=1, progress=False)
    assert report.skipped == [  # the skeleton file in words, never the item's tuple
        (str(long_video), "80 frames with a body, more than the 60 stored per video")
    ]


def test_pku_bad_rows(tmp_path):
    root = _pku_tree(tmp_path)
    (root / "label" / "0002-L.txt").write_text("3,0,99,1\n")
    with pytest.raises(SkeletonFileError, match="0002-L.txt:1: clip \\[0, 99\\) outside"):
        read_pku_clips(root / "skeleton" / "0002-L.txt", root / "label" / "0002-L.txt")
    (root / "skeleton" / "0002-M.txt").write_text("1 2 3\n")
    with pytest.raises(SkeletonFileError, match="0002-M.txt:1: expected 150 numbers"):
        read_pku_clips(root / "skeleton" / "0002-M.txt", root / "label" / "0002-M.txt")


def test_pyskl_malformed(tmp_path):
    path = tmp_path / "x.pkl"
    path.write_bytes(b"not a pickle")
    with pytest.raises(SkeletonFileError, match="x.pkl: not a readable pickle"):
        read_pyskl(path)
    path.write_bytes(
        pickle.dumps(
            {"annotations": [{"frame_dir": "a", "label": 0, "keypoint": np.zeros((5, 25, 3))}]}
        )
    )
    with pytest.raises(SkeletonFileError, match="expected \\(M, T, V, C\\)"):
        read_pyskl(path)


def test_utkinect_recording_with_stamps_and_intervals(shared_data):
    from masksem_core.data.utkinect import CLASS_NAMES, read_action_labels, read_recording

    labels, notes = read_action_labels(shared_data / "utkinect" / "actionLabel.txt")
    assert len(labels) == 10 and len(labels["s01_e01"]) == 10 and notes == []
    assert labels["s01_e01"][0] == (CLASS_NAMES.index("walk"), 252, 390, 2)
    recording = read_recording(shared_data / "utkinect" / "joints_s01_e01.txt", labels["s01_e01"])
    assert recording.joints.shape[1:] == (1, 20, 3) and recording.subject == "1"
    assert np.all(np.diff(recording.stamps) > 0)  # repeated frame numbers dropped
    seq = recording.sequence()
    stamps = np.array(seq.extra["stamps"])
    assert len(stamps) == seq.frames
    walk = next(a for a in seq.extra["intervals"] if a[0] == 0)
    assert 252 / 30 <= stamps[walk[1]] and stamps[walk[2] - 1] <= 390 / 30


def test_utkinect_bad_files(tmp_path):
    from masksem_core.data.utkinect import read_action_labels, read_recording

    labels = tmp_path / "actionLabel.txt"
    labels.write_text("s01_e01\nwalk: 10 5\n")
    with pytest.raises(SkeletonFileError, match=r"actionLabel.txt:2: interval ends before"):
        read_action_labels(labels)
    labels.write_text("s01_e01\ndance: 1 5\n")
    with pytest.raises(SkeletonFileError, match="expected 'action: start end'"):
        read_action_labels(labels)
    recording = tmp_path / "joints_s01_e01.txt"
    recording.write_text("12 " + " ".join(["0.1"] * 59) + "\n")
    with pytest.raises(
        SkeletonFileError, match=r"joints_s01_e01.txt:1: expected a frame number and 60"
    ):
        read_recording(recording, [])
    misnamed = tmp_path / "joints_sXX_e01.txt"
    misnamed.write_text("12 " + " ".join(["0.1"] * 60) + "\n")
    with pytest.raises(SkeletonFileError, match="must be joints_sSS_eEE.txt"):
        read_recording(misnamed, [])
    recording.write_text("12 " + " ".join(["nan"] * 60) + "\n")
    with pytest.raises(SkeletonFileError, match="non-finite"):
        read_recording(recording, [])
