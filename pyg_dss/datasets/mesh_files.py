r"""A user's own mesh sequences and point clouds, read from a folder of files.

Layout::

    root/
      <sequence>/          one folder per sequence (its name is the sequence name)
        <frame files>      one file per frame, all of one format

Frame order (``order``):

* ``"natural"`` (default): natural sort of the file names: runs of digits
  compare as numbers, everything else case-insensitively, so ``frame2``
  comes before ``frame10`` and ``frame_9.obj`` before ``frame_10.obj``.
  Two names that differ only in leading zeros (``f1`` and ``f01``) are
  refused as ambiguous.
* ``"timestamp"``: the *last* number in the file name (digits, optionally
  with a decimal point, e.g. ``scan_1699999999.125.pcd``) is the frame's
  time; frames are sorted by it (exactly, as decimals). A name without a
  number, or two frames with the same time, are refused.

Formats: meshes ``.obj``, ``.ply``, ``.off`` (read by trimesh with
``process=False`` and ``maintain_order=True``, so vertex *i* of the file is
vertex *i* of the result: trimesh would otherwise merge duplicate vertices,
drop unreferenced ones, and split an OBJ's vertices by texture coordinate,
all of which break the correspondence between frames); point clouds
``.ply``, ``.xyz`` (open3d where it imports, trimesh otherwise; both give the
same numbers) and ``.pcd`` (open3d only). Hidden files and the companions of
mesh files (``.mtl`` materials, ``.png`` / ``.jpg`` / ``.jpeg`` textures) are
ignored; any other file is refused with its name.

Two results, the same per-sequence layout as
:class:`~pyg_dss.datasets.DynamicFAUST` for meshes:

* :func:`read_mesh_sequence` (``kind="mesh"``): every frame must have the
  same vertex count and the same faces (a *corresponded* sequence); a
  :class:`~torch_geometric.data.Data` with ``pos`` [T, V, 3] (float32),
  ``face`` [3, F] (long), ``sequence`` (name) and ``frame_files``.
  A frame whose topology differs is refused with its name and what differs.
* :func:`read_point_sequence` (``kind="points"``): frames may differ in size
  (*uncorresponded*); a ``Data`` with ``pos`` [N, 3], the points of all
  frames concatenated in frame order, ``frame_ptr`` [T + 1] (frame ``t`` is
  ``pos[frame_ptr[t]:frame_ptr[t + 1]]``, see :func:`point_frames`),
  optionally ``normal`` [N, 3], ``sequence`` and ``frame_files``. Mesh files
  are read as their vertices.

Every problem is a :class:`MeshFileError` (a :class:`ValueError`) naming the
file or folder and saying what to do.
"""
from __future__ import annotations

import hashlib
import os
import re
from decimal import Decimal
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

__all__ = [
    "MESH_EXTENSIONS", "POINT_EXTENSIONS", "ORDERS", "KINDS", "BACKENDS", "MeshFileError",
    "natural_key", "frame_time", "list_sequences", "list_frames", "read_mesh",
    "read_points", "read_mesh_sequence", "read_point_sequence", "read_sequences",
    "point_frames", "sequence_identity", "raw_file_identity", "topology_difference",
]

MESH_EXTENSIONS: Tuple[str, ...] = (".obj", ".ply", ".off")
POINT_EXTENSIONS: Tuple[str, ...] = (".ply", ".pcd", ".xyz")
#: Files that travel with meshes and are not frames.
COMPANION_EXTENSIONS: Tuple[str, ...] = (".mtl", ".png", ".jpg", ".jpeg")
ORDERS: Tuple[str, ...] = ("natural", "timestamp")
KINDS: Tuple[str, ...] = ("mesh", "points")
BACKENDS: Tuple[str, ...] = ("auto", "open3d", "trimesh")

OPEN3D_HINT = ("pip install 'pyg-dss[open3d]' (on Debian / Ubuntu open3d also needs the "
               "system library: apt-get install libusb-1.0-0)")


