r"""Metrics of the set-selection tasks, per set, for batches of sets of any
sizes: top-1 accuracy of the chosen element and Kendall's :math:`\tau_b`
between the scores and the true order of the elements."""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor
from torch_geometric.utils import to_dense_batch

from pyg_dss.nn.heads import set_argmax

__all__ = ["set_accuracy", "kendall_tau"]


def set_accuracy(scores: Tensor, sets: Any, target: Optional[Tensor] = None) -> Tensor:
    r"""Per set, 1.0 if the highest-scoring element is the target and 0.0
    otherwise ([num_sets]; ``.mean()`` is the top-1 accuracy).

    Args:
        scores: one score (or log-probability) per element [num_elements].
        sets: the batch of sets (for ``element_set``).
        target: local index of the target element of each set [num_sets]
            (default: ``sets.y``).
    """
    target = sets.y if target is None else target
    return (set_argmax(scores, sets) == target.view(-1)).float()


def kendall_tau(scores: Tensor, truth: Tensor, element_set: Tensor) -> Tensor:
    r"""Kendall's :math:`\tau_b` between predicted scores and the true order,
    one value per set ([num_sets], in [-1, 1]; 1 = the scores sort the
    elements exactly as :obj:`truth` does, 0 = unrelated).

    .. math::
        \tau_b = \frac{C - D}{\sqrt{(P - T_s)(P - T_t)}}

    with C / D the concordant / discordant pairs, P all pairs, T_s / T_t the
    pairs tied in scores / in truth (what :func:`scipy.stats.kendalltau`
    computes). Sets may differ in size."""
    s, mask = to_dense_batch(scores.float(), element_set)
    t, _ = to_dense_batch(truth.float(), element_set)
    ds = torch.sign(s.unsqueeze(2) - s.unsqueeze(1))  # [B, n, n]
    dt = torch.sign(t.unsqueeze(2) - t.unsqueeze(1))
    pair = (mask.unsqueeze(2) & mask.unsqueeze(1)).triu(diagonal=1)
    num = (ds * dt * pair).sum((1, 2))
    untied_s = ((ds != 0) & pair).sum((1, 2)).float()
    untied_t = ((dt != 0) & pair).sum((1, 2)).float()
    return num / (untied_s * untied_t).sqrt().clamp_min(1e-12)
