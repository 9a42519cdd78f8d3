r"""The training loop every pyg-dss run uses: one pass over the training
batches with the non-finite guard, per-process sums (for data-parallel
runs to add up) and progress within the epoch.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Optional, Tuple

from torch import Tensor
from torch.nn import Module
from torch.optim import Optimizer

from pyg_dss.train.progress import Progress
from pyg_dss.train.state import check_finite

__all__ = ["Step", "train_epoch"]

#: ``step(model, batch) -> (loss, sums)``: the loss to minimise and this
#: batch's sums to report (``sums["count"]``: the examples in the batch; the
#: loop reports ``loss`` and the other sums divided by the total count).
Step = Callable[[Module, Any], Tuple[Tensor, Dict[str, float]]]


def train_epoch(model: Module, batches: Iterable[Any], optimizer: Optimizer, step: Step,
                epoch: int = 1, progress: Optional[Progress] = None,
                check_batch: Optional[Callable[[Any], bool]] = None) -> Dict[str, float]:
    r"""One pass over :obj:`batches` in training mode; returns the sums of
    :obj:`step`'s values over the epoch (per process).

    The run stops with a :class:`FloatingPointError` naming the epoch and
    batch if :obj:`check_batch` says a batch is not finite (before the
    forward pass: BatchNorm statistics never see it) or the loss is NaN or
    infinite (before ``backward()``: the optimizer never steps on it), so the
    last checkpoint stays a clean restart point.

    Args:
        model: the model, put in training mode.
        batches: the training batches (e.g. a :class:`Progress` over a loader).
        optimizer: stepped once per batch.
        step: ``step(model, batch) -> (loss, sums)``, see :data:`Step`.
        epoch: the epoch (counted from 1), for error messages.
        progress: shows the running means (its iterable should be :obj:`batches`).
        check_batch: ``check_batch(batch) -> bool``: the inputs are finite.
    """
    model.train()
    sums: Dict[str, float] = {}
    for k, batch in enumerate(batches, 1):
        if check_batch is not None and not check_batch(batch):
            raise FloatingPointError(
                f"NaN or inf in the input features at epoch {epoch}, batch {k}; the run was "
                "stopped before the forward pass. Look at the data and its transform; "
                "--resume continues from the last clean checkpoint.")
        optimizer.zero_grad()
        loss, values = step(model, batch)
        check_finite(loss, epoch, k)
        loss.backward()
        optimizer.step()
        for key, value in values.items():
            sums[key] = sums.get(key, 0.0) + value
        if progress is not None:
            n = max(sums.get("count", 1.0), 1.0)
            progress.update(**{key: f"{value / n:.3f}" for key, value in sums.items()
                               if key != "count"})
    return sums