class MeshFileError(ValueError):
    """A folder or frame file that cannot be read into a sequence; the message
    names it and says what to do."""


# ---------------------------------------------------------------------------
# Frame order
# ---------------------------------------------------------------------------
def natural_key(name: str) -> Tuple[Any, ...]:
    r"""Sort key of the natural order: digit runs as integers, the rest
    lower-cased (``"f2" < "F10"``)."""
    parts = re.split(r"(\d+)", name.lower())
    # re.split with a group alternates text, number, text, ...: positions of
    # one type line up between names, so the tuples always compare.
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def frame_time(name: str) -> Decimal:
    r"""The time of a frame file for ``order="timestamp"``: the last number
    in its name without extension (``"scan_17.5.pcd"`` -> 17.5), exact."""
    stem = os.path.splitext(os.path.basename(name))[0]
    numbers = _NUMBER.findall(stem)
    if not numbers:
        raise MeshFileError(f"'{name}' has no number in its name, so order='timestamp' cannot "
                            f"place it in time; rename it (e.g. 'frame_<time>.ply') or use "
                            f"order='natural'.")
    return Decimal(numbers[-1])


def _sort_frames(folder: str, names: List[str], order: str) -> List[str]:
    if order == "natural":
        keyed = [(natural_key(n), n) for n in names]
        what = "the same natural sort position (they differ only in leading zeros or case)"
    else:
        keyed = [(frame_time(os.path.join(folder, n)), n) for n in names]
        what = "the same timestamp"
    keyed.sort(key=lambda kn: kn[0])
    for (k1, n1), (k2, n2) in zip(keyed, keyed[1:]):
        if k1 == k2:
            raise MeshFileError(f"'{os.path.join(folder, n1)}' and '{n2}' have {what}, so "
                                f"their order in time is ambiguous; rename one of them.")
    return [n for _, n in keyed]


# ---------------------------------------------------------------------------
# Folders
# ---------------------------------------------------------------------------
def _visible(folder: str) -> List[str]:
    return [n for n in os.listdir(folder) if not n.startswith(".")]


def list_sequences(root: str) -> List[str]:
    r"""The sequence folders ``root/<sequence>``, in natural order of their
    names (full paths)."""
    if not os.path.isdir(root):
        raise MeshFileError(f"'{root}' is not a folder; expected root/<sequence>/<frame files>.")
    entries = sorted(_visible(root), key=natural_key)
    folders = [n for n in entries if os.path.isdir(os.path.join(root, n))]
    files = [n for n in entries if not os.path.isdir(os.path.join(root, n))]
    if files:
        raise MeshFileError(f"'{root}' holds files directly ({', '.join(files[:3])}"
                            f"{', ...' if len(files) > 3 else ''}); put the frames of each "
                            f"sequence into their own folder: root/<sequence>/<frame files>.")
    if not folders:
        raise MeshFileError(f"'{root}' holds no sequence folders; expected "
                            f"root/<sequence>/<frame files> (one folder per sequence).")
    return [os.path.join(root, n) for n in folders]


