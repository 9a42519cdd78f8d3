"""A set of symmetric elements as one PyG :class:`~torch_geometric.data.Data`.

All nodes of all elements of a set are concatenated (elements in order), PyG
style, and index vectors say where every node belongs:

* ``element_index`` [N]: the element of each node (0..n-1 within a set); the
  nodes of an element are contiguous, elements in order.
* ``vertex_index`` [N]: the node's vertex in the *shared domain* of the set,
  over which the set aggregates (the aggregate at vertex v runs over the nodes
  that map to v).
* ``shared_edge_index`` [2, E_d]: the edges of the shared domain, used by the
  shared branch of :class:`pyg_dss.nn.DSSConv`; ``shared_edge_attr`` [E_d, ...]
  its edge features, when given.
* ``element_set`` [n]: the set of each element (0 for a single set).
* ``num_elements``, ``num_vertices``: the sizes the indices above count.
* ``coverage`` (a string; a list of them in a batch): how the elements cover
  the shared domain, one of

  - ``"full"``: every element covers every shared vertex exactly once
    (``corresponded=True``: the frames of one mesh, or a bag of subgraphs that
    keep all nodes); every element has ``num_vertices`` nodes;
  - ``"partial"``: every element covers some shared vertices, each at most
    once (``shared=`` given, ``corresponded=False``: a bag of subgraphs);
    a vertex aggregates over the elements that contain it;
  - ``"pooled"``: a one-vertex shared domain (``corresponded=False`` without
    ``shared``: elements of different sizes or graphs); every node maps to it,
    and the set shares information through element-invariant summaries.

  The layers never read ``coverage`` (what they do follows from
  ``vertex_index``); :meth:`SetData.validate`, collation and the set
  transforms use it to tell a legitimately partial set from a corresponded
  one that a transform broke (e.g. ``T.FixedPoints``).

``edge_index`` is block-diagonal: no edge joins two elements.  Batching with
:class:`torch_geometric.loader.DataLoader` offsets every index by the right
count (:meth:`SetData.__inc__`), so after batching ``element_index`` and
``vertex_index`` are global and ``element_set`` is the set id of each element.
Collation also checks, cheaply, that every set's node counts agree (a stock
transform that dropped nodes of a corresponded set raises there);
:meth:`SetData.validate` checks everything.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any, List, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

COVERAGES = ("full", "partial", "pooled")

# Keys that SetData owns, with the count they are offset by when batched.
_ELEMENT_KEYS = ("element_index", )
_VERTEX_KEYS = ("vertex_index", "shared_edge_index")
# Everything SetData owns: never copied into or out of elements as user data.
_OWN_KEYS = frozenset(_ELEMENT_KEYS + _VERTEX_KEYS + (
    "shared_edge_attr", "element_set", "num_elements", "num_vertices", "coverage"))
# Edge-level attributes of an element (rows = edges), checked and split.
_EDGE_ATTRS = ("edge_attr", "edge_weight")


class SetData(Data):
    r"""One set of elements (graphs, meshes or point clouds) as a single
    :class:`~torch_geometric.data.Data`; see the module docstring for the
    attributes.  Build one with :meth:`from_elements`, split it with
    :meth:`to_elements`, check one with :meth:`validate`.

    Example::

        frames = [Data(x=torch.randn(100, 3), edge_index=ei) for _ in range(7)]
        s = SetData.from_elements(frames, corresponded=True)
        batch = next(iter(DataLoader([s, s], batch_size=2)))
        batch.element_index.max()  # tensor(13): elements of both sets
    """
    def __inc__(self, key: str, value: Any, *args, **kwargs) -> Any:
        if key in _ELEMENT_KEYS:
            # Called once per set when a loader collates: the place where a
            # set that a transform broke is stopped before it reaches a model.
            self._check_counts()
            return self.num_elements
        if key in _VERTEX_KEYS:
            return self.num_vertices
        if key == "element_set":
            return 1
        if key == "shared_edge_attr":
            return 0
        if key == "edge_index":  # collated before element_index: counts first
            self._check_counts()
            self._check_edge_range(value)
        return super().__inc__(key, value, *args, **kwargs)

    def __cat_dim__(self, key: str, value: Any, *args, **kwargs) -> Any:
        if key == "shared_edge_index":
            return -1
        if key in ("element_index", "vertex_index", "element_set", "shared_edge_attr"):
            return 0
        return super().__cat_dim__(key, value, *args, **kwargs)

    @property
    def num_sets(self) -> int:
        """Number of sets held (1 for a single set, B for a batch)."""
        return int(self.element_set.max()) + 1 if self.element_set.numel() else 0

    # -- building and splitting ------------------------------------------
    @classmethod
    def from_elements(cls, elements: Sequence[Data], corresponded: bool,
                      shared: Optional[Data] = None) -> "SetData":
        r"""Concatenates ``elements`` into one set, after checking them (an
        error names the element and what is wrong).

        Node-level tensors (``x``, ``pos``, ...), edge-level tensors and
        ``edge_index`` are concatenated as PyG batches graphs (``edge_index``
        offset to stay block-diagonal); scalar attributes of each element
        (e.g. a frame ``time``) become an element-level tensor of shape [n].

        Args:
            elements: the n elements, each a :class:`Data` with node features
                ``x``.
            corresponded: :obj:`True` if every element covers the whole
                shared domain (coverage ``"full"``).  Without ``shared`` the
                elements are then copies of one domain (same number of nodes
                in the same order, same edges), as the frames of one mesh.
                :obj:`False` for elements of different sizes or graphs
                (coverage ``"pooled"``: a one-vertex shared domain), or, with
                ``shared``, elements covering part of it (``"partial"``).
            shared: the shared domain graph (``num_nodes`` = V, ``edge_index``,
                optional ``edge_attr``), stored as ``num_vertices``,
                ``shared_edge_index`` and ``shared_edge_attr``.  Every element
                then carries ``vertex_index`` [its num_nodes], the shared
                vertex of each of its nodes (distinct values in [0, V)), and
                elements may differ in size and edges.  With
                ``corresponded=True`` elements may leave ``vertex_index`` out:
                node v is then vertex v.
        """
        elements = list(elements)
        if len(elements) == 0:
            raise ValueError("Cannot build a set from zero elements; pass at least one Data.")
        if shared is not None:
            _check_shared(shared)
        _check_elements(elements, corresponded, shared)
        vertex_maps: Optional[List[Tensor]] = None
        if shared is not None and "vertex_index" in elements[0]:
            vertex_maps = [e.vertex_index for e in elements]
            elements = [copy.copy(e) for e in elements]
            for e in elements:  # PyG would offset it by num_nodes, as a node index
                del e.vertex_index
        batch = Batch.from_data_list(elements)
        data = cls()
        for key, value in batch:
            if key not in ("batch", "ptr"):
                data[key] = value
        n = len(elements)
        sizes = torch.tensor([e.num_nodes for e in elements])
        num_nodes = int(sizes.sum())
        data.element_index = torch.repeat_interleave(torch.arange(n), sizes)
        data.element_set = torch.zeros(n, dtype=torch.long)
        data.num_elements = n
        if shared is not None:
            num_vertices = int(shared.num_nodes)
            data.vertex_index = (torch.cat(vertex_maps) if vertex_maps is not None
                                 else torch.arange(num_vertices).repeat(n))
            data.shared_edge_index = _edges_or_empty(shared.edge_index)
            if shared.get("edge_attr") is not None:
                data.shared_edge_attr = shared.edge_attr
            data.coverage = "full" if corresponded else "partial"
        elif corresponded:
            num_vertices = elements[0].num_nodes
            data.vertex_index = torch.arange(num_vertices).repeat(n)
            data.shared_edge_index = _edges_or_empty(elements[0].edge_index)
            data.coverage = "full"
        else:
            num_vertices = 1
            data.vertex_index = torch.zeros(num_nodes, dtype=torch.long)
            data.shared_edge_index = torch.zeros(2, 1, dtype=torch.long)
            data.coverage = "pooled"
        data.num_vertices = num_vertices
        data.num_nodes = num_nodes
        return data

    def to_elements(self, vertex_index: Optional[bool] = None) -> List[Data]:
        r"""Splits a single set back into its elements (the inverse of
        :meth:`from_elements`).  For a batch of sets use :func:`split_sets`.

        Args:
            vertex_index: whether every element keeps its ``vertex_index``.
                By default (:obj:`None`) the elements of a ``"partial"`` set
                keep it, and those of a ``"full"`` one whose nodes are not
                vertex 0..V-1 in order, so that ``SetData.from_elements(
                s.to_elements(), s.coverage == "full", shared=s.shared_domain())``
                rebuilds ``s`` whatever its coverage.
        """
        elements = self._split()
        if vertex_index is None:
            coverage = coverage_of(self)
            vertex_index = coverage == "partial" or (coverage == "full" and not all(
                torch.equal(e.vertex_index, torch.arange(e.num_nodes, device=e.vertex_index.device))
                for e in elements))
        if not vertex_index:
            for e in elements:
                del e.vertex_index
        return elements

    def shared_domain(self) -> Optional[Data]:
        r"""The shared domain of a single set as a graph (``num_nodes`` =
        ``num_vertices``, ``edge_index``, ``edge_attr`` when the set has
        ``shared_edge_attr``), as given to :meth:`from_elements`;
        :obj:`None` for the one-vertex domain of a ``"pooled"`` set."""
        require_single_set(self, "shared_domain()")
        if coverage_of(self) == "pooled":
            return None
        domain = Data(edge_index=self.shared_edge_index, num_nodes=int(self.num_vertices))
        if self.get("shared_edge_attr") is not None:
            domain.edge_attr = self.shared_edge_attr
        return domain

    def shared_subgraph(self, subset: Tensor) -> "SetData":
        r"""The set restricted to the shared vertices ``subset`` (indices,
        distinct, or a boolean mask over the ``num_vertices`` vertices): every
        element keeps its nodes on those vertices and the edges among them
        (with their edge attributes), and the shared domain becomes the
        subgraph induced by ``subset``, its vertices renumbered 0..k-1 in the
        order of ``subset``.  Coverage is kept: a ``"full"`` set stays full,
        with every element on the same k vertices.  For a single set (not a
        ``"pooled"`` one, whose domain is one vertex)."""
        require_single_set(self, "shared_subgraph()")
        if coverage_of(self) == "pooled":
            raise ValueError("shared_subgraph() restricts the shared domain, but this set is "
                             "'pooled' (uncorresponded: a one-vertex domain); subsample its "
                             "elements with SetTransform(T.FixedPoints(k), per='element').")
        V = int(self.num_vertices)
        subset = torch.as_tensor(subset, device=self.vertex_index.device)
        if subset.dtype == torch.bool:
            if subset.shape != (V, ):
                raise ValueError(f"A boolean subset needs one entry per shared vertex ({V}), "
                                 f"got shape {tuple(subset.shape)}.")
            subset = subset.nonzero().view(-1)
        subset = subset.long().view(-1)
        if subset.numel() and (int(subset.min()) < 0 or int(subset.max()) >= V):
            raise ValueError(f"subset holds vertex ids outside 0..{V - 1}.")
        new_vertex = torch.full((V, ), -1, dtype=torch.long, device=subset.device)
        new_vertex[subset] = torch.arange(subset.numel(), device=subset.device)
        if int((new_vertex >= 0).sum()) != subset.numel():
            raise ValueError("subset holds a vertex more than once; pass distinct ids.")
        for key in self.keys():
            if key not in _OWN_KEYS and key != "edge_index" and (
                    "index" in key or key == "face"):
                raise ValueError(f"shared_subgraph() cannot renumber the attribute {key!r}; "
                                 "remove it first (e.g. turn faces into edges with "
                                 "T.FaceToEdge before building the set).")

        N = self.num_nodes
        node_keep = new_vertex[self.vertex_index] >= 0
        new_node = torch.cumsum(node_keep, 0) - 1
        out = copy.copy(self)
        for key, value in self.items():
            if key not in _OWN_KEYS and _is_node_level(value, N):
                out[key] = value[node_keep]
        out.element_index = self.element_index[node_keep]
        out.vertex_index = new_vertex[self.vertex_index[node_keep]]
        if self.get("edge_index") is not None:
            ei = self.edge_index
            edge_keep = node_keep[ei[0]] & node_keep[ei[1]]
            for key, value in self.items():
                if _is_edge_level(key, value, ei.size(1)):
                    out[key] = value[edge_keep]
            out.edge_index = new_node[ei[:, edge_keep]]
        shared_ei = self.shared_edge_index
        shared_keep = (new_vertex[shared_ei[0]] >= 0) & (new_vertex[shared_ei[1]] >= 0)
        out.shared_edge_index = new_vertex[shared_ei[:, shared_keep]]
        if self.get("shared_edge_attr") is not None:
            out.shared_edge_attr = self.shared_edge_attr[shared_keep]
        out.num_vertices = int(subset.numel())
        out.num_nodes = int(node_keep.sum())
        return out

    def _split(self) -> List[Data]:
        """The elements of a single set, every one with its ``vertex_index``."""
        require_single_set(self, "to_elements()")
        n = int(self.num_elements)
        num_nodes = self.num_nodes
        counts = torch.bincount(self.element_index, minlength=n)
        node_ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        skip = (_OWN_KEYS - {"vertex_index"}) | {"num_nodes", "batch", "ptr"}
        out = [Data() for _ in range(n)]
        edge_element = None
        if self.edge_index is not None:
            edge_element = self.element_index[self.edge_index[0]]
        for key, value in self:
            if key in skip:
                continue
            if key == "edge_index":
                for i, d in enumerate(out):
                    d.edge_index = value[:, edge_element == i] - node_ptr[i]
            elif _is_node_level(value, num_nodes):
                for d, part in zip(out, value.split(counts.tolist())):
                    d[key] = part
            elif edge_element is not None and _is_edge_level(key, value, edge_element.numel()):
                for i, d in enumerate(out):
                    d[key] = value[edge_element == i]
            elif isinstance(value, Tensor) and value.dim() > 0 and value.size(0) == n:
                for i, d in enumerate(out):  # shape [1, ...], as PyG's graph-level y
                    d[key] = value[i:i + 1]
        for d, c in zip(out, counts.tolist()):
            d.num_nodes = c
        return out

    # -- checks -----------------------------------------------------------
    def _check_counts(self) -> None:
        """O(1) checks run when a single set is collated: its node-level
        index vectors and, for a ``"full"`` set, its node count must agree."""
        if isinstance(self.num_elements, Tensor) and self.num_elements.numel() != 1:
            return  # a batch being re-collated: its sets were checked already
        N, n, V = self.num_nodes, int(self.num_elements), int(self.num_vertices)
        for key in ("element_index", "vertex_index"):
            if self[key].numel() != N:
                raise ValueError(
                    f"Invalid SetData: '{key}' has {self[key].numel()} entries but the set has "
                    f"{N} nodes; a transform changed the nodes of the set without updating "
                    "it. Apply node-changing transforms through pyg_dss.transforms "
                    "(SubsampleVertices, SetTransform(..., per='element')).")
        if coverage_of(self) == "full" and N != n * V:
            raise ValueError(
                f"Invalid SetData: a corresponded set (coverage 'full') of {n} elements on "
                f"{V} shared vertices has {n * V} nodes, but this one has {N}: a transform "
                "dropped or added nodes element by element (e.g. T.FixedPoints on the whole "
                "set), so its elements no longer share their vertices. To subsample a "
                "corresponded set, use pyg_dss.transforms.SubsampleVertices(k) (the same "
                "vertices in every element).")

    def _check_edge_range(self, edge_index: Tensor) -> None:
        """One pass over ``edge_index`` when a single set is collated: an
        index past the set's nodes would be offset into the next set."""
        if edge_index.numel() and int(edge_index.max()) >= self.num_nodes:
            raise ValueError(
                f"Invalid SetData: 'edge_index' refers to node {int(edge_index.max())} but "
                f"the set has {self.num_nodes} nodes; a transform changed the nodes of the "
                "set without its edges (e.g. T.FixedPoints). Use "
                "pyg_dss.transforms.SubsampleVertices or SetTransform(..., per='element').")

    def validate(self, raise_on_error: bool = True) -> bool:
        r"""Validates the set (or batch of sets), as PyG's
        :meth:`~torch_geometric.data.Data.validate` does for a graph: index
        vectors of the right length, dtype and range; elements contiguous and
        in order; every edge inside one element; every shared edge inside
        one set's domain; every node on a shared vertex of its own set; no
        element covering a shared vertex twice (except in the one-vertex
        domain of a ``"pooled"`` set); every element of a ``"full"`` set
        covering every vertex of the domain; and PyG's own checks of
        ``edge_index``.  Costs a few passes over the index vectors: call it
        where a set is built or first used, not in every forward.

        Args:
            raise_on_error: raise a :class:`ValueError` at the first problem
                (default); otherwise warn about each and return :obj:`False`.
        """
        status = super().validate(raise_on_error)
        problems = _set_problems(self)
        for p in problems:
            if raise_on_error:
                raise ValueError(f"Invalid {self.__class__.__name__}: {p}")
            warnings.warn(f"Invalid {self.__class__.__name__}: {p}", stacklevel=2)
        return status and not problems


