r"""The network and the loss of each grid experiment: this package's
:class:`~pyg_dss.nn.GridSetNet` / :class:`~pyg_dss.nn.GridSetUNet`
(``config="default"``, the same widths for every variant) or the authors'
network (``config="paper"``, :meth:`GridSetNet.paper
<pyg_dss.nn.GridSetNet.paper>`)."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module

from pyg_dss.nn import GridSetNet, GridSetUNet, masked_set_log_softmax

__all__ = ["grid_task_model", "grid_task_loss", "colour_logits"]


def grid_task_model(cfg: Mapping[str, Any], in_channels: int) -> Module:
    r"""The network of ``cfg["task"]`` for ``cfg["variant"]`` taking
    elements of :obj:`in_channels` channels."""
    task, variant = cfg["task"], cfg["variant"]
    if cfg.get("config", "default") == "paper":
        if task == "signals":
            return GridSetNet.paper("signals", variant, in_channels=in_channels,
                                    length=cfg["length"])
        if task == "channels":  # one channel per element; scored as colour logits
            return GridSetNet.paper("channels", variant, in_channels=in_channels,
                                    out_channels=3)
        return GridSetNet.paper(task, variant, in_channels=in_channels)
    common = dict(variant=variant, kernel_size=cfg["kernel_size"])
    if task == "signals":
        return GridSetNet(in_channels, 3, dim=1, hidden=cfg["hidden"], padding_mode="circular",
                          spatial_pool="mean", head_hidden=[cfg["hidden"][-1]], readout="set",
                          **common)
    if task == "deblur":
        return GridSetUNet(in_channels, in_channels, widths=cfg["hidden"], **common)
    out = 3 if task == "channels" else 1
    return GridSetNet(in_channels, out, dim=2, hidden=cfg["hidden"],
                      head_hidden=[cfg["hidden"][-1]], readout="element", **common)


def colour_logits(out: Tensor) -> Tensor:
    r"""Colour-matching scores ``[B, 3, 3]`` (element, colour): the network's
    output as is, or the spatial mean of the per-element images ``[B, 3, 3,
    H, W]`` of the authors' U-Net."""
    return out.flatten(3).mean(-1) if out.dim() > 3 else out


def grid_task_loss(task: str, out: Tensor, batch: Sequence[Tensor]) -> Tensor:
    r"""The training loss: cross-entropy over classes (signals) or over the
    colours of each element (channels), L1 to the sharp image (deblur),
    and the negative log-likelihood of the target element under a softmax
    over the set (selection, frames)."""
    y = batch[1]
    if task == "signals":
        return F.cross_entropy(out, y)
    if task == "channels":
        return F.cross_entropy(colour_logits(out).reshape(-1, 3), y.reshape(-1))
    if task == "deblur":
        return F.l1_loss(out, y)
    scores = out.squeeze(-1) if out.dim() == 3 else out
    return F.nll_loss(masked_set_log_softmax(scores), y)
