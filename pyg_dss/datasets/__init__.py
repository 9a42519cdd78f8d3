r"""Datasets: Dynamic FAUST, a built-in synthetic stand-in with the same
layout, and the frame-ordering sets of Maron et al. (2020) on top of both."""
from .dfaust import (FEMALE_SUBJECTS, MALE_SUBJECTS, SEQUENCES, SUBJECTS,
                     DynamicFAUST)
from .frame_sets import FrameSets, face_to_edge_index, sample_frame_times
from .splits import (DFAUST_SPLITS, SYNTHETIC_SPLITS, DFAUSTFrameSets,
                     SyntheticFrameSets, synthetic_subject_split)
from .synthetic import MOTIONS, SyntheticBodies, make_sequence
from ._io import default_root

__all__ = [
    "DynamicFAUST", "SyntheticBodies", "FrameSets", "DFAUSTFrameSets",
    "SyntheticFrameSets", "DFAUST_SPLITS", "SYNTHETIC_SPLITS",
    "synthetic_subject_split", "SUBJECTS", "MALE_SUBJECTS", "FEMALE_SUBJECTS",
    "SEQUENCES", "MOTIONS", "make_sequence", "face_to_edge_index",
    "sample_frame_times", "default_root",
]
from .csl import CSL, SKIP_LENGTHS, circulant_graph  # noqa: E402  (bags of subgraphs, ESAN)
__all__ += ["CSL", "SKIP_LENGTHS", "circulant_graph"]
