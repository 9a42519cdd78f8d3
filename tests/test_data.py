import warnings

import pytest
import torch
from torch_geometric.data import Data, InMemoryDataset

from conftest import collate, corresponded_set, random_graph, uncorresponded_set
from pyg_dss.data import SetData, split_sets


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


def test_batching_offsets_against_reference():
    torch.manual_seed(0)
    sets = [corresponded_set(4, 6), uncorresponded_set([3, 5]), corresponded_set(2, 9)]
    batch = collate(sets)
    # Reference: offsets accumulated by hand over the sets, in loader order.
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
    assert batch.num_elements.tolist() == [4, 2, 2]
    assert batch.num_vertices.tolist() == [6, 1, 9]
    assert batch.num_sets == 3
    assert torch.equal(batch.x, torch.cat([s.x for s in sets]))


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
    for a, b in zip(elements, back):
        assert torch.equal(a.x, b.x)
        assert torch.equal(a.edge_index, b.edge_index)
        assert torch.equal(a.edge_attr, b.edge_attr)
        assert int(a.time) == int(b.time)
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
