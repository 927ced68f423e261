"""Bring your own skeletons: a pyskl pickle goes through the same preparation contract as the
built-in readers, in a known joint order, with its class names, or is refused with a reason."""

import os
import pickle

import numpy as np
import pytest

from masksem_core.data.demo import DEMO_CLASS_NAMES, demo_splits, generate_demo_dataset
from masksem_core.data.prepare import prepare_dataset
from masksem_core.data.prepared import PreparedData, WindowDataset, write_prepared
from masksem_core.data.pyskl import write_pyskl
from masksem_core.data.transforms import ModelInput
from masksem_core.skeleton import NTU25
from masksem_core.window_spec import WindowSpec
from tests.conftest import run_script

OFFSET = np.array([0.3, -0.2, 2.5], dtype=np.float32)  # raw camera coordinates: 2.5 m away


@pytest.fixture(scope="module")
def demo_sequences():
    return generate_demo_dataset(3, seed=1)


def raw_pickle(path, sequences, permutation=None, **extra) -> None:
    """The demo set as a user would have it: uncentred, optionally in another joint order."""
    moved = []
    for s in sequences:
        data = np.where(s.data != 0, s.data + OFFSET, 0.0).astype(np.float32)
        if permutation is not None:
            data = data[:, :, permutation]
        moved.append(type(s)(name=s.name, label=s.label, data=data, subject=s.subject))
    samples = [{"subject": s.subject} for s in sequences]
    splits = {k: [sequences[i].name for i in v] for k, v in demo_splits(samples).items()}
    write_pyskl(path, moved, splits, **extra)


def test_raw_pickle_prepares_like_the_builtin_reader_and_the_recognizer(demo_sequences, tmp_path):
    raw_pickle(tmp_path / "raw.pkl", demo_sequences)
    pyskl = PreparedData(
        prepare_dataset("pyskl", tmp_path / "raw.pkl", tmp_path / "p", progress=False).out_dir
    )
    builtin = PreparedData(
        write_prepared(
            tmp_path / "b",
            demo_sequences,
            demo_splits,
            {"dataset": "demo", "layout": "ntu25", "class_names": list(DEMO_CLASS_NAMES)},
            1,
            25,
            centre_joint=NTU25.index(NTU25.centre_joint),
        )
    )
    np.testing.assert_allclose(np.asarray(pyskl.data), np.asarray(builtin.data), atol=1e-5)
    # the evaluated window of a prepared sample = the recognizer's window of the raw skeleton
    spec = WindowSpec("ntu25", fps=pyskl.fps)
    window, _ = WindowDataset(pyskl, "xsub_test", ModelInput(spec))[0]
    index = pyskl.split_indices("xsub_test")[0]
    raw = demo_sequences[index].data
    live = spec.from_clip(np.where(raw != 0, raw + OFFSET, 0.0).astype(np.float32))
    np.testing.assert_allclose(window.numpy(), live, atol=1e-5)


def test_joint_order_by_name_recovers_the_layout_order(demo_sequences, tmp_path):
    permutation = np.random.default_rng(0).permutation(25)
    names = [NTU25.joint_names[i] for i in permutation]
    raw_pickle(tmp_path / "perm.pkl", demo_sequences, permutation, joint_order=names)
    raw_pickle(tmp_path / "plain.pkl", demo_sequences)
    permuted = prepare_dataset("pyskl", tmp_path / "perm.pkl", tmp_path / "a", progress=False)
    plain = prepare_dataset("pyskl", tmp_path / "plain.pkl", tmp_path / "b", progress=False)
    a, b = PreparedData(permuted.out_dir), PreparedData(plain.out_dir)
    np.testing.assert_array_equal(np.asarray(a.data), np.asarray(b.data))
    # the same mapping from the command line, for a pickle without names
    raw_pickle(tmp_path / "bare.pkl", demo_sequences, permutation)
    result = prepare_pickle(
        tmp_path / "bare.pkl", tmp_path / "c", "--joint-order", ",".join(names), "--quiet"
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.asarray(PreparedData(tmp_path / "c").data), np.asarray(b.data))


