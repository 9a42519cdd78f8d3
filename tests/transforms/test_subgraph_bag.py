"""Bags of subgraphs (SubgraphBag, SampleSubgraphs), their batching, and the
datasets they run on: CSL built in, ZINC and TU through PyG's own loaders on
tiny fixtures in the real raw formats (no network)."""
import os
import pickle

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.utils import to_undirected

from pyg_dss.data import SetData
from pyg_dss.datasets import CSL, SKIP_LENGTHS
from pyg_dss.transforms import SampleSubgraphs, SubgraphBag

# A triangle 1-2-3 with a pendant node 0 on node 1; edge features name their edge.
EDGES = {(0, 1): 1.0, (1, 2): 2.0, (1, 3): 4.0, (2, 3): 3.0}


def small_graph() -> Data:
    pairs = list(EDGES)
    src = [u for u, v in pairs] + [v for u, v in pairs]
    dst = [v for u, v in pairs] + [u for u, v in pairs]
    attr = [EDGES[p] for p in pairs] * 2
    return Data(x=torch.tensor([[0.], [10.], [20.], [30.]]),
                edge_index=torch.tensor([src, dst]), edge_attr=torch.tensor(attr).view(-1, 1),
                y=torch.tensor([7.5]))


def subgraphs_of(bag):
    """Every element as (shared ids of its nodes, {undirected edge: feature}),
    read back through element_index / vertex_index."""
    out = []
    for i in range(int(bag.num_elements)):
        mine = bag.element_index == i
        nodes = bag.vertex_index[mine].tolist()
        keep = bag.element_index[bag.edge_index[0]] == i
        ends = bag.vertex_index[bag.edge_index[:, keep]]
        edges = {}
        for (u, v), a in zip(ends.t().tolist(), bag.edge_attr[keep].view(-1).tolist(), strict=True):
            edges[(min(u, v), max(u, v))] = a
            assert (min(u, v), max(u, v)) in EDGES
        assert torch.equal(bag.x[mine].view(-1), 10.0 * torch.tensor(nodes, dtype=torch.float))
        out.append((nodes, edges))
    return out


def without(*gone):
    return {e: a for e, a in EDGES.items() if e not in gone}


def test_policies_give_the_subgraphs_of_their_definition():
    g = small_graph()
    nd = subgraphs_of(SubgraphBag("node_deleted")(g))
    assert nd == [([0, 1, 2, 3], without((0, 1))),
                  ([0, 1, 2, 3], without((0, 1), (1, 2), (1, 3))),
                  ([0, 1, 2, 3], without((1, 2), (2, 3))),
                  ([0, 1, 2, 3], without((1, 3), (2, 3)))]
    nd_partial = subgraphs_of(SubgraphBag("node_deleted", keep_all_nodes=False)(g))
    assert [n for n, _ in nd_partial] == [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]]
    assert [e for _, e in nd_partial] == [e for _, e in nd]

    ed = subgraphs_of(SubgraphBag("edge_deleted")(g))
    assert ed == [([0, 1, 2, 3], without(e)) for e in sorted(EDGES)]

    ego = subgraphs_of(SubgraphBag("ego_nets", num_hops=1, keep_all_nodes=False)(g))
    assert ego == [([0, 1], {(0, 1): 1.0}), ([0, 1, 2, 3], EDGES),
                   ([1, 2, 3], without((0, 1))), ([1, 2, 3], without((0, 1)))]
    ego_all = subgraphs_of(SubgraphBag("ego_nets", num_hops=1)(g))
    assert ego_all == [([0, 1, 2, 3], e) for _, e in ego]
    ego2 = subgraphs_of(SubgraphBag("ego_nets", num_hops=2, keep_all_nodes=False)(g))
    assert ego2[0] == ([0, 1, 2, 3], EDGES)

    assert subgraphs_of(SubgraphBag("original")(g)) == [([0, 1, 2, 3], EDGES)]


