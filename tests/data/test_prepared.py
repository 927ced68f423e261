import json

import numpy as np
import pytest
import torch

from masksem_core.config import load_experiment
from masksem_core.data.demo import DEMO_CLASS_NAMES, generate_demo_dataset
from masksem_core.data.prepare import prepare_dataset, prepare_demo_dataset, prepared_to_pyskl
from masksem_core.data.prepared import PreparedData, PreparedWriter
from masksem_core.data.sequence import SkeletonSequence
from masksem_core.data.splits import label_fraction_subset, stratified_split
from masksem_core.engine.builders import evaluation_windows, training_windows
from masksem_core.errors import DataError


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    return prepare_demo_dataset(tmp_path_factory.mktemp("prep") / "demo", samples_per_class=6)


def test_demo_dataset_prepared_format(demo_dir):
    prepared = PreparedData(demo_dir)
    assert prepared.data.shape == (60, 1, 300, 25, 3)
    assert isinstance(prepared.data, np.memmap)
    assert prepared.class_names == list(DEMO_CLASS_NAMES)
    assert prepared.meta["synthetic"] is True
    train, test = prepared.split_indices("xsub_train"), prepared.split_indices("xsub_test")
    assert not set(train) & set(test) and len(train) + len(test) == 60
    first = prepared.sequence(0)
    assert first.shape[1] == prepared.samples[0]["frames"]
    np.testing.assert_allclose(first[0, 0, 1], 0.0, atol=1e-6)  # centred on spine-mid


def test_window_dataset_train_random_test_deterministic(demo_dir):
    prepared = PreparedData(demo_dir)
    config = load_experiment("demo")
    train = training_windows(prepared, "xsub_train", config.data)
    test = evaluation_windows(prepared, "xsub_test", config.data)
    x, y = train[0]
    assert x.shape == (1, 120, 25, 3) and x.dtype == torch.float32 and isinstance(y, int)
    torch.manual_seed(0)
    a = train[0][0]
    torch.manual_seed(0)
    assert torch.equal(a, train[0][0])
    assert not torch.equal(a, train[0][0])
    assert torch.equal(test[1][0], test[1][0])


def test_demo_generator_is_seeded_and_classes_differ():
    a, b = generate_demo_dataset(2, seed=1), generate_demo_dataset(2, seed=1)
    assert all(np.array_equal(x.data, y.data) for x, y in zip(a, b, strict=True))
    assert len({s.label for s in a}) == len(DEMO_CLASS_NAMES)


def test_label_fraction_subsets_are_stratified_seeded_and_saved(demo_dir, tmp_path):
    prepared = PreparedData(demo_dir)
    name = prepared.add_label_fraction_split("xsub_train", 0.1, seed=3)
    assert name == "xsub_train_10pct_seed3"
    subset = prepared.splits[name]
    assert set(subset) <= set(prepared.split_indices("xsub_train"))
    labels = {prepared.samples[i]["label"] for i in subset}
    assert labels == set(range(10))  # at least one per class
    assert json.loads((demo_dir / "splits.json").read_text())[name] == subset
    assert label_fraction_subset(prepared.labels, range(60), 0.5, 1) == label_fraction_subset(
        prepared.labels, range(60), 0.5, 1
    )
    assert label_fraction_subset(prepared.labels, range(60), 0.5, 1) != label_fraction_subset(
        prepared.labels, range(60), 0.5, 2
    )


def test_stratified_split():
    labels = [0] * 10 + [1] * 20
    split = stratified_split(labels, 0.3, seed=0)
    test = split["stratified_test"]
    assert sum(labels[i] == 0 for i in test) == 3 and sum(labels[i] == 1 for i in test) == 6
    assert not set(test) & set(split["stratified_train"])


def test_pyskl_round_trip(demo_dir, tmp_path):
    pickle_path = prepared_to_pyskl(demo_dir, tmp_path / "demo.pkl")
    report = prepare_dataset("pyskl", pickle_path, tmp_path / "again", progress=False)
    a, b = PreparedData(demo_dir), PreparedData(report.out_dir)
    assert np.array_equal(np.asarray(a.data), np.asarray(b.data))
    assert a.labels == b.labels and a.splits == b.splits