def list_frames(folder: str, kind: str = "mesh", order: str = "natural",
                min_frames: int = 2) -> List[str]:
    r"""The frame files of one sequence folder in time order (full paths).

    Checks that there are at least :obj:`min_frames` of them, that they share
    one extension, and that the extension can be read as :obj:`kind`."""
    _check_choice("kind", kind, KINDS)
    _check_choice("order", order, ORDERS)
    if not os.path.isdir(folder):
        raise MeshFileError(f"'{folder}' is not a folder.")
    allowed = MESH_EXTENSIONS if kind == "mesh" else MESH_EXTENSIONS + POINT_EXTENSIONS
    names, by_ext = [], {}
    for name in _visible(folder):
        path = os.path.join(folder, name)
        ext = os.path.splitext(name)[1].lower()
        if os.path.isdir(path):
            raise MeshFileError(f"'{path}' is a folder inside the sequence folder '{folder}'; "
                                f"the layout is root/<sequence>/<frame files>, one level deep.")
        if ext in COMPANION_EXTENSIONS:
            continue
        if ext not in allowed:
            hint = (" (a point-cloud format: read it with kind='points')"
                    if ext in POINT_EXTENSIONS else "")
            raise MeshFileError(f"'{path}': unknown extension '{ext}'{hint}; frames of "
                                f"kind={kind!r} must be one of {', '.join(sorted(set(allowed)))}.")
        names.append(name)
        by_ext.setdefault(ext, name)
    if len(by_ext) > 1:
        listed = ", ".join(f"'{n}'" for n in by_ext.values())
        raise MeshFileError(f"'{folder}' mixes formats ({listed}); the frames of one sequence "
                            f"must share one format: convert them to one.")
    if len(names) < min_frames:
        raise MeshFileError(f"'{folder}' has {len(names)} frame file(s); a sequence needs at "
                            f"least {min_frames} (one set draws several frames of it).")
    return [os.path.join(folder, n) for n in _sort_frames(folder, names, order)]


# ---------------------------------------------------------------------------
# One file
# ---------------------------------------------------------------------------
def _check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"{what} must be one of {tuple(choices)}, got {value!r}.")


def _checked_xyz(path: str, xyz: Any, what: str = "vertex") -> np.ndarray:
    r"""[V, 3] float32 coordinates, refusing empty, mis-shaped and non-finite
    ones (float32 overflow included) with the file and the first bad row."""
    xyz = np.asarray(xyz, dtype=np.float64)
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise MeshFileError(f"'{path}': expected {what} coordinates of shape [N, 3], "
                            f"got {list(xyz.shape)}.")
    if xyz.shape[0] == 0:
        raise MeshFileError(f"'{path}' holds no {what}s (empty or unreadable file).")
    with np.errstate(over="ignore"):  # overflow becomes inf, refused below
        out = xyz.astype(np.float32)
    bad = ~np.isfinite(out).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise MeshFileError(f"'{path}': {what} {int(rows[0])} has non-finite coordinates "
                            f"{xyz[rows[0]].tolist()} ({len(rows)} {what}(s) in all are NaN, "
                            f"infinite or beyond float32); fix or drop the frame.")
    return out


def read_mesh(path: str) -> Tuple[np.ndarray, np.ndarray]:
    r"""Vertices [V, 3] (float32, in file order) and triangles [F, 3] (int64)
    of a ``.obj`` / ``.ply`` / ``.off`` file, read by trimesh without any
    processing (polygons are split into triangles)."""
    import trimesh

    ext = os.path.splitext(path)[1].lower()
    if ext not in MESH_EXTENSIONS:
        raise MeshFileError(f"'{path}': unknown mesh extension '{ext}'; use one of "
                            f"{', '.join(MESH_EXTENSIONS)}.")
    try:
        mesh = trimesh.load(path, file_type=ext[1:], process=False, maintain_order=True,
                            fix_texture=False, skip_materials=True)
        if isinstance(mesh, trimesh.Scene):  # several objects: one mesh, in file order
            mesh = mesh.to_geometry() if mesh.geometry else None
    except Exception as e:  # trimesh raises many types for damaged files
        raise MeshFileError(f"Cannot read '{path}' as a {ext} mesh: "
                            f"{type(e).__name__}: {e}") from e
    vertices = getattr(mesh, "vertices", None)
    if vertices is None or len(vertices) == 0:
        raise MeshFileError(f"'{path}' holds no vertices (empty or unreadable {ext} file).")
    faces = np.asarray(getattr(mesh, "faces", np.zeros((0, 3))), dtype=np.int64).reshape(-1, 3)
    if len(faces) == 0:
        raise MeshFileError(f"'{path}' holds no faces (a point cloud?); read it with "
                            f"kind='points', or export the mesh with its faces.")
    if ext == ".obj":
        # trimesh drops trailing vertices no face uses when the file has
        # texture coordinates; vertex i would still be vertex i, but the count
        # (and any per-vertex data of the user) would no longer match the file.
        with open(path, "rb") as f:
            in_file = sum(1 for line in f if line.startswith(b"v "))
        if in_file != len(vertices):
            raise MeshFileError(f"'{path}' has {in_file} vertices, of which trimesh keeps "
                                f"{len(vertices)}: the last ones belong to no face. Remove "
                                f"unreferenced vertices (or the texture coordinates) from the "
                                f"export.")
    pos = _checked_xyz(path, vertices)
    if faces.min() < 0 or faces.max() >= len(pos):
        raise MeshFileError(f"'{path}': face indices span [{faces.min()}, {faces.max()}] but "
                            f"the file has {len(pos)} vertices.")
    return pos, faces


