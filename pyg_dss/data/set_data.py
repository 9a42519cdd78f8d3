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
from typing import Any, List, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from .checks import check_elements, check_shared, set_problems, structure_problem
from .keys import ELEMENT_INDEX_KEYS, NODE_INDEX_KEYS, SET_KEYS, VERTEX_INDEX_KEYS

__all__ = ["SetData", "split_sets", "coverage_of", "require_single_set", "check_sets"]


class SetData(Data):
    r"""One set of elements (graphs, meshes or point clouds) as a single
    :class:`~torch_geometric.data.Data`; see the module docstring for the
    attributes.  Build one with :meth:`from_elements`, split it with
    :meth:`to_elements`, check one with :meth:`validate`.

    Example:

    .. testcode::

        import torch
        from torch_geometric.data import Data
        from torch_geometric.loader import DataLoader
        from pyg_dss.data import SetData

        edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
        frames = [Data(x=torch.randn(3, 3), edge_index=edge_index) for _ in range(7)]
        s = SetData.from_elements(frames, corresponded=True)
        batch = next(iter(DataLoader([s, s], batch_size=2)))
        print(batch.element_index.max())  # elements of both sets

    .. testoutput::

        tensor(13)
    """
    #: The attributes a set owns (its structure); everything else is data.
    set_keys = SET_KEYS

    def __inc__(self, key: str, value: Any, *args, **kwargs) -> Any:
        if key in ELEMENT_INDEX_KEYS:
            # Called once per set when a loader collates: the place where a
            # set that a transform broke is stopped before it reaches a model.
            self._check_counts()
            self._check_structure()
            return self.num_elements
        if key in VERTEX_INDEX_KEYS:
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
        """Number of sets held (1 for a single set, B for a batch), from the
        size of ``num_vertices`` (one entry per set): no host
        synchronisation, so it also runs inside a compiled graph."""
        nv = self.num_vertices
        return nv.numel() if isinstance(nv, Tensor) else 1

    # -- which attribute is what -----------------------------------------
    # PyG's Data.is_node_attr caches its answer per key in the storage, and
    # copies share that cache: it goes stale when a set's nodes change
    # (shared_subgraph, element_subgraph). These decide from the value.
    def is_node_attr(self, key: str) -> bool:
        """Whether ``self[key]`` has one row per node (``x``, ``pos``,
        ``element_index``, ...); the set's other own keys are not, nor are
        edge attributes when there are as many edges as nodes."""
        if key in SET_KEYS:
            return key in NODE_INDEX_KEYS
        if self.is_edge_attr(key):
            return False
        value = self.get(key)
        return isinstance(value, Tensor) and value.dim() > 0 and value.size(0) == self.num_nodes

    def is_edge_attr(self, key: str) -> bool:
        """Whether ``self[key]`` has one row per edge of ``edge_index`` (PyG's
        convention: ``"edge"`` in the name, e.g. ``edge_attr``); the shared
        domain's ``shared_edge_*`` are not edges of the elements."""
        if key in SET_KEYS or key == "edge_index" or "edge" not in key:
            return False
        value, edge_index = self.get(key), self.get("edge_index")
        return (isinstance(value, Tensor) and isinstance(edge_index, Tensor)
                and value.dim() > 0 and value.size(0) == edge_index.size(1))

    def is_element_attr(self, key: str) -> bool:
        """Whether ``self[key]`` has one row per element (e.g. a frame's
        ``time``) and is neither node- nor edge-level."""
        if key in SET_KEYS or self.is_node_attr(key) or self.is_edge_attr(key):
            return False
        value = self.get(key)
        return (isinstance(value, Tensor) and value.dim() > 0
                and value.size(0) == self.element_set.numel())

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
            check_shared(shared)
        check_elements(elements, corresponded, shared)
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
        subset, new_vertex = _renumbering(subset, V, "shared vertex", self.vertex_index.device)
        for key in self.keys():
            if key not in SET_KEYS and key != "edge_index" and (
                    "index" in key or key == "face"):
                raise ValueError(f"shared_subgraph() cannot renumber the attribute {key!r}; "
                                 "remove it first (e.g. turn faces into edges with "
                                 "T.FaceToEdge before building the set).")

        node_keep = new_vertex[self.vertex_index] >= 0
        new_node = torch.cumsum(node_keep, 0) - 1
        out = copy.copy(self)
        for key, value in self.items():
            if key not in SET_KEYS and self.is_node_attr(key):
                out[key] = value[node_keep]
        out.element_index = self.element_index[node_keep]
        out.vertex_index = new_vertex[self.vertex_index[node_keep]]
        if self.get("edge_index") is not None:
            ei = self.edge_index
            edge_keep = node_keep[ei[0]] & node_keep[ei[1]]
            for key, value in self.items():
                if self.is_edge_attr(key):
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

    def element_subgraph(self, subset: Tensor) -> "SetData":
        r"""The set (or batch) restricted to the elements :obj:`subset`
        (indices into all elements, distinct, or a boolean mask over them),
        in the order of :obj:`subset`: each kept element keeps its nodes in
        their order, its edges (with their edge attributes) and its
        element-level attributes; the shared domain is unchanged. In a batch,
        :obj:`subset` must list the elements set by set (it may reorder
        elements within a set); a set left without elements is refused."""
        total = self.element_set.numel()
        device = self.element_index.device
        subset, new_element = _renumbering(subset, total, "element", device)
        element_set = self.element_set[subset]
        B = self.num_sets
        per_set = torch.bincount(element_set, minlength=B)
        if bool((element_set[1:] < element_set[:-1]).any()) or bool((per_set == 0).any()):
            raise ValueError("subset must keep at least one element of every set and list "
                             "them set by set (reordering within a set is fine).")
        node_element = new_element[self.element_index]
        kept = (node_element >= 0).nonzero().view(-1)
        order = kept[torch.sort(node_element[kept], stable=True).indices]  # old id of new node
        new_node = torch.full((self.num_nodes, ), -1, dtype=torch.long, device=device)
        new_node[order] = torch.arange(order.numel(), device=device)
        out = copy.copy(self)
        edge_index = self.get("edge_index")
        edge_keep = None
        if edge_index is not None:
            edge_keep = (new_node[edge_index[0]] >= 0) & (new_node[edge_index[1]] >= 0)
        for key, value in self.items():
            if key in SET_KEYS or key in ("edge_index", "ptr"):
                continue
            if self.is_node_attr(key):
                out[key] = value[order]
            elif edge_keep is not None and self.is_edge_attr(key):
                out[key] = value[edge_keep]
            elif self.is_element_attr(key):
                out[key] = value[subset]
        if edge_index is not None and edge_keep is not None:
            out.edge_index = new_node[edge_index[:, edge_keep]]
        out.element_index = node_element[order]
        out.vertex_index = self.vertex_index[order]
        out.element_set = element_set
        out.num_elements = (per_set if isinstance(self.num_elements, Tensor)
                            else int(subset.numel()))
        out.num_nodes = int(order.numel())
        if self.get("ptr") is not None:  # a batch: nodes per set
            nodes = torch.bincount(element_set[out.element_index], minlength=B)
            out.ptr = torch.cat([nodes.new_zeros(1), nodes.cumsum(0)])
        return out

    def _split(self) -> List[Data]:
        """The elements of a single set, every one with its ``vertex_index``."""
        require_single_set(self, "to_elements()")
        n = int(self.num_elements)
        counts = torch.bincount(self.element_index, minlength=n)
        node_ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        skip = (SET_KEYS - {"vertex_index"}) | {"num_nodes", "batch", "ptr"}
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
            elif self.is_node_attr(key):
                for d, part in zip(out, value.split(counts.tolist()), strict=True):
                    d[key] = part
            elif edge_element is not None and self.is_edge_attr(key):
                for i, d in enumerate(out):
                    d[key] = value[edge_element == i]
            elif isinstance(value, Tensor) and value.dim() > 0 and value.size(0) == n:
                for i, d in enumerate(out):  # shape [1, ...], as PyG's graph-level y
                    d[key] = value[i:i + 1]
        for d, c in zip(out, counts.tolist(), strict=True):
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

    def _check_structure(self) -> None:
        """The structural checks of :meth:`validate` (O(N) tensor passes) when
        a single set is collated: an unsorted ``element_index``, a vertex
        repeated within an element, an edge across elements, an element
        without nodes."""
        if isinstance(self.num_elements, Tensor) and self.num_elements.numel() != 1:
            return  # a batch being re-collated: its sets were checked already
        problem = structure_problem(self)
        if problem is not None:
            raise ValueError(f"Invalid {self.__class__.__name__}: {problem}")

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
        problems = set_problems(self)
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


