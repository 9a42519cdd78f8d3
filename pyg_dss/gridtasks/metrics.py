r"""The metrics of each grid experiment, their trivial baselines and chance
levels, and the evaluation of a model on a set of test sets."""
from __future__ import annotations

import itertools
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch.nn import Module
from torch.utils.data import DataLoader, Dataset

from pyg_dss.datasets.grid.images import reassemble_channels
from pyg_dss.gridtasks.models import colour_logits
from pyg_dss.metrics import kendall_tau

__all__ = ["HEADLINES", "best_assignment", "psnr", "grid_task_metrics", "chance_level",
           "evaluate_grid_task"]

#: The headline metric of each task: its key, whether higher is better, its
#: label (accuracies are stored as fractions and shown in %).
HEADLINES: Dict[str, Tuple[str, bool, str]] = {
    "signals": ("accuracy", True, "test accuracy (%)"),
    "selection": ("accuracy", True, "test accuracy (%)"),
    "channels": ("mae", False, "mean absolute error (0-255)"),
    "deblur": ("mae", False, "mean absolute error (0-255)"),
    "frames": ("accuracy", True, "test accuracy (%)"),
}


def best_assignment(log_probs: Tensor) -> Tensor:
    r"""The permutation of colours (one per element, all different) with the
    highest total log-probability, per set: ``[B, 3, 3] -> [B, 3]``."""
    perms = torch.tensor(list(itertools.permutations(range(3))), device=log_probs.device)
    totals = log_probs[:, torch.arange(3), perms].sum(-1)  # [B, 6]
    return perms[totals.argmax(1)]


def psnr(a: Tensor, b: Tensor) -> Tensor:
    r"""Peak signal-to-noise ratio per image in dB, :math:`-10 \log_{10}
    \mathrm{MSE}(\mathrm{clamp}(a, 0, 1), b)`, for values in ``[0, 1]``."""
    mse = (a.clamp(0, 1) - b).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return -10 * torch.log10(mse)


def _mae255(a: Tensor, b: Tensor) -> Tensor:
    return 255 * (a.clamp(0, 1) - b).abs().flatten(1).mean(1)


def grid_task_metrics(task: str, out: Tensor, batch: Sequence[Tensor]) -> Dict[str, Tensor]:
    r"""Per-set values of the task's metrics and of its trivial baseline
    (grayscale for colour matching, the mean of the burst for deblurring)."""
    x, y = batch[0], batch[1]
    if task == "signals":
        return {"accuracy": (out.argmax(1) == y).float()}
    if task == "channels":
        colour_of = best_assignment(colour_logits(out).log_softmax(-1))
        truth = reassemble_channels(x, y)
        gray = x[:, :, 0].mean(1, keepdim=True).expand_as(truth)
        return {"accuracy": (colour_of == y).all(1).float(),
                "mae": _mae255(reassemble_channels(x, colour_of), truth),
                "baseline_mae": _mae255(gray, truth)}
    if task == "deblur":
        mean = x.mean(1)
        return {"mae": _mae255(out, y), "baseline_mae": _mae255(mean, y),
                "psnr": psnr(out, y), "baseline_psnr": psnr(mean, y)}
    scores = out.squeeze(-1) if out.dim() == 3 else out
    stats = {"accuracy": (scores.argmax(1) == y).float()}
    if task == "frames":
        B, n = scores.shape
        element_set = torch.arange(B, device=scores.device).repeat_interleave(n)
        stats["kendall_tau"] = kendall_tau(scores.reshape(-1), -batch[2].reshape(-1).float(),
                                           element_set)
    return stats


def chance_level(cfg: Mapping[str, Any]) -> Optional[float]:
    r"""The accuracy of a uniform guess (``None`` for the regression tasks)."""
    return {"signals": 1 / 3, "selection": 1 / cfg.get("set_size", 1), "channels": 1 / 6,
            "frames": 1 / cfg.get("set_size", 1)}.get(cfg["task"])


def evaluate_grid_task(task: str, model: Module, dataset: Dataset, batch_size: int,
                       device: Optional[torch.device] = None) -> Dict[str, float]:
    r"""The task's metrics averaged over every set of :obj:`dataset`, in
    evaluation mode, on :obj:`device` (default: the CPU)."""
    device = device or torch.device("cpu")
    model.eval()
    sums: Dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=batch_size):
            batch = [t.to(device) for t in batch]
            for k, v in grid_task_metrics(task, model(batch[0]), batch).items():
                sums[k] = sums.get(k, 0.0) + float(v.sum())
            count += batch[0].size(0)
    return {k: v / count for k, v in sums.items()}