@lru_cache(maxsize=1)
def _open3d():
    r"""The open3d module, or an ImportError saying how to install it."""
    try:
        import open3d
    except (ImportError, OSError) as e:
        raise ImportError(f"This needs open3d, which does not import here ({e}); "
                          f"{OPEN3D_HINT}.") from e
    return open3d


def _open3d_available() -> bool:
    try:
        _open3d()
    except ImportError:
        return False
    return True


def read_points(path: str, backend: str = "auto", voxel_size: Optional[float] = None,
                estimate_normals: bool = False,
                normal_knn: int = 30) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    r"""Points [V, 3] (float32) of a point-cloud or mesh file, and their
    normals [V, 3] when :obj:`estimate_normals` is set (else :obj:`None`).

    Args:
        path: a ``.ply``, ``.pcd``, ``.xyz`` file, or a mesh (``.obj``,
            ``.off``; its vertices).
        backend: ``"open3d"``, ``"trimesh"`` (not for ``.pcd``) or ``"auto"``
            (open3d when it imports, else trimesh; meshes always trimesh).
        voxel_size: if set, replace the points of every occupied voxel of this
            edge length by their mean (open3d's ``voxel_down_sample``); the
            result is sorted by (x, y, z) so that it does not depend on
            open3d's hashing.
        estimate_normals: estimate unit normals from the :obj:`normal_knn`
            nearest neighbours (open3d, after down-sampling), oriented away
            from the frame's centroid (outwards for a body).
        normal_knn: neighbours per normal (default: :obj:`30`).

    Down-sampling and normals need open3d.
    """
    _check_choice("backend", backend, BACKENDS)
    ext = os.path.splitext(path)[1].lower()
    if ext not in MESH_EXTENSIONS + POINT_EXTENSIONS:
        raise MeshFileError(f"'{path}': unknown extension '{ext}'; points are read from "
                            f"{', '.join(sorted(set(MESH_EXTENSIONS + POINT_EXTENSIONS)))}.")
    if voxel_size is not None and not voxel_size > 0:
        raise ValueError(f"voxel_size must be > 0, got {voxel_size}.")
    if normal_knn < 3:
        raise ValueError(f"normal_knn must be >= 3, got {normal_knn}.")
    need_open3d = ext == ".pcd" or voxel_size is not None or estimate_normals
    if need_open3d and backend == "trimesh":
        what = ".pcd files" if ext == ".pcd" else "voxel down-sampling and normals"
        raise ValueError(f"backend='trimesh' cannot serve {what} ('{path}'); use "
                         f"backend='open3d' or 'auto'.")
    if ext in (".obj", ".off"):
        use_open3d = False
    elif backend == "auto":
        use_open3d = need_open3d or _open3d_available()
    else:
        use_open3d = backend == "open3d"
    if use_open3d or need_open3d:
        o3d = _open3d()

    if use_open3d:
        cloud = o3d.io.read_point_cloud(path, format="auto", remove_nan_points=False,
                                        remove_infinite_points=False, print_progress=False)
        # open3d reports unreadable files on stderr and returns an empty cloud.
        xyz = np.asarray(cloud.points)
        if xyz.size == 0:
            raise MeshFileError(f"'{path}' holds no points (empty, damaged, or not a {ext} "
                                f"file open3d can read).")
        points = _checked_xyz(path, xyz, "point")
    else:
        points = _read_points_trimesh(path, ext)
    if not need_open3d:
        return points, None

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points.astype(np.float64)))
    if voxel_size is not None:
        cloud = cloud.voxel_down_sample(voxel_size)
        xyz = np.asarray(cloud.points)
        cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(
            xyz[np.lexsort((xyz[:, 2], xyz[:, 1], xyz[:, 0]))]))
    normals = None
    if estimate_normals:
        if len(cloud.points) < 3:
            raise MeshFileError(f"'{path}': {len(cloud.points)} point(s) left, too few to "
                                f"estimate normals.")
        cloud.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(knn=normal_knn))
        xyz = np.asarray(cloud.points)
        normals = np.asarray(cloud.normals).copy()
        outward = np.einsum("ij,ij->i", normals, xyz - xyz.mean(0)) < 0
        normals[outward] *= -1.0
        normals = normals.astype(np.float32)
    return np.asarray(cloud.points).astype(np.float32), normals


