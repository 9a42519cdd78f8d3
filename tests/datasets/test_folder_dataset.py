"""A user's folder of mesh / point-cloud sequences as a cached dataset
(MeshFolder) and the first-frame task on it (FolderFrameSets): real files
written with trimesh and open3d, read back number for number, the cache
rebuilt when a frame changes and refused when planted, and the splits."""
import os
import shutil

import numpy as np
import pytest
import torch
import trimesh

from pyg_dss.datasets import EmptySelectionError, MeshFileError, MeshFolder, point_frames
from pyg_dss.frames import FolderFrameSets, FrameSets, folder_split, frames_to_set, subject_of
from pyg_dss.datasets import mesh_files as mf
from pyg_dss.io import UnreadableFileError
from test_io import Payload  # unpickling it writes a marker file
from test_mesh_files import write_pcd


def body():
    """A small closed mesh (42 vertices) and its frames: frame t is the rest
    shape stretched by 1 + 0.1 t and moved by 0.01 t along x."""
    m = trimesh.creation.icosphere(subdivisions=1)
    return np.asarray(m.vertices), np.asarray(m.faces)


def frame(v: np.ndarray, t: int, k: int = 0) -> np.ndarray:
    return v * (1.0 + 0.1 * t) + np.array([0.01 * t + k, 0.0, 0.0])


def write_mesh_sequence(folder, ext: str, num_frames: int, k: int = 0) -> None:
    """Frames named f0..f{T-1} (natural order != string order past f9),
    written in a shuffled order of creation."""
    os.makedirs(folder, exist_ok=True)
    v, f = body()
    for t in np.random.default_rng(k).permutation(num_frames):
        trimesh.Trimesh(frame(v, int(t), k), f, process=False).export(
            os.path.join(folder, f"f{t}{ext}"))


NAMES = ["anna_walk", "anna_run", "bob_walk", "carl_walk", "carl_jump"]


def write_folder(root, ext: str = ".ply", num_frames: int = 12):
    for k, name in enumerate(NAMES):
        write_mesh_sequence(os.path.join(root, name), ext, num_frames, k)


@pytest.mark.parametrize("ext", [".obj", ".ply", ".off"])
def test_mesh_folder_layout_and_order(tmp_path, ext):
    write_folder(tmp_path, ext)
    ds = MeshFolder(str(tmp_path))
    v, f = body()
    # folders in natural order; frames in natural order (f9 before f10)
    assert ds.names == ["anna_run", "anna_walk", "bob_walk", "carl_jump", "carl_walk"]
    for data in ds:
        k = NAMES.index(data.sequence)
        expected = np.stack([frame(v, t, k) for t in range(12)]).astype(np.float32)
        assert data.pos.dtype == torch.float32 and data.pos.shape == (12, 42, 3)
        np.testing.assert_allclose(data.pos.numpy(), expected, atol=1e-6)
        assert torch.equal(data.face, torch.from_numpy(f.T).long())
        assert data.frame_files == [f"f{t}{ext}" for t in range(12)]
    assert ds.cache_status == "built: no cache yet"
    assert os.path.isfile(tmp_path / ".processed" / "folder_mesh.pt")
    assert MeshFolder(str(tmp_path)).cache_status == "loaded"


def test_cache_rebuilds_when_a_frame_changes_or_is_added(tmp_path):
    write_folder(tmp_path, ".ply", num_frames=6)
    ds = MeshFolder(str(tmp_path))
    assert MeshFolder(str(tmp_path)).cache_status == "loaded"
    v, f = body()
    path = tmp_path / "bob_walk" / "f3.ply"
    trimesh.Trimesh(2 * v, f, process=False).export(path)
    st = os.stat(path)  # the same size as before: only the time tells
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    ds = MeshFolder(str(tmp_path))
    assert ds.cache_status == "rebuilt: raw input 'bob_walk' changed"
    bob = ds[ds.names.index("bob_walk")]
    np.testing.assert_allclose(bob.pos[3].numpy(), 2 * v, atol=1e-6)
    np.testing.assert_allclose(bob.pos[2].numpy(), frame(v, 2, 2), atol=1e-6)
    trimesh.Trimesh(frame(v, 6, 2), f, process=False).export(tmp_path / "bob_walk" / "f6.ply")
    ds = MeshFolder(str(tmp_path))
    assert ds.cache_status == "rebuilt: raw input 'bob_walk' changed"
    assert ds[ds.names.index("bob_walk")].pos.shape == (7, 42, 3)
    ds = MeshFolder(str(tmp_path), kind="points")  # its own file and key
    assert ds.cache_status == "built: no cache yet"
    assert MeshFolder(str(tmp_path)).cache_status == "loaded"


