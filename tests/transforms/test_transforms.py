"""Set-aware transforms: one draw per set, per element on request, subsampling
that keeps corresponded sets corresponded; wrong uses raise."""
import random

import pytest
import torch
import torch_geometric.transforms as T
from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import subgraph

from conftest import collate, partial_set, random_graph, uncorresponded_set
from pyg_dss.data import SetData
from pyg_dss.nn import DSSNet
from pyg_dss.testing import permute_sets
from pyg_dss.transforms import SetTransform, SubsampleVertices


def frames(n=4, V=12, edges=True):
    torch.manual_seed(0)
    edge_index = random_graph(V)
    elements = []
    for t in range(n):
        pos = torch.randn(V, 3)
        e = Data(x=pos.clone(), pos=pos, time=t)
        if edges:
            e.edge_index = edge_index
            e.edge_attr = torch.randn(edge_index.size(1), 2)
        elements.append(e)
    s = SetData.from_elements(elements, corresponded=True)
    s.y = torch.tensor([2])
    return s


def fitted_linear_maps(before, after, element_index):
    """The least-squares linear map of every element's pos, and the residual."""
    maps, residual = [], 0.0
    for k in range(int(element_index.max()) + 1):
        a, b = before[element_index == k], after[element_index == k]
        M = torch.linalg.lstsq(a, b).solution
        maps.append(M)
        residual = max(residual, float((a @ M - b).abs().max()))
    return maps, residual


@pytest.mark.parametrize("per", ["set", "element"])
def test_random_rotation_is_one_draw_per_set(per):
    s = frames()
    random.seed(0)
    out = SetTransform(T.RandomRotate(90, axis=2), per=per)(s)
    maps, residual = fitted_linear_maps(s.pos, out.pos, s.element_index)
    assert residual < 1e-4  # every element rotated rigidly
    for M in maps:
        assert torch.allclose(M.T @ M, torch.eye(3), atol=1e-4)
    spread = max(float((M - maps[0]).abs().max()) for M in maps)
    if per == "set":
        assert spread < 1e-4  # the same rotation for every frame
    else:
        assert spread > 1e-2  # a draw per element, on request
    assert torch.equal(out.x, s.x)  # geometric transforms move pos, never x
    assert out.y.tolist() == [2] and out.validate()


def test_normalize_scale_per_set_keeps_elements_relative_positions():
    s = frames(edges=False)
    s.pos = s.pos + torch.arange(4).repeat_interleave(12).unsqueeze(1).float()
    whole = SetTransform(T.NormalizeScale())(s)
    centre = s.pos.mean(0)
    scale = (s.pos - centre).abs().max()
    assert torch.allclose(whole.pos, (s.pos - centre) / scale * 0.999999, atol=1e-5)
    each = SetTransform(T.NormalizeScale(), per="element")(s)
    for k, e in enumerate(s.to_elements()):
        assert torch.allclose(each.pos[s.element_index == k], T.NormalizeScale()(e).pos)


@pytest.mark.parametrize("transform, per", [
    (T.NormalizeScale(), "set"), (T.RandomScale((0.5, 2.0)), "set"),
    (T.NormalizeScale(), "element"), (T.Compose([T.Center(), T.Distance()]), "set")])
def test_set_transforms_commute_with_reordering_the_set(transform, per):
    s = frames()
    p = permute_sets(s, "set", torch.Generator().manual_seed(3))
    torch.manual_seed(0)
    random.seed(0)
    out = SetTransform(transform, per=per)(s)
    torch.manual_seed(0)
    random.seed(0)
    out_p = SetTransform(transform, per=per)(p.batch)
    perm = p.node_perm
    for key in ("pos", "x"):
        assert torch.allclose(out_p[key], out[key][perm], atol=1e-5), key
    assert torch.equal(out_p.element_index, p.batch.element_index)
    assert torch.equal(out_p.vertex_index, p.batch.vertex_index)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(perm.numel())
    edges, order = sorted_edges(inverse[out.edge_index])
    edges_p, order_p = sorted_edges(out_p.edge_index)
    assert torch.equal(edges, edges_p)
    if "edge_attr" in out:
        assert torch.allclose(out.edge_attr[order], out_p.edge_attr[order_p], atol=1e-5)


