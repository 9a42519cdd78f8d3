"""Sharing across the elements of a set: aggregate per shared vertex, broadcast back."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch_geometric.utils import scatter

REDUCTIONS = ("sum", "mean", "max")


def check_reduce(reduce: str) -> str:
    if reduce not in REDUCTIONS:
        raise ValueError(f"Unknown aggregation {reduce!r}; choose one of {REDUCTIONS}.")
    return reduce


def num_shared_vertices(sets: Any) -> int:
    """Total number of shared-domain vertices held by a set or a batch of sets."""
    n = sets.num_vertices
    return int(n.sum()) if isinstance(n, Tensor) else int(n)


def set_aggregate(x: Tensor, sets: Any, reduce: str = "sum") -> Tensor:
    r"""Aggregates node features over the elements of each set, per shared
    vertex: :math:`\mathrm{AGG}_{j} x_j[v]` for a corresponded set (one row per
    vertex of the shared domain), :math:`\mathrm{AGG}` over all nodes of all
    elements for an uncorresponded set (its shared domain is one vertex).

    Returns a tensor of shape [total shared vertices, C].
    """
    return scatter(x, sets.vertex_index, dim=0, dim_size=num_shared_vertices(sets),
                   reduce=reduce)


def broadcast(shared: Tensor, sets: Any) -> Tensor:
    """Sends a per-shared-vertex tensor back to every node that maps to it."""
    return shared.index_select(0, sets.vertex_index)
