r"""EXP (Abboud, Ceylan, Grohe & Lukasiewicz, *The Surprising Power of Graph
Neural Networks with Random Node Initialization*, IJCAI 2021): 600 pairs of
planar graphs encoding SAT formulas, the graphs of a pair 1-WL-indistinguishable,
one satisfiable (label 1) and one not (label 0)."""
from __future__ import annotations

from typing import Iterator, List, Tuple

import torch
from torch import Tensor
from torch_geometric.data import Data

from pyg_dss.datasets.csl import stratified_folds
from pyg_dss.datasets.restricted_pickle import (TORCH_GLOBALS, PickledObject, UnsafePickleError,
                                                restricted_load)
from pyg_dss.datasets.user_files import UserFilesDataset

__all__ = ["EXP", "EXP_URL"]

#: Where ``GRAPHSAT.pkl`` is published (also in ESAN's repository, Data/EXP/raw).
EXP_URL = "https://github.com/ralphabb/GNN-RNI/tree/main/Data/EXP/raw"


class EXP(UserFilesDataset):
    r"""The EXP dataset from the user's ``raw/GRAPHSAT.pkl``: 1200 graphs with
    node features ``x`` (float [N, 1], the literal / clause marks of the
    file), ``edge_index`` and a binary label ``y`` [1].  The file is a pickle
    of PyG ``Data`` objects of 2020: it is read with a restricted unpickler
    that resolves only tensors and ``Data`` (no code in the file runs;
    anything else is refused with
    :class:`~pyg_dss.datasets.restricted_pickle.UnsafePickleError`).

    Evaluate with :meth:`folds` (ESAN: stratified 10-fold cross-validation).

    Args:
        root: folder with ``raw/GRAPHSAT.pkl``.
        transform, pre_transform, pre_filter: as in PyG.
        force_reload: rebuild the cache.
    """
    raw_file_names = ["GRAPHSAT.pkl"]
    processed_file_names = "exp.pt"
    url = EXP_URL

    def read_graphs(self) -> Iterator[Data]:
        path = self.raw_paths[0]
        records = restricted_load(path, TORCH_GLOBALS)
        if not isinstance(records, list) or not records:
            raise UnsafePickleError(f"'{path}' must hold a list of graphs (PyG Data), got "
                                    f"{type(records).__name__}.")
        for i, record in enumerate(records):
            yield _graph(record, f"'{path}' [{i}]")

    @property
    def num_classes(self) -> int:
        return 2

    def folds(self, num_folds: int = 10, seed: int = 0) -> List[Tuple[Tensor, Tensor]]:
        """Stratified ``num_folds``-fold cross-validation (see
        :func:`~pyg_dss.datasets.csl.stratified_folds`)."""
        return stratified_folds(self.y, num_folds, seed)


def _graph(record: object, where: str) -> Data:
    """A PyG ``Data`` record of the file as today's :class:`Data`."""
    if not isinstance(record, PickledObject) or not record.cls.endswith(".Data"):
        raise UnsafePickleError(f"{where} is not a PyG Data object.")
    state = record.state
    x, edge_index, y = state.get("x"), state.get("edge_index"), state.get("y")
    if not (isinstance(x, Tensor) and isinstance(edge_index, Tensor) and isinstance(y, Tensor)):
        raise UnsafePickleError(f"{where} lacks tensors 'x', 'edge_index' and 'y'.")
    n = x.size(0)
    if edge_index.dim() != 2 or edge_index.size(0) != 2 or edge_index.is_floating_point() \
            or (edge_index.numel() and (int(edge_index.min()) < 0
                                        or int(edge_index.max()) >= n)):
        raise ValueError(f"{where}: edge_index is not [2, E] node ids below {n}.")
    x = x.view(n, -1).to(torch.float32)  # as ESAN: float features
    return Data(x=x, edge_index=edge_index.long(), y=y.view(-1)[:1].long(), num_nodes=n)
