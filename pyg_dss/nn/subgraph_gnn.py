r"""DS-GNN and DSS-GNN on bags of subgraphs (Bevilacqua et al., *Equivariant
Subgraph Aggregation Networks*, ICLR 2022), built from :class:`DSSConv`."""
from __future__ import annotations

import copy
from typing import Any, Dict, Optional, Sequence

import torch
from torch import Tensor
from torch.nn import (ELU, BatchNorm1d, Embedding, Linear, Module, ModuleList, ReLU,
                      Sequential)
from torch_geometric.nn import GINConv, GINEConv, GraphConv, GraphNorm
from torch_geometric.nn.inits import reset
from torch_geometric.utils import scatter

from pyg_dss.checkpoint import register_model
from pyg_dss.layout import layout_of
from pyg_dss.nn.aggr import check_reduce
from pyg_dss.nn.config import Configurable
from pyg_dss.nn.dss_conv import DSSConv
from pyg_dss.nn.heads import DeepSetsLayer, ElementPool
from pyg_dss.nn.set_gcn import SetGCNConv

#: Base layers :math:`L_1, L_2` of a :class:`SubgraphGNN` layer.
CONVS = ("gin", "gine", "gcn", "graphconv")
#: ``"ds"``: DS-GNN (siamese layers, DeepSets over the bag); ``"dss"``: DSS-GNN.
SUBGRAPH_VARIANTS = ("ds", "dss")
#: The normalisation after every layer: over the nodes of the batch, or of each bag.
NORMS = ("batch", "graph")


def subgraph_conv(conv: str, in_channels: int, out_channels: int,
                  edge_dim: Optional[int] = None) -> Module:
    r"""A base layer of ESAN: ``"gin"`` (:class:`~torch_geometric.nn.GINConv`
    with the MLP Linear-ReLU-Linear), ``"gine"`` (the same MLP in
    :class:`~torch_geometric.nn.GINEConv`, edge features of size
    ``edge_dim``), ``"gcn"`` (:class:`~pyg_dss.nn.SetGCNConv`, the math of
    PyG's ``GCNConv``) or ``"graphconv"``
    (:class:`~torch_geometric.nn.GraphConv`).  The MLP has no BatchNorm of its
    own: see :class:`SubgraphGNN` for where the normalisation sits."""
    def mlp() -> Sequential:
        return Sequential(Linear(in_channels, out_channels), ReLU(),
                          Linear(out_channels, out_channels))
    if conv == "gin":
        return GINConv(mlp(), train_eps=True)
    if conv == "gine":
        if edge_dim is None:
            raise ValueError("conv='gine' uses edge features: give edge_dim.")
        return GINEConv(mlp(), train_eps=True, edge_dim=edge_dim)
    if conv == "gcn":
        return SetGCNConv(in_channels, out_channels)
    if conv == "graphconv":
        return GraphConv(in_channels, out_channels)
    raise ValueError(f"Unknown conv {conv!r}; choose one of {CONVS}.")


