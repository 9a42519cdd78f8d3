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
from typing import Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import is_undirected

from pyg_dss.data import SetData

__all__ = ["SubgraphBag", "SampleSubgraphs", "POLICIES"]

#: The subgraph selection policies of ESAN, plus ``"original"`` (a bag that
#: holds the graph itself: a plain GNN seen through the same model).
POLICIES = ("node_deleted", "edge_deleted", "ego_nets", "ego_nets_plus", "original")

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

    Choosing ``keep_all_nodes``: it changes the model, not only its cost (the
    nodes outside an ego-network still carry their features into the
    subgraph's pooling and into the shared aggregate), so use the setting of
    the results you compare with.  ESAN's published numbers (ZINC, OGB, TU,
    CSL, EXP) come from its code, which keeps every node: the default here.
    Keeping only a subgraph's own nodes is the sparse layout of other
    subgraph-GNN libraries (e.g. PygHO).  Its cost matters for ego-nets,
    whose bags hold about twice the nodes with ``keep_all_nodes=True`` on
    molecules (timings and memory in ``benchmarks/README.md``).  Node-deleted
    bags differ by one node per subgraph only.

    Building is vectorised: the whole bag comes from index arithmetic on
    ``edge_index`` (deleted bags) or one k-hop reachability per graph
    (ego-nets), with no Python loop over subgraphs; the result equals the
    subgraph-by-subgraph definition (order of subgraphs, nodes and edges
    included).  For a whole dataset see
    :class:`~pyg_dss.datasets.SubgraphBags` (built once with every core,
    cached) or use this transform as a ``transform=`` (on the fly).
    """
    def __init__(self, policy: str, num_hops: int = 2, keep_all_nodes: bool = True) -> None:
        if policy not in POLICIES:
            raise ValueError(f"Unknown subgraph policy {policy!r}; choose one of {POLICIES}.")
        if int(num_hops) < 1:
            raise ValueError(f"num_hops must be >= 1, got {num_hops}.")
        self.policy, self.num_hops, self.keep_all_nodes = policy, int(num_hops), keep_all_nodes

    def forward(self, data: Data) -> SetData:
        _check_graph(data, self.policy)
        V = int(data.num_nodes)
        members, kept, marked = self._bag(data, V)
        elem_of_node, vertex = members
        elem_of_edge, edge_id = kept
        if elem_of_node.numel() == 0:  # G - v of a one-node graph without keep_all_nodes
            elem_of_node, vertex = torch.zeros(V, dtype=torch.long), torch.arange(V)
            elem_of_edge = torch.zeros(data.edge_index.size(1), dtype=torch.long)
            edge_id = torch.arange(data.edge_index.size(1))
            marked = vertex == 0 if marked is not None else None
        without_root = self.policy == "node_deleted" and not self.keep_all_nodes and V > 1
        bag = _assemble(data, elem_of_node, vertex, elem_of_edge, edge_id, marked, without_root)
        for key, value in data.items():
            if key == "y" or not (key == "edge_index" or data.is_node_attr(key)
                                  or data.is_edge_attr(key) or key == "num_nodes"):
                bag[key] = value  # graph-level: the target and anything else
        return bag

    def _bag(self, data: Data, V: int) -> Tuple[Tuple[Tensor, Tensor], Tuple[Tensor, Tensor],
                                                Optional[Tensor]]:
        """The whole bag as index pairs, every subgraph at once: ``(subgraph,
        vertex)`` of every node and ``(subgraph, original edge)`` of every
        edge, both sorted by subgraph, then vertex / edge id (the order of a
        subgraph-by-subgraph construction); and, for ego-nets+, the root mark
        of every node."""
        src, dst = data.edge_index
        E = src.numel()
        every = torch.arange(V)
        if self.policy == "original":
            return (torch.zeros(V, dtype=torch.long), every), \
                (torch.zeros(E, dtype=torch.long), torch.arange(E)), None
        if self.policy == "edge_deleted":
            # One subgraph per undirected edge {u, w} (sorted pairs, as torch.unique
            # sorts them): it keeps every edge of another pair.
            lo, hi = torch.minimum(src, dst), torch.maximum(src, dst)
            pairs, pair_of_edge = torch.unique(torch.stack([lo, hi]), dim=1, return_inverse=True)
            P = pairs.size(1)
            if P == 0:
                return (torch.zeros(V, dtype=torch.long), every), \
                    (torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long)), None
            keep = pair_of_edge.unsqueeze(0) != torch.arange(P).unsqueeze(1)   # [P, E]
            return _all_nodes(P, V), _pairs(keep), None
        if self.policy == "node_deleted":
            # Subgraph v keeps the edges that do not touch v.
            root = every.unsqueeze(1)
            keep = (src != root) & (dst != root)                               # [V, E]
            held = torch.ones(V, V, dtype=torch.bool)
            if not self.keep_all_nodes:
                held.fill_diagonal_(False)
            return _pairs(held), _pairs(keep), None
        # Ego-networks: held[v, w] is True when w reaches v in at most num_hops
        # hops (k_hop_subgraph's source-to-target flow), one sparse propagation
        # of every root's indicator per hop; the subgraph keeps the edges whose
        # both ends it holds.
        reach = torch.eye(V)
        for _ in range(self.num_hops):
            reach = reach.index_add(0, src, reach[dst]).clamp_(max=1.0)
        held = reach.t() > 0                                               # [root, node]
        keep = held[:, src] & held[:, dst]                                 # [root, edge]
        nodes = _pairs(torch.ones(V, V, dtype=torch.bool) if self.keep_all_nodes else held)
        marked = nodes[0] == nodes[1] if self.policy == "ego_nets_plus" else None
        return nodes, _pairs(keep), marked

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
        return bag.element_subgraph(chosen)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(fraction={self.fraction})"


def _pairs(mask: Tensor) -> Tuple[Tensor, Tensor]:
    """Row and column of every True entry of a 2-D mask, row-major (as two
    contiguous tensors: gathers with them are several times faster than with
    the columns of ``mask.nonzero()``)."""
    rows, cols = mask.nonzero(as_tuple=True)
    return rows, cols


def _all_nodes(n: int, V: int) -> Tuple[Tensor, Tensor]:
    """``(subgraph, vertex)`` of ``n`` subgraphs that each hold every vertex."""
    return torch.arange(n).repeat_interleave(V), torch.arange(V).repeat(n)


def _assemble(data: Data, elem_of_node: Tensor, vertex: Tensor, elem_of_edge: Tensor,
              edge_id: Tensor, marked: Optional[Tensor], without_root: bool = False) -> SetData:
    """The bag as :meth:`SetData.from_elements` would concatenate its
    subgraphs, gathered in one indexing per attribute: node ``i`` of the bag
    is vertex ``vertex[i]`` of subgraph ``elem_of_node[i]``, edge ``j`` is
    original edge ``edge_id[j]`` of subgraph ``elem_of_edge[j]``.
    ``without_root``: subgraph ``v`` holds every vertex but ``v`` (G - v)."""
    V = int(data.num_nodes)
    n = int(elem_of_node[-1]) + 1
    full = vertex.numel() == n * V  # every subgraph holds every vertex, in order
    # A node's position in the bag is subgraph * V + vertex when every
    # subgraph holds every vertex; else it is looked up in a table of n V
    # (a sorted search costs more once bags are large).
    edge_index = data.edge_index.index_select(1, edge_id)  # in place: bags get large
    if without_root:  # vertex w of G - v sits at v (V - 1) + w - [w > v]
        edge_index -= (edge_index > elem_of_edge).long()
        edge_index += elem_of_edge * (V - 1)
    else:
        edge_index += elem_of_edge * V
    if not full and not without_root:
        position = torch.full((n * V, ), -1, dtype=torch.long)
        position[elem_of_node * V + vertex] = torch.arange(vertex.numel())
        edge_index = position[edge_index]
    bag = SetData()
    bag.edge_index = edge_index
    sizes = torch.bincount(elem_of_node, minlength=n)
    start = torch.cumsum(sizes, 0) - sizes  # first node of every subgraph
    for key, value in data.items():
        if key in ("edge_index", "y", "num_nodes"):
            continue
        if data.is_node_attr(key):
            index, owner = vertex, elem_of_node
        elif data.is_edge_attr(key):
            index, owner = edge_id, elem_of_edge
        else:
            continue
        value = value.index_select(0, index)
        if "batch" not in key and ("index" in key or key == "face") and value.dim() == 1:
            value = value + start[owner]  # node ids, offset as PyG batches them
        bag[key] = value
    if marked is not None:
        bag.root_mark = marked.long()
    bag.element_index = elem_of_node
    bag.element_set = torch.zeros(n, dtype=torch.long)
    bag.num_elements = n
    bag.vertex_index = vertex
    bag.shared_edge_index = data.edge_index.clone()
    if data.get("edge_attr") is not None:
        bag.shared_edge_attr = data.edge_attr
    bag.coverage = "full" if full else "partial"
    bag.num_vertices = V
    bag.num_nodes = vertex.numel()
    return bag


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
