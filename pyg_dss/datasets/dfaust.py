r"""Dynamic FAUST registrations, read by PyG's own reader with schema checks,
clear errors for files that must be fetched by hand, and the subject and
sequence names kept on every sequence."""
import os
import warnings
from itertools import product
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.datasets import DynamicFAUST as _PyGDynamicFAUST

from ._io import default_root
from .base import CachedInMemoryDataset

__all__ = ["DynamicFAUST", "EmptySelectionError", "SUBJECTS", "MALE_SUBJECTS", "FEMALE_SUBJECTS",
           "SEQUENCES", "non_finite_frames"]

MALE_SUBJECTS = ("50002", "50007", "50009", "50026", "50027")
FEMALE_SUBJECTS = ("50004", "50020", "50021", "50022", "50025")
SUBJECTS = tuple(sorted(MALE_SUBJECTS + FEMALE_SUBJECTS))
SEQUENCES = tuple(_PyGDynamicFAUST.categories)
NUM_VERTICES = 6890
URL = "https://dfaust.is.tue.mpg.de/"
#: Dataset names a registration file may hold besides 'faces'.
KNOWN_KEYS = frozenset(f"{s}_{c}" for s in SUBJECTS for c in SEQUENCES)


class EmptySelectionError(ValueError):
    """No sequence of the requested subjects and sequences is in the files."""


