r"""A user's own folder of mesh or point-cloud sequences as a cached PyG
dataset.

:class:`MeshFolder` reads ``root/<sequence>/<frame files>`` with
:mod:`pyg_dss.datasets.mesh_files` (frame order, formats, backends and
refusals are described there) and caches the result like the other
datasets (:class:`~pyg_dss.datasets.base.CachedInMemoryDataset`: loaded with
``weights_only=True`` only, keyed by the root folder, the reading options,
``pre_transform``, ``pre_filter`` and every frame file's name and content
hash, so that editing, adding, removing or renaming a frame rebuilds it,
and two roots sharing one ``cache_dir`` never read each other's cache).
:class:`pyg_dss.frames.FolderFrameSets` draws frame-ordering sets from one
split of it.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional

from .base import CachedInMemoryDataset
from .mesh_files import (BACKENDS, KINDS, ORDERS, list_sequences, read_sequences,
                         sequence_identity)

__all__ = ["MeshFolder"]


class MeshFolder(CachedInMemoryDataset):
    r"""The sequences of ``root/<sequence>/<frame files>``, one
    :class:`~torch_geometric.data.Data` per sequence (folder names in
    natural order):

    * ``kind="mesh"`` (``.obj`` / ``.ply`` / ``.off``, registered meshes):
      the layout of :class:`~pyg_dss.datasets.DynamicFAUST`, ``pos``
      [T, V, 3] (float32), ``face`` [3, F]; every frame must share the first
      frame's vertex count and faces, otherwise a
      :class:`~pyg_dss.datasets.MeshFileError` names the frame (read such
      frames as points);
    * ``kind="points"`` (``.ply`` / ``.pcd`` / ``.xyz``, or mesh files read
      as their vertices): uncorresponded point clouds of any sizes, ``pos``
      [N, 3] (all frames concatenated), ``frame_ptr`` [T + 1] (frame ``t``
      is ``pos[frame_ptr[t]:frame_ptr[t + 1]]``, see
      :func:`~pyg_dss.datasets.point_frames`), and ``normal`` [N, 3] with
      :obj:`estimate_normals`.

    Every item also has ``sequence`` (the folder name) and ``frame_files``
    (the file names, in frame order).

    The processed cache lives in ``<root>/.processed`` (hidden: the reader
    skips it), or in :obj:`cache_dir`; see the module docstring for its key.

    Args:
        root (str): the folder of sequence folders.
        kind (str): ``"mesh"`` or ``"points"`` (default: ``"mesh"``).
        order (str): frame order, ``"natural"`` (natural sort of the file
            names) or ``"timestamp"`` (the last number in the name); see
            :mod:`~pyg_dss.datasets.mesh_files`.
        backend, voxel_size, estimate_normals, normal_knn: how point clouds
            are read (``kind="points"`` only; see
            :func:`~pyg_dss.datasets.mesh_files.read_points`): open3d or
            trimesh, voxel down-sampling, normal estimation.
        cache_dir (str, optional): folder of the processed cache, e.g. when
            :obj:`root` cannot be written (default: ``<root>/.processed``).
        transform, pre_transform, pre_filter, force_reload: as in PyG
            (``pre_filter`` sees ``sequence``).
    """

    cache_version = 1
    cache_elsewhere = "pass cache_dir= a folder you can write to (the frame files are only read)"

    def __init__(self, root: str, kind: str = "mesh", order: str = "natural",
                 backend: str = "auto", voxel_size: Optional[float] = None,
                 estimate_normals: bool = False, normal_knn: int = 30,
                 cache_dir: Optional[str] = None, transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None, force_reload: bool = False) -> None:
        for what, value, choices in (("kind", kind, KINDS), ("order", order, ORDERS),
                                     ("backend", backend, BACKENDS)):
            if value not in choices:
                raise ValueError(f"{what} must be one of {choices}, got {value!r}.")
        point_options = dict(backend=backend, voxel_size=voxel_size,
                             estimate_normals=estimate_normals, normal_knn=normal_knn)
        if kind == "mesh" and (voxel_size is not None or estimate_normals):
            raise ValueError("voxel_size and estimate_normals apply to kind='points' only; "
                             "a mesh sequence keeps every vertex of its frames.")
        self.kind, self.order = kind, order
        self.point_options = point_options if kind == "points" else {}
        root = os.path.abspath(root)
        list_sequences(root)  # a missing or empty folder is named before anything is written
        self._cache_dir = None if cache_dir is None else os.path.abspath(cache_dir)
        super().__init__(root, transform, pre_transform, pre_filter,
                         force_reload=force_reload)
        self.load(self.processed_paths[0])

    @property
    def processed_dir(self) -> str:
        return self._cache_dir or os.path.join(self.root, ".processed")

    @property
    def raw_file_names(self) -> List[str]:
        return []

    @property
    def processed_file_names(self) -> str:
        return f"folder_{self.kind}.pt"

    def cache_options(self) -> Dict[str, Any]:
        # The root: a copy of the folder (cp -a keeps names and times) sharing
        # one cache_dir must not be served the original's frames.
        return {"root": self.root, "kind": self.kind, "order": self.order,
                **self.point_options}

    def raw_identity(self) -> List[Any]:
        # One entry per sequence folder, so that a rebuild names the sequence
        # whose frames changed.
        return [[os.path.basename(folder), sequence_identity(folder, self.kind, self.order)]
                for folder in list_sequences(self.root)]

    def process(self) -> None:
        data_list = read_sequences(self.root, self.kind, self.order, **self.point_options)
        if self.pre_filter is not None:
            data_list = [d for d in data_list if self.pre_filter(d)]
        if self.pre_transform is not None:
            data_list = [self.pre_transform(d) for d in data_list]
        self.save(data_list, self.processed_paths[0])

    @property
    def names(self) -> List[str]:
        r"""The sequence (folder) names, in item order."""
        return [str(self[i].sequence) for i in range(len(self))]

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({len(self)}, root={self.root!r}, "
                f"kind={self.kind!r})")
