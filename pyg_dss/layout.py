r"""What a batch of sets looks like, found once per batch and carried to every
layer: the dense layout and the graphs that repeat.

A batch of frames of one mesh (Dynamic FAUST) is far more regular than a
general PyG batch: its ``B`` sets each hold ``n`` elements of the same ``V``
vertices in order, and its ``edge_index`` is ``B n`` copies of one graph.  The
layers use that regularity (a reshape instead of a scatter, one sparse
product with :math:`I_k \otimes \hat{A}` instead of per-edge messages), but
only where it is exactly true.  :class:`SetLayout` records it:

* ``num_vertices`` ``V``: the number of shared vertices, when every set of
  the batch has the same; else :obj:`None`.
* ``set_size`` ``n``: when the batch is *dense*, i.e. node ``i`` is vertex
  ``v`` of element ``e`` of set ``s`` with ``i = (s n + e) V + v`` for every
  node (``vertex_index``, ``element_index``, ``element_set`` and
  ``num_vertices`` all follow that pattern); else :obj:`None`.
* ``element_graph``: when ``edge_index`` is ``N / V`` copies of one graph on
  ``V`` vertices (copy ``c`` on nodes ``cV .. cV + V - 1``), that graph as a
  :class:`RepeatedGraph`; else :obj:`None`.  Elements of one mesh; not the
  bags of subgraphs of ESAN, whose elements have different edges.
* ``shared_graph``: the same for ``shared_edge_index`` (``B`` copies).
* ``shared_vertices``: the total number of shared vertices of the batch (the
  sum of ``num_vertices``), a Python int, so that a layer never reads it from
  the device (bags of subgraphs of different sizes need it in every layer).

Where it comes from:

* :func:`find_layout` computes it from a batch (exact checks; a few passes
  over the index tensors).
* :func:`with_layout` attaches it to a batch as ``batch.set_layout``, and
  :class:`pyg_dss.loader.SetDataLoader` does so for every batch it makes (in
  its workers).  A batch that carries its layout can run under
  :func:`torch.compile`.
* :func:`layout_of` is what the layers call: the carried layout if it still
  describes the batch (checked on every call, so an index tensor edited in
  place, or a batch rebuilt by :func:`pyg_dss.testing.permute_sets`, is
  never run with an old layout), else a layout found afresh.  Nothing is
  cached anywhere else.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional, Tuple

import torch
from torch import Tensor

from pyg_dss.data import check_sets
from pyg_dss.data.checks import structure_problem

__all__ = ["RepeatedGraph", "SetLayout", "find_layout", "with_layout", "layout_of",
           "layout_matches", "repeated_graph"]

LAYOUT_KEY = "set_layout"


class RepeatedGraph(NamedTuple):
    r"""A graph on ``V`` vertices that an edge index repeats ``k`` times
    (block-diagonal :math:`I_k \otimes A`), in the form a sparse product
    needs.  Messages flow source to target, so row ``i`` of :math:`A` holds
    the edges into vertex ``i``.  Every row has a slot for its diagonal (its
    weight 0 unless the graph has a self-loop there), so that a layer can add
    self-loops by changing values only.

    Built by :func:`find_layout`; all index tensors are on the data's device.
    """
    edge_index: Tensor   #: [2, E] the edges of one copy, as the batch lists them
    row: Tensor          #: [nnz] row (target) of each stored entry, CSR order
    col: Tensor          #: [nnz] column (source) of each entry
    weight: Tensor       #: [nnz] float: number of edges (j -> i); diagonal: self-loops
    diagonal: Tensor     #: [V] position of the entry (v, v) of every vertex
    crow: Tensor         #: [k V + 1] int32 CSR row pointers of I_k (x) A
    tcol: Tensor         #: [k nnz] int32 CSR columns of I_k (x) A
    crow_t: Tensor       #: the same for the transpose (same tensors when symmetric)
    tcol_t: Tensor
    perm_t: Optional[Tensor]  #: [nnz] entries of A^T in A's order; None when symmetric
    offsets: Tensor      #: [k] first node of every copy (c V); its size is the number of copies


class SetLayout(NamedTuple):
    """The regular structure of a batch of sets; see the module docstring.
    Build one with :meth:`of` (or get it from :func:`find_layout`)."""
    #: ``"V:n"`` (``V`` or ``n`` empty where :obj:`None`).  Read it through
    #: :attr:`num_vertices` / :attr:`set_size`.  A string, because
    #: :func:`torch.compile` with ``dynamic=True`` makes every int it reads
    #: from its inputs symbolic, whereas these sizes belong to the mesh and
    #: the set size: kept static they keep the compiled graph simple.
    sizes: str
    element_graph: Optional[RepeatedGraph]
    shared_graph: Optional[RepeatedGraph]
    #: Total shared vertices of the batch, or :obj:`None` where not known.
    #: An int field (not in :attr:`sizes`): it changes from batch to batch
    #: when the sets differ in size, and a compiled graph then keeps it
    #: symbolic instead of recompiling for every value.
    shared_vertices: Optional[int] = None

    @classmethod
    def of(cls, num_vertices: Optional[int] = None, set_size: Optional[int] = None,
           element_graph: Optional[RepeatedGraph] = None,
           shared_graph: Optional[RepeatedGraph] = None,
           shared_vertices: Optional[int] = None) -> "SetLayout":
        """A layout from its parts; ``SetLayout.of()`` describes nothing
        regular (every layer takes its general path)."""
        if set_size is not None and num_vertices is None:
            raise ValueError("A dense layout (set_size) needs num_vertices.")
        sizes = ":".join("" if v is None else str(int(v)) for v in (num_vertices, set_size))
        return cls(sizes, element_graph, shared_graph,
                   None if shared_vertices is None else int(shared_vertices))

    @property
    def num_vertices(self) -> Optional[int]:
        """``V``, the shared vertices of every set, or :obj:`None`."""
        v = self.sizes.split(":")[0]
        return int(v) if v else None

    @property
    def set_size(self) -> Optional[int]:
        """``n`` when the batch is dense (``B`` sets x ``n`` elements x ``V``
        vertices, in order), else :obj:`None`."""
        n = self.sizes.split(":")[1]
        return int(n) if n else None

    @property
    def dense(self) -> bool:
        """Whether node features can be viewed as ``[B, n, V, C]``."""
        return self.set_size is not None

    def dense_sizes(self) -> Tuple[int, int]:
        """``(n, V)`` of a dense layout."""
        n, V = self.set_size, self.num_vertices
        if n is None or V is None:
            raise ValueError(f"The layout {self.sizes!r} is not dense; check layout.dense first.")
        return n, V


# ----------------------------------------------------------------------------- finding
def _vertex_counts(sets: Any) -> Tensor:
    nv = sets.num_vertices
    if isinstance(nv, Tensor):
        return nv.reshape(-1)
    return torch.tensor([int(nv)])


def _dense_sizes_agree(sets: Any, n: int, V: int) -> bool:
    """Whether the index tensors have the sizes of ``B`` sets x ``n``
    elements x ``V`` vertices (sizes only; no division, so that under
    :func:`torch.compile` every size is a multiple of the number of sets)."""
    B = sets.num_sets
    N = sets.vertex_index.size(0)
    return (N == B * n * V and sets.element_index.size(0) == N
            and sets.element_set.size(0) == B * n)


def _dense_pattern(sets: Any, n: int, V: int) -> Tensor:
    """A bool scalar: whether the node, element and set indices follow the
    dense pattern of ``B`` sets x ``n`` elements x ``V`` vertices (the sizes
    must agree, see :func:`_dense_sizes_agree`)."""
    B = sets.num_sets
    device = sets.vertex_index.device
    sets_ = torch.arange(B, device=device)
    elements = torch.arange(n, device=device)
    vertices = torch.arange(V, device=device)
    ok = (sets.vertex_index.view(B, n, V) == (sets_ * V).view(B, 1, 1) + vertices).all()
    ok = ok & (sets.element_index.view(B, n, V)
               == (sets_ * n).view(B, 1, 1) + elements.view(1, n, 1)).all()
    ok = ok & (sets.element_set.view(B, n) == sets_.view(B, 1)).all()
    nv = sets.num_vertices
    if isinstance(nv, Tensor):
        ok = ok & (nv == V).all()
    return ok


def repeated_graph(edge_index: Tensor, num_nodes: int,
                   num_vertices: int) -> Optional[Tensor]:
    r"""If ``edge_index`` on ``num_nodes`` nodes is :math:`k` =
    ``num_nodes / num_vertices`` copies of one graph on ``num_vertices``
    vertices (copy :math:`c` on nodes :math:`cV, \dots, cV + V - 1`, the edges
    of each copy contiguous and in the same order, the copies' blocks in any
    order), returns the edges of one copy ``[2, E]``; otherwise :obj:`None`.
    This is the layout of a batch of corresponded sets of one mesh (also
    after :func:`pyg_dss.testing.permute_sets`)."""
    V = int(num_vertices)
    if edge_index is None or V <= 0 or num_nodes <= 0 or num_nodes % V:
        return None
    k = num_nodes // V
    if edge_index.dim() != 2 or edge_index.size(0) != 2 or edge_index.size(1) % k:
        return None
    E = edge_index.size(1) // k
    if E == 0:
        return edge_index.new_empty(2, 0)
    copy = torch.div(edge_index[0, ::E], V, rounding_mode="floor")
    first = int(copy[0])
    base = edge_index[:, :E] - first * V
    if not bool(_blocks_match(edge_index, base, torch.zeros(k, dtype=torch.long), V)):
        return None
    return base


def _blocks_match(edge_index: Tensor, base: Tensor, copies: Tensor, V: int) -> Tensor:
    """A bool scalar: whether ``edge_index`` [2, k E] is ``k`` blocks (``k =
    copies.size(0)``), each ``base`` [2, E] moved to a distinct copy ``c``
    (nodes ``cV .. cV + V - 1``); the sizes must agree.  (``k`` comes from a
    size and nothing is divided by a size, which keeps the shape reasoning of
    :func:`torch.compile` simple.)"""
    k, E = copies.size(0), base.size(1)
    blocks = edge_index.view(2, k, E)
    copy = torch.div(blocks[0, :, 0] - base[0, 0], V, rounding_mode="floor")
    ok = ((copy >= 0) & (copy < k)).all() & ((base >= 0) & (base < V)).all()
    seen = torch.zeros_like(copy).index_add(0, copy.clamp(0, k - 1), torch.ones_like(copy))
    ok = ok & (seen == 1).all()
    return ok & (blocks == base.unsqueeze(1) + (copy * V).view(1, k, 1)).all()


def _crow(row: Tensor, V: int) -> Tensor:
    counts = torch.bincount(row, minlength=V)
    return torch.cat([counts.new_zeros(1), counts.cumsum(0)])


def _build_graph(base: Tensor, V: int, copies: int,
                 like: Optional[RepeatedGraph] = None) -> RepeatedGraph:
    """The :class:`RepeatedGraph` of ``base`` on ``V`` vertices, ``copies``
    times (reusing the per-copy part of ``like`` when given)."""
    device = base.device
    perm_t: Optional[Tensor]
    if like is None:
        loops = torch.arange(V, device=device)
        target = torch.cat([base[1], loops])
        source = torch.cat([base[0], loops])
        count = torch.cat([torch.ones(base.size(1), device=device),
                           torch.zeros(V, device=device)])
        key, inverse = torch.unique(target * V + source, return_inverse=True)  # sorted
        weight = torch.zeros(key.numel(), device=device).index_add_(0, inverse, count)
        row, col = torch.div(key, V, rounding_mode="floor"), key % V
        key_t, perm_t = torch.sort(col * V + row)
        symmetric = bool(torch.equal(key_t, key)) and bool(torch.equal(weight[perm_t], weight))
        perm_t = None if symmetric else perm_t
    else:
        row, col, weight, perm_t = like.row, like.col, like.weight, like.perm_t
    crow, tcol = _tile(_crow(row, V), col, V, copies)
    if perm_t is None:
        crow_t, tcol_t = crow, tcol
    else:
        crow_t, tcol_t = _tile(_crow(col[perm_t], V), row[perm_t], V, copies)
    diagonal = (row == col).nonzero().view(-1)
    offsets = torch.arange(copies, device=device) * V
    return RepeatedGraph(base, row, col, weight, diagonal, crow, tcol, crow_t, tcol_t, perm_t,
                         offsets)


def _tile(crow: Tensor, col: Tensor, V: int, copies: int):
    r"""CSR structure of :math:`I_k \otimes A` from that of ``A`` (int32:
    torch's MKL product converts int64 indices on every call)."""
    nnz = col.numel()
    steps = torch.arange(copies, device=col.device).unsqueeze(1)
    big_crow = torch.cat([(crow[:-1].unsqueeze(0) + steps * nnz).reshape(-1),
                          crow.new_full((1, ), copies * nnz)])
    big_col = (col.unsqueeze(0) + steps * V).reshape(-1)
    if copies * max(nnz, V) < 2**31 - 1:
        big_crow, big_col = big_crow.int(), big_col.int()
    return big_crow, big_col


def find_layout(sets: Any, graphs: bool = True) -> SetLayout:
    r"""Finds the :class:`SetLayout` of a :class:`~pyg_dss.data.SetData` or a
    batch of them, exactly (no guess: a batch that is not regular gets
    :obj:`None` fields and the layers take their general paths).  With
    ``graphs=False`` the repeated graphs are not looked for (cheaper; enough
    for the heads)."""
    check_sets(sets)
    counts = _vertex_counts(sets)
    V = None
    if counts.numel() and bool((counts == counts[0]).all()) and int(counts[0]) > 0:
        V = int(counts[0])
    n = None
    if V is not None and sets.num_sets > 0:
        n_guess = sets.element_set.size(0) // sets.num_sets
        if n_guess > 0 and _dense_sizes_agree(sets, n_guess, V) \
                and bool(_dense_pattern(sets, n_guess, V)):
            n = n_guess
    if n is None:
        # the general path trusts the index vectors: refuse what validate() would
        problem = structure_problem(sets)
        if problem is not None:
            raise ValueError(f"Invalid {type(sets).__name__}: {problem}")
    element_graph = shared_graph = None
    if graphs and V is not None:
        N, B = sets.vertex_index.size(0), sets.num_sets
        edge_index = sets.get("edge_index")
        base = repeated_graph(edge_index, N, V) if edge_index is not None else None
        if base is not None:
            element_graph = _build_graph(base, V, N // V)
        shared_base = repeated_graph(sets.shared_edge_index, B * V, V)
        if shared_base is not None:
            like = None
            if element_graph is not None and torch.equal(shared_base, element_graph.edge_index):
                like = element_graph
            shared_graph = _build_graph(shared_base, V, B, like)
    return SetLayout.of(V, n, element_graph, shared_graph, int(counts.sum()))


# ----------------------------------------------------------------------------- carrying
def layout_matches(layout: SetLayout, sets: Any, graphs: bool = True) -> Tensor:
    r"""A bool scalar tensor: whether ``layout`` describes ``sets`` as they
    are now (every index tensor compared; no host synchronisation, no Python
    branch on values, so it runs inside a compiled graph).  Costs one pass
    over ``vertex_index`` / ``element_index`` and, for a repeated element
    graph, one over ``edge_index`` (skipped with ``graphs=False``)."""
    device = sets.vertex_index.device
    false = torch.zeros((), dtype=torch.bool, device=device)
    ok = torch.ones((), dtype=torch.bool, device=device)
    V = layout.num_vertices
    nv = sets.num_vertices
    if V is not None:
        ok = ok & ((nv == V).all() if isinstance(nv, Tensor) else torch.tensor(nv == V))
    if layout.shared_vertices is not None:
        total = layout.shared_vertices
        ok = ok & (nv.sum() == total if isinstance(nv, Tensor) else torch.tensor(nv == total))
    if layout.dense:
        n, V = layout.dense_sizes()
        if not _dense_sizes_agree(sets, n, V):
            return false
        ok = ok & _dense_pattern(sets, n, V)
    if not graphs:
        return ok
    for graph, edge_index, num_nodes in (
            (layout.element_graph, sets.get("edge_index"), sets.vertex_index.size(0)),
            (layout.shared_graph, sets.shared_edge_index, sets.num_sets * (V or 0))):
        if graph is None:
            continue
        k = graph.offsets.size(0)
        E = graph.edge_index.size(1)
        if (V is None or edge_index is None or num_nodes != k * V or edge_index.size(1) != k * E
                or graph.crow.size(0) != k * V + 1):
            return false
        if E:
            ok = ok & _blocks_match(edge_index, graph.edge_index, graph.offsets, V)
    return ok


def with_layout(batch: Any) -> Any:
    r"""Attaches the batch's :class:`SetLayout` (``batch.set_layout``) and
    returns the batch.  The layers check it against the batch on every call
    and ignore it once it no longer fits (an edited batch); moving the batch
    with ``.to(device)`` moves it too."""
    batch[LAYOUT_KEY] = find_layout(batch)
    return batch


def layout_of(sets: Any, graphs: bool = True) -> SetLayout:
    r"""The layout the layers use for ``sets``: the one it carries
    (:func:`with_layout`) while it still matches, else one found afresh.

    Under :func:`torch.compile` the batch must carry its layout (finding one
    branches on tensor values); it is checked inside the graph and a batch
    that no longer matches it raises instead of running on a stale layout.
    """
    check_sets(sets)
    layout = sets.get(LAYOUT_KEY)
    if isinstance(layout, SetLayout) and not graphs:
        layout = layout._replace(element_graph=None, shared_graph=None)
    if torch.compiler.is_compiling():
        if not isinstance(layout, SetLayout):
            raise RuntimeError(
                "torch.compile needs batches that carry their layout: load them with "
                "pyg_dss.loader.SetDataLoader (or call pyg_dss.layout.with_layout(batch)).")
        torch._assert_async(layout_matches(layout, sets, graphs),
                            "This batch no longer matches its set_layout (its index tensors "
                            "changed after with_layout); call with_layout(batch) again.")
        return layout
    if isinstance(layout, SetLayout) and bool(layout_matches(layout, sets, graphs)):
        return layout
    return find_layout(sets, graphs)
