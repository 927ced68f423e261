"""A user's own continuous recordings: the documented folder format, subject splits, bad input."""

import json

import numpy as np
import pytest
import yaml

from masksem_core.data.prepare import prepare_dataset
from masksem_core.data.prepared import PreparedData
from masksem_core.data.sequence import SkeletonFileError
from masksem_core.errors import DataError
from tests.conftest import run_script

CLASSES = ["wave", "pick", "walk"]


def write_recording(path, stamps, bodies=1, joints=20):
    """A CSV of a person moving: a line per stamp, then bodies × joints × x y z."""
    t = np.asarray(stamps)[:, None]
    values = np.sin(t + np.arange(bodies * joints * 3)[None] / 7.0) + 1.0
    lines = ["# stamp, then x y z of every joint"]
    lines += [
        ", ".join(f"{v:.5f}" for v in (s, *row)) for s, row in zip(stamps, values, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")


def irregular_stamps(seconds: float, seed: int) -> np.ndarray:
    """Skeletons every 60–200 ms (a tracker under load), starting at an arbitrary clock."""
    rng = np.random.default_rng(seed)
    return 1_700_000_000.0 + np.cumsum(rng.uniform(0.06, 0.2, size=int(seconds / 0.13)))


def recordings_folder(root, subjects=("alice", "bob", "carol", "dan"), **changes) -> dict:
    """The documented format: recordings.yaml and one CSV a take, two takes a subject."""
    root.mkdir(parents=True, exist_ok=True)
    entries = []
    for k, subject in enumerate(subjects):
        for take in (1, 2):
            stamps = irregular_stamps(20.0, 10 * k + take)
            name = f"{subject}_{take:02d}.csv"
            write_recording(root / name, stamps)
            t0 = float(stamps[0])
            walk = [None, None] if take == 2 else [round(t0 + 14.0, 3), round(t0 + 17.0, 3)]
            actions = [
                ["wave", round(t0 + 2.0, 3), round(t0 + 5.0, 3)],
                ["pick", round(t0 + 8.0, 3), round(t0 + 11.0, 3)],
                ["walk", *walk],
            ]
            entries.append({"file": name, "subject": subject, "actions": actions})
    manifest = {"layout": "kinect_v1_20", "classes": CLASSES, "recordings": entries, **changes}
    write_manifest(root, manifest)
    return manifest


def write_manifest(root, manifest: dict) -> None:
    (root / "recordings.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def test_recordings_land_in_the_splits_of_the_subjects_the_user_chose(tmp_path):
    recordings_folder(tmp_path / "mine")
    report = prepare_dataset(
        "recordings",
        tmp_path / "mine",
        tmp_path / "prep",
        val_subjects=["bob"],
        test_subjects=["carol", "dan"],
    )
    prepared = PreparedData(tmp_path / "prep")
    subjects = {
        split: sorted({prepared.samples[i]["extra"]["subject"] for i in indices})
        for split, indices in prepared.splits.items()
    }
    assert subjects == {
        "train": ["alice"],
        "val": ["bob"],
        "test": ["carol", "dan"],
        "all": ["alice", "bob", "carol", "dan"],
        **{f"subject_{name}": [name] for name in ("alice", "bob", "carol", "dan")},
    }
    assert prepared.meta["layout"] == "kinect_v1_20" and prepared.class_names == CLASSES
    assert 5.0 < prepared.fps < 10.0  # the median skeleton rate of irregular stamps
    assert sum("walk: not in this take" in note for note in report.notes) == 4


def test_irregular_stamps_are_kept_and_intervals_become_their_frames(tmp_path):
    manifest = recordings_folder(tmp_path / "mine")
    prepare_dataset("recordings", tmp_path / "mine", tmp_path / "prep", val_subjects=["dan"])
    prepared = PreparedData(tmp_path / "prep")
    first = manifest["recordings"][0]
    stamps = prepared.stamps(0)
    written = np.loadtxt(tmp_path / "mine" / first["file"], delimiter=",")[:, 0]
    np.testing.assert_allclose(stamps, written)
    assert np.std(np.diff(stamps)) > 0.02  # irregular, as recorded
    for (label, start, end), (name, t0, t1) in zip(
        prepared.intervals(0), first["actions"], strict=True
    ):
        assert CLASSES[label] == name
        assert t0 <= stamps[start] and stamps[end - 1] <= t1
        assert start == 0 or stamps[start - 1] < t0
    assert len(prepared.intervals(1)) == 2  # the take without a walk


BAD_INPUTS = {
    "no stamps": ("stamps", "expected a stamp and a multiple of 60 coordinates"),
    "outside": ("outside", r"lies outside the recording"),
    "overlap": ("overlap", r"pick \[\d+\.\d{3}, \d+\.\d{3}\] s overlaps pick"),
    "unknown action": ("unknown", r"unknown action 'dance'"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_recordings_are_refused_naming_the_file_and_nothing_is_written(tmp_path, case):
    kind, message = BAD_INPUTS[case]
    manifest = recordings_folder(tmp_path / "mine")
    entry = manifest["recordings"][0]
    t0 = entry["actions"][0][1] - 2.0
    if kind == "stamps":
        values = np.ones((30, 60))
        np.savetxt(tmp_path / "mine" / entry["file"], values, delimiter=",")
        where = entry["file"]
    else:
        where = "recordings.yaml:"
        entry["actions"][0] = {
            "outside": ["wave", t0 + 15.0, t0 + 400.0],
            "overlap": ["pick", t0 + 3.0, t0 + 9.0],
            "unknown": ["dance", t0 + 2.0, t0 + 3.0],
        }[kind]
        write_manifest(tmp_path / "mine", manifest)
    with pytest.raises(SkeletonFileError, match=message) as err:
        prepare_dataset("recordings", tmp_path / "mine", tmp_path / "prep")
    assert where in str(err.value)
    assert not (tmp_path / "prep").exists()


def test_a_subject_named_in_two_splits_or_unknown_is_refused(tmp_path):
    recordings_folder(tmp_path / "mine")
    with pytest.raises(DataError, match="bob named for both validation and test"):
        prepare_dataset(
            "recordings",
            tmp_path / "mine",
            tmp_path / "p",
            val_subjects=["bob"],
            test_subjects=["bob"],
        )
    with pytest.raises(DataError, match="no recording of subject.s. erin; the subjects are"):
        prepare_dataset("recordings", tmp_path / "mine", tmp_path / "p", val_subjects=["erin"])
    assert not (tmp_path / "p").exists()


def test_the_command_line_exits_2_naming_the_file(tmp_path):
    manifest = recordings_folder(tmp_path / "mine")
    manifest["recordings"][1]["actions"][0][0] = "dance"
    write_manifest(tmp_path / "mine", manifest)
    result = run_script(
        "prepare_data",
        "--dataset",
        "recordings",
        "--src",
        tmp_path / "mine",
        "--out",
        tmp_path / "prep",
        "--val-subjects",
        "bob",
    )
    assert result.returncode == 2 and "recordings.yaml" in result.stderr
    assert "unknown action 'dance'" in result.stderr and not (tmp_path / "prep").exists()


def test_utkinect_nan_intervals_are_skipped_with_a_note(shared_data, tmp_path):
    source = shared_data / "utkinect"
    copy = tmp_path / "utk"
    copy.mkdir()
    for path in source.glob("joints_s0[12]_e0*.txt"):
        (copy / path.name).write_text(path.read_text())
    labels = source.joinpath("actionLabel.txt").read_text().splitlines()
    kept = []
    take = None
    for line in labels:
        take = line.strip() if line.strip() and ":" not in line else take
        if take and take[:3] in ("s01", "s02"):
            kept.append(
                "carry: NaN NaN" if take == "s02_e01" and line.startswith("carry") else line
            )
    (copy / "actionLabel.txt").write_text("\n".join(kept) + "\n")
    report = prepare_dataset(
        "utkinect", copy, tmp_path / "prep", progress=False, val_subjects=["2"]
    )
    prepared = PreparedData(tmp_path / "prep")
    assert any("s02_e01 has no carry (NaN NaN), skipped" in note for note in report.notes)
    s02_e01 = next(i for i, s in enumerate(prepared.samples) if s["name"] == "s02_e01")
    assert len(prepared.intervals(s02_e01)) == 9
    assert json.loads((tmp_path / "prep" / "meta.json").read_text())["notes"]
    assert [prepared.samples[i]["extra"]["subject"] for i in prepared.splits["val"]] == ["2", "2"]


def utkinect_copy(shared_data, folder, edit) -> list[str]:
    """Subjects 1 and 2 of UTKinect in ``folder``, ``edit`` applied to each label line."""
    source = shared_data / "utkinect"
    folder.mkdir()
    for path in source.glob("joints_s0[12]_e0*.txt"):
        (folder / path.name).write_text(path.read_text())
    lines, take = [], None
    for line in source.joinpath("actionLabel.txt").read_text().splitlines():
        take = line.strip() if line.strip() and ":" not in line else take
        if take and take[:3] in ("s01", "s02"):
            lines.append(edit(take, line))
    return lines


def test_a_bad_utkinect_label_refuses_or_skips_its_take_in_words(shared_data, tmp_path):
    """s02_e01's push made to overlap its pull: exit 2 naming the labels file and line; with
    --skip-bad-labels the take is left out, said in words (never a Python tuple)."""

    def overlap(take, line):
        return "push: 1 100000" if take == "s02_e01" and line.startswith("push") else line

    lines = utkinect_copy(shared_data, tmp_path / "utk", overlap)
    (tmp_path / "utk" / "actionLabel.txt").write_text("\n".join(lines) + "\n")
    number = lines.index("push: 1 100000") + 1
    args = ["--dataset", "utkinect", "--src", tmp_path / "utk", "--val-subjects", "2"]
    refused = run_script("prepare_data", *args, "--out", tmp_path / "refused")
    assert refused.returncode == 2, refused.stderr
    assert f"actionLabel.txt:{number}:" in refused.stderr and "--skip-bad-labels" in refused.stderr
    assert not (tmp_path / "refused").exists()
    skipped = run_script("prepare_data", *args, "--out", tmp_path / "prep", "--skip-bad-labels")
    assert skipped.returncode == 0, skipped.stderr
    assert "skipped: 1" in skipped.stdout and "joints_s02_e01.txt: its label:" in skipped.stdout
    assert "(PosixPath" not in skipped.stdout
    assert len(PreparedData(tmp_path / "prep").samples) == 3


def test_the_datasets_corrected_labels_are_preferred_and_named(shared_data, tmp_path):
    lines = utkinect_copy(shared_data, tmp_path / "utk", lambda take, line: line)
    (tmp_path / "utk" / "actionLabel.txt").write_text("\n".join(lines) + "\n")
    walk = next(i for i, line in enumerate(lines) if line.startswith("walk"))
    corrected = [*lines]
    start = int(lines[walk].split()[1])
    corrected[walk] = f"walk: {start} {start + 40}"
    (tmp_path / "utk" / "actionLabel_modified.txt").write_text("\n".join(corrected) + "\n")
    report = prepare_dataset(
        "utkinect", tmp_path / "utk", tmp_path / "prep", progress=False, val_subjects=["2"]
    )
    assert report.notes[0].endswith("actionLabel_modified.txt")
    prepared = PreparedData(tmp_path / "prep")
    first = next(i for i, s in enumerate(prepared.samples) if s["name"] == "s01_e01")
    label, begin, end = prepared.intervals(first)[0]
    stamps = prepared.stamps(first)
    assert prepared.class_names[label] == "walk"
    assert stamps[end - 1] - stamps[begin] <= 40 / 30 + 1e-6  # the corrected, shorter interval
