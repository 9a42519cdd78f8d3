r"""The checks of :class:`~pyg_dss.data.SetData`: of the elements given to
:meth:`~pyg_dss.data.SetData.from_elements` (one-line errors naming the
element), the structural checks run on every collated set and on the
layers' general path (:func:`structure_problem`: O(N) tensor passes, no
loop over elements), and everything :meth:`~pyg_dss.data.SetData.validate`
checks (:func:`set_problems`)."""
from __future__ import annotations

from typing import Any, List, Optional

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from .keys import SET_KEYS

__all__ = ["COVERAGES", "check_elements", "check_shared", "set_problems", "structure_problem"]

COVERAGES = ("full", "partial", "pooled")
# Edge-level attributes of an element (rows = edges), checked and split.
EDGE_ATTRS = ("edge_attr", "edge_weight")


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


def check_shared(shared: Any) -> None:
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


def check_elements(elements: List[Data], corresponded: bool, shared: Optional[Data]) -> None:
    first = elements[0]
    keys = set(first.keys()) if isinstance(first, Data) else set()
    for i, e in enumerate(elements):
        where = f"Element {i}"
        if not isinstance(e, Data):
            raise ValueError(f"{where} is a {type(e).__name__}, not a torch_geometric Data.")
        if e.x is None:
            raise ValueError(f"{where} has no node features 'x'; set x on every element "
                             "(for a point cloud or mesh, x=pos is a common choice).")
        reserved = sorted((set(e.keys()) & SET_KEYS) - {"vertex_index"})
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
            for key in EDGE_ATTRS:
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


def set_problems(s: Any) -> List[str]:
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

    problems: List[str] = []
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
        for key in EDGE_ATTRS:
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
    empty = sizes == 0
    if bool(empty.any()):
        j = int(empty.nonzero()[0])
        k = int(element_set[j])
        problems.append(f"{name(k)}element {j - int(element_ptr[k])} has no nodes; every "
                        "element needs at least one (an empty element would be scored from "
                        "a pooled zero vector).")
    # No element covers a vertex twice (bar the one vertex of a pooled set).
    twice = _repeated_vertices(element_index, vertex_index, node_set, coverage,
                               num_vertices, sizes)
    if twice is not None:
        i = twice
        k = int(node_set[i])
        problems.append(f"{name(k)}element {int(element_index[i] - element_ptr[k])} "
                        f"covers shared vertex {int(vertex_index[i] - lo[i])} more than "
                        "once; an element covers each shared vertex at most once.")
    if N > 1 and bool((element_index[1:] < element_index[:-1]).any()):
        problems.append("'element_index' is not sorted: the nodes of every element must be "
                        "contiguous, elements in order (a transform reordered the nodes of "
                        "the set).")
    return problems


def _coverages(s: Any, B: int) -> List[Any]:
    if s.get("coverage") is not None:
        return _as_list(s.coverage, B)
    num_vertices = torch.as_tensor(s.num_vertices).view(-1).tolist()
    return ["pooled" if v == 1 else "full" for v in num_vertices]


def _repeated_pairs(element_index: Tensor, vertex_index: Tensor, node_set: Tensor,
                    coverage: List[Any], num_vertices: Tensor, sizes: Tensor) -> Tensor:
    r"""Per node, whether another node of its element is on the same shared
    vertex (never for the nodes of a pooled set, whose one vertex is shared
    by all). Memory O(N), never O(elements x vertices): the nodes of a
    "full" set (V nodes per element) each mark slot element start + local
    vertex of a vector of N slots, and a slot marked twice is a repeat; the
    nodes of a "partial" set are sorted by (element, vertex)."""
    device = element_index.device
    N = element_index.numel()
    full = torch.tensor([c == "full" for c in coverage], dtype=torch.bool, device=device)
    partial = torch.tensor([c == "partial" for c in coverage], dtype=torch.bool, device=device)
    vertex_ptr = torch.cumsum(num_vertices, 0) - num_vertices
    local = vertex_index - vertex_ptr[node_set]
    start = torch.cumsum(sizes, 0) - sizes
    slot = (start[element_index] + local).clamp(0, max(N - 1, 0))
    is_full = full[node_set]
    hits = torch.zeros(N, dtype=torch.long, device=device).index_add_(
        0, slot, is_full.long())
    same = is_full & (hits[slot] > 1)
    nodes = partial[node_set].nonzero().view(-1)
    if nodes.numel() > 1:
        e, v = element_index[nodes], vertex_index[nodes]
        order = torch.sort(v).indices
        order = order[torch.sort(e[order], stable=True).indices]
        e, v = e[order], v[order]
        dup = (e[1:] == e[:-1]) & (v[1:] == v[:-1])
        twice = torch.zeros(nodes.numel(), dtype=torch.bool, device=device)
        twice[order[1:]] = dup
        twice[order[:-1]] |= dup
        same[nodes] = twice
    return same