def test_edit_with_the_same_size_and_time_rebuilds(tmp_path):
    # Binary PLY sizes never change with content; the time is put back (or a
    # filesystem with 1 s timestamps shows none): only the content tells.
    write_folder(tmp_path, ".ply", num_frames=4)
    MeshFolder(str(tmp_path))
    v, f = body()
    path = tmp_path / "bob_walk" / "f3.ply"
    st = os.stat(path)
    trimesh.Trimesh(3 * v, f, process=False).export(path)
    assert os.stat(path).st_size == st.st_size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    ds = MeshFolder(str(tmp_path))
    assert ds.cache_status == "rebuilt: raw input 'bob_walk' changed"
    np.testing.assert_allclose(ds[ds.names.index("bob_walk")].pos[3].numpy(), 3 * v, atol=1e-6)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # touched, not changed
    assert MeshFolder(str(tmp_path)).cache_status == "loaded"


def test_a_copy_sharing_the_cache_dir_gets_its_own_data(tmp_path):
    write_folder(tmp_path / "a", ".ply", num_frames=4)
    shutil.copytree(tmp_path / "a", tmp_path / "b", copy_function=shutil.copy2)  # cp -a
    v, f = body()
    trimesh.Trimesh(5 * v, f, process=False).export(tmp_path / "b" / "bob_walk" / "f1.ply")
    for root in ("a", "b"):
        p = tmp_path / root / "bob_walk" / "f1.ply"
        os.utime(p, ns=(0, 10**18))
    cache = str(tmp_path / "cache")
    a = MeshFolder(str(tmp_path / "a"), cache_dir=cache)
    b = MeshFolder(str(tmp_path / "b"), cache_dir=cache)
    assert b.cache_status.startswith("rebuilt: option root")
    np.testing.assert_allclose(b[b.names.index("bob_walk")].pos[1].numpy(), 5 * v, atol=1e-6)
    assert not np.allclose(a[a.names.index("bob_walk")].pos[1].numpy(), 5 * v)


def test_planted_cache_and_pre_transform_files_are_refused(tmp_path):
    write_folder(tmp_path, ".ply", num_frames=4)
    marker = tmp_path / "pwned"
    processed = tmp_path / ".processed"
    processed.mkdir()
    for name in ("pre_transform.pt", "pre_filter.pt"):
        torch.save(Payload(str(marker)), processed / name)
    ds = MeshFolder(str(tmp_path))
    assert len(ds) == 5 and not marker.exists()
    torch.save({"data": Payload(str(marker))}, ds.processed_paths[0])
    with pytest.raises(UnreadableFileError) as e:
        MeshFolder(str(tmp_path))
    assert not marker.exists()
    assert f"delete the folder '{processed}'" in str(e.value)


def test_read_only_root_takes_a_cache_dir(tmp_path, monkeypatch):
    write_folder(tmp_path / "data", ".ply", num_frames=4)
    monkeypatch.setattr("pyg_dss.datasets.base._write_error",
                        lambda folder: PermissionError(13, "Permission denied"))
    with pytest.raises(PermissionError, match="Fix: pass cache_dir= a folder you can write"):
        MeshFolder(str(tmp_path / "data"))
    monkeypatch.undo()
    ds = MeshFolder(str(tmp_path / "data"), cache_dir=str(tmp_path / "cache"))
    assert os.path.isfile(tmp_path / "cache" / "folder_mesh.pt")
    assert not (tmp_path / "data" / ".processed" / "folder_mesh.pt").exists()
    assert len(ds) == 5 and ds.cache_status == "built: no cache yet"


def test_topology_mismatch_names_the_file_unless_read_as_points(tmp_path):
    write_folder(tmp_path, ".off", num_frames=5)
    other = trimesh.creation.icosphere(subdivisions=2)  # 162 vertices
    other.export(tmp_path / "carl_jump" / "f3.off")
    with pytest.raises(MeshFileError) as e:
        MeshFolder(str(tmp_path))
    assert f"'{tmp_path / 'carl_jump' / 'f3.off'}' has 162 vertices" in str(e.value)
    assert "kind='points'" in str(e.value)
    ds = MeshFolder(str(tmp_path), kind="points")
    jump = ds[ds.names.index("carl_jump")]
    frames = point_frames(jump)
    assert [len(p) for p in frames] == [42, 42, 42, 162, 42]
    assert jump.frame_ptr.tolist() == [0, 42, 84, 126, 288, 330]
    np.testing.assert_allclose(frames[3].numpy(), other.vertices, atol=1e-6)
    v, _ = body()
    np.testing.assert_allclose(frames[4].numpy(), frame(v, 4, NAMES.index("carl_jump")), atol=1e-6)


