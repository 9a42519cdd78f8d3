"""DS-GNN and DSS-GNN on bags of subgraphs: a DSS layer against a loop over
the subgraphs written here, batching, equivariance (relabel the graph's nodes
in every subgraph, reorder the subgraphs), edge features, the policy's marks,
checkpoints, and where the dense layout applies."""
import pytest
import torch
from torch.nn import Linear, ReLU, Sequential
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.nn import GCNConv, GINEConv
from torch_geometric.utils import to_undirected

from pyg_dss.checkpoint import load_model, save_model
from pyg_dss.nn import CONVS, DSSConv, SetGCNConv, SubgraphGNN
from pyg_dss.layout import find_layout
from pyg_dss.testing import assert_equivariant, permute_sets
from pyg_dss.transforms import SampleSubgraphs, SubgraphBag

from conftest import tree_with_chords


def random_graph(n: int, extra: int, features: int = 3, edge_dim: int = 2, seed: int = 0):
    """A connected random graph: a random tree plus ``extra`` chords, with
    random node and (symmetric) edge features."""
    g = torch.Generator().manual_seed(seed)
    ei = tree_with_chords(n, extra, g)
    attr = torch.randn(ei.size(1), edge_dim, generator=g)
    return Data(x=torch.randn(n, features, generator=g),
                edge_index=torch.cat([ei, ei.flip(0)], 1), edge_attr=torch.cat([attr, attr]),
                y=torch.randn(1, generator=g))


def bags(policy="ego_nets", keep_all_nodes=False, num_hops=1, sizes=((7, 3), (5, 1), (9, 4))):
    t = SubgraphBag(policy, num_hops=num_hops, keep_all_nodes=keep_all_nodes)
    return [t(random_graph(n, e, seed=i)) for i, (n, e) in enumerate(sizes)]


def collate(items):
    return next(iter(DataLoader(items, batch_size=len(items))))


def mlp(i, o):
    return Sequential(Linear(i, o), ReLU(), Linear(o, o))


def test_dss_layer_matches_a_loop_over_subgraphs():
    """y_i = L1(x_i, S_i) + L2(mean over the copies of each node, G), with edge
    features on both branches, for subgraphs that hold part of the graph."""
    torch.manual_seed(0)
    batch = collate(bags())
    batch.x = torch.randn(batch.num_nodes, 3)  # every copy of a node differs
    L1, L2 = GINEConv(mlp(3, 8), edge_dim=2), GINEConv(mlp(3, 8), edge_dim=2)
    conv = DSSConv(L1, L2, aggr="mean")
    out = conv(batch.x, batch.edge_index, batch, edge_attr=batch.edge_attr)

    expected = torch.empty_like(out)
    offset_v = 0
    for s in range(3):
        elements = (batch.element_set == s).nonzero().view(-1).tolist()
        V = int(batch.num_vertices[s])
        copies = {v: [] for v in range(V)}
        for i in elements:
            for node in (batch.element_index == i).nonzero().view(-1).tolist():
                copies[int(batch.vertex_index[node]) - offset_v].append(batch.x[node])
        agg = torch.stack([torch.stack(c).mean(0) if c else torch.zeros(3)
                           for c in copies.values()])
        shared_mask = (batch.shared_edge_index[0] >= offset_v) & \
            (batch.shared_edge_index[0] < offset_v + V)
        shared = L2(agg, batch.shared_edge_index[:, shared_mask] - offset_v,
                    batch.shared_edge_attr[shared_mask])
        for i in elements:
            nodes = (batch.element_index == i).nonzero().view(-1)
            local = {int(n): k for k, n in enumerate(nodes)}
            mask = batch.element_index[batch.edge_index[0]] == i
            ei = torch.tensor([[local[int(u)] for u in batch.edge_index[0, mask]],
                               [local[int(v)] for v in batch.edge_index[1, mask]]],
                              dtype=torch.long).view(2, -1)
            own = L1(batch.x[nodes], ei, batch.edge_attr[mask])
            expected[nodes] = own + shared[batch.vertex_index[nodes] - offset_v]
        offset_v += V
    assert torch.allclose(out, expected, atol=1e-5)


