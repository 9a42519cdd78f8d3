r"""BatchNorm statistics for evaluation: the running mean and variance of
every BatchNorm set to those of the inputs it gets in evaluation mode over a
whole dataset, under the current weights, before a model is evaluated."""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

import torch
from torch import Tensor
from torch.nn import Module
from torch.nn.modules.batchnorm import _BatchNorm

__all__ = ["recompute_batch_norm"]


@torch.no_grad()
def recompute_batch_norm(model: Module, loader: Iterable[Any],
                         device: Optional[torch.device] = None, rtol: float = 1e-6) -> int:
    r"""Sets every BatchNorm's running statistics to the mean and (unbiased)
    variance of its inputs over every batch of :obj:`loader`, with the model
    in evaluation mode,

    .. math::
        \mu = \frac{1}{N} \sum_{r} \mathbf{x}_r, \qquad
        \sigma^2 = \frac{1}{N - 1} \sum_{r} (\mathbf{x}_r - \mu)^2

    over all :math:`N` rows of all batches: the statistics of exactly the
    inputs evaluation will feed each layer.  A BatchNorm's inputs depend on
    the statistics of the BatchNorms before it, so the loader is passed
    until no statistic changes by more than :obj:`rtol` (relative to the
    standard deviation); after as many passes as the longest chain of
    BatchNorms the statistics are exact, and the next pass stops.

    :func:`torch.optim.swa_utils.update_bn` instead averages per-batch
    variances with every layer in training mode (each normalised by its own
    small batch), which leaves out how much the batches differ: with small
    batches of graphs whose features are nearly constant within a graph (a
    bag of subgraphs of a regular graph) that gap decides the evaluation.

    Args:
        model: the network; nothing happens if it has no BatchNorm that
            tracks running statistics.
        loader: the batches (e.g. the training set, without sampling); it is
            read once per pass.
        device: where to move each batch (``None``: as it comes).
        rtol: the change below which the statistics are final.

    Returns:
        The number of passes over :obj:`loader`.
    """
    norms: List[_BatchNorm] = [m for m in model.modules()
                               if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not norms:
        return 0
    totals: Dict[Module, List[Any]] = {}

    def accumulate(module: Module, inputs: Any) -> None:
        x: Tensor = inputs[0].detach().double()  # float64: sums of squares cancel less
        dims = [d for d in range(x.dim()) if d != 1]  # channels are dim 1
        total = totals.setdefault(module, [0, 0.0, 0.0])
        total[0] += x.numel() // max(x.size(1), 1)
        total[1] = total[1] + x.sum(dims)
        total[2] = total[2] + (x * x).sum(dims)

    handles = [m.register_forward_pre_hook(accumulate) for m in norms]
    was_training = model.training
    model.eval()
    passes = 0
    try:
        while passes <= len(norms):  # the longest chain has at most len(norms) links
            passes += 1
            totals.clear()
            for batch in loader:
                model(batch.to(device) if device is not None else batch)
            change = 0.0
            for m in norms:
                if m not in totals or totals[m][0] == 0:
                    continue
                n, s, ss = totals[m]
                mean = s / n
                var = (ss / n - mean * mean).clamp_min(0) * (n / max(n - 1, 1))
                assert m.running_mean is not None and m.running_var is not None
                scale = var.sqrt() + m.eps
                change = max(change,
                             float(((mean - m.running_mean.double()).abs() / scale).max()),
                             float(((var - m.running_var.double()).abs() / scale ** 2).max()))
                m.running_mean.copy_(mean.to(m.running_mean.dtype))
                m.running_var.copy_(var.to(m.running_var.dtype))
            if change <= rtol:
                break
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return passes