class DynamicFAUST(CachedInMemoryDataset, _PyGDynamicFAUST):
    r"""The Dynamic FAUST registrations (Bogo et al., CVPR 2017), one
    :class:`~torch_geometric.data.Data` per sequence with ``pos``
    [T, 6890, 3] (float32, metres), ``face`` [3, 13776], ``subject``
    (e.g. ``"50002"``) and ``sequence`` (e.g. ``"chicken_wings"``).

    Reading is done by :class:`torch_geometric.datasets.DynamicFAUST`; this
    class adds:

    * a default :obj:`root` (``default_root("dfaust")``, a per-user cache) and a clear error
      naming the missing files, where to get them and the exact folder
      (``<root>/raw``) when they are absent: the data needs a registration
      at https://dfaust.is.tue.mpg.de/ and cannot be downloaded
      automatically;
    * schema checks before processing, with errors that name the file and
      the sequence: ``faces`` present, of shape [F, 3], integer, with
      indices inside the mesh; every sequence of shape (V, 3, T) with one V
      and floating-point coordinates (float16/32/64, stored as float32;
      integer coordinates are refused); no NaN or inf (the error names the
      frames); datasets that are not ``<subject>_<sequence>`` of a known
      subject and sequence are listed in one warning and ignored;
    * errors listing the valid names for unknown subjects or sequences, and
      naming what the files hold when the selection finds nothing;
    * ``subject`` and ``sequence`` on every item;
    * a processed cache that is safe to share (see
      :class:`~pyg_dss.datasets.base.CachedInMemoryDataset`): keyed by the
      selection, ``pre_transform``, ``pre_filter`` and the raw files, loaded
      with ``weights_only=True`` only, written atomically.

    Memory: processing holds all selected frames twice (read + collate);
    the processed file holds them once, 82.7 kB per frame, and is
    memory-mapped when loaded. See ``datasets/README.md`` for numbers.

    Args:
        root (str, optional): dataset folder; the two HDF5 files go into
            ``<root>/raw`` (default: ``default_root("dfaust")``).
        subjects (list of str, optional): subject ids (default: all ten).
        sequences (list of str, optional): sequence names (default: all).
        transform, pre_transform, pre_filter, force_reload: as in PyG
            (``pre_filter`` sees ``subject`` and ``sequence``).
    """

    raw_url = URL
    cache_version = 2
    pre_filter: Optional[Callable[[Data], bool]]   # PyG's; process() wraps the user's

    def __init__(self, root: Optional[str] = None,
                 subjects: Optional[Sequence[str]] = None,
                 sequences: Optional[Sequence[str]] = None,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None,
                 force_reload: bool = False) -> None:
        subjects = [str(s).lower() for s in (SUBJECTS if subjects is None else subjects)]
        bad = [s for s in subjects if s not in SUBJECTS]
        if bad:
            raise ValueError(f"Unknown DFAUST subject(s) {bad}; valid subjects are "
                             f"{list(SUBJECTS)} (male {list(MALE_SUBJECTS)}, female "
                             f"{list(FEMALE_SUBJECTS)}).")
        sequences = [str(s).lower() for s in (SEQUENCES if sequences is None else sequences)]
        bad = [s for s in sequences if s not in SEQUENCES]
        if bad:
            raise ValueError(f"Unknown DFAUST sequence(s) {bad}; valid sequences are "
                             f"{list(SEQUENCES)}.")
        root = default_root("dfaust") if root is None else root
        super().__init__(os.path.abspath(root), subjects=subjects, categories=sequences,
                         transform=transform, pre_transform=pre_transform,
                         pre_filter=pre_filter, force_reload=force_reload)

    @property
    def processed_file_names(self) -> str:
        # Prefixed: our files carry subject/sequence names, PyG's do not.
        return "dss_" + super().processed_file_names

    def cache_options(self) -> Dict[str, List[str]]:
        return {"subjects": list(self.subjects), "sequences": list(self.categories)}

    def download(self) -> None:
        missing = [f for f in self.raw_file_names
                   if not os.path.isfile(os.path.join(self.raw_dir, f))]
        raise FileNotFoundError(
            f"Dynamic FAUST file(s) not found: {', '.join(missing)}. They cannot be "
            f"downloaded automatically: register and accept the licence at {URL}, "
            f"download the registrations 'registrations_m.hdf5' (male) and "
            f"'registrations_f.hdf5' (female), and put both files into "
            f"'{os.path.abspath(self.raw_dir)}' (see datasets/README.md).")

    def validate_raw(self) -> Dict[tuple, str]:
        r"""Checks the schema of the raw files (from their metadata, nothing
        is read but the faces); returns ``{(subject, sequence): path}`` of
        the selected sequences found, in PyG's processing order."""
        import h5py

        num_vertices = None
        where: Dict[str, str] = {}
        unknown: List[str] = []
        for path in self.raw_paths:
            name = os.path.basename(path)
            try:
                f = h5py.File(path, "r")
            except OSError as e:
                raise ValueError(f"Cannot read '{path}' as HDF5: {e}") from e
            with f:
                if "faces" not in f:
                    raise ValueError(f"'{name}' ({path}) has no 'faces' dataset; a DFAUST "
                                     f"registration file holds 'faces' (F, 3) and one "
                                     f"(6890, 3, T) dataset per '<subject>_<sequence>'.")
                faces = f["faces"]
                if faces.ndim != 2 or faces.shape[1] != 3 or faces.shape[0] == 0:
                    raise ValueError(f"'{name}': 'faces' has shape {faces.shape}, "
                                     f"expected (F, 3).")
                if not np.issubdtype(faces.dtype, np.integer):
                    raise ValueError(f"'{name}' ({path}): 'faces' has dtype {faces.dtype}; face "
                                     "indices must be integers (0-based vertex ids). Store "
                                     "them as int32 or int64.")
                face_values = faces[()]
                fmin, fmax = int(face_values.min()), int(face_values.max())
                for key in f.keys():
                    if key == "faces":
                        continue
                    if key not in KNOWN_KEYS:
                        unknown.append(f"{name}:{key}")
                        continue
                    item = f[key]
                    shape = item.shape
                    if len(shape) != 3 or shape[1] != 3 or shape[2] < 1:
                        raise ValueError(f"'{name}': sequence '{key}' has shape {shape}, "
                                         f"expected (num_vertices, 3, num_frames) = "
                                         f"({NUM_VERTICES}, 3, T).")
                    if not np.issubdtype(item.dtype, np.floating):
                        raise ValueError(
                            f"'{name}' ({path}): sequence '{key}' has {item.dtype} "
                            "coordinates; vertex positions must be floating point (metres; "
                            "float16, float32 or float64). Integer coordinates are refused "
                            "rather than promoted (a scaled or quantised file would give a "
                            "body of the wrong size): convert them to float32 in metres.")
                    if num_vertices is None:
                        num_vertices = shape[0]
                    if shape[0] != num_vertices:
                        raise ValueError(f"'{name}': sequence '{key}' has {shape[0]} "
                                         f"vertices, other sequences have {num_vertices}; "
                                         f"expected shape ({num_vertices}, 3, T).")
                    where.setdefault(key, path)  # PyG reads the male file first
                if num_vertices is not None and (fmin < 0 or fmax >= num_vertices):
                    raise ValueError(f"'{name}': 'faces' indices span [{fmin}, {fmax}] "
                                     f"but sequences have {num_vertices} vertices "
                                     f"(0-based indices expected).")
        if unknown:
            warnings.warn(
                f"Dynamic FAUST: {len(unknown)} dataset(s) in the raw files are not "
                f"'<subject>_<sequence>' of a known subject and sequence and are ignored: "
                f"{', '.join(unknown)}. Known subjects: {', '.join(SUBJECTS)}; sequences: "
                f"{', '.join(SEQUENCES)}.", stacklevel=4)
        found = {(s, c): where[f"{s}_{c}"] for s, c in product(self.subjects, self.categories)
                 if f"{s}_{c}" in where}
        if not found:
            present = sorted({k.split("_", 1)[0] for k in where})
            raise EmptySelectionError(
                f"No sequence of subjects {self.subjects} and sequences "
                f"{_names(self.categories)} in {self.raw_paths}; the files hold "
                f"{len(where)} sequence(s) of subjects {present}.")
        return found

    def process(self) -> None:
        found = self.validate_raw()
        # PyG's reader yields the sequences in `found` order and hands each
        # to pre_filter before anything else: name, check and convert them
        # there, then ask the user's filter.
        user_filter = self.pre_filter
        names = iter(found.items())

        def check_then_filter(data: Data) -> bool:
            (data.subject, data.sequence), path = next(names)
            keep = True if user_filter is None else bool(user_filter(data))
            if keep:
                data.pos = _checked_positions(data.pos, path, f"{data.subject}_{data.sequence}")
            return keep

        self.pre_filter = check_then_filter
        try:
            super().process()
        finally:
            self.pre_filter = user_filter

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({len(self)}, subjects={self.subjects}, "
                f"sequences={len(self.categories)})")