def test_dss_conv_needs_the_shared_edge_features():
    batch = collate(bags())
    del batch.shared_edge_attr
    conv = DSSConv(GINEConv(mlp(3, 4), edge_dim=2), GINEConv(mlp(3, 4), edge_dim=2))
    with pytest.raises(ValueError, match="shared_edge_attr"):
        conv(batch.x, batch.edge_index, batch, edge_attr=batch.edge_attr)


def test_batch_gives_the_outputs_of_each_bag_alone():
    """Offsets right: the model on a batch of bags of different sizes (graphs
    of 7, 5 and 9 nodes, partial coverage) equals the model on each bag."""
    torch.manual_seed(0)
    items = bags(policy="ego_nets_plus")
    batch = collate(items)
    for variant in ("ds", "dss"):
        model = SubgraphGNN(3, 2, variant=variant, conv="gine", hidden=16, num_layers=2,
                            edge_dim=2, policy_aware=True).eval()
        with torch.no_grad():
            together = model(batch)
            alone = torch.cat([model(collate([b])) for b in items])
        assert together.shape == (3, 2)
        assert torch.allclose(together, alone, atol=1e-5)


def test_readout_is_means_over_nodes_then_subgraphs():
    """One layer, pool 'mean': the head sees the mean over subgraphs of the
    mean over each subgraph's nodes of the last layer's output."""
    torch.manual_seed(0)
    batch = collate(bags())
    model = SubgraphGNN(3, 2, variant="dss", conv="gin", hidden=8, num_layers=1).eval()
    seen = {}
    model.head.register_forward_hook(lambda m, i, o: seen.setdefault("g", i[0]))
    with torch.no_grad():
        model(batch)
        h = model.act(model.norms[0](model.layers[0](batch.x, batch.edge_index, batch)))
    for s in range(3):
        per_subgraph = [h[batch.element_index == i].mean(0)
                        for i in (batch.element_set == s).nonzero().view(-1).tolist()]
        assert torch.allclose(seen["g"][s], torch.stack(per_subgraph).mean(0), atol=1e-5)


@pytest.mark.parametrize("variant", ["ds", "dss"])
@pytest.mark.parametrize("conv", CONVS)
def test_invariant_to_node_relabelling_and_subgraph_order(variant, conv):
    """Graph-level outputs do not move when the nodes of every graph are
    relabelled (consistently in all its subgraphs) or its subgraphs reordered."""
    torch.manual_seed(0)
    batch = collate(bags(policy="ego_nets_plus"))
    model = SubgraphGNN(3, 4, variant=variant, conv=conv, hidden=16, num_layers=3,
                        edge_dim=2 if conv == "gine" else None, policy_aware=True,
                        norm="graph" if conv == "gin" else "batch").eval()
    assert_equivariant(model, batch, level="set", trials=2)
    # The check can fail: a readout that reads node order is caught.
    with pytest.raises(AssertionError, match="Not invariant"):
        assert_equivariant(lambda b: model(b) + b.x[::7].sum() * b.x[0].sum(), batch,
                           level="set", trials=2)


