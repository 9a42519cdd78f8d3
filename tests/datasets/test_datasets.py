"""Datasets: Dynamic FAUST from tiny HDF5 files in the real schema (written
here), the synthetic bodies, and the frame-ordering sets on top of both."""
import os
import random

import h5py
import numpy as np
import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from pyg_dss.data import SetData
from pyg_dss.datasets import DynamicFAUST, MOTIONS, SyntheticBodies, make_sequence
from pyg_dss.frames import (DFAUSTFrameSets, DFAUST_SPLITS, FrameSets, SyntheticFrameSets,
                            face_to_edge_index, sample_frame_times)

# A small closed mesh: the octahedron (6 vertices, 8 faces, 12 edges).
OCTA_V = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]],
                  dtype=np.float32)
OCTA_F = np.array([[0, 2, 4], [2, 1, 4], [1, 3, 4], [3, 0, 4],
                   [2, 0, 5], [1, 2, 5], [3, 1, 5], [0, 3, 5]], dtype=np.int32)

# (file, subject, sequence, frames)
SEQS = [("m", "50002", "punching", 20), ("m", "50007", "hips", 16),
        ("m", "50007", "knees", 12), ("f", "50004", "hips", 18),
        ("f", "50020", "shake_arms", 15)]


def frames_of(T: int, code: int) -> np.ndarray:
    """(V, 3, T) vertices whose frame t is the octahedron shifted by t along
    x and scaled by (1 + code): the time of a frame can be read off it."""
    t = np.arange(T, dtype=np.float32)
    v = OCTA_V[:, :, None] * (1 + code) + np.zeros((1, 3, T), np.float32)
    v[:, 0, :] += t
    return v


def write_dfaust(raw: str, seqs=SEQS, faces=True, bad=None) -> None:
    os.makedirs(raw, exist_ok=True)
    for g in "mf":
        with h5py.File(os.path.join(raw, f"registrations_{g}.hdf5"), "w") as f:
            if faces:
                f["faces"] = OCTA_F
            for i, (gg, sid, seq, T) in enumerate(seqs):
                if gg == g:
                    f[f"{sid}_{seq}"] = frames_of(T, i)
            if bad is not None and g == "m":
                f[bad[0]] = bad[1]


@pytest.fixture
def dfaust_root(tmp_path):
    write_dfaust(str(tmp_path / "raw"))
    return str(tmp_path)


# ----------------------------------------------------------------- DFAUST
def test_dfaust_reads_real_schema(dfaust_root):
    ds = DynamicFAUST(dfaust_root)
    assert len(ds) == len(SEQS)
    names = {(d.subject, d.sequence) for d in ds}
    assert names == {(s, q) for _, s, q, _ in SEQS}
    for d in ds:
        i = [k for k, (_, s, q, _) in enumerate(SEQS) if (s, q) == (d.subject, d.sequence)][0]
        T = SEQS[i][3]
        assert d.pos.shape == (T, 6, 3) and d.face.shape == (3, 8)
        assert torch.equal(d.pos, torch.from_numpy(frames_of(T, i)).permute(2, 0, 1))
    # second construction loads the processed file, names included
    again = DynamicFAUST(dfaust_root)
    assert [(d.subject, d.sequence) for d in again] == [(d.subject, d.sequence) for d in ds]


def test_dfaust_subset_and_pre_filter(dfaust_root):
    ds = DynamicFAUST(dfaust_root, subjects=["50007"], sequences=["knees"])
    assert [(d.subject, d.sequence) for d in ds] == [("50007", "knees")]
    ds = DynamicFAUST(dfaust_root, subjects=["50007", "50020"],
                      pre_filter=lambda d: d.pos.size(0) > 12, force_reload=True)
    assert [(d.subject, d.sequence) for d in ds] == [("50007", "hips"), ("50020", "shake_arms")]


def test_dfaust_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        DynamicFAUST(str(tmp_path))
    msg = str(e.value)
    assert "registrations_m.hdf5" in msg and "registrations_f.hdf5" in msg
    assert "https://dfaust.is.tue.mpg.de/" in msg
    assert f"'{tmp_path / 'raw'}'" in msg  # the exact, absolute folder


def test_dfaust_one_missing_file(tmp_path):
    write_dfaust(str(tmp_path / "raw"))
    os.remove(tmp_path / "raw" / "registrations_f.hdf5")
    with pytest.raises(FileNotFoundError, match=r"not found: registrations_f\.hdf5\. "):
        DynamicFAUST(str(tmp_path))


