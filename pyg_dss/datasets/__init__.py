r"""Datasets: Dynamic FAUST, a built-in synthetic stand-in with the same
layout, a user's own folders of meshes and point clouds (:class:`MeshFolder`,
read by :func:`read_sequences`), the paper's grid sets, CSL and cached bags
of subgraphs (:class:`SubgraphBags`). The frame-ordering sets on top of the mesh
datasets live in :mod:`pyg_dss.frames`.

:class:`CachedInMemoryDataset` is the base of the cached datasets (safe,
keyed, atomic processed files).

May import the core (:mod:`pyg_dss.data`, :mod:`pyg_dss.io`,
:mod:`pyg_dss.transforms`), never :mod:`pyg_dss.frames`."""
from . import grid
from ._io import default_root
from .bags import SubgraphBags
from .base import CachedInMemoryDataset
from .csl import CSL, SKIP_LENGTHS, CSLRelease, circulant_graph
from .dfaust import SEQUENCES, SUBJECTS, DynamicFAUST, EmptySelectionError
from .exp import EXP
from .fingerprint import UndescribableError, fingerprint
from .folder import MeshFolder
# the paper's grid experiments (signals, images, video): dense sets, torch Datasets
from .grid import *  # noqa: F403  (re-exports grid.__all__, listed below)
from .mesh_files import (MeshFileError, point_frames, read_mesh_sequence, read_point_sequence,
                         read_sequences)
from .sr25 import SR25
from .synthetic import BODIES, MOTIONS, SyntheticBodies, make_sequence
from .zinc_bags import ZINCBags

__all__ = [
    "DynamicFAUST", "SyntheticBodies", "MeshFolder", "CachedInMemoryDataset",
    "SUBJECTS", "SEQUENCES", "MOTIONS", "BODIES", "make_sequence",
    "fingerprint", "UndescribableError", "EmptySelectionError",
    "read_sequences", "read_mesh_sequence", "read_point_sequence", "point_frames",
    "MeshFileError", "SubgraphBags", "default_root",
    # bags of subgraphs (ESAN); the expressivity benchmarks read from the user's files
    "CSL", "SKIP_LENGTHS", "circulant_graph", "CSLRelease", "EXP", "SR25", "ZINCBags",
    *grid.__all__,
]