def test_nw_ucla_all_files(shared_data, tmp_path):
    report = prepare_dataset(
        "nw_ucla", shared_data / "nw_ucla", tmp_path / "ucla", workers=2, progress=False
    )
    prepared = PreparedData(report.out_dir)
    assert len(prepared.samples) == 1484 and not report.skipped
    assert len(prepared.splits["xview_train"]) == 1020
    assert len(prepared.splits["xview_test"]) == 464
    view1, view2 = prepared.splits["view1_train"], prepared.splits["view2_val"]
    assert sorted(view1 + view2) == sorted(prepared.splits["xview_train"])  # never view 3
    train, same_view, new_view = (
        prepared.splits[f"view{v}_subjects{s}"]
        for v, s in ((1, "1to7"), (1, "8to10"), (2, "8to10"))
    )
    assert sorted(train + same_view) == sorted(view1) and set(new_view) <= set(view2)
    subjects = [{prepared.samples[i]["subject"] for i in split} for split in (train, same_view)]
    assert subjects == [set(range(1, 8)), {8, 9, 10}]
    assert (len(train), len(same_view), len(new_view)) == (362, 154, 143)
    fewer = [set(prepared.splits[f"view1_subjects1to{n}"]) for n in (3, 5)]
    assert fewer[0] < fewer[1] < set(train) and len(fewer[0]) == 153
    assert len(set(prepared.labels)) == 10 == len(prepared.class_names)
    assert prepared.data.shape[1:] == (1, 300, 20, 3)


def test_gtu_all_files(shared_data, tmp_path):
    report = prepare_dataset("gtu", shared_data / "gtu", tmp_path / "gtu", progress=False)
    prepared = PreparedData(report.out_dir)
    assert len(prepared.samples) == 508
    assert len(set(prepared.labels)) == 14 and prepared.data.shape[3] == 25
    assert "per 1,000 items" in report.summary() and report.seconds_per_1000_files > 0


def test_bad_files_are_skipped_with_reasons_and_no_partial_directory(shared_data, tmp_path):
    src = tmp_path / "ntu"
    src.mkdir()
    for path in (shared_data / "ntu_samples").glob("*.skeleton"):
        (src / path.name).write_bytes(path.read_bytes())
    (src / "S001C001P002R001A002.skeleton").write_text("5\n1\n")  # truncated
    (src / "S001C001P003R001A002.skeleton").write_text("")  # empty
    report = prepare_dataset("ntu60", src, tmp_path / "out", progress=False)
    reasons = dict(report.skipped)
    assert len(reasons) == 2
    assert "truncated" in reasons[str(src / "S001C001P002R001A002.skeleton")]
    assert "empty file" in reasons[str(src / "S001C001P003R001A002.skeleton")]
    prepared = PreparedData(tmp_path / "out")
    assert len(prepared.samples) == 6
    names = {prepared.class_names[label] for label in prepared.labels}
    assert names == {  # A001, A003, A011, A017, A034, A058 of the NTU README
        "drink water",
        "brushing teeth",
        "reading",
        "take off a shoe",
        "rub two hands together",
        "handshaking",
    }
    assert "skipped: 2" in report.summary()

    with pytest.raises(FileExistsError, match="--overwrite"):
        prepare_dataset("ntu60", src, tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match="unknown dataset 'kinetics'"):
        prepare_dataset("kinetics", src, tmp_path / "k", progress=False)
    with pytest.raises(FileNotFoundError, match="no NW-UCLA json files"):
        prepare_dataset("nw_ucla", src, tmp_path / "u", progress=False)
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert not leftovers and not (tmp_path / "u").exists()


def test_a_recording_with_intervals_is_never_resampled(tmp_path):
    """Resampling a long recording would move every labelled interval: refused with a reason."""
    data = np.random.default_rng(0).normal(size=(1, 50, 25, 3)).astype(np.float32)
    writer = PreparedWriter(tmp_path / "out", num_bodies=1, num_joints=25, max_frames=40)
    clip = SkeletonSequence("clip", 0, data)
    writer.add(clip)  # a trimmed clip is resampled to the record length
    assert writer.samples[-1]["frames"] == 40
    recording = SkeletonSequence("take", -1, data, extra={"intervals": [[0, 5, 20]]})
    with pytest.raises(DataError, match="take: a recording with stamps or labelled intervals"):
        writer.add(recording)
