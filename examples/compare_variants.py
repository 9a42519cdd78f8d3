r"""The paper's comparison (Maron et al., ICML 2020, Table 3 "shape selection"):
every model variant on both modalities, a few seeds each, same data.

    python examples/compare_variants.py                       # 6 variants x 2 modalities x 3 seeds
    python examples/compare_variants.py --seeds 0 --epochs 4  # a quicker look
    python examples/compare_variants.py --variants dss-sum siamese-ds --modalities mesh

Every run is one call of :func:`faust_first_frame.run` with its own folder
``<out>/<modality>-<variant>-seed<k>/``. A finished run (its ``metrics.json``)
is reused only if its whole configuration equals the requested one; a run
stopped midway (its ``checkpoint.pt``) with the same configuration is resumed
exactly; anything else is run again from scratch, with a line saying which
options differ (``--force`` reruns everything). So an interrupted sweep picks
up where it stopped, and a changed option never passes off old results as
new. Writes ``<out>/results.md`` (mean +- std test accuracy per variant and
modality, the chance level and, for reference, the paper's Dynamic FAUST
numbers), ``<out>/results.png`` (the same as a bar chart) and
``<out>/results.json`` (every run), each atomically.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faust_first_frame import (DEFAULTS, MODALITIES, add_data_and_training_args,  # noqa: E402
                               dataset_missing_error, load_checkpoint, run)
from pyg_dss.io import atomic_write, atomic_write_json, atomic_write_text, load_json  # noqa: E402
from pyg_dss.nn import VARIANTS  # noqa: E402

#: Options that do not change a run's results (ignored when matching runs).
NOT_RESULTS = ("out", "resume", "progress", "plots", "plot_worst", "workers")

LABELS = {"siamese-ds": "Siamese + DeepSets", "dss-sum": "DSS (sum)", "dss-max": "DSS (max)",
          "dss-mean": "DSS (mean)", "sridhar": "Sridhar et al.", "aittala": "Aittala et al."}
ORDER = ("siamese-ds", "dss-sum", "dss-max", "dss-mean", "sridhar", "aittala")
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


def differences(stored: Dict[str, Any], requested: Dict[str, Any]) -> List[str]:
    r"""``"key: stored -> requested"`` for every option (but
    :data:`NOT_RESULTS`) whose values differ."""
    stored, requested = dict(DEFAULTS, **stored), dict(DEFAULTS, **requested)
    plain = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731
    return [f"{k}: {stored[k]!r} -> {requested[k]!r}" for k in sorted(requested)
            if k not in NOT_RESULTS and plain(stored.get(k)) != plain(requested[k])]


def run_or_reuse(cfg: Dict[str, Any], force: bool = False) -> tuple:
    r"""Runs :obj:`cfg` in ``cfg["out"]``, or reuses / resumes what is there
    when its configuration is the same; returns ``(metrics, what was done)``."""
    metrics_path = os.path.join(cfg["out"], "metrics.json")
    ckpt_path = os.path.join(cfg["out"], "checkpoint.pt")
    why = "new run"
    if not force and os.path.isfile(metrics_path):
        metrics = load_json(metrics_path, what="metrics file of a finished run")
        diff = differences(metrics["config"], cfg)
        if not diff:
            return metrics, f"reused {metrics_path}"
        why = f"rerun, the finished run differs ({'; '.join(diff)})"
    elif not force and os.path.isfile(ckpt_path):
        diff = differences(load_checkpoint(ckpt_path)["config"], cfg)
        if not diff:
            return run(dict(cfg, resume=True)), "resumed from its checkpoint"
        why = f"rerun, the stopped run differs ({'; '.join(diff)})"
    return run(dict(cfg, resume=False)), why


def run_all(base: Dict, variants: Sequence[str], modalities: Sequence[str],
            seeds: Sequence[int], out: str, force: bool = False) -> List[Dict]:
    r"""Runs (or reuses) every (modality, variant, seed); returns one record
    per run."""
    records = []
    total = len(variants) * len(modalities) * len(seeds)
    k = 0
    for modality in modalities:
        for variant in variants:
            for seed in seeds:
                k += 1
                run_dir = os.path.join(out, f"{modality}-{variant}-seed{seed}")
                print(f"[{k}/{total}] {modality} {variant} seed {seed} ...", flush=True)
                metrics, done = run_or_reuse(dict(base, model=variant, modality=modality,
                                                  seed=seed, out=run_dir), force)
                print(f"    {done}: test accuracy {metrics['test_accuracy']:.1%}, Kendall tau "
                      f"{metrics['test_kendall_tau']:.3f}, {metrics['wall_time_s']:.0f} s",
                      flush=True)
                records.append({"modality": modality, "variant": variant, "seed": seed,
                                "test_accuracy": metrics["test_accuracy"],
                                "test_kendall_tau": metrics["test_kendall_tau"],
                                "chance": metrics["chance"],
                                "wall_time_s": metrics["wall_time_s"],
                                "epochs": len(metrics["epochs"]), "out": run_dir})
    return records


def summarize(records: List[Dict], key: str = "test_accuracy") -> Dict:
    r"""``{modality: {variant: (mean, std, count)}}`` of :obj:`key`, in %
    for accuracies (std over seeds, ddof=0)."""
    scale = 100.0 if key == "test_accuracy" else 1.0
    table: Dict[str, Dict[str, tuple]] = {}
    for r in records:
        table.setdefault(r["modality"], {}).setdefault(r["variant"], []).append(r[key] * scale)
    return {m: {v: (float(np.mean(x)), float(np.std(x)), len(x)) for v, x in row.items()}
            for m, row in table.items()}


def markdown_table(records: List[Dict], dataset: str, command: str) -> str:
    acc, tau = summarize(records), summarize(records, "test_kendall_tau")
    modalities = [m for m in ("points", "mesh") if m in acc]
    variants = [v for v in ORDER if any(v in acc[m] for m in modalities)]
    seeds = sorted({r["seed"] for r in records})
    chance = 100.0 * records[0]["chance"]
    lines = [f"Test accuracy (%) for picking the first frame, mean ± std over seeds "
             f"{seeds}, on `{dataset}`; the paper's Dynamic FAUST numbers (Maron et al. "
             f"2020, Table 3) beside them for reference. Kendall tau: rank correlation "
             f"of the scores with the true temporal order (1 = perfect).", ""]
    head = ["Model"]
    for m in modalities:
        head += [f"{MODALITY_LABEL[m]}: ours", f"{MODALITY_LABEL[m]}: paper (DFAUST)",
                 f"{MODALITY_LABEL[m]}: Kendall tau"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for v in variants:
        row = [LABELS[v]]
        for m in modalities:
            if v in acc[m]:
                mean, std, _ = acc[m][v]
                tmean, tstd, _ = tau[m][v]
                row += [f"{mean:.2f} ± {std:.2f}", _paper(m, v), f"{tmean:.3f} ± {tstd:.3f}"]
            else:
                row += ["", _paper(m, v), ""]
        lines.append("| " + " | ".join(row) + " |")
    row = ["chance (1/n)"]
    for _ in modalities:
        row += [f"{chance:.2f}", f"{PAPER_CHANCE:.2f}", "0"]
    lines.append("| " + " | ".join(row) + " |")
    wall = sum(r["wall_time_s"] for r in records)
    lines += ["", f"{len(records)} runs, {records[0]['epochs']} epochs each, "
              f"{wall / 60:.1f} min in all. Command: `{command}`", ""]
    return "\n".join(lines)


def _paper(modality: str, variant: str) -> str:
    value = PAPER_DFAUST.get(modality, {}).get(variant)
    return "—" if value is None else f"{value:.2f}"


def bar_chart(records: List[Dict], path: str, dataset: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    acc = summarize(records)
    modalities = [m for m in ("points", "mesh") if m in acc]
    variants = [v for v in ORDER if any(v in acc[m] for m in modalities)]
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
    ax.set_xticks(xs, [LABELS[v] for v in variants], rotation=15, fontsize=8)
    ax.set_ylabel("test accuracy (%)")
    seeds = sorted({r["seed"] for r in records})
    ax.set_title(f"First-frame selection on {dataset}: mean ± std over {len(seeds)} "
                 f"seed(s)", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Run every model variant on both modalities with a few seeds and "
                    "write the paper-style table (Markdown) and a bar chart.")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(ORDER),
                        help="model variants (default: all)")
    parser.add_argument("--modalities", nargs="+", choices=MODALITIES,
                        default=["points", "mesh"], help="modalities (default: both)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="seeds (default: 0 1 2)")
    parser.add_argument("--out", default=os.path.join("runs", "compare"),
                        help="output folder (default: %(default)s)")
    parser.add_argument("--force", action="store_true",
                        help="rerun every run, even those whose metrics.json or checkpoint "
                             "has the same configuration")
    add_data_and_training_args(parser)
    parser.set_defaults(progress=False, plots=False)
    parser.add_argument("--plots", dest="plots", action="store_true",
                        help="write each run's PNGs too (off by default)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    base = {k: v for k, v in vars(args).items() if k in DEFAULTS}
    command = "python examples/compare_variants.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    t0 = time.time()
    try:
        records = run_all(base, args.variants, args.modalities, args.seeds, args.out,
                          args.force)
    except dataset_missing_error() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    atomic_write_json({"command": command, "runs": records},
                      os.path.join(args.out, "results.json"))
    table = markdown_table(records, args.dataset, command.strip())
    atomic_write_text(table, os.path.join(args.out, "results.md"))
    bar_chart(records, os.path.join(args.out, "results.png"), args.dataset)
    print("\n" + table)
    print(f"wrote {args.out}/results.md, results.png, results.json "
          f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
