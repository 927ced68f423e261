"""ROS 2 bags as recordings: real bags written with rosbags' writer in both storages (sqlite3
and mcap), BodyArray and PoseArray messages serialised as ROS does (CDR from the package's own
.msg files), prepared, a tiny model trained on them and played; and every refusal."""

import json

import numpy as np
import pytest
import yaml

from masksem_core.data.prepared import PreparedData
from masksem_core.data.rosbag import BODY_ARRAY, POSE_ARRAY, typestore
from masksem_core.data.utkinect import labels_file, read_action_labels, read_recording
from tests.conftest import run_script
from tests.training.test_crossval import overrides

CLOCK = 1_733_580_000  # the bag's clock: seconds since the epoch at the first recording
TAKES = {"alice": "s01_e01", "bob": "s02_e01", "carol": "s03_e01"}


def utkinect(shared_data, take: str):
    labels, _ = read_action_labels(labels_file(shared_data / "utkinect"))
    return read_recording(shared_data / "utkinect" / f"joints_{take}.txt", labels[take])


def write_bag(path, storage: str, topic: str, msgtype: str, messages) -> None:
    """``messages``: (header stamp ns, {id: (V, 3) joints}), logged in this order (the bag's
    receive times increase whatever the header stamps do)."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    store = typestore()
    types = store.types
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Writer(path, version=9, storage_plugin=plugin) as writer:
        connection = writer.add_connection(topic, msgtype, typestore=store)
        for k, (stamp, bodies) in enumerate(messages):
            header = types["std_msgs/msg/Header"](
                stamp=types["builtin_interfaces/msg/Time"](
                    sec=stamp // 10**9, nanosec=stamp % 10**9
                ),
                frame_id="camera",
            )

            def points(joints):
                return [types["geometry_msgs/msg/Point"](x=x, y=y, z=z) for x, y, z in joints]

            if msgtype == BODY_ARRAY:
                body = types["masksem_interfaces/msg/Body"]
                message = types[BODY_ARRAY](
                    header=header,
                    bodies=[body(id=k, joints=points(v)) for k, v in bodies.items()],
                )
            else:
                pose = types["geometry_msgs/msg/Pose"]
                quaternion = types["geometry_msgs/msg/Quaternion"](x=0.0, y=0.0, z=0.0, w=1.0)
                message = types[POSE_ARRAY](
                    header=header,
                    poses=[
                        pose(position=p, orientation=quaternion)
                        for joints in bodies.values()
                        for p in points(joints)
                    ],
                )
            received = messages[0][0] + k * 10**6
            writer.write(connection, received, store.serialize_cdr(message, msgtype))


def ns(seconds: float) -> int:
    return CLOCK * 10**9 + round(seconds * 1e9)


@pytest.fixture
def bags(shared_data, tmp_path):
    """take_01 (sqlite3, /bodies BodyArray): alice and bob, bob out of view for 10 s and back;
    take_02 (mcap, /skeleton PoseArray): carol in slot 0. Labels on the bag's clock."""
    people = {name: utkinect(shared_data, take) for name, take in TAKES.items()}
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    away = (30.0, 40.0)  # bob's departure and return, on his own clock
    messages = []
    for k, stamp in enumerate(alice.stamps):
        bodies = {"alice": alice.joints[k, 0]}
        j = min(np.searchsorted(bob.stamps, stamp), len(bob.stamps) - 1)
        if not away[0] <= stamp < away[1]:
            bodies["bob"] = bob.joints[j, 0]
        messages.append((ns(stamp), bodies))
    root = tmp_path / "bags"
    root.mkdir()
    write_bag(root / "take_01", "sqlite3", "/bodies", BODY_ARRAY, messages)
    write_bag(
        root / "take_02",
        "mcap",
        "/skeleton",
        POSE_ARRAY,
        [(ns(t), {"0": carol.joints[k, 0]}) for k, t in enumerate(carol.stamps)],
    )
    names = ("walk", "sitDown", "standUp", "pickUp", "carry", "throw", "push", "pull")

    def actions(recording, end=None):
        return [
            [names[label], CLOCK + start, CLOCK + stop]
            for label, start, stop in recording.intervals
            if label < len(names)
            and stop <= (end or recording.stamps[-1])
            and not (away[0] <= start <= away[1] and recording is bob)
            and not (start < away[0] < stop and recording is bob)
        ]

    labels = {
        "layout": "kinect_v1_20",
        "classes": list(names),
        "recordings": [
            {"bag": "take_01", "id": "alice", "subject": "alice", "actions": actions(alice)},
            {
                "bag": "take_01",
                "id": "bob",
                "subject": "bob",
                "actions": actions(bob, end=alice.stamps[-1]),
            },
            {"bag": "take_02", "id": "0", "subject": "carol", "actions": actions(carol)},
        ],
    }
    (tmp_path / "labels.yaml").write_text(yaml.safe_dump(labels, sort_keys=False))
    return root, tmp_path / "labels.yaml", labels


