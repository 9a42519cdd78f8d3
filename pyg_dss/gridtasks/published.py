r"""The published numbers of the grid experiments (Maron et al., "On
Learning Sets of Symmetric Elements", ICML 2020, Tables 1-3), mean ± std
over the authors' runs, by task and data set, for the results tables to
show beside measured ones.  They are the paper's, on the paper's data,
networks and training; a run of this package is comparable with them only
in its trends, and only closely when run with ``--config paper``."""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple

__all__ = ["PAPER_CITATION", "PUBLISHED", "published_columns"]

PAPER_CITATION = ("Maron, Litany, Chechik & Fetaya, On Learning Sets of Symmetric Elements, "
                  "ICML 2020")

_ORDER = ("siamese-ds", "dss-sum", "dss-max", "sridhar", "aittala", "reference")


def _row(*values: str) -> Dict[str, str]:
    return dict(zip(_ORDER, values, strict=True))


#: ``PUBLISHED[task][data set]``: the published value per variant, and under
#: ``"reference"`` the chance level (accuracies, %) or the trivial
#: prediction (errors).  Accuracy in % for selection and frames, error
#: (lower is better) for channels and deblur; signals: a figure, no table.
PUBLISHED: Dict[str, Dict[str, Dict[str, str]]] = {
    "frames": {"UCF101": _row("36.41 ± 1.43", "76.6 ± 1.51", "76.39 ± 1.01", "60.15 ± 0.76",
                              "77.96 ± 1.69", "12.5")},
    "selection": {
        "noise 10": _row("77.2 ± 0.37", "78.48 ± 0.48", "77.99 ± 1.1", "76.8 ± 0.25",
                         "78.34 ± 0.49", "5"),
        "noise 30": _row("65.89 ± 0.66", "68.35 ± 0.55", "67.85 ± 0.40", "61.52 ± 0.54",
                         "66.89 ± 0.58", "5"),
        "noise 50": _row("59.24 ± 0.51", "62.6 ± 0.45", "61.59 ± 1.00", "55.25 ± 0.40",
                         "62.02 ± 1.03", "5"),
        "occlusion 10": _row("82.15 ± 0.45", "83.13 ± 1.00", "83.27 ± 0.51", "83.21 ± 0.34",
                             "83.19 ± 0.67", "5"),
        "occlusion 30": _row("77.47 ± 0.37", "78 ± 0.89", "78.69 ± 0.32", "78.71 ± 0.26",
                             "78.27 ± 0.67", "5"),
        "occlusion 50": _row("76.2 ± 0.82", "77.29 ± 0.40", "76.64 ± 0.45", "77.04 ± 0.75",
                             "77.03 ± 0.58", "5")},
    "channels": {
        "Places": _row("8.06 ± 0.06", "1.78 ± 0.03", "1.92 ± 0.07", "1.97 ± 0.02",
                       "1.67 ± 0.06", "14.68"),
        "CelebA": _row("6 ± 0.13", "1.27 ± 0.07", "1.34 ± 0.07", "1.35 ± 0.03", "1.17 ± 0.04",
                       "18.72")},
    "deblur": {"ImageNet": _row("6.15 ± 0.05", "6.11 ± 0.08", "5.87 ± 0.05", "21.01 ± 0.08",
                                "5.7 ± 0.13", "16.75")},
}

#: What the published numbers measure, per task.
_MEASURE = {"frames": "accuracy %", "selection": "accuracy %", "channels": "error",
            "deblur": "error"}


def published_columns(cfg: Mapping[str, Any]) -> List[Tuple[str, Dict[str, str]]]:
    r"""``(column header, values per variant)`` of the published numbers
    that match a run's task (and, for selection, its corruption and level:
    none when the level is not one of the paper's)."""
    task = cfg["task"]
    tables = PUBLISHED.get(task, {})
    if task == "selection":
        key = f"{cfg['corruption']} {float(cfg['level']):g}"
        tables = {key: tables[key]} if key in tables else {}
    return [(f"published: {name}, {_MEASURE[task]}", values) for name, values in tables.items()]
