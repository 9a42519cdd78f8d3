"""The k-nearest-neighbour graphs of the elements of a set (and of its shared domain)."""
from __future__ import annotations

from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import scatter

from pyg_dss.data import SetData, coverage_of, require_single_set
from pyg_dss.nn.pointnet import knn_graph

__all__ = ["KNNSetGraph"]


class KNNSetGraph(BaseTransform):
    r"""Connects the points of every element of a set to their ``k`` nearest
    neighbours (by ``pos``), for point-cloud bases such as
    :class:`~pyg_dss.nn.KNNPointNetConv`.  For a corresponded set (coverage
    ``"full"``) the shared domain gets the k-NN graph of the mean position of
    every vertex over the set, the positions the shared branch sees; a
    ``"partial"`` set keeps the shared graph it was given, a ``"pooled"`` one
    its one-vertex domain.  Edge features of the replaced graphs are removed,
    as :class:`torch_geometric.transforms.KNNGraph` does.

    A transform of one set (a dataset's ``transform=``): applied to a batch
    it raises, since a batch's edges cannot change size without breaking
    :meth:`~torch_geometric.data.Batch.to_data_list`.

    Args:
        k: number of neighbours.
        loop: whether to add self-loops.
    """
    def __init__(self, k: int = 16, loop: bool = False) -> None:
        self.k, self.loop = k, loop

    def forward(self, data: SetData) -> SetData:
        require_single_set(data, self)
        if data.get("pos") is None:
            raise ValueError("KNNSetGraph needs point positions 'pos' on the set.")
        data.edge_index = knn_graph(data.pos, self.k, data.element_index, loop=self.loop)
        data.edge_attr = data.edge_weight = None  # features of the old edges (as T.KNNGraph)
        if coverage_of(data) == "full" and int(data.num_vertices) > 1:
            mean_pos = scatter(data.pos, data.vertex_index, dim=0,
                               dim_size=int(data.num_vertices), reduce="mean")
            data.shared_edge_index = knn_graph(mean_pos, self.k, loop=self.loop)
            data.shared_edge_attr = None
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(k={self.k})"
