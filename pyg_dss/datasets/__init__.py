r"""Datasets: Dynamic FAUST, a built-in synthetic stand-in with the same
layout, a user's own folders of meshes and point clouds (:class:`MeshFolder`,
read by :func:`read_sequences`), the paper's grid sets, CSL and cached bags
of subgraphs (:class:`SubgraphBags`). The frame-ordering sets on top of the mesh datasets live in :mod:`pyg_dss.frames`.

:class:`CachedInMemoryDataset` is the base of the cached datasets (safe,
keyed, atomic processed files).

May import the core (:mod:`pyg_dss.data`, :mod:`pyg_dss.io`,
:mod:`pyg_dss.transforms`), never :mod:`pyg_dss.frames`."""
from .bags import SubgraphBags
from ._io import default_root
from .base import CachedInMemoryDataset
from .dfaust import SEQUENCES, SUBJECTS, DynamicFAUST, EmptySelectionError
from .fingerprint import UndescribableError, fingerprint
from .folder import MeshFolder
from .mesh_files import (MeshFileError, point_frames, read_mesh_sequence, read_point_sequence,
                         read_sequences)
from .synthetic import BODIES, MOTIONS, SyntheticBodies, make_sequence

__all__ = [
    "DynamicFAUST", "SyntheticBodies", "MeshFolder", "CachedInMemoryDataset",
    "SUBJECTS", "SEQUENCES", "MOTIONS", "BODIES", "make_sequence",
    "fingerprint", "UndescribableError", "EmptySelectionError",
    "read_sequences", "read_mesh_sequence", "read_point_sequence", "point_frames",
    "MeshFileError", "SubgraphBags", "default_root",
]

# The paper's grid experiments (signals, images, video): dense sets, torch Datasets.
from . import grid  # noqa: E402
from .grid import *  # noqa: E402,F401,F403

__all__ += grid.__all__

from .csl import CSL, SKIP_LENGTHS, circulant_graph  # noqa: E402  (bags of subgraphs, ESAN)
__all__ += ["CSL", "SKIP_LENGTHS", "circulant_graph"]
from .csl import CSLRelease  # noqa: E402  (expressivity benchmarks read from the user's files)
from .exp import EXP  # noqa: E402
from .sr25 import SR25  # noqa: E402
__all__ += ["CSLRelease", "EXP", "SR25"]
from .zinc_bags import ZINCBags  # noqa: E402  (PyG's ZINC as bags of subgraphs)
__all__ += ["ZINCBags"]
