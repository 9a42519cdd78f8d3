import warnings

import pytest
import torch
from torch_geometric.data import Data, InMemoryDataset

from torch_geometric.nn import GCNConv

from conftest import collate, corresponded_set, partial_set, random_graph, uncorresponded_set
from pyg_dss.data import SetData, split_sets
from pyg_dss.nn import DSSConv
from pyg_dss.testing import assert_equivariant


def test_from_elements_corresponded_layout():
    ei = random_graph(5)
    elements = [Data(x=torch.randn(5, 2), edge_index=ei, time=t) for t in (3, 1, 2)]
    s = SetData.from_elements(elements, corresponded=True)
    assert torch.equal(s.x, torch.cat([e.x for e in elements]))
    assert s.element_index.tolist() == [0] * 5 + [1] * 5 + [2] * 5
    assert s.vertex_index.tolist() == list(range(5)) * 3
    assert torch.equal(s.shared_edge_index, ei)
    assert torch.equal(s.edge_index, torch.cat([ei, ei + 5, ei + 10], dim=1))
    assert s.time.tolist() == [3, 1, 2]
    assert s.element_set.tolist() == [0, 0, 0]
    assert (s.num_elements, s.num_vertices, s.num_nodes) == (3, 5, 15)


def test_from_elements_uncorresponded_layout():
    elements = [Data(x=torch.randn(v, 2), edge_index=random_graph(v)) for v in (2, 4)]
    s = SetData.from_elements(elements, corresponded=False)
    assert s.vertex_index.tolist() == [0] * 6
    assert s.num_vertices == 1
    assert s.shared_edge_index.tolist() == [[0], [0]]
    assert torch.equal(s.edge_index, torch.cat([elements[0].edge_index,
                                                elements[1].edge_index + 2], dim=1))


def assert_offsets(batch, sets):
    """Reference: offsets accumulated by hand over the sets, in loader order."""
    element_index, vertex_index, element_set, shared, edges = [], [], [], [], []
    elem_off = vert_off = node_off = 0
    for k, s in enumerate(sets):
        element_index.append(s.element_index + elem_off)
        vertex_index.append(s.vertex_index + vert_off)
        shared.append(s.shared_edge_index + vert_off)
        edges.append(s.edge_index + node_off)
        element_set += [k] * s.num_elements
        elem_off += s.num_elements
        vert_off += s.num_vertices
        node_off += s.num_nodes
    assert torch.equal(batch.element_index, torch.cat(element_index))
    assert torch.equal(batch.vertex_index, torch.cat(vertex_index))
    assert torch.equal(batch.shared_edge_index, torch.cat(shared, dim=1))
    assert torch.equal(batch.edge_index, torch.cat(edges, dim=1))
    assert batch.element_set.tolist() == element_set
    assert batch.num_elements.tolist() == [s.num_elements for s in sets]
    assert batch.num_vertices.tolist() == [s.num_vertices for s in sets]
    assert batch.num_sets == len(sets)
    assert torch.equal(batch.x, torch.cat([s.x for s in sets]))


def test_batching_offsets_against_reference():
    torch.manual_seed(0)
    sets = [corresponded_set(4, 6), uncorresponded_set([3, 5]), corresponded_set(2, 9)]
    batch = collate(sets)
    assert_offsets(batch, sets)
    assert batch.num_elements.tolist() == [4, 2, 2]
    assert batch.num_vertices.tolist() == [6, 1, 9]