def sorted_edges(edge_index):
    order = torch.argsort(edge_index[0] * (int(edge_index.max()) + 1) + edge_index[1])
    return edge_index[:, order], order


def test_per_set_refuses_structure_changes():
    s = frames()
    with pytest.raises(ValueError, match=r"FixedPoints.* changed the nodes of the set .*"
                                         r"SubsampleVertices"):
        SetTransform(T.FixedPoints(5))(s)
    with pytest.raises(ValueError, match="changed 'edge_index' of the set; .*per='element'"):
        SetTransform(T.AddSelfLoops())(s)

    class CompleteGraph(BaseTransform):  # a graph builder that sees one graph: joins elements
        def forward(self, data):
            i = torch.arange(data.num_nodes)
            data.edge_index = torch.stack([i.repeat_interleave(data.num_nodes),
                                           i.repeat(data.num_nodes)])
            return data

    with pytest.raises(ValueError, match="would join elements"):
        SetTransform(CompleteGraph())(s)
    joined = CompleteGraph()(s)  # the stock way: refused when validated
    with pytest.raises(ValueError, match="joins element 0 to element 1"):
        joined.validate()
    with pytest.raises(ValueError, match="per must be one of"):
        SetTransform(T.Center(), per="frame")
    with pytest.raises(ValueError, match="works on a single set, but was given a batch of 2"):
        SetTransform(T.Center())(collate([s, s]))
    with pytest.raises(ValueError, match="expects a pyg_dss SetData"):
        SetTransform(T.Center())(Data(pos=torch.randn(3, 3)))


def test_per_element_subsampling_of_uncorresponded_and_partial_sets():
    torch.manual_seed(0)
    s = uncorresponded_set([6, 9, 7])
    del s.edge_index
    out = SetTransform(T.FixedPoints(4, replace=False), per="element")(s)
    assert out.validate() and out.coverage == "pooled"
    assert torch.bincount(out.element_index).tolist() == [4, 4, 4]
    for e, f in zip(s.to_elements(), out.to_elements(), strict=True):
        rows = (e.x.unsqueeze(0) == f.x.unsqueeze(1)).all(-1).float().argmax(1)
        assert torch.equal(e.pos[rows], f.pos)  # x and pos sampled together
    bag = partial_set(8, [3, 6])
    del bag.edge_index, bag.edge_attr
    out = SetTransform(T.FixedPoints(2, replace=False), per="element")(bag)
    assert out.validate() and out.coverage == "partial"
    for e, f in zip(bag.to_elements(), out.to_elements(), strict=True):
        for v, x in zip(f.vertex_index.tolist(), f.x, strict=True):  # every node kept its vertex
            assert torch.equal(e.x[e.vertex_index.tolist().index(v)], x)
    with pytest.raises(ValueError, match="covers each shared vertex at most once"):
        SetTransform(T.FixedPoints(5, replace=True), per="element")(bag)


def test_per_element_on_corresponded_sets():
    s = frames()
    with pytest.raises(ValueError, match="changed its nodes but not its edges"):
        SetTransform(T.FixedPoints(5, replace=False), per="element")(s)
    points = frames(edges=False)
    with pytest.raises(ValueError, match="kept different vertices.*SubsampleVertices"):
        SetTransform(T.FixedPoints(5, replace=False), per="element")(points)
    with pytest.raises(ValueError, match="repeated nodes of element 0"):
        SetTransform(T.FixedPoints(20, replace=True), per="element")(points)
    # The same nodes dropped in every frame: the domain shrinks to the others.
    V = 8
    edge_index = torch.tensor([[0, 1, 2, 5], [1, 2, 0, 6]])
    elements = [Data(x=torch.randn(V, 3), edge_index=edge_index) for _ in range(3)]
    s = SetData.from_elements(elements, corresponded=True)
    out = SetTransform(T.RemoveIsolatedNodes(), per="element")(s)
    assert out.validate() and out.num_vertices == 5 and out.coverage == "full"
    assert out.shared_edge_index.tolist() == [[0, 1, 2, 3], [1, 2, 0, 4]]
    assert torch.equal(out.x, torch.cat([e.x[[0, 1, 2, 5, 6]] for e in elements]))
    # Edges built per element; the shared domain keeps its graph.
    out = SetTransform(T.AddSelfLoops(attr="edge_attr"), per="element")(frames())
    assert out.validate() and out.edge_index.size(1) == frames().edge_index.size(1) + 4 * 12
    with pytest.raises(ValueError, match=r"AddSelfLoops.*per element, left an invalid element: "
                                         r"Element 0: 'edge_attr' has shape"):
        SetTransform(T.AddSelfLoops(), per="element")(frames())  # stale edge_attr


