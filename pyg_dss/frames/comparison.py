r"""The variant comparison of the frame-ordering task (Maron et al., ICML
2020, Table 3): the paper's numbers, per-variant summaries of a sweep of runs
and its bar chart (written atomically).
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from pyg_dss.io import atomic_write
from pyg_dss.train import VARIANT_LABELS

__all__ = ["PAPER_DFAUST", "PAPER_CHANCE", "MODALITY_LABEL", "summarize", "bar_chart"]

MODALITY_LABEL = {"points": "point clouds", "mesh": "graphs (meshes)"}
#: Test accuracy (%) on Dynamic FAUST, 7 frames, from the paper (Table 3);
#: DSS (mean) was not part of it.
PAPER_DFAUST = {
    "points": {"siamese-ds": 22.26, "dss-sum": 42.45, "dss-max": 28.71,
               "sridhar": 54.26, "aittala": 26.43},
    "mesh": {"siamese-ds": 26.53, "dss-sum": 44.24, "dss-max": 30.54,
             "sridhar": 53.16, "aittala": 26.66},
}
PAPER_CHANCE = 14.28


def summarize(records: List[Dict[str, Any]],
              key: str = "test_accuracy") -> Dict[str, Dict[str, Tuple[float, float, int]]]:
    r"""``{modality: {variant: (mean, std, count)}}`` of :obj:`key` over the
    :obj:`records` (one per run), in % for accuracies (std over seeds, ddof=0)."""
    scale = 100.0 if key == "test_accuracy" else 1.0
    table: Dict[str, Dict[str, List[float]]] = {}
    for r in records:
        table.setdefault(r["modality"], {}).setdefault(r["variant"], []).append(r[key] * scale)
    return {m: {v: (float(np.mean(x)), float(np.std(x)), len(x)) for v, x in row.items()}
            for m, row in table.items()}


def bar_chart(records: List[Dict[str, Any]], path: str, dataset: str) -> None:
    """Mean ± std test accuracy per variant and modality, the paper's numbers
    as marks and chance as a line, to the PNG :obj:`path` (atomically)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acc = summarize(records)
    modalities = [m for m in ("points", "mesh") if m in acc]
    variants = [v for v in VARIANT_LABELS if any(v in acc[m] for m in modalities)]
    width = 0.8 / len(modalities)
    fig, ax = plt.subplots(figsize=(1.3 * len(variants) + 2, 3.8))
    xs = np.arange(len(variants))
    for i, m in enumerate(modalities):
        means = [acc[m].get(v, (np.nan, 0, 0))[0] for v in variants]
        stds = [acc[m].get(v, (np.nan, 0, 0))[1] for v in variants]
        x = xs + (i - (len(modalities) - 1) / 2) * width
        ax.bar(x, means, width * 0.95, yerr=stds, capsize=3, label=f"{MODALITY_LABEL[m]}")
        paper = [PAPER_DFAUST[m].get(v, np.nan) for v in variants]
        ax.plot(x, paper, "k_", ms=14, mew=2, label="paper, DFAUST" if i == 0 else None)
    ax.axhline(100.0 * records[0]["chance"], color="gray", ls="--", lw=1, label="chance")
    ax.set_xticks(xs, [VARIANT_LABELS[v] for v in variants], rotation=15, fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    seeds = sorted({r["seed"] for r in records})
    ax.set_title(f"First-frame selection on {dataset}: mean ± std over {len(seeds)} "
                 f"seed(s)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)
