r"""Predict with a trained frame-ordering model on a user's own files: which
of these frames came first (or is the middle one)?

A checkpoint written by :func:`pyg_dss.checkpoint.save_model` with a ``data``
entry (as ``examples/faust_first_frame.py`` writes its ``best_model.pt``)
holds everything needed: the model's class, configuration and weights, and
how its inputs were prepared. :func:`predict_first_frame` reads the frames
(:func:`read_frames`), prepares them with
:func:`pyg_dss.datasets.frames_to_set` under those options, exactly as the
training sets were, and returns a :class:`Prediction`; the command line is
``python -m pyg_dss predict CHECKPOINT PATHS...`` (:mod:`pyg_dss.__main__`).

The ``data`` entry read here (a dict of plain values)::

    modality   "mesh" (frames share one topology, GCN on its edges) or "points"
    normalize  None | "frame" | "set"      (see normalize_frames)
    scale      bool
    features   ["pos"]                     (node attributes that form x)
    target     "first" | "middle"
    set_size   frames per training set     (optional: a note when it differs)
    knn        k of the KNNSetGraph        (needed by base="pointnet-knn")

``FrameSets.input_options`` gives the first four; the example adds the rest.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor
from torch.nn import Module

from pyg_dss.checkpoint import load_model
from pyg_dss.frames.frame_sets import (MODALITIES, NORMALIZE, TARGETS, face_to_edge_index,
                                       frames_to_set, target_order)
from pyg_dss.datasets.mesh_files import (MESH_EXTENSIONS, POINT_EXTENSIONS, MeshFileError,
                                         read_mesh, read_points, topology_difference)
from pyg_dss.io import atomic_write
from pyg_dss.loader import SetDataLoader
from pyg_dss.metrics import kendall_tau, set_accuracy
from pyg_dss.nn.heads import set_argmax
from pyg_dss.transforms import KNNSetGraph

__all__ = ["PredictionError", "Frames", "Prediction", "read_frames", "input_options",
           "prepare_set", "load_predictor", "predict_first_frame", "plot_prediction"]

#: Keys of a checkpoint's ``data`` entry that prediction cannot do without.
REQUIRED_DATA = ("modality", "normalize", "scale", "features", "target")
#: Model classes whose output is one log-probability per element of a set,
#: for sets of any size (every aggregation is over the set, whatever n).
SET_MODELS = ("DSSNet",)
SAVE_HINT = ("re-save the model with pyg_dss.checkpoint.save_model(path, model, data={...}), "
             "data being the training set's input_options plus 'target' (and 'knn' for "
             "base='pointnet-knn'), as examples/faust_first_frame.py does")


class PredictionError(ValueError):
    """A checkpoint, frame files or options that cannot give a trustworthy
    prediction; the message names what is wrong and how to fix it."""


@dataclass
class Frames:
    r"""Frames read from files, in the order given: ``pos`` [n, V, 3] for
    frames of one mesh (``faces`` [F, 3], shared) or a list of [V_k, 3] point
    clouds (``faces`` is :obj:`None`); ``files`` the paths."""
    pos: Union[Tensor, List[Tensor]]
    faces: Optional[Tensor]
    files: List[str]

    def __len__(self) -> int:
        return len(self.files)


@dataclass
class Prediction:
    r"""The model's answer for one set of frames, in the order given.

    Attributes:
        files: the frames' names (paths).
        target: ``"first"`` or ``"middle"``.
        probabilities: per frame, the probability of being the target [n].
        predicted: index of the most probable frame.
        ranking: frame indices by decreasing probability; for ``"first"`` the
            predicted time order (earliest first).
        correct, kendall_tau: only when the frames were given in their true
            time order: whether :attr:`predicted` is the true target, and
            Kendall's tau between the probabilities and that order.
        notes: remarks on the inputs (e.g. a set size other than training's).
    """
    files: List[str]
    target: str
    probabilities: Tensor
    predicted: int
    ranking: List[int]
    correct: Optional[bool] = None
    kendall_tau: Optional[float] = None
    notes: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        """Plain data (for JSON): probabilities at full float precision."""
        return {"target": self.target, "files": list(self.files),
                "probabilities": [float(p) for p in self.probabilities],
                "predicted": self.predicted, "predicted_file": self.files[self.predicted],
                "ranking": list(self.ranking),
                "ranking_files": [self.files[k] for k in self.ranking],
                "correct": self.correct, "kendall_tau": self.kendall_tau,
                "notes": list(self.notes)}

    def __str__(self) -> str:
        width = max(len(f) for f in self.files)
        lines = [f"  #   p({self.target})  file"]
        for k, (name, p) in enumerate(zip(self.files, self.probabilities.tolist(), strict=True)):
            mark = f"  <- predicted {self.target}" if k == self.predicted else ""
            lines.append(f"{k:>3}   {p:.4f}    {name:<{width}}{mark}")
        what = ("predicted order (earliest first)" if self.target == "first" else
                "ranked by probability of being the middle frame")
        lines.append(f"{what}: " + ", ".join(f"#{k}" for k in self.ranking))
        if self.correct is not None:
            lines.append(f"given in time order: the prediction is "
                         f"{'correct' if self.correct else 'wrong'}, Kendall tau "
                         f"{self.kendall_tau:.3f}")
        return "\n".join(lines + [f"note: {n}" for n in self.notes])


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
def _existing(path: str) -> str:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Frame file '{path}' does not exist (or is not a file).")
    return path


def read_frames(paths: Sequence[str], modality: str = "mesh",
                **point_options: Any) -> Frames:
    r"""Reads every path as one frame, in the order given.

    ``modality="mesh"``: each file is a mesh (``.obj`` / ``.ply`` / ``.off``,
    :func:`~pyg_dss.datasets.mesh_files.read_mesh`); every frame must have
    the vertex count and the triangles of the first (frames of one
    registered mesh), else the error names the file. ``modality="points"``:
    point clouds (``.ply`` / ``.xyz`` / ``.pcd``, or the vertices of a mesh
    file; :func:`~pyg_dss.datasets.mesh_files.read_points`, which takes
    :obj:`point_options`).
    """
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}.")
    paths = [_existing(p) for p in paths]
    if len(paths) < 2:
        raise PredictionError(f"A set needs at least 2 frames to order; got {len(paths)} "
                              f"file(s). Give every frame of the set as one path.")
    if modality == "points":
        pos = [torch.from_numpy(read_points(p, **point_options)[0]) for p in paths]
        return Frames(pos, None, paths)
    if point_options:
        raise ValueError(f"{sorted(point_options)} only apply to modality='points'.")
    vertices, faces = [], None
    for path in paths:
        ext = os.path.splitext(path)[1].lower()
        if ext in POINT_EXTENSIONS and ext not in MESH_EXTENSIONS:
            raise PredictionError(_points_for_mesh_model(path))
        try:
            v, f = read_mesh(path)
        except MeshFileError as e:
            if "holds no faces" in str(e):
                raise PredictionError(_points_for_mesh_model(path)) from e
            raise
        if faces is None:
            faces = f
        else:
            why = topology_difference(v, f, vertices[0], faces, paths[0])
            if why:
                raise PredictionError(f"'{path}' {why}: the frames of a set for a mesh model "
                                      f"must be frames of one registered mesh (same vertices "
                                      f"and triangles).")
        vertices.append(v)
    return Frames(torch.from_numpy(np.stack(vertices)), torch.from_numpy(faces), paths)


def _points_for_mesh_model(path: str) -> str:
    return (f"'{path}' is a point cloud (no triangles), but this model was trained on meshes "
            f"(modality 'mesh': its layers run on the mesh edges). Give it mesh files "
            f"(.obj, .ply, .off with faces), or use a model trained on points "
            f"(examples/faust_first_frame.py --modality points).")


# ---------------------------------------------------------------------------
# Inputs as in training
# ---------------------------------------------------------------------------
def input_options(checkpoint: Dict[str, Any], path: str = "checkpoint") -> Dict[str, Any]:
    r"""The checked ``data`` entry of a loaded checkpoint: how the model's
    inputs were prepared (see the module's docstring)."""
    data = checkpoint.get("data") if isinstance(checkpoint, dict) else None
    if not isinstance(data, dict):
        raise PredictionError(f"'{path}' has no 'data' entry saying how the model's inputs "
                              f"were prepared (modality, normalize, scale, features, "
                              f"target); {SAVE_HINT}.")
    missing = [k for k in REQUIRED_DATA if k not in data]
    if missing:
        raise PredictionError(f"The 'data' entry of '{path}' lacks {missing}; {SAVE_HINT}.")
    checks = [("modality", MODALITIES), ("normalize", NORMALIZE), ("target", TARGETS)]
    for key, allowed in checks:
        if data[key] not in allowed:
            raise PredictionError(f"The 'data' entry of '{path}' has {key}={data[key]!r}; "
                                  f"this version knows {allowed}.")
    features = data["features"]
    if features is None or list(features) != ["pos"]:
        # features=None means a training transform formed x; other features
        # (normals, ...) come from readers this command does not run.
        raise PredictionError(f"'{path}' was trained with features={features!r}; prediction "
                              f"from files forms x from the coordinates only (['pos']).")
    return dict(data)


def _knn(model: Module, data: Dict[str, Any], path: str) -> Optional[int]:
    if getattr(model, "base_name", None) != "pointnet-knn":
        return None
    k = data.get("knn")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise PredictionError(f"The model of '{path}' has base 'pointnet-knn', which needs the "
                              f"k of the k-NN graph it was trained with, but its 'data' entry "
                              f"has knn={k!r}; re-save it with data={{..., 'knn': k}}.")
    return k


def prepare_set(frames: Frames, data: Dict[str, Any], knn: Optional[int] = None):
    r"""The :class:`~pyg_dss.data.SetData` a model trained with :obj:`data`
    sees for :obj:`frames`: :func:`~pyg_dss.datasets.frames_to_set` with the
    training options (mesh edges for ``modality="mesh"``, none for points;
    the k-NN graph of :class:`~pyg_dss.transforms.KNNSetGraph` when
    :obj:`knn` is given)."""
    if data["modality"] == "mesh":
        if frames.faces is None:
            raise PredictionError(_points_for_mesh_model(frames.files[0]))
        pos = frames.pos
        edge_index = face_to_edge_index(frames.faces.t().contiguous(), pos.size(1))
    elif not data.get("corresponded", True):
        # Scans without correspondence (FolderFrameSets(kind="points")): frames
        # may differ in size, the set shares through a one-vertex domain.
        pos, edge_index = list(frames.pos), None
    else:
        sizes = [len(p) for p in frames.pos]
        if len(set(sizes)) > 1:
            k = next(i for i, s in enumerate(sizes) if s != sizes[0])
            raise PredictionError(
                f"'{frames.files[k]}' has {sizes[k]} points, '{frames.files[0]}' has "
                f"{sizes[0]}: this model was trained on frames whose point i is the same "
                f"surface point in every frame (corresponded points, aggregated per point "
                f"over the set), so every frame needs the same points in the same order.")
        pos, edge_index = torch.stack(list(frames.pos)), None
    return frames_to_set(pos, edge_index, normalize=data["normalize"], scale=data["scale"],
                         features=data["features"],
                         corresponded=bool(data.get("corresponded", True)),
                         transform=None if knn is None else KNNSetGraph(knn))


# ---------------------------------------------------------------------------
# Predicting
# ---------------------------------------------------------------------------
def _device(device: Union[str, torch.device, None]) -> torch.device:
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except RuntimeError:
        raise PredictionError(f"Unknown device {device!r}; use 'auto', 'cpu', 'cuda' or "
                              f"'cuda:N'.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PredictionError("device 'cuda' was asked for, but torch sees no CUDA device "
                              "(use 'auto' or 'cpu').")
    return device


def load_predictor(model_or_checkpoint: Union[str, os.PathLike, Module],
                   data: Optional[Dict[str, Any]] = None) -> Tuple[Module, Dict[str, Any], str]:
    r"""``(model, data, name)``: the model of a checkpoint path (loaded
    safely) or the model given, with the checked input options (:obj:`data`,
    else the checkpoint's ``data`` entry) and a name for messages."""
    if isinstance(model_or_checkpoint, Module):
        if data is None:
            raise PredictionError("A model object needs data={...}: how its inputs were "
                                  "prepared (the training set's input_options plus 'target').")
        model, path = model_or_checkpoint, f"{type(model_or_checkpoint).__name__} model"
        data = input_options({"data": data}, path)
    else:
        path = os.fspath(model_or_checkpoint)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Checkpoint '{path}' does not exist (or is not a file).")
        model, checkpoint = load_model(path)
        data = input_options(checkpoint if data is None else {"data": data}, path)
    if type(model).__name__ not in SET_MODELS:
        raise PredictionError(f"'{path}' holds a {type(model).__name__}; frame-ordering "
                              f"prediction serves models that score the elements of a set "
                              f"({', '.join(SET_MODELS)}).")
    return model, data, path


@torch.no_grad()
def predict_first_frame(model_or_checkpoint: Union[str, os.PathLike, Module],
                        frames: Union[Frames, Sequence[str]],
                        data: Optional[Dict[str, Any]] = None,
                        device: Union[str, torch.device, None] = "auto",
                        in_time_order: bool = False) -> Prediction:
    r"""Which of :obj:`frames` is the first (or the middle one, per the
    checkpoint's ``target``)?

    Args:
        model_or_checkpoint: a checkpoint path (loaded safely with
            :func:`~pyg_dss.checkpoint.load_model`, ``data`` from it) or a
            model (then :obj:`data` is required).
        frames: a :class:`Frames` or a list of paths, one frame each
            (read by :func:`read_frames` with the checkpoint's modality).
        data: how inputs are prepared (overrides the checkpoint's entry).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
        in_time_order: the frames are given in their true time order: also
            report whether the prediction is right and Kendall's tau.

    The model runs in eval mode on one set; its output must be
    log-probabilities over the set's elements (checked).
    """
    model, data, path = load_predictor(model_or_checkpoint, data)
    knn = _knn(model, data, path)
    if not isinstance(frames, Frames):
        frames = read_frames(frames, data["modality"])
    target = data["target"]
    notes = []
    trained = data.get("set_size")
    if trained is not None and int(trained) != len(frames):
        notes.append(f"the model was trained on sets of {int(trained)} frames and sees "
                     f"{len(frames)} here; {type(model).__name__} takes sets of any size, but "
                     f"its accuracy was measured at {int(trained)}.")
    device = _device(device)
    sets = prepare_set(frames, data, knn)
    batch = next(iter(SetDataLoader([sets], batch_size=1))).to(device)
    was_training = model.training
    model.to(device).eval()
    try:
        log_probs = model(batch).float()
    finally:
        model.train(was_training)
    n = len(frames)
    if log_probs.shape != (n,) or abs(float(torch.logsumexp(log_probs, 0))) > 1e-3:
        raise PredictionError(f"The model of '{path}' did not return log-probabilities over "
                              f"the {n} frames (got shape {list(log_probs.shape)}); prediction "
                              f"needs a set-scoring model such as DSSNet.")
    prob = log_probs.exp().cpu()
    predicted = int(set_argmax(log_probs, batch))
    # stable: ties keep the order given
    ranking = sorted(range(n), key=lambda k: (-float(prob[k]), k))
    correct = tau = None
    if in_time_order:
        batch.rank = torch.arange(n, device=device)
        true = 0 if target == "first" else n // 2
        correct = bool(set_accuracy(log_probs, batch, torch.tensor([true], device=device)))
        tau = float(kendall_tau(log_probs, target_order(batch, target), batch.element_set))
    return Prediction(files=list(frames.files), target=target, probabilities=prob,
                      predicted=predicted, ranking=ranking, correct=correct,
                      kendall_tau=tau, notes=notes)


def plot_prediction(prediction: Prediction, frames: Frames, path: str, **kwargs: Any) -> None:
    r"""Writes (atomically) the picture of the set to :obj:`path` (PNG) with
    :func:`pyg_dss.plot.plot_set`: frames in the order given, the predicted
    one boxed, each with its probability; the true target and order too
    when the prediction was made ``in_time_order``. Extra keyword arguments
    go to :func:`~pyg_dss.plot.plot_set`."""
    from pyg_dss.plot.frames import _pyplot, plot_set

    n = len(frames)
    known = prediction.correct is not None
    true = (0 if prediction.target == "first" else n // 2) if known else None
    names = "   ".join(f"#{k} {os.path.basename(f)}" for k, f in enumerate(frames.files))
    fig = plot_set(frames.pos, frames.faces, prediction.probabilities, true=true,
                   rank=list(range(n)) if known else None, order="shown",
                   target=prediction.target, title=names, **kwargs)
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=kwargs.get("dpi", 110)))
    _pyplot().close(fig)
