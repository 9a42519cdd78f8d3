"""DSSConv and the baseline layers: numbers against a per-set reference,
equivariance for every base layer on both kinds of sets, gradients."""
import pytest
import torch
from torch.nn import BatchNorm1d, Linear, Sequential, ReLU
from torch_geometric.nn import EdgeConv, GATConv, GCNConv, GINConv, MessagePassing, SAGEConv

from pyg_dss.nn import AittalaConv, DSSConv, KNNPointNetConv, PointNetLayer, SridharConv
from pyg_dss.testing import assert_equivariant
from pyg_dss.transforms import KNNSetGraph
from conftest import collate, corresponded_set, uncorresponded_set


class MaxNeighbourConv(MessagePassing):
    """A user's own base layer: y_i = W x_i + max_j V x_j."""
    def __init__(self, in_channels, out_channels):
        super().__init__(aggr="max")
        self.lin = Linear(in_channels, out_channels)
        self.lin_nbr = Linear(in_channels, out_channels)

    def forward(self, x, edge_index):
        return self.lin(x) + self.propagate(edge_index, x=self.lin_nbr(x))


BASES = {
    "gcn": lambda i, o: GCNConv(i, o),
    "gat": lambda i, o: GATConv(i, o, heads=1),
    "gin": lambda i, o: GINConv(Sequential(Linear(i, o), ReLU(), Linear(o, o))),
    "sage": lambda i, o: SAGEConv(i, o),
    "edgeconv": lambda i, o: EdgeConv(Linear(2 * i, o)),
    "pointnet": PointNetLayer,
    "custom": MaxNeighbourConv,
}
REDUCE = {"sum": torch.sum, "mean": torch.mean, "max": lambda t, dim: t.max(dim).values}


def reference_dss(conv_siamese, conv_shared, batch, reduce, pos=False):
    """y_i = L1(x_i) + L2(AGG_j x_j) computed set by set, element by element."""
    out = []
    for s in batch.to_data_list():
        elements = s.to_elements()
        kw = (lambda p: {"pos": p}) if pos else (lambda p: {})
        if s.num_vertices > 1:  # corresponded: aggregate per vertex
            agg = REDUCE[reduce](torch.stack([e.x for e in elements]), dim=0)
            agg_pos = torch.stack([e.pos for e in elements]).mean(0)
        else:  # uncorresponded: one shared vertex for all nodes of the set
            agg = REDUCE[reduce](torch.cat([e.x for e in elements]), dim=0).unsqueeze(0)
            agg_pos = torch.cat([e.pos for e in elements]).mean(0, keepdim=True)
        shared = conv_shared(agg, s.shared_edge_index, **kw(agg_pos))
        for e in elements:
            own = conv_siamese(e.x, e.edge_index, **kw(e.pos))
            out.append(own + (shared if s.num_vertices > 1 else shared.expand_as(own)))
    return torch.cat(out)


@pytest.mark.parametrize("base", sorted(BASES))
@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_dss_conv_matches_reference(base, aggr, any_batch):
    torch.manual_seed(0)
    conv = DSSConv(BASES[base](3, 8), BASES[base](3, 8), aggr=aggr)
    got = conv(any_batch.x, any_batch.edge_index, any_batch)
    expected = reference_dss(conv.siamese, conv.shared, any_batch, aggr)
    assert got.shape == (any_batch.num_nodes, 8)
    assert torch.allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("kind", ["corresponded", "uncorresponded"])
def test_dss_conv_knn_pointnet_matches_reference(kind):
    torch.manual_seed(0)
    transform = KNNSetGraph(k=3)
    if kind == "corresponded":
        sets = [transform(corresponded_set(n, v)) for n, v in ((3, 7), (4, 6))]
    else:
        sets = [transform(uncorresponded_set(sizes)) for sizes in ([5, 6], [4, 7, 5])]
    batch = collate(sets)
    conv = DSSConv(KNNPointNetConv(3, 8), KNNPointNetConv(3, 8), aggr="sum")
    got = conv(batch.x, batch.edge_index, batch, pos=batch.pos)
    assert torch.allclose(got, reference_dss(conv.siamese, conv.shared, batch, "sum", pos=True),
                          atol=1e-5)
    assert_equivariant(lambda b: conv(b.x, b.edge_index, b, pos=b.pos), batch)


@pytest.mark.parametrize("base", sorted(BASES))
@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_dss_conv_equivariant(base, aggr, any_batch):
    torch.manual_seed(0)
    conv = DSSConv(BASES[base](3, 8), BASES[base](3, 8), aggr=aggr,
                   siamese_norm=BatchNorm1d(8), shared_norm=BatchNorm1d(8))
    assert_equivariant(lambda b: conv(b.x, b.edge_index, b), any_batch)


def test_siamese_is_base_alone(any_batch):
    base = GCNConv(3, 8)
    conv = DSSConv(base, None)
    assert torch.equal(conv(any_batch.x, any_batch.edge_index, any_batch),
                       base(any_batch.x, any_batch.edge_index))
    assert "shared=None" in repr(conv)


