"""Sharing across the elements of a set: aggregate per shared vertex, broadcast back.

When the batch is dense (its :class:`~pyg_dss.layout.SetLayout` has a
``set_size``: B sets of n elements, each on the same V vertices in order) the
aggregate is ``x.view(B, n, V, C).sum(1)`` and the broadcast a view, instead
of a scatter and a gather.  Otherwise :func:`torch_geometric.utils.scatter`
runs over ``vertex_index``; it also serves elements that cover only part of
the shared domain (a vertex aggregates over the elements it appears in).
"""
from __future__ import annotations

from typing import Any, Optional

from torch import Tensor
from torch_geometric.utils import scatter

from pyg_dss.layout import SetLayout, layout_of, num_sets

REDUCTIONS = ("sum", "mean", "max")


def check_reduce(reduce: str) -> str:
    if reduce not in REDUCTIONS:
        raise ValueError(f"Unknown aggregation {reduce!r}; choose one of {REDUCTIONS}.")
    return reduce


def reduce_dim(x: Tensor, dim: int, reduce: str) -> Tensor:
    """``x`` reduced over ``dim`` by ``"sum"``, ``"mean"`` or ``"max"``."""
    if reduce == "sum":
        return x.sum(dim)
    if reduce == "mean":
        return x.mean(dim)
    return x.amax(dim)


def num_shared_vertices(sets: Any, layout: Optional[SetLayout] = None) -> int:
    """Total number of shared-domain vertices held by a set or a batch of sets."""
    if layout is not None and layout.num_vertices is not None:
        return num_sets(sets) * layout.num_vertices   # from sizes: no host sync
    n = sets.num_vertices
    return int(n.sum()) if isinstance(n, Tensor) else int(n)


def set_aggregate(x: Tensor, sets: Any, reduce: str = "sum",
                  layout: Optional[SetLayout] = None) -> Tensor:
    r"""Aggregates node features over the elements of each set, per shared
    vertex: :math:`\mathrm{AGG}_{j} x_j[v]` over the elements :math:`j` that
    hold vertex :math:`v` (all of them for a corresponded set), and over all
    nodes of all elements for an uncorresponded set (its shared domain is
    one vertex).  ``layout`` defaults to :func:`~pyg_dss.layout.layout_of`.

    Returns a tensor of shape [total shared vertices, C].
    """
    layout = layout_of(sets, graphs=False) if layout is None else layout
    if layout.dense and x.size(0) == sets.vertex_index.size(0):
        B, n, V = num_sets(sets), layout.set_size, layout.num_vertices
        out = reduce_dim(x.view(B, n, V, *x.shape[1:]), 1, reduce)
        return out.view(B * V, *x.shape[1:])
    return scatter(x, sets.vertex_index, dim=0, dim_size=num_shared_vertices(sets, layout),
                   reduce=reduce)


def broadcast(shared: Tensor, sets: Any, layout: Optional[SetLayout] = None) -> Tensor:
    """Sends a per-shared-vertex tensor back to every node that maps to it."""
    layout = layout_of(sets, graphs=False) if layout is None else layout
    if layout.dense:
        B, n, V = num_sets(sets), layout.set_size, layout.num_vertices
        rest = shared.shape[1:]
        return shared.view(B, 1, V, *rest).expand(B, n, V, *rest).reshape(B * n * V, *rest)
    return shared.index_select(0, sets.vertex_index)


def add_broadcast(out: Tensor, shared: Tensor, sets: Any,
                  layout: Optional[SetLayout] = None) -> Tensor:
    """``out + broadcast(shared, sets)``, as one broadcasting add (no gathered
    copy of ``shared``) when the batch is dense."""
    layout = layout_of(sets, graphs=False) if layout is None else layout
    if layout.dense and out.size(0) == sets.vertex_index.size(0):
        B, n, V = num_sets(sets), layout.set_size, layout.num_vertices
        rest = out.shape[1:]
        return (out.view(B, n, V, *rest) + shared.view(B, 1, V, *shared.shape[1:])
                ).view(out.shape)
    return out + broadcast(shared, sets, layout)