def _repeated_vertices(element_index: Tensor, vertex_index: Tensor, node_set: Tensor,
                       coverage: List[Any], num_vertices: Tensor,
                       sizes: Tensor) -> Optional[int]:
    if not element_index.numel():
        return None
    same = _repeated_pairs(element_index, vertex_index, node_set, coverage, num_vertices, sizes)
    return int(same.nonzero()[0]) if bool(same.any()) else None


def structure_problem(s: Any) -> Optional[str]:
    r"""The first structural problem of a set or batch that
    :meth:`~pyg_dss.data.SetData.validate` names (unsorted
    ``element_index``, a shared vertex repeated within an element, an edge
    joining two elements, an element without nodes, index vectors out of
    range), as validate's message; :obj:`None` when there is none. O(N + E)
    tensor operations and one host synchronisation for a valid set: cheap
    enough for every collated set and the layers' general path."""
    element_index, vertex_index = s.element_index, s.vertex_index
    element_set = s.element_set
    N, total = element_index.numel(), element_set.numel()
    device = element_index.device
    if vertex_index.shape != (N, ):
        return _first_problem(s)
    flags: List[Tensor] = []
    if N:
        lo, hi = torch.aminmax(element_index)
        flags += [lo < 0, hi >= total]
        element_index = element_index.clamp(0, max(total - 1, 0))
        flags.append((element_index[1:] < element_index[:-1]).any())
    sizes = (torch.bincount(element_index, minlength=total)[:total] if N
             else torch.zeros(total, dtype=torch.long, device=device))
    flags.append((sizes == 0).any())
    edge_index = s.get("edge_index")
    if isinstance(edge_index, Tensor) and edge_index.dim() == 2 and edge_index.numel() and N:
        lo, hi = torch.aminmax(edge_index)
        flags += [lo < 0, hi >= N]
        ends = element_index.index_select(0, edge_index.clamp(0, N - 1).view(-1))
        flags.append((ends[:edge_index.size(1)] != ends[edge_index.size(1):]).any())
    if N and total:
        nv = s.num_vertices
        if not isinstance(nv, Tensor) or nv.numel() == 1:  # one set: no per-node lookups
            V = int(nv)
            lo, hi = torch.aminmax(vertex_index)
            flags += [lo < 0, hi >= V]
            coverage = _coverages(s, 1)[0]
            if coverage == "full":  # n x V nodes: every (element, vertex) slot once
                slot = (element_index * V + vertex_index).clamp(0, N - 1)
                flags.append((torch.bincount(slot, minlength=N) != 1).any())
            elif coverage == "partial":
                zeros = torch.zeros(N, dtype=torch.long, device=device)
                flags.append(_repeated_pairs(element_index, vertex_index, zeros, ["partial"],
                                             torch.tensor([V], device=device), sizes).any())
        else:
            num_vertices = nv.view(-1).to(device)
            B = num_vertices.numel()
            flags.append(((element_set < 0) | (element_set >= B)).any())
            node_set = element_set[element_index].clamp(0, B - 1)
            vertex_ptr = torch.cumsum(num_vertices, 0) - num_vertices
            local = vertex_index - vertex_ptr[node_set]
            flags.append(((local < 0) | (local >= num_vertices[node_set])).any())
            flags.append(_repeated_pairs(element_index, vertex_index, node_set,
                                         _coverages(s, B), num_vertices, sizes).any())
    if not bool(torch.stack(flags).any()):
        return None
    return _first_problem(s)


def _first_problem(s: Any) -> str:
    problems = set_problems(s)
    return problems[0] if problems else (
        "its index vectors are out of range; check it with validate() after every transform.")
