r"""The paper's comparison (Maron et al., ICML 2020, Table 3 "shape selection"):
every model variant on both modalities, a few seeds each, same data.

    python examples/compare_variants.py                       # 6 variants x 2 modalities x 3 seeds
    python examples/compare_variants.py --seeds 0 --epochs 4  # a quicker look
    python examples/compare_variants.py --variants dss-sum siamese-ds --modalities mesh

Every run is one :func:`pyg_dss.frames.training.run` in its own folder
``<out>/<modality>-<variant>-seed<k>/``, reused or resumed only when its whole
configuration is the requested one (:func:`pyg_dss.train.run_or_reuse`;
``--force`` reruns everything). Writes ``<out>/results.md`` (mean +- std test
accuracy per variant and modality, chance and the paper's Dynamic FAUST
numbers), ``<out>/results.png`` and ``<out>/results.json``, each atomically.
"""
import argparse
import os
import sys
import time

from pyg_dss.frames import training
from pyg_dss.frames.comparison import (MODALITY_LABEL, PAPER_CHANCE, PAPER_DFAUST, bar_chart,
                                      summarize)
from pyg_dss.io import atomic_write_json, atomic_write_text
from pyg_dss.nn import VARIANTS
from pyg_dss.train import (VARIANT_LABELS, HelpFormatter, markdown_table, run_command,
                           run_or_reuse)


def run_all(base, variants, modalities, seeds, out, force=False):
    """Runs (or reuses) every (modality, variant, seed); one record per run."""
    records, total = [], len(variants) * len(modalities) * len(seeds)
    for k, (modality, variant, seed) in enumerate(
            [(m, v, s) for m in modalities for v in variants for s in seeds], 1):
        run_dir = os.path.join(out, f"{modality}-{variant}-seed{seed}")
        print(f"[{k}/{total}] {modality} {variant} seed {seed} ...", flush=True)
        metrics, done = run_or_reuse(dict(base, model=variant, modality=modality, seed=seed,
                                          out=run_dir), training.run, training.DEFAULTS,
                                     force=force)
        print(f"    {done}: test accuracy {metrics['test_accuracy']:.1%}, Kendall tau "
              f"{metrics['test_kendall_tau']:.3f}, {metrics['wall_time_s']:.0f} s", flush=True)
        records.append({"modality": modality, "variant": variant, "seed": seed,
                        "epochs": len(metrics["epochs"]), "out": run_dir,
                        **{key: metrics[key] for key in ("test_accuracy", "test_kendall_tau",
                                                         "chance", "wall_time_s")}})
    return records


def table(records, dataset, command):
    acc, tau = summarize(records), summarize(records, "test_kendall_tau")
    modalities = [m for m in ("points", "mesh") if m in acc]
    variants = [v for v in VARIANT_LABELS if any(v in acc[m] for m in modalities)]
    head, rows = ["Model"], []
    for m in modalities:
        head += [f"{MODALITY_LABEL[m]}: {what}" for what in ("ours", "paper (DFAUST)",
                                                             "Kendall tau")]
    for v in variants:
        row = [VARIANT_LABELS[v]]
        for m in modalities:
            paper = PAPER_DFAUST.get(m, {}).get(v)
            cells = [f"{acc[m][v][0]:.2f} ± {acc[m][v][1]:.2f}",
                     f"{tau[m][v][0]:.3f} ± {tau[m][v][1]:.3f}"] if v in acc[m] else ["", ""]
            row += [cells[0], "—" if paper is None else f"{paper:.2f}", cells[1]]
        rows.append(row)
    rows.append(["chance (1/n)"] + [f"{100 * records[0]['chance']:.2f}",
                                    f"{PAPER_CHANCE:.2f}", "0"] * len(modalities))
    seeds = sorted({r["seed"] for r in records})
    wall = sum(r["wall_time_s"] for r in records)
    return "\n".join([
        f"Test accuracy (%) for picking the first frame, mean ± std over seeds {seeds}, on "
        f"`{dataset}`; the paper's Dynamic FAUST numbers (Maron et al. 2020, Table 3) beside "
        "them for reference. Kendall tau: rank correlation of the scores with the true "
        "temporal order (1 = perfect).", "", *markdown_table(head, rows), "",
        f"{len(records)} runs, {records[0]['epochs']} epochs each, {wall / 60:.1f} min in "
        f"all. Command: `{command}`", ""])


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=HelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANT_LABELS),
                        help="model variants")
    parser.add_argument("--modalities", nargs="+", choices=("mesh", "points"),
                        default=["points", "mesh"], help="modalities")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="seeds")
    parser.add_argument("--out", default=os.path.join("runs", "compare"), help="output folder")
    parser.add_argument("--force", action="store_true",
                        help="rerun every run, even those with the same configuration")
    training.add_data_and_training_args(parser)
    parser.set_defaults(progress=False, plots=False)
    parser.add_argument("--plots", dest="plots", action="store_true",
                        help="write each run's PNGs too (off by default)")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    base = {k: v for k, v in vars(args).items() if k in training.DEFAULTS}
    command = "python examples/compare_variants.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    t0 = time.time()
    records = run_all(base, args.variants, args.modalities, args.seeds, args.out, args.force)
    atomic_write_json({"command": command, "runs": records},
                      os.path.join(args.out, "results.json"))
    text = table(records, args.dataset, command.strip())
    atomic_write_text(text, os.path.join(args.out, "results.md"))
    bar_chart(records, os.path.join(args.out, "results.png"), args.dataset)
    print("\n" + text)
    print(f"wrote {args.out}/results.md, results.png, results.json ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(run_command(main, errors=training.DATASET_ERRORS))