def test_class_names_from_the_pickle_or_a_file(demo_sequences, tmp_path):
    raw_pickle(tmp_path / "named.pkl", demo_sequences, label_names=list(DEMO_CLASS_NAMES))
    report = prepare_dataset("pyskl", tmp_path / "named.pkl", tmp_path / "n", progress=False)
    assert PreparedData(report.out_dir).class_names == list(DEMO_CLASS_NAMES)
    raw_pickle(tmp_path / "bare.pkl", demo_sequences)
    (tmp_path / "names.txt").write_text("\n".join(f"action {i}" for i in range(10)) + "\n")
    result = prepare_pickle(
        tmp_path / "bare.pkl", tmp_path / "f", "--class-names", tmp_path / "names.txt", "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert PreparedData(tmp_path / "f").class_names[3] == "action 3"


def prepare_pickle(src, out, *options):
    """prepare_data.py --dataset pyskl, as a user runs it."""
    return run_script(
        "prepare_data", "--dataset", "pyskl", "--src", src, "--out", out, "--quiet", *options
    )


def bad(sequence, **changes) -> dict:
    annotation = {
        "frame_dir": sequence.name,
        "label": sequence.label,
        "keypoint": sequence.data,
        "total_frames": sequence.frames,
    }
    return {**annotation, **changes}


@pytest.mark.parametrize(
    "case,message",
    [
        ("negative_label", "label -1 is outside 0..9"),
        ("label_beyond_names", "label 10 is outside 0..9"),
        ("missing_split", "no 'split' dict"),
        ("unknown_split_entry", "match no annotation, e.g. 'nobody'"),
        ("empty_split", "split 'test' is empty"),
        ("duplicate_frame_dir", "appears twice"),
        ("empty_sequence", "empty sequence"),
        ("gap_in_labels", "no sample of class 1"),
    ],
)
def test_bad_annotations_exit_2_naming_the_sample(demo_sequences, tmp_path, case, message):
    first, *rest = demo_sequences[:12]
    annotations = [bad(s) for s in demo_sequences[:12]]
    split = {"train": [s.name for s in demo_sequences[:8]], "test": [s.name for s in rest[7:]]}
    content = {"split": split, "annotations": annotations, "label_names": list(DEMO_CLASS_NAMES)}
    if case == "negative_label":
        annotations[0] = bad(first, label=-1)
    elif case == "label_beyond_names":
        annotations[0] = bad(first, label=10)
    elif case == "missing_split":
        del content["split"]
    elif case == "unknown_split_entry":
        split["test"].append("nobody")
    elif case == "empty_split":
        split["test"] = []
    elif case == "duplicate_frame_dir":
        annotations[1] = bad(rest[0], frame_dir=first.name)
    elif case == "empty_sequence":
        annotations[0] = bad(first, keypoint=np.zeros((1, 0, 25, 3), np.float32))
    elif case == "gap_in_labels":
        del content["label_names"]
        content["annotations"] = [a for a in annotations if a["label"] != 1]
    (tmp_path / "bad.pkl").write_bytes(pickle.dumps(content))
    out = tmp_path / "out"
    result = prepare_pickle(tmp_path / "bad.pkl", out)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not out.exists() and not any(p.name.startswith(".out") for p in tmp_path.iterdir())


class Payload:
    """Unpickling this runs os.system: what a malicious annotation pickle would carry."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_runs_code_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "it_ran"
    content = {"split": {"train": ["a"]}, "annotations": [Payload(marker)]}
    (tmp_path / "evil.pkl").write_bytes(pickle.dumps(content))
    result = prepare_pickle(tmp_path / "evil.pkl", tmp_path / "o")
    assert result.returncode == 2
    assert "refers to posix.system" in result.stderr
    assert not marker.exists() and not (tmp_path / "o").exists()