def test_round_trip_through_batch():
    torch.manual_seed(0)
    def element(i, v, edge_index=None):
        edge_index = random_graph(v) if edge_index is None else edge_index
        return Data(x=torch.randn(v, 3), edge_index=edge_index,
                    edge_attr=torch.randn(edge_index.size(1), 2), time=torch.tensor(i))

    elements = [element(i, v) for i, v in enumerate((3, 6, 4))]
    s = SetData.from_elements(elements, corresponded=False)
    ei = random_graph(5)
    other = SetData.from_elements([element(i, 5, ei) for i in range(3)], corresponded=True)
    batch = collate([other, s, other])
    back = split_sets(batch)[1]
    assert len(back) == 3
    for a, b in zip(elements, back, strict=True):
        assert torch.equal(a.x, b.x)
        assert torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.edge_attr, b.edge_attr)
        assert int(a.time) == int(b.time)
        assert "vertex_index" not in b
    assert [len(e) for e in split_sets(batch)] == [3, 3, 3]
    with pytest.raises(ValueError, match="split_sets"):
        batch.to_elements()


@pytest.mark.parametrize("elements, message", [
    ([], "zero elements"),
    ([Data(x=torch.randn(3, 2), edge_index=random_graph(3)),
      Data(x=torch.randn(4, 2), edge_index=random_graph(4))], "element 1 has 4 nodes"),
    ([Data(x=torch.randn(3, 2), edge_index=torch.tensor([[0], [1]])),
      Data(x=torch.randn(3, 2), edge_index=torch.tensor([[1], [2]]))],
     "element 1 has different edges"),
    ([Data(x=torch.randn(3, 2)), Data(pos=torch.randn(3, 2))], "Element 1 has no node features"),
    ([Data(x=torch.randn(3, 2), t=1), Data(x=torch.randn(3, 2))],
     r"Element 1 has different attributes .*missing \['t'\]"),
    ([Data(x=torch.randn(3, 2)), Data(x=torch.randn(3, 5))], "Element 1 has \\(5,\\) features"),
])
def test_from_elements_errors(elements, message):
    with pytest.raises(ValueError, match=message):
        SetData.from_elements(elements, corresponded=True)


class _Sets(InMemoryDataset):
    def __init__(self, root, sets):
        self.sets = sets
        super().__init__(root)
        self.load(self.processed_paths[0])

    @property
    def processed_file_names(self):
        return ["sets.pt"]

    def process(self):
        self.save(self.sets, self.processed_paths[0])


def test_in_memory_dataset_loads_set_data_safely(tmp_path):
    torch.manual_seed(0)
    sets = [corresponded_set(3, 4), corresponded_set(2, 6)]
    _Sets(str(tmp_path), sets)  # processes and saves
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback to unsafe pickle
        dataset = _Sets(str(tmp_path), sets=None)
    assert isinstance(dataset[1], SetData)
    assert torch.equal(dataset[1].x, sets[1].x)
    assert torch.equal(dataset[1].vertex_index, sets[1].vertex_index)
    batch = collate([dataset[0], dataset[1]])
    assert batch.vertex_index.max() == 4 + 6 - 1


# -- partial coverage: elements that cover part of a shared domain ------------
def test_from_elements_with_shared_domain_layout():
    shared = Data(num_nodes=5, edge_index=torch.tensor([[0, 1, 3], [1, 2, 4]]),
                  edge_attr=torch.tensor([[1.], [2.], [3.]]))
    elements = [Data(x=torch.randn(2, 3), edge_index=torch.tensor([[0], [1]]),
                     vertex_index=torch.tensor([3, 4])),
                Data(x=torch.randn(3, 3), edge_index=torch.tensor([[1], [0]]),
                     vertex_index=torch.tensor([2, 1, 0]))]
    s = SetData.from_elements(elements, corresponded=False, shared=shared)
    assert s.vertex_index.tolist() == [3, 4, 2, 1, 0]
    assert s.element_index.tolist() == [0, 0, 1, 1, 1]
    assert s.edge_index.tolist() == [[0, 3], [1, 2]]
    assert torch.equal(s.shared_edge_index, shared.edge_index)
    assert torch.equal(s.shared_edge_attr, shared.edge_attr)
    assert (s.num_vertices, s.num_elements, s.num_nodes, s.coverage) == (5, 2, 5, "partial")
    assert s.validate()
    # corresponded=True with a shared domain: node v is vertex v unless told otherwise.
    full = SetData.from_elements([Data(x=torch.randn(5, 3)), Data(x=torch.randn(5, 3))],
                                 corresponded=True, shared=shared)
    assert full.vertex_index.tolist() == list(range(5)) * 2 and full.coverage == "full"