def test_dfaust_wrong_sequence_shape(tmp_path):
    write_dfaust(str(tmp_path / "raw"), bad=("50009_knees", np.zeros((6, 4, 5), np.float32)))
    with pytest.raises(ValueError, match=r"'registrations_m.hdf5': sequence '50009_knees' "
                                         r"has shape \(6, 4, 5\), expected"):
        DynamicFAUST(str(tmp_path))


def test_dfaust_vertex_count_mismatch(tmp_path):
    write_dfaust(str(tmp_path / "raw"), bad=("50009_knees", np.zeros((7, 3, 5), np.float32)))
    with pytest.raises(ValueError, match=r"sequence '50009_knees' has 7 vertices, "
                                         r"other sequences have 6"):
        DynamicFAUST(str(tmp_path))


def test_dfaust_faces_missing(tmp_path):
    write_dfaust(str(tmp_path / "raw"), faces=False)
    with pytest.raises(ValueError, match=r"'registrations_m.hdf5' .* has no 'faces' dataset"):
        DynamicFAUST(str(tmp_path))


def test_dfaust_faces_out_of_range(tmp_path):
    raw = tmp_path / "raw"
    write_dfaust(str(raw))
    with h5py.File(raw / "registrations_m.hdf5", "a") as f:
        del f["faces"]
        f["faces"] = OCTA_F + 1
    with pytest.raises(ValueError, match=r"'faces' indices span \[1, 6\] but sequences "
                                         r"have 6 vertices"):
        DynamicFAUST(str(tmp_path))


def test_dfaust_unknown_names(dfaust_root):
    with pytest.raises(ValueError, match=r"Unknown DFAUST subject\(s\) \['99999'\]; "
                                         r"valid subjects are \['50002'"):
        DynamicFAUST(dfaust_root, subjects=["50002", "99999"])
    with pytest.raises(ValueError, match=r"Unknown DFAUST sequence\(s\) \['moonwalk'\]"):
        DynamicFAUST(dfaust_root, sequences=["moonwalk"])


def test_dfaust_no_matching_sequence(dfaust_root):
    with pytest.raises(ValueError, match=r"No sequence of subjects \['50009'\]"):
        DynamicFAUST(dfaust_root, subjects=["50009"])


def test_dfaust_whole_path_to_model(dfaust_root):
    from pyg_dss.nn import DSSNet, set_argmax, set_nll_loss

    sets = DFAUSTFrameSets(dfaust_root, split="train", min_gap=1, window=None, num_sets=6)
    assert {sets.names[i][0] for i in range(len(sets.names))} <= set(
        DFAUST_SPLITS["subject"]["train"])
    batch = next(iter(DataLoader(sets, batch_size=3)))
    assert isinstance(batch, SetData) and batch.num_graphs == 3
    assert batch.x.shape == (3 * 7 * 6, 3) and batch.edge_index.size(1) == 3 * 7 * 24
    model = DSSNet(3, base="gcn", variant="dss-sum", hidden=(8, 8), head_hidden=(8,))
    log_probs = model(batch)
    assert log_probs.shape == (21,)
    set_nll_loss(log_probs, batch).backward()
    assert set_argmax(log_probs, batch).shape == (3,)

    test = DFAUSTFrameSets(dfaust_root, split="test", modality="points", min_gap=1,
                           window=None, num_sets=4)
    batch = next(iter(DataLoader(test, batch_size=4)))
    assert "edge_index" not in batch or batch.edge_index.numel() == 0
    assert DSSNet(3, base="pointnet", variant="siamese-ds", hidden=(8,),
                  head_hidden=(8,))(batch).shape == (28,)


# ---------------------------------------------------------------- targets
def _sequences():
    out = []
    for i, (_, sid, seq, T) in enumerate(SEQS):
        pos = torch.from_numpy(frames_of(T, i)).permute(2, 0, 1).contiguous()
        out.append(Data(pos=pos, face=torch.from_numpy(OCTA_F.T).long(), subject=sid,
                        sequence=seq, num_nodes=6))
    return out


