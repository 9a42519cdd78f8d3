r"""Predict with a trained frame-ordering model on a user's own files: which
of these frames came first (or is the middle one)?

A checkpoint written by :func:`pyg_dss.checkpoint.save_model` with a ``data``
entry (:meth:`FrameSets.inputs(...).to_dict()
<pyg_dss.frames.FrameSets.inputs>`, a :class:`~pyg_dss.frames.FrameInputs`)
holds everything needed: the model's class, configuration and weights, how
its inputs were prepared, and what it saw in training.
:func:`predict_first_frame` reads the frames (:func:`read_frames`), refuses
what the model cannot judge (frames of another mesh; frames in other units
when the model did not normalise the scale; non-finite weights), prepares
them with :func:`pyg_dss.frames.frames_to_set` exactly as the training sets
were, and returns a :class:`Prediction`; the command line is
``python -m pyg_dss predict CHECKPOINT PATHS...`` (:mod:`pyg_dss.__main__`).
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
from pyg_dss.frames.frame_sets import MODALITIES, face_to_edge_index, frames_to_set, target_order
from pyg_dss.frames.inputs import FrameInputs, InputsError, topology_fingerprint
from pyg_dss.datasets.mesh_files import (MESH_EXTENSIONS, POINT_EXTENSIONS, MeshFileError,
                                         read_mesh, read_points, topology_difference)
from pyg_dss.io import atomic_write
from pyg_dss.loader import SetDataLoader
from pyg_dss.metrics import kendall_tau, set_accuracy
from pyg_dss.nn.heads import set_argmax
from pyg_dss.transforms import KNNSetGraph

__all__ = ["PredictionError", "Frames", "Prediction", "read_frames", "check_frames",
           "prepare_set", "load_predictor", "predict_first_frame", "plot_prediction"]

#: Model classes whose output is one log-probability per element of a set,
#: for sets of any size (every aggregation is over the set, whatever n).
SET_MODELS = ("DSSNet",)
#: Devices prediction runs on.
DEVICES = ("cpu", "cuda")


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
            f"(FrameSets(..., modality='points')).")


# ---------------------------------------------------------------------------
# Inputs as in training
# ---------------------------------------------------------------------------
def _inputs(data: Any, where: str) -> FrameInputs:
    try:
        inputs = FrameInputs.from_dict(data, where)
    except InputsError as e:
        raise PredictionError(str(e)) from None
    if inputs.features is None or list(inputs.features) != ["pos"]:
        # features=None means a training transform formed x; other features
        # (normals, ...) come from readers this command does not run.
        raise PredictionError(f"{where} was trained with features={inputs.features!r}; "
                              f"prediction from files forms x from the coordinates only "
                              f"(['pos']).")
    return inputs


def _knn(model: Module, inputs: FrameInputs, path: str) -> Optional[int]:
    if getattr(model, "base_name", None) != "pointnet-knn":
        return None
    if inputs.knn is None:
        raise PredictionError(f"The model of '{path}' has base 'pointnet-knn', which needs the "
                              f"k of the k-NN graph it was trained with, but its 'data' entry "
                              f"has knn=None; re-save it with data=train_set.inputs(knn=k)"
                              f".to_dict().")
    return inputs.knn


def check_frames(frames: Frames, inputs: FrameInputs, path: str = "the model") -> None:
    r"""Refuses frames the model cannot judge: for a mesh model, frames of
    another mesh (vertex count or edges unlike every training mesh); for
    corresponded points, another point count; for a model trained without
    ``scale=True``, frames more than 10 times smaller or larger than the
    training frames (other units)."""
    if inputs.modality == "mesh" and frames.faces is not None:
        edges = face_to_edge_index(frames.faces.t().contiguous(), frames.pos[0].size(0))
        V = int(frames.pos[0].size(0))
        if V != inputs.vertices:
            raise PredictionError(f"'{frames.files[0]}' has {V} vertices, but {path} was "
                                  f"trained on a mesh of {inputs.vertices}: a mesh model "
                                  f"runs on frames of the mesh it was trained on.")
        if topology_fingerprint(edges) not in inputs.topologies:
            raise PredictionError(f"'{frames.files[0]}' has the {V} vertices of the training "
                                  f"mesh of {path} but other triangles: a mesh model runs on "
                                  f"frames of the mesh it was trained on.")
    elif (inputs.corresponded and inputs.vertices is not None
          and int(frames.pos[0].size(0)) != inputs.vertices):
        raise PredictionError(f"'{frames.files[0]}' has {int(frames.pos[0].size(0))} points, "
                              f"but {path} was trained on corresponded frames of "
                              f"{inputs.vertices} points (point i the same surface point in "
                              f"every frame): give frames of that point set.")
    problem = inputs.scale_problem(frames.pos)
    if problem is not None:
        k, why = problem
        raise PredictionError(f"'{frames.files[k]}' {why}.")


def prepare_set(frames: Frames, inputs: FrameInputs, knn: Optional[int] = None):
    r"""The :class:`~pyg_dss.data.SetData` a model trained with :obj:`inputs`
    sees for :obj:`frames`: :func:`~pyg_dss.frames.frames_to_set` with the
    training options (mesh edges for ``modality="mesh"``, none for points;
    the k-NN graph of :class:`~pyg_dss.transforms.KNNSetGraph` when
    :obj:`knn` is given)."""
    if inputs.modality == "mesh":
        if frames.faces is None:
            raise PredictionError(_points_for_mesh_model(frames.files[0]))
        pos = frames.pos
        edge_index = face_to_edge_index(frames.faces.t().contiguous(), int(pos[0].size(0)))
    elif not inputs.corresponded:
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
    return frames_to_set(pos, edge_index, normalize=inputs.normalize, scale=inputs.scale,
                         features=inputs.features, corresponded=inputs.corresponded,
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
    if device.type not in DEVICES:
        raise PredictionError(f"device {str(device)!r} is not supported for prediction; use "
                              f"'auto', 'cpu', 'cuda' or 'cuda:N'.")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise PredictionError("device 'cuda' was asked for, but torch sees no CUDA device "
                              "(use 'auto' or 'cpu').")
    return device


def load_predictor(model_or_checkpoint: Union[str, os.PathLike, Module],
                   data: Union[FrameInputs, Dict[str, Any], None] = None
                   ) -> Tuple[Module, FrameInputs, str]:
    r"""``(model, inputs, name)``: the model of a checkpoint path (loaded
    safely) or the model given, with its checked
    :class:`~pyg_dss.frames.FrameInputs` (:obj:`data`, else the checkpoint's
    ``data`` entry) and a name for messages. A model with NaN or infinite
    weights is refused."""
    if isinstance(model_or_checkpoint, Module):
        if data is None:
            raise PredictionError("A model object needs data=: its training set's "
                                  "FrameSets.inputs(target=...).")
        model, path = model_or_checkpoint, f"{type(model_or_checkpoint).__name__} model"
        inputs = _inputs(data, f"the {path}")
    else:
        path = os.fspath(model_or_checkpoint)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Checkpoint '{path}' does not exist (or is not a file).")
        model, checkpoint = load_model(path)
        inputs = _inputs(checkpoint.get("data") if data is None else data, f"'{path}'")
    if type(model).__name__ not in SET_MODELS:
        raise PredictionError(f"'{path}' holds a {type(model).__name__}; frame-ordering "
                              f"prediction serves models that score the elements of a set "
                              f"({', '.join(SET_MODELS)}).")
    bad = [name for name, t in (*model.named_parameters(), *model.named_buffers())
           if t.is_floating_point() and not bool(torch.isfinite(t).all())]
    if bad:
        raise PredictionError(f"'{path}' holds non-finite weights (NaN or inf in {bad[0]}"
                              f"{f' and {len(bad) - 1} more' if len(bad) > 1 else ''}): the "
                              f"run diverged; use an earlier checkpoint or retrain.")
    return model, inputs, path


@torch.no_grad()
def predict_first_frame(model_or_checkpoint: Union[str, os.PathLike, Module],
                        frames: Union[Frames, Sequence[str]],
                        data: Union[FrameInputs, Dict[str, Any], None] = None,
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
        data: the model's :class:`~pyg_dss.frames.FrameInputs` (or their
            dict; overrides the checkpoint's entry).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ...
        in_time_order: the frames are given in their true time order: also
            report whether the prediction is right and Kendall's tau.

    The model runs in eval mode on one set; its output must be
    log-probabilities over the set's elements (checked).
    """
    model, inputs, path = load_predictor(model_or_checkpoint, data)
    knn = _knn(model, inputs, path)
    if not isinstance(frames, Frames):
        frames = read_frames(frames, inputs.modality)
    target = inputs.target
    notes = []
    trained = inputs.set_size
    if trained != len(frames):
        notes.append(f"the model was trained on sets of {int(trained)} frames and sees "
                     f"{len(frames)} here; {type(model).__name__} takes sets of any size, but "
                     f"its accuracy was measured at {int(trained)}.")
    device = _device(device)
    if inputs.modality == "mesh" and frames.faces is None:
        raise PredictionError(_points_for_mesh_model(frames.files[0]))
    check_frames(frames, inputs, f"'{path}'")
    sets = prepare_set(frames, inputs, knn)
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
