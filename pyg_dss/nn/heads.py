"""Invariant heads: pool each element, mix over the set, select one element."""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import Linear, Module
from torch_geometric.utils import scatter, to_dense_batch

from pyg_dss.nn.aggr import check_reduce


def _num_elements(sets: Any) -> int:
    return sets.element_set.numel()


class ElementPool(Module):
    r"""Pools the nodes of every element into one vector,
    :math:`\mathbf{z}_i = \mathrm{POOL}_{v} \mathbf{x}_i[v]` (invariant to the
    element's symmetry); output [num_elements, C]."""
    def __init__(self, reduce: str = "max") -> None:
        super().__init__()
        self.reduce = check_reduce(reduce)

    def reset_parameters(self) -> None:
        pass

    def forward(self, x: Tensor, sets: Any) -> Tensor:
        return scatter(x, sets.element_index, dim=0, dim_size=_num_elements(sets),
                       reduce=self.reduce)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(reduce={self.reduce!r})"


class DeepSetsLayer(Module):
    r"""A DeepSets layer over the elements of every set (Zaheer et al. 2017),
    in the max form the DSS paper uses:

    .. math::
        \mathbf{y}_i = \mathbf{A}\mathbf{z}_i + \mathbf{B}\,
        \mathrm{AGG}_{j=1}^{n} \mathbf{z}_j + \mathbf{c}.

    Input: element features [num_elements, C_in] and the sets (for
    ``element_set``); output [num_elements, C_out].
    """
    def __init__(self, in_channels: int, out_channels: int, aggr: str = "max") -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.aggr = check_reduce(aggr)
        self.lin_element = Linear(in_channels, out_channels)
        self.lin_set = Linear(in_channels, out_channels, bias=False)

    def reset_parameters(self) -> None:
        self.lin_element.reset_parameters()
        self.lin_set.reset_parameters()

    def forward(self, z: Tensor, sets: Any) -> Tensor:
        agg = scatter(z, sets.element_set, dim=0, reduce=self.aggr)
        return self.lin_element(z) + self.lin_set(agg).index_select(0, sets.element_set)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"aggr={self.aggr!r})")


def set_log_softmax(scores: Tensor, sets: Any) -> Tensor:
    """Log-probabilities over the elements of each set (a softmax per set)
    from one score per element [num_elements] (or [num_elements, 1])."""
    scores = scores.reshape(-1)
    index = sets.element_set
    shifted = scores - scatter(scores.detach(), index, reduce="max").index_select(0, index)
    log_norm = scatter(shifted.exp(), index, reduce="sum").log()
    return shifted - log_norm.index_select(0, index)


def set_argmax(scores: Tensor, sets: Any) -> Tensor:
    """The local index (0..n-1) of the highest-scoring element of each set."""
    dense, _ = to_dense_batch(scores.reshape(-1), sets.element_set, fill_value=float("-inf"))
    return dense.argmax(dim=1)


def set_nll_loss(log_probs: Tensor, sets: Any, target: Tensor | None = None) -> Tensor:
    """Mean negative log-likelihood of the target element of each set.

    ``target`` [num_sets] holds local element indices (0..n-1 within each
    set); it defaults to ``sets.y``.
    """
    target = sets.y if target is None else target
    counts = torch.bincount(sets.element_set)
    first = counts.cumsum(0) - counts
    if bool((target < 0).any()) or bool((target >= counts).any()):
        raise ValueError(f"Targets {target.tolist()} must be element indices within each set "
                         f"(set sizes {counts.tolist()}).")
    return -log_probs.reshape(-1)[first + target].mean()
