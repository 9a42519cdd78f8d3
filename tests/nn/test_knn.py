import pytest
import torch

from pyg_dss.nn.pointnet import knn_graph
from pyg_dss.transforms import KNNSetGraph
from conftest import collate, corresponded_set, partial_set, uncorresponded_set


def brute_force_knn(pos, k, batch, loop):
    edges = set()
    for i in range(pos.size(0)):
        same = [j for j in range(pos.size(0)) if batch[j] == batch[i] and (loop or j != i)]
        dist = sorted((float((pos[i] - pos[j]).norm()), j) for j in same)
        edges |= {(j, i) for _, j in dist[:k]}
    return edges


@pytest.mark.parametrize("loop", [False, True])
def test_knn_graph_matches_brute_force(loop):
    torch.manual_seed(0)
    pos = torch.randn(40, 3)
    batch = torch.tensor([0] * 15 + [1] * 3 + [2] * 22)
    ei = knn_graph(pos, 4, batch, loop=loop, chunk_size=7)  # several chunks per group
    assert set(map(tuple, ei.t().tolist())) == brute_force_knn(pos, 4, batch, loop)


def test_knn_set_graph_builds_element_and_shared_graphs():
    torch.manual_seed(0)
    s = KNNSetGraph(k=2)(corresponded_set(3, 8))
    assert set(map(tuple, s.edge_index.t().tolist())) == \
        brute_force_knn(s.pos, 2, s.element_index, loop=False)
    mean_pos = s.pos.view(3, 8, 3).mean(0)
    assert set(map(tuple, s.shared_edge_index.t().tolist())) == \
        brute_force_knn(mean_pos, 2, torch.zeros(8), loop=False)
    with pytest.raises(ValueError, match="needs point positions 'pos'"):
        KNNSetGraph(2)(corresponded_set(2, 4).update({"pos": None}))


def test_knn_set_graph_refuses_batches():
    """On main a batch raised 'only one element tensors can be converted to
    Python scalars' (B > 1) or silently joined the domains of its sets."""
    torch.manual_seed(0)
    batch = collate([corresponded_set(3, 8), corresponded_set(2, 8)])
    with pytest.raises(ValueError, match="works on a single set, but was given a batch of 2 "
                                         "sets; apply it to each set before batching"):
        KNNSetGraph(2)(batch)
    with pytest.raises(ValueError, match="a batch of 1 sets"):
        KNNSetGraph(2)(collate([corresponded_set(3, 8)]))


def test_knn_set_graph_on_partial_and_pooled_sets_keeps_their_shared_graph():
    torch.manual_seed(0)
    bag = partial_set(8, [3, 5])
    out = KNNSetGraph(2)(bag)
    assert out.validate() and "edge_attr" not in out
    assert torch.equal(out.shared_edge_index, bag.shared_edge_index)
    assert torch.equal(out.shared_edge_attr, bag.shared_edge_attr)
    assert set(map(tuple, out.edge_index.t().tolist())) == \
        brute_force_knn(bag.pos, 2, bag.element_index, loop=False)
    pooled = uncorresponded_set([4, 6])
    assert torch.equal(KNNSetGraph(2)(pooled).shared_edge_index, pooled.shared_edge_index)
