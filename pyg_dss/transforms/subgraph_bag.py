r"""Bags of subgraphs: a graph becomes the set of its subgraphs (Bevilacqua et
al., *Equivariant Subgraph Aggregation Networks*, ICLR 2022).

A bag is one :class:`~pyg_dss.data.SetData`: every element is one subgraph,
``vertex_index`` maps its nodes to the nodes of the original graph (the shared
domain), and the original graph itself is the shared graph
(``shared_edge_index``, ``shared_edge_attr``), so that
:class:`~pyg_dss.nn.DSSConv` runs its shared branch on the original graph,
applied to the aggregate over the copies of each node.  A subgraph may hold
every node of the graph (node- and edge-deleted bags: near-copies of one graph)
or only some (ego-nets with ``keep_all_nodes=False``): a node then aggregates
over the subgraphs that hold it.
"""
from __future__ import annotations

import math
from typing import Iterator, List, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import is_undirected, k_hop_subgraph

from pyg_dss.data import SetData

#: The subgraph selection policies of ESAN, plus ``"original"`` (a bag that
#: holds the graph itself: a plain GNN seen through the same model).
POLICIES = ("node_deleted", "edge_deleted", "ego_nets", "ego_nets_plus", "original")

# Keys of a bag that the set owns (not node-, edge- or graph-level data of a subgraph).
_SET_KEYS = ("element_index", "vertex_index", "shared_edge_index", "shared_edge_attr",
             "element_set", "num_elements", "num_vertices", "num_nodes", "coverage")


class SubgraphBag(BaseTransform):
    r"""Turns a graph into the bag of its subgraphs chosen by one of ESAN's
    policies, as one :class:`~pyg_dss.data.SetData`:

    * ``"node_deleted"``: one subgraph per node :math:`v`, the graph without
      :math:`v`'s edges (:math:`G - v`);
    * ``"edge_deleted"``: one subgraph per undirected edge, the graph without
      it (a graph with no edges gives a bag of itself);
    * ``"ego_nets"``: one subgraph per node :math:`v`, its ``num_hops``-hop
      ego-network (the subgraph induced by the nodes within ``num_hops`` hops);
    * ``"ego_nets_plus"``: the same, with the root marked: node-level
      ``root_mark`` is 1 on :math:`v` and 0 elsewhere (read by
      :class:`~pyg_dss.nn.SubgraphGNN` with ``policy_aware=True``);
    * ``"original"``: a bag of one, the graph itself.

    Every subgraph carries the node features of its nodes (``x`` and any other
    node-level tensor) and the features of its edges (``edge_attr`` and any
    other edge-level tensor); ``vertex_index`` maps its nodes to the nodes of
    the original graph, which is kept as the shared graph
    (``shared_edge_index``, ``shared_edge_attr``).  Graph-level attributes (the
    target ``y``) stay on the bag.

    Deterministic: use it as a ``pre_transform`` (computed once).  ESAN's
    stochastic variant, a random part of the bag every epoch, is
    :class:`SampleSubgraphs`, a ``transform`` on top.

    Args:
        policy: one of :data:`POLICIES`.
        num_hops: depth of the ego-networks (ESAN: 3 on ZINC, 4 on CSL, 2 on
            TU datasets).
        keep_all_nodes: every subgraph keeps every node of the graph, the
            nodes it does not hold as isolated nodes: the deleted node of a
            node-deleted subgraph, the nodes outside an ego-network (what
            ESAN's code does; the bag is then ``n`` near-copies of one graph,
            which batches densely).  :obj:`False`: a subgraph holds only its
            own nodes (:math:`G - v` without :math:`v`; the ego-network alone),
            so a node is held by some subgraphs only.
    """
    def __init__(self, policy: str, num_hops: int = 2, keep_all_nodes: bool = True) -> None:
        if policy not in POLICIES:
            raise ValueError(f"Unknown subgraph policy {policy!r}; choose one of {POLICIES}.")
        if int(num_hops) < 1:
            raise ValueError(f"num_hops must be >= 1, got {num_hops}.")
        self.policy, self.num_hops, self.keep_all_nodes = policy, int(num_hops), keep_all_nodes

    def forward(self, data: Data) -> SetData:
        _check_graph(data, self.policy)
        V = data.num_nodes
        elements = []
        for subset, edge_mask, root in self._subgraphs(data):
            if subset.numel() > 0:
                elements.append(_element(data, subset, edge_mask, root,
                                         mark=self.policy == "ego_nets_plus"))
        if not elements:  # G - v of a one-node graph without keep_all_nodes
            elements = [_element(data, torch.arange(V), _all_edges(data), 0,
                                 mark=self.policy == "ego_nets_plus")]
        shared = Data(edge_index=data.edge_index, num_nodes=V)
        if data.get("edge_attr") is not None:
            shared.edge_attr = data.edge_attr
        # Subgraphs that keep every node in order cover the whole graph
        # (coverage "full": node- and edge-deleted bags); others cover part.
        full = all(torch.equal(e.vertex_index, torch.arange(V)) for e in elements)
        bag = SetData.from_elements(elements, corresponded=full, shared=shared)
        for key, value in data.items():
            if key == "y" or not (key == "edge_index" or data.is_node_attr(key)
                                  or data.is_edge_attr(key) or key == "num_nodes"):
                bag[key] = value  # graph-level: the target and anything else
        return bag

    def _subgraphs(self, data: Data) -> Iterator[Tuple[Tensor, Tensor, Optional[int]]]:
        """``(nodes held, mask of the original edges kept, root)`` per subgraph."""
        V, edge_index = data.num_nodes, data.edge_index
        every = torch.arange(V)
        if self.policy == "original":
            yield every, _all_edges(data), None
        elif self.policy == "node_deleted":
            for v in range(V):
                keep = (edge_index[0] != v) & (edge_index[1] != v)
                yield (every if self.keep_all_nodes else every[every != v]), keep, v
        elif self.policy == "edge_deleted":
            row, col = edge_index
            lo, hi = torch.minimum(row, col), torch.maximum(row, col)
            pairs = torch.unique(torch.stack([lo, hi]), dim=1)
            if pairs.size(1) == 0:
                yield every, _all_edges(data), None
            for u, w in pairs.t().tolist():
                yield every, ~((lo == u) & (hi == w)), None
        else:  # ego-networks: the subgraph induced by the nodes within num_hops hops
            for v in range(V):
                subset, _, _, keep = k_hop_subgraph(v, self.num_hops, edge_index,
                                                    num_nodes=V)
                yield (every if self.keep_all_nodes else subset), keep, v

    def __repr__(self) -> str:
        hops = f", num_hops={self.num_hops}" if self.policy.startswith("ego") else ""
        return (f"{self.__class__.__name__}({self.policy!r}{hops}, "
                f"keep_all_nodes={self.keep_all_nodes})")


