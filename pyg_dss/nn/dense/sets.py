r"""Dense batches of sets of grid elements: padding, masks, aggregation.

A batch of sets is one tensor ``x`` of shape ``[B, n, C, *S]`` (``B`` sets of
up to ``n`` elements, ``C`` channels, spatial size ``S`` = ``(L,)``,
``(H, W)``, ...).  **Sets of different sizes** share a batch through a
boolean ``mask`` of shape ``[B, n]`` (``True`` = a real element; pad the rest
with anything, e.g. :func:`to_dense_sets`).  Padded elements take no part in
any aggregate, in BatchNorm statistics or in any base module (those run on
the real elements only), and every layer returns zeros there.
``mask=None`` means every set is full.  Every set needs at least one real
element.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.nn.inits import reset

from pyg_dss.nn.aggr import check_reduce, reduce_dim

__all__ = ["to_dense_sets", "dense_set_aggregate", "apply_to_elements", "ElementWise",
           "masked_set_log_softmax", "check_dense", "zero_padding"]


def check_dense(x: Tensor, mask: Optional[Tensor]) -> None:
    """Raises a one-line error unless ``x`` is ``[B, n, C, *S]`` and ``mask``
    ``None`` or a bool ``[B, n]``."""
    if x.dim() < 3:
        raise ValueError(f"Expected a batch of sets [B, n, C, *spatial], got shape "
                         f"{tuple(x.shape)}.")
    if mask is not None and (mask.dtype != torch.bool or mask.shape != x.shape[:2]):
        raise ValueError(f"mask must be a bool tensor of shape [B, n] = {tuple(x.shape[:2])}, "
                         f"got {mask.dtype} {tuple(mask.shape)}.")


def _expand(mask: Tensor, like: Tensor) -> Tensor:
    """``mask`` [B, n] viewed as [B, n, 1, ..., 1] to broadcast against ``like``."""
    return mask.view(mask.shape + (1,) * (like.dim() - 2))


def zero_padding(y: Tensor, mask: Optional[Tensor]) -> Tensor:
    """``y`` with its padded elements set to zero."""
    return y if mask is None else torch.where(_expand(mask, y), y, y.new_zeros(()))


def to_dense_sets(sets: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
    r"""Pads a list of sets ``[n_i, C, *S]`` (same ``C`` and ``S``) into one
    batch ``[B, max n_i, C, *S]`` (zeros after the last element of each set)
    and returns it with the mask ``[B, max n_i]``."""
    if len(sets) == 0:
        raise ValueError("to_dense_sets needs at least one set.")
    shape = sets[0].shape[1:]
    for i, s in enumerate(sets):
        if s.shape[1:] != shape or s.size(0) == 0:
            raise ValueError(f"Set {i} has shape {tuple(s.shape)}; every set needs at least "
                             f"one element of shape {tuple(shape)}.")
    n = max(s.size(0) for s in sets)
    x = sets[0].new_zeros((len(sets), n) + tuple(shape))
    mask = torch.zeros(len(sets), n, dtype=torch.bool, device=x.device)
    for i, s in enumerate(sets):
        x[i, :s.size(0)] = s
        mask[i, :s.size(0)] = True
    return x, mask


def dense_set_aggregate(x: Tensor, mask: Optional[Tensor] = None, aggr: str = "sum") -> Tensor:
    r""":math:`\mathrm{AGG}_{j} \mathbf{x}_j` over the real elements of every
    set, per channel and grid point: ``[B, n, C, *S] -> [B, C, *S]``
    (``aggr`` one of :data:`pyg_dss.nn.aggr.REDUCTIONS`)."""
    check_reduce(aggr)
    if mask is None:
        return reduce_dim(x, 1, aggr)
    m = _expand(mask, x)
    if aggr == "max":
        return x.masked_fill(~m, float("-inf")).amax(1)
    total = torch.where(m, x, x.new_zeros(())).sum(1)  # where, not *: padding may hold NaN
    if aggr == "sum":
        return total
    count = mask.sum(1).clamp_min(1).to(x.dtype)
    return total / count.view((-1,) + (1,) * (total.dim() - 1))


def apply_to_elements(module: Callable[[Tensor], Tensor], x: Tensor,
                      mask: Optional[Tensor] = None) -> Tensor:
    r"""Runs :obj:`module` on every real element, ``[B, n, C, *S] ->
    [B, n, C', *S']``, as one call on the stacked elements ``[N, C, *S]``;
    padded elements are skipped (so BatchNorm never sees them) and are zero
    in the output."""
    B, n = x.shape[:2]
    if mask is None:
        return module(x.flatten(0, 1)).unflatten(0, (B, n))
    out_real = module(x[mask])
    out = out_real.new_zeros((B, n) + out_real.shape[1:])
    out[mask] = out_real
    return out


class ElementWise(Module):
    r"""Applies :obj:`module` to every real element of a dense batch of sets,
    :math:`\mathbf{y}_i = f(\mathbf{x}_i)` (pooling, upsampling, dropout,
    normalisation between DSS layers); padded elements stay zero.

    Shapes: ``x`` ``[B, n, C, *S]``, ``mask`` ``[B, n]`` (optional) ->
    ``[B, n, C', *S']``.
    """
    def __init__(self, module: Module) -> None:
        super().__init__()
        self.module = module

    def reset_parameters(self) -> None:
        reset(self.module)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        check_dense(x, mask)
        return apply_to_elements(self.module, x, mask)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.module})"


def masked_set_log_softmax(scores: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    r"""Log-probabilities over the real elements of every set from scores
    ``[B, n]``; padded elements get :math:`-\infty`."""
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.log_softmax(dim=1)