def test_partial_sets_batch_with_offsets_against_reference():
    torch.manual_seed(0)
    bags = [partial_set(6, [2, 5, 3]), partial_set(9, [4]), partial_set(4, [1, 1, 2, 3, 4])]
    sets = [partial_set(6, [2, 5, 3], edge_attr=False), uncorresponded_set([3, 4]),
            partial_set(9, [4], edge_attr=False), corresponded_set(2, 4),
            partial_set(4, [1, 1, 2, 3, 4], edge_attr=False)]
    batch = collate(sets)
    assert batch.validate()
    assert_offsets(batch, sets)
    assert batch.coverage == ["partial", "pooled", "partial", "full", "partial"]
    assert batch.num_elements.tolist() == [4, 2, 2, 2, 6]
    # Shared edge features are concatenated, no offset.
    batch = collate(bags)
    assert torch.equal(batch.shared_edge_attr, torch.cat([b.shared_edge_attr for b in bags]))
    assert torch.equal(batch.vertex_index, torch.cat([bags[0].vertex_index,
                                                      bags[1].vertex_index + 6,
                                                      bags[2].vertex_index + 15]))


def test_partial_sets_round_trip():
    torch.manual_seed(0)
    sets = [partial_set(6, [2, 5, 3]), partial_set(9, [4, 6], cover_all=False)]
    batch = collate(sets)
    for s, elements in zip(sets, split_sets(batch), strict=True):
        assert [e.num_nodes for e in elements] == torch.bincount(s.element_index).tolist()
        for k, e in enumerate(elements):
            mine = s.element_index == k
            assert torch.equal(e.vertex_index, s.vertex_index[mine])
            assert torch.equal(e.x, s.x[mine])
        again = SetData.from_elements(elements, corresponded=False, shared=s.shared_domain())
        assert set(again.keys()) == set(s.keys()) - {"y"}
        for key in again.keys():
            a, b = again[key], s[key]
            assert torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b, key
    frames = corresponded_set(3, 5)
    assert SetData.from_elements(frames.to_elements(), True,
                                 shared=frames.shared_domain()).validate()
    assert uncorresponded_set([2, 3]).shared_domain() is None


def _reference_dss(s, conv, reduce):
    """DSSConv written per set from its elements: the aggregate at a shared
    vertex runs over the elements that contain it (0 where none does)."""
    elements = s.to_elements(vertex_index=True)
    V, C = int(s.num_vertices), s.x.size(1)
    per_vertex = [[] for _ in range(V)]
    for e in elements:
        for node, v in enumerate(e.vertex_index.tolist()):
            per_vertex[v].append(e.x[node])
    agg = torch.zeros(V, C)
    for v, rows in enumerate(per_vertex):
        if rows:
            rows = torch.stack(rows)
            agg[v] = {"sum": rows.sum(0), "mean": rows.mean(0), "max": rows.amax(0)}[reduce]
    shared = conv.shared(agg, s.shared_edge_index)
    return torch.cat([conv.siamese(e.x, e.edge_index) + shared[e.vertex_index]
                      for e in elements])


@pytest.mark.parametrize("reduce", ["sum", "mean", "max"])
def test_dss_conv_on_partial_sets_against_per_set_reference(reduce):
    torch.manual_seed(0)
    sets = [partial_set(6, [2, 5, 3]), partial_set(9, [4, 7], cover_all=False),
            partial_set(4, [1, 1, 2, 3, 4]), partial_set(5, [5])]
    batch = collate(sets)
    conv = DSSConv(GCNConv(3, 4), GCNConv(3, 4), aggr=reduce)
    with torch.no_grad():
        out = conv(batch.x, batch.edge_index, batch)
        expected = torch.cat([_reference_dss(s, conv, reduce) for s in sets])
    assert torch.allclose(out, expected, atol=1e-5)
    covered = collate([sets[0], sets[2], sets[3]])  # every shared vertex in some element
    assert_equivariant(lambda b: conv(b.x, b.edge_index, b), covered)


