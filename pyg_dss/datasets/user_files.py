r"""Cached datasets of graphs read from files the user downloads (their
licences or hosts keep them from being fetched here): how they are built and
what they say when a file is missing, in one place."""
from __future__ import annotations

import os
from typing import Callable, Iterator, Optional

from torch_geometric.data import Data

from pyg_dss.datasets.base import CachedInMemoryDataset

__all__ = ["UserFilesDataset"]


class UserFilesDataset(CachedInMemoryDataset):
    r"""A :class:`~pyg_dss.datasets.CachedInMemoryDataset` of graphs read from
    files the user put into ``<root>/raw`` (nothing is downloaded).  A
    subclass names ``raw_file_names``, ``processed_file_names`` and
    :attr:`url`, and yields the graphs in :meth:`read_graphs`; ``pre_filter``
    and ``pre_transform`` are applied here, as in PyG.

    Args:
        root: folder whose ``raw/`` holds the files.
        transform, pre_transform, pre_filter: as in PyG.
        force_reload: rebuild the cache.
    """
    #: Where the files are published.
    url: str = ""
    #: What to do with what :attr:`url` gives, said when a file is missing.
    how_to_get: str = "download it from {url}"

    def __init__(self, root: str, transform: Optional[Callable] = None,
                 pre_transform: Optional[Callable] = None,
                 pre_filter: Optional[Callable] = None, force_reload: bool = False) -> None:
        super().__init__(root, transform, pre_transform, pre_filter, force_reload=force_reload)
        self.load(self.processed_paths[0])

    def download(self) -> None:
        missing = [f for f in self.raw_file_names
                   if not os.path.isfile(os.path.join(self.raw_dir, f))]
        raise FileNotFoundError(f"{type(self).__name__} needs {', '.join(missing)} in "
                                f"'{os.path.abspath(self.raw_dir)}'; "
                                f"{self.how_to_get.format(url=self.url)}.")

    def read_graphs(self) -> Iterator[Data]:
        """The graphs of the raw files, in file order."""
        raise NotImplementedError

    def process(self) -> None:
        data_list = [self.pre_transform(data) if self.pre_transform is not None else data
                     for data in self.read_graphs()
                     if self.pre_filter is None or self.pre_filter(data)]
        self.save(data_list, self.processed_paths[0])