@pytest.mark.parametrize("target", ["first", "middle"])
@pytest.mark.parametrize("resample", [True, False])
def test_targets_match_frame_times(target, resample):
    seqs = _sequences()
    n = 5
    ds = FrameSets(seqs, num_frames=n, target=target, min_gap=2, window=10,
                   num_sets=40, resample=resample, normalize=None)
    for k in range(len(ds)):
        s = ds[k]
        x = s.x.view(n, 6, 3)
        seq = seqs[int(s.seq)]
        # the time read off every frame's vertices equals its `time`
        code = x[:, 0, 0] - x[:, 1, 0]  # 2 * (1 + code)
        t_read = (x[:, 0, 0] + x[:, 1, 0]) / 2
        assert torch.allclose(t_read, s.time.float())
        assert torch.equal(x, seq.pos[s.time])
        assert torch.allclose(code, torch.full_like(code, 2.0 * (1 + int(s.seq))))
        # rank = temporal order, y = earliest or middle frame
        assert torch.equal(s.rank, torch.argsort(torch.argsort(s.time)))
        want = s.time.min() if target == "first" else s.time.sort().values[n // 2]
        assert s.time[s.y.item()] == want
        assert s.y.shape == (1,) and s.y.dtype == torch.long
        # drawing rules
        t = s.time.sort().values
        assert (t.diff() >= 2).all() and t[-1] - t[0] < 10


def test_normalize_and_scale():
    seqs = _sequences()
    s = FrameSets(seqs, num_frames=4, normalize="frame", scale=True, num_sets=1)[0]
    x = s.x.view(4, 6, 3)
    assert torch.allclose(x.mean(1), torch.zeros(4, 3), atol=1e-5)
    assert torch.allclose(x.norm(dim=-1).amax(1), torch.ones(4))
    s = FrameSets(seqs, num_frames=4, normalize="set", num_sets=1)[0]
    assert torch.allclose(s.x.mean(0), torch.zeros(3), atol=1e-4)
    assert not torch.allclose(s.x.view(4, 6, 3).mean(1), torch.zeros(4, 3), atol=1e-3)


def test_fixed_sets_identical_across_constructions():
    a = FrameSets(_sequences(), resample=False, num_sets=20, seed=3, num_frames=4)
    b = FrameSets(_sequences(), resample=False, num_sets=20, seed=3, num_frames=4)
    c = FrameSets(_sequences(), resample=False, num_sets=20, seed=4, num_frames=4)
    for k in range(20):
        assert torch.equal(a[k].x, b[k].x) and torch.equal(a[k].y, b[k].y)
        assert torch.equal(a[k].time, b[k].time) and torch.equal(a[k].x, a[k].x)
    assert any(not torch.equal(a[k].time, c[k].time) for k in range(20))


def test_training_sets_redrawn_every_epoch():
    ds = FrameSets(_sequences(), num_sets=10, num_frames=4)
    ds.set_epoch(0)
    e0 = [ds[k].time for k in range(10)]
    assert all(torch.equal(t, ds[k].time) for k, t in enumerate(e0))  # function of (epoch, idx)
    ds.set_epoch(1)
    assert any(not torch.equal(t, ds[k].time) for k, t in enumerate(e0))
    fresh = FrameSets(_sequences(), num_sets=10, num_frames=4)  # global RNG
    torch.manual_seed(0)
    first = [fresh[k].time for k in range(10)]
    torch.manual_seed(0)
    assert all(torch.equal(t, fresh[k].time) for k, t in enumerate(first))
    assert any(not torch.equal(t, fresh[k].time) for k, t in enumerate(first))


def test_dataloader_workers_draw_distinct_sets():
    ds = FrameSets(_sequences(), num_sets=8, num_frames=4)
    ds.set_epoch(5)
    ref = torch.cat([ds[k].time for k in range(8)])
    got = torch.cat([b.time for b in DataLoader(ds, batch_size=2, num_workers=2)])
    assert torch.equal(got, ref)


def test_sample_frame_times_rules():
    rng = np.random.default_rng(0)
    for _ in range(200):
        t = sample_frame_times(rng, 50, 7, min_gap=3, window=25)
        assert len(set(t.tolist())) == 7 and (np.diff(t) >= 3).all()
        assert t[-1] - t[0] < 25 and t[0] >= 0 and t[-1] < 50
    with pytest.raises(ValueError, match="Cannot draw 7 frames 3 apart from 10 frames"):
        sample_frame_times(rng, 10, 7, min_gap=3)


def test_frame_sets_errors():
    seqs = _sequences()
    with pytest.raises(ValueError, match="target must be one of"):
        FrameSets(seqs, target="last")
    with pytest.raises(ValueError, match="modality must be one of"):
        FrameSets(seqs, modality="voxels")
    with pytest.raises(ValueError, match="window=5 is too short for 7 frames 1 apart"):
        FrameSets(seqs, window=5)
    with pytest.raises(ValueError, match="No sequence has the 61 frames needed"):
        FrameSets(seqs, num_frames=7, min_gap=10)
    with pytest.raises(ValueError, match="has no 'face'; use modality='points'"):
        FrameSets([Data(pos=torch.zeros(9, 4, 3))])
    assert len(FrameSets([Data(pos=torch.zeros(9, 4, 3))], modality="points")) == 1


def test_mesh_edges_computed_once_per_topology():
    ds = FrameSets(_sequences())
    assert all(e is ds.edge_index[0] for e in ds.edge_index)
    assert ds.edge_index[0].shape == (2, 24)
    assert torch.equal(face_to_edge_index(torch.from_numpy(OCTA_F.T).long(), 6),
                       ds.edge_index[0])


# -------------------------------------------------------------- synthetic
def test_synthetic_sequence_deterministic_and_layout():
    a = make_sequence(1, "reach", 0, num_frames=12, seed=5)
    b = make_sequence(1, "reach", 0, num_frames=12, seed=5)
    c = make_sequence(1, "reach", 0, num_frames=12, seed=6)
    assert torch.equal(a.pos, b.pos) and not torch.equal(a.pos, c.pos)
    assert a.pos.dtype == torch.float32 and a.pos.shape[0] == 12 and a.pos.shape[2] == 3
    assert a.face.shape[0] == 3 and int(a.face.max()) < a.pos.shape[1]
    assert (a.subject, a.sequence) == ("synth01", "reach_0")
    # one topology for every subject and motion; every part a closed surface
    d = make_sequence(3, "walk", 1, num_frames=12, seed=5)
    assert torch.equal(a.face, d.face)
    import trimesh
    mesh = trimesh.Trimesh(a.pos[0].numpy(), a.face.t().numpy(), process=False)
    assert all(part.is_watertight for part in mesh.split(only_watertight=False))


def test_synthetic_dataset_cached_and_deterministic(tmp_path):
    kw = dict(num_subjects=3, motions=["squat", "drift"], repeats=1, num_frames=24, seed=1)
    a = SyntheticBodies(str(tmp_path / "a"), **kw)
    assert len(a) == 6 and {d.subject for d in a} == {"synth00", "synth01", "synth02"}
    files = os.listdir(tmp_path / "a" / "processed")
    assert not [f for f in files if f.startswith(".tmp")]  # atomic cache left no temp
    b = SyntheticBodies(str(tmp_path / "b"), **kw)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x.pos, y.pos) and x.sequence == y.sequence
    with pytest.raises(ValueError, match=r"Unknown synthetic motion\(s\) \['moonwalk'\]"):
        SyntheticBodies(str(tmp_path / "a"), motions=["moonwalk"])


