"""Reading users' folders of meshes and point clouds: real files written with
trimesh and open3d, read back number for number."""
import os

import numpy as np
import pytest
import torch
import trimesh

from pyg_dss.datasets import mesh_files as mf
from pyg_dss.datasets.mesh_files import (MeshFileError, frame_time, list_frames,
                                         natural_key, point_frames, read_mesh,
                                         raw_file_identity, read_mesh_sequence,
                                         read_points, read_point_sequence, read_sequences)


def body(seed: int = 0):
    """A small closed mesh with its vertices in a random order (so that any
    re-indexing by the reader shows), and a per-frame deformation."""
    m = trimesh.creation.icosphere(subdivisions=1)
    perm = np.random.default_rng(seed).permutation(len(m.vertices))
    inv = np.argsort(perm)
    return np.asarray(m.vertices)[perm], inv[np.asarray(m.faces)]


def frame(vertices: np.ndarray, t: int) -> np.ndarray:
    return vertices * (1.0 + 0.1 * t) + np.array([0.01 * t, 0.0, 0.0])


def write_mesh(path: str, vertices: np.ndarray, faces: np.ndarray) -> None:
    trimesh.Trimesh(vertices, faces, process=False).export(path)


def mesh_sequence(folder, ext: str, times, names=None):
    """Frames t of one body, written in a shuffled order of creation."""
    os.makedirs(folder, exist_ok=True)
    v, f = body()
    names = names or [f"frame_{t}{ext}" for t in times]
    for i in np.random.default_rng(1).permutation(len(times)):
        write_mesh(os.path.join(folder, names[i]), frame(v, times[i]), f)
    return v, f


@pytest.mark.parametrize("ext", [".obj", ".ply", ".off"])
def test_mesh_sequence_round_trip(tmp_path, ext):
    times = [0, 1, 2, 9, 10, 11]  # natural order: 9 before 10
    v, f = mesh_sequence(tmp_path / "walk", ext, times)
    data = read_mesh_sequence(str(tmp_path / "walk"))
    assert data.pos.dtype == torch.float32 and data.face.dtype == torch.long
    assert data.pos.shape == (6, len(v), 3) and data.face.shape == (3, len(f))
    expected = np.stack([frame(v, t) for t in times]).astype(np.float32)
    np.testing.assert_allclose(data.pos.numpy(), expected, atol=1e-6)
    assert torch.equal(data.face, torch.from_numpy(f.T))
    assert data.sequence == "walk"
    assert data.frame_files == [f"frame_{t}{ext}" for t in times]


def obj_with_uvs(v, faces) -> str:
    """An OBJ as exporters write it: texture coordinates indexed apart from
    the vertices."""
    lines = [f"v {x} {y} {z}" for x, y, z in v]
    lines += [f"vt {u} {w}" for u, w in np.random.default_rng(0).random((3 * len(faces), 2))]
    lines += ["f " + " ".join(f"{a + 1}/{3 * k + j + 1}" for j, a in enumerate(tri))
              for k, tri in enumerate(faces)]
    return "\n".join(lines) + "\n"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # trimesh's UV code, default load
def test_obj_vertex_order_is_kept_where_trimesh_defaults_change_it(tmp_path):
    # A duplicated vertex (4 = 1) and an unreferenced one (2) in the middle.
    v = np.array([[0, 0, 0], [1, 0, 0], [7, 7, 7], [0, 1, 0], [0, 0, 1], [1, 0, 0.0]])
    faces = np.array([[0, 1, 3], [0, 3, 4], [5, 4, 3]])
    path = tmp_path / "scan.obj"
    path.write_text(obj_with_uvs(v, faces))
    pos, face = read_mesh(str(path))
    np.testing.assert_array_equal(pos, v.astype(np.float32))
    np.testing.assert_array_equal(face, faces)
    # What the reader protects against: trimesh's defaults re-index this file.
    assert len(trimesh.load(path).vertices) != len(v)  # merged, unreferenced dropped
    assert len(trimesh.load(path, process=False).vertices) != len(v)  # split by UV


def test_obj_with_trailing_unreferenced_vertices_is_refused(tmp_path):
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [7, 7, 7.0]])
    path = tmp_path / "scan.obj"
    path.write_text(obj_with_uvs(v, np.array([[0, 1, 2]])))
    with pytest.raises(MeshFileError, match="has 4 vertices, of which trimesh keeps 3"):
        read_mesh(str(path))


