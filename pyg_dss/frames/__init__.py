r"""The frame-ordering task of Maron et al. (2020): draw n frames of one
sequence of meshes or point clouds, shuffle them, and ask which came first
(or which is the middle one).

* datasets of such sets: :class:`FrameSets` on any collection of sequences,
  :class:`DFAUSTFrameSets` and :class:`SyntheticFrameSets` with fixed splits,
  :class:`FolderFrameSets` on a user's own folder;
* :func:`frames_to_set` prepares frames for a model exactly as the datasets
  do, from the :class:`FrameInputs` a checkpoint keeps (:meth:`FrameSets.inputs`);
* a trained model on new frames: :func:`predict_first_frame`;
* a trained model on a dataset: :func:`target_probabilities`,
  :func:`worst_sets`, :func:`plot_predictions`; :func:`target_order` is the
  truth Kendall's tau compares its scores with.

May import the core (:mod:`pyg_dss.data`, :mod:`pyg_dss.nn`, ...),
:mod:`pyg_dss.datasets`, :mod:`pyg_dss.io` and :mod:`pyg_dss.plot`; nothing
outside :mod:`pyg_dss.frames` imports it but the command line.
"""
from .evaluate import plot_predictions, set_frames, target_probabilities, worst_sets
from .folder import FolderFrameSets, folder_split, subject_of
from .frame_sets import (FEATURES, MODALITIES, NORMALIZE, TARGETS, FrameSets, NoSequenceError,
                         face_to_edge_index, form_features, frames_to_set, normalize_frames,
                         sample_frame_times, target_order)
from .inputs import FrameInputs, InputsError
from .predict import (Frames, Prediction, PredictionError, check_frames, load_predictor,
                      plot_prediction, predict_first_frame, read_frames)
from .splits import (DFAUST_SPLITS, SYNTHETIC_SPLITS, DFAUSTFrameSets, SyntheticFrameSets,
                     synthetic_subject_split)

__all__ = [
    "FrameSets", "DFAUSTFrameSets", "SyntheticFrameSets", "FolderFrameSets",
    "DFAUST_SPLITS", "SYNTHETIC_SPLITS", "synthetic_subject_split", "folder_split", "subject_of",
    "TARGETS", "MODALITIES", "NORMALIZE", "FEATURES", "NoSequenceError",
    "frames_to_set", "normalize_frames", "form_features", "face_to_edge_index",
    "sample_frame_times", "target_order",
    "FrameInputs", "InputsError",
    "Frames", "Prediction", "PredictionError", "read_frames", "check_frames", "load_predictor",
    "predict_first_frame", "plot_prediction",
    "target_probabilities", "worst_sets", "plot_predictions", "set_frames",
]
