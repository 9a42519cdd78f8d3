"""DSSNet.paper(base, variant) is the authors' network (Maron et al. 2020, their
published shape-selection code): checked against their architecture written
here densely on [b, n, L, C] tensors with the same weights, and saved / loaded
through pyg_dss.checkpoint."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from pyg_dss.checkpoint import load_model, save_model
from pyg_dss.nn import DSSNet, SetGCNConv
from pyg_dss.nn.model import paper_widths
from test_fast_path import mesh_batch, mesh_edges

VARIANTS = ("dss-sum", "dss-max", "siamese-ds", "sridhar", "aittala")


def dense_adjacency(edge_index, V):
    """Their GCNConv(improved=True): D^-1/2 (A + 2I) D^-1/2."""
    A = torch.zeros(V, V)
    A[edge_index[1], edge_index[0]] = 1.0
    A += 2 * torch.eye(V)
    d = A.sum(1).pow(-0.5)
    return d.view(-1, 1) * A * d.view(1, -1)


def batch_norm(h, p):
    """Training-mode BatchNorm over every axis but the channels (the last)."""
    flat = h.reshape(-1, h.size(-1))
    mean, var = flat.mean(0), flat.var(0, unbiased=False)
    return (h - mean) / torch.sqrt(var + 1e-5) * p["weight"] + p["bias"]


def reference(params, x, variant, A=None):
    """The authors' network on x [b, n, L, 3] (L points / vertices)."""
    def conv(h, prefix):   # Conv1d(k=1) per point, or GCNConv(improved=True)
        w = params[prefix + ".lin.weight"]
        y = h @ w.t()
        if A is not None:
            return torch.einsum("vu,bnuc->bnvc", A, y) + params[prefix + ".bias"]
        return y + params[prefix + ".lin.bias"]

    def bn(h, prefix):
        return batch_norm(h, {k: params[f"{prefix}.{k}"] for k in ("weight", "bias")})

    for i in range(3):
        p = f"layers.{i}"
        if variant.startswith("dss-"):
            agg = x.sum(1) if variant == "dss-sum" else x.max(1).values
            shared = bn(conv(agg.unsqueeze(1), p + ".shared"), p + ".shared_norm")
            x = F.relu(bn(conv(x, p + ".siamese"), p + ".siamese_norm") + shared)
        elif variant == "siamese-ds":
            x = F.relu(bn(conv(x, p + ".siamese"), p + ".siamese_norm"))
        elif variant == "sridhar":
            h = conv(x, p + ".base")
            x = F.relu(bn(h - h.mean(1, keepdim=True), p + ".norm"))
        else:   # aittala
            h = conv(x, p + ".base")
            h = torch.cat([h, h.max(1, keepdim=True).values.expand_as(h)], dim=-1)
            x = F.relu(bn(h, p + ".norm"))
    z = x.max(2).values   # [b, n, C]: max over the points
    for j in range(3):
        p = f"head.{j}"
        z = (z @ params[p + ".lin_element.weight"].t() + params[p + ".lin_element.bias"]
             + z.max(1, keepdim=True).values @ params[p + ".lin_set.weight"].t()
             + params[p + ".lin_set.bias"])
        if j < 2:
            z = F.elu(z)
    return F.log_softmax(z.squeeze(-1), dim=1)


@pytest.mark.parametrize("base", ["gcn", "pointnet"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_paper_network_matches_the_authors_architecture(base, variant):
    edges = mesh_edges(5, 4)   # 20 vertices
    b = mesh_batch(edges, sizes=(4, 4, 4), channels=3, seed=1)
    torch.manual_seed(0)
    net = DSSNet.paper(base, variant)
    widths = [layer for layer in net.layers]
    assert net.hidden == paper_widths(variant) and net.head_hidden == (128, 128)
    assert len(widths) == 3
    if base == "gcn":
        assert all(isinstance(m, SetGCNConv) and m.improved for m in net.modules()
                   if isinstance(m, SetGCNConv))
    params = dict(net.named_parameters())
    x = b.x.view(3, 4, 20, 3)
    A = dense_adjacency(edges, 20) if base == "gcn" else None
    expected = reference(params, x, variant, A).reshape(-1)
    assert torch.allclose(net(b), expected, atol=1e-4), (net(b) - expected).abs().max()


def test_paper_widths_and_initialisation():
    assert paper_widths("siamese-ds") == paper_widths("sridhar") == (64, 256, 128)
    assert paper_widths("aittala") == (64, 256, 64)
    assert paper_widths("dss-sum") == (64, 128, 128)
    assert paper_widths("dss-max", dim_factor=2) == (64, 256, 128)
    torch.manual_seed(0)
    net = DSSNet.paper("pointnet", "siamese-ds")
    w = net.layers[2].siamese.lin.weight            # [128, 256]: Xavier normal
    assert abs(w.std().item() / (2 / (128 + 256)) ** 0.5 - 1) < 0.05
    assert abs(w.mean().item()) < 0.01
    assert net.head[0].lin_set.bias is not None     # both head branches have a bias
    gcn = DSSNet.paper("gcn", "dss-sum")
    assert torch.equal(gcn.layers[0].siamese.bias, torch.zeros(64))  # GCNConv: zero bias
    with pytest.raises(ValueError, match="bases 'gcn' and 'pointnet'"):
        DSSNet.paper("pointnet-knn", "dss-sum")


@pytest.mark.parametrize("variant", ["dss-sum", "aittala"])
def test_paper_network_round_trips_through_a_checkpoint(variant, tmp_path):
    b = mesh_batch(mesh_edges(5, 4), sizes=(3, 3), channels=3)
    torch.manual_seed(0)
    net = DSSNet.paper("gcn", variant).eval()
    path = str(tmp_path / "paper.pt")
    save_model(path, net, epoch=3)
    loaded, checkpoint = load_model(path)
    assert checkpoint["model_config"]["paper"] is True and checkpoint["epoch"] == 3
    assert loaded.config == net.config
    assert torch.equal(loaded.eval()(b), net(b))