def test_point_cloud_ply_keeps_duplicates(tmp_path):
    pts = np.array([[0, 0, 0], [1, 2, 3], [0, 0, 0], [4, 5, 6.0]], dtype=np.float32)
    trimesh.PointCloud(pts).export(tmp_path / "p.ply")
    for backend in ("trimesh", "open3d"):
        got, normals = read_points(str(tmp_path / "p.ply"), backend=backend)
        np.testing.assert_array_equal(got, pts)
        assert normals is None


def test_natural_and_timestamp_order(tmp_path):
    assert sorted(["f10", "F2", "f1"], key=natural_key) == ["f1", "F2", "f10"]
    assert frame_time("scan_3_1699999999.125.pcd") == frame_time("x1699999999.125.ply")
    # camera 2 recorded the first and the last frame: natural order is by camera
    names = ["cam2_t9.75.ply", "cam1_t10.5.ply", "cam2_t100.ply"]
    v, f = mesh_sequence(tmp_path / "s", ".ply", [0, 1, 2], names)
    assert [os.path.basename(p) for p in list_frames(str(tmp_path / "s"), order="timestamp")] \
        == names
    assert [os.path.basename(p) for p in list_frames(str(tmp_path / "s"))] == \
        ["cam1_t10.5.ply", "cam2_t9.75.ply", "cam2_t100.ply"]
    data = read_mesh_sequence(str(tmp_path / "s"), order="timestamp")
    np.testing.assert_allclose(data.pos.numpy(), np.stack([frame(v, t) for t in range(3)]),
                               atol=1e-6)
    assert data.frame_files == names


@pytest.mark.parametrize("names, order, message", [
    (["f1.obj", "f01.obj"], "natural", "ambiguous"),
    (["a_5.obj", "b_5.0.obj"], "timestamp", "same timestamp"),
    (["a_5.obj", "nonumber.obj"], "timestamp", "no number"),
])
def test_ambiguous_order_is_refused(tmp_path, names, order, message):
    mesh_sequence(tmp_path / "s", ".obj", [0, 1], names)
    with pytest.raises(MeshFileError, match=message):
        list_frames(str(tmp_path / "s"), order=order)


def test_topology_change_is_refused_or_read_as_points(tmp_path):
    seq = tmp_path / "root" / "scan"
    v, f = mesh_sequence(seq, ".ply", [0, 1, 2])
    other = trimesh.creation.icosphere(subdivisions=2)
    write_mesh(str(seq / "frame_3.ply"), np.asarray(other.vertices), np.asarray(other.faces))
    with pytest.raises(MeshFileError, match=r"frame_3\.ply' has 162 vertices.*frame_0\.ply' "
                                            r"has 42.*kind='points'"):
        read_sequences(str(tmp_path / "root"))
    data = read_sequences(str(tmp_path / "root"), kind="points")[0]
    assert data.frame_ptr.tolist() == [0, 42, 84, 126, 288]
    frames = point_frames(data)
    assert [len(p) for p in frames] == [42, 42, 42, 162]
    np.testing.assert_allclose(frames[1].numpy(), frame(v, 1), atol=1e-6)
    np.testing.assert_allclose(frames[3].numpy(), other.vertices, atol=1e-6)


def test_same_vertex_count_different_faces_is_refused(tmp_path):
    v, f = mesh_sequence(tmp_path / "s", ".obj", [0, 1])
    g = f.copy()
    g[5] = g[5][::-1]  # flip one triangle
    write_mesh(str(tmp_path / "s" / "frame_2.obj"), frame(v, 2), g)
    with pytest.raises(MeshFileError, match=r"frame_2\.obj' has the same 42 vertices but "
                                            r"different faces.*triangle 5"):
        read_mesh_sequence(str(tmp_path / "s"))


