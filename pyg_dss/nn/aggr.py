"""Sharing across the elements of a set: aggregate per shared vertex, broadcast back.

Fast path: when the batch is *dense* -- B sets of equal size n, each on V
shared vertices, nodes ordered set by set, element by element, vertex 0..V-1
(a batch of frames of one mesh; see :func:`dense_layout`) -- the aggregate is
``x.view(B, n, V, C).sum(1)`` and the broadcast a view, instead of a scatter
and a gather.  Otherwise :func:`torch_geometric.utils.scatter` is used.  The
layout check reads ``vertex_index`` once and is cached per tensor (identity,
version, storage), so a network checks each batch once.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from pyg_dss.nn.cache import TensorKeyedCache

REDUCTIONS = ("sum", "mean", "max")

_LAYOUTS = TensorKeyedCache(size=8)


def check_reduce(reduce: str) -> str:
    if reduce not in REDUCTIONS:
        raise ValueError(f"Unknown aggregation {reduce!r}; choose one of {REDUCTIONS}.")
    return reduce


def num_shared_vertices(sets: Any) -> int:
    """Total number of shared-domain vertices held by a set or a batch of sets."""
    n = sets.num_vertices
    return int(n.sum()) if isinstance(n, Tensor) else int(n)


def common_num_vertices(sets: Any) -> Optional[int]:
    """The number of shared vertices per set if every set of the batch has the
    same, else :obj:`None`."""
    n = sets.num_vertices
    if isinstance(n, Tensor):
        if n.numel() == 0:
            return None
        lo, hi = int(n.min()), int(n.max())
        return lo if lo == hi else None
    return int(n)


def dense_layout(sets: Any) -> Optional[Tuple[int, int, int]]:
    r"""``(B, n, V)`` if node ``i`` of the batch is vertex ``v`` of an element
    of set ``s`` with ``i = (s n + e) V + v`` for all nodes, i.e.
    ``vertex_index.view(B, n, V) == s V + v``; else :obj:`None`.  Then the
    per-vertex aggregate is a reshape-and-reduce.  Holds for batches of
    corresponded sets of equal size (and for uncorresponded sets of equal
    total size, V = 1); checked exactly, cached per ``vertex_index`` tensor."""
    V = common_num_vertices(sets)
    vertex_index = sets.vertex_index
    if V is None or V <= 0 or vertex_index.numel() == 0:
        return None
    nv = sets.num_vertices
    B = nv.numel() if isinstance(nv, Tensor) else 1

    def compute() -> Optional[Tuple[int, int, int]]:
        N = vertex_index.numel()
        if N % (B * V):
            return None
        n = N // (B * V)
        device = vertex_index.device
        pattern = (torch.arange(B, device=device) * V).view(B, 1, 1) + \
            torch.arange(V, device=device).view(1, 1, V)
        if not bool((vertex_index.view(B, n, V) == pattern).all()):
            return None
        return B, n, V

    return _LAYOUTS.get([vertex_index], (B, V), compute)


def set_aggregate(x: Tensor, sets: Any, reduce: str = "sum") -> Tensor:
    r"""Aggregates node features over the elements of each set, per shared
    vertex: :math:`\mathrm{AGG}_{j} x_j[v]` for a corresponded set (one row per
    vertex of the shared domain), :math:`\mathrm{AGG}` over all nodes of all
    elements for an uncorresponded set (its shared domain is one vertex).

    Returns a tensor of shape [total shared vertices, C].
    """
    layout = dense_layout(sets)
    if layout is not None and x.size(0) == sets.vertex_index.numel():
        B, n, V = layout
        blocks = x.reshape(B, n, V, *x.shape[1:])
        if reduce == "sum":
            out = blocks.sum(1)
        elif reduce == "mean":
            out = blocks.mean(1)
        else:
            out = blocks.amax(1)
        return out.reshape(B * V, *x.shape[1:])
    return scatter(x, sets.vertex_index, dim=0, dim_size=num_shared_vertices(sets),
                   reduce=reduce)


def broadcast(shared: Tensor, sets: Any) -> Tensor:
    """Sends a per-shared-vertex tensor back to every node that maps to it."""
    layout = dense_layout(sets)
    if layout is not None:
        B, n, V = layout
        rest = shared.shape[1:]
        return shared.reshape(B, 1, V, *rest).expand(B, n, V, *rest).reshape(B * n * V, *rest)
    return shared.index_select(0, sets.vertex_index)


def add_broadcast(out: Tensor, shared: Tensor, sets: Any) -> Tensor:
    """``out + broadcast(shared, sets)``, as one broadcasting add (no gathered
    copy of ``shared``) when the batch is dense."""
    layout = dense_layout(sets)
    if layout is not None and out.size(0) == sets.vertex_index.numel():
        B, n, V = layout
        rest = out.shape[1:]
        return (out.reshape(B, n, V, *rest) + shared.reshape(B, 1, V, *shared.shape[1:])
                ).reshape(out.shape)
    return out + broadcast(shared, sets)
