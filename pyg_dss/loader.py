r"""A :class:`torch_geometric.loader.DataLoader` for sets whose batches carry
their :class:`~pyg_dss.layout.SetLayout`.

The layout (dense or not, which graphs repeat) is found once per batch, in the
loader's worker processes, instead of on every forward; batches that carry it
can run under :func:`torch.compile`.  Everything else is PyG's loader
(``num_workers``, ``pin_memory``, samplers, ...):

.. testcode::

    import torch
    from torch_geometric.data import Data
    from pyg_dss.data import SetData
    from pyg_dss.loader import SetDataLoader
    from pyg_dss.nn import DSSNet, set_nll_loss

    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    def one_set():                         # 4 frames of a graph; frame 0 is the target
        s = SetData.from_elements([Data(x=torch.randn(3, 3), edge_index=edge_index)
                                   for _ in range(4)], corresponded=True)
        s.y = torch.tensor([0])
        return s

    dataset = [one_set() for _ in range(6)]
    model = DSSNet(3, base="gcn", variant="dss-sum")
    for batch in SetDataLoader(dataset, batch_size=4, shuffle=True):
        loss = set_nll_loss(model(batch), batch)
    print(batch.num_sets, type(batch.set_layout).__name__)

.. testoutput::

    2 SetLayout
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
