r"""The frame-ordering task of Maron et al. (2020) on any collection of
per-sequence meshes: draw n frames of one sequence, shuffle them, and ask
which one came first (or which one is the middle one).

:func:`frames_to_set` is the one place where frames become the
:class:`~pyg_dss.data.SetData` a model sees (normalisation, transform, input
features); :class:`FrameSets` uses it for training and evaluation, and code
that predicts on new frames should call it with the options stored in the
model's checkpoint, so that inputs are prepared exactly as in training.
"""
import hashlib
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data, Dataset
from torch_geometric.transforms import FaceToEdge

from pyg_dss.data import SetData
from pyg_dss.datasets.dfaust import non_finite_frames
from pyg_dss.datasets.mesh_files import point_frames

from .inputs import MODALITIES, NORMALIZE, TARGETS, FrameInputs

__all__ = ["TARGETS", "MODALITIES", "NORMALIZE", "FEATURES", "NoSequenceError", "FrameSets",
           "face_to_edge_index", "sample_frame_times", "min_length", "normalize_frames",
           "frames_to_set", "form_features", "target_order"]

#: Default input features: ``x`` is the (transformed) ``pos``.
FEATURES = ("pos",)


class NoSequenceError(ValueError):
    """No sequence is long enough for one draw with the requested options."""


def face_to_edge_index(face: Tensor, num_nodes: int) -> Tensor:
    r"""Undirected mesh edges [2, E] of triangles :obj:`face` [3, F]
    (PyG's :class:`~torch_geometric.transforms.FaceToEdge`)."""
    return FaceToEdge(remove_faces=True)(Data(face=face, num_nodes=num_nodes)).edge_index


def sample_frame_times(rng: np.random.Generator, length: int, num_frames: int,
                       min_gap: int = 1, window: Optional[int] = None) -> np.ndarray:
    r"""Sorted frame indices of one draw from a sequence of :obj:`length`
    frames: :obj:`num_frames` distinct frames, consecutive ones at least
    :obj:`min_gap` apart, all inside one window of :obj:`window` consecutive
    frames (the whole sequence if :obj:`None`) placed uniformly at random;
    within the window every admissible configuration is equally likely."""
    span = length if window is None else min(window, length)
    free = span - (num_frames - 1) * (min_gap - 1)
    if free < num_frames:
        raise ValueError(f"Cannot draw {num_frames} frames {min_gap} apart from "
                         f"{span} frames.")
    start = int(rng.integers(0, length - span + 1))
    picks = np.sort(rng.choice(free, size=num_frames, replace=False))
    return start + picks + np.arange(num_frames) * (min_gap - 1)


def min_length(num_frames: int, min_gap: int) -> int:
    r"""Fewest frames a sequence needs for one draw."""
    return (num_frames - 1) * min_gap + 1


def _check_features(features: Optional[Sequence[str]]) -> Optional[Tuple[str, ...]]:
    if features is None:
        return None
    if isinstance(features, str):
        features = (features,)
    features = tuple(features)
    if not features or not all(isinstance(f, str) and f for f in features):
        raise ValueError(f"features must be None or a non-empty list of attribute names "
                         f"(e.g. ('pos',)), got {features!r}.")
    return features


