"""ESAN's published networks (SubgraphGNN.esan) against a re-expression of
ESAN's architecture written here in plain torch (their models.py / conv.py:
DSSnetwork, DSnetwork, GNN_node, OriginalGINConv, ZINCGINConv, OGB GINConv),
with identical weights, in float64, in training and evaluation mode: outputs
and gradients.  Then invariance to node relabelling and subgraph order, and
the per-subgraph one-hot degree."""
import re

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from pyg_dss.checkpoint import load_model, save_model
from pyg_dss.nn import ESAN_CONFIGS, SubgraphGNN
from pyg_dss.testing import assert_equivariant
from pyg_dss.transforms import SubgraphBag, SubgraphOneHotDegree

from conftest import tree_with_chords

OGB_ATOMS, OGB_BONDS = (119, 4, 12, 12, 10, 6, 6, 2, 2), (5, 6, 2)


# ---------------------------------------------------------------- reference
def scatter_sum(src, index, size):
    return torch.zeros(size, src.size(1), dtype=src.dtype).index_add_(0, index, src)


def scatter_mean(src, index, size):
    count = torch.zeros(size, dtype=src.dtype).index_add_(0, index, torch.ones_like(index,
                                                                                   dtype=src.dtype))
    return scatter_sum(src, index, size) / count.clamp(min=1).view(-1, 1)


class Tables(nn.Module):
    """OGB's AtomEncoder / BondEncoder: a sum of one embedding per column."""
    def __init__(self, dims, width):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(d, width) for d in dims)

    def forward(self, x):
        return sum(t(x[:, c]) for c, t in enumerate(self.tables))


class RefGIN(nn.Module):
    """OriginalGINConv (eps 0 fixed), ZINCGINConv or OGB's GINConv."""
    def __init__(self, kind, in_dim, emb):
        super().__init__()
        self.kind = kind
        wide = 2 * emb if kind == "gin" else emb
        self.mlp = nn.Sequential(nn.Linear(in_dim, wide), nn.BatchNorm1d(wide), nn.ReLU(),
                                 nn.Linear(wide, emb))
        if kind != "originalgin":
            self.eps = nn.Parameter(torch.zeros(1))
            self.bond_encoder = (nn.Embedding(4, in_dim) if kind == "zincgin"
                                 else Tables(OGB_BONDS, in_dim))

    def forward(self, x, edge_index, edge_attr):
        src, dst = edge_index
        if self.kind == "originalgin":
            return self.mlp(x + scatter_sum(x[src], dst, x.size(0)))
        e = self.bond_encoder(edge_attr.view(-1) if self.kind == "zincgin" else edge_attr)
        return self.mlp((1 + self.eps) * x + scatter_sum(F.relu(x[src] + e), dst, x.size(0)))


