r"""A user's own mesh sequences and point clouds, read from a folder of files.

Layout:

.. code-block:: text

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
import io
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
        keyed: List[Tuple[Any, str]] = [(natural_key(n), n) for n in names]
        what = "the same natural sort position (they differ only in leading zeros or case)"
    else:
        keyed = [(frame_time(os.path.join(folder, n)), n) for n in names]
        what = "the same timestamp"
    keyed.sort(key=lambda kn: kn[0])
    for (k1, n1), (k2, n2) in zip(keyed, keyed[1:], strict=False):
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
    names: List[str] = []
    by_ext: Dict[str, str] = {}
    for name in _visible(folder):
        path = os.path.join(folder, name)
        ext = os.path.splitext(name)[1].lower()
        if not os.path.exists(path):  # exists() follows links: a loop or a dangling one
            raise MeshFileError(f"'{path}' is a symbolic link that leads nowhere (a link loop "
                                f"or a missing target); remove it or point it at a frame file.")
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
    source: Any = path
    if ext == ".obj":
        text = _obj_text(path)
        source = io.BytesIO(text)
    else:
        declared = _declared_points(path, ext)
    try:
        mesh: Optional[trimesh.parent.Geometry] = trimesh.load(
            source, file_type=ext[1:], process=False, maintain_order=True, fix_texture=False,
            skip_materials=True)
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
        in_file = len(re.findall(rb"(?m)^v ", text))
        if in_file != len(vertices):
            raise MeshFileError(f"'{path}' has {in_file} vertices, of which trimesh keeps "
                                f"{len(vertices)}: the last ones belong to no face. Remove "
                                f"unreferenced vertices (or the texture coordinates) from the "
                                f"export.")
    elif declared is not None and declared != len(vertices):
        raise MeshFileError(f"'{path}': its header declares {declared} vertices but "
                            f"{len(vertices)} were read; the file is damaged: export it again.")
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
    # open3d fills what a cut file lacks with leftover memory and trimesh reads
    # an ASCII PLY's face lines as vertices: check the file against its header
    # before any backend reads it.
    declared = _declared_points(path, ext)

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
    if declared is not None and declared != len(points):
        raise MeshFileError(f"'{path}': its header declares {declared} points but "
                            f"{len(points)} were read; the file is damaged: export it again.")
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


_PLY_SIZES = {"char": 1, "uchar": 1, "int8": 1, "uint8": 1, "short": 2, "ushort": 2,
              "int16": 2, "uint16": 2, "int": 4, "uint": 4, "int32": 4, "uint32": 4,
              "float": 4, "float32": 4, "double": 8, "float64": 8}


def _damaged(path: str, why: str) -> MeshFileError:
    return MeshFileError(f"'{path}' is damaged: {why} (cut off while copying or writing?); "
                         f"export or copy it again.")


def _header(path: str, end: bytes, limit: int = 1 << 16) -> Tuple[List[str], int]:
    r"""The header lines of a PLY / PCD file up to and including the line
    starting with :obj:`end`, and the byte offset of the data after it."""
    with open(path, "rb") as f:
        head = f.read(limit)
    lines, offset = [], 0
    for raw in head.splitlines(keepends=True):
        offset += len(raw)
        line = raw.decode("ascii", "replace").strip()
        lines.append(line)
        if line.split()[:1] == [end.decode()] or line == end.decode():
            return lines, offset
    raise _damaged(path, f"its header has no '{end.decode()}' line")


def _data_lines(path: str, offset: int) -> List[bytes]:
    with open(path, "rb") as f:
        f.seek(offset)
        return [ln for ln in f.read().splitlines() if ln.strip()]


def _declared_points(path: str, ext: str) -> Optional[int]:
    r"""The vertex / point count a ``.ply`` or ``.pcd`` header declares,
    after checking that the file holds that much data (every element's
    lines for ASCII, at least the bytes of the fixed-size records for
    binary); for ``.xyz``, that every line has three coordinates
    (:obj:`None` then, and for other formats)."""
    if ext == ".ply":
        return _declared_ply(path)
    if ext == ".pcd":
        return _declared_pcd(path)
    if ext == ".xyz":
        for i, line in enumerate(_data_lines(path, 0)):
            values = line.split()
            if values[0].startswith(b"#"):
                continue
            try:
                [float(v) for v in values[:3]]
            except ValueError:
                values = []
            if len(values) < 3:
                raise _damaged(path, f"line {i + 1} ({line.decode('ascii', 'replace')!r}) "
                                     f"does not hold three coordinates x y z")
    return None


def _declared_ply(path: str) -> int:
    lines, offset = _header(path, b"end_header")
    fmt = "ascii"
    elements: List[List[Any]] = []  # [name, count, fixed bytes, list count bytes]
    for line in lines:
        words = line.split()
        if words[:1] == ["format"] and len(words) > 1:
            fmt = words[1]
        elif words[:1] == ["element"] and len(words) == 3 and words[2].isdigit():
            elements.append([words[1], int(words[2]), 0, 0])
        elif words[:1] == ["property"] and elements:
            if words[1:2] == ["list"] and len(words) > 2:
                elements[-1][3] += _PLY_SIZES.get(words[2], 0)
            elif len(words) > 1:
                elements[-1][2] += _PLY_SIZES.get(words[1], 0)
    vertex = next((e for e in elements if e[0] == "vertex"), None)
    if vertex is None:
        raise _damaged(path, "its header declares no 'element vertex'")
    if fmt == "ascii":
        needed, found = sum(e[1] for e in elements), len(_data_lines(path, offset))
        if found < needed:
            parts = " + ".join(f"{e[1]} {e[0]}" for e in elements)
            raise _damaged(path, f"its header declares {parts} lines, the file holds {found}")
    else:
        needed = offset + sum(e[1] * (e[2] + e[3]) for e in elements)
        size = os.path.getsize(path)
        if size < needed:
            raise _damaged(path, f"its header declares {vertex[1]} vertices, which need at "
                                 f"least {needed} bytes, the file has {size}")
    return int(vertex[1])


def _declared_pcd(path: str) -> int:
    lines, offset = _header(path, b"DATA")
    fields = {w[0]: w[1:] for w in (ln.split() for ln in lines) if w}
    try:
        count = int(fields["POINTS"][0]) if "POINTS" in fields else \
            int(fields["WIDTH"][0]) * int(fields["HEIGHT"][0])
        data = fields["DATA"][0]
        record = sum(int(s) * int(c) for s, c in zip(
            fields["SIZE"], fields.get("COUNT", ["1"] * len(fields["SIZE"])), strict=True))
    except (KeyError, IndexError, ValueError) as e:
        raise _damaged(path, f"its header is incomplete ({type(e).__name__}: {e})") from None
    if data == "ascii":
        found = len(_data_lines(path, offset))
        if found < count:
            raise _damaged(path, f"its header declares {count} points, the file holds "
                                 f"{found} lines of them")
    elif data == "binary":
        size = os.path.getsize(path)
        if size < offset + count * record:
            raise _damaged(path, f"its header declares {count} points, which need "
                                 f"{offset + count * record} bytes, the file has {size}")
    return count


def _obj_text(path: str) -> bytes:
    r"""An OBJ file's text in the spelling trimesh reads: tabs as spaces, no
    leading blanks (both valid OBJ), after refusing face lines with vertex
    index 0 (OBJ counts from 1) or fewer than three vertices (a cut line)."""
    with open(path, "rb") as f:
        text = f.read()
    text = re.sub(rb"(?m)^[ ]+", b"", text.replace(b"\t", b" "))
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(b"f "):
            refs = [r.split(b"/")[0] for r in line.split()[1:]]
            if b"0" in refs:
                raise MeshFileError(f"'{path}' line {number}: face {line.decode()!r} uses "
                                    f"vertex index 0, but OBJ counts vertices from 1; fix the "
                                    f"exporter (indices are 1-based, or negative from the end).")
            if len(refs) < 3:
                raise _damaged(path, f"line {number}: face {line.decode()!r} has fewer than "
                                     f"three vertices")
    return text


def _read_points_trimesh(path: str, ext: str) -> np.ndarray:
    import trimesh

    source: Any = io.BytesIO(_obj_text(path)) if ext == ".obj" else path
    try:
        geometry: Optional[trimesh.parent.Geometry] = trimesh.load(
            source, file_type=ext[1:], process=False, maintain_order=True, fix_texture=False,
            skip_materials=True)
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
    frames = [read_mesh(path) for path in files]
    # The reference is the topology most frames share, so that a damaged frame
    # is the one named, whichever position it has; among equally common ones
    # the largest (a file cut short has fewer vertices or faces), then the earliest.
    signature = [(len(p), len(f), hashlib.sha256(f.tobytes()).digest()) for p, f in frames]
    ref = max(range(len(files)),
              key=lambda i: (signature.count(signature[i]), signature[i][:2], -i))
    ref_pos, first_face = frames[ref]
    for path, (p, f) in zip(files, frames, strict=True):
        why = topology_difference(p, f, ref_pos, first_face, files[ref])
        if why:
            tie = signature.count(signature[ref]) * 2 <= len(files)
            blame = (f" (as many frames side with one as with the other: if '{path}' is "
                     f"intact, '{files[ref]}' is the damaged one)" if tie else "")
            raise MeshFileError(f"'{path}' {why}{blame}. The frames of a mesh sequence must "
                                f"share one topology (registered meshes); read uncorresponded "
                                f"scans as point clouds instead (kind='points').")
    return Data(pos=torch.from_numpy(np.stack([p for p, _ in frames])),
                face=torch.from_numpy(np.ascontiguousarray(first_face.T)),
                sequence=_name(folder), frame_files=[os.path.basename(f) for f in files],
                num_nodes=len(ref_pos))


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
        data.normal = torch.from_numpy(np.concatenate([n for n in normals if n is not None]))
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


def _content_hash(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    except OSError as e:
        raise MeshFileError(f"Cannot read '{path}' ({e.strerror or e}); check the file and "
                            f"its permissions.") from None
    return digest.hexdigest()


def sequence_identity(folder: str, kind: str = "mesh", order: str = "natural") -> str:
    r"""A hex digest of the frame files of one sequence folder, in order:
    each file's name and the SHA-256 of its content. Times are not used: a
    frame edited within one tick of a coarse clock, or with its time put
    back, changes the digest; a frame touched but unchanged does not. Costs
    one read of every frame (about 1 GB/s from the page cache, see
    ``docs/notes/hygiene.md``)."""
    digest = hashlib.sha256()
    for path in list_frames(folder, kind, order):
        digest.update(f"{os.path.basename(path)}\0{_content_hash(path)}\n".encode())
    return digest.hexdigest()


def raw_file_identity(root: str, kind: str = "mesh", order: str = "natural") -> str:
    r"""A hex digest of every frame file :func:`read_sequences` would read
    from :obj:`root`, in order (:func:`sequence_identity` of every sequence
    folder, with its name). A processed cache keyed by it (with the reading
    options and the root) goes stale whenever a frame is added, removed,
    renamed or its content changes."""
    digest = hashlib.sha256()
    for folder in list_sequences(root):
        digest.update(f"{_name(folder)}\0{sequence_identity(folder, kind, order)}\n".encode())
    return digest.hexdigest()