def test_shared_subgraph_of_partial_set():
    torch.manual_seed(0)
    s = partial_set(7, [3, 5, 2])
    keep = torch.tensor([5, 0, 3])
    r = s.shared_subgraph(keep)
    assert r.validate() and r.num_vertices == 3 and r.coverage == "partial"
    new_of = {5: 0, 0: 1, 3: 2}
    for e, f in zip(s.to_elements(), r.to_elements(vertex_index=True), strict=True):
        mine = [i for i, v in enumerate(e.vertex_index.tolist()) if v in new_of]
        assert f.vertex_index.tolist() == [new_of[v] for v in e.vertex_index[mine].tolist()]
        assert torch.equal(f.x, e.x[mine])
        pos = {old: new for new, old in enumerate(mine)}
        kept = [(pos[a], pos[b], j) for j, (a, b) in enumerate(e.edge_index.t().tolist())
                if a in pos and b in pos]
        assert f.edge_index.t().tolist() == [[a, b] for a, b, _ in kept]
        assert torch.equal(f.edge_attr, e.edge_attr[[j for _, _, j in kept]])
    shared = [(new_of[a], new_of[b], j)
              for j, (a, b) in enumerate(s.shared_edge_index.t().tolist())
              if a in new_of and b in new_of]
    assert r.shared_edge_index.t().tolist() == [[a, b] for a, b, _ in shared]
    assert torch.equal(r.shared_edge_attr, s.shared_edge_attr[[j for _, _, j in shared]])


@pytest.mark.parametrize("elements, shared, message", [
    ([Data(x=torch.randn(2, 1), vertex_index=torch.tensor([0, 1]))], None,
     "Element 0 has a 'vertex_index' but no shared domain"),
    ([Data(x=torch.randn(2, 1))], Data(num_nodes=3), "Element 0 has no 'vertex_index'"),
    ([Data(x=torch.randn(2, 1), vertex_index=torch.tensor([0, 3]))], Data(num_nodes=3),
     "Element 0: 'vertex_index' holds vertex 3, but the shared domain has 3 vertices"),
    ([Data(x=torch.randn(2, 1), vertex_index=torch.tensor([1, 1]))], Data(num_nodes=3),
     "maps two nodes to the same shared vertex"),
    ([Data(x=torch.randn(2, 1), vertex_index=torch.tensor([1]))], Data(num_nodes=3),
     r"'vertex_index' must be a long tensor of shape \[2\]"),
    ([Data(x=torch.randn(2, 1), vertex_index=torch.tensor([0, 1]))],
     Data(num_nodes=2, edge_index=torch.tensor([[0], [2]])),
     "The shared domain: edge 0 of 'edge_index' refers to vertex 2"),
    ([Data(x=torch.randn(2, 1), vertex_index=torch.tensor([0, 1]))],
     Data(num_nodes=2, edge_index=torch.tensor([[0], [1]]), edge_attr=torch.randn(2, 1)),
     "The shared domain: 'edge_attr' has shape \\(2, 1\\) but needs 1 rows"),
    ([Data(x=torch.randn(2, 1), vertex_index=torch.tensor([0, 1]))], torch.tensor([3]),
     "shared must be a torch_geometric Data"),
])
def test_from_elements_shared_errors(elements, shared, message):
    with pytest.raises(ValueError, match=message):
        SetData.from_elements(elements, corresponded=False, shared=shared)


def test_corresponded_with_shared_needs_full_elements():
    with pytest.raises(ValueError, match="element 0 has 2 nodes and the shared domain 3"):
        SetData.from_elements([Data(x=torch.randn(2, 1), vertex_index=torch.tensor([0, 1]))],
                              corresponded=True, shared=Data(num_nodes=3))