def test_permute_sets_on_bags_with_uncovered_vertices():
    """A sampled bag may leave vertices of its graph uncovered: relabelling
    still stays inside every set, and edge features stay with their edges
    even where the number of edges equals the number of nodes."""
    torch.manual_seed(0)
    full = bags(sizes=((5, 0), (6, 0)))
    sampled = SampleSubgraphs(0.2, generator=torch.Generator().manual_seed(3))(full[1])
    assert set(sampled.vertex_index.tolist()) != set(range(6))  # vertices left uncovered
    batch = collate([full[0], sampled])
    for trial in range(4):
        p = permute_sets(batch, "both", torch.Generator().manual_seed(trial)).batch
        # Set 0's shared vertices are 0..4, set 1's are 5..10: no set borrows the other's.
        node_set = p.batch
        assert ((p.vertex_index < 5) == (node_set == 0)).all()
        shared_set = (p.shared_edge_index[0] >= 5).long()
        assert torch.equal(shared_set, (p.shared_edge_index[1] >= 5).long())
        assert torch.equal(shared_set, (batch.shared_edge_index[0] >= 5).long())
    model = SubgraphGNN(3, 2, variant="dss", conv="gine", hidden=8, num_layers=2,
                        edge_dim=2).eval()
    assert_equivariant(model, batch, level="set", trials=3)

    # A 4-cycle's node-deleted bag: 16 nodes and 16 edges.
    i = torch.arange(4)
    ei = to_undirected(torch.stack([i, (i + 1) % 4]))
    square = Data(x=torch.randn(4, 3), edge_index=ei, edge_attr=torch.randn(8, 2),
                  y=torch.zeros(1))
    bag = SubgraphBag("node_deleted")(square)
    assert bag.num_nodes == bag.edge_index.size(1) == 16
    assert_equivariant(model, collate([bag, bag]), level="set", trials=3)


def test_graph_norm_uses_each_bag_alone():
    """norm='graph' normalises over the nodes of each bag: in training mode
    too, a bag's output does not depend on the other bags of its batch (with
    BatchNorm it does), and training and evaluation compute the same."""
    torch.manual_seed(0)
    items = bags()
    batch = collate(items)
    for norm, independent in (("graph", True), ("batch", False)):
        model = SubgraphGNN(3, 2, variant="dss", hidden=8, num_layers=2, norm=norm)
        with torch.no_grad():
            together = model(batch)
            alone = torch.cat([model(collate([b])) for b in items])
            assert torch.allclose(together, alone, atol=1e-5) == independent
            if norm == "graph":
                assert torch.allclose(model.eval()(batch), together, atol=1e-6)
    # GraphNorm against its definition on one layer: per bag and channel,
    # alpha-scaled mean removed, divided by the standard deviation.
    model = SubgraphGNN(3, 2, variant="dss", hidden=8, num_layers=1, norm="graph")
    gn = model.norms[0]
    torch.nn.init.uniform_(gn.mean_scale)
    h = model.layers[0](batch.x, batch.edge_index, batch)
    expected = torch.empty_like(h)
    for g in range(3):
        rows = batch.batch == g
        centred = h[rows] - gn.mean_scale * h[rows].mean(0)
        expected[rows] = centred / (centred.pow(2).mean(0) + gn.eps).sqrt() * gn.weight \
            + gn.bias
    assert torch.allclose(gn(h, batch.batch), expected, atol=1e-5)


def test_policy_marks_are_never_ignored():
    marked = collate(bags(policy="ego_nets_plus"))
    unmarked = collate(bags(policy="ego_nets"))
    blind = SubgraphGNN(3, 2, policy_aware=False)
    aware = SubgraphGNN(3, 2, policy_aware=True).eval()
    with pytest.raises(ValueError, match="policy_aware=True"):
        blind(marked)
    with pytest.raises(ValueError, match="no 'root_mark'"):
        aware(unmarked)
    # The marks change the output: moving the root mark of one subgraph.
    moved = marked.clone()
    first = (moved.element_index == 0).nonzero().view(-1)
    moved.root_mark[first] = torch.roll(moved.root_mark[first], 1)
    with torch.no_grad():
        assert not torch.allclose(aware(marked)[0], aware(moved)[0])


