"""PointNet base layers for point-cloud elements, and a k-NN graph that needs
only torch."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch.nn import Linear, Module
from torch_geometric.nn import PointNetConv
import torch_geometric.typing

from pyg_dss.nn.utils import linear

__all__ = ["PointNetLayer", "KNNPointNetConv", "knn_graph"]

# PyG >= 2.7 takes k-NN from pyg-lib, older releases from torch-cluster.
_PYG_KNN = (getattr(torch_geometric.typing, "WITH_KNN", False)
            or getattr(torch_geometric.typing, "WITH_TORCH_CLUSTER", False))


class PointNetLayer(Module):
    r"""The shared per-point layer of PointNet (what the DSS paper used as
    the point-cloud base): :math:`\mathbf{y}_v = \mathbf{W}\mathbf{x}_v +
    \mathbf{b}` on every point, ignoring ``edge_index``; equivariant to any
    permutation of the points.  Stack it with a norm and a nonlinearity for a
    PointNet MLP.
    """
    def __init__(self, in_channels: int, out_channels: int, bias: bool = True) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lin = Linear(in_channels, out_channels, bias=bias)

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()

    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None) -> Tensor:
        return linear(x, self.lin.weight, self.lin.bias)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels})"


class KNNPointNetConv(Module):
    r"""PyG's :class:`~torch_geometric.nn.conv.PointNetConv` with a one-layer
    local network, called as ``layer(x, edge_index, pos=pos)`` so that it fits
    :class:`~pyg_dss.nn.DSSConv`:

    .. math::
        \mathbf{y}_i = \max_{j \in \mathcal{N}(i) \cup \{ i \}}
        \mathbf{W}\,[\mathbf{x}_j \,\Vert\, \mathbf{p}_j - \mathbf{p}_i] + \mathbf{b}.

    Build ``edge_index`` (and a set's ``shared_edge_index``) with
    :class:`pyg_dss.transforms.KNNSetGraph`.
    """
    def __init__(self, in_channels: int, out_channels: int, pos_dim: int = 3) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.conv = PointNetConv(local_nn=Linear(in_channels + pos_dim, out_channels))

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, pos: Tensor) -> Tensor:
        return self.conv(x, pos, edge_index)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels})"


def knn_graph(pos: Tensor, k: int, batch: Optional[Tensor] = None, loop: bool = False,
              chunk_size: int = 2048) -> Tensor:
    r"""The k-nearest-neighbour graph of ``pos`` within each group of
    ``batch`` (sorted), as ``edge_index`` [2, N*k] with edges
    neighbour -> centre (PyG's ``source_to_target`` flow).

    Uses :func:`torch_geometric.nn.knn_graph` when pyg-lib (or, on older
    PyG, torch-cluster) provides it, else a chunked :func:`torch.cdist` and :func:`torch.topk`
    (memory ``chunk_size`` x group size).  A group smaller than ``k + 1``
    points links every point to all others.
    """
    if _PYG_KNN:
        from torch_geometric.nn import knn_graph as pyg_knn_graph
        return pyg_knn_graph(pos, k, batch, loop=loop)
    if batch is None:
        batch = pos.new_zeros(pos.size(0), dtype=torch.long)
    counts = torch.bincount(batch).tolist()
    rows, cols, start = [], [], 0
    for count in counts:
        group = pos[start:start + count]
        kk = min(k, count if loop else count - 1)
        for lo in range(0, count, chunk_size):
            dist = torch.cdist(group[lo:lo + chunk_size], group)
            if not loop:
                idx = torch.arange(lo, min(lo + chunk_size, count), device=pos.device)
                dist[idx - lo, idx] = float("inf")
            nbr = dist.topk(kk, dim=1, largest=False).indices
            centre = torch.arange(lo, lo + nbr.size(0), device=pos.device)
            rows.append(nbr.reshape(-1) + start)
            cols.append(centre.repeat_interleave(kk) + start)
        start += count
    if not rows:
        return pos.new_empty(2, 0, dtype=torch.long)
    return torch.stack([torch.cat(rows), torch.cat(cols)])