def test_bag_keeps_the_graph_as_shared_domain_and_the_target():
    g = small_graph()
    bag = SubgraphBag("ego_nets_plus", num_hops=1, keep_all_nodes=False)(g)
    assert isinstance(bag, SetData)
    assert torch.equal(bag.shared_edge_index, g.edge_index)
    assert torch.equal(bag.shared_edge_attr, g.edge_attr)
    assert bag.num_vertices == 4 and bag.num_elements == 4 and bag.num_nodes == 12
    assert torch.equal(bag.y, g.y) and torch.equal(bag.element_set, torch.zeros(4).long())
    # The root of every ego-net+ is marked, and only the root.
    roots = bag.vertex_index[bag.root_mark == 1]
    assert roots.tolist() == [0, 1, 2, 3]
    assert int(bag.root_mark.sum()) == 4
    assert bag.get("root_mark") is not None
    assert SubgraphBag("ego_nets")(g).get("root_mark") is None


def test_edge_cases_and_bad_input():
    lone = Data(x=torch.ones(1, 2), edge_index=torch.empty(2, 0, dtype=torch.long))
    assert SubgraphBag("edge_deleted")(lone).num_elements == 1      # no edge: the graph itself
    bag = SubgraphBag("node_deleted", keep_all_nodes=False)(lone)  # G - v would be empty
    assert bag.num_elements == 1 and bag.num_nodes == 1
    with pytest.raises(ValueError, match="Unknown subgraph policy"):
        SubgraphBag("node_marked")
    with pytest.raises(ValueError, match="directed"):
        SubgraphBag("edge_deleted")(Data(x=torch.ones(2, 1), edge_index=torch.tensor([[0], [1]])))
    with pytest.raises(ValueError, match="node features 'x'"):
        SubgraphBag("node_deleted")(Data(edge_index=torch.tensor([[0, 1], [1, 0]]), num_nodes=2))
    with pytest.raises(ValueError, match="plain graph"):
        SubgraphBag("node_deleted")(SubgraphBag("original")(small_graph()))


def cycle(n: int, features: int = 1) -> Data:
    i = torch.arange(n)
    return Data(x=torch.randn(n, features),
                edge_index=to_undirected(torch.stack([i, (i + 1) % n])), y=torch.tensor([n]))


def test_batching_offsets_bags_of_different_sizes():
    """Three bags (4, 6 and 1 subgraphs; 4, 6 and 1 nodes; partial coverage)
    batched by PyG's DataLoader: every index is offset by the right count."""
    torch.manual_seed(0)
    t = SubgraphBag("ego_nets", num_hops=1, keep_all_nodes=False)
    g = small_graph()
    graphs = [Data(x=g.x, edge_index=g.edge_index, y=g.y), cycle(6), cycle(1)]
    graphs[1].x = torch.arange(6, dtype=torch.float).view(-1, 1)
    graphs[2] = Data(x=torch.tensor([[5.]]), edge_index=torch.empty(2, 0, dtype=torch.long),
                     y=torch.tensor([1.]))
    graphs[0].y, graphs[1].y = torch.tensor([7.5]), torch.tensor([6.])
    bags = [t(d) for d in graphs]
    assert [int(b.num_elements) for b in bags] == [4, 6, 1]
    batch = next(iter(DataLoader(bags, batch_size=3)))
    assert batch.num_vertices.tolist() == [4, 6, 1]
    assert batch.num_elements.tolist() == [4, 6, 1]
    # Shared vertices: set 1 starts at 4, set 2 at 10; elements at 4 and 10 too.
    assert torch.equal(batch.vertex_index, torch.cat([bags[0].vertex_index,
                                                      bags[1].vertex_index + 4,
                                                      bags[2].vertex_index + 10]))
    assert torch.equal(batch.element_index, torch.cat([bags[0].element_index,
                                                       bags[1].element_index + 4,
                                                       bags[2].element_index + 10]))
    assert batch.element_set.tolist() == [0] * 4 + [1] * 6 + [2]
    assert torch.equal(batch.shared_edge_index, torch.cat([graphs[0].edge_index,
                                                           graphs[1].edge_index + 4], 1))
    n0, n1 = bags[0].num_nodes, bags[1].num_nodes
    assert torch.equal(batch.edge_index, torch.cat([bags[0].edge_index,
                                                    bags[1].edge_index + n0], 1))
    assert n0 == 12 and n1 == 18 and batch.num_nodes == 31
    # Every node still carries the features of the vertex it maps to.
    assert torch.equal(batch.x.view(-1), torch.cat([g.x.view(-1), graphs[1].x.view(-1),
                                                    graphs[2].x.view(-1)])[batch.vertex_index])
    assert batch.y.tolist() == [7.5, 6.0, 1.0]
    # And every subgraph's edges join nodes of that subgraph only.
    assert torch.equal(batch.element_index[batch.edge_index[0]],
                       batch.element_index[batch.edge_index[1]])


