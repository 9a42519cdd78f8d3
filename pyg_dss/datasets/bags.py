r"""Bags of subgraphs at dataset scale: every graph of a dataset turned into
its bag (:class:`~pyg_dss.transforms.SubgraphBag`) once, in parallel, and
cached like every other pyg-dss dataset.

Two ways to feed bags to a model:

* stored: ``SubgraphBags(root, graphs, SubgraphBag(...), num_workers=8)``
  builds every bag once (one process per worker) into ``root/processed``,
  keyed by the bag's policy and options, the transform's code and a digest of
  the source graphs (:class:`~pyg_dss.datasets.CachedInMemoryDataset`); a
  later run with the same inputs only loads it;
* on the fly: ``ZINC(root, transform=SubgraphBag(...))`` builds each bag when
  the loader asks for it, for datasets whose bags are too large to store (a
  bag holds about as many nodes as its graph squared).
"""
from __future__ import annotations

import hashlib
import multiprocessing
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.data.collate import collate
from torch_geometric.data.separate import separate

from ..data import SetData
from ..transforms.subgraph_bag import SubgraphBag
from .base import CachedInMemoryDataset

__all__ = ["SubgraphBags"]

# The graphs of the build in progress, read by forked workers (never pickled).
_SOURCE: Sequence[Data] = ()
_BAG: Optional[SubgraphBag] = None


class SubgraphBags(CachedInMemoryDataset):
    r"""The bag of subgraphs of every graph of :obj:`graphs`, built once with
    :obj:`num_workers` processes and cached in ``root/processed``.

    The cache is rebuilt when the bag's policy or options, the
    :class:`~pyg_dss.transforms.SubgraphBag` code or the source graphs (a
    SHA-256 of all their tensors) change; :attr:`cache_status` says which.
    For datasets whose bags do not fit on disk, skip this class and build bags
    on the fly: ``dataset.transform = SubgraphBag(...)``.

    Args:
        root: folder of the cache (``root/processed/bags.pt``).
        graphs: the source graphs (a PyG dataset or a list of :class:`Data`).
        bag: the :class:`~pyg_dss.transforms.SubgraphBag` applied to each.
        num_workers: processes building bags (default: every core;
            ``0`` builds in this process).
        transform: applied to every bag when it is read (e.g.
            :class:`~pyg_dss.transforms.SampleSubgraphs`).
        force_reload: rebuild even if the cache matches.
    """
    cache_version = 1

    def __init__(self, root: str, graphs: Sequence[Data], bag: SubgraphBag,
                 num_workers: Optional[int] = None,
                 transform: Optional[Callable[[Any], Any]] = None,
                 force_reload: bool = False) -> None:
        if not isinstance(bag, SubgraphBag):
            raise TypeError(f"bag must be a SubgraphBag, got {type(bag).__name__}; e.g. "
                            "SubgraphBag('ego_nets_plus', num_hops=3).")
        if len(graphs) == 0:
            raise ValueError("SubgraphBags needs at least one source graph; got none.")
        if num_workers is not None and num_workers < 0:
            raise ValueError(f"num_workers must be >= 0 (0: build in this process), got "
                             f"{num_workers}.")
        self.graphs, self.bag = graphs, bag
        self.num_workers = (os.cpu_count() or 1) if num_workers is None else num_workers
        super().__init__(root, transform, pre_transform=bag, force_reload=force_reload)
        self.load(self.processed_paths[0], SetData)

    raw_file_names: List[str] = []
    processed_file_names = "bags.pt"

    def cache_options(self) -> Dict[str, Any]:
        return {"policy": self.bag.policy, "num_hops": self.bag.num_hops,
                "keep_all_nodes": self.bag.keep_all_nodes}

    def raw_identity(self) -> List[Any]:
        return [["graphs", len(self.graphs), 0, source_digest(self.graphs)]]

    def process(self) -> None:
        self.save(build_bags(self.graphs, self.bag, self.num_workers), self.processed_paths[0])


def source_digest(graphs: Sequence[Data]) -> str:
    """SHA-256 of every tensor of the graphs (their collated storage)."""
    if isinstance(graphs, InMemoryDataset) and graphs._indices is None:
        data, slices = graphs._data, graphs.slices
    else:
        data, slices = InMemoryDataset.collate(list(graphs))
    h = hashlib.sha256()
    for store in (data.to_dict(), slices):
        for key in sorted(store):
            value = store[key]
            h.update(key.encode())
            if isinstance(value, torch.Tensor):
                h.update(str((value.dtype, tuple(value.shape))).encode())
                h.update(value.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes())
            else:
                h.update(repr(value).encode())
    return h.hexdigest()


def _build_chunk(bounds: Tuple[int, int]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """In a worker: the bags of graphs ``start..stop``, collated (a few large
    tensors travel back instead of one per bag)."""
    assert _BAG is not None
    torch.set_num_threads(1)
    bags = [_BAG(_SOURCE[i]) for i in range(*bounds)]
    data, slices, _ = collate(SetData, bags, increment=False, add_batch=False)
    return data.to_dict(), slices


def build_bags(graphs: Sequence[Data], bag: SubgraphBag, num_workers: int) -> List[SetData]:
    """Every graph's bag, in order, built by ``num_workers`` forked processes
    (in this process for 0, one worker, or where fork is unavailable)."""
    global _SOURCE, _BAG
    n = len(graphs)
    if num_workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return [bag(graphs[i]) for i in range(n)]
    chunk = max(1, min(512, -(-n // (4 * num_workers))))
    bounds = [(s, min(n, s + chunk)) for s in range(0, n, chunk)]
    _SOURCE, _BAG = graphs, bag
    try:
        with multiprocessing.get_context("fork").Pool(num_workers) as pool:
            parts = pool.map(_build_chunk, bounds)
    finally:
        _SOURCE, _BAG = (), None
    out: List[SetData] = []
    for (start, stop), (store, slices) in zip(bounds, parts, strict=True):
        data = SetData.from_dict(store)
        out += [separate(SetData, data, i, slices, decrement=False) for i in range(stop - start)]
    return out
