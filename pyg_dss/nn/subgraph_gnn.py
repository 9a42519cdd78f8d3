r"""DS-GNN and DSS-GNN on bags of subgraphs (Bevilacqua et al., *Equivariant
Subgraph Aggregation Networks*, ICLR 2022), built from :class:`DSSConv`."""
from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import Tensor
from torch.nn import (ELU, BatchNorm1d, Dropout, Embedding, Linear, Module, ModuleList, ReLU,
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
from pyg_dss.transforms.subgraph_bag import POLICIES

__all__ = ["SubgraphGNN", "subgraph_conv", "CONVS", "SUBGRAPH_VARIANTS", "NORMS",
           "ESANSubgraphGNN", "ESAN_CONFIGS", "esan_conv", "EdgeEmbeddingGINEConv",
           "SumOfEmbeddings"]

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
    code has a BatchNorm per branch and one inside the GIN MLP: its exact
    networks are :meth:`SubgraphGNN.esan`): ``"batch"``,
    BatchNorm over the nodes of the batch, as ESAN; or ``"graph"``,
    :class:`~torch_geometric.nn.norm.GraphNorm` over the nodes of each bag,
    which computes the same in training and evaluation.  Bags of symmetric
    graphs need the latter: under node or edge deletion every node of a
    vertex-transitive graph (all of CSL) has the same multiset of copies, the
    features differ from class to class by about as much as from node to
    node, and BatchNorm centres them with the mean of the batch in training
    but with the mean of the whole training set in evaluation (the
    measurement is in the documentation's subgraph tutorial).  A norm on the
    shared branch alone would be worse: there the input is constant over the
    whole dataset in the first layers, and a BatchNorm divides rounding
    differences by :math:`\sqrt{\epsilon}`.

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
        if self.node_encoder is not None:   # categorical
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
        for layer, norm in zip(self.layers, self.norms, strict=True):
            x = layer(x, bags.edge_index, bags, layout=layout, **kwargs)
            x = self.act(norm(x) if self.norm == "batch" else norm(x, graph_of_node))
        z = self.pool(x, bags, layout)            # one vector per subgraph
        for layer in self.set_layers:
            z = self.set_act(layer(z, bags, layout))
        g = scatter(z, bags.element_set, dim=0, dim_size=bags.num_sets, reduce="mean")
        return self.head(g)

    @classmethod
    def esan(cls, config: str, in_channels: int, out_channels: int, variant: str = "dss",
             policy: str = "ego_nets_plus", **overrides: Any) -> "ESANSubgraphGNN":
        """ESAN's published network for ``config`` (one of
        :data:`ESAN_CONFIGS`): see :class:`ESANSubgraphGNN`, which this
        returns; ``overrides`` (``hidden``, ``num_layers``, ``channels``)
        pick another point of the published grid."""
        return ESANSubgraphGNN(config, in_channels, out_channels, variant, policy, **overrides)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"variant={self.variant!r}, conv={self.conv!r}, layers={self.num_layers}, "
                f"norm={self.norm!r}, policy_aware={self.policy_aware})")


#: Configurations of :meth:`SubgraphGNN.esan`, after ESAN's
#: ``configs/deterministic`` (Bevilacqua et al., ICLR 2022).
ESAN_CONFIGS = ("zinc", "tu", "csl", "exp", "ogb")

