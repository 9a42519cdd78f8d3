"""The k-nearest-neighbour graphs of the elements of a set (and of its shared domain)."""
from __future__ import annotations

from torch_geometric.transforms import BaseTransform

from pyg_dss.data import SetData
from pyg_dss.nn.aggr import set_aggregate
from pyg_dss.nn.pointnet import knn_graph


class KNNSetGraph(BaseTransform):
    r"""Connects the points of every element of a set to their ``k`` nearest
    neighbours (by ``pos``), for point-cloud bases such as
    :class:`~pyg_dss.nn.KNNPointNetConv`.  For a corresponded set the shared
    domain gets the k-NN graph of the mean position of every vertex over the
    set, the positions the shared branch sees; an uncorresponded set keeps its
    one-vertex domain.

    Args:
        k: number of neighbours.
        loop: whether to add self-loops.
    """
    def __init__(self, k: int = 16, loop: bool = False) -> None:
        self.k, self.loop = k, loop

    def forward(self, data: SetData) -> SetData:
        if data.get("pos") is None:
            raise ValueError("KNNSetGraph needs point positions 'pos' on the set.")
        data.edge_index = knn_graph(data.pos, self.k, data.element_index, loop=self.loop)
        if int(data.num_vertices) > 1:
            mean_pos = set_aggregate(data.pos, data, "mean")
            data.shared_edge_index = knn_graph(mean_pos, self.k, loop=self.loop)
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(k={self.k})"
