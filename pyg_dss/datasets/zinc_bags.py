r"""ZINC (Irwin et al. 2012; the 12k-graph subset of Dwivedi et al.) through
PyG's own :class:`~torch_geometric.datasets.ZINC` loader, every molecule
stored as its bag of subgraphs."""
from __future__ import annotations

import os.path as osp
from typing import Callable, Optional
from urllib.error import URLError

from torch_geometric.datasets import ZINC

__all__ = ["ZINCBags"]


class ZINCBags(ZINC):
    r"""PyG's :class:`~torch_geometric.datasets.ZINC` with :obj:`bag` (a
    :class:`~pyg_dss.transforms.SubgraphBag`, or a composition that starts
    with one) as its ``pre_transform``.  The raw files are shared with plain
    ``ZINC(root)``; the processed bags get one folder per bag transform,
    ``root/subset/processed-<bag>``, so bags of different policies never
    overwrite each other.  Node features ``x`` are atom types [N, 1], edge
    features ``edge_attr`` bond types [E]; ``y`` is the constrained
    solubility (regression).

    Args:
        root: folder of the raw and processed files (PyG downloads the raw
            files on first use).
        bag: the transform that turns every molecule into its bag.
        subset: the 12k-graph subset (``True``, as ESAN) or all 250k graphs.
        split: ``"train"``, ``"val"`` or ``"test"``.
        transform: applied to every bag when it is read (e.g.
            :class:`~pyg_dss.transforms.SampleSubgraphs`).
        force_reload: rebuild the processed bags.
    """
    def __init__(self, root: str, bag: Callable, subset: bool = True, split: str = "train",
                 transform: Optional[Callable] = None, force_reload: bool = False) -> None:
        self.bag = bag
        super().__init__(root, subset=subset, split=split, transform=transform,
                         pre_transform=bag, force_reload=force_reload)

    @property
    def processed_dir(self) -> str:
        # The bag's repr names its policy and options: one cache per bag.
        tag = "".join(repr(self.bag).split()).replace("'", "")
        return osp.join(self.root, "subset" if self.subset else "full", f"processed-{tag}")

    def download(self) -> None:
        try:
            super().download()
        except URLError as e:
            raise FileNotFoundError(
                f"ZINC could not be downloaded into '{osp.abspath(self.root)}' ({e.reason}); "
                "connect to the internet once, or copy ZINC's raw files there.") from None
