"""The shared-topology fast path (SetGCNConv's sparse product, the dense
aggregate) against the general per-edge / scatter path: same numbers, forward
and gradients; correct fallback; caches that never go stale."""
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

import pyg_dss.nn.aggr as aggr
import pyg_dss.nn.set_gcn as set_gcn
from pyg_dss.data import SetData
from pyg_dss.nn import DSSConv, DSSNet, SetGCNConv, set_aggregate
from pyg_dss.nn.aggr import broadcast, dense_layout
from pyg_dss.nn.set_gcn import repeated_graph
from pyg_dss.testing import assert_equivariant, permute_sets

ATOL, RTOL = 1e-5, 1e-4


def mesh_edges(major: int = 8, minor: int = 5) -> torch.Tensor:
    """Edges of a closed torus mesh (major * minor vertices)."""
    m = trimesh.creation.torus(1.0, 0.3, major_sections=major, minor_sections=minor)
    e = torch.from_numpy(m.edges_unique.T.copy()).long()
    return to_undirected(e, num_nodes=len(m.vertices))


def random_directed(num_nodes: int, num_edges: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, num_nodes, (2, num_edges), generator=g)


def mesh_batch(edge_index: torch.Tensor, sizes=(3, 3, 3), channels: int = 4,
               seed: int = 0) -> SetData:
    torch.manual_seed(seed)
    V = int(edge_index.max()) + 1
    sets = [SetData.from_elements([Data(x=torch.randn(V, channels), edge_index=edge_index)
                                   for _ in range(n)], corresponded=True) for n in sizes]
    return next(iter(DataLoader(sets, batch_size=len(sets))))


def reference_dss(conv: DSSConv, x: torch.Tensor, b: SetData) -> torch.Tensor:
    """The same math with per-edge propagation and scatter (no fast path)."""
    out = conv.siamese(x, b.edge_index)  # no num_vertices: general path
    agg = scatter(x, b.vertex_index, 0, dim_size=int(b.num_vertices.sum()), reduce=conv.aggr)
    return out + conv.shared(agg, b.shared_edge_index).index_select(0, b.vertex_index)


@pytest.fixture(autouse=True)
def fresh_caches():
    set_gcn.clear_caches()
    aggr._LAYOUTS.clear()
    yield
    set_gcn.clear_caches()
    aggr._LAYOUTS.clear()


def uses_fast_path(b: SetData) -> bool:
    V = int(b.num_vertices[0])
    return set_gcn._detect(b.edge_index, b.num_nodes, V) is not None


def test_set_gcn_matches_pyg_gcnconv():
    b = mesh_batch(mesh_edges())
    ours, pyg = SetGCNConv(4, 6), GCNConv(4, 6)
    torch.nn.init.normal_(pyg.bias)
    ours.load_state_dict(pyg.state_dict())
    expected = pyg(b.x, b.edge_index)
    assert torch.allclose(ours(b.x, b.edge_index), expected, atol=ATOL, rtol=RTOL)
    V = int(b.num_vertices[0])
    assert torch.allclose(ours(b.x, b.edge_index, num_vertices=V), expected, atol=ATOL, rtol=RTOL)
    assert uses_fast_path(b)
    assert repr(ours) == "SetGCNConv(4, 6)"
    assert "D}}^{-1/2}" in SetGCNConv.__doc__


