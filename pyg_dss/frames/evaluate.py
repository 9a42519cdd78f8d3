r"""A trained model on the sets of a frame-ordering dataset: the probability
of the true target per set (:func:`target_probabilities`), the sets it gets
most wrong (:func:`worst_sets`), and pictures of chosen sets with the
model's probabilities (:func:`plot_predictions`, drawn by
:func:`pyg_dss.plot.plot_sets`)."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from pyg_dss.plot import plot_sets

__all__ = ["set_frames", "target_probabilities", "worst_sets", "plot_predictions"]


def set_frames(data) -> List[Tensor]:
    r"""The frames of one :class:`~pyg_dss.data.SetData` as a list of
    [V_k, 3] ``pos`` tensors, in element order."""
    counts = torch.bincount(data.element_index, minlength=int(data.num_elements))
    return list(data.pos.split(counts.tolist()))


def _faces_of(dataset, data) -> Optional[np.ndarray]:
    r"""The triangles [F, 3] of the sequence a FrameSets item came from, when
    the dataset keeps its sequences (``dataset.sequences``) and it has faces."""
    if getattr(dataset, "modality", "mesh") != "mesh" or not hasattr(data, "seq"):
        return None
    names = getattr(dataset, "names", None)
    if names is None:
        return None
    subject, sequence = names[int(data.seq)]
    for seq in getattr(dataset, "sequences", []):
        if (str(getattr(seq, "subject", "")) == subject
                and str(getattr(seq, "sequence", "")) == sequence):
            face = getattr(seq, "face", None)
            return None if face is None else face.t().cpu().numpy()
    return None


def _device_of(model, device):
    if device is not None:
        return torch.device(device)
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def target_probabilities(model, dataset, batch_size: int = 32, device=None) -> Tensor:
    r"""For every set of :obj:`dataset` (in its order), the probability the
    model gives to the true target element (``y``): a [num_sets] tensor.
    The model must return log-probabilities per element (as
    :class:`~pyg_dss.nn.DSSNet` does); it is put in eval mode."""
    from torch_geometric.loader import DataLoader

    device = _device_of(model, device)
    model.eval()
    out = []
    for batch in DataLoader(dataset, batch_size=batch_size, shuffle=False):
        batch = batch.to(device)
        log_probs = model(batch)
        first = torch.zeros(batch.num_sets, dtype=torch.long, device=device)
        counts = torch.bincount(batch.element_set, minlength=batch.num_sets)
        first[1:] = counts.cumsum(0)[:-1]
        out.append(log_probs[first + batch.y.view(-1)].exp().cpu())
    return torch.cat(out)


def worst_sets(model, dataset, k: int = 3, batch_size: int = 32, device=None) -> List[int]:
    r"""Indices of the :obj:`k` sets of :obj:`dataset` whose true target gets
    the lowest probability (the model's worst mistakes), worst first; ties
    broken by index. Use it with fixed (validation / test) sets."""
    p = target_probabilities(model, dataset, batch_size, device)
    order = sorted(range(len(p)), key=lambda i: (float(p[i]), i))
    return order[:k]


@torch.no_grad()
def plot_predictions(model, dataset, indices: Sequence[int], path: Optional[str] = None,
                     order: str = "time", device=None, **kwargs) -> List[Dict[str, Any]]:
    r"""Draws sets :obj:`indices` of a frame-ordering dataset (e.g.
    :class:`~pyg_dss.datasets.FrameSets`), one row each, with the model's
    probabilities, the true target and the true order; meshes when the
    dataset keeps its sequences' faces, points otherwise. Extra keyword
    arguments go to :func:`plot_sets`.

    Returns one dict per set: ``index``, ``true``, ``predicted``,
    ``probabilities`` (in the order the network saw the frames) and
    ``rank``."""
    from torch_geometric.loader import DataLoader

    device = _device_of(model, device)
    model.eval()
    rows, out = [], []
    target = getattr(dataset, "target", "first")
    for index in indices:
        data = dataset[int(index)]
        batch = next(iter(DataLoader([data], batch_size=1))).to(device)
        prob = model(batch).exp().cpu()
        true, pred = int(data.y), int(prob.argmax())
        names = getattr(dataset, "names", None)
        where = ""
        if names is not None and hasattr(data, "seq"):
            subject, sequence = names[int(data.seq)]
            where = f" of {subject} {sequence}".replace("  ", " ")
        title = (f"set {int(index)}{where}: p(true {target}) = {float(prob[true]):.2f}, "
                 f"{'correct' if pred == true else 'wrong'}")
        rank = getattr(data, "rank", None)
        rows.append(dict(frames=set_frames(data), faces=_faces_of(dataset, data),
                         probabilities=prob, true=true, rank=rank, order=order,
                         target=target, title=title))
        out.append({"index": int(index), "true": true, "predicted": pred,
                    "probabilities": [round(float(p), 4) for p in prob],
                    "rank": None if rank is None else [int(r) for r in rank]})
    plot_sets(rows, path=path, **kwargs)
    return out
