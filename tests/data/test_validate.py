"""SetData.validate(), the checks of from_elements and of collation: a set that
is garbage is refused with a message that names what is wrong."""
import copy
import warnings

import pytest
import torch
import torch_geometric.transforms as T
from torch_geometric.data import Data

from conftest import collate, corresponded_set, partial_set, random_graph, uncorresponded_set
from pyg_dss.data import SetData


def test_valid_sets_and_batches_pass():
    torch.manual_seed(0)
    sets = [corresponded_set(3, 5), uncorresponded_set([2, 6]),
            partial_set(6, [2, 3], edge_attr=False), corresponded_set(1, 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for s in sets:
            assert s.validate() and s.validate(raise_on_error=False)
        assert collate(sets).validate()
        assert collate(sets[:1]).validate()


def _break(name):
    """A batch of three sets and one way of breaking it; the expected message."""
    torch.manual_seed(0)
    b = collate([corresponded_set(3, 5), uncorresponded_set([2, 6]),
                 partial_set(6, [2, 3], edge_attr=False)])
    b = copy.copy(b)
    if name == "edge_across_elements":  # node 4 is in element 0, node 5 in element 1
        b.edge_index = torch.cat([b.edge_index, torch.tensor([[4], [5]])], dim=1)
        return b, "set 0, edge .* joins element 0 to element 1"
    if name == "edge_out_of_range":
        b.edge_index = torch.cat([b.edge_index, torch.tensor([[0], [b.num_nodes]])], dim=1)
        return b, "larger indices than the number of nodes"
    if name == "vertex_of_other_set":  # first node of set 1 points into set 0's domain
        b.vertex_index = b.vertex_index.clone()
        b.vertex_index[15] = 2
        return b, r"set 1, element 0: node 15 has vertex_index 2, outside .* 5\.\.5"
    if name == "shared_edge_across_sets":
        b.shared_edge_index = torch.cat([b.shared_edge_index, torch.tensor([[0], [5]])], 1)
        return b, "joins the domains of sets 0 and 1"
    if name == "element_index_unsorted":
        b.element_index = b.element_index.clone()  # nodes 0 and 5 swap elements
        b.element_index[0], b.element_index[5] = 1, 0
        del b.edge_index  # which would now join elements
        return b, "not sorted"
    if name == "element_index_out_of_range":
        b.element_index = b.element_index.clone()
        b.element_index[-1] = 100
        return b, "'element_index' holds ids outside"
    if name == "vertex_twice_in_element":  # both nodes of element 0 of set 2 on one vertex
        b.vertex_index = b.vertex_index.clone()
        first = int((b.element_index == 5).nonzero()[0])
        b.vertex_index[first + 1] = b.vertex_index[first]
        return b, "set 2, element 0 covers shared vertex .* more than once"
    if name == "full_with_missing_vertex":
        b.vertex_index = b.vertex_index.clone()
        b.vertex_index[1] = 0
        return b, "set 0, element 0 covers shared vertex 0 more than once"
    if name == "element_set_mismatch":
        b.num_elements = torch.tensor([2, 3, 3])
        return b, "'element_set' must list the elements"
    if name == "unknown_coverage":
        b.coverage = ["full", "pooled", "bag"]
        return b, "unknown coverage 'bag'"
    if name == "float_index":
        b.vertex_index = b.vertex_index.float()
        return b, "'vertex_index' must be a long tensor"
    raise AssertionError(name)


BREAKS = ["edge_across_elements", "edge_out_of_range", "vertex_of_other_set",
          "shared_edge_across_sets", "element_index_unsorted", "element_index_out_of_range",
          "vertex_twice_in_element", "full_with_missing_vertex", "element_set_mismatch",
          "unknown_coverage", "float_index"]


@pytest.mark.parametrize("name", BREAKS)
def test_validate_names_what_is_wrong(name):
    batch, message = _break(name)
    with pytest.raises(ValueError, match=message):
        batch.validate()
    with pytest.warns(UserWarning):
        assert batch.validate(raise_on_error=False) is False


def test_validate_single_set_names_element():
    torch.manual_seed(0)
    s = partial_set(5, [3, 4], edge_attr=False)
    s.shared_edge_attr = torch.randn(s.shared_edge_index.size(1) + 1, 2)
    with pytest.raises(ValueError, match="'shared_edge_attr' has .* rows but there are"):
        s.validate()
    s = corresponded_set(2, 4)
    s.vertex_index = torch.tensor([0, 1, 2, 3, 0, 1, 2, 4])
    with pytest.raises(ValueError, match=r"^Invalid SetData: element 1: node 7 has "
                                         r"vertex_index 4, outside"):
        s.validate()


def test_fixed_points_on_corresponded_set_is_refused():
    """The reported case: T.FixedPoints(100) on 7 frames of a 452-vertex mesh
    leaves elements of different sizes on random vertices and a stale
    num_vertices; on main the model ran on it silently."""
    torch.manual_seed(0)
    edge_index = random_graph(452, p=0.01)
    for edges in (None, edge_index):
        frames = [Data(x=torch.randn(452, 3), pos=torch.randn(452, 3)) for _ in range(7)]
        if edges is not None:
            for f in frames:
                f.edge_index = edges
        broken = [T.FixedPoints(100)(SetData.from_elements(frames, corresponded=True))
                  for _ in range(2)]
        sizes = torch.bincount(broken[0].element_index, minlength=7)
        assert sizes.sum() == 100 and sizes.max() < 100 and broken[0].num_vertices == 452
        with pytest.raises(ValueError, match="corresponded set|larger indices"):
            broken[0].validate()
        with pytest.raises(ValueError, match="SubsampleVertices"):
            collate(broken)


def test_stock_fixed_points_on_uncorresponded_graphs_is_refused_at_collation():
    torch.manual_seed(0)
    broken = T.FixedPoints(5)(uncorresponded_set([6, 9, 7]))
    with pytest.raises(ValueError, match="'edge_index' refers to node .* the set has 5 nodes"):
        collate([broken, uncorresponded_set([3])])
    with pytest.warns(UserWarning):
        assert broken.validate(raise_on_error=False) is False


def test_from_elements_rejects_out_of_range_edges():
    """On main an out-of-range edge_index in an uncorresponded set silently
    became an edge into the next element (element 0's edits changed element
    1's output)."""
    elements = [Data(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 1], [1, 4]])),
                Data(x=torch.randn(4, 2), edge_index=torch.tensor([[0, 1], [1, 0]]))]
    with pytest.raises(ValueError, match=r"Element 0: edge 1 of 'edge_index' refers to node 4, "
                                         r"but there are 3 nodes .* another element"):
        SetData.from_elements(elements, corresponded=False)
    elements[0].edge_index = torch.tensor([[0, -1], [1, 0]])
    with pytest.raises(ValueError, match="Element 0: edge 1 of 'edge_index' refers to node -1"):
        SetData.from_elements(elements, corresponded=False)