def test_per_element_refuses_transforms_that_create_nodes():
    def two_new_points(data):
        return Data(x=torch.randn(2, 3), pos=torch.randn(2, 3))

    with pytest.raises(ValueError, match="cannot tell which of the element's nodes it kept"):
        SetTransform(two_new_points, per="element")(frames(edges=False))


def test_subsample_vertices_keeps_the_same_vertices_in_every_element():
    s = frames(n=3, V=40)
    torch.manual_seed(0)
    out = SubsampleVertices(10)(s)
    assert out.validate() and out.num_vertices == 10 and out.num_nodes == 30
    kept = None
    for e, f in zip(s.to_elements(), out.to_elements(), strict=True):
        rows = (e.x.unsqueeze(0) == f.x.unsqueeze(1)).all(-1).float().argmax(1)
        kept = rows if kept is None else kept
        assert torch.equal(rows, kept)  # the same vertices, in every frame
        assert torch.equal(e.pos[rows], f.pos)
        ei, ea = subgraph(rows, e.edge_index, e.edge_attr, relabel_nodes=True, num_nodes=40)
        assert torch.equal(f.edge_index, ei) and torch.equal(f.edge_attr, ea)
    shared, _ = subgraph(kept, s.shared_edge_index, relabel_nodes=True, num_nodes=40)
    assert torch.equal(out.shared_edge_index, shared)
    assert out.time.tolist() == [0, 1, 2] and out.y.tolist() == [2]
    model = DSSNet(3, "gcn", hidden=(8, 8), head_hidden=(8, ))
    assert model(collate([out, SubsampleVertices(10)(s)])).shape == (6, )
    assert SubsampleVertices(40)(s) is not None and SubsampleVertices(50)(s).num_vertices == 40


def test_subsample_vertices_of_the_issue_example():
    """T.FixedPoints(100) on 7 frames of 452 vertices: the set counterpart
    gives 7 elements of the same 100 vertices."""
    torch.manual_seed(0)
    s = SetData.from_elements([Data(x=torch.randn(452, 3), pos=torch.randn(452, 3))
                               for _ in range(7)], corresponded=True)
    out = SubsampleVertices(100)(s)
    assert torch.bincount(out.element_index).tolist() == [100] * 7
    assert out.num_vertices == 100 and out.validate()
    assert collate([out, SubsampleVertices(100)(s)]).validate()


def test_subsample_vertices_commutes_with_reordering_the_set():
    s = frames(n=5, V=30)
    p = permute_sets(s, "set", torch.Generator().manual_seed(1))
    torch.manual_seed(7)
    out = SubsampleVertices(9)(s)
    torch.manual_seed(7)
    out_p = SubsampleVertices(9)(p.batch)
    a, b = out.to_elements(), out_p.to_elements()
    for j, k in enumerate(p.element_perm.tolist()):
        assert torch.equal(b[j].x, a[k].x) and torch.equal(b[j].edge_index, a[k].edge_index)


def test_subsample_vertices_of_partial_set_and_errors():
    torch.manual_seed(0)
    bag = partial_set(9, [4, 6])
    out = SubsampleVertices(5)(bag)
    assert out.validate() and out.num_vertices == 5 and out.coverage == "partial"
    assert out.shared_edge_attr.size(0) == out.shared_edge_index.size(1)
    with pytest.raises(ValueError, match="'pooled'.*per='element'"):
        SubsampleVertices(3)(uncorresponded_set([4, 5]))
    with pytest.raises(ValueError, match="positive integer"):
        SubsampleVertices(0)
