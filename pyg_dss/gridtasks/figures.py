r"""The figure of a grid-experiment run: the model run on one test set and
drawn with :func:`~pyg_dss.plot.plot_image_set` /
:func:`~pyg_dss.plot.plot_signal_set` (its choice or reconstruction beside
the truth)."""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch.nn import Module
from torch.utils.data import Dataset

from pyg_dss.datasets.grid.images import reassemble_channels
from pyg_dss.gridtasks.metrics import best_assignment
from pyg_dss.gridtasks.models import colour_logits
from pyg_dss.plot.grid import plot_image_set, plot_signal_set
from pyg_dss.train import VARIANT_LABELS

__all__ = ["plot_grid_task_example"]


def plot_grid_task_example(cfg: Mapping[str, Any], model: Module, dataset: Dataset,
                           path: str, index: int = 0) -> None:
    r"""Draws test set :obj:`index` of ``cfg["task"]`` with :obj:`model`'s
    answer into the PNG :obj:`path` (the model runs on the CPU, in
    evaluation mode)."""
    task, item = cfg["task"], dataset[index]
    model.eval()
    with torch.no_grad():
        out = model(item[0][None])[0]
    x, y = item[0], item[1]
    name = VARIANT_LABELS.get(cfg["variant"], cfg["variant"])
    if task == "signals":
        names = dataset.waveforms  # type: ignore[attr-defined]
        p = out.softmax(-1)
        plot_signal_set(x, path, clean=dataset.clean[index],  # type: ignore[attr-defined]
                        title=f"{name}: truth {names[int(y)]}, predicted "
                              f"{names[int(p.argmax())]} (p = {float(p.max()):.2f})")
    elif task in ("selection", "frames"):
        p = (out.squeeze(-1) if out.dim() == 2 else out).softmax(0)
        if task == "selection":
            strength = dataset.draw(index)[2]  # type: ignore[attr-defined]
            unit = "σ" if cfg["corruption"] == "noise" else "occl. %"
            captions = [f"{unit} {float(s):.0f}\np={float(q):.2f}"
                        for s, q in zip(strength, p, strict=True)]
            what = "the least corrupted copy"
        else:
            captions = [f"t rank {int(r)}\np={float(q):.2f}"
                        for r, q in zip(item[2], p, strict=True)]
            what = "the earliest frame"
        plot_image_set(x, path, captions=captions, target=int(y), chosen=int(p.argmax()),
                       title=f"{name} picks {what}")
    elif task == "channels":
        colour_of = best_assignment(colour_logits(out[None]).log_softmax(-1))
        truth = reassemble_channels(x[None], y[None])[0]
        plot_image_set(x, path, captions=["element 0", "element 1", "element 2"],
                       extras=[("grayscale (trivial)", truth.mean(0, keepdim=True)),
                               ("reassembled", reassemble_channels(x[None], colour_of)[0]),
                               ("truth", truth)],
                       title=f"{name}: the three channels as the network saw them")
    else:
        plot_image_set(x, path, captions=[f"frame {k}" for k in range(x.size(0))],
                       extras=[("mean of burst", x.mean(0)), ("deblurred", out.clamp(0, 1)),
                               ("sharp (truth)", y)],
                       title=f"{name}: a burst of {x.size(0)} blurred frames")
