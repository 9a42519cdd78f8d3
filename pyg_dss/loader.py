r"""A :class:`torch_geometric.loader.DataLoader` for sets whose batches carry
their :class:`~pyg_dss.layout.SetLayout`.

The layout (dense or not, which graphs repeat) is found once per batch, in the
loader's worker processes, instead of on every forward; batches that carry it
can run under :func:`torch.compile`.  Everything else is PyG's loader::

    from pyg_dss.loader import SetDataLoader
    loader = SetDataLoader(dataset, batch_size=8, shuffle=True, num_workers=2)
    for batch in loader:
        loss = set_nll_loss(model(batch.to(device)), batch)
"""
from __future__ import annotations

from typing import Any, Callable, List

from torch_geometric.loader import DataLoader

from pyg_dss.layout import with_layout

__all__ = ["SetDataLoader", "LayoutCollater"]


class LayoutCollater:
    """Wraps a collate function so that every batch it makes carries its
    layout (:func:`pyg_dss.layout.with_layout`)."""
    def __init__(self, collate: Callable[[List[Any]], Any]) -> None:
        self.collate = collate

    def __call__(self, data_list: List[Any]) -> Any:
        return with_layout(self.collate(data_list))


class SetDataLoader(DataLoader):
    r"""PyG's :class:`~torch_geometric.loader.DataLoader` for
    :class:`~pyg_dss.data.SetData`, whose batches carry their
    :class:`~pyg_dss.layout.SetLayout` as ``batch.set_layout``.  Takes the
    same arguments."""
    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(dataset, batch_size, shuffle, **kwargs)
        # torch's DataLoader sets collate_fn in __init__ without an annotation
        self.collate_fn = LayoutCollater(self.collate_fn)  # type: ignore[has-type]
