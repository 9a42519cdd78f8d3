"""The equivariance checker itself: it must catch each broken symmetry."""
import pytest
import torch
from hypothesis import given, settings, strategies as st

from pyg_dss.testing import assert_equivariant, permute_sets
from conftest import collate, corresponded_set, uncorresponded_set


def position_in_element(batch):
    """The rank of every node inside its element: not H-invariant for
    uncorresponded sets; equals vertex_index - offset for corresponded ones."""
    counts = torch.bincount(batch.element_index)
    start = (counts.cumsum(0) - counts)[batch.element_index]
    return (torch.arange(batch.num_nodes) - start).float()


def position_in_set(batch):
    counts = torch.bincount(batch.element_set)
    start = (counts.cumsum(0) - counts)[batch.element_set]
    return (torch.arange(batch.element_set.numel()) - start).float()


def test_catches_broken_set_order(any_batch):
    """Adds the element's position in its set: breaks S_n only."""
    def f(b):
        return b.x + position_in_set(b)[b.element_index].unsqueeze(1)
    assert_equivariant(f, any_batch, symmetries=["element"])
    with pytest.raises(AssertionError, match="Not equivariant under the 'set' symmetry"):
        assert_equivariant(f, any_batch, symmetries=["set"])
    with pytest.raises(AssertionError, match="'both'"):
        assert_equivariant(f, any_batch, symmetries=["both"])


def test_catches_broken_element_symmetry(corresponded_batch, uncorresponded_batch):
    """Adds the node's position inside its element: breaks H only."""
    def f(b):
        return b.x + position_in_element(b).unsqueeze(1)
    for batch in (corresponded_batch, uncorresponded_batch):
        assert_equivariant(f, batch, symmetries=["set"])
        with pytest.raises(AssertionError, match="'element' symmetry"):
            assert_equivariant(f, batch, symmetries=["element"])


def test_catches_non_invariant_output(any_batch):
    def first_node(b):  # the first node's features of every set: not invariant
        return b.x[b.ptr[:-1]]
    with pytest.raises(AssertionError, match="Not invariant"):
        assert_equivariant(first_node, any_batch, level="set")
    def total(b):
        return torch.zeros(b.num_sets, 3).index_add_(0, b.batch, b.x)
    assert_equivariant(total, any_batch, level="set")


def test_catches_output_that_reads_a_fixed_element(corresponded_batch):
    """Every element reads element 0 of the batch: the set order leaks in."""
    def leaky(b):
        z = torch.zeros(b.element_set.numel(), 3).index_add_(0, b.element_index, b.x)
        return z + z[0]  # every element sees element 0 of set 0
    with pytest.raises(AssertionError):
        assert_equivariant(leaky, corresponded_batch, level="element")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(2, 7)), min_size=1, max_size=4),
       st.booleans(), st.integers(0, 2**16))
def test_permute_sets_moves_every_attribute_consistently(shapes, corresponded, seed):
    torch.manual_seed(seed)
    sets = [corresponded_set(n, v) if corresponded else uncorresponded_set([v] * n)
            for n, v in shapes]
    batch = collate(sets)
    p = permute_sets(batch, "both", torch.Generator().manual_seed(seed))
    new = p.batch
    assert torch.equal(new.x, batch.x[p.node_perm])
    assert torch.equal(new.batch, batch.batch)  # sets keep their place
    assert torch.equal(new.element_set, batch.element_set)
    # elements stay contiguous, nodes keep their element, edges their endpoints
    assert torch.equal(new.element_index, new.element_index.sort().values)
    old_of_new_element = p.element_perm[new.element_index]
    assert torch.equal(old_of_new_element, batch.element_index[p.node_perm])
    old_edges = p.node_perm[new.edge_index]
    assert sorted(map(tuple, old_edges.t().tolist())) == \
        sorted(map(tuple, batch.edge_index.t().tolist()))
    if corresponded:  # one relabelling per set, the same in every element
        pairs = torch.stack([batch.vertex_index[p.node_perm], new.vertex_index], 1).unique(dim=0)
        assert pairs.size(0) == int(batch.vertex_index.max()) + 1