class SampleSubgraphs(BaseTransform):
    r"""ESAN's stochastic variant: keeps a random ``fraction`` of the
    subgraphs of a bag (:math:`\lceil f n \rceil`, at least one), drawn anew
    at every call.  Use it as the ``transform`` of the training split on top of
    a :class:`SubgraphBag` ``pre_transform``; evaluate on full bags.  It draws
    from torch's global generator (or ``generator``), so a run that records
    :func:`pyg_dss.train.capture_rng_state` resumes exactly.

    Args:
        fraction: the part of the bag kept, in (0, 1].
        generator: an optional :class:`torch.Generator`.
    """
    def __init__(self, fraction: float, generator: Optional[torch.Generator] = None) -> None:
        if not 0.0 < float(fraction) <= 1.0:
            raise ValueError(f"fraction must be in (0, 1], got {fraction}.")
        self.fraction, self.generator = float(fraction), generator

    def forward(self, bag: SetData) -> SetData:
        if bag.get("element_index") is None or int(bag.element_set.max()) > 0:
            raise ValueError("SampleSubgraphs expects one bag of subgraphs (a SetData from "
                             "SubgraphBag, before batching); apply it as a dataset transform.")
        n = int(bag.num_elements)
        count = max(1, math.ceil(self.fraction * n))
        chosen = torch.randperm(n, generator=self.generator)[:count].sort().values
        keep_element = torch.zeros(n, dtype=torch.bool)
        keep_element[chosen] = True
        keep_node = keep_element[bag.element_index]
        new_node = torch.cumsum(keep_node, 0) - 1
        keep_edge = keep_node[bag.edge_index[0]]
        out = SetData()
        for key, value in bag.items():
            if key in _SET_KEYS or key == "edge_index":
                continue
            if bag.is_node_attr(key) and key != "y":
                out[key] = value[keep_node]
            elif bag.is_edge_attr(key):
                out[key] = value[keep_edge]
            else:
                out[key] = value
        out.edge_index = new_node[bag.edge_index[:, keep_edge]]
        new_element = torch.cumsum(keep_element, 0) - 1
        out.element_index = new_element[bag.element_index[keep_node]]
        out.vertex_index = bag.vertex_index[keep_node]
        out.element_set = torch.zeros(count, dtype=torch.long)
        out.num_elements = count
        out.num_vertices = bag.num_vertices
        out.shared_edge_index = bag.shared_edge_index
        out.coverage = bag.coverage
        if bag.get("shared_edge_attr") is not None:
            out.shared_edge_attr = bag.shared_edge_attr
        out.num_nodes = int(keep_node.sum())
        return out

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(fraction={self.fraction})"


def _all_edges(data: Data) -> Tensor:
    return torch.ones(data.edge_index.size(1), dtype=torch.bool)


def _element(data: Data, subset: Tensor, edge_mask: Tensor, root: Optional[int],
             mark: bool) -> Data:
    """The subgraph on the nodes ``subset`` (sorted shared ids) with the
    original edges of ``edge_mask`` (both endpoints must lie in ``subset``)."""
    V = data.num_nodes
    local = torch.full((V, ), -1, dtype=torch.long)
    local[subset] = torch.arange(subset.numel())
    element = Data(edge_index=local[data.edge_index[:, edge_mask]], vertex_index=subset,
                   num_nodes=subset.numel())
    for key, value in data.items():
        if key in ("edge_index", "y", "num_nodes"):
            continue
        if data.is_node_attr(key):
            element[key] = value[subset]
        elif data.is_edge_attr(key):
            element[key] = value[edge_mask]
    if mark:
        element.root_mark = (subset == root).long()
    return element


def _check_graph(data: Data, policy: str) -> None:
    if data.get("edge_index") is None or data.num_nodes is None or data.num_nodes == 0:
        raise ValueError("SubgraphBag needs a graph with nodes and an 'edge_index' "
                         "(possibly empty, shape [2, 0]).")
    if isinstance(data, SetData) or data.get("element_index") is not None:
        raise ValueError("SubgraphBag takes a plain graph (Data), not a set; it builds the "
                         "set itself.")
    if data.get("x") is None:
        raise ValueError("SubgraphBag needs node features 'x'; for featureless graphs add "
                         "constant ones first, e.g. torch_geometric.transforms.Constant().")
    if policy == "edge_deleted" and not is_undirected(data.edge_index, num_nodes=data.num_nodes):
        raise ValueError("The edge-deleted policy removes undirected edges, but this graph is "
                         "directed; make it undirected first (torch_geometric.transforms."
                         "ToUndirected()).")
