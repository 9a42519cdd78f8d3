"""The fast paths (dense reshapes, SetGCNConv's sparse product over a repeated
graph) against the general per-edge / scatter path: same numbers, forward and
gradients; the layout is found exactly, never stale, and nothing misfires on
mixed meshes, variable set sizes or elements that cover part of the domain."""
from __future__ import annotations

import copy

import pytest
import torch
import trimesh
from torch.nn import BatchNorm1d
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GCNConv
from torch_geometric.utils import scatter, to_undirected

import pyg_dss.nn.set_gcn as set_gcn
from pyg_dss.data import SetData
from pyg_dss.layout import (SetLayout, find_layout, layout_matches, layout_of, repeated_graph,
                            with_layout)
from pyg_dss.loader import SetDataLoader
from pyg_dss.nn import DSSConv, DSSNet, SetGCNConv, set_aggregate
from pyg_dss.nn.aggr import broadcast
from pyg_dss.testing import assert_equivariant, permute_sets

ATOL, RTOL = 1e-5, 1e-4
GENERAL = SetLayout.of()   # forces every general path


def mesh_edges(major: int = 8, minor: int = 5) -> torch.Tensor:
    """Edges of a closed torus mesh (major * minor vertices)."""
    m = trimesh.creation.torus(1.0, 0.3, major_sections=major, minor_sections=minor)
    e = torch.from_numpy(m.edges_unique.T.copy()).long()
    return to_undirected(e, num_nodes=len(m.vertices))


def random_directed(num_nodes: int, num_edges: int, seed: int) -> torch.Tensor:
    """Directed, with self-loops and repeated edges: the odd cases of gcn_norm."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, num_nodes, (2, num_edges), generator=g)


def mesh_sets(edge_index: torch.Tensor, sizes=(3, 3, 3), channels: int = 4, seed: int = 0):
    torch.manual_seed(seed)
    V = int(edge_index.max()) + 1
    sets = [SetData.from_elements([Data(x=torch.randn(V, channels), edge_index=edge_index)
                                   for _ in range(n)], corresponded=True) for n in sizes]
    for s in sets:
        s.y = torch.tensor([0])
    return sets


def mesh_batch(edge_index: torch.Tensor, sizes=(3, 3, 3), channels: int = 4,
               seed: int = 0) -> SetData:
    sets = mesh_sets(edge_index, sizes, channels, seed)
    return next(iter(DataLoader(sets, batch_size=len(sets))))


def reference_dss(conv: DSSConv, x: torch.Tensor, b: SetData) -> torch.Tensor:
    """The same math with per-edge propagation and scatter (no fast path)."""
    out = conv.siamese(x, b.edge_index)  # no graph: general path
    agg = scatter(x, b.vertex_index, 0, dim_size=int(b.num_vertices.sum()), reduce=conv.aggr)
    return out + conv.shared(agg, b.shared_edge_index).index_select(0, b.vertex_index)


def uses_fast_path(b: SetData) -> bool:
    return find_layout(b).element_graph is not None


def gcn_dense(x, edge_index, weight, bias, fill):
    """GCN written densely: D^-1/2 (A + fill I) D^-1/2 X W^T + b, with A[i, j]
    the number of edges j -> i and a vertex's self-loop kept (weight 1) instead
    of the fill, as PyG's gcn_norm does with edge weights."""
    N = x.size(0)
    A = torch.zeros(N, N, dtype=x.dtype)
    for j, i in edge_index.t().tolist():
        if i != j:
            A[i, j] += 1
    has_loop = torch.zeros(N, dtype=torch.bool)
    has_loop[edge_index[0][edge_index[0] == edge_index[1]]] = True
    A += torch.diag(torch.where(has_loop, 1.0, fill).to(x.dtype))
    d = A.sum(1).pow(-0.5)
    return (d.view(-1, 1) * A * d.view(1, -1)) @ x @ weight.t() + bias


def test_set_gcn_matches_pyg_gcnconv():
    b = mesh_batch(mesh_edges())
    ours, pyg = SetGCNConv(4, 6), GCNConv(4, 6)
    torch.nn.init.normal_(pyg.bias)
    ours.load_state_dict(pyg.state_dict())
    expected = pyg(b.x, b.edge_index)
    assert torch.allclose(ours(b.x, b.edge_index), expected, atol=ATOL, rtol=RTOL)
    graph = find_layout(b).element_graph
    assert graph is not None
    assert torch.allclose(ours(b.x, b.edge_index, graph=graph), expected, atol=ATOL, rtol=RTOL)
    assert repr(ours) == "SetGCNConv(4, 6)"
    assert "D}}^{-1/2}" in SetGCNConv.__doc__


