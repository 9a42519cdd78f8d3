"""PyG transforms for :class:`~pyg_dss.data.SetData`."""
from pyg_dss.transforms.knn import KNNSetGraph
from pyg_dss.transforms.set_transform import SetTransform
from pyg_dss.transforms.subgraph_bag import POLICIES, SampleSubgraphs, SubgraphBag
from pyg_dss.transforms.subgraph_features import SubgraphOneHotDegree
from pyg_dss.transforms.subsample import SubsampleVertices

__all__ = ["KNNSetGraph", "SetTransform", "SubsampleVertices", "SubgraphBag",
           "SampleSubgraphs", "POLICIES", "SubgraphOneHotDegree"]