def test_synthetic_motion_turns_counter_clockwise():
    # the arrow of time: the heading of the nose increases
    d = make_sequence(0, "drift", 0, num_frames=40)
    p = d.pos - d.pos.mean(1, keepdim=True)
    ang = torch.atan2(p[:, :, 1], p[:, :, 0])
    step = torch.remainder(ang[1:] - ang[:-1] + np.pi, 2 * np.pi) - np.pi
    assert (step.median(1).values > 0).float().mean() > 0.9


def test_synthetic_frame_sets_splits(tmp_path):
    kw = dict(bodies=dict(num_subjects=3, motions=list(MOTIONS), repeats=1, num_frames=48))
    train = SyntheticFrameSets(str(tmp_path), "train", num_sets=4, **kw)
    test = SyntheticFrameSets(str(tmp_path), "test", num_sets=4, **kw)
    assert {n[0] for n in train.names} == {"synth00"} and {n[0] for n in test.names} == {"synth02"}
    assert train.resample and not test.resample and test.seed == 2
    by_seq = SyntheticFrameSets(str(tmp_path), "test", split_by="sequence", num_sets=4, **kw)
    assert {n[1].rsplit("_", 1)[0] for n in by_seq.names} == {"wave"}
    from pyg_dss.nn import DSSNet
    batch = next(iter(DataLoader(test, batch_size=2)))
    assert DSSNet(3, hidden=(8,), head_hidden=(8,))(batch).shape == (14,)