# InMemoryDataset loads with weights_only=True: allow SetData in checkpoints.
torch.serialization.add_safe_globals([SetData])


def require_single_set(data: Any, what: Any) -> None:
    """Raises a :class:`ValueError` naming ``what`` unless ``data`` is one
    :class:`SetData` (not a plain ``Data``, not a batch of sets)."""
    if not isinstance(data, SetData):
        raise ValueError(f"{what} expects a pyg_dss SetData (one set), got "
                         f"{type(data).__name__}; build sets with SetData.from_elements.")
    if isinstance(data, Batch) or (data.element_set.numel() and int(data.element_set.max()) > 0):
        raise ValueError(f"{what} works on a single set, but was given a batch of "
                         f"{data.num_sets} sets; apply it to each set before batching (a "
                         "dataset's transform=), or split the batch first with "
                         "pyg_dss.data.split_sets(batch) or batch.to_data_list().")


def coverage_of(data: SetData) -> str:
    """The coverage of a single set (``"full"``, ``"partial"`` or
    ``"pooled"``); sets saved before it was recorded were pooled (one shared
    vertex) or full."""
    coverage = data.get("coverage")
    if coverage is None:
        return "pooled" if int(data.num_vertices) == 1 else "full"
    return coverage


def split_sets(batch: SetData) -> List[List[Data]]:
    """Splits a batch of sets into a list (one per set) of lists of elements."""
    if not hasattr(batch, "to_data_list"):
        return [batch.to_elements()]
    return [s.to_elements() for s in batch.to_data_list()]


