"""Sharing across the elements of a set: aggregate per shared vertex, broadcast back.

When the batch is dense (its :class:`~pyg_dss.layout.SetLayout` has a
``set_size``: B sets of n elements, each on the same V vertices in order) the
aggregate is ``x.view(B, n, V, C).sum(1)`` and the broadcast a view, instead
of a scatter and a gather.  Otherwise :func:`torch_geometric.utils.scatter`
runs over ``vertex_index``; it also serves elements that cover only part of
the shared domain (a vertex aggregates over the elements it appears in).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from pyg_dss.layout import SetLayout, layout_of

__all__ = ["set_aggregate", "broadcast", "add_broadcast", "num_shared_vertices", "check_reduce",
           "reduce_dim", "dense_blocks"]

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
    """Total number of shared-domain vertices held by a set or a batch of sets:
    from the layout when it knows it (no host sync), else read from
    ``num_vertices``."""
    if layout is not None and layout.num_vertices is not None:
        return sets.num_sets * layout.num_vertices   # static under torch.compile
    if layout is not None and layout.shared_vertices is not None:
        return layout.shared_vertices
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
        out = reduce_dim(dense_blocks(x, sets, layout), 1, reduce)
        return out.view(-1, *x.shape[1:])
    return scatter(x, sets.vertex_index, dim=0, dim_size=num_shared_vertices(sets, layout),
                   reduce=reduce)


def broadcast(shared: Tensor, sets: Any, layout: Optional[SetLayout] = None) -> Tensor:
    """Sends a per-shared-vertex tensor back to every node that maps to it."""
    layout = layout_of(sets, graphs=False) if layout is None else layout
    if layout.dense:
        (n, V), B = layout.dense_sizes(), sets.num_sets
        rest = shared.shape[1:]
        return shared.view(B, 1, V, *rest).expand(B, n, V, *rest).reshape(B * n * V, *rest)
    return shared.index_select(0, sets.vertex_index)


def add_broadcast(out: Tensor, shared: Tensor, sets: Any,
                  layout: Optional[SetLayout] = None, inplace: bool = False) -> Tensor:
    """``out + broadcast(shared, sets)``, as one broadcasting add (no gathered
    copy of ``shared``) when the batch is dense; into ``out`` itself with
    ``inplace=True`` (only where no backward needs ``out``)."""
    layout = layout_of(sets, graphs=False) if layout is None else layout
    if layout.dense and out.size(0) == sets.vertex_index.size(0):
        return _DenseAddBroadcast.apply(out, shared, sets.num_sets, layout.set_size,
                                        layout.num_vertices, inplace)
    shared = broadcast(shared, sets, layout)
    return out.add_(shared) if inplace else out + shared


class _DenseAddBroadcast(torch.autograd.Function):
    """``out`` [B n V, C] plus ``shared`` [B V, C] broadcast over the n
    elements, returned as an [N, C] tensor of its own (written into ``out``
    when ``inplace``), not as a view of a [B, n, V, C] one: an in-place op on
    a view (the ReLU that follows) costs autograd two full copies in the
    backward (CopySlices)."""
    @staticmethod
    def forward(ctx: Any, out: Tensor, shared: Tensor, B: int, n: int, V: int,
                inplace: bool) -> Tensor:
        ctx.sizes = (B, n, V)
        result = out if inplace else torch.empty_like(out)
        rest = out.shape[1:]
        torch.add(out.view(B, n, V, *rest), shared.view(B, 1, V, *rest),
                  out=result.view(B, n, V, *rest))
        if inplace:
            ctx.mark_dirty(out)
        return result

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[Optional[Tensor], ...]:
        B, n, V = ctx.sizes
        grad_shared = None
        if ctx.needs_input_grad[1]:
            grad_shared = grad.view(B, n, V, *grad.shape[1:]).sum(1).view(B * V,
                                                                          *grad.shape[1:])
        return grad, grad_shared, None, None, None, None


def dense_blocks(x: Tensor, sets: Any, layout: SetLayout) -> Tensor:
    """``x`` [N, ...] viewed as [B, n, V, ...] (the layout must be dense)."""
    return x.view(sets.num_sets, *layout.dense_sizes(), *x.shape[1:])