def test_bad_inputs_name_the_file(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(MeshFileError, match="no sequence folders"):
        read_sequences(str(root))
    with pytest.raises(MeshFileError, match="is not a folder"):
        read_sequences(str(tmp_path / "missing"))
    (root / "stray.obj").write_text("v 0 0 0\n")
    with pytest.raises(MeshFileError, match=r"holds files directly \(stray\.obj\)"):
        read_sequences(str(root))
    (root / "stray.obj").unlink()
    (root / "empty").mkdir()
    with pytest.raises(MeshFileError, match="empty' has 0 frame file"):
        read_sequences(str(root))
    v, f = body()
    write_mesh(str(root / "empty" / "a.obj"), v, f)
    with pytest.raises(MeshFileError, match="has 1 frame file.*at least 2"):
        read_sequences(str(root))
    write_mesh(str(root / "empty" / "b.ply"), v, f)
    with pytest.raises(MeshFileError, match=r"mixes formats \('a\.obj', 'b\.ply'\)"):
        read_sequences(str(root))
    os.remove(root / "empty" / "b.ply")
    (root / "empty" / "b.stl").write_text("solid x\n")
    with pytest.raises(MeshFileError, match=r"b\.stl': unknown extension '\.stl'"):
        read_sequences(str(root))
    os.remove(root / "empty" / "b.stl")
    (root / "empty" / "b.pcd").write_text("x")
    with pytest.raises(MeshFileError, match="point-cloud format: read it with kind='points'"):
        read_sequences(str(root))
    os.remove(root / "empty" / "b.pcd")
    for content, message in [
            ("this is not a mesh\n", r"b\.obj' holds no vertices"),
            ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n", r"Cannot read '.*b\.obj' as a \.obj mesh"),
            ("v 0 0 0\nv 1 nan 0\nv 0 1 0\nf 1 2 3\n", r"b\.obj': vertex 1 has non-finite"),
            ("v 0 0 0\nv 1 0 0\nv 0 1 1e39\nf 1 2 3\n", r"vertex 2 has non-finite.*float32")]:
        (root / "empty" / "b.obj").write_text(content)
        with pytest.raises(MeshFileError, match=message):
            read_sequences(str(root))
    # ignored: hidden files and the companions of OBJ files
    write_mesh(str(root / "empty" / "b.obj"), frame(v, 1), f)
    (root / "empty" / ".DS_Store").write_text("x")
    (root / "empty" / "b.mtl").write_text("newmtl x\n")
    assert read_sequences(str(root))[0].pos.shape == (2, len(v), 3)


def test_point_cloud_as_mesh_is_refused(tmp_path):
    trimesh.PointCloud(np.random.rand(9, 3)).export(tmp_path / "p.ply")
    with pytest.raises(MeshFileError, match="holds no faces.*kind='points'"):
        read_mesh(str(tmp_path / "p.ply"))


def write_pcd(path, points, o3d):
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    assert o3d.io.write_point_cloud(str(path), cloud, write_ascii=True)


def test_point_sequences_pcd_xyz_ply(tmp_path):
    o3d = mf._open3d()  # installed in CI (the open3d extra)
    rng = np.random.default_rng(0)
    clouds = [rng.random((n, 3)).astype(np.float32) for n in (30, 41, 25)]
    for ext in (".pcd", ".xyz", ".ply"):
        folder = tmp_path / ext[1:]
        folder.mkdir()
        for t, c in enumerate(clouds):
            path = folder / f"t{t}{ext}"
            if ext == ".pcd":
                write_pcd(path, c.astype(np.float64), o3d)
            elif ext == ".xyz":
                np.savetxt(path, c, fmt="%.9g")
            else:
                trimesh.PointCloud(c).export(path)
        backends = ("open3d",) if ext == ".pcd" else ("open3d", "trimesh", "auto")
        for backend in backends:
            data = read_point_sequence(str(folder), backend=backend)
            assert data.frame_ptr.tolist() == [0, 30, 71, 96]
            for got, want in zip(point_frames(data), clouds, strict=True):
                np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="backend='trimesh' cannot serve .pcd"):
        read_point_sequence(str(tmp_path / "pcd"), backend="trimesh")
    (tmp_path / "pcd" / "t3.pcd").write_bytes(b"\x00garbage")
    with pytest.raises(MeshFileError,
                       match=r"t3\.pcd' is damaged: its header has no 'DATA' line"):
        read_point_sequence(str(tmp_path / "pcd"))
    nan = clouds[0].copy()
    nan[7, 1] = np.nan
    write_pcd(tmp_path / "pcd" / "t3.pcd", nan.astype(np.float64), o3d)
    with pytest.raises(MeshFileError, match=r"t3\.pcd': point 7 has non-finite"):
        read_point_sequence(str(tmp_path / "pcd"))


def test_auto_backend_falls_back_to_trimesh(tmp_path, monkeypatch):
    c = np.random.default_rng(1).random((12, 3)).astype(np.float32)
    np.savetxt(tmp_path / "a.xyz", c, fmt="%.9g")
    monkeypatch.setattr(mf, "_open3d_available", lambda: False)
    monkeypatch.setattr(mf, "_open3d", lambda: (_ for _ in ()).throw(ImportError("no")))
    np.testing.assert_array_equal(read_points(str(tmp_path / "a.xyz"))[0], c)
    with pytest.raises(ImportError):
        read_points(str(tmp_path / "a.xyz"), voxel_size=0.1)


