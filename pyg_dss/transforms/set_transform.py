"""Any PyG transform applied to a set: once for the whole set, or per element."""
from __future__ import annotations

import copy
from typing import Any, Callable, List

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import subgraph

from pyg_dss.data import SetData, coverage_of, require_single_set

__all__ = ["SetTransform", "PER"]

PER = ("set", "element")

# What a transform run once on the whole set must leave as it was: the edges
# and the set's own keys (the nodes are checked by count).
_STRUCTURE = ("edge_index", *sorted(SetData.set_keys))
# A node-level attribute that follows the nodes through a per-element
# transform, so that each node's shared vertex can be recovered after it.
_NODE_ID = "set_transform_node_id"


class SetTransform(BaseTransform):
    r"""Applies a PyG transform to a :class:`~pyg_dss.data.SetData`
    consistently, once per set (default) or once per element.

    ``per="set"``: the transform runs once, on the whole set as one point
    cloud, so a random transform makes one draw for the set: every frame gets
    the same rotation (``T.RandomRotate``), scale (``T.RandomScale``), shift
    (``T.RandomTranslate``), flip or shear, which is what augmenting a set of
    frames needs.  Statistics are those of the whole set: ``T.NormalizeScale``
    or ``T.Center`` apply one translation (and scale) to all elements, keeping
    where the elements lie relative to each other.  The transform may change
    the values of existing attributes and add attributes of the same sizes
    (e.g. ``T.Distance`` edge features), but it may not change the structure:
    the nodes, ``edge_index`` or the set's index vectors.  A transform that
    does raises a :class:`ValueError`: a graph-building transform
    (``T.KNNGraph``, ``T.RadiusGraph``, ``T.FaceToEdge``) would see the set as
    one graph and join elements, a node sampler (``T.FixedPoints``) would keep
    different vertices in every element.  Use ``per="element"``,
    :class:`~pyg_dss.transforms.KNNSetGraph` or
    :class:`~pyg_dss.transforms.SubsampleVertices` for those.

    ``per="element"``: the transform runs on every element separately (its own
    random draw and its own statistics: ``T.NormalizeScale`` then centres
    every element on its own), and the set is rebuilt over the same shared
    domain (``shared_edge_index`` is kept: build the shared graph of a k-NN
    set with :class:`~pyg_dss.transforms.KNNSetGraph`).  The transform may
    change an element's edges and drop, reorder or repeat its nodes: every
    node's shared vertex follows it.  A corresponded set (coverage ``"full"``)
    stays corresponded: every element must keep the same vertices (the shared
    domain then shrinks to them), otherwise a :class:`ValueError` says which
    element differs; an element of a ``"partial"`` set may not repeat a vertex.
    Transforms that pool or create nodes (``T.GridSampling``,
    ``T.SamplePoints``) are refused, since a node's vertex cannot follow them.

    The model reads ``x``; geometric transforms move ``pos`` (and ``normal``),
    never ``x``, and neither mode copies one into the other.  When features
    are coordinates, form ``x`` from ``pos`` after the transforms (the
    frame-set datasets do), not before.

    Set-level attributes (``y``, ...) are kept.  With ``per="set"`` and a
    deterministic transform, or with the same random state, transforming a
    reordered set gives the transformed set, reordered; with ``per="element"``
    that holds for deterministic transforms.

    Args:
        transform: any callable ``Data -> Data`` (a PyG transform,
            ``T.Compose([...])``, ...).
        per: ``"set"`` or ``"element"``.
    """
    def __init__(self, transform: Callable[[Data], Data], per: str = "set") -> None:
        if per not in PER:
            raise ValueError(f"per must be one of {PER}, got {per!r}.")
        if not callable(transform):
            raise ValueError(f"transform must be callable (e.g. a PyG transform), got "
                             f"{type(transform).__name__}.")
        self.transform = transform
        self.per = per

    def forward(self, data: SetData) -> SetData:
        require_single_set(data, self)
        if self.per == "set":
            return self._per_set(data)
        return self._per_element(data)

    def _per_set(self, data: SetData) -> SetData:
        num_nodes = data.num_nodes
        structure = {key: data.get(key) for key in _STRUCTURE}
        node_keys = [k for k in data.keys() if data.is_node_attr(k)]
        out = self.transform(copy.copy(data))
        if not isinstance(out, SetData):
            raise ValueError(f"{self.transform} returned a {type(out).__name__}, not the "
                             "SetData it was given; per='set' needs a transform that edits "
                             "its input.")
        if out.num_nodes != num_nodes or any(
                out.get(k) is None or out[k].size(0) != num_nodes for k in node_keys):
            raise ValueError(
                f"{self.transform} changed the nodes of the set ({num_nodes} -> "
                f"{out.num_nodes}); per='set' runs it once on all elements together, so "
                "every element would keep different vertices. Subsample a corresponded set "
                "with pyg_dss.transforms.SubsampleVertices(k) (the same vertices in every "
                "element), or apply the transform with per='element'.")
        for key, before in structure.items():
            if not _unchanged(before, out.get(key)):
                raise ValueError(
                    f"{self.transform} changed '{key}' of the set; per='set' runs it once "
                    "on the whole set as one graph, so a graph-building transform "
                    "(T.KNNGraph, T.RadiusGraph, T.FaceToEdge, ...) would join elements and "
                    "leave the shared domain behind. Apply it with per='element', or use "
                    "pyg_dss.transforms.KNNSetGraph for k-NN graphs.")
        return out

    def _per_element(self, data: SetData) -> SetData:
        coverage = coverage_of(data)
        domain = data.shared_domain()
        elements = data.to_elements(vertex_index=True)
        element_keys = set(elements[0].keys()) if elements else set()
        outs: List[Data] = []
        for i, element in enumerate(elements):
            vertex_index = element.vertex_index
            del element.vertex_index
            ids = torch.arange(element.num_nodes, device=vertex_index.device)
            element[_NODE_ID] = ids
            edges_before = element.get("edge_index")
            out = self.transform(element)
            outs.append(out)
            node_id = out.get(_NODE_ID)
            if not isinstance(node_id, Tensor) or node_id.dtype != torch.long or \
                    node_id.shape != (out.num_nodes, ) or (node_id.numel() and (
                        int(node_id.min()) < 0 or int(node_id.max()) >= vertex_index.numel())):
                raise ValueError(
                    f"{self.transform} on element {i}: cannot tell which of the element's "
                    "nodes it kept (a node-level attribute did not follow the nodes). "
                    "per='element' supports transforms that keep, drop, reorder or repeat "
                    "nodes, not ones that pool or create them (T.GridSampling, "
                    "T.SamplePoints).")
            del out[_NODE_ID]
            nodes_changed = not torch.equal(node_id, ids)
            if nodes_changed and edges_before is not None and edges_before.numel() and \
                    _unchanged(edges_before, out.get("edge_index")):
                raise ValueError(
                    f"{self.transform} on element {i} changed its nodes but not its edges, "
                    "which now point at the wrong nodes (T.FixedPoints ignores edges). "
                    "Subsample a corresponded graph with pyg_dss.transforms."
                    "SubsampleVertices(k); otherwise build the edges after sampling (e.g. "
                    "KNNSetGraph).")
            out.vertex_index = vertex_index[node_id]

        if coverage == "pooled":
            for out in outs:
                del out.vertex_index
        elif coverage == "full":
            domain = _common_vertices(outs, domain, self.transform)
        try:
            rebuilt = SetData.from_elements(outs, corresponded=coverage == "full",
                                            shared=domain)
        except ValueError as error:
            raise ValueError(f"{self.transform}, applied per element, left an invalid "
                             f"element: {error}") from error
        for key, value in data.items():  # set-level attributes: never split
            if key not in element_keys and key not in rebuilt and key != "num_nodes":
                rebuilt[key] = value
        return rebuilt

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.transform}, per={self.per!r})"