@pytest.mark.parametrize("element, message", [
    (Data(x=torch.randn(3, 2), edge_index=torch.tensor([[0], [1]], dtype=torch.int32)),
     r"Element 0: 'edge_index' must be a long tensor of shape \[2, E\]"),
    (Data(x=torch.randn(3, 2), edge_index=torch.tensor([0, 1])),
     r"Element 0: 'edge_index' must be a long tensor of shape \[2, E\], got \(2,\)"),
    (Data(x=torch.randn(3, 2), edge_index=torch.tensor([[0], [1]]), edge_attr=torch.randn(2, 1)),
     r"Element 0: 'edge_attr' has shape \(2, 1\) but needs 1 rows \(one per edge\)"),
    (Data(x=torch.randn(3, 2), pos=torch.randn(4, 3)),
     r"Element 0: 'pos' has shape \(4, 3\) but needs 3 rows"),
    (Data(x=torch.randn(3, 2), element_index=torch.zeros(3, dtype=torch.long)),
     r"Element 0 has attributes \['element_index'\] that SetData sets itself"),
])
def test_from_elements_checks_each_element(element, message):
    with pytest.raises(ValueError, match=message):
        SetData.from_elements([element], corresponded=False)


def _broken_set(name):
    """One set that from_elements built and a careless edit then broke; the
    message validate() gives for it."""
    torch.manual_seed(0)
    if name == "unsorted_element_index":
        s = uncorresponded_set([3, 4])
        s.element_index = s.element_index.flip(0)
        del s.edge_index
        return s, "not sorted"
    if name == "vertex_twice_in_element":
        s = partial_set(6, [3, 3], edge_attr=False)
        s.vertex_index = s.vertex_index.clone()
        s.vertex_index[1] = s.vertex_index[0]
        return s, "covers shared vertex .* more than once"
    if name == "edge_across_elements":
        s = uncorresponded_set([3, 4])
        s.edge_index = torch.cat([s.edge_index, torch.tensor([[0], [5]])], dim=1)
        return s, "edge .* joins element 0 to element 1"
    if name == "element_without_nodes":  # element 1 of 3 lost its nodes
        s = uncorresponded_set([2, 3, 2])
        keep = s.element_index != 1
        s.x, s.pos = s.x[keep], s.pos[keep]
        s.element_index = torch.tensor([0, 0, 2, 2])
        s.vertex_index = torch.zeros(4, dtype=torch.long)
        s.edge_index = torch.empty(2, 0, dtype=torch.long)
        s.num_nodes = 4
        return s, "element 1 has no nodes"
    raise AssertionError(name)


