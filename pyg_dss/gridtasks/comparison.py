r"""Every variant of a grid experiment over seeds (:func:`compare_grid_task`,
runs reused or resumed through :func:`pyg_dss.train.run_or_reuse`) and its
Markdown table with the published numbers beside ours
(:func:`grid_results_table`)."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

from pyg_dss.gridtasks.config import task_config
from pyg_dss.gridtasks.metrics import HEADLINES
from pyg_dss.gridtasks.published import PAPER_CITATION, published_columns
from pyg_dss.gridtasks.training import run_grid_task
from pyg_dss.train import VARIANT_LABELS, markdown_table, run_or_reuse

__all__ = ["compare_grid_task", "grid_results_table"]

_EXTRA_NAMES = {"mae": "mean absolute error (0-255)", "kendall_tau": "Kendall tau",
                "psnr": "PSNR (dB)"}
_BASELINE_NAMES = {"channels": "grayscale prediction (trivial)",
                   "deblur": "mean of the burst (trivial)"}


def compare_grid_task(base: Mapping[str, Any], task: str, variants: Sequence[str],
                      seeds: Sequence[int], out: str, force: bool = False,
                      ) -> List[Dict[str, Any]]:
    r"""Runs (or reuses, when their configuration is the same) every
    (variant, seed) of :obj:`task` in ``out/task/<variant>-seed<k>``;
    returns their metrics."""
    # what an option not given means in this configuration (the paper's fixed settings too)
    defaults = task_config({"task": task, "config": base.get("config")})
    records = []
    for variant in variants:
        for seed in seeds:
            run_dir = os.path.join(out, task, f"{variant}-seed{seed}")
            metrics, done = run_or_reuse(
                dict(base, task=task, variant=variant, seed=seed, out=run_dir), run_grid_task,
                defaults, force=force)
            print(f"[{task} {variant} seed {seed}] {done}")
            records.append(metrics)
    return records


def _mean_std(values: Sequence[float]) -> str:
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}"


def grid_results_table(task: str, records: Sequence[Mapping[str, Any]], command: str) -> str:
    r"""The Markdown table of one task's runs: per variant our headline
    metric (mean ± std over seeds), the other metrics, size and time, then
    the published numbers for the matching data (marked as published), the
    trivial baselines and chance; and the configuration and command."""
    metric, higher, label = HEADLINES[task]
    cfg = records[0]["config"]
    by_variant: Dict[str, List[Mapping[str, Any]]] = {}
    for r in records:
        by_variant.setdefault(r["variant"], []).append(r)
    test_keys = list(records[0]["test"])
    extra = [k for k in test_keys if k != metric and not k.startswith("baseline")]
    published = published_columns(cfg)
    names = dict(_EXTRA_NAMES, accuracy="all 3 channels right (%)" if task == "channels"
                 else "accuracy (%)")
    head = ["model", f"ours: {label}"] + [f"ours: {names.get(k, k)}" for k in extra] + [
        "parameters", "time / run"] + [name for name, _ in published]
    rows = []
    for v in [v for v in VARIANT_LABELS if v in by_variant] + [
            v for v in by_variant if v not in VARIANT_LABELS]:
        rs = by_variant[v]
        scale = 100.0 if metric == "accuracy" else 1.0
        row = [VARIANT_LABELS.get(v, v), _mean_std([r["test"][metric] * scale for r in rs])]
        row += [f"{np.mean([r['test'][k] * (100 if k == 'accuracy' else 1) for r in rs]):.3f}"
                for k in extra]
        row += [f"{rs[0]['parameters']:,}", f"{np.mean([r['wall_time_s'] for r in rs]):.0f} s"]
        rows.append(row + [values.get(v, "—") for _, values in published])
    columns = [metric] + extra
    # the published reference is the trivial prediction for errors, chance for accuracies
    refs = [values["reference"] for _, values in published]
    baselines = [k for k in test_keys if k.startswith("baseline_")]
    if baselines:  # the trivial prediction, each of its metrics in that metric's column
        cells = [""] * (len(columns) + 2)
        for k in baselines:
            value = np.mean([r["test"][k] for r in records])
            cells[columns.index(k[len("baseline_"):])] = f"{value:.2f}"
        rows.append([_BASELINE_NAMES.get(task, "trivial prediction"), *cells,
                     *(refs if not higher else [])])
    if records[0]["chance"] is not None and "accuracy" in columns:
        cells = [""] * (len(columns) + 2)
        cells[columns.index("accuracy")] = f"{100 * records[0]['chance']:.2f}"
        rows.append(["chance", *cells, *(refs if higher else [])])
    seeds = sorted({r["seed"] for r in records})
    lines = [f"**{task}** ({label}, {'higher' if higher else 'lower'} is better; ours: mean ± "
             f"std over seeds {seeds}, {records[0]['num_test_sets']} fixed test sets)", ""]
    lines += markdown_table(head, rows)
    lines += ["", f"Ours: {_describe(cfg)}. Command: `{command}`", "", _caveat(cfg, published)]
    return "\n".join(lines) + "\n"


def _caveat(cfg: Mapping[str, Any], published: Sequence[Any]) -> str:
    if not published:
        return ("No published numbers for this setting (the paper shows the signal "
                "experiment as a figure, and image selection at the levels 10, 30, 50 only).")
    source = f"Published: {PAPER_CITATION}, on the paper's data, networks and training."
    if cfg.get("config") == "paper":
        return (source + " Ours ran the authors' networks (`--config paper`) on this "
                "package's data and a short training, so compare the ordering of the variants, "
                "not the values.")
    return (source + " Ours ran this package's smaller networks and data (`--config "
            "default`): not expected to match the published values.")


def _describe(cfg: Mapping[str, Any]) -> str:
    keys = ["config", "epochs", "train_sets", "batch_size", "lr", "size", "set_size", "length",
            "hidden", "corruption", "level", "noise", "blur", "gap", "split_by", "source"]
    unused = {"signals": ("size", "source"), "frames": ("source",)}.get(cfg["task"], ())
    return ", ".join(f"{k}={cfg[k]}" for k in keys
                     if cfg.get(k) is not None and k not in unused)