def _read_points_trimesh(path: str, ext: str) -> np.ndarray:
    import trimesh

    try:
        geometry = trimesh.load(path, file_type=ext[1:], process=False,
                                maintain_order=True, fix_texture=False, skip_materials=True)
    except Exception as e:
        raise MeshFileError(f"Cannot read '{path}' as {ext}: {type(e).__name__}: {e}") from e
    if isinstance(geometry, trimesh.Scene):
        geometry = geometry.to_geometry() if geometry.geometry else None
    vertices = getattr(geometry, "vertices", None)
    if vertices is None or len(vertices) == 0:
        raise MeshFileError(f"'{path}' holds no points (empty or unreadable {ext} file).")
    return _checked_xyz(path, vertices, "point")


# ---------------------------------------------------------------------------
# One sequence
# ---------------------------------------------------------------------------
def _name(folder: str) -> str:
    return os.path.basename(os.path.normpath(folder))


def topology_difference(pos: np.ndarray, face: np.ndarray, first_pos: np.ndarray,
                        first_face: np.ndarray, first_path: str) -> Optional[str]:
    r"""How a mesh frame (``pos`` [V, 3], ``face`` [F, 3]) differs in topology
    from the first frame of its set or sequence, read from ``first_path``
    (vertex count, triangle count, or the first triangle that differs), as a
    phrase to follow the frame's file name; :obj:`None` if it does not."""
    if len(pos) != len(first_pos):
        return f"has {len(pos)} vertices, but '{first_path}' has {len(first_pos)}"
    if face.shape != first_face.shape:
        return f"has {len(face)} triangles, but '{first_path}' has {len(first_face)}"
    if not np.array_equal(face, first_face):
        k = int(np.flatnonzero((face != first_face).any(axis=1))[0])
        return (f"has the same {len(pos)} vertices but different faces (first of the different "
                f"triangles: triangle {k} is {face[k].tolist()} here, "
                f"{first_face[k].tolist()} in '{first_path}')")
    return None


def read_mesh_sequence(folder: str, order: str = "natural") -> Data:
    r"""A corresponded mesh sequence: ``Data(pos [T, V, 3] float32,
    face [3, F] long, sequence=<folder name>, frame_files=[names])``.

    Every frame must have the vertex count and the faces of the first one;
    otherwise a :class:`MeshFileError` names the frame and what differs."""
    files = list_frames(folder, "mesh", order)
    first_pos, first_face = read_mesh(files[0])
    pos = [first_pos]
    for path in files[1:]:
        p, f = read_mesh(path)
        why = topology_difference(p, f, first_pos, first_face, files[0])
        if why:
            raise MeshFileError(f"'{path}' {why}. The frames of a mesh sequence must share one "
                                f"topology (registered meshes); read uncorresponded scans as "
                                f"point clouds instead (kind='points').")
        pos.append(p)
    return Data(pos=torch.from_numpy(np.stack(pos)),
                face=torch.from_numpy(np.ascontiguousarray(first_face.T)),
                sequence=_name(folder), frame_files=[os.path.basename(f) for f in files],
                num_nodes=len(first_pos))