def _edges_or_empty(edge_index: Optional[Tensor]) -> Tensor:
    return edge_index.clone() if edge_index is not None else torch.empty(2, 0, dtype=torch.long)


def _is_node_level(value: Any, num_nodes: int) -> bool:
    return isinstance(value, Tensor) and value.dim() > 0 and value.size(0) == num_nodes


def _is_edge_level(key: str, value: Any, num_edges: int) -> bool:
    # PyG's own convention for edge-level attributes: 'edge' in the name.
    return (isinstance(value, Tensor) and value.dim() > 0 and value.size(0) == num_edges
            and "edge" in key and key != "edge_index" and not key.startswith("shared_"))


# -- checks of the input of from_elements ------------------------------------
def _check_edges(where: str, edge_index: Any, num_nodes: int, node_word: str) -> None:
    if not isinstance(edge_index, Tensor) or edge_index.dtype != torch.long or \
            edge_index.dim() != 2 or edge_index.size(0) != 2:
        shape = tuple(edge_index.shape) if isinstance(edge_index, Tensor) else type(edge_index)
        raise ValueError(f"{where}: 'edge_index' must be a long tensor of shape [2, E], got "
                         f"{shape}" + (f" ({edge_index.dtype})" if isinstance(
                             edge_index, Tensor) else "") + ".")
    if edge_index.numel() == 0:
        return
    lo, hi = (int(v) for v in torch.aminmax(edge_index))
    if lo < 0 or hi >= num_nodes:
        bad = lo if lo < 0 else hi
        col = int(((edge_index < 0) | (edge_index >= num_nodes)).any(0).nonzero()[0])
        raise ValueError(f"{where}: edge {col} of 'edge_index' refers to {node_word} {bad}, "
                         f"but there are {num_nodes} {node_word}s (ids 0..{num_nodes - 1})"
                         + ("; in a set it would become an edge into another element."
                            if node_word == "node" else "."))


