r"""Datasets: Dynamic FAUST, a built-in synthetic stand-in with the same
layout, a user's own folders of meshes and point clouds (:class:`MeshFolder`), and the
frame-ordering sets of Maron et al. (2020) on top of them.

:class:`CachedInMemoryDataset` is the base of the cached datasets (safe,
keyed, atomic processed files); :func:`frames_to_set` prepares frames for a
model exactly as :class:`FrameSets` does."""
from .base import CachedInMemoryDataset
from .dfaust import (FEMALE_SUBJECTS, MALE_SUBJECTS, SEQUENCES, SUBJECTS,
                     DynamicFAUST, EmptySelectionError)
from .fingerprint import UndescribableError, fingerprint
from .folder import FolderFrameSets, MeshFolder, folder_split, subject_of
from .frame_sets import (FEATURES, FrameSets, NoSequenceError, face_to_edge_index,
                         form_features, frames_to_set, normalize_frames, sample_frame_times)
from .mesh_files import (MeshFileError, point_frames, read_mesh_sequence,
                         read_point_sequence, read_sequences)
from .splits import (DFAUST_SPLITS, SYNTHETIC_SPLITS, DFAUSTFrameSets,
                     SyntheticFrameSets, synthetic_subject_split)
from .synthetic import BODIES, MOTIONS, SyntheticBodies, make_sequence
from ._io import default_root

__all__ = [
    "DynamicFAUST", "SyntheticBodies", "FrameSets", "DFAUSTFrameSets",
    "SyntheticFrameSets", "DFAUST_SPLITS", "SYNTHETIC_SPLITS",
    "synthetic_subject_split", "SUBJECTS", "MALE_SUBJECTS", "FEMALE_SUBJECTS",
    "SEQUENCES", "MOTIONS", "BODIES", "make_sequence", "face_to_edge_index",
    "sample_frame_times", "default_root", "frames_to_set", "normalize_frames",
    "form_features", "FEATURES", "CachedInMemoryDataset", "fingerprint",
    "UndescribableError", "EmptySelectionError", "NoSequenceError",
    "read_sequences", "read_mesh_sequence", "read_point_sequence", "point_frames",
    "MeshFileError", "MeshFolder", "FolderFrameSets", "folder_split", "subject_of",
]

# The paper's grid experiments (signals, images, video): dense sets, torch Datasets.
from . import images, signals, video  # noqa: E402
from .images import *  # noqa: E402,F401,F403
from .signals import *  # noqa: E402,F401,F403
from .video import *  # noqa: E402,F401,F403

__all__ += signals.__all__ + images.__all__ + video.__all__

from .csl import CSL, SKIP_LENGTHS, circulant_graph  # noqa: E402  (bags of subgraphs, ESAN)
__all__ += ["CSL", "SKIP_LENGTHS", "circulant_graph"]
from .csl import CSLRelease  # noqa: E402  (expressivity benchmarks read from the user's files)
from .exp import EXP  # noqa: E402
from .sr25 import SR25  # noqa: E402
__all__ += ["CSLRelease", "EXP", "SR25"]
