r"""The Circular Skip Links dataset (CSL) of Murphy, Srinivasan, Rao & Ribeiro,
*Relational Pooling for Graph Representations* (ICML 2019), generated here
exactly as defined: no download.

Every graph is a circulant graph :math:`C_{41}(1, R)`: 41 nodes on a cycle
(:math:`i \sim i + 1 \bmod 41`) with skip links :math:`i \sim i + R \bmod 41`,
one class per skip length :math:`R \in \{2, 3, 4, 5, 6, 9, 11, 12, 13, 16\}`,
15 graphs per class with their nodes randomly relabelled: 150 graphs.  All
are 4-regular, so 1-WL, and any message-passing GNN on constant node
features, cannot tell the classes apart: it stays at chance (10 %).
"""
from __future__ import annotations

from typing import Callable, List, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.utils import coalesce

#: Skip lengths, one class each (Murphy et al. 2019).
SKIP_LENGTHS = (2, 3, 4, 5, 6, 9, 11, 12, 13, 16)
NUM_NODES = 41


def circulant_graph(skip: int, num_nodes: int = NUM_NODES) -> Tensor:
    r"""The undirected edges (both directions, sorted) of
    :math:`C_{n}(1, \mathrm{skip})`."""
    i = torch.arange(num_nodes)
    src = torch.cat([i, i, (i + 1) % num_nodes, (i + skip) % num_nodes])
    dst = torch.cat([(i + 1) % num_nodes, (i + skip) % num_nodes, i, i])
    return coalesce(torch.stack([src, dst]), num_nodes=num_nodes)


class CSL(InMemoryDataset):
    r"""The CSL dataset (Murphy et al., ICML 2019): 150 circulant graphs
    :math:`C_{41}(1, R)`, 10 classes (``y`` = the index of :math:`R` in
    :data:`SKIP_LENGTHS`), each graph with random node ids and constant node
    features ``x = 1`` [41, 1].  Built in memory in milliseconds (no files);
    a ``pre_transform`` (e.g. :class:`~pyg_dss.transforms.SubgraphBag`) is
    applied once, when the dataset is built.

    Evaluate with :meth:`folds`: the usual stratified 5-fold cross-validation
    (Murphy et al.; ESAN, Bevilacqua et al. 2022), 120 training and 30 test
    graphs per fold.

    Args:
        transform: applied at every access (as in PyG).
        pre_transform: applied once to every graph.
        graphs_per_class: 15 in the definition.
        seed: seed of the node relabelling.
    """
    def __init__(self, transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None, graphs_per_class: int = 15,
                 seed: int = 0) -> None:
        if graphs_per_class < 1:
            raise ValueError(f"graphs_per_class must be >= 1, got {graphs_per_class}.")
        super().__init__(None, transform)
        self.graphs_per_class, self.seed = graphs_per_class, seed
        self.pre_transform = pre_transform
        g = torch.Generator().manual_seed(seed)
        data_list = []
        for label, skip in enumerate(SKIP_LENGTHS):
            edge_index = circulant_graph(skip)
            for _ in range(graphs_per_class):
                perm = torch.randperm(NUM_NODES, generator=g)  # new id of every node
                data = Data(x=torch.ones(NUM_NODES, 1),
                            edge_index=coalesce(perm[edge_index], num_nodes=NUM_NODES),
                            y=torch.tensor([label]), num_nodes=NUM_NODES)
                data_list.append(pre_transform(data) if pre_transform is not None else data)
        self.data, self.slices = self.collate(data_list)

    @property
    def num_classes(self) -> int:
        return len(SKIP_LENGTHS)

    def folds(self, num_folds: int = 5, seed: int = 0) -> List[Tuple[Tensor, Tensor]]:
        r"""Stratified ``num_folds``-fold cross-validation: a list of
        ``(train_index, test_index)``, every class split evenly over the test
        folds, the graphs of a class shuffled by ``seed``."""
        if not 2 <= num_folds <= self.graphs_per_class:
            raise ValueError(f"num_folds must be between 2 and graphs_per_class "
                             f"({self.graphs_per_class}), got {num_folds}.")
        y = self.y.view(-1)
        g = torch.Generator().manual_seed(seed)
        fold_of = torch.empty_like(y)
        for label in range(self.num_classes):
            members = (y == label).nonzero().view(-1)
            members = members[torch.randperm(members.numel(), generator=g)]
            fold_of[members] = torch.arange(members.numel()) % num_folds
        return [((fold_of != k).nonzero().view(-1), (fold_of == k).nonzero().view(-1))
                for k in range(num_folds)]

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({len(self)}, classes={self.num_classes})"