def _check_rows(where: str, data: Data, key: str, rows: int, what: str) -> None:
    value = data.get(key)
    if isinstance(value, Tensor) and (value.dim() == 0 or value.size(0) != rows):
        raise ValueError(f"{where}: '{key}' has shape {tuple(value.shape)} but needs "
                         f"{rows} rows (one per {what}).")


def _check_shared(shared: Any) -> None:
    if not isinstance(shared, Data):
        raise ValueError(f"shared must be a torch_geometric Data (the shared domain graph), "
                         f"got {type(shared).__name__}.")
    if shared.num_nodes is None:
        raise ValueError("The shared domain has no num_nodes; set shared.num_nodes = V.")
    if shared.get("edge_index") is not None:
        _check_edges("The shared domain", shared.edge_index, int(shared.num_nodes), "vertex")
        _check_rows("The shared domain", shared, "edge_attr", shared.edge_index.size(1), "edge")
    elif shared.get("edge_attr") is not None:
        raise ValueError("The shared domain has 'edge_attr' but no 'edge_index'.")


def _check_elements(elements: List[Data], corresponded: bool, shared: Optional[Data]) -> None:
    first = elements[0]
    keys = set(first.keys()) if isinstance(first, Data) else set()
    for i, e in enumerate(elements):
        where = f"Element {i}"
        if not isinstance(e, Data):
            raise ValueError(f"{where} is a {type(e).__name__}, not a torch_geometric Data.")
        if e.x is None:
            raise ValueError(f"{where} has no node features 'x'; set x on every element "
                             "(for a point cloud or mesh, x=pos is a common choice).")
        reserved = sorted((set(e.keys()) & _OWN_KEYS) - {"vertex_index"})
        if reserved:
            raise ValueError(f"{where} has attributes {reserved} that SetData sets itself; "
                             "rename them.")
        if set(e.keys()) != keys:
            missing = sorted(keys - set(e.keys()))
            extra = sorted(set(e.keys()) - keys)
            raise ValueError(f"{where} has different attributes from element 0 "
                             f"(missing {missing}, extra {extra}); all elements of a set "
                             "need the same attributes.")
        if e.x.shape[1:] != first.x.shape[1:]:
            raise ValueError(f"{where} has {tuple(e.x.shape[1:])} features per node but "
                             f"element 0 has {tuple(first.x.shape[1:])}.")
        num_nodes = e.num_nodes
        for key in ("x", "pos"):
            _check_rows(where, e, key, num_nodes, "node")
        if e.get("edge_index") is not None:
            if i == 0 or e.edge_index is not first.edge_index or num_nodes != first.num_nodes:
                _check_edges(where, e.edge_index, num_nodes, "node")
            for key in _EDGE_ATTRS:
                _check_rows(where, e, key, e.edge_index.size(1), "edge")
        if "vertex_index" in e:
            if shared is None:
                raise ValueError(f"{where} has a 'vertex_index' but no shared domain was "
                                 "given; pass shared=Data(num_nodes=V, edge_index=...) to "
                                 "from_elements.")
            _check_vertex_index(where, e.vertex_index, num_nodes, int(shared.num_nodes))
        elif shared is not None and not corresponded:
            raise ValueError(f"{where} has no 'vertex_index'; with shared= and "
                             "corresponded=False every element needs vertex_index [num_nodes], "
                             "the shared vertex of each of its nodes.")
        if not corresponded:
            continue
        if shared is not None:
            V = int(shared.num_nodes)
            if num_nodes != V:
                raise ValueError(f"corresponded=True, but element {i} has {num_nodes} nodes "
                                 f"and the shared domain {V} vertices; a corresponded "
                                 "element covers every shared vertex once. Use "
                                 "corresponded=False for elements covering part of it.")
            continue
        if num_nodes != first.num_nodes:
            raise ValueError(f"corresponded=True, but element {i} has {num_nodes} nodes "
                             f"and element 0 has {first.num_nodes}; corresponded elements "
                             "share one domain. Use corresponded=False for elements of "
                             "different sizes.")
        ei, ei0 = e.edge_index, first.edge_index
        same_edges = (ei is None and ei0 is None) or (
            ei is not None and ei0 is not None and torch.equal(ei, ei0))
        if not same_edges:
            raise ValueError(f"corresponded=True, but element {i} has different edges "
                             "(edge_index) from element 0; corresponded elements share one "
                             "graph. Use corresponded=False for different graphs, or give "
                             "the shared graph with shared= (elements may then differ in "
                             "edges).")