@register_model
class SubgraphGNN(Configurable, Module):
    r"""DS-GNN and DSS-GNN (Bevilacqua et al., ICLR 2022) on bags of subgraphs
    (:class:`~pyg_dss.transforms.SubgraphBag`): one prediction per graph.

    Every layer is a :class:`~pyg_dss.nn.DSSConv` (aggregation: mean), then a
    normalisation and ReLU.  For a bag :math:`S_1, \dots, S_n` of a graph
    :math:`G`, DSS-GNN computes at every node :math:`v` of every subgraph
    :math:`S_i`

    .. math::
        \mathbf{h}_{i,v} \leftarrow \mathrm{ReLU}\Big(\mathrm{Norm}\big(
        L_1(\mathbf{h}_i, S_i)_v + L_2(\bar{\mathbf{h}}, G)_v\big)\Big),
        \qquad \bar{\mathbf{h}}_v = \operatorname*{mean}_{j:\,v \in S_j}
        \mathbf{h}_{j,v},

    the base GNN on each subgraph plus the base GNN on the original graph
    applied to the aggregate over the copies of each node (a node held by some
    subgraphs only aggregates over those).  DS-GNN drops :math:`L_2`: the
    subgraphs are processed independently (siamese) and meet in the readout.

    Normalisation, one per layer after the two branches are added (ESAN's
    code has a BatchNorm per branch and one inside the GIN MLP): ``"batch"``,
    BatchNorm over the nodes of the batch, as ESAN; or ``"graph"``,
    :class:`~torch_geometric.nn.norm.GraphNorm` over the nodes of each bag,
    which computes the same in training and evaluation.  Bags of symmetric
    graphs need the latter: under node or edge deletion every node of a
    vertex-transitive graph (all of CSL) has the same multiset of copies, the
    features differ from class to class by about as much as from node to
    node, and BatchNorm centres them with the mean of the batch in training
    but with the mean of the whole training set in evaluation.  Measured on
    CSL (DSS-GNN, node-deleted, 6 layers): test accuracy 0.5-0.9 in eval mode
    while training accuracy reached 1.0 with ``"batch"``; 1.0 in both with
    ``"graph"``.  A norm on the shared branch alone would be worse: there the
    input is constant over the whole dataset in the first layers, and a
    BatchNorm divides rounding differences by :math:`\sqrt{\epsilon}`
    (measured: eval-mode outputs of 1e5).

    Readout (ESAN's): pool the nodes of every subgraph (``pool``); DS-GNN then
    applies DeepSets layers over the bag (:math:`\mathbf{z}_i \leftarrow
    \mathrm{ELU}(\mathbf{A}\mathbf{z}_i + \mathbf{B}\,\mathrm{mean}_j
    \mathbf{z}_j)`, widths ``set_hidden``); the mean over the bag, then
    Linear-ReLU-Linear (width 2x) give the output.  Invariant to relabelling
    the nodes of the graph (the same relabelling in every subgraph) and to the
    order of the subgraphs.

    Args:
        in_channels: node feature size, or with ``categorical=True`` the
            number of node types (``x`` holds type ids, e.g. ZINC's atoms).
        out_channels: outputs per graph (classes, or regression targets).
        variant: ``"dss"`` or ``"ds"``.
        conv: the base layer, one of :data:`CONVS`.
        hidden: width of every layer.
        num_layers: number of layers.
        edge_dim: edge feature size (or number of edge types with
            ``categorical=True``); needed by ``conv="gine"``, which is the
            base that reads edge features.
        categorical: ``x`` (and ``edge_attr``) hold integer type ids, embedded
            by learned tables; otherwise they are float features.
        policy_aware: the model reads the policy's marks: node-level
            ``root_mark`` of an ``"ego_nets_plus"`` bag, prepended to the
            input as a one-hot pair as in ESAN.  A bag with marks needs
            ``policy_aware=True`` and one without needs :obj:`False`
            (checked: marks are never ignored silently).
        pool: pooling over the nodes of a subgraph: ``"mean"`` (ESAN's
            DSS-GNN), ``"sum"`` or ``"max"``.
        set_hidden: widths of DS-GNN's DeepSets layers (unused by DSS-GNN,
            whose layers already share across the bag).
        norm: ``"batch"`` or ``"graph"`` (see above).
    """
    def __init__(self, in_channels: int, out_channels: int, variant: str = "dss",
                 conv: str = "gin", hidden: int = 64, num_layers: int = 4,
                 edge_dim: Optional[int] = None, categorical: bool = False,
                 policy_aware: bool = False, pool: str = "mean",
                 set_hidden: Sequence[int] = (64, 64), norm: str = "batch") -> None:
        super().__init__()
        if variant not in SUBGRAPH_VARIANTS:
            raise ValueError(f"Unknown variant {variant!r}; choose one of {SUBGRAPH_VARIANTS}.")
        if conv not in CONVS:
            raise ValueError(f"Unknown conv {conv!r}; choose one of {CONVS}.")
        if conv == "gine" and edge_dim is None:
            raise ValueError("conv='gine' uses edge features: give edge_dim (the edge feature "
                             "size, or the number of edge types with categorical=True).")
        if edge_dim is not None and conv != "gine":
            raise ValueError(f"conv={conv!r} does not read edge features; use conv='gine' with "
                             "edge_dim, or leave edge_dim unset.")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
        if norm not in NORMS:
            raise ValueError(f"Unknown norm {norm!r}; choose one of {NORMS}.")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.variant, self.conv, self.hidden, self.num_layers = variant, conv, hidden, num_layers
        self.edge_dim, self.categorical, self.policy_aware = edge_dim, categorical, policy_aware
        self.pool_reduce = check_reduce(pool)
        self.set_hidden, self.norm = tuple(set_hidden), norm

        self.node_encoder = Embedding(in_channels, hidden) if categorical else None
        self.edge_encoder = (Embedding(edge_dim, hidden) if categorical and edge_dim is not None
                             else None)
        conv_edge_dim = hidden if self.edge_encoder is not None else edge_dim
        channels = (hidden if categorical else in_channels) + (2 if policy_aware else 0)
        self.layers = ModuleList()
        self.norms = ModuleList()
        for _ in range(num_layers):
            shared = (subgraph_conv(conv, channels, hidden, conv_edge_dim)
                      if variant == "dss" else None)
            self.layers.append(DSSConv(
                subgraph_conv(conv, channels, hidden, conv_edge_dim), shared, aggr="mean"))
            self.norms.append(BatchNorm1d(hidden) if norm == "batch" else GraphNorm(hidden))
            channels = hidden
        self.act = ReLU()
        self.pool = ElementPool(pool)
        self.set_layers = ModuleList()
        if variant == "ds":
            for width in self.set_hidden:
                self.set_layers.append(DeepSetsLayer(channels, width, aggr="mean"))
                channels = width
        self.set_act = ELU()
        self.head = Sequential(Linear(channels, 2 * channels), ReLU(),
                               Linear(2 * channels, out_channels))

    def _constructor_args(self) -> Dict[str, Any]:
        return {"in_channels": self.in_channels, "out_channels": self.out_channels,
                "variant": self.variant, "conv": self.conv, "hidden": self.hidden,
                "num_layers": self.num_layers, "edge_dim": self.edge_dim,
                "categorical": self.categorical, "policy_aware": self.policy_aware,
                "pool": self.pool_reduce, "set_hidden": list(self.set_hidden),
                "norm": self.norm}

    def reset_parameters(self) -> None:
        for m in (self.node_encoder, self.edge_encoder, *self.layers, *self.set_layers,
                  self.head):
            reset(m)

    def encode(self, bags: Any) -> Dict[str, Optional[Tensor]]:
        """The inputs of the first layer: node features (with the policy's
        marks), and the edge features of the subgraphs and of the original
        graph."""
        x = bags.x
        if self.categorical:
            if x.dim() == 2 and x.size(1) == 1:
                x = x.view(-1)
            if x.dim() != 1 or x.is_floating_point():
                raise ValueError(f"categorical=True expects integer node types x of shape [N] "
                                 f"or [N, 1], got {x.dtype} {tuple(bags.x.shape)}.")
            x = self.node_encoder(x)
        marks = bags.get("root_mark")
        if self.policy_aware != (marks is not None):
            raise ValueError(
                "These bags mark their roots (root_mark: policy 'ego_nets_plus'), but the "
                "model was built with policy_aware=False and would ignore them; build it with "
                "policy_aware=True." if marks is not None else
                "The model was built with policy_aware=True, but these bags have no "
                "'root_mark' (only the 'ego_nets_plus' policy marks roots).")
        if marks is not None:
            x = torch.cat([torch.nn.functional.one_hot(marks.long(), 2).to(x.dtype), x], dim=1)
        edge_attr = shared_edge_attr = None
        if self.edge_dim is not None:
            edge_attr, shared_edge_attr = bags.get("edge_attr"), bags.get("shared_edge_attr")
            if edge_attr is None or shared_edge_attr is None:
                raise ValueError("The model reads edge features (edge_dim is set), but the "
                                 "bags lack 'edge_attr' / 'shared_edge_attr'.")
            if self.edge_encoder is not None:
                edge_attr = self.edge_encoder(edge_attr.view(-1))
                shared_edge_attr = self.edge_encoder(shared_edge_attr.view(-1))
        return {"x": x, "edge_attr": edge_attr, "shared_edge_attr": shared_edge_attr}

    def forward(self, bags: Any) -> Tensor:
        """Outputs [num_graphs, out_channels] for a bag or a batch of bags."""
        inputs = self.encode(bags)
        x, edge_attr = inputs["x"], inputs["edge_attr"]
        kwargs = {} if edge_attr is None else {"edge_attr": edge_attr}
        if inputs["shared_edge_attr"] is not None:
            # DSSConv reads the original graph's edge features from the bags.
            bags = copy.copy(bags)  # a new store, the same tensors
            bags.shared_edge_attr = inputs["shared_edge_attr"]
        graph_of_node = bags.get("batch")  # None for a single bag: one graph
        layout = layout_of(bags)  # once per step: checking a carried layout reads the host
        for layer, norm in zip(self.layers, self.norms):
            x = layer(x, bags.edge_index, bags, layout=layout, **kwargs)
            x = self.act(norm(x) if self.norm == "batch" else norm(x, graph_of_node))
        z = self.pool(x, bags, layout)            # one vector per subgraph
        for layer in self.set_layers:
            z = self.set_act(layer(z, bags, layout))
        g = scatter(z, bags.element_set, dim=0, dim_size=bags.num_sets, reduce="mean")
        return self.head(g)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"variant={self.variant!r}, conv={self.conv!r}, layers={self.num_layers}, "
                f"norm={self.norm!r}, policy_aware={self.policy_aware})")
