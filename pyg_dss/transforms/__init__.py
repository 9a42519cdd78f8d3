"""PyG transforms for :class:`~pyg_dss.data.SetData`."""
from pyg_dss.transforms.knn import KNNSetGraph
from pyg_dss.transforms.subgraph_bag import POLICIES, SampleSubgraphs, SubgraphBag

__all__ = ["KNNSetGraph", "SubgraphBag", "SampleSubgraphs", "POLICIES"]