def test_sample_subgraphs_keeps_a_random_part_of_the_bag():
    g = small_graph()
    bag = SubgraphBag("ego_nets_plus", num_hops=1, keep_all_nodes=False)(g)
    full = subgraphs_of(bag)
    draws = set()
    for seed in range(12):
        s = SampleSubgraphs(0.5, generator=torch.Generator().manual_seed(seed))(bag)
        assert int(s.num_elements) == 2 and s.element_index.tolist() == sorted(
            s.element_index.tolist())
        kept = subgraphs_of(s)
        # Each kept subgraph is the ego-net of its marked root, roots distinct.
        roots = [int(s.vertex_index[(s.element_index == j) & (s.root_mark == 1)])
                 for j in range(2)]
        assert roots[0] != roots[1] and [full[r] for r in roots] == kept
        assert int(s.root_mark.sum()) == 2
        assert torch.equal(s.shared_edge_index, bag.shared_edge_index) and s.num_vertices == 4
        draws.add(tuple(roots))
    assert len(draws) > 2  # really random
    one = SampleSubgraphs(0.01, generator=torch.Generator().manual_seed(0))(bag)
    assert int(one.num_elements) == 1  # at least one subgraph
    with pytest.raises(ValueError, match="fraction"):
        SampleSubgraphs(0.0)
    batch = next(iter(DataLoader([bag, bag], batch_size=2)))
    with pytest.raises(ValueError, match="one bag"):
        SampleSubgraphs(0.5)(batch)


def test_csl_is_the_definition():
    ds = CSL()
    assert len(ds) == 150 and ds.num_classes == 10
    y = torch.cat([d.y for d in ds])
    assert torch.bincount(y).tolist() == [15] * 10
    k = torch.arange(41, dtype=torch.float64)
    for d in (ds[0], ds[16], ds[77], ds[149]):
        skip = SKIP_LENGTHS[int(d.y)]
        assert d.num_nodes == 41 and torch.equal(d.x, torch.ones(41, 1))
        A = torch.zeros(41, 41, dtype=torch.float64)
        A[d.edge_index[0], d.edge_index[1]] = 1
        assert torch.equal(A, A.t()) and A.sum(1).eq(4).all() and A.diagonal().sum() == 0
        # The spectrum of the circulant C41(1, R): 2 cos(2 pi k / 41) + 2 cos(2 pi k R / 41);
        # a relabelled copy has the same one, the other skip lengths another.
        def spectrum(R):
            return (2 * torch.cos(2 * torch.pi * k / 41)
                    + 2 * torch.cos(2 * torch.pi * k * R / 41)).sort().values
        eig = torch.linalg.eigvalsh(A)
        assert torch.allclose(eig, spectrum(skip), atol=1e-9)
        assert all(not torch.allclose(eig, spectrum(R), atol=1e-6)
                   for R in SKIP_LENGTHS if R != skip)
    # Node ids are shuffled: the graphs of one class are not stored identically.
    assert not torch.equal(ds[0].edge_index, ds[1].edge_index)