def test_voxel_down_sampling_and_normals(tmp_path):
    # Two points in each of 4 voxels of size 1 (open3d's grid starts half a
    # voxel below the smallest coordinates, here 0): the result is their
    # means, sorted by x.
    pts = np.array([[0, 0, 0], [0.2, 0.1, 0], [2.1, 0, 0.2], [1.9, 0.2, 0],
                    [0.1, 2.9, 0.3], [0.3, 3.1, 0.1], [1.1, 1.2, 0.9], [0.9, 1.0, 1.3]])
    np.savetxt(tmp_path / "v.xyz", pts)
    got, _ = read_points(str(tmp_path / "v.xyz"), voxel_size=1.0)
    want = np.array([[0.1, 0.05, 0], [0.2, 3.0, 0.2], [1.0, 1.1, 1.1], [2.0, 0.1, 0.1]])
    np.testing.assert_allclose(got, want, atol=1e-6)
    # Normals of a sphere point outwards.
    sphere = trimesh.creation.icosphere(subdivisions=3).vertices * 2.0 + [1.0, -2.0, 0.5]
    np.savetxt(tmp_path / "s.xyz", sphere)
    p, n = read_points(str(tmp_path / "s.xyz"), estimate_normals=True, normal_knn=12)
    radial = (p - p.mean(0)) / np.linalg.norm(p - p.mean(0), axis=1, keepdims=True)
    np.testing.assert_allclose(np.linalg.norm(n, axis=1), 1.0, atol=1e-5)
    assert (np.einsum("ij,ij->i", n, radial) > 0.99).all()
    data = read_point_sequence(str(tmp_path), voxel_size=0.5, estimate_normals=True)
    assert data.normal.shape == data.pos.shape
    assert [len(x) for x in point_frames(data, "normal")] == \
        [len(x) for x in point_frames(data)]


def test_raw_file_identity_follows_the_files(tmp_path):
    root = tmp_path / "root"
    v, f = mesh_sequence(root / "a", ".obj", [0, 1, 2])
    first = raw_file_identity(str(root))
    assert raw_file_identity(str(root)) == first
    path = root / "a" / "frame_1.obj"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1000))
    assert raw_file_identity(str(root)) == first  # touched: the same content
    st = path.stat()
    path.write_bytes(path.read_bytes().replace(b"v 0", b"v 1", 1))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, time put back
    edited = raw_file_identity(str(root))
    assert edited != first
    os.rename(path, root / "a" / "frame_7.obj")
    assert raw_file_identity(str(root)) not in (first, edited)
    write_mesh(str(root / "a" / "frame_8.obj"), v, f)
    assert len({first, edited, raw_file_identity(str(root))}) == 3


def test_frame_sets_draw_from_a_folder(tmp_path):
    from pyg_dss.frames import FrameSets

    root = tmp_path / "root"
    v, f = mesh_sequence(root / "jump", ".off", list(range(8)))
    sets = FrameSets(read_sequences(str(root)), num_frames=3, resample=False, num_sets=2,
                     normalize=None)
    d = sets[0]
    assert sets.names == [("", "jump")]
    times = d.time.tolist()  # the frame each element shows
    np.testing.assert_allclose(d.pos.view(3, len(v), 3).numpy(),
                               np.stack([frame(v, t) for t in times]), atol=1e-6)
    assert d.edge_index.size(1) == 3 * 2 * 120  # 120 undirected edges per icosphere frame


# ------------------------------------------------- files that promise more than they hold
def _ply_header(fmt, n_vertex, n_face=None):
    head = (f"ply\nformat {fmt} 1.0\nelement vertex {n_vertex}\nproperty float x\n"
            f"property float y\nproperty float z\n")
    if n_face is not None:
        head += f"element face {n_face}\nproperty list uchar int vertex_indices\n"
    return head + "end_header\n"


def _points(n=40):
    return np.random.default_rng(0).random((n, 3)).astype(np.float32)


def _rows(points):
    return "".join(f"{x} {y} {z}\n" for x, y, z in points)