class RefESAN(nn.Module):
    """ESAN's DSSnetwork / GNN + DSnetwork for one configuration."""
    def __init__(self, config, in_channels, out, variant, marks, kind, emb, layers, jk, drop,
                 channels):
        super().__init__()
        self.config, self.variant, self.marks, self.kind = config, variant, marks, kind
        self.jk, self.drop, self.layers = jk, drop, layers
        if config == "zinc":
            self.atom_encoder = nn.Embedding(21, emb)
        elif config == "ogb":
            self.atom_encoder = Tables(OGB_ATOMS, emb)
        in_dim = (emb if config in ("zinc", "ogb") else in_channels) + (2 if marks else 0)
        dims = [in_dim] + [emb] * (layers - 1)
        if variant == "dss":
            self.gnn_list = nn.ModuleList(RefGIN(kind, d, emb) for d in dims)
            self.gnn_sum_list = nn.ModuleList(RefGIN(kind, d, emb) for d in dims)
            self.bn_list = nn.ModuleList(nn.BatchNorm1d(emb) for _ in dims)
            self.bn_sum_list = nn.ModuleList(nn.BatchNorm1d(emb) for _ in dims)
            last = emb
        else:
            self.convs = nn.ModuleList(RefGIN(kind, d, emb) for d in dims)
            self.batch_norms = nn.ModuleList(nn.BatchNorm1d(emb) for _ in dims)
            last = emb * layers + in_dim if jk else emb
            self.invariant = config == "zinc"
            fc, fc_sum = [], []
            for i, c in enumerate(channels):
                prev = channels[i - 1] if i > 0 else last
                fc.append(nn.Linear(prev, c))
                fc_sum.append(nn.Linear(c if self.invariant else prev, c))
            self.fc_list, self.fc_sum_list = nn.ModuleList(fc), nn.ModuleList(fc_sum)
            last = channels[-1]
        self.final_layers = nn.Sequential(nn.Linear(last, 2 * last), nn.ReLU(),
                                          nn.Linear(2 * last, out))

    def forward(self, b):
        x = b.x
        if self.config == "zinc":
            x = self.atom_encoder(x.view(-1))
        elif self.config == "ogb":
            x = self.atom_encoder(x)
        if self.marks:  # ESAN: [1, 0] on the root of an ego-net, [0, 1] elsewhere
            num_v = torch.as_tensor(b.num_vertices).view(-1)
            v_off = torch.cat([torch.zeros(1, dtype=torch.long), num_v.cumsum(0)[:-1]])
            num_s = torch.bincount(b.element_set)
            s_off = torch.cat([torch.zeros(1, dtype=torch.long), num_s.cumsum(0)[:-1]])
            graph = b.element_set[b.element_index]
            root = (b.vertex_index - v_off[graph] == b.element_index - s_off[graph])
            ids = torch.stack([root, ~root], 1).to(x.dtype)
            x = torch.hstack([ids, x])
        edge_attr = b.get("edge_attr")
        n_sub, n_graph = b.element_set.numel(), int(b.element_set.max()) + 1
        node_idx, n_vert = b.vertex_index, int(torch.as_tensor(b.num_vertices).sum())
        if self.variant == "dss":
            for gnn, bn, gnn_sum, bn_sum in zip(self.gnn_list, self.bn_list, self.gnn_sum_list,
                                                self.bn_sum_list, strict=True):
                h1 = bn(gnn(x, b.edge_index, edge_attr))
                x_sum = scatter_mean(x, node_idx, n_vert)
                h2 = bn_sum(gnn_sum(x_sum, b.shared_edge_index, b.get("shared_edge_attr")))
                x = F.relu(h1 + h2[node_idx])
            h_sub = scatter_mean(x, b.element_index, n_sub)
            return self.final_layers(scatter_mean(h_sub, b.element_set, n_graph))
        h_list = [x]
        for i in range(self.layers):
            h = self.batch_norms[i](self.convs[i](h_list[i], b.edge_index, edge_attr))
            if self.kind not in ("gin", ) or i != self.layers - 1:
                h = F.relu(h)
            if self.drop > 0:
                h = F.dropout(h, self.drop, training=self.training)
            h_list.append(h)
        node = torch.cat(h_list, 1) if self.jk else h_list[-1]
        pool = scatter_mean if self.kind == "gin" else scatter_sum
        h = pool(node, b.element_index, n_sub)
        if self.invariant:
            for fc in self.fc_list:
                h = F.elu(fc(h))
            g = scatter_mean(h, b.element_set, n_graph)
            for fc_sum in self.fc_sum_list:
                g = F.elu(fc_sum(g))
        else:
            for fc, fc_sum in zip(self.fc_list, self.fc_sum_list, strict=True):
                h = F.elu(fc(h) + fc_sum(scatter_mean(h, b.element_set, n_graph))[b.element_set])
            g = scatter_mean(h, b.element_set, n_graph)
        return self.final_layers(g)


