"""Random sets for the tests: corresponded (frames of one graph) and
uncorresponded (elements of different sizes), batched with variable n."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.utils import erdos_renyi_graph, to_undirected

from pyg_dss.data import SetData

# The tests mirror the package in folders; a test module imports helpers of
# another one by name (from test_io import Payload), wherever it lives.
for _folder in sorted(p for p in Path(__file__).parent.iterdir()
                      if p.is_dir() and not p.name.startswith((".", "_"))):
    if str(_folder) not in sys.path:
        sys.path.append(str(_folder))


def random_graph(num_nodes: int, p: float = 0.4) -> torch.Tensor:
    return to_undirected(erdos_renyi_graph(num_nodes, p), num_nodes=num_nodes)


def tree_with_chords(n: int, extra: int, g: torch.Generator) -> torch.Tensor:
    """The edges [2, E] (one direction, sorted) of a connected random graph on
    ``n`` nodes: a random tree plus ``extra`` chords, drawn from ``g``."""
    pairs = {(int(torch.randint(0, v, (1, ), generator=g)), v) for v in range(1, n)}
    while len(pairs) < n - 1 + extra:
        u, v = sorted(torch.randint(0, n, (2, ), generator=g).tolist())
        if u != v:
            pairs.add((u, v))
    return torch.tensor(sorted(pairs)).t()


def corresponded_set(n: int, num_vertices: int, channels: int = 3) -> SetData:
    edge_index = random_graph(num_vertices)
    elements = [Data(x=torch.randn(num_vertices, channels), pos=torch.randn(num_vertices, 3),
                     edge_index=edge_index) for _ in range(n)]
    s = SetData.from_elements(elements, corresponded=True)
    s.y = torch.tensor([n - 1])
    return s


def uncorresponded_set(sizes: List[int], channels: int = 3) -> SetData:
    elements = [Data(x=torch.randn(v, channels), pos=torch.randn(v, 3),
                     edge_index=random_graph(v)) for v in sizes]
    s = SetData.from_elements(elements, corresponded=False)
    s.y = torch.tensor([0])
    return s


def collate(sets: List[SetData]) -> SetData:
    return next(iter(DataLoader(sets, batch_size=len(sets))))


@pytest.fixture
def corresponded_batch() -> SetData:
    torch.manual_seed(1)
    return collate([corresponded_set(4, 6), corresponded_set(3, 9), corresponded_set(5, 5)])


@pytest.fixture
def uncorresponded_batch() -> SetData:
    torch.manual_seed(2)
    return collate([uncorresponded_set([4, 7, 3]), uncorresponded_set([5, 2]),
                    uncorresponded_set([6, 6, 3, 4])])


@pytest.fixture(params=["corresponded", "uncorresponded"])
def any_batch(request, corresponded_batch, uncorresponded_batch) -> SetData:
    return corresponded_batch if request.param == "corresponded" else uncorresponded_batch


def partial_set(num_vertices: int, sizes: List[int], channels: int = 3,
                cover_all: bool = True, edge_attr: bool = True) -> SetData:
    """A bag of induced subgraphs of one random graph (coverage "partial"):
    element k holds ``sizes[k]`` random vertices of the shared graph, the
    edges among them (and their features, with ``edge_attr``); with
    ``cover_all`` one more element holds every shared vertex."""
    from torch_geometric.utils import subgraph

    edge_index = random_graph(num_vertices)
    shared = Data(num_nodes=num_vertices, edge_index=edge_index,
                  edge_attr=torch.randn(edge_index.size(1), 2))
    picks = [torch.randperm(num_vertices)[:k] for k in sizes]
    if cover_all:
        picks.append(torch.randperm(num_vertices))
    elements = []
    for vertex_index in picks:
        ei, ea = subgraph(vertex_index, edge_index, shared.edge_attr, relabel_nodes=True,
                          num_nodes=num_vertices)
        elements.append(Data(x=torch.randn(vertex_index.numel(), channels),
                             pos=torch.randn(vertex_index.numel(), 3), edge_index=ei,
                             edge_attr=ea, vertex_index=vertex_index))
    if not edge_attr:
        del shared.edge_attr
        for e in elements:
            del e.edge_attr
    s = SetData.from_elements(elements, corresponded=False, shared=shared)
    s.y = torch.tensor([0])
    return s
