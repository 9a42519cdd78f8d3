r"""What a frame-ordering model was trained on, kept in its checkpoint
(``save_model(path, model, data=inputs.to_dict())``) so that prediction
prepares new frames exactly as training did and refuses frames it cannot
judge.

:meth:`FrameSets.inputs <pyg_dss.frames.FrameSets.inputs>` writes it from the
training set; :func:`pyg_dss.frames.predict_first_frame` reads it back with
:meth:`FrameInputs.from_dict`, which type-checks every field (a checkpoint is
a file, and ``corresponded="no"`` must not read as true).

Besides the options of :func:`~pyg_dss.frames.frames_to_set` it records what
judging new frames needs: the topology of the training meshes (vertex count
and a fingerprint of the edges) and the range of the training frames' size
(root-mean-square distance of a frame's points to its centroid, in the units
of the files), so that frames of another mesh are refused and frames in other
units (millimetres instead of metres) are refused when the model did not
normalise the scale away.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np
import torch
from torch import Tensor

__all__ = ["FrameInputs", "InputsError", "topology_fingerprint", "frame_radius"]

#: Written as ``format``: a checkpoint without it predates these fields.
FORMAT = "pyg_dss.frames.inputs/1"
TARGETS = ("first", "middle")
MODALITIES = ("mesh", "points")
NORMALIZE = (None, "frame", "set")


class InputsError(ValueError):
    """A ``data`` entry that is missing, from an older version, or holds a
    value of the wrong type; the message names the field."""


def topology_fingerprint(edge_index: Tensor) -> str:
    r"""A short hex digest of a mesh's (coalesced) edges [2, E]: equal for
    frames of one registered mesh, different for another triangulation."""
    edges = edge_index.detach().cpu().to(torch.int64).contiguous().numpy()
    return hashlib.sha256(edges.tobytes()).hexdigest()[:16]


def frame_radius(pos: Tensor) -> Tensor:
    r"""Per frame, the root-mean-square distance of its points to its
    centroid: the frame's size in the units of its coordinates. :obj:`pos`
    is [n, V, 3] (one radius per frame) or [V, 3] (one radius)."""
    pos = pos.double()
    centred = pos - pos.mean(dim=-2, keepdim=True)
    return centred.square().sum(-1).mean(-1).sqrt()


def _field_error(field: str, value: Any, want: str, where: str) -> InputsError:
    return InputsError(f"The 'data' entry of {where} has {field}={value!r}; it must be {want}.")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class FrameInputs:
    r"""How a frame-ordering model's inputs were prepared, and what it saw.

    Attributes:
        modality: ``"mesh"`` (frames of one registered mesh, layers on its
            edges) or ``"points"``.
        normalize: ``None``, ``"frame"`` or ``"set"`` (see
            :func:`~pyg_dss.frames.normalize_frames`).
        scale: whether frames were divided by their largest vertex norm.
        features: node attributes that form ``x`` (``("pos",)``), or
            :obj:`None` when a training transform formed ``x``.
        corresponded: whether point *i* is the same surface point in every
            frame.
        target: ``"first"`` or ``"middle"``.
        set_size: frames per training set.
        knn: k of the k-NN graph (:class:`~pyg_dss.transforms.KNNSetGraph`)
            for ``base="pointnet-knn"``, else :obj:`None`.
        vertices: points per frame in training (:obj:`None` when frames had
            different sizes: scans without correspondence).
        topologies: :func:`topology_fingerprint` of every training mesh
            (empty for points).
        radius: smallest and largest :func:`frame_radius` of the training
            frames, in the files' units.
    """
    modality: str
    normalize: Optional[str]
    scale: bool
    features: Optional[Tuple[str, ...]]
    corresponded: bool
    target: str
    set_size: int
    knn: Optional[int]
    vertices: Optional[int]
    topologies: Tuple[str, ...]
    radius: Tuple[float, float]

    def __post_init__(self) -> None:
        self._check("the FrameInputs")

    def _check(self, where: str) -> None:
        def bad(name: str, want: str) -> InputsError:
            return _field_error(name, getattr(self, name), want, where)

        choices: List[Tuple[str, Tuple[Optional[str], ...]]] = [
            ("modality", MODALITIES), ("normalize", NORMALIZE), ("target", TARGETS)]
        for name, allowed in choices:
            if getattr(self, name) not in allowed:
                raise bad(name, f"one of {allowed}")
        for name in ("scale", "corresponded"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, "true or false (a bool)")
        if self.features is not None and (not isinstance(self.features, tuple) or not all(
                isinstance(f, str) for f in self.features)):
            raise bad("features", "a list of attribute names or None")
        if not _is_int(self.set_size) or self.set_size < 2:
            raise bad("set_size", "an integer >= 2")
        for name in ("knn", "vertices"):
            value = getattr(self, name)
            if value is not None and (not _is_int(value) or value < 1):
                raise bad(name, "a positive integer or None")
        if not isinstance(self.topologies, tuple) or not all(
                isinstance(t, str) for t in self.topologies):
            raise bad("topologies", "a list of fingerprint strings")
        if self.modality == "mesh" and (not self.topologies or self.vertices is None):
            raise bad("topologies", "the fingerprints of the training meshes (modality 'mesh')")
        r = self.radius
        if (not isinstance(r, tuple) or len(r) != 2
                or not all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in r)
                or r[0] > r[1]):
            raise bad("radius", "[smallest, largest], two positive finite floats")

    # -- serialisation ------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        r"""Plain values (lists, not tuples) for a checkpoint or JSON."""
        out: Dict[str, Any] = {"format": FORMAT}
        for key, value in asdict(self).items():
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "the checkpoint") -> "FrameInputs":
        r"""Reads what :meth:`to_dict` wrote, checking every field; an entry
        of an older version or of the wrong type is an :class:`InputsError`
        naming the field."""
        if isinstance(data, FrameInputs):
            return data
        if not isinstance(data, dict):
            raise InputsError(f"{where} has no 'data' entry saying how the model's inputs "
                              f"were prepared; {_SAVE_HINT}.")
        names = [f.name for f in fields(cls)]
        missing = [k for k in ["format", *names] if k not in data]
        if missing or data.get("format") != FORMAT:
            raise InputsError(f"The 'data' entry of {where} lacks {missing or ['format']} "
                              f"(format {data.get('format')!r}, this version reads "
                              f"{FORMAT!r}): it predates the checks prediction needs; "
                              f"{_SAVE_HINT}.")
        unknown = sorted(set(data) - {"format", *names})
        if unknown:
            raise InputsError(f"The 'data' entry of {where} has unknown fields {unknown}; "
                              f"it holds exactly {names}.")
        values = {k: data[k] for k in names}
        for key in ("features", "topologies", "radius"):
            if isinstance(values[key], list):
                values[key] = tuple(values[key])
        if isinstance(values["radius"], tuple):  # JSON may write 1.0 as 1
            values["radius"] = tuple(float(v) if _is_int(v) else v for v in values["radius"])
        inputs = cls.__new__(cls)
        for key, value in values.items():
            object.__setattr__(inputs, key, value)
        inputs._check(where)
        return inputs

    @classmethod
    def measure(cls, pos: Iterable[Union[Tensor, List[Tensor]]],
                edge_index: Iterable[Optional[Tensor]], **options: Any) -> "FrameInputs":
        r"""The inputs of training sequences :obj:`pos` ([T, V, 3] each, or a
        list of [V_t, 3] point clouds) with their mesh edges (:obj:`None` for
        points); :obj:`options` are the other fields. At most 16 frames per
        sequence are measured (the radius range)."""
        radii: List[Tensor] = []
        sizes = set()
        for seq in pos:
            step = max(1, len(seq) // 16)
            frames = seq[::step]
            if isinstance(frames, Tensor):
                radii.append(frame_radius(frames))
                sizes.add(int(frames.size(1)))
            else:
                radii.extend(frame_radius(f).view(1) for f in frames)
                sizes.update(int(f.size(0)) for f in frames)
        r = torch.cat(radii)
        topologies = sorted({topology_fingerprint(e) for e in edge_index if e is not None})
        return cls(vertices=sizes.pop() if len(sizes) == 1 else None,
                   topologies=tuple(topologies),
                   radius=(float(r.min()), float(r.max())), **options)

    # -- judging new frames ----------------------------------------------
    def scale_problem(self, pos: Union[Tensor, List[Tensor]]) -> Optional[Tuple[int, str]]:
        r"""``(k, why)`` when frame :obj:`k` of :obj:`pos` is too far from the
        training frames' size for a model that did not normalise the scale
        (more than 10 times smaller or larger: other units), else
        :obj:`None`."""
        if self.scale:
            return None
        r = (frame_radius(pos) if isinstance(pos, Tensor)
             else torch.stack([frame_radius(f) for f in pos]))
        lo, hi = float(r.min()), float(r.max())
        if lo >= self.radius[0] / 10 and hi <= self.radius[1] * 10:
            return None
        k = int(np.argmin(r.numpy()) if lo < self.radius[0] / 10 else np.argmax(r.numpy()))
        return k, (f"has size {float(r[k]):.4g} (root-mean-square distance to its centroid), "
                f"but the training frames had {self.radius[0]:.4g} to {self.radius[1]:.4g}: "
                f"other units (millimetres instead of metres?) change this model's answer, "
                f"as it was trained without scale=True. Convert the frames to the training "
                f"units")


_SAVE_HINT = ("re-save the model with pyg_dss.checkpoint.save_model(path, model, "
              "data=train_set.inputs(target=...).to_dict()), train_set being its training "
              "FrameSets")