def _checked_positions(pos: torch.Tensor, path: str, key: str) -> torch.Tensor:
    r"""float32 positions [T, V, 3]; NaN / inf refused, naming the frames."""
    bad = non_finite_frames(pos)
    if bad:
        shown = ", ".join(map(str, bad[:20])) + (", ..." if len(bad) > 20 else "")
        subject, sequence = key.split("_", 1)
        raise ValueError(
            f"'{os.path.basename(path)}' ({path}): sequence '{key}' has NaN or inf "
            f"coordinates in {len(bad)} of {pos.size(0)} frame(s): frame {shown} (0-based). "
            "pyg-dss does not cache them: one such frame in a training batch turns the loss, "
            "the gradients and the BatchNorm statistics NaN for good. Fix or remove those "
            "frames in the file, or skip the sequence with pre_filter=lambda d: "
            f"(d.subject, d.sequence) != ({subject!r}, {sequence!r}).")
    return pos.float()


def _names(values: Sequence[str], limit: int = 6) -> str:
    values = list(values)
    if len(values) <= limit:
        return str(values)
    return f"{values[:limit]} (+{len(values) - limit} more)"


def non_finite_frames(pos: Tensor) -> List[int]:
    r"""Indices of the frames of :obj:`pos` [T, ...] holding NaN or inf."""
    if bool(torch.isfinite(pos.sum())):  # one cheap pass, no mask (overflow: full check)
        return []
    return (~torch.isfinite(pos)).flatten(1).any(1).nonzero().flatten().tolist()