def test_csl_folds_are_stratified_and_cover_the_dataset():
    ds = CSL()
    folds = ds.folds(5, seed=0)
    tests = torch.cat([te for _, te in folds])
    assert sorted(tests.tolist()) == list(range(150))
    y = torch.cat([d.y for d in ds])
    for train, test in folds:
        assert train.numel() == 120 and test.numel() == 30
        assert set(train.tolist()).isdisjoint(test.tolist())
        assert torch.bincount(y[test], minlength=10).tolist() == [3] * 10
    assert [te.tolist() for _, te in ds.folds(5, seed=0)] == [te.tolist() for _, te in folds]
    assert [te.tolist() for _, te in ds.folds(5, seed=1)] != [te.tolist() for _, te in folds]
    with pytest.raises(ValueError, match="num_folds"):
        ds.folds(1)


def test_csl_pre_transform_gives_bags():
    ds = CSL(pre_transform=SubgraphBag("node_deleted"), graphs_per_class=1)
    assert len(ds) == 10
    bag = ds[3]
    assert isinstance(bag, SetData) and int(bag.num_elements) == 41 and bag.num_nodes == 41 * 41
    direct = SubgraphBag("node_deleted")(CSL(graphs_per_class=1)[3])
    for key in ("x", "edge_index", "vertex_index", "element_index", "shared_edge_index", "y"):
        assert torch.equal(bag[key], direct[key]), key


def write_zinc_raw(root: str, sizes=(9, 14, 23)) -> None:
    """Raw files in the format of PyG's ZINC loader: pickled lists of molecules
    (atom types, bond-type adjacency, target) and the subset index files."""
    raw = os.path.join(root, "raw")
    os.makedirs(raw, exist_ok=True)
    g = torch.Generator().manual_seed(0)
    for split in ("train", "val", "test"):
        mols = []
        for n in sizes:
            adj = torch.zeros(n, n, dtype=torch.long)
            for v in range(1, n):  # a tree plus a ring closure: molecule-like
                u = int(torch.randint(0, v, (1, ), generator=g))
                adj[u, v] = adj[v, u] = int(torch.randint(1, 4, (1, ), generator=g))
            adj[0, n - 1] = adj[n - 1, 0] = 1
            mols.append({"atom_type": torch.randint(0, 28, (n, ), generator=g),
                         "bond_type": adj,
                         "logP_SA_cycle_normalized": torch.randn(1, generator=g)})
        with open(os.path.join(raw, f"{split}.pickle"), "wb") as f:
            pickle.dump(mols, f)
        with open(os.path.join(raw, f"{split}.index"), "w") as f:
            f.write(",".join(str(i) for i in range(len(sizes))) + "\n")


def test_zinc_through_pygs_loader(tmp_path):
    from torch_geometric.datasets import ZINC
    write_zinc_raw(str(tmp_path))
    t = SubgraphBag("ego_nets_plus", num_hops=3)
    ds = ZINC(str(tmp_path), subset=True, split="train", pre_transform=t)
    assert len(ds) == 3
    bag = ds[2]
    assert isinstance(bag, SetData) and int(bag.num_elements) == 23
    assert bag.x.dtype == torch.long and bag.edge_attr.dtype == torch.long
    assert bag.shared_edge_attr.numel() == bag.shared_edge_index.size(1)
    assert bag.root_mark.sum() == 23
    batch = next(iter(DataLoader(ds, batch_size=3)))
    assert batch.num_vertices.tolist() == [9, 14, 23]


def write_tu_raw(root: str, name: str) -> None:
    """A two-graph TU dataset in the TU raw text format."""
    raw = os.path.join(root, name, "raw")
    os.makedirs(raw, exist_ok=True)
    edges = [(1, 2), (2, 3), (3, 1), (4, 5), (5, 6), (6, 7), (7, 4)]  # triangle, square
    with open(os.path.join(raw, f"{name}_A.txt"), "w") as f:
        f.write("".join(f"{u}, {v}\n{v}, {u}\n" for u, v in edges))
    with open(os.path.join(raw, f"{name}_graph_indicator.txt"), "w") as f:
        f.write("1\n1\n1\n2\n2\n2\n2\n")
    with open(os.path.join(raw, f"{name}_graph_labels.txt"), "w") as f:
        f.write("0\n1\n")
    with open(os.path.join(raw, f"{name}_node_labels.txt"), "w") as f:
        f.write("0\n1\n0\n1\n0\n1\n0\n")