def prepare(root, labels, out, *extra):
    return run_script(
        "prepare_data",
        "--dataset",
        "rosbag",
        "--src",
        root,
        "--labels",
        labels,
        "--out",
        out,
        "--quiet",
        *extra,
    )


def test_bags_in_both_storages_become_recordings_a_model_trains_on_and_plays(
    bags, shared_data, tmp_path
):
    root, labels, content = bags
    prepared_dir = tmp_path / "prep"
    result = prepare(root, labels, prepared_dir, "--val-subjects", "bob,carol")
    assert result.returncode == 0, result.stderr[-2000:]
    prepared = PreparedData(prepared_dir)
    names = [s["name"] for s in prepared.samples]
    assert sorted(names) == ["take_01/alice", "take_01/bob", "take_01/bob/2", "take_02/0"]
    carol = prepared.samples[names.index("take_02/0")]
    assert carol["extra"]["subject"] == "carol"
    stamps = prepared.stamps(names.index("take_02/0"))  # header stamps, the bag's clock
    original = utkinect(shared_data, "s03_e01").stamps
    np.testing.assert_allclose(stamps, CLOCK + original, rtol=0, atol=1e-6)
    alice = names.index("take_01/alice")
    assert len(prepared.intervals(alice)) == len(content["recordings"][0]["actions"])
    assert prepared.meta["dataset"] == "rosbag" and prepared.meta["layout"] == "kinect_v1_20"

    settings = [*overrides(prepared_dir, tmp_path / "runs"), "data.dataset=rosbag"]
    trained = run_script("finetune", "--config", "demo", "--no-init", *settings)
    assert trained.returncode == 0, trained.stderr[-2000:]
    model = tmp_path / "bags.onnx"
    exported = run_script(
        "export_onnx",
        "--checkpoint",
        tmp_path / "runs" / "finetune" / "last.pt",
        "--out",
        model,
        "--accept-low-recall",
        "--target-false-alarm",
        "0.1",
    )
    assert exported.returncode == 0, exported.stderr[-2000:]
    played = run_script(
        "evaluate_stream", "--model", model, "--data", prepared_dir, "--split", "val", "--json"
    )
    assert played.returncode == 0, played.stderr[-2000:]
    rows = [json.loads(line) for line in played.stdout.splitlines()]
    recordings = next(r for r in rows if r["scenario"] == "recordings")
    assert recordings["instances"] > 0


def refused(bags, tmp_path, edit=None, labels_text=None):
    root, labels, content = bags
    if edit is not None:
        changed = json.loads(json.dumps(content))
        edit(changed)
        labels.write_text(yaml.safe_dump(changed, sort_keys=False))
    out = tmp_path / "refused"
    result = prepare(root, labels, out)
    assert result.returncode == 2, result.stdout[-2000:] + result.stderr[-2000:]
    assert not out.exists()
    return result.stderr


def test_an_id_or_bag_not_in_the_labels_bags_is_refused_naming_the_line(bags, tmp_path):
    def stranger(labels):
        labels["recordings"][1]["id"] = "dave"

    error = refused(bags, tmp_path, stranger)
    assert "labels.yaml:" in error and "id 'dave' is not in bag" in error and "alice, bob" in error

    def missing(labels):
        labels["recordings"][2]["bag"] = "take_09"

    assert "take_09 does not exist" in refused(bags, tmp_path, missing)


def test_an_absent_topic_and_an_interval_outside_are_refused(bags, tmp_path):
    def topic(labels):
        labels["topic"] = "/nothing"

    error = refused(bags, tmp_path, topic)
    assert "no topic /nothing" in error and "/bodies (masksem_interfaces/msg/BodyArray)" in error

    def outside(labels):
        labels["recordings"][0]["actions"][0][1] = CLOCK + 100_000.0
        labels["recordings"][0]["actions"][0][2] = CLOCK + 100_001.0

    assert "outside every stay of id 'alice'" in refused(bags, tmp_path, outside)


def test_a_bag_that_does_not_open_or_runs_backwards_is_refused(bags, tmp_path):
    root, _, _ = bags
    broken = root / "take_01"
    for item in broken.iterdir():
        if item.suffix == ".db3":
            item.write_bytes(b"not a database")
    assert "does not open" in refused(bags, tmp_path)

    for item in broken.iterdir():
        item.unlink()
    broken.rmdir()
    body = np.zeros((20, 3))
    write_bag(
        broken,
        "sqlite3",
        "/bodies",
        BODY_ARRAY,
        [(ns(2.0), {"alice": body}), (ns(1.0), {"alice": body})],
    )
    assert "is not after the previous message's" in refused(bags, tmp_path)