def normalize_frames(pos: Union[Tensor, Sequence[Tensor]], normalize: Optional[str] = "frame",
                     scale: bool = False) -> Union[Tensor, List[Tensor]]:
    r"""Frames [n, V, 3] as float32, centred per frame (``"frame"``), on the
    centroid of all frames (``"set"``) or left as they are (:obj:`None`);
    with :obj:`scale`, also divided by the largest vertex norm (of each frame,
    or of the set for ``"set"``). A list of frames of different sizes
    [V_k, 3] (point clouds) gives a list, normalised the same way."""
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}.")
    if not isinstance(pos, Tensor):
        frames = [f.float() for f in pos]
        if normalize == "frame":
            frames = [f - f.mean(dim=0) for f in frames]
        elif normalize == "set":
            centre = torch.cat(frames).mean(dim=0)
            frames = [f - centre for f in frames]
        if scale:
            norms = [f.norm(dim=-1).max().clamp_min(1e-12) for f in frames]
            if normalize == "set":
                norms = [torch.stack(norms).max()] * len(frames)
            frames = [f / r for f, r in zip(frames, norms, strict=True)]
        return frames
    stacked = pos.float()
    if normalize == "frame":
        stacked = stacked - stacked.mean(dim=1, keepdim=True)
    elif normalize == "set":
        stacked = stacked - stacked.reshape(-1, 3).mean(dim=0)
    if scale:
        norm = stacked.norm(dim=-1)
        if normalize == "set":
            stacked = stacked / norm.max().clamp_min(1e-12)
        else:
            stacked = stacked / norm.amax(dim=1).clamp_min(1e-12)[:, None, None]
    return stacked


def frames_to_set(pos: Union[Tensor, Sequence[Tensor]], edge_index: Optional[Tensor] = None, *,
                  normalize: Optional[str] = "frame", scale: bool = False,
                  features: Optional[Sequence[str]] = FEATURES,
                  transform: Optional[Callable] = None, corresponded: bool = True,
                  **attrs: Any) -> SetData:
    r"""Turns :obj:`n` frames of one sequence into the
    :class:`~pyg_dss.data.SetData` a model sees, exactly as
    :class:`FrameSets` does:

    1. the frames are normalised (:func:`normalize_frames`);
    2. every frame becomes an element with ``pos`` [V, 3] (and ``x``, a copy
       of it), sharing :obj:`edge_index` (mesh edges, e.g. from
       :func:`face_to_edge_index`; :obj:`None` for point clouds); the set is
       corresponded (one vertex domain), or, with
       :obj:`corresponded=False`, uncorresponded (point clouds whose point
       *i* is not the same surface point in every frame, e.g. scans: the
       set shares information through a one-vertex domain, coverage
       ``"pooled"``);
    3. :obj:`attrs` are attached: a list or tuple of n values per element
       (e.g. ``time=[...]``), anything else to the set (e.g.
       ``y=torch.tensor([2])``);
    4. :obj:`transform` (any PyG transform, e.g. a random rotation) is
       applied to the set;
    5. the input features are formed *after* the transform:
       ``x = cat([data[f] for f in features], dim=-1)``, so whatever the
       transform did to ``pos`` reaches the model. With
       :obj:`features=None`, ``x`` is left as the transform leaves it (use
       this when the transform computes ``x`` itself).

    Args:
        pos: frames [n, V, 3], or a list of n frames [V_k, 3] (any floating
            dtype; stored as float32); frames of different sizes need
            :obj:`corresponded=False`.
        edge_index: edges [2, E] of the shared mesh, or :obj:`None`.
        normalize, scale: see :func:`normalize_frames`.
        features: node attributes that make ``x`` (default ``("pos",)``).
        transform: applied to the whole set before the features are formed.
        corresponded: whether vertex *i* is the same point in every frame
            (default: :obj:`True`; the ``corresponded`` entry of
            :attr:`FrameSets.input_options`).
    """
    frames = _checked_frames(pos, corresponded)
    if not corresponded and edge_index is not None:
        raise ValueError("Uncorresponded frames (corresponded=False) have no shared mesh: "
                         "pass edge_index=None (point clouds; a k-NN graph comes from a "
                         "transform such as pyg_dss.transforms.KNNSetGraph).")
    features = _check_features(features)
    frames = normalize_frames(frames, normalize, scale)
    n = len(frames)
    per_element = {key: v for key, v in attrs.items() if isinstance(v, (list, tuple))}
    for key, v in per_element.items():
        if len(v) != n:
            raise ValueError(f"Per-element attribute '{key}' has {len(v)} values for {n} frames.")
    elements = []
    for k in range(n):
        el = Data(x=frames[k], pos=frames[k], **{a: v[k] for a, v in per_element.items()})
        if edge_index is not None:
            el.edge_index = edge_index
        elements.append(el)
    data = SetData.from_elements(elements, corresponded=corresponded)
    for key, v in attrs.items():
        if key not in per_element:
            data[key] = v
    if transform is not None:
        data = transform(data)
    return form_features(data, features)