# Per configuration: base layer, width, depth, jumping knowledge (concat),
# dropout, widths of DS-GNN's layers over the bag.  Where ESAN's grid has
# several values the first one is the default (``overrides`` pick others).
_PUBLISHED: Dict[str, Dict[str, Any]] = {
    "zinc": {"conv": "zincgin", "hidden": 64, "num_layers": 4, "jk": True, "dropout": 0.0,
             "channels": (96, )},
    "tu": {"conv": "originalgin", "hidden": 16, "num_layers": 4, "jk": True, "dropout": 0.0,
           "channels": (64, 64)},
    "csl": {"conv": "originalgin", "hidden": 32, "num_layers": 4, "jk": True, "dropout": 0.0,
            "channels": (32, 32)},
    "exp": {"conv": "originalgin", "hidden": 32, "num_layers": 6, "jk": True, "dropout": 0.0,
            "channels": (64, 64)},
    "ogb": {"conv": "gin", "hidden": 300, "num_layers": 5, "jk": False, "dropout": 0.5,
            "channels": (32, 32)},
}
#: Sizes of the categorical columns of OGB's molecular atom and bond features
#: (``ogb.utils.features``), embedded and summed as OGB's encoders do.
OGB_ATOM_FEATURE_DIMS = (119, 4, 12, 12, 10, 6, 6, 2, 2)
OGB_BOND_FEATURE_DIMS = (5, 6, 2)
#: Atom and bond types of ZINC.
ZINC_ATOM_TYPES, ZINC_BOND_TYPES = 21, 4


class SumOfEmbeddings(Module):
    r"""OGB's atom / bond encoder: one embedding table per categorical column,
    :math:`\mathbf{h} = \sum_c \mathbf{E}_c[x_c]` (tables initialised
    Xavier-uniform, as OGB's).  Input: integer features [N, len(dims)]."""
    def __init__(self, dims: Sequence[int], out_channels: int) -> None:
        super().__init__()
        self.dims, self.out_channels = tuple(dims), out_channels
        self.tables = ModuleList(Embedding(d, out_channels) for d in self.dims)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for table in self.tables:
            assert isinstance(table, Embedding)
            torch.nn.init.xavier_uniform_(table.weight)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 2 or x.size(1) != len(self.tables) or x.is_floating_point():
            raise ValueError(f"Expected integer features of shape [N, {len(self.tables)}] "
                             f"(OGB's categorical columns), got {x.dtype} {tuple(x.shape)}.")
        return sum(table(x[:, c]) for c, table in enumerate(self.tables))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({list(self.dims)}, {self.out_channels})"


class EdgeEmbeddingGINEConv(Module):
    r"""A GINE layer (:class:`~torch_geometric.nn.GINEConv`, trainable
    :math:`\epsilon` starting at 0) with its own edge embedding, as ESAN's
    ``ZINCGINConv`` and OGB ``GINConv``:

    .. math::
        \mathbf{x}'_v = \mathrm{MLP}\Big((1 + \epsilon)\mathbf{x}_v +
        \sum_{u \in N(v)} \mathrm{ReLU}(\mathbf{x}_u + \mathbf{E}[e_{uv}])\Big),

    with MLP Linear-BatchNorm-ReLU-Linear of hidden width ``mlp_width``.

    Args:
        in_channels, out_channels, mlp_width: sizes.
        edge_encoder: maps ``edge_attr`` to [E, in_channels].
    """
    def __init__(self, in_channels: int, out_channels: int, mlp_width: int,
                 edge_encoder: Module) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.edge_encoder = edge_encoder
        self.conv = GINEConv(Sequential(Linear(in_channels, mlp_width), BatchNorm1d(mlp_width),
                                        ReLU(), Linear(mlp_width, out_channels)), train_eps=True)

    def reset_parameters(self) -> None:
        reset(self.edge_encoder)
        self.conv.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor) -> Tensor:
        if isinstance(self.edge_encoder, Embedding):
            edge_attr = edge_attr.view(-1)
        return self.conv(x, edge_index, self.edge_encoder(edge_attr))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"edge_encoder={self.edge_encoder})")


