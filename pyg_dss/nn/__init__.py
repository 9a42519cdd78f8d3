"""Layers, heads and the ready model of pyg-dss."""
from pyg_dss.nn.aggr import broadcast, set_aggregate
from pyg_dss.nn.baselines import AittalaConv, SridharConv
from pyg_dss.nn.dss_conv import DSSConv
from pyg_dss.nn.heads import (DeepSetsLayer, ElementPool, set_argmax, set_log_softmax,
                              set_nll_loss)
from pyg_dss.nn.model import BASES, VARIANTS, DSSNet, make_layer
from pyg_dss.nn.set_gcn import SetGCNConv
from pyg_dss.nn.pointnet import KNNPointNetConv, PointNetLayer, knn_graph

__all__ = [
    "DSSConv", "SridharConv", "AittalaConv", "PointNetLayer", "KNNPointNetConv", "knn_graph",
    "ElementPool", "DeepSetsLayer", "set_log_softmax", "set_argmax", "set_nll_loss",
    "DSSNet", "make_layer", "BASES", "VARIANTS", "set_aggregate", "broadcast",
    "SetGCNConv",
]

from pyg_dss.nn import dense  # noqa: E402  (dense DSS layers for sets of grid elements)
from pyg_dss.nn.dense import *  # noqa: E402,F401,F403

__all__ += dense.__all__

from pyg_dss.nn.subgraph_gnn import CONVS, SUBGRAPH_VARIANTS, SubgraphGNN, subgraph_conv  # noqa: E402,E501
from pyg_dss.nn.subgraph_gnn import ESAN_CONFIGS, ESANSubgraphGNN  # noqa: E402
__all__ += ["SubgraphGNN", "subgraph_conv", "CONVS", "SUBGRAPH_VARIANTS", "ESANSubgraphGNN",
            "ESAN_CONFIGS"]