def test_set_data_owns_its_keys():
    """One definition of the keys a set owns; node / edge / element
    attributes told apart by the set, even when their counts coincide."""
    from conftest import corresponded_set
    from pyg_dss.transforms.set_transform import _STRUCTURE

    s = corresponded_set(4, 4)  # 16 nodes
    s.edge_attr = torch.randn(s.edge_index.size(1), 2)
    s.time = torch.arange(4.0)
    assert SetData.set_keys >= {"element_index", "vertex_index", "shared_edge_index",
                                "element_set", "num_elements", "num_vertices", "coverage"}
    assert set(_STRUCTURE) == set(SetData.set_keys) | {"edge_index"}
    assert [k for k in ("x", "pos", "element_index", "vertex_index") if s.is_node_attr(k)] == \
        ["x", "pos", "element_index", "vertex_index"]
    assert not s.is_node_attr("element_set") and not s.is_node_attr("shared_edge_index")
    assert s.is_edge_attr("edge_attr") and not s.is_edge_attr("shared_edge_index")
    assert s.is_element_attr("time") and not s.is_element_attr("y")
    s.edge_attr = torch.randn(s.num_nodes, 2)  # as many edges as nodes: still edge-level
    s.edge_index = s.edge_index[:, :s.num_nodes]
    assert s.is_edge_attr("edge_attr") and not s.is_node_attr("edge_attr")


def test_num_sets_has_one_meaning_and_no_host_sync():
    from conftest import collate, corresponded_set, uncorresponded_set

    sets = [corresponded_set(3, 5), uncorresponded_set([2, 4]), corresponded_set(2, 3)]
    assert sets[0].num_sets == 1 and collate(sets).num_sets == 3
    # from a size: it stays right even when element_set is on a device or empty
    assert collate(sets).num_sets == collate(sets).num_vertices.numel()
    import pyg_dss.layout as layout
    assert not hasattr(layout, "num_sets") and "check_sets" not in layout.__all__


def test_element_subgraph_keeps_and_reorders_elements():
    from conftest import collate, partial_set

    torch.manual_seed(0)
    s = partial_set(6, [2, 3, 4], edge_attr=True)
    s.time = torch.tensor([10.0, 11.0, 12.0, 13.0])
    sub = s.element_subgraph(torch.tensor([3, 1]))
    assert sub.validate() and sub.num_elements == 2 and sub.coverage == "partial"
    ref = s.to_elements()
    got = sub.to_elements()
    for g, r in zip(got, [ref[3], ref[1]], strict=True):
        assert torch.equal(g.x, r.x) and torch.equal(g.edge_index, r.edge_index)
        assert torch.equal(g.edge_attr, r.edge_attr) and torch.equal(g.vertex_index, r.vertex_index)
    assert sub.time.tolist() == [13.0, 11.0]
    assert torch.equal(s.element_subgraph(torch.tensor([True, False, True, True])).time,
                       torch.tensor([10.0, 12.0, 13.0]))
    for bad, message in ((torch.tensor([1, 1]), "more than once"),
                         (torch.tensor([7]), "outside 0..3"),
                         (torch.tensor([True]), "one entry per element")):
        with pytest.raises(ValueError, match=message):
            s.element_subgraph(bad)
    # in a batch: reordered within sets; a set left empty is refused
    other = partial_set(5, [2, 2], edge_attr=True)
    other.time = torch.tensor([20.0, 21.0, 22.0])
    batch = collate([s, other])
    perm = torch.tensor([2, 0, 1, 3, 5, 4, 6])
    out = batch.element_subgraph(perm)
    assert out.validate() and out.num_elements.tolist() == [4, 3]
    assert out.time.tolist() == [12.0, 10.0, 11.0, 13.0, 21.0, 20.0, 22.0]
    with pytest.raises(ValueError, match="at least one element of every set"):
        batch.element_subgraph(torch.tensor([0, 1, 2, 3]))