STRUCTURE_BREAKS = ["unsorted_element_index", "vertex_twice_in_element",
                    "edge_across_elements", "element_without_nodes"]


@pytest.mark.parametrize("name", STRUCTURE_BREAKS)
def test_loader_and_layers_refuse_what_validate_names(name):
    """Collation and the layers' general path refuse, with validate()'s own
    message, the sets validate() rejects (before, they ran and scored
    garbage)."""
    from pyg_dss.loader import SetDataLoader
    from pyg_dss.nn import DSSConv
    from torch_geometric.loader import DataLoader
    from torch_geometric.nn import GraphConv

    s, message = _broken_set(name)
    with pytest.raises(ValueError, match=message):
        s.validate()
    for Loader in (DataLoader, SetDataLoader):
        with pytest.raises(ValueError, match=f"^Invalid SetData: .*{message}"):
            next(iter(Loader([s, s], batch_size=2)))
    conv = DSSConv(GraphConv(3, 4), GraphConv(3, 4))
    edge_index = s.edge_index if s.get("edge_index") is not None else torch.empty(
        2, 0, dtype=torch.long)
    with pytest.raises(ValueError, match=f"^Invalid SetData: .*{message}"):
        conv(s.x, edge_index, s)


def test_validate_memory_does_not_grow_with_elements_times_vertices():
    """A batch of many small elements on a large shared domain: the check of
    repeated vertices is O(N) (was a bincount over elements x vertices)."""
    num_vertices, elements = 200_000, 2_000
    # three consecutive shared vertices per element, anywhere in the domain
    vertex_index = (torch.randint(0, num_vertices - 3, (elements, 1)) + torch.arange(3)).view(-1)
    s = SetData(x=torch.randn(3 * elements, 1),
                element_index=torch.arange(elements).repeat_interleave(3),
                vertex_index=vertex_index, element_set=torch.zeros(elements, dtype=torch.long),
                shared_edge_index=torch.empty(2, 0, dtype=torch.long),
                num_elements=elements, num_vertices=num_vertices, coverage="partial")
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        assert s.validate()
    peak = max(e.cpu_memory_usage for e in prof.key_averages())
    assert peak < 50 * 2**20, peak  # elements x vertices would be 3.2 GB