def _checked_frames(pos: Union[Tensor, Sequence[Tensor]],
                    corresponded: bool) -> Union[Tensor, List[Tensor]]:
    r"""The frames of :func:`frames_to_set` checked: a [n, V, 3] tensor for a
    corresponded set, a list of [V_k, 3] tensors otherwise."""
    if isinstance(pos, Tensor):
        if pos.dim() != 3 or pos.size(-1) != 3:
            raise ValueError(f"pos must be frames [n, V, 3], got shape {list(pos.shape)}.")
        frames: List[Tensor] = list(pos.unbind(0))
    else:
        frames = list(pos)
        if not frames:
            raise ValueError("pos holds no frames.")
        for k, f in enumerate(frames):
            if not isinstance(f, Tensor) or f.dim() != 2 or f.size(-1) != 3 or f.size(0) == 0:
                raise ValueError(f"Frame {k} must be a tensor [V, 3] with V > 0, got "
                                 f"{list(f.shape) if isinstance(f, Tensor) else type(f)}.")
    if not all(f.is_floating_point() for f in frames):
        raise ValueError("pos has an integer dtype; coordinates must be floating point.")
    bad = (non_finite_frames(pos) if isinstance(pos, Tensor) else
           [k for k, f in enumerate(frames) if not bool(torch.isfinite(f).all())])
    if bad:
        raise ValueError(f"pos has NaN or inf in frame(s) {bad[:20]} (0-based, of {len(frames)}).")
    if isinstance(pos, Tensor):
        return pos if corresponded else list(pos)
    if corresponded:
        sizes = [int(f.size(0)) for f in frames]
        if len(set(sizes)) > 1:
            raise ValueError(f"The frames have different sizes {sizes}, so vertex i cannot be "
                             "the same point in all of them: pass corresponded=False (point "
                             "clouds without correspondence).")
        return torch.stack(frames)
    return frames


def form_features(data: Data, features: Optional[Sequence[str]] = FEATURES) -> Data:
    r"""Sets ``data.x`` to the concatenation of the node attributes
    :obj:`features` (nothing if :obj:`None`)."""
    features = _check_features(features)
    if features is None:
        return data
    parts = []
    for name in features:
        value = data[name] if name in data else None
        if not isinstance(value, Tensor) or value.dim() == 0 or value.size(0) != data.num_nodes:
            raise ValueError(f"Feature '{name}' is not a node attribute of the set after the "
                             f"transform (node attributes: "
                             f"{sorted(k for k in data.keys() if data.is_node_attr(k))}).")
        parts.append(value.unsqueeze(-1) if value.dim() == 1 else value)
    # A copy, not an alias: an in-place edit of x must not move pos.
    data.x = parts[0].clone() if len(parts) == 1 else torch.cat(parts, dim=-1)
    return data


