"""Layers, heads, losses and ready models of pyg-dss: what a model is built
from. Helpers of the layers (``pyg_dss.nn.utils``, ``pyg_dss.nn.aggr``'s
internals, ``pyg_dss.nn.pointnet.knn_graph``, ``make_layer``) stay in their
modules."""
from pyg_dss.nn.aggr import broadcast, set_aggregate
from pyg_dss.nn.baselines import AittalaConv, SridharConv
from pyg_dss.nn.dense import (DenseAittalaConv, DenseDeepSetsLayer, DenseDSSConv,
                              DenseSridharConv, ElementWise, GridSetNet, GridSetUNet,
                              apply_to_elements, dense_set_aggregate, make_dense_layer,
                              masked_set_log_softmax, to_dense_sets)
from pyg_dss.nn.dss_conv import DSSConv
from pyg_dss.nn.heads import (DeepSetsLayer, ElementPool, set_argmax, set_log_softmax,
                              set_nll_loss)
from pyg_dss.nn.model import BASES, DSSNet
from pyg_dss.nn.pointnet import KNNPointNetConv, PointNetLayer
from pyg_dss.nn.set_gcn import SetGCNConv
from pyg_dss.nn.subgraph_gnn import CONVS, ESAN_CONFIGS, ESANSubgraphGNN, SubgraphGNN
from pyg_dss.nn.variants import VARIANTS

__all__ = [
    "DSSConv", "SridharConv", "AittalaConv", "SetGCNConv", "PointNetLayer", "KNNPointNetConv",
    "ElementPool", "DeepSetsLayer", "set_log_softmax", "set_argmax", "set_nll_loss",
    "set_aggregate", "broadcast", "DSSNet", "BASES", "VARIANTS",
    "SubgraphGNN", "CONVS", "ESANSubgraphGNN", "ESAN_CONFIGS",
    # sets of grid elements (pyg_dss.nn.dense)
    "to_dense_sets", "dense_set_aggregate", "apply_to_elements", "ElementWise", "DenseDSSConv",
    "DenseSridharConv", "DenseAittalaConv", "DenseDeepSetsLayer", "masked_set_log_softmax",
    "make_dense_layer", "GridSetNet", "GridSetUNet",
]