@pytest.mark.parametrize("in_channels,out_channels", [(4, 6), (4, 3)])
@pytest.mark.parametrize("directed", [False, True])
def test_fast_and_general_paths_agree_with_gradients(in_channels, out_channels, directed):
    edges = random_directed(30, 90, seed=3) if directed else mesh_edges()
    b = mesh_batch(edges, sizes=(4, 4), channels=in_channels)
    assert uses_fast_path(b)
    conv = SetGCNConv(in_channels, out_channels)
    torch.nn.init.normal_(conv.bias)
    V = int(b.num_vertices[0])
    results = []
    for hint in (V, None):
        x = b.x.clone().requires_grad_()
        conv.zero_grad()
        y = conv(x, b.edge_index, num_vertices=hint)
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
        results.append((y, x.grad, conv.lin.weight.grad.clone(), conv.bias.grad.clone()))
    for fast, general in zip(*results):
        assert torch.allclose(fast, general, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_dss_layer_fast_path_equals_reference(reduce):
    b = mesh_batch(mesh_edges(), sizes=(3, 3))
    assert dense_layout(b) == (2, 3, 40) and uses_fast_path(b)
    conv = DSSConv(SetGCNConv(4, 5), SetGCNConv(4, 5), aggr=reduce)
    grads = []
    for f in (lambda x: conv(x, b.edge_index, b), lambda x: reference_dss(conv, x, b)):
        x = b.x.clone().requires_grad_()
        conv.zero_grad()
        y = f(x)
        (y * torch.cos(torch.arange(y.numel(), dtype=y.dtype)).view_as(y)).sum().backward()
        grads.append([y, x.grad] + [p.grad.clone() for p in conv.parameters()])
    for fast, general in zip(*grads):
        assert torch.allclose(fast, general, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_dense_aggregate_and_broadcast_equal_scatter(reduce):
    b = mesh_batch(mesh_edges(), sizes=(2, 2, 2))
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
    # Same V, two different graphs, and variable n: the check fails, the general path runs.
    e1, e2 = mesh_edges(8, 5), random_directed(40, 160, seed=7)
    s1 = mesh_batch(e1, sizes=(3, )).to_data_list()[0]
    s2 = mesh_batch(e2, sizes=(2, )).to_data_list()[0]
    mixed = next(iter(DataLoader([s1, s2], batch_size=2)))
    assert not uses_fast_path(mixed) and dense_layout(mixed) is None
    for b in (mixed, corresponded_batch, uncorresponded_batch):
        conv = DSSConv(SetGCNConv(b.x.size(1), 5), SetGCNConv(b.x.size(1), 5))
        assert torch.allclose(conv(b.x, b.edge_index, b), reference_dss(conv, b.x, b),
                              atol=ATOL, rtol=RTOL)


def test_variable_set_sizes_one_topology_use_the_sparse_product():
    b = mesh_batch(mesh_edges(), sizes=(2, 5, 3))
    assert uses_fast_path(b) and dense_layout(b) is None
    conv = DSSConv(SetGCNConv(4, 5), SetGCNConv(4, 5), aggr="max")
    assert torch.allclose(conv(b.x, b.edge_index, b), reference_dss(conv, b.x, b),
                          atol=ATOL, rtol=RTOL)


def test_cache_is_never_stale():
    conv, pyg = SetGCNConv(4, 6), GCNConv(4, 6)
    pyg.load_state_dict(conv.state_dict())
    e1 = random_directed(40, 120, seed=1)
    e2 = random_directed(40, 120, seed=2)   # same sizes, different graph
    for edges in (e1, e2, e1):
        b = mesh_batch(edges, sizes=(3, 3))
        assert uses_fast_path(b)
        assert torch.allclose(conv(b.x, b.edge_index, num_vertices=40),
                              pyg(b.x, b.edge_index), atol=ATOL, rtol=RTOL)
    # Same tensor object changed in place: the version changes, it is checked again.
    b = mesh_batch(e1, sizes=(3, 3))
    conv(b.x, b.edge_index, num_vertices=40)
    b.edge_index[:, :120] = e2   # first element now on another graph
    assert not uses_fast_path(b)
    assert torch.allclose(conv(b.x, b.edge_index, num_vertices=40), pyg(b.x, b.edge_index),
                          atol=ATOL, rtol=RTOL)
    # A different number of elements on the same mesh.
    b = mesh_batch(e1, sizes=(2, ))
    assert torch.allclose(conv(b.x, b.edge_index, num_vertices=40), pyg(b.x, b.edge_index),
                          atol=ATOL, rtol=RTOL)


def test_repeated_graph_detection():
    e = mesh_edges()
    big = torch.cat([e + 40 * c for c in (2, 0, 1)], dim=1)  # blocks in any order
    base, k = repeated_graph(big, 120, 40)
    assert k == 3 and torch.equal(base, e)
    assert repeated_graph(big, 120, 30) is None
    assert repeated_graph(torch.cat([e, e + 40, e], dim=1), 120, 40) is None  # copy 2 missing
    assert repeated_graph(big, 121, 40) is None


def test_equivariance_fast_and_general():
    b = mesh_batch(mesh_edges(), sizes=(3, 3), seed=5)
    conv = DSSConv(SetGCNConv(4, 5), SetGCNConv(4, 5), aggr="sum",
                   siamese_norm=BatchNorm1d(5), shared_norm=BatchNorm1d(5))
    fn = lambda s: conv(s.x, s.edge_index, s)  # noqa: E731
    # Reordering elements keeps one topology (blocks of edges in another order):
    # fast path.  Relabelling vertices differently in each set makes two
    # labelled topologies: general path.  Both must be equivariant.
    assert uses_fast_path(permute_sets(b, "set").batch)
    assert not uses_fast_path(permute_sets(b, "both").batch)
    assert_equivariant(fn, b, level="node")
    single = mesh_batch(mesh_edges(), sizes=(4, ), seed=6)
    assert uses_fast_path(permute_sets(single, "both").batch)
    assert_equivariant(fn, single, level="node")


def test_equivariance_general_path(corresponded_batch, uncorresponded_batch):
    for b in (corresponded_batch, uncorresponded_batch):
        conv = DSSConv(SetGCNConv(3, 5), SetGCNConv(3, 5), aggr="max")
        assert_equivariant(lambda s: conv(s.x, s.edge_index, s), b, level="node")


def test_dssnet_gcn_same_numbers_without_fast_path(monkeypatch):
    b = mesh_batch(mesh_edges(), sizes=(4, 4), channels=3)
    torch.manual_seed(0)
    net = DSSNet(3, base="gcn", variant="dss-sum", hidden=(8, 8), head_hidden=(8, ))
    slow_net = copy.deepcopy(net)
    out = net(b)
    out.sum().backward()
    monkeypatch.setattr(set_gcn, "_detect", lambda *a, **k: None)
    monkeypatch.setattr(aggr, "dense_layout", lambda sets: None)
    slow = slow_net(b)
    slow.sum().backward()
    assert torch.allclose(out, slow, atol=ATOL, rtol=RTOL)
    for p, q in zip(net.parameters(), slow_net.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-4, rtol=1e-3)


def test_fast_path_on_a_batch_built_in_inference_mode():
    """Inference tensors have no version counter: the caches must step aside."""
    torch.manual_seed(0)
    net = DSSNet(3, base="gcn", variant="dss-sum", hidden=(8, 8), head_hidden=(8, )).eval()
    expected = net(mesh_batch(mesh_edges(), sizes=(4, 4), channels=3))
    with torch.inference_mode():
        b = mesh_batch(mesh_edges(), sizes=(4, 4), channels=3)
        assert uses_fast_path(b)
        got = net(b)
    assert torch.allclose(got, expected, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("cls", ["sridhar", "aittala"])
def test_baselines_take_the_fast_path_with_the_same_numbers(cls, monkeypatch):
    b = mesh_batch(mesh_edges(), sizes=(3, 3), channels=3)
    torch.manual_seed(0)
    net = DSSNet(3, base="gcn", variant=cls, hidden=(8,), head_hidden=(8, ))
    calls = []
    detect = set_gcn._detect
    monkeypatch.setattr(set_gcn, "_detect", lambda *a: calls.append(1) or detect(*a))
    fast = net(b)
    assert calls  # the hint reached the base layer
    monkeypatch.setattr(set_gcn, "_detect", lambda *a, **k: None)
    monkeypatch.setattr(aggr, "dense_layout", lambda sets: None)
    assert torch.allclose(fast, net(b), atol=ATOL, rtol=RTOL)
