r"""The set layers of Sridhar et al. (2019) and Aittala & Durand (2018) on
dense batches of sets of grid elements, as the DSS authors' code defines them."""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.nn.inits import reset

from pyg_dss.nn.dense.sets import apply_to_elements, check_dense, dense_set_aggregate, zero_padding

__all__ = ["DenseSridharConv", "DenseAittalaConv"]


class _DenseBaseThenMix(Module):
    """One base layer on every element, a mix across the set (:meth:`mix`),
    then an optional norm on every element.

    Args:
        base: the base layer, any module ``[N, C, *S] -> [N, C', *S']``.
        norm: a module after the mix, or ``None``.

    Shapes: ``x`` ``[B, n, C, *S]``, ``mask`` ``[B, n]`` (optional) ->
    ``[B, n, C'', *S']``, zero at padded elements.
    """
    def __init__(self, base: Module, norm: Optional[Module] = None) -> None:
        super().__init__()
        self.base, self.norm = base, norm

    def reset_parameters(self) -> None:
        reset(self.base)
        reset(self.norm)

    def mix(self, h: Tensor, mask: Optional[Tensor]) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        check_dense(x, mask)
        h = zero_padding(self.mix(apply_to_elements(self.base, x, mask), mask), mask)
        return h if self.norm is None else apply_to_elements(self.norm, h, mask)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(base={self.base})"


class DenseSridharConv(_DenseBaseThenMix):
    r"""Sridhar et al. (2019) on grids, as the authors' code defines it: one
    base layer on every element, then the set mean subtracted per channel and
    grid point, then the norm,

    .. math::
        \mathbf{h}_i = L(\mathbf{x}_i), \qquad \mathbf{y}_i =
        \mathrm{norm}\Big(\mathbf{h}_i - \frac{1}{n}\sum_{j=1}^{n}\mathbf{h}_j\Big).

    The subtraction removes whatever all elements share: on a task whose
    answer *is* the shared signal (the paper's signal classification) the
    layer cannot see it.
    """
    def mix(self, h: Tensor, mask: Optional[Tensor]) -> Tensor:
        return h - dense_set_aggregate(h, mask, "mean").unsqueeze(1)


class DenseAittalaConv(_DenseBaseThenMix):
    r"""Aittala & Durand (2018) on grids, as the authors' code defines it:
    one base layer on every element, the set max per channel and grid point
    concatenated to every element, then the norm (over ``2 C'`` channels),

    .. math::
        \mathbf{h}_i = L(\mathbf{x}_i), \qquad \mathbf{y}_i =
        \mathrm{norm}\Big(\Big[\mathbf{h}_i \,\Big\Vert\, \max_{j=1}^{n}
        \mathbf{h}_j\Big]\Big).
    """
    def mix(self, h: Tensor, mask: Optional[Tensor]) -> Tensor:
        agg = dense_set_aggregate(h, mask, "max").unsqueeze(1).expand_as(h)
        return torch.cat([h, agg], dim=2)
