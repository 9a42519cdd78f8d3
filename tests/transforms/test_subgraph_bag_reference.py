"""The vectorised SubgraphBag builds exactly the bags of the subgraph-by-
subgraph definition (kept here, and only here, as the reference): every
field, the order of subgraphs, nodes and edges, and the ego-nets+ marks, on
random graphs of many sizes, with isolated nodes, empty edge sets, self-loops,
duplicate edges, directed and undirected edge lists."""
from typing import Iterator, List, Optional, Tuple

import pytest
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import k_hop_subgraph, to_undirected

from pyg_dss.data import SetData
from pyg_dss.transforms import SubgraphBag


# ----------------------------------------------------------------------------- reference
def reference_subgraphs(t: SubgraphBag, data: Data) -> Iterator[Tuple[Tensor, Tensor,
                                                                      Optional[int]]]:
    """``(nodes held, mask of the original edges kept, root)`` per subgraph."""
    V, edge_index = data.num_nodes, data.edge_index
    every = torch.arange(V)
    all_edges = torch.ones(edge_index.size(1), dtype=torch.bool)
    if t.policy == "original":
        yield every, all_edges, None
    elif t.policy == "node_deleted":
        for v in range(V):
            keep = (edge_index[0] != v) & (edge_index[1] != v)
            yield (every if t.keep_all_nodes else every[every != v]), keep, v
    elif t.policy == "edge_deleted":
        row, col = edge_index
        lo, hi = torch.minimum(row, col), torch.maximum(row, col)
        pairs = torch.unique(torch.stack([lo, hi]), dim=1)
        if pairs.size(1) == 0:
            yield every, all_edges, None
        for u, w in pairs.t().tolist():
            yield every, ~((lo == u) & (hi == w)), None
    else:
        for v in range(V):
            subset, _, _, keep = k_hop_subgraph(v, t.num_hops, edge_index, num_nodes=V)
            yield (every if t.keep_all_nodes else subset), keep, v


def reference_element(data: Data, subset: Tensor, edge_mask: Tensor, root: Optional[int],
                      mark: bool) -> Data:
    local = torch.full((data.num_nodes, ), -1, dtype=torch.long)
    local[subset] = torch.arange(subset.numel())
    element = Data(edge_index=local[data.edge_index[:, edge_mask]], vertex_index=subset,
                   num_nodes=subset.numel())
    for key, value in data.items():
        if key in ("edge_index", "y", "num_nodes"):
            continue
        if data.is_node_attr(key):
            element[key] = value[subset]
        elif data.is_edge_attr(key):
            element[key] = value[edge_mask]
    if mark:
        element.root_mark = (subset == root).long()
    return element


def reference_bag(t: SubgraphBag, data: Data) -> SetData:
    V = data.num_nodes
    mark = t.policy == "ego_nets_plus"
    elements: List[Data] = [reference_element(data, s, m, r, mark)
                            for s, m, r in reference_subgraphs(t, data) if s.numel() > 0]
    if not elements:
        elements = [reference_element(data, torch.arange(V),
                                      torch.ones(data.edge_index.size(1), dtype=torch.bool), 0,
                                      mark)]
    shared = Data(edge_index=data.edge_index, num_nodes=V)
    if data.get("edge_attr") is not None:
        shared.edge_attr = data.edge_attr
    full = all(torch.equal(e.vertex_index, torch.arange(V)) for e in elements)
    bag = SetData.from_elements(elements, corresponded=full, shared=shared)
    for key, value in data.items():
        if key == "y" or not (key == "edge_index" or data.is_node_attr(key)
                              or data.is_edge_attr(key) or key == "num_nodes"):
            bag[key] = value
    return bag


# ----------------------------------------------------------------------------- graphs
def random_graph(g: torch.Generator, V: int, E: int, undirected: bool) -> Data:
    ei = torch.randint(0, V, (2, E), generator=g) if E else torch.empty(2, 0, dtype=torch.long)
    if undirected:
        ei = to_undirected(ei, num_nodes=V)
    elif E:  # keep the raw order, with duplicates and self-loops
        ei = torch.cat([ei, ei[:, :1]], 1)
    return Data(x=torch.randn(V, 3, generator=g), pos=torch.randn(V, 2, generator=g),
                edge_index=ei, edge_attr=torch.randn(ei.size(1), 2, generator=g),
                y=torch.randn(1, generator=g), name="g")


def graphs() -> List[Tuple[str, Data]]:
    g = torch.Generator().manual_seed(0)
    out = []
    for V in (1, 2, 3, 7, 16, 41, 90):
        for density in (0.0, 0.3, 1.0, 3.0):
            for undirected in (True, False):
                out.append((f"V{V}-d{density}-{'u' if undirected else 'd'}",
                            random_graph(g, V, int(density * V), undirected)))
    # Isolated nodes beside a component, a path (long hops), a complete graph.
    path = torch.arange(11)
    out.append(("path", Data(x=torch.randn(12, 1), edge_index=to_undirected(
        torch.stack([path[:-1], path[1:]])), num_nodes=12)))
    full = torch.ones(6, 6).nonzero().t()
    out.append(("complete", Data(x=torch.randn(6, 1), edge_index=full)))
    return out


POLICY_OPTIONS = [("original", 1, True), ("node_deleted", 1, True), ("node_deleted", 1, False),
                  ("edge_deleted", 1, True), ("ego_nets", 1, True), ("ego_nets", 2, False),
                  ("ego_nets_plus", 3, True), ("ego_nets_plus", 3, False),
                  ("ego_nets_plus", 1, False)]


def assert_same_bag(got: SetData, want: SetData) -> None:
    assert sorted(got.keys()) == sorted(want.keys())
    for key in want.keys():
        a, b = got[key], want[key]
        if isinstance(b, Tensor):
            assert isinstance(a, Tensor) and a.dtype == b.dtype, key
            assert torch.equal(a, b), key
        else:
            assert a == b, key


@pytest.mark.parametrize("policy,hops,keep_all", POLICY_OPTIONS)
def test_vectorised_bags_equal_the_reference(policy, hops, keep_all):
    t = SubgraphBag(policy, num_hops=hops, keep_all_nodes=keep_all)
    checked = 0
    for name, data in graphs():
        if policy == "edge_deleted" and not name.endswith("-u") and name.startswith("V"):
            continue  # directed graphs are refused by this policy
        got, want = t(data), reference_bag(t, data)
        assert_same_bag(got, want)
        assert got.validate()
        checked += 1
    assert checked >= 30


def test_index_like_attributes_are_offset_as_pyg_batches_them():
    data = Data(x=torch.randn(4, 1), edge_index=torch.tensor([[0, 1, 2], [1, 2, 3]]),
                node_index=torch.tensor([3, 2, 1, 0]))
    t = SubgraphBag("ego_nets", num_hops=1, keep_all_nodes=False)
    assert_same_bag(t(data), reference_bag(t, data))