# ESAN's published values, read from their configs/deterministic (first of each grid).
PUBLISHED = {"zinc": ("zincgin", 64, 4, True, 0.0, (96, )),
             "tu": ("originalgin", 16, 4, True, 0.0, (64, 64)),
             "csl": ("originalgin", 32, 4, True, 0.0, (32, 32)),
             "exp": ("originalgin", 32, 6, True, 0.0, (64, 64)),
             "ogb": ("gin", 300, 5, False, 0.5, (32, 32))}

# pyg-dss parameter names -> the reference's (ESAN's) names.
RENAMES = [
    (r"^layers\.(\d+)\.siamese_norm\.", r"bn_list.\1."),
    (r"^layers\.(\d+)\.shared_norm\.", r"bn_sum_list.\1."),
    (r"^layers\.(\d+)\.siamese\.", r"gnn_list.\1."),
    (r"^layers\.(\d+)\.shared\.", r"gnn_sum_list.\1."),
    (r"^layers\.(\d+)\.", r"convs.\1."),
    (r"^norms\.", "batch_norms."),
    (r"^set_layers\.(\d+)\.lin_element\.", r"fc_list.\1."),
    (r"^set_layers\.(\d+)\.lin_set\.", r"fc_sum_list.\1."),
    (r"^set_layers\.", "fc_list."),
    (r"^graph_layers\.", "fc_sum_list."),
    (r"^head\.", "final_layers."),
    (r"\.conv\.nn\.", ".mlp."), (r"\.nn\.", ".mlp."), (r"\.conv\.eps$", ".eps"),
    (r"\.edge_encoder\.", ".bond_encoder."),
]


def esan_name(name):
    for pattern, repl in RENAMES:
        name = re.sub(pattern, repl, name)
    return name


