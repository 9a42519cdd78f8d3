"""Layers, heads, losses and ready models of pyg-dss: what a model is built
from. Helpers of the layers (``pyg_dss.nn.utils``, ``pyg_dss.nn.aggr``'s
internals, ``pyg_dss.nn.pointnet.knn_graph``, ``make_layer``) stay in their
modules."""
from pyg_dss.nn.aggr import broadcast, set_aggregate
from pyg_dss.nn.baselines import AittalaConv, SridharConv
from pyg_dss.nn.dss_conv import DSSConv
from pyg_dss.nn.heads import (DeepSetsLayer, ElementPool, set_argmax, set_log_softmax,
                              set_nll_loss)
from pyg_dss.nn.model import BASES, DSSNet
from pyg_dss.nn.pointnet import KNNPointNetConv, PointNetLayer
from pyg_dss.nn.variants import VARIANTS
from pyg_dss.nn.set_gcn import SetGCNConv

__all__ = [
    "DSSConv", "SridharConv", "AittalaConv", "SetGCNConv", "PointNetLayer", "KNNPointNetConv",
    "ElementPool", "DeepSetsLayer", "set_log_softmax", "set_argmax", "set_nll_loss",
    "set_aggregate", "broadcast", "DSSNet", "BASES", "VARIANTS",
]

from pyg_dss.nn import dense  # noqa: E402  (dense DSS layers for sets of grid elements)
from pyg_dss.nn.dense import *  # noqa: E402,F401,F403

__all__ += dense.__all__

from pyg_dss.nn.subgraph_gnn import CONVS, SubgraphGNN  # noqa: E402
__all__ += ["SubgraphGNN", "CONVS"]