def test_sridhar_and_aittala_match_reference(any_batch):
    torch.manual_seed(0)
    sridhar, aittala = SridharConv(GCNConv(3, 8)), AittalaConv(GCNConv(3, 8))
    got_s = sridhar(any_batch.x, any_batch.edge_index, any_batch)
    got_a = aittala(any_batch.x, any_batch.edge_index, any_batch)
    exp_s, exp_a = [], []
    for s in any_batch.to_data_list():
        h = [sridhar.base(e.x, e.edge_index) for e in s.to_elements()]
        g = [aittala.base(e.x, e.edge_index) for e in s.to_elements()]
        if s.num_vertices > 1:
            mean, mx = torch.stack(h).mean(0), torch.stack(g).max(0).values
        else:
            mean, mx = torch.cat(h).mean(0), torch.cat(g).max(0).values
        exp_s += [hi - mean for hi in h]
        exp_a += [torch.cat([gi, mx.expand_as(gi)], dim=-1) for gi in g]
    assert torch.allclose(got_s, torch.cat(exp_s), atol=1e-5)
    assert torch.allclose(got_a, torch.cat(exp_a), atol=1e-5)
    assert got_a.shape[1] == 16


@pytest.mark.parametrize("base", sorted(BASES))
@pytest.mark.parametrize("cls", [SridharConv, AittalaConv])
def test_baselines_equivariant(cls, base, any_batch):
    torch.manual_seed(0)
    layer = cls(BASES[base](3, 8), BatchNorm1d(16 if cls is AittalaConv else 8))
    assert_equivariant(lambda b: layer(b.x, b.edge_index, b), any_batch)


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_gradients_reach_both_branches(aggr, any_batch):
    torch.manual_seed(0)
    conv = DSSConv(GCNConv(3, 8), GCNConv(3, 8), aggr=aggr)
    x = any_batch.x.clone().requires_grad_()
    conv(x, any_batch.edge_index, any_batch).pow(2).sum().backward()
    for branch in (conv.siamese, conv.shared):
        for name, p in branch.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    # the input gradient includes the shared path: differs from the siamese one alone
    x2 = any_batch.x.clone().requires_grad_()
    out = conv(x2, any_batch.edge_index, any_batch)
    siamese_only = conv.siamese(x2, any_batch.edge_index)
    g_full = torch.autograd.grad(out.sum(), x2)[0]
    g_siamese = torch.autograd.grad(siamese_only.sum(), x2)[0]
    assert not torch.allclose(g_full, g_siamese)


def test_reset_parameters_and_repr():
    conv = DSSConv(GCNConv(3, 8), GCNConv(3, 8), aggr="max", siamese_norm=BatchNorm1d(8))
    before = [p.clone() for p in conv.parameters()]
    with torch.no_grad():
        for p in conv.parameters():
            p.add_(1.0)
    conv.reset_parameters()
    weights = [p for p in conv.parameters() if p.dim() > 1]
    assert all(not torch.equal(a, b + 1.0) for a, b in zip(conv.parameters(), before, strict=True))
    assert len(weights) == 2
    assert repr(conv) == "DSSConv(siamese=GCNConv(3, 8), shared=GCNConv(3, 8), aggr='max')"
    with pytest.raises(ValueError, match="Unknown aggregation 'min'"):
        DSSConv(GCNConv(3, 8), GCNConv(3, 8), aggr="min")


class IgnoresPos(PointNetLayer):
    def forward(self, x, edge_index, pos=None):
        return super().forward(x, edge_index)


def test_extra_inputs_must_be_node_level(corresponded_batch):
    conv = DSSConv(IgnoresPos(3, 4), KNNPointNetConv(3, 4))
    b = corresponded_batch
    with pytest.raises(ValueError, match="'pos' must be a node-level tensor"):
        conv(b.x, b.edge_index, b, pos=b.pos[:3])


def test_layer_errors_name_the_fix(corresponded_batch):
    """Swapped arguments, a plain Data as sets, integer features and a wrong
    number of channels (on main: PyG internals and 'mat1 and mat2 shapes
    cannot be multiplied')."""
    from torch_geometric.data import Data
    b = corresponded_batch
    for layer in (DSSConv(GCNConv(3, 8), GCNConv(3, 8)), SridharConv(GCNConv(3, 8))):
        name = type(layer).__name__
        with pytest.raises(TypeError, match=r"x must be the node features.*batch.x, "
                                            r"batch.edge_index, batch"):
            layer(b, b.x, b.edge_index)
        with pytest.raises(TypeError, match="were x and edge_index swapped"):
            layer(b.edge_index, b.x, b)
        with pytest.raises(TypeError, match="SetData.from_elements"):
            layer(b.x, b.edge_index, Data(x=b.x, edge_index=b.edge_index))
        with pytest.raises(ValueError, match=f"{name}.*6 channels.*in_channels=3"):
            layer(torch.randn(b.num_nodes, 6), b.edge_index, b)
        with pytest.raises(ValueError, match="rows but the sets have"):
            layer(b.x[:5], b.edge_index, b)