def _unchanged(before: Any, after: Any) -> bool:
    if before is after:
        return True
    if isinstance(before, Tensor) and isinstance(after, Tensor):
        return before.shape == after.shape and torch.equal(before, after)
    if isinstance(before, Tensor) or isinstance(after, Tensor):
        return False
    return before == after


def _common_vertices(outs: List[Data], domain: Data, transform: Any) -> Data:
    """Checks that the elements of a corresponded set still cover the same
    shared vertices, once each; renumbers them and returns the domain
    restricted to those vertices."""
    V = int(domain.num_nodes)
    kept = torch.unique(outs[0].vertex_index)
    for i, out in enumerate(outs):
        mine = torch.unique(out.vertex_index)
        if mine.numel() != out.vertex_index.numel():
            raise ValueError(
                f"{transform} repeated nodes of element {i} of a corresponded set "
                f"({out.vertex_index.numel()} nodes on {mine.numel()} vertices); an element "
                "covers each shared vertex once. Subsample a corresponded set with "
                "pyg_dss.transforms.SubsampleVertices(k) (one draw per set).")
        if not torch.equal(mine, kept):
            raise ValueError(
                f"{transform} kept different vertices in different elements of a "
                f"corresponded set (element 0: {kept.numel()} of {V} vertices, element {i}: "
                f"{mine.numel()}, not the same ones); a corresponded set needs the same "
                "vertices in every element. Subsample it with "
                "pyg_dss.transforms.SubsampleVertices(k) (one draw per set).")
    if kept.numel() == V:
        return domain
    new_vertex = torch.full((V, ), -1, dtype=torch.long, device=kept.device)
    new_vertex[kept] = torch.arange(kept.numel(), device=kept.device)
    for out in outs:
        out.vertex_index = new_vertex[out.vertex_index]
    edge_index, edge_attr = subgraph(kept, domain.edge_index, domain.get("edge_attr"),
                                     relabel_nodes=True, num_nodes=V)
    restricted = Data(edge_index=edge_index, num_nodes=kept.numel())
    if edge_attr is not None:
        restricted.edge_attr = edge_attr
    return restricted