def test_cut_point_clouds_are_refused_by_every_backend(tmp_path):
    pts = _points()
    files = {
        "ascii.ply": _ply_header("ascii", 40).encode() + _rows(pts[:20]).encode(),
        "binary.ply": _ply_header("binary_little_endian", 40).encode() + pts.tobytes()[:240],
        "cut.pcd": ("# .PCD v0.7\nVERSION 0.7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\n"
                    "COUNT 1 1 1\nWIDTH 40\nHEIGHT 1\nVIEWPOINT 0 0 0 1 0 0 0\nPOINTS 40\n"
                    "DATA ascii\n" + _rows(pts[:20])).encode(),
        "short.xyz": (_rows(pts[:5]) + "0.5 0.5\n").encode(),
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        for backend in ("open3d", "trimesh"):
            if name.endswith(".pcd") and backend == "trimesh":
                continue
            with pytest.raises(MeshFileError, match=rf"'.*{name}' is damaged: .*"
                                                    r"(declares 40|line 6 \('0\.5 0\.5'\))"):
                read_points(str(tmp_path / name), backend)
    # The whole files read as before.
    (tmp_path / "whole.ply").write_bytes(_ply_header("binary_little_endian", 40).encode()
                                         + pts.tobytes())
    for backend in ("open3d", "trimesh"):
        np.testing.assert_array_equal(read_points(str(tmp_path / "whole.ply"), backend)[0], pts)


def test_ascii_ply_mesh_with_half_its_vertices_is_refused(tmp_path):
    v, f = body()
    path = tmp_path / "half.ply"
    path.write_text(_ply_header("ascii", 42, len(f)) + _rows(v[:21])
                    + "".join(f"3 {a} {b} {c}\n" for a, b, c in f))
    with pytest.raises(MeshFileError, match=r"half\.ply' is damaged: its header declares 42 "
                                            r"vertex \+ 80 face lines, the file holds 101"):
        read_mesh(str(path))
    with pytest.raises(MeshFileError, match="is damaged"):
        read_points(str(path), "trimesh")


def test_obj_with_tabs_and_leading_spaces_is_read(tmp_path):
    v, f = body()
    plain = tmp_path / "plain.obj"
    plain.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in v)
                     + "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in f))
    tabs = tmp_path / "tabs.obj"
    tabs.write_text("".join(f"v\t{x}\t{y}\t{z}\n" for x, y, z in v)
                    + "".join(f"f\t{a + 1} {b + 1} {c + 1}\n" for a, b, c in f))
    spaces = tmp_path / "spaces.obj"
    spaces.write_text("".join(f"   v {x} {y} {z}\n" for x, y, z in v)
                      + "".join(f"  f {a + 1} {b + 1} {c + 1}\n" for a, b, c in f))
    want_v, want_f = read_mesh(str(plain))
    for path in (tabs, spaces):
        got_v, got_f = read_mesh(str(path))
        np.testing.assert_array_equal(got_v, want_v)
        np.testing.assert_array_equal(got_f, want_f)


def test_obj_face_index_zero_is_refused(tmp_path):
    v, f = body()
    path = tmp_path / "zero.obj"
    path.write_text("".join(f"v {x} {y} {z}\n" for x, y, z in v) + "f 0 1 2\n"
                    + "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in f))
    with pytest.raises(MeshFileError, match=r"zero\.obj' line 43: face 'f 0 1 2' uses vertex "
                                            r"index 0, but OBJ counts vertices from 1"):
        read_mesh(str(path))


@pytest.mark.parametrize("cut_at_line_end", [True, False])
def test_cut_first_frame_is_the_one_blamed(tmp_path, cut_at_line_end):
    seq = tmp_path / "walk"
    mesh_sequence(seq, ".obj", [0, 1])
    first = seq / "frame_0.obj"
    data = first.read_bytes()
    cut = data[: int(len(data) * 0.97)]
    if cut_at_line_end:
        cut = cut[: cut.rindex(b"\n") + 1]
    else:  # mid-line: keep a face line with two of its three vertices
        cut = cut[: cut.rindex(b"\n") + 1] + b" ".join(
            data[len(cut[: cut.rindex(b"\n") + 1]):].split(b"\n")[0].split()[:3])
    first.write_bytes(cut)
    with pytest.raises(MeshFileError, match=r"frame_0\.obj'"):
        read_mesh_sequence(str(seq))
    try:
        read_mesh_sequence(str(seq))
    except MeshFileError as e:
        assert not str(e).startswith(f"'{seq / 'frame_1.obj'}'"), str(e)


def test_symlink_loop_as_a_frame_is_named(tmp_path):
    seq = tmp_path / "root" / "walk"
    mesh_sequence(seq, ".obj", [0, 1])
    os.symlink("loop.obj", seq / "loop.obj")
    with pytest.raises(MeshFileError, match=r"loop\.obj' is a symbolic link that leads nowhere"):
        read_sequences(str(tmp_path / "root"))