def esan_conv(conv: str, in_channels: int, out_channels: int) -> Module:
    """ESAN's base layer: ``"originalgin"`` (GIN, MLP Linear-BatchNorm-ReLU-
    Linear, :math:`\\epsilon = 0` fixed), ``"zincgin"`` (GINE with a bond-type
    embedding) or ``"gin"`` (OGB's GINE with a bond encoder and a 2x wide
    MLP)."""
    if conv == "originalgin":
        return GINConv(Sequential(Linear(in_channels, out_channels), BatchNorm1d(out_channels),
                                  ReLU(), Linear(out_channels, out_channels)), train_eps=False)
    if conv == "zincgin":
        return EdgeEmbeddingGINEConv(in_channels, out_channels, out_channels,
                                     Embedding(ZINC_BOND_TYPES, in_channels))
    if conv == "gin":
        return EdgeEmbeddingGINEConv(in_channels, out_channels, 2 * out_channels,
                                     SumOfEmbeddings(OGB_BOND_FEATURE_DIMS, in_channels))
    raise ValueError(f"Unknown ESAN conv {conv!r}; choose 'originalgin', 'zincgin' or 'gin'.")


@register_model
class ESANSubgraphGNN(Module):
    r"""ESAN's published DS-GNN / DSS-GNN (Bevilacqua et al., ICLR 2022,
    ``configs/deterministic`` of their code), built by
    :meth:`SubgraphGNN.esan`.  What differs from :class:`SubgraphGNN`:

    * **DSS-GNN**: every layer is a :class:`~pyg_dss.nn.DSSConv` (mean over the
      copies of each node) with a BatchNorm on each branch,
      :math:`\mathbf{h}_{i} \leftarrow \mathrm{ReLU}(\mathrm{BN}_1(L_1(\mathbf{h}_i,
      S_i)) + \mathrm{BN}_2(L_2(\bar{\mathbf{h}}, G)))`; then the mean over the
      nodes of each subgraph, the mean over the bag, Linear-ReLU-Linear (2x).
      No jumping knowledge, no dropout (as ESAN's ``DSSnetwork``).
    * **DS-GNN**: the base GNN on every subgraph, each layer
      :math:`\mathrm{Dropout}(\mathrm{ReLU}(\mathrm{BN}(L(\mathbf{h}))))` (no
      ReLU after OGB GIN's last layer); jumping knowledge (``"concat"``: the
      input and every layer feed the readout) on zinc / tu / csl / exp; the
      sum over the nodes of each subgraph (the mean for OGB's GIN); then over
      the bag either the equivariant DeepSets layers
      :math:`\mathbf{z}_i \leftarrow \mathrm{ELU}(\mathbf{A}\mathbf{z}_i +
      \mathbf{B}\,\mathrm{mean}_j \mathbf{z}_j)` and the mean, or on zinc the
      invariant readout :math:`\mathrm{ELU}` layers per subgraph, the mean,
      :math:`\mathrm{ELU}` layers on the mean; then Linear-ReLU-Linear (2x).
    * Base layers (:func:`esan_conv`): a BatchNorm inside the GIN MLP.
    * Inputs: ``"zinc"`` embeds atom types (``x`` [N] or [N, 1], 21 types) and
      bond types (``edge_attr``, 4 types, one table per layer); ``"ogb"`` embeds
      OGB's 9 atom and 3 bond columns; the others read float ``x`` (CSL:
      :class:`~pyg_dss.transforms.SubgraphOneHotDegree` ``(5)``, 6 columns).
      With policy ``"ego_nets_plus"`` the root marks
      :math:`[\mathbb{1}_{v = r}, \mathbb{1}_{v \neq r}]` are prepended, in
      ESAN's column order.

    Args:
        config: one of :data:`ESAN_CONFIGS`.
        in_channels: node feature size (``"tu"``, ``"csl"``, ``"exp"``); for
            ``"zinc"`` the number of atom types (21), for ``"ogb"`` the number
            of atom columns (9).
        out_channels: outputs per graph.
        variant: ``"dss"`` or ``"ds"``.
        policy: the bag's policy (:data:`~pyg_dss.transforms.POLICIES`).
        hidden, num_layers, channels: another point of ESAN's grid (defaults:
            the first value of each grid).

    Shapes:
        - input: a bag or batch of bags from
          :class:`~pyg_dss.transforms.SubgraphBag` (``keep_all_nodes=True``, as
          ESAN).
        - output: [num_graphs, out_channels].
    """
    def __init__(self, config: str, in_channels: int, out_channels: int, variant: str = "dss",
                 policy: str = "ego_nets_plus", hidden: Optional[int] = None,
                 num_layers: Optional[int] = None,
                 channels: Optional[Sequence[int]] = None) -> None:
        super().__init__()
        if config not in ESAN_CONFIGS:
            raise ValueError(f"Unknown ESAN config {config!r}; choose one of {ESAN_CONFIGS}.")
        if variant not in SUBGRAPH_VARIANTS:
            raise ValueError(f"Unknown variant {variant!r}; choose one of {SUBGRAPH_VARIANTS}.")
        if policy not in POLICIES:
            raise ValueError(f"Unknown subgraph policy {policy!r}; choose one of {POLICIES}.")
        published = _PUBLISHED[config]
        self.config_name, self.variant, self.policy = config, variant, policy
        self.in_channels, self.out_channels = in_channels, out_channels
        self.hidden = int(hidden if hidden is not None else published["hidden"])
        self.num_layers = int(num_layers if num_layers is not None else published["num_layers"])
        self.channels = tuple(channels if channels is not None else published["channels"])
        if self.num_layers < 2:  # ESAN's GNN refuses fewer
            raise ValueError(f"ESAN's networks have num_layers >= 2, got {self.num_layers}.")
        self.conv, self.dropout = published["conv"], float(published["dropout"])
        self.jk = bool(published["jk"]) and variant == "ds"
        self.marks = policy == "ego_nets_plus"
        h = self.hidden
        if config == "zinc":
            self.atom_encoder: Optional[Module] = Embedding(in_channels, h)
        elif config == "ogb":
            if in_channels != len(OGB_ATOM_FEATURE_DIMS):
                raise ValueError(f"config='ogb' reads OGB's {len(OGB_ATOM_FEATURE_DIMS)} atom "
                                 f"columns: in_channels must be {len(OGB_ATOM_FEATURE_DIMS)}, "
                                 f"got {in_channels}.")
            self.atom_encoder = SumOfEmbeddings(OGB_ATOM_FEATURE_DIMS, h)
        else:
            self.atom_encoder = None
        in_dim = (h if self.atom_encoder is not None else in_channels) + 2 * self.marks
        self.layers = ModuleList()
        self.norms = ModuleList()
        dim = in_dim
        for _ in range(self.num_layers):
            if variant == "dss":
                self.layers.append(DSSConv(esan_conv(self.conv, dim, h),
                                           esan_conv(self.conv, dim, h), aggr="mean",
                                           siamese_norm=BatchNorm1d(h), shared_norm=BatchNorm1d(h)))
            else:
                self.layers.append(esan_conv(self.conv, dim, h))
                self.norms.append(BatchNorm1d(h))
            dim = h
        self.drop = Dropout(self.dropout)
        out_dim = h * self.num_layers + in_dim if self.jk else h
        self.pool = ElementPool("mean" if variant == "dss" or self.conv == "gin" else "sum")
        self.invariant = variant == "ds" and config == "zinc"
        self.set_layers = ModuleList()   # equivariant DeepSets, or the per-subgraph fc
        self.graph_layers = ModuleList()  # the invariant readout's layers on the mean
        if variant == "ds":
            for width in self.channels:
                if self.invariant:
                    self.set_layers.append(Linear(out_dim, width))
                    self.graph_layers.append(Linear(width, width))
                else:
                    self.set_layers.append(DeepSetsLayer(out_dim, width, aggr="mean",
                                                         set_bias=True))
                out_dim = width
        self.head = Sequential(Linear(out_dim, 2 * out_dim), ReLU(),
                               Linear(2 * out_dim, out_channels))

    @property
    def config(self) -> Dict[str, Any]:
        """The constructor arguments as plain data (see
        :func:`pyg_dss.checkpoint.save_model`)."""
        return {"config": self.config_name, "in_channels": self.in_channels,
                "out_channels": self.out_channels, "variant": self.variant,
                "policy": self.policy, "hidden": self.hidden, "num_layers": self.num_layers,
                "channels": list(self.channels)}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "ESANSubgraphGNN":
        """Builds a network from :attr:`config`."""
        return cls(**config)

    def reset_parameters(self) -> None:
        for m in (self.atom_encoder, *self.layers, *self.norms, *self.set_layers,
                  *self.graph_layers, self.head):
            reset(m)

    def encode(self, bags: Any) -> Tensor:
        """The first layer's input: encoded atoms or node features, after
        the root marks of an ``"ego_nets_plus"`` bag."""
        x = bags.x
        if isinstance(self.atom_encoder, Embedding):
            x = self.atom_encoder(x.view(-1))
        elif self.atom_encoder is not None:
            x = self.atom_encoder(x)
        elif x.is_floating_point() is False:
            raise ValueError(f"config={self.config_name!r} reads float node features x; got "
                             f"{x.dtype} (for CSL use SubgraphOneHotDegree(5) after the bag).")
        marks = bags.get("root_mark")
        if self.marks != (marks is not None):
            raise ValueError(f"The model was built for policy {self.policy!r}, but these bags "
                             f"{'mark' if marks is not None else 'do not mark'} their roots "
                             "(root_mark: policy 'ego_nets_plus'); build it for the bags' "
                             "policy.")
        if marks is not None:
            root = marks.view(-1, 1).to(x.dtype)
            x = torch.cat([root, 1 - root, x], dim=1)  # ESAN's order: [root, not root]
        return x

    def forward(self, bags: Any) -> Tensor:
        """Outputs [num_graphs, out_channels] for a bag or a batch of bags."""
        x = self.encode(bags)
        edge_attr = bags.get("edge_attr") if self.conv != "originalgin" else None
        kwargs: Dict[str, Tensor] = {} if edge_attr is None else {"edge_attr": edge_attr}
        if self.conv != "originalgin" and edge_attr is None:
            raise ValueError(f"config={self.config_name!r} reads bond features: the bags "
                             "need 'edge_attr' and 'shared_edge_attr'.")
        if self.variant == "dss":
            for layer in self.layers:
                x = torch.relu(layer(x, bags.edge_index, bags, **kwargs))
            z = self.pool(x, bags)
        else:
            hs: List[Tensor] = [x]
            last = len(self.layers) - 1
            for i, (conv, norm) in enumerate(zip(self.layers, self.norms, strict=True)):
                h = norm(conv(hs[-1], bags.edge_index, **kwargs))
                if self.conv != "gin" or i != last:  # OGB's GIN: no ReLU after the last
                    h = torch.relu(h)
                hs.append(self.drop(h))
            z = self.pool(torch.cat(hs, dim=1) if self.jk else hs[-1], bags)
        num_graphs = int(bags.element_set.max()) + 1
        if self.invariant:
            for layer in self.set_layers:
                z = torch.nn.functional.elu(layer(z))
        else:
            for layer in self.set_layers:
                z = torch.nn.functional.elu(layer(z, bags))
        g = scatter(z, bags.element_set, dim=0, dim_size=num_graphs, reduce="mean")
        for layer in self.graph_layers:
            g = torch.nn.functional.elu(layer(g))
        return self.head(g)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.config_name!r}, {self.in_channels}, "
                f"{self.out_channels}, variant={self.variant!r}, policy={self.policy!r}, "
                f"hidden={self.hidden}, layers={self.num_layers})")
