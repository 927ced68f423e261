"""The general pretraining corpus: every real source, one joint set, no reported test motion."""

import numpy as np
import pytest

from masksem_core.data.general import SEGMENT_SECONDS, list_corpus, source_summary
from masksem_core.data.prepare import prepare_dataset
from masksem_core.data.prepared import PreparedData


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data")
    out = tmp_path_factory.mktemp("general") / "general"
    prepare_dataset("general", SHARED_DATA, out, progress=False)
    return PreparedData(out)


def test_every_source_is_in_the_kinect_v1_20_joint_set(corpus, shared_data):
    assert corpus.meta["layout"] == "kinect_v1_20" and corpus.data.shape[3] == 20
    summary = source_summary(corpus.samples)
    assert set(summary) == {"nw_ucla", "gtu", "utkinect", "ntu_samples"}
    assert summary["nw_ucla"]["samples"] == 1020 and summary["ntu_samples"]["samples"] == 6
    assert all(entry["hours"] > 0 for entry in summary.values())


def test_no_clip_of_a_reported_split_is_in_the_corpus(corpus, shared_data, tmp_path):
    names = {s["name"] for s in corpus.samples}
    assert not any(name.startswith("nw_ucla/") and name.endswith("_v03") for name in names)
    assert not any(name.startswith("utkinect/s05_") for name in names)
    gtu = PreparedData(prepare_dataset("gtu", shared_data / "gtu", tmp_path / "gtu").out_dir)
    test = {f"gtu/{gtu.samples[i]['name']}" for i in gtu.splits["stratified_test"]}
    train = {f"gtu/{gtu.samples[i]['name']}" for i in gtu.splits["stratified_train"]}
    assert not names & test and train <= names


def test_recordings_enter_whole_in_segments_with_the_activity_between_actions(corpus):
    segments = [s for s in corpus.samples if s["name"].startswith("utkinect/")]
    assert {s["frames"] for s in segments[:-1]} >= {int(SEGMENT_SECONDS * 30)}
    takes = {s["name"].split("/")[1] for s in segments}
    assert takes == {f"s0{k}_e0{t}" for k in (1, 2, 3, 4) for t in (1, 2)}


def test_a_folder_without_sources_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no skeleton source under"):
        list_corpus(tmp_path)


def test_ntu_joints_are_mapped_not_invented(corpus, shared_data):
    from masksem_core.data.ntu import read_ntu_skeleton
    from masksem_core.skeleton import KINECT_V1_20, NTU25, map_joints
    from masksem_core.windows import prepare_sequence

    index = next(i for i, s in enumerate(corpus.samples) if "A001" in s["name"])
    name = corpus.samples[index]["name"].split("/")[1]
    raw = read_ntu_skeleton(shared_data / "ntu_samples" / f"{name}.skeleton", max_bodies=1).data
    mapped = prepare_sequence(map_joints(raw, NTU25, KINECT_V1_20), KINECT_V1_20.index("spine"))
    np.testing.assert_allclose(corpus.sequence(index), mapped, atol=1e-5)
