r"""Frame-ordering sets from a user's own folder of mesh or point-cloud
sequences (:class:`~pyg_dss.datasets.MeshFolder`).

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

from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np
from torch_geometric.data import Data

from pyg_dss.datasets.dfaust import EmptySelectionError
from pyg_dss.datasets.folder import MeshFolder
from pyg_dss.datasets.mesh_files import natural_key

from .frame_sets import FrameSets
from .splits import SPLIT_BY, SPLITS, _check, _defaults, _init_frame_sets

__all__ = ["FolderFrameSets", "folder_split", "subject_of"]


def subject_of(sequence: str) -> str:
    r"""The subject of a sequence folder name: the part before the first
    ``_`` (``"50002_chicken_wings"`` -> ``"50002"``); a name without ``_`` is
    its own subject."""
    return sequence.split("_", 1)[0]


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
        chosen_splits = (folder_split(names, split_by, val_fraction, test_fraction, split_seed)
                         if splits is None else
                         _checked_splits(splits, {unit(n) for n in names}, split_by))
        self.splits = {k: list(v) for k, v in chosen_splits.items()}
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
