r"""SR25: the 15 strongly regular graphs with parameters (25, 12, 5, 6),
pairwise non-isomorphic and indistinguishable by 3-WL (Balcilar et al.,
*Breaking the Limits of Message Passing Graph Neural Networks*, ICML 2021).
Each graph is its own class; a model is as expressive as the number of graphs
it tells apart."""
from __future__ import annotations

from typing import Iterator, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import coalesce

from pyg_dss.datasets.user_files import UserFilesDataset

__all__ = ["SR25", "SR25_URL", "parse_graph6"]

#: Where ``sr251256.g6`` is published (also as ``sr25.g6`` in Brendan
#: McKay's collection, users.cecs.anu.edu.au/~bdm/data/graphs.html).
SR25_URL = "https://github.com/balcilar/gnn-matlang/tree/main/dataset/SR25/raw"


def parse_graph6(line: bytes) -> Tuple[Tensor, int]:
    r"""The undirected edges (both directions) and the number of nodes of one
    graph in graph6 format (B. McKay): the size :math:`N(n)`, then the upper
    triangle of the adjacency matrix column by column, six bits per byte,
    every byte offset by 63."""
    line = line.strip()
    if line.startswith(b">>graph6<<"):
        line = line[len(b">>graph6<<"):]
    values = [c - 63 for c in line]
    if not values or any(not 0 <= v < 64 for v in values):
        raise ValueError(f"Not a graph6 line: {line[:40]!r}.")
    if values[0] < 63:
        n, rest = values[0], values[1:]
    elif len(values) > 3 and values[1] < 63:
        n, rest = (values[1] << 12) | (values[2] << 6) | values[3], values[4:]
    else:
        raise ValueError("graph6 graphs above 258047 nodes are not read.")
    bits = [(v >> (5 - k)) & 1 for v in rest for k in range(6)]
    pairs = [(i, j) for j in range(1, n) for i in range(j)]
    if len(bits) < len(pairs) or len(bits) - len(pairs) >= 6:
        raise ValueError(f"graph6 line of {n} nodes has {len(rest)} data bytes, expected "
                         f"{(len(pairs) + 5) // 6}.")
    edges = [p for p, bit in zip(pairs, bits[:len(pairs)], strict=True) if bit]
    ei = torch.tensor(edges, dtype=torch.long).t().view(2, -1)
    return coalesce(torch.cat([ei, ei.flip(0)], 1), num_nodes=n), n


class SR25(UserFilesDataset):
    r"""The SR25 graphs from the user's ``raw/sr251256.g6`` (graph6, one graph
    a line): 15 graphs of 25 nodes, ``x = 1`` [25, 1], ``y`` = the graph's
    index (15 classes).  Train and test on all graphs: the task is to tell
    them apart.

    Args:
        root: folder with ``raw/sr251256.g6``.
        transform, pre_transform, pre_filter: as in PyG.
        force_reload: rebuild the cache.
    """
    raw_file_names = ["sr251256.g6"]
    processed_file_names = "sr25.pt"
    url = SR25_URL

    def read_graphs(self) -> Iterator[Data]:
        with open(self.raw_paths[0], "rb") as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
        if not lines:
            raise ValueError(f"'{self.raw_paths[0]}' holds no graph6 lines.")
        for label, line in enumerate(lines):
            try:
                edge_index, n = parse_graph6(line)
            except ValueError as e:
                raise ValueError(f"'{self.raw_paths[0]}' line {label + 1}: {e}") from None
            yield Data(x=torch.ones(n, 1), edge_index=edge_index, y=torch.tensor([label]),
                       num_nodes=n)

    @property
    def num_classes(self) -> int:
        return int(self.y.max()) + 1