def _check_vertex_index(where: str, vertex_index: Any, num_nodes: int,
                        num_vertices: int) -> None:
    if not isinstance(vertex_index, Tensor) or vertex_index.dtype != torch.long or \
            vertex_index.shape != (num_nodes, ):
        shape = tuple(vertex_index.shape) if isinstance(vertex_index, Tensor) else \
            type(vertex_index).__name__
        raise ValueError(f"{where}: 'vertex_index' must be a long tensor of shape "
                         f"[{num_nodes}] (one shared vertex per node), got {shape}.")
    if num_nodes == 0:
        return
    lo, hi = int(vertex_index.min()), int(vertex_index.max())
    if lo < 0 or hi >= num_vertices:
        raise ValueError(f"{where}: 'vertex_index' holds vertex {lo if lo < 0 else hi}, but "
                         f"the shared domain has {num_vertices} vertices (ids 0..."
                         f"{num_vertices - 1}).")
    if torch.unique(vertex_index).numel() != num_nodes:
        raise ValueError(f"{where}: 'vertex_index' maps two nodes to the same shared vertex; "
                         "an element covers each shared vertex at most once.")


# -- validate() ----------------------------------------------------------------
def _as_list(value: Any, count: int) -> List:
    if isinstance(value, Tensor):
        return value.view(-1).tolist()
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value] * count


