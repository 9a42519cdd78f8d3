r"""Datasets: Dynamic FAUST, a built-in synthetic stand-in with the same
layout, a user's own folders of meshes and point clouds, and the
frame-ordering sets of Maron et al. (2020) on top of them."""
from .dfaust import (FEMALE_SUBJECTS, MALE_SUBJECTS, SEQUENCES, SUBJECTS,
                     DynamicFAUST)
from .mesh_files import (MeshFileError, point_frames, read_mesh_sequence,
                         read_point_sequence, read_sequences)
from .frame_sets import FrameSets, face_to_edge_index, sample_frame_times
from .splits import (DFAUST_SPLITS, SYNTHETIC_SPLITS, DFAUSTFrameSets,
                     SyntheticFrameSets, synthetic_subject_split)
from .synthetic import BODIES, MOTIONS, SyntheticBodies, make_sequence
from ._io import default_root

__all__ = [
    "DynamicFAUST", "SyntheticBodies", "FrameSets", "DFAUSTFrameSets",
    "SyntheticFrameSets", "DFAUST_SPLITS", "SYNTHETIC_SPLITS",
    "synthetic_subject_split", "SUBJECTS", "MALE_SUBJECTS", "FEMALE_SUBJECTS",
    "SEQUENCES", "MOTIONS", "BODIES", "make_sequence", "face_to_edge_index",
    "sample_frame_times", "default_root",
    "read_sequences", "read_mesh_sequence", "read_point_sequence", "point_frames",
    "MeshFileError",
]