def check_sets(sets: Any, where: str = "sets") -> None:
    """Raises a clear error unless ``sets`` is a :class:`SetData` or a batch
    of them (a type check: free under :func:`torch.compile`)."""
    if not isinstance(sets, SetData):
        kind = type(sets).__name__
        hint = ""
        if isinstance(sets, Tensor):
            hint = (" It is a tensor: were the arguments swapped? Call "
                    "layer(batch.x, batch.edge_index, batch).")
        elif hasattr(sets, "x") or hasattr(sets, "edge_index"):
            hint = (" A plain PyG Data/Batch has no set structure: build each set with "
                    "pyg_dss.data.SetData.from_elements(elements, corresponded=...) and batch "
                    "the sets with a DataLoader.")
        raise TypeError(f"{where} must be a pyg_dss.data.SetData or a batch of them, got "
                        f"{kind}.{hint}")


def _renumbering(subset: Any, count: int, what: str,
                 device: torch.device) -> Tuple[Tensor, Tensor]:
    r"""``(ids, new_id)``: :obj:`subset` (distinct ids among :obj:`count`, or
    a boolean mask over them) as ids, and for every old id its position in
    :obj:`subset` (-1 when left out)."""
    subset = torch.as_tensor(subset, device=device)
    if subset.dtype == torch.bool:
        if subset.shape != (count, ):
            raise ValueError(f"A boolean subset needs one entry per {what} ({count}), "
                             f"got shape {tuple(subset.shape)}.")
        subset = subset.nonzero().view(-1)
    subset = subset.long().view(-1)
    if subset.numel() and (int(subset.min()) < 0 or int(subset.max()) >= count):
        raise ValueError(f"subset holds {what} ids outside 0..{count - 1}.")
    new_id = torch.full((count, ), -1, dtype=torch.long, device=device)
    new_id[subset] = torch.arange(subset.numel(), device=device)
    if int((new_id >= 0).sum()) != subset.numel():
        raise ValueError(f"subset holds a {what} more than once; pass distinct ids.")
    return subset, new_id