def test_tu_dataset_through_pygs_loader(tmp_path):
    from torch_geometric.datasets import TUDataset
    write_tu_raw(str(tmp_path), "TINY")
    ds = TUDataset(str(tmp_path), "TINY", pre_transform=SubgraphBag("edge_deleted"))
    assert [int(b.num_elements) for b in ds] == [3, 4]
    assert [b.num_nodes for b in ds] == [9, 16]
    assert ds[1].x.shape == (16, 2)  # one-hot node labels, copied to every subgraph


def sampled_by_hand(bag, chosen):
    """The bag restricted to the subgraphs ``chosen`` (sorted), every field
    rebuilt one by one: what SampleSubgraphs did before
    SetData.element_subgraph, kept as its reference."""
    n = int(bag.num_elements)
    keep_element = torch.zeros(n, dtype=torch.bool)
    keep_element[chosen] = True
    keep_node = keep_element[bag.element_index]
    new_node = torch.cumsum(keep_node, 0) - 1
    keep_edge = keep_node[bag.edge_index[0]]
    own = ("element_index", "vertex_index", "shared_edge_index", "shared_edge_attr",
           "element_set", "num_elements", "num_vertices", "num_nodes", "coverage", "edge_index")
    out = SetData()
    for key, value in bag.items():
        if key in own:
            continue
        if bag.is_node_attr(key) and key != "y":
            out[key] = value[keep_node]
        elif bag.is_edge_attr(key):
            out[key] = value[keep_edge]
        else:
            out[key] = value
    out.edge_index = new_node[bag.edge_index[:, keep_edge]]
    out.element_index = (torch.cumsum(keep_element, 0) - 1)[bag.element_index[keep_node]]
    out.vertex_index = bag.vertex_index[keep_node]
    out.element_set = torch.zeros(chosen.numel(), dtype=torch.long)
    out.num_elements = chosen.numel()
    out.num_vertices = bag.num_vertices
    out.shared_edge_index = bag.shared_edge_index
    out.coverage = bag.coverage
    if bag.get("shared_edge_attr") is not None:
        out.shared_edge_attr = bag.shared_edge_attr
    out.num_nodes = int(keep_node.sum())
    return out


@pytest.mark.parametrize("policy, keep_all_nodes", [
    ("node_deleted", True), ("node_deleted", False), ("edge_deleted", True),
    ("ego_nets", False), ("ego_nets_plus", True), ("ego_nets_plus", False)])
def test_sample_subgraphs_equals_the_field_by_field_definition(policy, keep_all_nodes):
    torch.manual_seed(0)
    for num_nodes in (3, 7, 12):
        edge_index = to_undirected(torch.randint(num_nodes, (2, 2 * num_nodes)),
                                   num_nodes=num_nodes)
        graph = Data(x=torch.randn(num_nodes, 3), edge_index=edge_index,
                     edge_attr=torch.randn(edge_index.size(1), 2), y=torch.tensor([1.5]))
        bag = SubgraphBag(policy, num_hops=1, keep_all_nodes=keep_all_nodes)(graph)
        for seed in range(3):
            sampled = SampleSubgraphs(0.4, generator=torch.Generator().manual_seed(seed))(bag)
            count = max(1, -(-2 * int(bag.num_elements) // 5))  # ceil(0.4 n)
            chosen = torch.randperm(int(bag.num_elements),
                                    generator=torch.Generator().manual_seed(seed))
            expected = sampled_by_hand(bag, chosen[:count].sort().values)
            assert sorted(sampled.keys()) == sorted(expected.keys())
            for key in expected.keys():
                a, b = sampled[key], expected[key]
                assert (torch.equal(a, b) if isinstance(b, torch.Tensor) else a == b), key
