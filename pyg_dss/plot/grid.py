r"""Figures of sets of grid elements that a person would look at: a set of
images (with the model's choice, the target, per-image captions and extra
images such as a reconstruction and the truth) and a set of 1D signals.

Files are written atomically (:func:`pyg_dss.io.atomic_write`); matplotlib
runs with the non-interactive Agg backend.
"""
from __future__ import annotations

from typing import Optional, Sequence, Tuple

import numpy as np
from torch import Tensor

from pyg_dss.io import atomic_write

__all__ = ["plot_image_set", "plot_signal_set"]

TARGET_COLOUR, CHOSEN_COLOUR = "#1a9850", "#d73027"


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _as_display(image: Tensor) -> Tuple[np.ndarray, Optional[str]]:
    """[C, H, W] (C = 1 or 3) -> an array imshow takes, and its colour map."""
    if image.dim() != 3 or image.size(0) not in (1, 3):
        raise ValueError(f"Images must be [1 or 3, H, W], got {tuple(image.shape)}.")
    a = image.detach().float().cpu().clamp(0, 1)
    if a.size(0) == 1:
        return a[0].numpy(), "gray"
    return a.permute(1, 2, 0).numpy(), None


def _frame(ax, colour: str, width: float = 4.0) -> None:
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_edgecolor(colour)
        spine.set_linewidth(width)


def _save(fig, path: str, dpi: int) -> None:
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=dpi))
    _pyplot().close(fig)


def plot_image_set(images: Tensor, path: str, title: str = "",
                   captions: Optional[Sequence[str]] = None, target: Optional[int] = None,
                   chosen: Optional[int] = None,
                   extras: Sequence[Tuple[str, Tensor]] = (), ncols: int = 10,
                   dpi: int = 110) -> None:
    r"""Draws a set of images ``[n, C, H, W]`` (values in ``[0, 1]``) as a
    grid, in the order given, with an optional caption under each, the
    ``target`` framed in green and the ``chosen`` one in red (both: green
    with a red inner box), and a last row of named ``extras`` (e.g.
    ``[("prediction", y_hat), ("truth", y)]``).  Writes a PNG to
    :obj:`path`."""
    plt = _pyplot()
    n = images.size(0)
    ncols = max(1, min(ncols, max(n, len(extras))))
    rows = -(-n // ncols) + (1 if extras else 0)
    fig, axes = plt.subplots(rows, ncols, figsize=(1.45 * ncols, 1.95 * rows + 0.6),
                             squeeze=False)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
    for i in range(n):
        ax = axes[i // ncols, i % ncols]
        array, cmap = _as_display(images[i])
        ax.imshow(array, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        if captions is not None:
            ax.set_xlabel(captions[i], fontsize=7)
        if i == target:
            _frame(ax, TARGET_COLOUR)
        if i == chosen:
            if i == target:  # a red box inside the green frame
                h, w = array.shape[:2]
                inset = max(1.0, 0.06 * min(h, w))
                ax.add_patch(plt.Rectangle((inset - 0.5, inset - 0.5), w - 2 * inset,
                                           h - 2 * inset, fill=False, ec=CHOSEN_COLOUR, lw=2.5))
            else:
                _frame(ax, CHOSEN_COLOUR)
    for k, (name, image) in enumerate(extras):
        ax = axes[-1, k]
        array, cmap = _as_display(image)
        ax.imshow(array, cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
        ax.set_xlabel(name, fontsize=8, fontweight="bold")
    legend = []
    if target is not None:
        legend.append("green: target")
    if chosen is not None:
        legend.append("red: model's choice")
    fig.suptitle(title + ("\n" + ", ".join(legend) if legend else ""), fontsize=9)
    fig.tight_layout()
    _save(fig, path, dpi)


def plot_signal_set(signals: Tensor, path: str, title: str = "",
                    clean: Optional[Tensor] = None, dpi: int = 110) -> None:
    r"""Draws a set of 1D signals ``[n, L]`` (or ``[n, 1, L]``) as thin
    lines, their mean dashed and, if given, the noise-free signal ``[L]`` in
    bold.  Writes a PNG to :obj:`path`."""
    plt = _pyplot()
    s = signals.detach().float().cpu().reshape(signals.size(0), -1).numpy()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    t = np.arange(s.shape[1])
    for row in s:
        ax.plot(t, row, color="0.6", lw=0.5, alpha=0.5)
    ax.plot(t, s.mean(0), color="#4575b4", lw=1.5, ls="--",
            label=f"mean of the {s.shape[0]} elements")
    if clean is not None:
        ax.plot(t, clean.detach().float().cpu().reshape(-1).numpy(), color="k", lw=2,
                label="noise-free signal")
    ax.set_xlabel("sample")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    _save(fig, path, dpi)