def test_bad_configurations_are_named():
    with pytest.raises(ValueError, match="edge_dim"):
        SubgraphGNN(3, 2, conv="gine")
    with pytest.raises(ValueError, match="does not read edge features"):
        SubgraphGNN(3, 2, conv="gin", edge_dim=2)
    with pytest.raises(ValueError, match="Unknown variant"):
        SubgraphGNN(3, 2, variant="dsss")
    with pytest.raises(ValueError, match="Unknown conv"):
        SubgraphGNN(3, 2, conv="gat")
    with pytest.raises(ValueError, match="Unknown norm"):
        SubgraphGNN(3, 2, norm="layer")
    model = SubgraphGNN(5, 2, categorical=True)
    with pytest.raises(ValueError, match="integer node types"):
        model(collate(bags()))


def test_categorical_inputs_and_checkpoint_roundtrip(tmp_path):
    """ZINC-style inputs (atom and bond type ids) and a saved model that
    rebuilds itself with the same outputs."""
    torch.manual_seed(0)
    items = bags(policy="ego_nets_plus", keep_all_nodes=True, num_hops=2)
    for b in items:
        b.x = torch.randint(0, 5, (b.num_nodes, 1))
        b.edge_attr = torch.randint(0, 3, (b.edge_index.size(1), ))
        b.shared_edge_attr = torch.randint(0, 3, (b.shared_edge_index.size(1), ))
    batch = collate(items)
    model = SubgraphGNN(5, 1, variant="dss", conv="gine", hidden=8, num_layers=2, edge_dim=3,
                        categorical=True, policy_aware=True, norm="graph").eval()
    with torch.no_grad():
        out = model(batch)
    save_model(str(tmp_path / "m.pt"), model, epoch=3)
    again, ckpt = load_model(str(tmp_path / "m.pt"))
    assert isinstance(again, SubgraphGNN) and ckpt["epoch"] == 3
    assert again.config == model.config
    with torch.no_grad():
        assert torch.equal(again.eval()(batch), out)


def test_dense_layout_applies_to_full_bags_and_the_siamese_branch_stays_per_subgraph():
    """Node- and edge-deleted bags with every node kept, of graphs of one
    size, batch densely: the per-vertex aggregate is a reshape.  Their
    subgraphs have different edges, so the siamese GCN must not take the
    one-topology sparse product: the layer equals a loop with PyG's GCNConv."""
    torch.manual_seed(0)
    for policy in ("node_deleted", "edge_deleted"):
        t = SubgraphBag(policy)
        items = [t(random_graph(6, 2, seed=s)) for s in range(3)]
        batch = collate(items)
        n = int(items[0].num_elements)
        assert all(int(b.num_elements) == n for b in items)
        layout = find_layout(batch)
        assert (layout.num_vertices, layout.set_size) == (6, n)
        assert layout.element_graph is None
        conv = DSSConv(SetGCNConv(3, 4), SetGCNConv(3, 4), aggr="mean")
        out = conv(batch.x, batch.edge_index, batch)
        ref1, ref2 = GCNConv(3, 4), GCNConv(3, 4)
        ref1.load_state_dict(conv.siamese.state_dict())
        ref2.load_state_dict(conv.shared.state_dict())
        for i in range(3 * n):
            nodes = (batch.element_index == i).nonzero().view(-1)
            mask = batch.element_index[batch.edge_index[0]] == i
            s = int(batch.element_set[i])
            shared_nodes = torch.arange(6) + 6 * s
            agg = torch.stack([batch.x[batch.vertex_index == v].mean(0) for v in shared_nodes])
            smask = batch.shared_edge_index[0] >= 6 * s
            smask &= batch.shared_edge_index[0] < 6 * s + 6
            own = ref1(batch.x[nodes], batch.edge_index[:, mask] - int(nodes[0]))
            shared = ref2(agg, batch.shared_edge_index[:, smask] - 6 * s)
            assert torch.allclose(out[nodes], own + shared, atol=1e-5)
    # Ego-nets that hold part of the graph are not dense: the scatter path runs.
    assert not find_layout(collate(bags())).dense