class FrameSets(Dataset):
    r"""Frame-ordering sets drawn from per-sequence meshes.

    Every item is one :class:`~pyg_dss.data.SetData` of :obj:`num_frames`
    frames of one sequence in shuffled order (``corresponded=True``: all
    frames share the sequence's vertices and edges), made by
    :func:`frames_to_set`. Per element (frame): ``pos`` = the (normalised,
    then transformed) xyz of its vertices [V, 3], ``x`` = the input features
    formed from :obj:`features` *after* :obj:`transform` (default: ``x`` =
    ``pos``, so an augmentation of ``pos`` reaches the model),
    ``edge_index`` (mesh edges; absent for ``modality="points"``), ``time``
    (frame index in the sequence) and ``rank`` (true temporal rank within
    the set, 0 = earliest). Per set: ``y`` [1] (long) = local index of the
    first frame (``target="first"``) or of the middle one in time
    (``target="middle"``, rank ``n // 2``), ``seq`` [1] = index of the source
    sequence in :attr:`names`.

    Two regimes:

    * :obj:`resample=True` (training): every access draws a new set, so each
      epoch sees new sets. The draw of item ``idx`` is seeded from
      ``(seed, epoch, idx)`` after :meth:`set_epoch`, which makes a run
      reproducible and works with any number of
      :class:`~torch.utils.data.DataLoader` workers (call it before each
      epoch; workers are forked per epoch unless ``persistent_workers``).
      Without :meth:`set_epoch`, draws come from torch's global generator,
      which PyTorch already seeds differently per worker and per epoch.
    * :obj:`resample=False` (validation / test): the :obj:`num_sets` draws are
      fixed at construction from :obj:`seed` and identical across
      constructions; see :attr:`draws`.

    Sequences are drawn with probability proportional to their number of
    admissible windows; sequences too short for one draw are skipped (if
    none is long enough, the error lists their lengths and the options that
    would admit them).

    Args:
        sequences: per-sequence :class:`~torch_geometric.data.Data` with
            ``pos`` [T, V, 3] (floating point, finite) and ``face`` [3, F]
            (e.g. a :class:`~pyg_dss.datasets.DynamicFAUST` or
            :class:`~pyg_dss.datasets.SyntheticBodies`); ``subject`` and
            ``sequence`` names are kept if present. With
            ``modality="points"`` they may instead be sequences of point
            clouds of their own sizes (``pos`` [N, 3] and ``frame_ptr``
            [T + 1], e.g. :class:`~pyg_dss.datasets.MeshFolder` with
            ``kind="points"``): the sets are then uncorresponded
            (``corresponded=False`` in :attr:`input_options`).
        num_frames (int): frames per set n (default: :obj:`7`).
        target (str): ``"first"`` or ``"middle"`` (default: ``"first"``).
        modality (str): ``"mesh"`` (mesh edges from the faces, computed once
            per topology) or ``"points"`` (no edges) (default: ``"mesh"``).
        min_gap (int): least distance in frames between two drawn frames.
        window (int, optional): the frames of a set lie within this many
            consecutive frames (default: the whole sequence).
        num_sets (int, optional): items per epoch / fixed items (default: one
            set per :obj:`num_frames` frames in all sequences).
        resample (bool): see above (default: :obj:`True`).
        seed (int): see above (default: :obj:`0`).
        normalize (str, optional): ``"frame"`` subtracts each frame's
            centroid, ``"set"`` the centroid of the whole set, :obj:`None`
            leaves xyz as stored (default: ``"frame"``; note that ``"set"``
            lets one frame see where it lies relative to the others).
        scale (bool): also divide by the largest vertex norm (of the frame
            or the set, per :obj:`normalize`) (default: :obj:`False`).
        features (list of str, optional): node attributes concatenated into
            ``x`` after :obj:`transform` (default: ``("pos",)``); :obj:`None`
            leaves ``x`` as the transform sets it.
        transform (callable, optional): applied to every
            :class:`~pyg_dss.data.SetData` on access, before the features
            are formed (a random rotation of ``pos`` rotates ``x``).
        pre_transform (callable, optional): applied once to every sequence
            :class:`~torch_geometric.data.Data` (``pos`` [T, V, 3]) at
            construction, as PyG datasets apply it before caching.
        pre_filter (callable, optional): keeps the sequences for which it
            returns :obj:`True` (applied before :obj:`pre_transform`).
    """

    def __init__(self, sequences: Sequence[Data], num_frames: int = 7,
                 target: str = "first", modality: str = "mesh",
                 min_gap: int = 1, window: Optional[int] = None,
                 num_sets: Optional[int] = None, resample: bool = True,
                 seed: int = 0, normalize: Optional[str] = "frame",
                 scale: bool = False, features: Optional[Sequence[str]] = FEATURES,
                 transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None) -> None:
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}.")
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}.")
        if normalize not in NORMALIZE:
            raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}.")
        if num_frames < 2:
            raise ValueError(f"num_frames must be >= 2, got {num_frames}.")
        if min_gap < 1:
            raise ValueError(f"min_gap must be >= 1, got {min_gap}.")
        if window is not None and window < min_length(num_frames, min_gap):
            raise ValueError(f"window={window} is too short for {num_frames} frames "
                             f"{min_gap} apart (needs >= {min_length(num_frames, min_gap)}).")
        super().__init__(None, transform)
        self.num_frames = num_frames
        self.target = target
        self.modality = modality
        self.min_gap = min_gap
        self.window = window
        self.resample = resample
        self.seed = seed
        self.normalize = normalize
        self.scale = scale
        self.features = _check_features(features)
        self.epoch: Optional[int] = None

        # [T, V, 3] per corresponded sequence; a list of T frames [V_t, 3]
        # per point sequence (frames of different sizes).
        self.pos: List[Union[Tensor, List[Tensor]]] = []
        self.corresponded = True
        self.edge_index: List[Optional[Tensor]] = []
        self.names: List[Tuple[str, str]] = []
        edge_cache: Dict[Tuple, Tensor] = {}
        need = min_length(num_frames, min_gap)
        weights = []
        too_short = []
        for i in range(len(sequences)):
            seq = sequences[i]
            if pre_filter is not None and not pre_filter(seq):
                continue
            if pre_transform is not None:
                seq = pre_transform(seq)
            name = (str(getattr(seq, "subject", "")), str(getattr(seq, "sequence", i)))
            points = "frame_ptr" in seq
            if points and modality != "points":
                raise ValueError(f"Sequence {i} ({name[1]}) is a sequence of point clouds "
                                 "(frame_ptr: frames of their own sizes, no shared mesh); use "
                                 "modality='points'.")
            if self.pos and points == self.corresponded:
                raise ValueError(f"Sequence {i} ({name[1]}) is "
                                 f"{'a point' if points else 'a corresponded'} sequence, the "
                                 f"ones before it are not: one FrameSets holds one kind.")
            self.corresponded = not points
            pos = _checked_point_sequence(seq, i, name) if points else _checked_sequence(
                seq.pos, i, name)
            if len(pos) < need:
                too_short.append((name, len(pos)))
                continue
            edges = None
            if modality == "mesh":
                face = getattr(seq, "face", None)
                if face is None:
                    raise ValueError(f"Sequence {i} has no 'face'; use modality='points'.")
                assert isinstance(pos, Tensor)  # point sequences were refused for meshes
                key = (pos.size(1), tuple(face.shape),
                       hashlib.sha1(face.cpu().numpy().tobytes()).hexdigest())
                if key not in edge_cache:
                    edge_cache[key] = face_to_edge_index(face, pos.size(1))
                edges = edge_cache[key]
            self.pos.append(pos)
            self.edge_index.append(edges)
            self.names.append(name)
            span = len(pos) if window is None else min(window, len(pos))
            weights.append(len(pos) - span + 1)
        if not self.pos:
            raise NoSequenceError(_no_sequence_message(too_short, num_frames, min_gap,
                                                       window))
        w = np.asarray(weights, dtype=np.float64)
        self._p = w / w.sum()
        if num_sets is None:
            num_sets = max(1, sum(len(p) for p in self.pos) // num_frames)
        self.num_sets = num_sets
        self.draws: Optional[List[Tuple[int, np.ndarray, np.ndarray]]] = None
        if not resample:
            self.draws = [self._draw(self._rng(k, fixed=True)) for k in range(num_sets)]

    @property
    def input_options(self) -> Dict[str, Any]:
        r"""The options that prepare a model's inputs (for
        :func:`frames_to_set`, plus the modality): store them with a trained
        model so that prediction prepares frames exactly as training did
        (``corresponded`` is :obj:`False` for sequences of point clouds)."""
        return {"modality": self.modality, "normalize": self.normalize, "scale": self.scale,
                "features": None if self.features is None else list(self.features),
                "corresponded": self.corresponded}

    def inputs(self, target: Optional[str] = None, knn: Optional[int] = None) -> FrameInputs:
        r"""What a model trained on this dataset needs in its checkpoint
        (``save_model(path, model, data=train_set.inputs().to_dict())``):
        :attr:`input_options`, the task (:obj:`target`, default the
        dataset's; the set size), the k of a k-NN graph transform
        (:obj:`knn`), and the topology and size of the training frames, by
        which prediction refuses frames it cannot judge."""
        return FrameInputs.measure(
            self.pos, self.edge_index, modality=self.modality, normalize=self.normalize,
            scale=self.scale, features=self.features, corresponded=self.corresponded,
            target=self.target if target is None else target, set_size=self.num_frames,
            knn=knn)

    # -- sampling ---------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        r"""Makes the training draws a function of ``(seed, epoch, idx)``."""
        self.epoch = int(epoch)

    def _rng(self, idx: int, fixed: bool = False) -> np.random.Generator:
        if fixed:
            return np.random.default_rng([self.seed, 0x7E57, idx])
        if self.epoch is not None:
            return np.random.default_rng([self.seed, self.epoch, idx])
        return np.random.default_rng(int(torch.randint(0, 2**62, ()).item()))

    def _draw(self, rng: np.random.Generator) -> Tuple[int, np.ndarray, np.ndarray]:
        s = int(rng.choice(len(self.pos), p=self._p))
        times = sample_frame_times(rng, len(self.pos[s]), self.num_frames,
                                   self.min_gap, self.window)
        order = rng.permutation(self.num_frames)  # element k shows times[order[k]]
        return s, times, order

    # -- Dataset API --------------------------------------------------------
    def len(self) -> int:
        return self.num_sets

    def __getitem__(self, idx):
        # PyG's Dataset applies `transform` after `get`; here `get` applies it
        # itself, before the input features are formed.
        if isinstance(idx, (int, np.integer)) or (isinstance(idx, Tensor) and idx.dim() == 0):
            return self.get(self.indices()[int(idx)])
        return self.index_select(idx)

    def get(self, idx: int) -> SetData:
        if self.draws is not None:
            s, times, order = self.draws[idx]
        else:
            s, times, order = self._draw(self._rng(idx))
        return self.make_set(s, times, order)

    def make_set(self, s: int, times: np.ndarray, order: np.ndarray) -> SetData:
        r"""The set of frames ``times[order[k]]`` (k = 0..n-1) of sequence
        :obj:`s`, transformed and with its features formed; :obj:`times`
        must be sorted."""
        shown = times[order]
        want = 0 if self.target == "first" else self.num_frames // 2
        frames = (self.pos[s][torch.as_tensor(shown, dtype=torch.long)] if self.corresponded
                  else [self.pos[s][int(t)] for t in shown])
        return frames_to_set(
            frames, self.edge_index[s], normalize=self.normalize, scale=self.scale,
            features=self.features, transform=self.transform,
            corresponded=self.corresponded, time=[int(t) for t in shown],
            rank=[int(r) for r in order], y=torch.tensor([int(np.flatnonzero(order == want)[0])]),
            seq=torch.tensor([s]))

    def __repr__(self) -> str:
        mode = "resampled" if self.resample else f"fixed(seed={self.seed})"
        return (f"{self.__class__.__name__}({len(self)}, n={self.num_frames}, "
                f"target={self.target}, modality={self.modality}, "
                f"sequences={len(self.pos)}, {mode})")


def _checked_sequence(pos: Tensor, i: int, name: Tuple[str, str]) -> Tensor:
    label = f"Sequence {i} ({'/'.join(n for n in name if n)})"
    if pos.dim() != 3 or pos.size(-1) != 3:
        raise ValueError(f"{label}: expected pos of shape [T, V, 3], got {list(pos.shape)}.")
    if not pos.is_floating_point():
        raise ValueError(f"{label}: pos has dtype {pos.dtype}; coordinates must be floating "
                         "point (integer coordinates are refused rather than promoted).")
    bad = non_finite_frames(pos)
    if bad:
        raise ValueError(f"{label} has NaN or inf coordinates in frame(s) {bad[:20]} "
                         f"(0-based, {len(bad)} of {pos.size(0)}); drop or fix them first "
                         "(pre_filter= can skip the sequence).")
    return pos


def _checked_point_sequence(seq: Data, i: int, name: Tuple[str, str]) -> List[Tensor]:
    r"""The frames of a point sequence (``pos`` [N, 3], ``frame_ptr``
    [T + 1], as :func:`~pyg_dss.datasets.read_point_sequence` makes them)."""
    label = f"Sequence {i} ({'/'.join(n for n in name if n)})"
    pos, ptr = seq.pos, seq.frame_ptr
    if pos.dim() != 2 or pos.size(-1) != 3 or not pos.is_floating_point():
        raise ValueError(f"{label}: a point sequence needs floating-point pos [N, 3], got "
                         f"{list(pos.shape)} {pos.dtype}.")
    if (ptr.dim() != 1 or ptr.numel() < 2 or int(ptr[0]) != 0 or int(ptr[-1]) != pos.size(0)
            or bool((ptr[1:] <= ptr[:-1]).any())):
        raise ValueError(f"{label}: frame_ptr must rise strictly from 0 to {pos.size(0)} "
                         f"(frame t is pos[frame_ptr[t]:frame_ptr[t + 1]]), got "
                         f"{ptr.tolist()[:12]}.")
    frames = point_frames(seq)
    bad = [t for t, f in enumerate(frames) if not bool(torch.isfinite(f).all())]
    if bad:
        raise ValueError(f"{label} has NaN or inf coordinates in frame(s) {bad[:20]} "
                         f"(0-based, {len(bad)} of {len(frames)}); drop or fix them first "
                         "(pre_filter= can skip the sequence).")
    return frames


def _no_sequence_message(too_short: List[Tuple[Tuple[str, str], int]], num_frames: int,
                         min_gap: int, window: Optional[int]) -> str:
    need = min_length(num_frames, min_gap)
    head = (f"No sequence has the {need} frames needed to draw num_frames={num_frames} "
            f"frames min_gap={min_gap} apart (window={window})")
    if not too_short:
        return head + ": no sequence was given (or pre_filter removed them all)."
    lengths = sorted(too_short, key=lambda t: -t[1])
    listed = ", ".join(f"{'/'.join(n for n in name if n)}: {T}" for name, T in lengths[:12])
    if len(lengths) > 12:
        listed += f", ... ({len(lengths) - 12} more)"
    longest = lengths[0][1]
    hints = []
    if longest >= 2 and num_frames > 1 and (longest - 1) // (num_frames - 1) >= 1:
        hints.append(f"min_gap <= {(longest - 1) // (num_frames - 1)}")
    if longest >= 2 and (longest - 1) // min_gap + 1 >= 2:
        hints.append(f"num_frames <= {(longest - 1) // min_gap + 1}")
    hint = (" would admit the longest one" if hints else "")
    return (f"{head}. Frames per sequence: {listed}. "
            + (f"{' or '.join(hints)}{hint} (window only narrows the draw)." if hints else
               "The sequences are too short for any draw of 2 frames."))


def target_order(sets: Any, target: str = "first") -> Tensor:
    r"""Per element, how strongly it *should* be chosen, from its true
    temporal ``rank`` (0 = earliest): for ``"first"`` the negated rank
    (earliest highest), for ``"middle"`` the negated distance in rank to the
    middle element of its set.  Pass it as ``truth`` to :func:`kendall_tau`."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}.")
    rank = sets.rank.float()
    if target == "first":
        return -rank
    counts = torch.bincount(sets.element_set)
    middle = torch.div(counts, 2, rounding_mode="floor").float()
    return -(rank - middle[sets.element_set]).abs()
