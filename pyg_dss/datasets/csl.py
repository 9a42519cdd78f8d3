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

from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.utils import coalesce

from pyg_dss.datasets.user_files import UserFilesDataset
from pyg_dss.datasets.restricted_pickle import (SCIPY_GLOBALS, PickledObject, UnsafePickleError,
                                                restricted_load)
from pyg_dss.io import safe_torch_load

__all__ = ["CSL", "CSLRelease", "SKIP_LENGTHS", "NUM_NODES", "circulant_graph",
           "stratified_folds"]

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


def stratified_folds(y: Tensor, num_folds: int, seed: int = 0) -> List[Tuple[Tensor, Tensor]]:
    r"""Stratified ``num_folds``-fold cross-validation over the labels ``y``:
    a list of ``(train_index, test_index)``, every class split evenly over the
    test folds, the graphs of a class shuffled by ``seed``."""
    y = y.view(-1)
    g = torch.Generator().manual_seed(seed)
    fold_of = torch.empty_like(y)
    for label in torch.unique(y).tolist():
        members = (y == label).nonzero().view(-1)
        members = members[torch.randperm(members.numel(), generator=g)]
        fold_of[members] = torch.arange(members.numel()) % num_folds
    return [((fold_of != k).nonzero().view(-1), (fold_of == k).nonzero().view(-1))
            for k in range(num_folds)]


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
        return stratified_folds(self.y, num_folds, seed)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({len(self)}, classes={self.num_classes})"


#: Where the original CSL files are published (the release used by PyG's
#: ``GNNBenchmarkDataset`` and by ESAN).
CSL_RELEASE_URL = "https://www.dropbox.com/s/rnbkp5ubgk82ocu/CSL.zip?dl=1"


class CSLRelease(UserFilesDataset):
    r"""The original CSL release of Murphy et al. (2019): the same 150 graphs
    as :class:`CSL` but the published node labelling, read from the files a
    user downloaded: ``graphs_Kary_Deterministic_Graphs.pkl`` (a pickled list
    of SciPy ``coo_matrix`` adjacency matrices, read with a restricted
    unpickler: no code in the file runs) and ``y_Kary_Deterministic_Graphs.pt``
    (the labels, read with ``weights_only=True``).  Graphs get ``x = 1``
    [41, 1] as :class:`CSL`; :meth:`folds` is the same stratified 5-fold split.

    Args:
        root: folder with ``raw/`` holding the two files.
        transform, pre_transform, pre_filter: as in PyG.
        force_reload: rebuild the cache.
    """
    raw_file_names = ["graphs_Kary_Deterministic_Graphs.pkl", "y_Kary_Deterministic_Graphs.pt"]
    processed_file_names = "csl_release.pt"
    url = CSL_RELEASE_URL
    how_to_get = "download {url} and unzip both files there"

    def read_graphs(self) -> Iterator[Data]:
        matrices = restricted_load(self.raw_paths[0], SCIPY_GLOBALS)
        labels = safe_torch_load(self.raw_paths[1])
        if not isinstance(matrices, list) or not isinstance(labels, Tensor) \
                or labels.numel() != len(matrices):
            raise ValueError(f"'{self.raw_paths[0]}' must hold a list of adjacency matrices "
                             f"and '{self.raw_paths[1]}' one label per matrix.")
        for i, (matrix, label) in enumerate(zip(matrices, labels.view(-1).tolist(), strict=True)):
            row, col, n = _coo_entries(matrix, f"{self.raw_paths[0]} [{i}]")
            yield Data(x=torch.ones(n, 1), edge_index=coalesce(torch.stack([row, col]),
                                                              num_nodes=n),
                       y=torch.tensor([int(label)]), num_nodes=n)

    @property
    def num_classes(self) -> int:
        return len(SKIP_LENGTHS)

    def folds(self, num_folds: int = 5, seed: int = 0) -> List[Tuple[Tensor, Tensor]]:
        """Stratified cross-validation, as :meth:`CSL.folds`."""
        return stratified_folds(self.y, num_folds, seed)


def _coo_entries(matrix: Any, where: str) -> Tuple[Tensor, Tensor, int]:
    """Rows, columns and size of a pickled SciPy ``coo_matrix`` (state of
    2019's SciPy, ``row`` / ``col``, or of today's, ``coords``)."""
    if not isinstance(matrix, PickledObject) or not matrix.cls.endswith("coo_matrix"):
        raise UnsafePickleError(f"{where} is not a SciPy coo_matrix.")
    state: Dict[str, Any] = matrix.state
    coords = state.get("coords", (state.get("row"), state.get("col")))
    shape = state.get("_shape")
    if len(coords) != 2 or any(not hasattr(c, "dtype") for c in coords) or shape is None \
            or len(shape) != 2 or shape[0] != shape[1]:
        raise UnsafePickleError(f"{where}: a coo_matrix without square '_shape' and row / "
                                "column index arrays.")
    row, col = (torch.as_tensor(c.astype("int64")) for c in coords)
    n = int(shape[0])
    if row.numel() and (int(row.min()) < 0 or int(max(row.max(), col.max())) >= n):
        raise ValueError(f"{where}: indices outside the {n} x {n} matrix.")
    return row, col, n
