r"""The DSS layer and the DeepSets layer for dense batches of sets of grid
elements (Maron et al., ICML 2020, Eq. 5), and the layer factory of every
model variant (:mod:`pyg_dss.nn.variants`) on grids."""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.nn.inits import reset

from pyg_dss.nn.aggr import check_reduce
from pyg_dss.nn.dense.baselines import DenseAittalaConv, DenseSridharConv
from pyg_dss.nn.dense.sets import apply_to_elements, check_dense, dense_set_aggregate, zero_padding
from pyg_dss.nn.variants import build_variant_layer

__all__ = ["DenseDSSConv", "DenseDeepSetsLayer", "make_dense_layer"]


def _norm_then(module: Module, norm: Optional[Module]) -> Callable[[Tensor], Tensor]:
    return module if norm is None else (lambda t: norm(module(t)))


class DenseDSSConv(Module):
    r"""The DSS layer for sets of grid elements (Maron et al. 2020, Eq. 5):

    .. math::
        \mathbf{y}_i = \mathrm{norm}_1\big(L_1(\mathbf{x}_i)\big) +
        \mathrm{norm}_2\Big(L_2\big(\mathrm{AGG}_{j=1}^{n} \mathbf{x}_j\big)\Big),
        \qquad \mathrm{AGG} \in \{\mathrm{sum}, \mathrm{mean}, \max\},

    with :math:`L_1` (siamese branch) run on every element and :math:`L_2`
    (shared branch) once per set on the aggregate, broadcast to every
    element.  If :math:`L_1, L_2` are :math:`H`-equivariant (a convolution
    with circular padding is exactly translation-equivariant), the layer is
    :math:`S_n \times H`-equivariant.  ``shared=None`` gives the siamese
    baseline :math:`\mathbf{y}_i = L_1(\mathbf{x}_i)`.

    Args:
        siamese: :math:`L_1`, any module ``[N, C, *S] -> [N, C', *S']``.
        shared: :math:`L_2` (same signature and output shape), or ``None``.
        aggr: ``"sum"``, ``"mean"`` or ``"max"``.
        siamese_norm, shared_norm: optional modules after each branch (the
            paper: a BatchNorm per branch).

    Shapes: ``x`` ``[B, n, C, *S]``, ``mask`` ``[B, n]`` (optional) ->
    ``[B, n, C', *S']``, zero at padded elements.
    """
    def __init__(self, siamese: Module, shared: Optional[Module] = None, aggr: str = "sum",
                 siamese_norm: Optional[Module] = None,
                 shared_norm: Optional[Module] = None) -> None:
        super().__init__()
        check_reduce(aggr)
        if shared is None and shared_norm is not None:
            raise ValueError("shared_norm needs a shared branch.")
        self.siamese, self.shared, self.aggr = siamese, shared, aggr
        self.siamese_norm, self.shared_norm = siamese_norm, shared_norm

    def reset_parameters(self) -> None:
        for m in (self.siamese, self.shared, self.siamese_norm, self.shared_norm):
            reset(m)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        check_dense(x, mask)
        y = apply_to_elements(_norm_then(self.siamese, self.siamese_norm), x, mask)
        if self.shared is None:
            return y
        s = _norm_then(self.shared, self.shared_norm)(dense_set_aggregate(x, mask, self.aggr))
        return zero_padding(y + s.unsqueeze(1), mask)

    def __repr__(self) -> str:
        if self.shared is None:
            return f"{self.__class__.__name__}(siamese={self.siamese}, shared=None)"
        return (f"{self.__class__.__name__}(siamese={self.siamese}, shared={self.shared}, "
                f"aggr={self.aggr!r})")


class DenseDeepSetsLayer(Module):
    r"""A DeepSets layer over element vectors ``[B, n, C]`` (Zaheer et al.
    2017), in the max form of the paper's heads:

    .. math::
        \mathbf{y}_i = \mathbf{A}\mathbf{z}_i + \mathbf{B}\,
        \mathrm{AGG}_{j=1}^{n} \mathbf{z}_j + \mathbf{c}.

    Padded elements (``mask`` False) are ignored and zero in the output.

    Args:
        in_channels, out_channels: sizes of :math:`\mathbf{z}_i` and
            :math:`\mathbf{y}_i`.
        aggr: ``"sum"``, ``"mean"`` or ``"max"``.
        set_bias: a bias on the set branch too (the authors' code).

    Shapes: ``z`` ``[B, n, C]``, ``mask`` ``[B, n]`` (optional) -> ``[B, n, C']``.
    """
    def __init__(self, in_channels: int, out_channels: int, aggr: str = "max",
                 set_bias: bool = False) -> None:
        super().__init__()
        check_reduce(aggr)
        self.in_channels, self.out_channels, self.aggr = in_channels, out_channels, aggr
        self.lin_element = torch.nn.Linear(in_channels, out_channels)
        # The authors' heads carry a bias on both branches (the same function, one more
        # parameter vector): set_bias=True keeps their parameters one to one.
        self.lin_set = torch.nn.Linear(in_channels, out_channels, bias=set_bias)

    def reset_parameters(self) -> None:
        self.lin_element.reset_parameters()
        self.lin_set.reset_parameters()

    def forward(self, z: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if z.dim() != 3:
            raise ValueError(f"Expected element vectors [B, n, C], got {tuple(z.shape)}.")
        check_dense(z, mask)
        agg = dense_set_aggregate(z, mask, self.aggr)
        return zero_padding(self.lin_element(z) + self.lin_set(agg).unsqueeze(1), mask)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"aggr={self.aggr!r})")


def make_dense_layer(variant: str, base: Callable[[int, int], Module], in_channels: int,
                     out_channels: int, norm: Optional[Callable[[int], Module]] = None
                     ) -> Module:
    r"""One layer of a model variant (the names of :data:`pyg_dss.nn.VARIANTS`)
    from a base factory ``(in, out) -> module`` and an optional norm factory
    ``channels -> module`` (one norm per branch, as in the authors' code).
    The output has ``out_channels`` channels, ``2 * out_channels`` for
    ``"aittala"``."""
    return build_variant_layer(variant, base, in_channels, out_channels,
                               norm if norm is not None else (lambda c: None),
                               DenseDSSConv, DenseSridharConv, DenseAittalaConv)
