"""The paper's aggregation baselines, as layers of the DSS family: one base
layer on every element, then a fixed (parameter-free) mix with the set."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.nn.inits import reset

from pyg_dss.layout import SetLayout, layout_of
from pyg_dss.nn.aggr import broadcast, set_aggregate
from pyg_dss.nn.utils import base_in_channels, check_inputs, element_graph, graph_kwarg

__all__ = ["SridharConv", "AittalaConv"]


class _BaseThenMix(Module):
    def __init__(self, base: Module, norm: Optional[Module] = None) -> None:
        super().__init__()
        self.base = base
        self.norm = norm

    def reset_parameters(self) -> None:
        reset(self.base)
        reset(self.norm)

    def mix(self, h: Tensor, sets: Any, layout: SetLayout) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor, edge_index: Tensor, sets: Any,
                layout: Optional[SetLayout] = None, **kwargs: Tensor) -> Tensor:
        check_inputs(type(self).__name__, x, edge_index, sets, base_in_channels(self.base))
        layout = layout_of(sets) if layout is None else layout
        graph = element_graph(layout, edge_index, sets)
        h = self.mix(self.base(x, edge_index, **kwargs, **graph_kwarg(self.base, graph)),
                     sets, layout)
        return h if self.norm is None else self.norm(h)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(base={self.base})"


class SridharConv(_BaseThenMix):
    r"""Aggregation of Sridhar et al. (2019), "Multiview aggregation for
    learning category-specific shape reconstruction": the set mean per shared
    vertex is subtracted from every element,

    .. math::
        \mathbf{h}_i = L(\mathbf{x}_i), \qquad
        \mathbf{y}_i = \mathrm{norm}\Big(\mathbf{h}_i - \frac{1}{n}
        \sum_{j=1}^{n} \mathbf{h}_j\Big).

    Args:
        base: the base layer :math:`L`, called as ``base(x, edge_index)``.
        norm: optional module applied to the result (the paper: BatchNorm).
    """
    def mix(self, h: Tensor, sets: Any, layout: SetLayout) -> Tensor:
        return h - broadcast(set_aggregate(h, sets, "mean", layout), sets, layout)


class AittalaConv(_BaseThenMix):
    r"""Aggregation of Aittala & Durand (2018), "Burst image deblurring using
    permutation invariant convolutional neural networks": the set max per
    shared vertex is concatenated to every element,

    .. math::
        \mathbf{h}_i = L(\mathbf{x}_i), \qquad
        \mathbf{y}_i = \mathrm{norm}\Big(\Big[\mathbf{h}_i \,\Big\Vert\,
        \max_{j=1}^{n} \mathbf{h}_j\Big]\Big),

    so the output has twice the base layer's channels.

    Args:
        base: the base layer :math:`L`, called as ``base(x, edge_index)``.
        norm: optional module applied to the concatenation (2x channels).
    """
    def mix(self, h: Tensor, sets: Any, layout: SetLayout) -> Tensor:
        return torch.cat([h, broadcast(set_aggregate(h, sets, "max", layout), sets, layout)],
                         dim=-1)
