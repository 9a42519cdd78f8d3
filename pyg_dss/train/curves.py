r"""The learning curve of a run: the training loss and an evaluation metric
per epoch (one line per fold or group of records), written atomically."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from pyg_dss.io import atomic_write

__all__ = ["plot_curves"]


def plot_curves(records: List[Dict[str, Any]], path: str, title: str, metric: str,
                metric_label: str, group: Optional[str] = None,
                chance: Optional[float] = None, ylim: Optional[tuple] = None) -> None:
    r"""Two panels to the PNG :obj:`path`: ``train_loss`` per epoch, and
    :obj:`metric` at the epochs that have it (``"o-"``); one line per value of
    the :obj:`group` key (e.g. ``"fold"``), labelled ``"<group> <value>"``;
    :obj:`chance` as a dashed line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    groups: List[Any] = sorted({r[group] for r in records}) if group else [None]
    for g in groups:
        rs = [r for r in records if group is None or r.get(group) == g]
        label = f"{group} {g}" if group else None
        ax1.plot([r["epoch"] for r in rs], [r["train_loss"] for r in rs], label=label)
        rs = [r for r in rs if metric in r]
        ax2.plot([r["epoch"] for r in rs], [r[metric] for r in rs], "o-", ms=3, label=label)
    ax1.set_xlabel("epoch"), ax1.set_ylabel("training loss")
    ax2.set_xlabel("epoch"), ax2.set_ylabel(metric_label)
    if ylim is not None:
        ax2.set_ylim(*ylim)
    if chance is not None:
        ax2.axhline(chance, color="gray", ls="--", lw=1, label="chance")
    for ax in (ax1, ax2):
        ax.xaxis.get_major_locator().set_params(integer=True)
    if ax2.get_legend_handles_labels()[0]:
        ax2.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)