def _set_problems(s: Any) -> List[str]:
    """Everything that makes a set (or a batch) garbage, as messages that
    name the set and the element; empty when the set is valid."""
    for key in ("element_index", "vertex_index", "shared_edge_index", "element_set",
                "num_elements", "num_vertices"):
        if s.get(key) is None:
            return [f"'{key}' is missing; build sets with SetData.from_elements."]
    N = s.num_nodes
    element_index, vertex_index = s.element_index, s.vertex_index
    element_set, shared_ei = s.element_set, s.shared_edge_index
    num_elements = torch.as_tensor(s.num_elements, device=element_index.device).view(-1)
    num_vertices = torch.as_tensor(s.num_vertices, device=element_index.device).view(-1)
    B = num_elements.numel()
    legacy = ["pooled" if v == 1 else "full" for v in num_vertices.tolist()]
    coverage = _as_list(s.coverage, B) if s.get("coverage") is not None else legacy
    batched = B > 1 or isinstance(s, Batch)
    name = (lambda k: f"set {k}, ") if batched else (lambda k: "")

    for key, t in (("element_index", element_index), ("vertex_index", vertex_index),
                   ("element_set", element_set), ("shared_edge_index", shared_ei)):
        if t.dtype != torch.long:
            return [f"'{key}' must be a long tensor, got {t.dtype}."]
    if num_vertices.numel() != B or len(coverage) != B:
        return [f"'num_elements', 'num_vertices' and 'coverage' must have one entry per set, "
                f"got {B}, {num_vertices.numel()} and {len(coverage)}."]
    bad = [c for c in coverage if c not in COVERAGES]
    if bad:
        return [f"unknown coverage {bad[0]!r}; expected one of {COVERAGES}."]
    for key, t in (("element_index", element_index), ("vertex_index", vertex_index)):
        if t.shape != (N, ):
            return [f"'{key}' has shape {tuple(t.shape)} but the set has {N} nodes: a "
                    "transform changed the nodes without it (use pyg_dss.transforms)."]
    total = int(num_elements.sum())
    if element_set.shape != (total, ):
        return [f"'element_set' has shape {tuple(element_set.shape)}, expected [{total}] "
                "(one entry per element)."]
    sets = torch.arange(B, device=element_set.device)
    if not torch.equal(element_set, torch.repeat_interleave(sets, num_elements)):
        return ["'element_set' must list the elements set by set, in order, with "
                "'num_elements' elements per set."]
    if shared_ei.dim() != 2 or shared_ei.size(0) != 2:
        return [f"'shared_edge_index' must have shape [2, E_d], got {tuple(shared_ei.shape)}."]

    problems = []
    if N and (int(element_index.min()) < 0 or int(element_index.max()) >= total):
        return [f"'element_index' holds ids outside 0..{total - 1} ({total} elements)."]
    vertex_ptr = torch.cat([num_vertices.new_zeros(1), num_vertices.cumsum(0)])
    element_ptr = torch.cat([num_elements.new_zeros(1), num_elements.cumsum(0)])
    node_set = element_set[element_index]
    lo, hi = vertex_ptr[node_set], vertex_ptr[node_set + 1]
    outside = (vertex_index < lo) | (vertex_index >= hi)
    if bool(outside.any()):
        i = int(outside.nonzero()[0])
        k, e = int(node_set[i]), int(element_index[i] - element_ptr[node_set[i]])
        return problems + [
            f"{name(k)}element {e}: node {i} has vertex_index {int(vertex_index[i])}, outside "
            f"its set's shared vertices {int(lo[i])}..{int(hi[i]) - 1} (num_vertices "
            f"{int(num_vertices[k])})."]

    if shared_ei.numel():
        vertex_set = torch.repeat_interleave(sets.to(shared_ei.device), num_vertices)
        V_total = vertex_set.numel()
        if int(shared_ei.min()) < 0 or int(shared_ei.max()) >= V_total:
            return problems + [f"'shared_edge_index' refers to vertices outside 0..."
                               f"{V_total - 1} ({V_total} shared vertices)."]
        cross = vertex_set[shared_ei[0]] != vertex_set[shared_ei[1]]
        if bool(cross.any()):
            j = int(cross.nonzero()[0])
            problems.append(f"shared edge {j} joins the domains of sets "
                            f"{int(vertex_set[shared_ei[0, j]])} and "
                            f"{int(vertex_set[shared_ei[1, j]])}.")
    shared_attr = s.get("shared_edge_attr")
    if isinstance(shared_attr, Tensor) and (shared_attr.dim() == 0 or
                                            shared_attr.size(0) != shared_ei.size(1)):
        problems.append(f"'shared_edge_attr' has {tuple(shared_attr.shape)} rows but there "
                        f"are {shared_ei.size(1)} shared edges.")

    edge_index = s.get("edge_index")
    if isinstance(edge_index, Tensor) and edge_index.numel() and edge_index.dim() == 2 \
            and 0 <= int(edge_index.min()) and int(edge_index.max()) < N:
        cross = element_index[edge_index[0]] != element_index[edge_index[1]]
        if bool(cross.any()):
            j = int(cross.nonzero()[0])
            a, b = int(element_index[edge_index[0, j]]), int(element_index[edge_index[1, j]])
            k = int(element_set[a])
            problems.append(
                f"{name(k)}edge {j} of 'edge_index' joins element {a - int(element_ptr[k])} "
                f"to element {b - int(element_ptr[int(element_set[b])])}: a graph-building "
                "transform ran on the whole set (apply it per element: "
                "SetTransform(t, per='element')), or an element's edge_index was out of range.")
        for key in _EDGE_ATTRS:
            value = s.get(key)
            if isinstance(value, Tensor) and (value.dim() == 0 or
                                              value.size(0) != edge_index.size(1)):
                problems.append(f"'{key}' has shape {tuple(value.shape)} but there are "
                                f"{edge_index.size(1)} edges.")

    # Every element of a "full" set covers all of its vertices.
    sizes = torch.bincount(element_index, minlength=total) if N else \
        torch.zeros(total, dtype=torch.long, device=element_index.device)
    full = torch.tensor([c == "full" for c in coverage], device=sizes.device)
    want = num_vertices[element_set]
    short = (sizes != want) & full[element_set]
    if bool(short.any()):
        j = int(short.nonzero()[0])
        k = int(element_set[j])
        got = sizes[element_set == k].tolist()
        problems.append(
            f"{name(k)}a corresponded set (coverage 'full') on {int(num_vertices[k])} shared "
            f"vertices has elements of {got} nodes; every element must cover every vertex "
            "once. A transform dropped nodes element by element (e.g. T.FixedPoints): use "
            "pyg_dss.transforms.SubsampleVertices for corresponded sets.")
    # No element covers a vertex twice (bar the one vertex of a pooled set).
    if N:
        pair = element_index * int(num_vertices.max()) + (vertex_index - lo)
        pair_counts = torch.bincount(pair)
        pooled = torch.tensor([c == "pooled" for c in coverage], device=pair.device)
        twice = (pair_counts[pair] > 1) & ~pooled[node_set]
        if bool(twice.any()):
            i = int(twice.nonzero()[0])
            k = int(node_set[i])
            problems.append(f"{name(k)}element {int(element_index[i] - element_ptr[k])} "
                            f"covers shared vertex {int(vertex_index[i] - lo[i])} more than "
                            "once; an element covers each shared vertex at most once.")
    if N > 1 and bool((element_index[1:] < element_index[:-1]).any()):
        problems.append("'element_index' is not sorted: the nodes of every element must be "
                        "contiguous, elements in order (a transform reordered the nodes of "
                        "the set).")
    return problems
