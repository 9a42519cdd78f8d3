"""Random sets for the tests: corresponded (frames of one graph) and
uncorresponded (elements of different sizes), batched with variable n."""
from __future__ import annotations

from typing import List

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader
from torch_geometric.utils import erdos_renyi_graph, to_undirected

from pyg_dss.data import SetData


def random_graph(num_nodes: int, p: float = 0.4) -> torch.Tensor:
    return to_undirected(erdos_renyi_graph(num_nodes, p), num_nodes=num_nodes)


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