def read_point_sequence(folder: str, order: str = "natural", backend: str = "auto",
                        voxel_size: Optional[float] = None, estimate_normals: bool = False,
                        normal_knn: int = 30) -> Data:
    r"""An uncorresponded sequence of point clouds: ``Data(pos [N, 3]
    float32, frame_ptr [T + 1] long, sequence, frame_files)``, plus
    ``normal`` [N, 3] with :obj:`estimate_normals`; frame ``t`` holds the
    points ``pos[frame_ptr[t]:frame_ptr[t + 1]]`` (:func:`point_frames`).
    The other arguments are those of :func:`read_points`."""
    files = list_frames(folder, "points", order)
    points, normals = [], []
    for path in files:
        p, n = read_points(path, backend, voxel_size, estimate_normals, normal_knn)
        points.append(p)
        normals.append(n)
    sizes = torch.tensor([len(p) for p in points])
    data = Data(pos=torch.from_numpy(np.concatenate(points)),
                frame_ptr=torch.cat([torch.zeros(1, dtype=torch.long), sizes.cumsum(0)]),
                sequence=_name(folder), frame_files=[os.path.basename(f) for f in files])
    if estimate_normals:
        data.normal = torch.from_numpy(np.concatenate(normals))
    return data


def point_frames(data: Data, key: str = "pos") -> List[Tensor]:
    r"""The frames of a point sequence from :func:`read_point_sequence` as a
    list of [V_t, 3] tensors (views, no copy); :obj:`key` may be
    ``"normal"``."""
    return list(torch.tensor_split(data[key], data.frame_ptr[1:-1].tolist()))


def read_sequences(root: str, kind: str = "mesh", order: str = "natural",
                   **point_options: Any) -> List[Data]:
    r"""Every sequence of ``root/<sequence>/<frame files>``, in natural
    order of the folder names: :func:`read_mesh_sequence` for
    ``kind="mesh"``, :func:`read_point_sequence` (which takes
    :obj:`point_options`: ``backend``, ``voxel_size``, ``estimate_normals``,
    ``normal_knn``) for ``kind="points"``."""
    _check_choice("kind", kind, KINDS)
    _check_choice("order", order, ORDERS)
    if kind == "mesh":
        if point_options:
            raise ValueError(f"{sorted(point_options)} only apply to kind='points'.")
        return [read_mesh_sequence(f, order) for f in list_sequences(root)]
    return [read_point_sequence(f, order, **point_options) for f in list_sequences(root)]


def sequence_identity(folder: str, kind: str = "mesh", order: str = "natural") -> str:
    r"""A hex digest of the frame files of one sequence folder, in order:
    each file's name, size and modification time (ns); the files themselves
    are not read."""
    digest = hashlib.sha256()
    for path in list_frames(folder, kind, order):
        st = os.stat(path)
        digest.update(f"{os.path.basename(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def raw_file_identity(root: str, kind: str = "mesh", order: str = "natural") -> str:
    r"""A hex digest of every frame file :func:`read_sequences` would read
    from :obj:`root`, in order (:func:`sequence_identity` of every sequence
    folder, with its name). A processed cache keyed by it (with the reading
    options) goes stale whenever a frame is added, removed, renamed or
    rewritten; the files themselves are not read."""
    digest = hashlib.sha256()
    for folder in list_sequences(root):
        digest.update(f"{_name(folder)}\0{sequence_identity(folder, kind, order)}\n".encode())
    return digest.hexdigest()
