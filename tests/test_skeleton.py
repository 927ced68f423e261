import numpy as np
import pytest

from masksem_core.skeleton import (
    BODY_PART_NAMES,
    KINECT_V1_20,
    LAYOUTS,
    NTU25,
    get_layout,
    layout_for_joint_count,
)


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_layout_is_a_tree_rooted_at_the_root(layout):
    assert len(layout.bones) == layout.num_joints - 1
    reached = set(layout.subtree(layout.root))
    assert reached == set(range(layout.num_joints))
    for child, parent in layout.bones:
        assert 0 <= parent < layout.num_joints and child != parent


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_adjacency_symmetric_with_self_loops_and_normalised(layout):
    a = layout.adjacency()
    assert np.array_equal(a, a.T)
    assert np.all(np.diag(a) == 1)
    assert a.sum() == layout.num_joints + 2 * (layout.num_joints - 1)
    n = layout.normalized_adjacency()
    np.testing.assert_allclose(n, n.T)
    # by hand for joint 0 of NTU: degree with self loop = 1 + children(spine_mid, 2 hips) = 4
    if layout is NTU25:
        d0 = 4.0
        d1 = 3.0  # spine_mid: self, spine_base, spine_shoulder
        assert n[0, 1] == pytest.approx(1 / np.sqrt(d0 * d1))
        assert n[0, 0] == pytest.approx(1 / d0)


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_five_body_parts_partition_the_joints(layout):
    parts = layout.body_parts
    assert len(parts) == len(BODY_PART_NAMES) == 5
    flat = [v for part in parts for v in part]
    assert sorted(flat) == list(range(layout.num_joints))
    names = [{layout.joint_names[v] for v in part} for part in parts]
    assert {"head", "nose"} & names[0]
    assert "left_wrist" in names[1] and "right_wrist" in names[2]
    assert "left_ankle" in names[3] and "right_ankle" in names[4]


def test_ntu_specific_joints():
    assert NTU25.num_joints == 25 and KINECT_V1_20.num_joints == 20
    assert NTU25.parents[NTU25.index("left_hand_tip")] == NTU25.index("left_hand")
    assert NTU25.parents[NTU25.index("right_thumb")] == NTU25.index("right_wrist")
    assert set(NTU25.body_parts[1]) == {4, 5, 6, 7, 21, 22}  # left arm incl. tip and thumb


def test_lookup_errors_are_clear():
    assert layout_for_joint_count(20) is KINECT_V1_20
    assert get_layout("ntu25") is NTU25
    with pytest.raises(ValueError, match="no skeleton layout with 24 joints"):
        layout_for_joint_count(24)
    with pytest.raises(ValueError, match="unknown skeleton layout"):
        get_layout("coco")
    with pytest.raises(ValueError, match="no joint named"):
        NTU25.index("tail")


def test_mediapipe_to_ntu_maps_every_joint_and_turns_axes():
    from masksem_core.skeleton import MEDIAPIPE33, mediapipe_to_ntu25

    rng = np.random.default_rng(0)
    landmarks = rng.normal(size=(4, 33, 3)).astype(np.float32)
    ntu = mediapipe_to_ntu25(landmarks)
    assert ntu.shape == (4, 25, 3) and np.isfinite(ntu).all()
    mp = MEDIAPIPE33.index
    # a directly mapped joint: left elbow, with x and y flipped and z kept
    np.testing.assert_allclose(
        ntu[:, NTU25.index("left_elbow")], landmarks[:, mp("left_elbow")] * [-1, -1, 1]
    )
    base = 0.5 * (landmarks[:, mp("left_hip")] + landmarks[:, mp("right_hip")]) * [-1, -1, 1]
    np.testing.assert_allclose(ntu[:, NTU25.index("spine_base")], base, rtol=1e-6)
    # a person upright in MediaPipe (head at smaller y, i.e. up in the image) is upright in NTU
    upright = np.zeros((33, 3), dtype=np.float32)
    upright[[mp("left_ear"), mp("right_ear")], 1] = -0.6
    upright[[mp("left_ankle"), mp("right_ankle")], 1] = 0.9
    out = mediapipe_to_ntu25(upright)
    assert out[NTU25.index("head"), 1] > 0 > out[NTU25.index("left_ankle"), 1]
    with pytest.raises(ValueError, match="33, 3"):
        mediapipe_to_ntu25(np.zeros((25, 3)))


def test_ntu25_and_kinect_v1_20_correspond_on_twenty_joints():
    from masksem_core.skeleton import KINECT_V1_20, NTU25, joint_correspondence

    pairs = joint_correspondence(NTU25, KINECT_V1_20)  # Kinect joint → NTU joint
    assert len(pairs) == 20
    assert pairs[KINECT_V1_20.index("shoulder_center")] == NTU25.index("spine_shoulder")
    assert pairs[KINECT_V1_20.index("hip_center")] == NTU25.index("spine_base")
    assert pairs[KINECT_V1_20.index("right_hand")] == NTU25.index("right_hand")
    back = joint_correspondence(KINECT_V1_20, NTU25)
    assert NTU25.index("neck") not in back and len(back) == 20


def test_map_joints_drops_joints_and_never_invents_them():
    from masksem_core.skeleton import KINECT_V1_20, NTU25, map_joints

    joints = np.arange(2 * 25 * 3, dtype=np.float32).reshape(2, 25, 3)
    mapped = map_joints(joints, NTU25, KINECT_V1_20)
    assert mapped.shape == (2, 20, 3)
    np.testing.assert_array_equal(mapped[:, 2], joints[:, NTU25.index("spine_shoulder")])
    np.testing.assert_array_equal(mapped[:, 19], joints[:, 19])
    with pytest.raises(ValueError, match=r"kinect_v1_20 cannot be mapped to ntu25: it lacks"):
        map_joints(mapped, KINECT_V1_20, NTU25)


def test_joint_weights_move_to_the_nearest_corresponding_joint():
    from masksem_core.skeleton import KINECT_V1_20, MEDIAPIPE33, NTU25, nearest_corresponding_joints

    rows = nearest_corresponding_joints(KINECT_V1_20, NTU25)
    assert rows[NTU25.index("neck")] == KINECT_V1_20.index("shoulder_center")
    assert rows[NTU25.index("left_hand_tip")] == KINECT_V1_20.index("left_hand")
    assert rows[NTU25.index("right_thumb")] == KINECT_V1_20.index("right_wrist")
    assert rows[NTU25.index("left_knee")] == KINECT_V1_20.index("left_knee")
    with pytest.raises(ValueError, match="between layouts mediapipe33 and ntu25"):
        nearest_corresponding_joints(MEDIAPIPE33, NTU25)


@pytest.mark.parametrize("layout", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_mirror_order_swaps_each_left_joint_with_its_right_twin(layout):
    order = layout.mirror_order
    assert sorted(order) == list(range(layout.num_joints))
    assert all(order[order[v]] == v for v in range(layout.num_joints))
    for v, name in enumerate(layout.joint_names):
        twin = layout.joint_names[order[v]]
        assert twin == name.replace("left", "@").replace("right", "left").replace("@", "right")


def test_mirror_order_by_hand():
    mediapipe = get_layout("mediapipe33")
    assert mediapipe.joint_names[mediapipe.mirror_order[mediapipe.index("mouth_left")]] == (
        "mouth_right"
    )
    assert mediapipe.mirror_order[mediapipe.index("nose")] == mediapipe.index("nose")
    assert KINECT_V1_20.mirror_order[KINECT_V1_20.index("left_knee")] == KINECT_V1_20.index(
        "right_knee"
    )