@pytest.mark.parametrize("improved", [False, True])
@pytest.mark.parametrize("edges", ["mesh", "directed"])
def test_improved_propagates_with_a_plus_2i(improved, edges):
    """improved=True means A + 2I on both paths (PyG >= 2.3's gcn_norm ignores
    the fill value without edge weights: on main improved did nothing)."""
    e = mesh_edges() if edges == "mesh" else random_directed(30, 90, seed=3)
    b = mesh_batch(e, sizes=(2, 3))
    conv = SetGCNConv(4, 5, improved=improved)
    torch.nn.init.normal_(conv.bias)
    expected = gcn_dense(b.x.double(), b.edge_index, conv.lin.weight.double(),
                         conv.bias.double(), 2.0 if improved else 1.0).float()
    graph = find_layout(b).element_graph
    assert graph is not None
    for g in (None, graph):   # general path, fast path
        assert torch.allclose(conv(b.x, b.edge_index, graph=g), expected, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("in_channels,out_channels", [(4, 6), (4, 3)])
@pytest.mark.parametrize("directed", [False, True])
def test_fast_and_general_paths_agree_with_gradients(in_channels, out_channels, directed):
    edges = random_directed(30, 90, seed=3) if directed else mesh_edges()
    b = mesh_batch(edges, sizes=(4, 4), channels=in_channels)
    graph = find_layout(b).element_graph
    assert graph is not None and (graph.perm_t is not None) == directed
    conv = SetGCNConv(in_channels, out_channels)
    torch.nn.init.normal_(conv.bias)
    results = []
    for g in (graph, None):
        x = b.x.clone().requires_grad_()
        conv.zero_grad()
        y = conv(x, b.edge_index, graph=g)
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
        results.append((y, x.grad, conv.lin.weight.grad.clone(), conv.bias.grad.clone()))
    for fast, general in zip(*results, strict=True):
        assert torch.allclose(fast, general, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_dss_layer_fast_path_equals_reference(reduce):
    b = mesh_batch(mesh_edges(), sizes=(3, 3))
    layout = find_layout(b)
    assert (layout.num_vertices, layout.set_size) == (40, 3) and uses_fast_path(b)
    assert layout.shared_graph is not None
    conv = DSSConv(SetGCNConv(4, 5), SetGCNConv(4, 5), aggr=reduce)
    grads = []
    for f in (lambda x: conv(x, b.edge_index, b), lambda x: reference_dss(conv, x, b)):
        x = b.x.clone().requires_grad_()
        conv.zero_grad()
        y = f(x)
        (y * torch.cos(torch.arange(y.numel(), dtype=y.dtype)).view_as(y)).sum().backward()
        grads.append([y, x.grad] + [p.grad.clone() for p in conv.parameters()])
    for fast, general in zip(*grads, strict=True):
        assert torch.allclose(fast, general, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_dense_aggregate_and_broadcast_equal_scatter(reduce):
    b = mesh_batch(mesh_edges(), sizes=(2, 2, 2))
    assert find_layout(b).dense
    x = torch.randn(b.num_nodes, 3, requires_grad=True)
    fast = set_aggregate(x, b, reduce)
    slow = scatter(x, b.vertex_index, 0, dim_size=int(b.num_vertices.sum()), reduce=reduce)
    assert torch.allclose(fast, slow, atol=ATOL)
    g1, = torch.autograd.grad(fast.sum(), x)
    g2, = torch.autograd.grad(slow.sum(), x)
    assert torch.allclose(g1, g2, atol=ATOL)
    s = torch.randn(int(b.num_vertices.sum()), 3)
    assert torch.equal(broadcast(s, b), s.index_select(0, b.vertex_index))


def test_mixed_topologies_and_sizes_fall_back(corresponded_batch, uncorresponded_batch):
    # Same V, two different graphs, and variable n: nothing regular, general paths.
    e1, e2 = mesh_edges(8, 5), random_directed(40, 160, seed=7)
    s1 = mesh_batch(e1, sizes=(3, )).to_data_list()[0]
    s2 = mesh_batch(e2, sizes=(2, )).to_data_list()[0]
    mixed = next(iter(DataLoader([s1, s2], batch_size=2)))
    assert find_layout(mixed) == SetLayout.of(40, shared_vertices=80)
    for b in (mixed, corresponded_batch, uncorresponded_batch):
        conv = DSSConv(SetGCNConv(b.x.size(1), 5), SetGCNConv(b.x.size(1), 5))
        assert torch.allclose(conv(b.x, b.edge_index, b), reference_dss(conv, b.x, b),
                              atol=ATOL, rtol=RTOL)


def test_variable_set_sizes_one_topology_use_the_sparse_product():
    b = mesh_batch(mesh_edges(), sizes=(2, 5, 3))
    layout = find_layout(b)
    assert layout.element_graph is not None and not layout.dense
    conv = DSSConv(SetGCNConv(4, 5), SetGCNConv(4, 5), aggr="max")
    assert torch.allclose(conv(b.x, b.edge_index, b), reference_dss(conv, b.x, b),
                          atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("how", ["numpy", "data"])
@pytest.mark.parametrize("prepared", [False, True])
def test_graph_edited_in_place_is_never_missed(how, prepared):
    """On main, an edge_index edited through .numpy() or .data kept its version
    counter, the cached detection kept the old graph, and the output was off
    by 0.689.  Now nothing is cached; a carried layout is checked on every
    call."""
    e1, e2 = random_directed(40, 120, seed=1), random_directed(40, 120, seed=2)
    torch.manual_seed(0)
    net = DSSNet(4, "gcn", "dss-sum", hidden=(8, 8), head_hidden=(8, )).eval()
    b = mesh_batch(e1, sizes=(3, 3))
    if prepared:
        b = with_layout(b)
    net(b)   # main cached its detection here
    version = b.edge_index._version
    if how == "numpy":
        b.edge_index.numpy()[:, :120] = e2.numpy()   # element 0 now on another graph
    else:
        b.edge_index.data[:, :120] = e2
    assert b.edge_index._version == version   # invisible to a version counter
    assert not uses_fast_path(b)
    fresh = b.clone()
    del fresh.set_layout
    expected = net(fresh, layout=GENERAL)
    assert torch.allclose(net(b), expected, atol=ATOL, rtol=RTOL)


def test_repeated_graph_detection():
    e = mesh_edges()
    big = torch.cat([e + 40 * c for c in (2, 0, 1)], dim=1)  # blocks in any order
    assert torch.equal(repeated_graph(big, 120, 40), e)
    assert repeated_graph(big, 120, 30) is None
    assert repeated_graph(torch.cat([e, e + 40, e], dim=1), 120, 40) is None  # copy 2 missing
    assert repeated_graph(big, 121, 40) is None
    shuffled = big.clone()
    shuffled[:, :2] = shuffled[:, :2].flip(1)                  # edge order differs in one copy
    assert repeated_graph(shuffled, 120, 40) is None


def test_equivariance_fast_and_general():
    b = mesh_batch(mesh_edges(), sizes=(3, 3), seed=5)
    conv = DSSConv(SetGCNConv(4, 5), SetGCNConv(4, 5), aggr="sum",
                   siamese_norm=BatchNorm1d(5), shared_norm=BatchNorm1d(5))
    def fn(s):
        return conv(s.x, s.edge_index, s)

    # Reordering elements keeps one topology (blocks of edges in another order):
    # the sparse product.  Relabelling vertices differently in each set makes
    # two labelled topologies: general path.  Both must be equivariant.
    assert uses_fast_path(permute_sets(b, "set").batch)
    assert not uses_fast_path(permute_sets(b, "both").batch)
    assert_equivariant(fn, b, level="node")
    single = mesh_batch(mesh_edges(), sizes=(4, ), seed=6)
    assert uses_fast_path(permute_sets(single, "both").batch)
    assert_equivariant(fn, single, level="node")


def test_equivariance_general_path(corresponded_batch, uncorresponded_batch):
    for b in (corresponded_batch, uncorresponded_batch):
        conv = DSSConv(SetGCNConv(3, 5), SetGCNConv(3, 5), aggr="max")
        assert_equivariant(lambda s, conv=conv: conv(s.x, s.edge_index, s), b, level="node")


@pytest.mark.parametrize("variant", ["dss-sum", "dss-max", "sridhar", "aittala", "siamese-ds"])
def test_dssnet_same_numbers_on_every_path(variant):
    b = mesh_batch(mesh_edges(), sizes=(4, 4), channels=3)
    layout = find_layout(b)
    assert layout.dense and layout.element_graph is not None
    torch.manual_seed(0)
    net = DSSNet(3, base="gcn", variant=variant, hidden=(8, 8), head_hidden=(8, ))
    slow_net = copy.deepcopy(net)
    out = net(b)
    out.sum().backward()
    slow = slow_net(b, layout=GENERAL)
    slow.sum().backward()
    assert torch.allclose(out, slow, atol=ATOL, rtol=RTOL)
    for p, q in zip(net.parameters(), slow_net.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, atol=1e-4, rtol=1e-3)


def test_fast_path_on_a_batch_built_in_inference_mode():
    torch.manual_seed(0)
    net = DSSNet(3, base="gcn", variant="dss-sum", hidden=(8, 8), head_hidden=(8, )).eval()
    expected = net(mesh_batch(mesh_edges(), sizes=(4, 4), channels=3))
    with torch.inference_mode():
        b = mesh_batch(mesh_edges(), sizes=(4, 4), channels=3)
        assert uses_fast_path(b)
        got = net(b)
    assert torch.allclose(got, expected, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("variant", ["dss-sum", "sridhar", "aittala"])
def test_every_variant_takes_the_sparse_product(variant, monkeypatch):
    b = mesh_batch(mesh_edges(), sizes=(3, 3), channels=3)
    torch.manual_seed(0)
    net = DSSNet(3, base="gcn", variant=variant, hidden=(8,), head_hidden=(8, ))
    calls = []
    spmm = set_gcn.repeated_spmm
    monkeypatch.setattr(set_gcn, "repeated_spmm", lambda *a: calls.append(1) or spmm(*a))
    net(b)
    assert len(calls) == (2 if variant == "dss-sum" else 1)   # siamese and shared branch


# ----------------------------------------------------------------------------- loader
def test_loader_batches_carry_a_layout_that_travels_and_is_dropped_when_split():
    sets = mesh_sets(mesh_edges(), sizes=(3, 3, 3), channels=3)
    b = next(iter(SetDataLoader(sets, batch_size=3)))
    plain = next(iter(DataLoader(sets, batch_size=3)))
    layout, found = b.set_layout, find_layout(plain)
    assert (layout.num_vertices, layout.set_size) == (found.num_vertices, found.set_size) == (40, 3)
    for a, c in zip(layout.element_graph, found.element_graph, strict=True):
        assert (a is None and c is None) or torch.equal(a, c)
    assert b.set_layout.element_graph.crow.dtype == torch.int32
    moved = b.to("cpu")
    assert isinstance(moved.set_layout, SetLayout)
    assert all("set_layout" not in s for s in b.to_data_list())
    torch.manual_seed(0)
    net = DSSNet(3, "gcn", "dss-sum", hidden=(8,), head_hidden=(8,)).eval()
    assert torch.allclose(net(b), net(plain), atol=ATOL)
    assert torch.allclose(net(b), net(plain, layout=GENERAL), atol=ATOL, rtol=RTOL)


def test_loader_with_workers():
    sets = mesh_sets(mesh_edges(), sizes=(2, 2, 2, 2), channels=3)
    batches = list(SetDataLoader(sets, batch_size=2, num_workers=2))
    assert len(batches) == 2 and all(b.set_layout.dense for b in batches)


def test_a_carried_layout_that_no_longer_fits_is_not_used():
    """permute_sets copies the batch, layout included; the layers notice."""
    sets = mesh_sets(mesh_edges(), sizes=(3, 3), channels=3, seed=4)
    b = next(iter(SetDataLoader(sets, batch_size=2)))
    torch.manual_seed(0)
    net = DSSNet(3, "gcn", "dss-mean", hidden=(8,), head_hidden=(8,))
    permuted = permute_sets(b, "both").batch
    assert permuted.set_layout is b.set_layout
    assert layout_of(permuted).element_graph is None   # relabelled per set: found afresh
    assert_equivariant(net.scores, b, level="element")


# ----------------------------------------------------------------------------- partial coverage
def bag(vertex_sets, num_vertices, shared_edges, element_edges=None, channels=3):
    """A set whose elements cover parts of a shared domain (ESAN's bags of
    subgraphs): element e holds the vertices vertex_sets[e] (distinct, in
    that order) and, optionally, its own edges (local node ids)."""
    elements, vertex_index = [], []
    for e, vs in enumerate(vertex_sets):
        ei = element_edges[e] if element_edges is not None else torch.empty(2, 0,
                                                                            dtype=torch.long)
        elements.append(Data(x=torch.randn(len(vs), channels), edge_index=ei))
        vertex_index.append(torch.tensor(vs))
    s = SetData.from_elements(elements, corresponded=False)
    s.vertex_index = torch.cat(vertex_index)
    s.num_vertices = num_vertices
    s.shared_edge_index = shared_edges
    s.y = torch.tensor([0])
    return s


def reference_partial(conv: DSSConv, b: SetData) -> torch.Tensor:
    """Per set and vertex: the aggregate over the elements that hold it."""
    reduce = {"sum": lambda t: t.sum(0), "mean": lambda t: t.mean(0),
              "max": lambda t: t.max(0).values}[conv.aggr]
    out = conv.siamese(b.x, b.edge_index)
    shared_rows = []
    for v in range(int(b.num_vertices.sum())):
        held = b.vertex_index == v
        shared_rows.append(reduce(b.x[held]) if held.any() else b.x.new_zeros(b.x.size(1)))
    shared = conv.shared(torch.stack(shared_rows), b.shared_edge_index)
    return out + shared[b.vertex_index]


def partial_batch():
    torch.manual_seed(3)
    path = to_undirected(torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]]))      # 5 vertices
    star = to_undirected(torch.tensor([[0, 0, 0], [1, 2, 3]]))             # 4 vertices
    s1 = bag([[0, 1, 2], [2, 3, 4], [4, 0]], 5, path,
             [torch.tensor([[0, 1], [1, 2]]), torch.tensor([[1], [2]]), torch.empty(2, 0,
                                                                                   dtype=torch.long)])
    s2 = bag([[1, 0], [0, 2, 3], [3], [2, 1]], 4, star)
    return next(iter(DataLoader([s1, s2], batch_size=2)))


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_partial_coverage_aggregates_over_the_elements_that_hold_a_vertex(reduce):
    b = partial_batch()
    assert find_layout(b) == SetLayout.of(shared_vertices=9)   # 5 + 4 vertices
    assert not bool(layout_matches(SetLayout.of(shared_vertices=8), b))   # stale: not used
    assert set_aggregate(b.x, b, layout=SetLayout.of(shared_vertices=9)).size(0) == 9
    conv = DSSConv(SetGCNConv(3, 4), SetGCNConv(3, 4), aggr=reduce)
    assert torch.allclose(conv(b.x, b.edge_index, b), reference_partial(conv, b), atol=ATOL)
    assert_equivariant(lambda s: conv(s.x, s.edge_index, s), b)
    net = DSSNet(3, "gcn", "dss-" + reduce, hidden=(8,), head_hidden=(8,))
    assert_equivariant(net.scores, b, level="element")


def test_same_size_bags_of_one_graph_with_different_element_edges():
    """A node-deleted-style bag: every element holds every vertex (the dense
    layout applies) but its own edges (no repeated element graph); the shared
    graph repeats.  Both paths must agree."""
    torch.manual_seed(4)
    g = mesh_edges(4, 3)   # 12 vertices
    sets = []
    for _ in range(2):
        elements = []
        for dropped in range(3):   # element e drops the edges of vertex e
            keep = (g[0] != dropped) & (g[1] != dropped)
            elements.append(Data(x=torch.randn(12, 3), edge_index=g[:, keep]))
        s = SetData.from_elements(elements, corresponded=False)
        s.vertex_index = torch.arange(12).repeat(3)
        s.num_vertices, s.shared_edge_index, s.y = 12, g, torch.tensor([0])
        sets.append(s)
    b = next(iter(SetDataLoader(sets, batch_size=2)))
    layout = b.set_layout
    assert layout.dense and layout.element_graph is None and layout.shared_graph is not None
    conv = DSSConv(SetGCNConv(3, 4), SetGCNConv(3, 4), aggr="sum")
    assert torch.allclose(conv(b.x, b.edge_index, b), reference_dss(conv, b.x, b), atol=ATOL)
    net = DSSNet(3, "gcn", "dss-sum", hidden=(8,), head_hidden=(8,))
    assert torch.allclose(net(b), net(b, layout=GENERAL), atol=ATOL, rtol=RTOL)
