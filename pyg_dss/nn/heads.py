"""Invariant heads: pool each element, mix over the set, select one element.

On a dense batch (see :class:`~pyg_dss.layout.SetLayout`) every reduction is a
reshape and a reduce over one dimension; otherwise a scatter.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor
from torch.nn import Linear, Module
from torch_geometric.utils import scatter, to_dense_batch

from pyg_dss.data import check_sets
from pyg_dss.layout import SetLayout, layout_of
from pyg_dss.nn.aggr import check_reduce, reduce_dim

__all__ = ["ElementPool", "DeepSetsLayer", "set_log_softmax", "set_argmax", "set_nll_loss"]


def _num_elements(sets: Any) -> int:
    return sets.element_set.size(0)


class ElementPool(Module):
    r"""Pools the nodes of every element into one vector,
    :math:`\mathbf{z}_i = \mathrm{POOL}_{v} \mathbf{x}_i[v]` (invariant to the
    element's symmetry); output [num_elements, C]."""
    def __init__(self, reduce: str = "max") -> None:
        super().__init__()
        self.reduce = check_reduce(reduce)

    def reset_parameters(self) -> None:
        pass

    def forward(self, x: Tensor, sets: Any, layout: Optional[SetLayout] = None) -> Tensor:
        layout = layout_of(sets, graphs=False) if layout is None else layout
        if layout.dense and x.size(0) == sets.vertex_index.size(0):
            (n, V), B = layout.dense_sizes(), sets.num_sets
            blocks = x.view(B * n, V, *x.shape[1:])
            if self.reduce == "max":   # max(), not amax(): its backward is one scatter
                return blocks.max(dim=1).values
            return reduce_dim(blocks, 1, self.reduce)
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
    ``element_set``); output [num_elements, C_out].  ``set_bias=True`` gives
    the set branch its own bias as the authors' code does (the two biases
    only ever appear summed).
    """
    def __init__(self, in_channels: int, out_channels: int, aggr: str = "max",
                 set_bias: bool = False) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.aggr = check_reduce(aggr)
        self.lin_element = Linear(in_channels, out_channels)
        self.lin_set = Linear(in_channels, out_channels, bias=set_bias)

    def reset_parameters(self) -> None:
        self.lin_element.reset_parameters()
        self.lin_set.reset_parameters()

    def forward(self, z: Tensor, sets: Any, layout: Optional[SetLayout] = None) -> Tensor:
        layout = layout_of(sets, graphs=False) if layout is None else layout
        if layout.dense and z.size(0) == _num_elements(sets):
            B, n = sets.num_sets, layout.dense_sizes()[0]
            blocks = z.view(B, n, z.size(-1))
            out = self.lin_element(blocks) + self.lin_set(reduce_dim(blocks, 1, self.aggr)
                                                          ).unsqueeze(1)
            return out.view(B * n, self.out_channels)
        agg = scatter(z, sets.element_set, dim=0, dim_size=sets.num_sets, reduce=self.aggr)
        return self.lin_element(z) + self.lin_set(agg).index_select(0, sets.element_set)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"aggr={self.aggr!r})")


def set_log_softmax(scores: Tensor, sets: Any, layout: Optional[SetLayout] = None) -> Tensor:
    """Log-probabilities over the elements of each set (a softmax per set)
    from one score per element [num_elements] (or [num_elements, 1])."""
    layout = layout_of(sets, graphs=False) if layout is None else layout
    scores = scores.reshape(-1)
    if layout.dense:
        B, n = sets.num_sets, layout.dense_sizes()[0]
        return scores.view(B, n).log_softmax(dim=1).view(B * n)
    index, B = sets.element_set, sets.num_sets
    shifted = scores - scatter(scores.detach(), index, dim_size=B, reduce="max"
                               ).index_select(0, index)
    log_norm = scatter(shifted.exp(), index, dim_size=B, reduce="sum").log()
    return shifted - log_norm.index_select(0, index)


def set_argmax(scores: Tensor, sets: Any, layout: Optional[SetLayout] = None) -> Tensor:
    """The local index (0..n-1) of the highest-scoring element of each set."""
    layout = layout_of(sets, graphs=False) if layout is None else layout
    if layout.dense:
        return scores.reshape(sets.num_sets, layout.dense_sizes()[0]).argmax(dim=1)
    dense, _ = to_dense_batch(scores.reshape(-1), sets.element_set, fill_value=float("-inf"),
                              batch_size=sets.num_sets)
    return dense.argmax(dim=1)


def set_nll_loss(log_probs: Tensor, sets: Any, target: Optional[Tensor] = None) -> Tensor:
    """Mean negative log-likelihood of the target element of each set.

    ``target`` [num_sets] holds local element indices (0..n-1 within each
    set); it defaults to ``sets.y``.
    """
    check_sets(sets, "set_nll_loss(log_probs, sets): sets")
    if target is None:
        target = sets.get("y")
        if target is None:
            raise ValueError("set_nll_loss needs a target: the sets have no 'y' (the local "
                             "index of the target element of each set); set s.y = "
                             "torch.tensor([i]) on every set, or pass target=.")
    if not isinstance(target, Tensor) or target.is_floating_point():
        raise TypeError("set_nll_loss: the target must be an integer tensor of local element "
                        f"indices, one per set; got {getattr(target, 'dtype', type(target))}.")
    B = sets.num_sets
    target = target.reshape(-1)
    if target.numel() != B:
        raise ValueError(f"set_nll_loss: {target.numel()} targets for {B} sets; give one "
                         "local element index per set.")
    counts = torch.bincount(sets.element_set, minlength=B)
    first = counts.cumsum(0) - counts
    bad = ((target < 0) | (target >= counts)).any()
    if target.device.type != "cpu" or torch.compiler.is_compiling():
        # Checked on the device: reading the answer on the host would stall the step.
        torch._assert_async(~bad, "set_nll_loss: a target is not an element index within "
                                  "its set (0..n-1); check sets.y.")
    elif bool(bad):
        raise ValueError(f"Targets {target.tolist()} must be element indices within each set "
                         f"(set sizes {counts.tolist()}).")
    return -log_probs.reshape(-1)[first + target].mean()