def test_point_folder_ply_xyz_pcd_makes_uncorresponded_sets(tmp_path):
    o3d = mf._open3d()  # installed in CI (the open3d extra)
    rng = np.random.default_rng(0)
    clouds = {}
    for k, (name, ext) in enumerate([("a_scan", ".ply"), ("b_scan", ".xyz"),
                                     ("c_scan", ".pcd")]):
        os.makedirs(tmp_path / name)
        for t in range(6):
            c = rng.normal(size=(20 + 3 * t + k, 3)) + t
            clouds[name, t] = c.astype(np.float32)
            path = str(tmp_path / name / f"scan_{t}{ext}")
            if ext == ".pcd":
                write_pcd(path, c, o3d)
            elif ext == ".xyz":
                np.savetxt(path, c)
            else:
                trimesh.PointCloud(c).export(path)
    sets = FolderFrameSets(str(tmp_path), "test", kind="points", num_frames=3, num_sets=4,
                           splits={"train": ["a"], "val": ["b"], "test": ["c"]})
    assert sets.input_options["corresponded"] is False
    assert sets.names == [("", "c_scan")]
    for item in sets:
        assert item.coverage == "pooled" and int(item.num_vertices) == 1
        assert "edge_index" not in item
        times = item.time.tolist()
        sizes = torch.bincount(item.element_index).tolist()
        assert sizes == [20 + 3 * t + 2 for t in times]
        # element k: scan times[k], centred on its own centroid
        got = item.pos[item.element_index == 1].numpy()
        ref = clouds["c_scan", times[1]]
        np.testing.assert_allclose(got, ref - ref.mean(0), atol=1e-5)
        # prediction code prepares the same frames the same way
        made = frames_to_set([torch.from_numpy(clouds["c_scan", t]) for t in times], **{
            k: v for k, v in sets.input_options.items() if k != "modality"})
        for key in ("x", "pos", "element_index", "vertex_index"):
            assert torch.allclose(made[key].float(), item[key].float(), atol=1e-5), key
    with pytest.raises(ValueError, match="different sizes .* corresponded=False"):
        frames_to_set([torch.zeros(3, 3), torch.zeros(4, 3)])
    with pytest.raises(ValueError, match="use modality='points'"):
        FrameSets(list(sets.folder), num_frames=3, modality="mesh")


def test_split_rule_by_subject_and_sequence():
    assert subject_of("50002_chicken_wings") == "50002" and subject_of("walk") == "walk"
    names = [f"s{i}_{m}" for i in range(6) for m in ("walk", "run")]
    split = folder_split(names, "subject")
    assert split == folder_split(names, "subject")  # deterministic
    units = [s for k in ("train", "val", "test") for s in split[k]]
    assert sorted(units) == [f"s{i}" for i in range(6)]  # disjoint, complete
    assert [len(split[k]) for k in ("train", "val", "test")] == [4, 1, 1]
    by_seq = folder_split(names, "sequence", val_fraction=0.25, test_fraction=0.25)
    assert [len(by_seq[k]) for k in ("train", "val", "test")] == [6, 3, 3]
    assert folder_split(names, "subject", seed=1) != split
    assert [len(v) for v in folder_split(["a", "b", "c"], "sequence").values()] == [1, 1, 1]
    with pytest.raises(EmptySelectionError, match=r"needs at least 3 subjects .* has 2: "
                                                  r"\['anna', 'bob'\].*split by sequence"):
        folder_split(["anna_walk", "anna_run", "bob_walk"], "subject")


def test_frame_sets_keep_split_units_apart_and_refuse_bad_splits(tmp_path):
    write_folder(tmp_path, ".ply", num_frames=6)
    seen = {}
    for split in ("train", "val", "test"):
        sets = FolderFrameSets(str(tmp_path), split, num_frames=3, num_sets=2)
        seen[split] = {name for _, name in sets.names}
    assert set().union(*seen.values()) == set(NAMES)
    subjects = {k: {subject_of(n) for n in v} for k, v in seen.items()}
    assert not (subjects["train"] & subjects["test"]) and not (subjects["val"] &
                                                               subjects["test"])
    by_seq = FolderFrameSets(str(tmp_path), "test", split_by="sequence", num_frames=3,
                             splits={"train": ["anna_walk", "bob_walk"], "val": ["anna_run"],
                                     "test": ["carl_walk", "carl_jump"]})
    assert sorted(n for _, n in by_seq.names) == ["carl_jump", "carl_walk"]
    with pytest.raises(ValueError, match=r"names subjects \['dave'\] that the folder does "
                                         r"not have; it has \['anna', 'bob', 'carl'\]"):
        FolderFrameSets(str(tmp_path), splits={"train": ["dave"], "val": [], "test": ["bob"]})
    with pytest.raises(EmptySelectionError, match=r"splits\['test'\] is empty"):
        FolderFrameSets(str(tmp_path), splits={"train": ["anna"], "val": [], "test": []})
    with pytest.raises(ValueError, match="'bob' is in splits\\['train'\\] and splits"):
        FolderFrameSets(str(tmp_path), splits={"train": ["bob"], "val": [], "test": ["bob"]})