def copy_into_reference(model, ref):
    """Random weights and BatchNorm statistics in the model, copied into the
    reference by name; every reference tensor must be covered."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.2)
        for name, buf in model.named_buffers():
            if name.endswith("running_var"):
                buf.copy_(torch.rand(buf.shape, generator=g, dtype=buf.dtype) + 0.5)
            elif name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape, generator=g, dtype=buf.dtype))
    state = {}
    for name, value in model.state_dict().items():
        if name.endswith(".eps") and name not in dict(model.named_parameters()):
            assert float(value) == 0.0  # OriginalGINConv: eps fixed at 0
            continue
        state[esan_name(name)] = value
    ref.load_state_dict(state, strict=True)


def molecule_like(config, n, extra, seed):
    g = torch.Generator().manual_seed(seed)
    ei = tree_with_chords(n, extra, g)
    E = ei.size(1)
    if config == "zinc":
        x, ea = torch.randint(0, 21, (n, 1), generator=g), torch.randint(0, 4, (E, ), generator=g)
    elif config == "ogb":
        x = torch.stack([torch.randint(0, d, (n, ), generator=g) for d in OGB_ATOMS], 1)
        ea = torch.stack([torch.randint(0, d, (E, ), generator=g) for d in OGB_BONDS], 1)
    else:
        x, ea = torch.randn(n, 5, generator=g, dtype=torch.float64), None
    data = Data(x=x, edge_index=torch.cat([ei, ei.flip(0)], 1), y=torch.zeros(1), num_nodes=n)
    if ea is not None:
        data.edge_attr = torch.cat([ea, ea])
    return data


def esan_batch(config, policy):
    bag = SubgraphBag(policy, num_hops=2)
    items = [bag(molecule_like(config, n, e, s)) for s, (n, e) in enumerate([(6, 2), (5, 1),
                                                                            (7, 3)])]
    return next(iter(DataLoader(items, batch_size=len(items))))


def in_channels(config):
    return {"zinc": 21, "ogb": 9}.get(config, 5)


@pytest.mark.parametrize("policy", ["ego_nets_plus", "node_deleted"])
@pytest.mark.parametrize("variant", ["ds", "dss"])
@pytest.mark.parametrize("config", ESAN_CONFIGS)
def test_esan_matches_esans_architecture(config, variant, policy):
    torch.manual_seed(0)
    batch = esan_batch(config, policy)
    kind, emb, layers, jk, drop, channels = PUBLISHED[config]
    if config == "ogb":  # ESAN's widths, scaled down for the test (the grid is an override)
        emb = 24
    model = SubgraphGNN.esan(config, in_channels(config), 3, variant, policy,
                             hidden=emb).double()
    ref = RefESAN(config, in_channels(config), 3, variant, policy == "ego_nets_plus", kind,
                  emb, layers, jk and variant == "ds", drop, channels).double()
    copy_into_reference(model, ref)
    assert model.num_layers == layers and model.channels == channels
    params = dict(ref.named_parameters())
    for mode in ("train", "eval"):
        model.train(mode == "train")
        ref.train(mode == "train")
        torch.manual_seed(3)
        out = model(batch)
        torch.manual_seed(3)
        expected = ref(batch)
        assert torch.allclose(out, expected, atol=1e-10, rtol=0), (mode, out - expected)
        weights = torch.randn(out.shape, dtype=out.dtype)
        model.zero_grad()
        ref.zero_grad()
        (out * weights).sum().backward()
        (expected * weights).sum().backward()
        for name, p in model.named_parameters():
            other = params[esan_name(name)].grad
            if p.grad is None:
                assert other is None or not other.any(), name
                continue
            assert torch.allclose(p.grad, other, atol=1e-10, rtol=0), (mode, name)


@pytest.mark.parametrize("variant", ["ds", "dss"])
@pytest.mark.parametrize("config", ESAN_CONFIGS)
def test_esan_invariant_to_node_relabelling_and_subgraph_order(config, variant):
    batch = esan_batch(config, "ego_nets_plus")
    model = SubgraphGNN.esan(config, in_channels(config), 3, variant, "ego_nets_plus",
                             hidden=16).double().eval()
    assert_equivariant(model, batch, level="set", trials=2, atol=1e-9)


def test_esan_refuses_bags_of_another_policy():
    model = SubgraphGNN.esan("csl", 5, 10, "dss", "ego_nets_plus")
    with pytest.raises(ValueError, match="policy 'ego_nets_plus'"):
        model(esan_batch("csl", "node_deleted"))
    with pytest.raises(ValueError, match="Unknown ESAN config"):
        SubgraphGNN.esan("zink", 5, 10)


def test_esan_checkpoint_round_trip(tmp_path):
    model = SubgraphGNN.esan("exp", 5, 2, "ds", "node_deleted", channels=(32, 32)).eval()
    save_model(str(tmp_path / "m.pt"), model)
    loaded, _ = load_model(str(tmp_path / "m.pt"))
    loaded.eval()
    batch = esan_batch("exp", "node_deleted")
    batch.x = batch.x.float()
    assert torch.equal(model(batch), loaded(batch))


def test_one_hot_degree_is_computed_in_every_subgraph():
    """A path 0-1-2, node-deleted bag: node 1 has degree 1 in G - 0 and
    G - 2 and degree 0 in G - 1 (ESAN's OneHotDegree per subgraph), not its
    degree 2 in the graph copied into every subgraph."""
    path = Data(x=torch.ones(3, 1), edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]))
    bag = SubgraphOneHotDegree(2, cat=False)(SubgraphBag("node_deleted")(path))
    degrees = bag.x.argmax(1).view(3, 3)  # [subgraph, node]
    assert degrees.tolist() == [[0, 1, 1], [0, 0, 0], [1, 1, 0]]
    assert bag.x.shape == (9, 3)
    kept = SubgraphOneHotDegree(2)(SubgraphBag("node_deleted")(path))
    assert kept.x.shape == (9, 4) and torch.equal(kept.x[:, 1:], bag.x)
    with pytest.raises(ValueError, match="above max_degree=1"):
        SubgraphOneHotDegree(1)(SubgraphBag("original")(path))
    with pytest.raises(ValueError, match="after SubgraphBag"):
        SubgraphOneHotDegree(2)(path)