# ------------------------------------------------- transforms and features
def test_transform_reaches_the_model_input():
    import torch_geometric.transforms as T
    from pyg_dss.nn import DSSNet

    transform = T.Compose([T.NormalizeScale(), T.RandomRotate(30)])
    # normalize=None: the test frames differ only by a translation
    kw = dict(num_frames=4, num_sets=3, resample=False, seed=5, normalize=None)
    plain = FrameSets(_sequences(), **kw)
    aug = FrameSets(_sequences(), transform=transform, **kw)
    for k in range(3):
        random.seed(k)  # RandomRotate draws from Python's random
        want = transform(plain[k]).pos  # the same draw of the rotation
        random.seed(k)
        got = aug[k]
        assert torch.equal(got.pos, want) and torch.equal(got.x, want)
        assert not torch.allclose(got.x, plain[k].x, atol=1e-3)
    # ... so the model sees it: its outputs differ.
    torch.manual_seed(0)
    model = DSSNet(3, hidden=(8,), head_hidden=(8,)).eval()
    random.seed(1)
    batch_aug = next(iter(DataLoader(aug, batch_size=3)))
    batch = next(iter(DataLoader(plain, batch_size=3)))
    assert not torch.allclose(model(batch_aug), model(batch), atol=1e-4)


def test_features_are_formed_after_the_transform():
    def add_height(data):
        data.height = data.pos[:, 2:]
        return data

    ds = FrameSets(_sequences(), num_frames=3, num_sets=2, resample=False,
                   transform=add_height, features=("pos", "height"))
    s = ds[0]
    assert s.x.shape == (18, 4) and torch.equal(s.x, torch.cat([s.pos, s.pos[:, 2:]], 1))

    def own_features(data):
        data.x = data.pos.norm(dim=1, keepdim=True)
        return data

    s = FrameSets(_sequences(), num_frames=3, num_sets=2, resample=False,
                  transform=own_features, features=None)[0]
    assert torch.equal(s.x, s.pos.norm(dim=1, keepdim=True))
    with pytest.raises(ValueError, match=r"Feature 'normal' is not a node attribute of the set "
                                         r"after the transform \(node attributes: .*'pos'"):
        FrameSets(_sequences(), num_sets=1, features=("pos", "normal"))[0]


def test_frames_to_set_prepares_exactly_like_frame_sets():
    from pyg_dss.frames import frames_to_set

    ds = FrameSets(_sequences(), num_frames=4, num_sets=3, resample=False, normalize="set",
                   scale=True)
    for k in range(3):
        item = ds[k]
        s = int(item.seq)
        made = frames_to_set(ds.pos[s][item.time], ds.edge_index[s], **{
            key: value for key, value in ds.input_options.items() if key != "modality"})
        for key in ("x", "pos", "edge_index", "element_index", "vertex_index",
                    "shared_edge_index"):
            assert torch.equal(made[key], item[key]), key
    assert ds.input_options == {"modality": "mesh", "normalize": "set", "scale": True,
                                "features": ["pos"], "corresponded": True}
    frames = ds.pos[0][:3].clone()
    frames[1, 2, 0] = float("nan")
    with pytest.raises(ValueError, match=r"pos has NaN or inf in frame\(s\) \[1\]"):
        frames_to_set(frames)


def test_frame_sets_accept_pre_transform_and_pre_filter(tmp_path):
    def double(data):
        data.pos = 2 * data.pos
        return data

    ds = FrameSets(_sequences(), num_frames=3, normalize=None, pre_transform=double,
                   pre_filter=lambda d: d.subject != "50007")
    assert {n[0] for n in ds.names} == {"50002", "50004", "50020"}
    assert torch.equal(ds.pos[0], 2 * _sequences()[0].pos)

    write_dfaust(str(tmp_path / "raw"))
    sets = DFAUSTFrameSets(str(tmp_path), split="test", min_gap=1, window=None, num_sets=2,
                           normalize=None, pre_transform=double)
    item = sets[0]
    seq = [d for d in _sequences() if (d.subject, d.sequence) == sets.names[int(item.seq)]][0]
    assert torch.equal(item.x.view(7, 6, 3), 2 * seq.pos[item.time])

    bodies = dict(num_subjects=3, motions=["drift"], repeats=1, num_frames=12)
    plain = SyntheticFrameSets(str(tmp_path / "s"), "test", bodies=bodies, num_sets=1,
                               min_gap=1, window=None, normalize=None)
    scaled = SyntheticFrameSets(str(tmp_path / "s"), "test", bodies=bodies, num_sets=1,
                                min_gap=1, window=None, normalize=None, pre_transform=double)
    assert torch.equal(scaled[0].pos, 2 * plain[0].pos)
