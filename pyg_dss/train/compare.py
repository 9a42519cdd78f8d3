r"""Sweeps of runs (variants x seeds x ...): each run in its own folder,
reused only when its whole configuration is the one asked for, and a
Markdown table writer for the results.

A finished run (its ``metrics.json``) with the same configuration is reused;
a run stopped midway (its ``checkpoint.pt``) with the same configuration is
resumed exactly; anything else is run again from scratch, with a line
saying which options differ.  So an interrupted sweep picks up where it
stopped, and a changed option never passes off old results as new.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Mapping, Sequence, Tuple

from pyg_dss.io import load_json
from pyg_dss.train.checkpoint import load_training_state, plain_config

__all__ = ["NOT_RESULTS", "VARIANT_LABELS", "config_differences", "run_or_reuse",
           "markdown_table"]

#: The model variants in the order of the paper's tables, with their names there.
VARIANT_LABELS = {"siamese-ds": "Siamese + DeepSets", "dss-sum": "DSS (sum)",
                  "dss-max": "DSS (max)", "dss-mean": "DSS (mean)",
                  "sridhar": "Sridhar et al.", "aittala": "Aittala et al."}

#: Options that do not change a run's results (ignored when matching runs).
NOT_RESULTS = ("out", "resume", "overwrite", "progress", "plots", "plot_worst", "workers",
               "device")


def config_differences(stored: Mapping[str, Any], requested: Mapping[str, Any],
                       defaults: Mapping[str, Any] = {},
                       ignore: Sequence[str] = NOT_RESULTS) -> List[str]:
    r"""``"key: stored -> requested"`` for every option (but :obj:`ignore`)
    whose values differ, both completed by :obj:`defaults`."""
    old = plain_config(dict(defaults, **stored))
    new = plain_config(dict(defaults, **requested))
    return [f"{k}: {old.get(k)!r} -> {new[k]!r}" for k in sorted(new)
            if k not in ignore and old.get(k) != new[k]]


def run_or_reuse(config: Dict[str, Any], run: Callable[[Dict[str, Any]], Dict[str, Any]],
                 defaults: Mapping[str, Any] = {}, ignore: Sequence[str] = NOT_RESULTS,
                 force: bool = False) -> Tuple[Dict[str, Any], str]:
    r"""Runs :obj:`config` in ``config["out"]`` with :obj:`run`, or reuses /
    resumes what is there when its configuration is the same; returns
    ``(metrics, what was done)``.  :obj:`run` takes a config dict with
    ``resume`` and ``overwrite`` and returns the metrics (with ``config``)."""
    metrics_path = os.path.join(config["out"], "metrics.json")
    ckpt_path = os.path.join(config["out"], "checkpoint.pt")
    why = "new run"
    if not force and os.path.isfile(metrics_path):
        metrics = load_json(metrics_path, what="metrics file of a finished run")
        diff = config_differences(metrics["config"], config, defaults, ignore)
        if not diff:
            return metrics, f"reused {metrics_path}"
        why = f"rerun, the finished run differs ({'; '.join(diff)})"
    elif not force and os.path.isfile(ckpt_path):
        stored = load_training_state(ckpt_path)["config"]
        diff = config_differences(stored, config, defaults, ignore)
        if not diff:
            return run(dict(config, resume=True, overwrite=False)), \
                "resumed from its checkpoint"
        why = f"rerun, the stopped run differs ({'; '.join(diff)})"
    return run(dict(config, resume=False, overwrite=True)), why


def markdown_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    """The lines of a Markdown table (rows shorter than :obj:`head` are padded)."""
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = list(row) + [""] * (len(head) - len(row))
        lines.append("| " + " | ".join(cells) + " |")
    return lines
