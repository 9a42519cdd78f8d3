r"""Dynamic FAUST registrations, read by PyG's own reader with schema checks,
clear errors for files that must be fetched by hand, and the subject and
sequence names kept on every sequence."""
import os
from itertools import product
from typing import Callable, List, Optional, Sequence

from torch_geometric.data import Data
from torch_geometric.datasets import DynamicFAUST as _PyGDynamicFAUST

from ._io import AtomicSaveMixin, default_root

MALE_SUBJECTS = ("50002", "50007", "50009", "50026", "50027")
FEMALE_SUBJECTS = ("50004", "50020", "50021", "50022", "50025")
SUBJECTS = tuple(sorted(MALE_SUBJECTS + FEMALE_SUBJECTS))
SEQUENCES = tuple(_PyGDynamicFAUST.categories)
NUM_VERTICES = 6890
URL = "https://dfaust.is.tue.mpg.de/"


class DynamicFAUST(AtomicSaveMixin, _PyGDynamicFAUST):
    r"""The Dynamic FAUST registrations (Bogo et al., CVPR 2017), one
    :class:`~torch_geometric.data.Data` per sequence with ``pos``
    [T, 6890, 3] (float32, metres), ``face`` [3, 13776], ``subject``
    (e.g. ``"50002"``) and ``sequence`` (e.g. ``"chicken_wings"``).

    Reading is done by :class:`torch_geometric.datasets.DynamicFAUST`; this
    class adds:

    * a default :obj:`root` (``<repo>/datasets/dfaust``) and a clear error
      naming the missing files, where to get them and the exact folder
      (``<root>/raw``) when they are absent: the data needs a registration
      at https://dfaust.is.tue.mpg.de/ and cannot be downloaded
      automatically;
    * schema checks before processing (``faces`` present and of shape
      [F, 3] with indices inside the mesh, every sequence of shape
      (V, 3, T) with V the mesh's vertex count) with errors that name the
      file and the sequence;
    * errors listing the valid names for unknown subjects or sequences;
    * ``subject`` and ``sequence`` on every item, and an atomic save of the
      processed file.

    Memory: processing holds all selected frames twice (read + collate);
    the processed file and the loaded dataset hold them once, 82.7 kB per
    frame. See ``datasets/README.md`` for numbers measured at full size.

    Args:
        root (str, optional): dataset folder; the two HDF5 files go into
            ``<root>/raw`` (default: ``<repo>/datasets/dfaust``).
        subjects (list of str, optional): subject ids (default: all ten).
        sequences (list of str, optional): sequence names (default: all).
        transform, pre_transform, pre_filter, force_reload: as in PyG.
    """

    raw_url = URL

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

    def download(self) -> None:
        missing = [f for f in self.raw_file_names
                   if not os.path.isfile(os.path.join(self.raw_dir, f))]
        raise FileNotFoundError(
            f"Dynamic FAUST file(s) not found: {', '.join(missing)}. They cannot be "
            f"downloaded automatically: register and accept the licence at {URL}, "
            f"download the registrations 'registrations_m.hdf5' (male) and "
            f"'registrations_f.hdf5' (female), and put both files into "
            f"'{os.path.abspath(self.raw_dir)}' (see datasets/README.md).")

    def validate_raw(self) -> List[tuple]:
        r"""Checks the schema of the raw files; returns the (subject,
        sequence) pairs found, in PyG's processing order."""
        import h5py

        num_vertices = None
        keys = {}
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
                fmax = int(faces[()].max())
                fmin = int(faces[()].min())
                for key in f.keys():
                    if key == "faces":
                        continue
                    shape = f[key].shape
                    if len(shape) != 3 or shape[1] != 3 or shape[2] < 1:
                        raise ValueError(f"'{name}': sequence '{key}' has shape {shape}, "
                                         f"expected (num_vertices, 3, num_frames) = "
                                         f"({NUM_VERTICES}, 3, T).")
                    if num_vertices is None:
                        num_vertices = shape[0]
                    if shape[0] != num_vertices:
                        raise ValueError(f"'{name}': sequence '{key}' has {shape[0]} "
                                         f"vertices, other sequences have {num_vertices}; "
                                         f"expected shape ({num_vertices}, 3, T).")
                    keys[key] = name
                if num_vertices is not None and (fmin < 0 or fmax >= num_vertices):
                    raise ValueError(f"'{name}': 'faces' indices span [{fmin}, {fmax}] "
                                     f"but sequences have {num_vertices} vertices "
                                     f"(0-based indices expected).")
        found = [(s, c) for s, c in product(self.subjects, self.categories)
                 if f"{s}_{c}" in keys]
        if not found:
            raise ValueError(f"No sequence of subjects {self.subjects} and sequences "
                             f"{self.categories} in {self.raw_paths}.")
        return found

    def process(self) -> None:
        found = self.validate_raw()
        # PyG's reader yields the sequences in `found` order and hands each
        # to pre_filter before anything else: name them on the way.
        user_filter = self.pre_filter
        names = iter(found)

        def name_then_filter(data: Data) -> bool:
            data.subject, data.sequence = next(names)
            return True if user_filter is None else bool(user_filter(data))

        self.pre_filter = name_then_filter
        try:
            super().process()
        finally:
            self.pre_filter = user_filter

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({len(self)}, subjects={self.subjects}, "
                f"sequences={len(self.categories)})")
