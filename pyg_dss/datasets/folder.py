r"""A user's own folder of mesh or point-cloud sequences as a cached PyG
dataset, and the frame-ordering task on it.

:class:`MeshFolder` reads ``root/<sequence>/<frame files>`` with
:mod:`pyg_dss.datasets.mesh_files` (frame order, formats, backends and
refusals are described there) and caches the result like the other
datasets (:class:`~pyg_dss.datasets.base.CachedInMemoryDataset`: loaded with
``weights_only=True`` only, keyed by the root folder, the reading options,
``pre_transform``, ``pre_filter`` and every frame file's name and content
hash, so that editing, adding, removing or renaming a frame rebuilds it,
and two roots sharing one ``cache_dir`` never read each other's cache).
:class:`FolderFrameSets` draws :class:`~pyg_dss.datasets.FrameSets` from one
split of it.

Splits (:func:`folder_split`) are by subject or by sequence. The *subject*
of a sequence is the part of its folder name before the first ``_``
(``50002_chicken_wings`` -> ``50002``, ``anna_walk_2`` -> ``anna``); a name
without ``_`` is its own subject. The subjects (or sequence names) are put in
natural order, shuffled with ``split_seed``, and the first
``round(test_fraction * count)`` (at least one) go to test, the next
``round(val_fraction * count)`` (at least one) to val, the rest to train;
``splits=`` names them instead.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
from torch_geometric.data import Data

from .base import CachedInMemoryDataset
from .dfaust import EmptySelectionError
from .frame_sets import FrameSets
from .mesh_files import (BACKENDS, KINDS, ORDERS, list_sequences, natural_key,
                         read_sequences, sequence_identity)
from .splits import SPLIT_BY, SPLITS, _check, _defaults, _init_frame_sets

__all__ = ["MeshFolder", "FolderFrameSets", "folder_split", "subject_of"]


def subject_of(sequence: str) -> str:
    r"""The subject of a sequence folder name: the part before the first
    ``_`` (``"50002_chicken_wings"`` -> ``"50002"``); a name without ``_`` is
    its own subject."""
    return sequence.split("_", 1)[0]


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


def folder_split(names: Sequence[str], split_by: str = "subject",
                 val_fraction: float = 0.2, test_fraction: float = 0.2,
                 seed: int = 0) -> Dict[str, List[str]]:
    r"""Train / val / test lists of subjects (``split_by="subject"``, see
    :func:`subject_of`) or sequence names (``"sequence"``) for the
    sequences :obj:`names`, by the rule of the module docstring. Needs at
    least three subjects or sequences (one per split)."""
    if split_by not in SPLIT_BY:
        raise ValueError(f"split_by must be one of {SPLIT_BY}, got {split_by!r}.")
    for what, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"{what} must be in [0, 1), got {value}.")
    units = sorted({subject_of(n) if split_by == "subject" else n for n in names},
                   key=natural_key)
    which = "subjects" if split_by == "subject" else "sequences"
    if len(units) < 3:
        hint = (" Sequence folders named '<subject>_<motion>' give subjects; or split by "
                "sequence" if split_by == "subject" else "")
        raise EmptySelectionError(
            f"A split by {split_by} needs at least 3 {which} (one each for train, val and "
            f"test), the folder has {len(units)}: {units}.{hint}{';' if hint else ''} add "
            f"sequences, or name the split with splits={{'train': [...], 'val': [...], "
            f"'test': [...]}}.")
    shuffled = [units[i] for i in np.random.default_rng(seed).permutation(len(units))]
    # at least one each, and at least one left for training
    n_test = min(max(1, round(test_fraction * len(units))), len(units) - 2)
    n_val = min(max(1, round(val_fraction * len(units))), len(units) - 1 - n_test)
    out = {"test": shuffled[:n_test], "val": shuffled[n_test:n_test + n_val],
           "train": shuffled[n_test + n_val:]}
    return {k: sorted(out[k], key=natural_key) for k in SPLITS}


class FolderFrameSets(FrameSets):
    r"""Frame-ordering sets from one split of a :class:`MeshFolder`: the
    first-frame task of Maron et al. (2020) on a user's own meshes or point
    clouds.

    ``kind="mesh"`` gives corresponded sets (mesh edges for the GCN base;
    ``modality="points"`` drops them); ``kind="points"`` gives
    uncorresponded sets of point clouds (``corresponded=False``: coverage
    ``"pooled"``, so DSS layers share a per-set summary instead of
    per-vertex information). Defaults for the draw: 7 frames at least 1
    frame apart anywhere in the sequence (``min_gap``, ``window``: pass what
    your frame rate calls for); the training split draws new sets on every
    access, val and test hold ``num_sets=256`` sets fixed by ``seed`` (1 for
    val, 2 for test).

    Args:
        root (str): the folder of sequence folders.
        split (str): ``"train"``, ``"val"`` or ``"test"``.
        split_by (str): ``"subject"`` (default; the part of a folder name
            before the first ``_``) or ``"sequence"``.
        kind (str): ``"mesh"`` or ``"points"`` (see :class:`MeshFolder`).
        splits (dict, optional): ``{"train": [...], "val": [...], "test":
            [...]}``, the subjects or sequence names (per
            :obj:`split_by`) of each split, instead of :func:`folder_split`.
        val_fraction, test_fraction, split_seed: the rule of
            :func:`folder_split` (defaults 0.2, 0.2, 0).
        folder (dict, optional): further keyword arguments of
            :class:`MeshFolder` (``order``, ``backend``, ``voxel_size``,
            ``estimate_normals``, ``cache_dir``, ...).
        pre_transform, pre_filter (callable, optional): applied to every
            sequence before it is cached (part of the cache key).
        **kwargs: forwarded to :class:`FrameSets` (``num_frames``,
            ``target``, ``min_gap``, ``window``, ``transform``, ...).
    """

    def __init__(self, root: str, split: str = "train", split_by: str = "subject",
                 kind: str = "mesh", splits: Optional[Dict[str, Sequence[str]]] = None,
                 val_fraction: float = 0.2, test_fraction: float = 0.2, split_seed: int = 0,
                 folder: Optional[Dict[str, Any]] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None, **kwargs) -> None:
        _check(split, split_by)
        self.folder = MeshFolder(root, kind, pre_transform=pre_transform,
                                 pre_filter=pre_filter, **(folder or {}))
        names = self.folder.names
        unit = subject_of if split_by == "subject" else (lambda name: name)
        if splits is None:
            splits = folder_split(names, split_by, val_fraction, test_fraction, split_seed)
        else:
            splits = _checked_splits(splits, {unit(n) for n in names}, split_by)
        self.splits = {k: list(v) for k, v in splits.items()}
        wanted = set(self.splits[split])
        chosen = [self.folder[i] for i, n in enumerate(names) if unit(n) in wanted]
        if not chosen:
            raise EmptySelectionError(f"The {split!r} split (by {split_by}) of "
                                      f"'{self.folder.root}' is empty; splits: {self.splits}.")
        self.sequences: Sequence[Data] = chosen
        kwargs.setdefault("modality", kind)
        _init_frame_sets(self, chosen, split, split_by, self.splits[split],
                         _defaults(split, kwargs, 256))


def _checked_splits(splits: Dict[str, Sequence[str]], known: set,
                    split_by: str) -> Dict[str, List[str]]:
    which = "subjects" if split_by == "subject" else "sequences"
    if set(splits) != set(SPLITS):
        raise ValueError(f"splits must name exactly {list(SPLITS)}, got {sorted(splits)}.")
    out = {k: [str(n) for n in splits[k]] for k in SPLITS}
    for k in ("train", "test"):
        if not out[k]:
            raise EmptySelectionError(f"splits[{k!r}] is empty; train and test need at least "
                                      f"one of the {which} {sorted(known, key=natural_key)}.")
    seen: Dict[str, str] = {}
    for k in SPLITS:
        unknown = [n for n in out[k] if n not in known]
        if unknown:
            raise ValueError(f"splits[{k!r}] names {which} {unknown} that the folder does not "
                             f"have; it has {sorted(known, key=natural_key)}"
                             + (" (subjects are the folder names up to the first '_')"
                                if split_by == "subject" else "") + ".")
        for n in out[k]:
            if n in seen and seen[n] != k:
                raise ValueError(f"'{n}' is in splits[{seen[n]!r}] and splits[{k!r}]; a "
                                 f"split keeps its {which} apart.")
            seen[n] = k
    return out
