r"""The frame-ordering task of Maron et al. (2020) on any collection of
per-sequence meshes: draw n frames of one sequence, shuffle them, and ask
which one came first (or which one is the middle one)."""
import hashlib
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data, Dataset
from torch_geometric.transforms import FaceToEdge

from ..data import SetData

TARGETS = ("first", "middle")
MODALITIES = ("mesh", "points")
NORMALIZE = (None, "frame", "set")


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


class FrameSets(Dataset):
    r"""Frame-ordering sets drawn from per-sequence meshes.

    Every item is one :class:`~pyg_dss.data.SetData` of :obj:`num_frames`
    frames of one sequence in shuffled order (``corresponded=True``: all
    frames share the sequence's vertices and edges). Per element (frame):
    ``x`` = ``pos`` = the (normalised) xyz of its vertices [V, 3],
    ``edge_index`` (mesh edges; absent for ``modality="points"``),
    ``time`` (frame index in the sequence) and ``rank`` (true temporal rank
    within the set, 0 = earliest). Per set: ``y`` [1] (long) = local index of
    the first frame (``target="first"``) or of the middle one in time
    (``target="middle"``, rank ``n // 2``), ``seq`` [1] = index of the source
    sequence in :obj:`sequences`.

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
    admissible windows; sequences too short for one draw are skipped.

    Args:
        sequences: per-sequence :class:`~torch_geometric.data.Data` with
            ``pos`` [T, V, 3] and ``face`` [3, F] (e.g. a
            :class:`~pyg_dss.datasets.DynamicFAUST` or
            :class:`~pyg_dss.datasets.SyntheticBodies`); ``subject`` and
            ``sequence`` names are kept if present.
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
        transform (callable, optional): applied to every
            :class:`~pyg_dss.data.SetData` on access.
    """

    def __init__(self, sequences: Sequence[Data], num_frames: int = 7,
                 target: str = "first", modality: str = "mesh",
                 min_gap: int = 1, window: Optional[int] = None,
                 num_sets: Optional[int] = None, resample: bool = True,
                 seed: int = 0, normalize: Optional[str] = "frame",
                 scale: bool = False, transform: Optional[Callable] = None) -> None:
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
        self.epoch: Optional[int] = None

        self.pos: List[Tensor] = []
        self.edge_index: List[Optional[Tensor]] = []
        self.names: List[Tuple[str, str]] = []
        edge_cache: Dict[Tuple, Tensor] = {}
        need = min_length(num_frames, min_gap)
        weights = []
        for i in range(len(sequences)):
            seq = sequences[i]
            pos = seq.pos
            if pos.dim() != 3 or pos.size(-1) != 3:
                raise ValueError(f"Sequence {i}: expected pos of shape [T, V, 3], "
                                 f"got {list(pos.shape)}.")
            if pos.size(0) < need:
                continue
            edges = None
            if modality == "mesh":
                face = getattr(seq, "face", None)
                if face is None:
                    raise ValueError(f"Sequence {i} has no 'face'; use modality='points'.")
                key = (pos.size(1), tuple(face.shape),
                       hashlib.sha1(face.cpu().numpy().tobytes()).hexdigest())
                if key not in edge_cache:
                    edge_cache[key] = face_to_edge_index(face, pos.size(1))
                edges = edge_cache[key]
            self.pos.append(pos)
            self.edge_index.append(edges)
            self.names.append((str(getattr(seq, "subject", "")),
                               str(getattr(seq, "sequence", i))))
            span = pos.size(0) if window is None else min(window, pos.size(0))
            weights.append(pos.size(0) - span + 1)
        if not self.pos:
            raise ValueError(f"No sequence has the {need} frames needed to draw "
                             f"{num_frames} frames {min_gap} apart.")
        w = np.asarray(weights, dtype=np.float64)
        self._p = w / w.sum()
        if num_sets is None:
            num_sets = max(1, sum(p.size(0) for p in self.pos) // num_frames)
        self.num_sets = num_sets
        self.draws: Optional[List[Tuple[int, np.ndarray, np.ndarray]]] = None
        if not resample:
            self.draws = [self._draw(self._rng(k, fixed=True)) for k in range(num_sets)]

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
        times = sample_frame_times(rng, self.pos[s].size(0), self.num_frames,
                                   self.min_gap, self.window)
        order = rng.permutation(self.num_frames)  # element k shows times[order[k]]
        return s, times, order

    # -- Dataset API --------------------------------------------------------
    def len(self) -> int:
        return self.num_sets

    def get(self, idx: int) -> SetData:
        if self.draws is not None:
            s, times, order = self.draws[idx]
        else:
            s, times, order = self._draw(self._rng(idx))
        return self.make_set(s, times, order)

    def make_set(self, s: int, times: np.ndarray, order: np.ndarray) -> SetData:
        r"""The set of frames ``times[order[k]]`` (k = 0..n-1) of sequence
        :obj:`s`; :obj:`times` must be sorted."""
        frames = self.pos[s][torch.as_tensor(times[order], dtype=torch.long)].float()
        if self.normalize == "frame":
            frames = frames - frames.mean(dim=1, keepdim=True)
        elif self.normalize == "set":
            frames = frames - frames.reshape(-1, 3).mean(dim=0)
        if self.scale:
            norm = frames.norm(dim=-1)
            if self.normalize == "set":
                frames = frames / norm.max().clamp_min(1e-12)
            else:
                frames = frames / norm.amax(dim=1).clamp_min(1e-12)[:, None, None]
        edges = self.edge_index[s]
        elements = []
        for k in range(self.num_frames):
            el = Data(x=frames[k], pos=frames[k], time=int(times[order[k]]),
                      rank=int(order[k]))
            if edges is not None:
                el.edge_index = edges
            elements.append(el)
        data = SetData.from_elements(elements, corresponded=True)
        want = 0 if self.target == "first" else self.num_frames // 2
        data.y = torch.tensor([int(np.flatnonzero(order == want)[0])])
        data.seq = torch.tensor([s])
        return data

    def __repr__(self) -> str:
        mode = "resampled" if self.resample else f"fixed(seed={self.seed})"
        return (f"{self.__class__.__name__}({len(self)}, n={self.num_frames}, "
                f"target={self.target}, modality={self.modality}, "
                f"sequences={len(self.pos)}, {mode})")
