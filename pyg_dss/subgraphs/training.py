r"""DS-GNN and DSS-GNN on bags of subgraphs (Bevilacqua et al., *Equivariant
Subgraph Aggregation Networks*, ICLR 2022): the run behind
``examples/subgraph_gnn.py``.

Each graph becomes the bag of its subgraphs chosen by a policy; the model
(:class:`~pyg_dss.nn.SubgraphGNN`, or ESAN's published network with
``config="esan"``, :meth:`~pyg_dss.nn.SubgraphGNN.esan`) is trained with
:func:`pyg_dss.train.train_epoch` on CSL (built in), EXP or SR25 (the user's
files) with cross-validation, or on ZINC-12k (PyG's loader) with its splits.

Outputs go to ``out``: ``metrics.json`` (config, per-fold results, the
published reference), ``epochs.jsonl``, ``learning_curve.png`` and
``checkpoint.pt`` (everything ``resume`` needs to continue exactly).

The pieces a user of the library needs are :func:`make_datasets`,
:func:`make_model`, :func:`bag_step` (with :func:`~pyg_dss.train.train_epoch`)
and :func:`evaluate`; :func:`run` takes a config dict and returns the metrics.
"""
from __future__ import annotations

import argparse
import copy
import datetime
import os
import os.path as osp
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module
from torch_geometric.loader import DataLoader
from torch_geometric.transforms import BaseTransform, Compose

from pyg_dss.checkpoint import load_model
from pyg_dss.datasets import CSL, EXP, SR25, ZINCBags, default_root
from pyg_dss.datasets.csl import stratified_folds
from pyg_dss.datasets.restricted_pickle import UnsafePickleError
from pyg_dss.io import atomic_write_json
from pyg_dss.nn import CONVS, SubgraphGNN
from pyg_dss.nn.subgraph_gnn import NORMS, ZINC_ATOM_TYPES
from pyg_dss.train import (EpochLog, HelpFormatter, Progress, RunFolder, UsageError,
                           add_run_folder_arguments, capture_rng_state, count, fraction,
                           interactive, kept_options_message, load_training_state, plain_config,
                           positive_int, restore_rng_state, run_command, save_training_state,
                           train_epoch)
from pyg_dss.train.curves import plot_curves
from pyg_dss.train.norm_statistics import recompute_batch_norm
from pyg_dss.transforms import POLICIES, SampleSubgraphs, SubgraphBag, SubgraphOneHotDegree

__all__ = ["DATASETS", "MODELS", "CONFIGS", "TASKS", "DEFAULTS", "ESAN_TRAINING", "REFERENCE",
           "EXPERIMENT_KEYS", "with_defaults", "bag_transform", "make_datasets", "make_model",
           "loss_and_metric", "bag_step", "evaluate", "run", "build_parser", "main"]

DATASETS = ("csl", "exp", "sr25", "zinc")
MODELS = ("gin", "ds", "dss")
#: "default": :class:`~pyg_dss.nn.SubgraphGNN` with the options below;
#: "esan": ESAN's published network for the dataset (:meth:`SubgraphGNN.esan`).
CONFIGS = ("default", "esan")
#: Per dataset: the kind of target ("classes", "binary" or "regression"), the
#: number of outputs, the node feature size and ESAN's configuration (None:
#: ESAN published none).  ZINC's atom types are embedded (28 in PyG's table;
#: ESAN's network embeds the 21 of the 12k subset).
TASKS: Dict[str, Dict[str, Any]] = {
    "csl": dict(kind="classes", out=10, features=1, esan="csl"),
    "exp": dict(kind="binary", out=1, features=1, esan="exp"),
    "sr25": dict(kind="classes", out=15, features=1, esan=None),
    "zinc": dict(kind="regression", out=1, features=28, esan="zinc"),
}
#: Published numbers (theirs, not measured here), for metrics.json and the printout.
REFERENCE = {
    "csl": "ESAN (Bevilacqua et al., ICLR 2022): CSL accuracy 100 % for DS-GNN and DSS-GNN "
           "with the ED/ND/EGO/EGO+ policies, GIN 10 % (5-fold cross-validation).",
    "exp": "ESAN (Bevilacqua et al., ICLR 2022): EXP accuracy 100 % for DS-GNN and DSS-GNN "
           "(EGO+), GIN 50 % (10-fold cross-validation).",
    "sr25": "ESAN (Bevilacqua et al., ICLR 2022) publish no SR25 number; 1-WL (GIN) tells "
            "none of its 15 strongly regular graphs apart: 1/15 = 6.7 %.",
    "zinc": "ESAN (Bevilacqua et al., ICLR 2022), ZINC-12k test MAE: DSS-GNN (GIN, EGO+) "
            "0.102 +- 0.003, DS-GNN (GIN, EGO+) 0.116 +- 0.009 (10 seeds, 400 epochs).",
}
#: Per-dataset defaults.  ESAN's: 4-hop ego-nets on CSL, 3-hop on ZINC and EXP;
#: GINE reads ZINC's bond types; BatchNorm on ZINC.  CSL: 6 layers, because
#: 1-WL needs 4 rounds to tell the node-deleted subgraphs of its 10 classes
#: apart and 5 for the edge-deleted ones; GraphNorm, which computes the same
#: in training and evaluation.  Sized so that one CSL run takes minutes on 2
#: CPU cores.  SR25 trains and tests on all 15 graphs (one per class).
DEFAULTS: Dict[str, Dict[str, Any]] = {
    "csl": dict(conv="gin", num_hops=4, hidden=32, layers=6, norm="graph", epochs=40,
                batch_size=8, lr=1e-3, lr_step=30, folds=5, eval_every=5),
    "exp": dict(conv="gin", num_hops=3, hidden=32, layers=6, norm="graph", epochs=40,
                batch_size=32, lr=1e-3, lr_step=30, folds=10, eval_every=5),
    "sr25": dict(conv="gin", num_hops=2, hidden=32, layers=6, norm="graph", epochs=40,
                 batch_size=8, lr=1e-3, lr_step=30, folds=1, eval_every=5),
    "zinc": dict(conv="gine", num_hops=3, hidden=64, layers=4, norm="batch", epochs=100,
                 batch_size=128, lr=1e-3, lr_step=0, folds=1, eval_every=1),
}
#: With config "esan": ESAN's training settings where they differ from
#: DEFAULTS (CSL: Adam lr 0.01, halved every 50 epochs).  Explicit options win.
ESAN_TRAINING: Dict[str, Dict[str, Any]] = {"csl": dict(lr=1e-2, lr_step=50)}
#: What --resume keeps from the stored run (everything that defines the experiment).
EXPERIMENT_KEYS = ("dataset", "config", "model", "policy", "conv", "num_hops", "keep_all_nodes",
                   "hidden", "layers", "norm", "batch_size", "lr", "lr_step", "folds",
                   "fraction", "seed", "limit", "root", "eval_every")


# ---------------------------------------------------------------------------
# Configuration, data and model
# ---------------------------------------------------------------------------
def with_defaults(config: Dict[str, Any]) -> Dict[str, Any]:
    """:obj:`config` with every unset option filled in (the command line's
    defaults, then those of its dataset and configuration); a combination
    that cannot run is a :class:`UsageError`."""
    cfg = {**vars(build_parser().parse_args([])), **config}
    dataset, esan = cfg["dataset"], cfg["config"] == "esan"
    if esan:
        if TASKS[dataset]["esan"] is None:
            raise UsageError(f"--config esan: ESAN published no {dataset.upper()} "
                             "configuration; use --config default.")
        for key in ("conv", "norm"):
            if cfg.get(key) is not None:
                raise UsageError(f"--config esan fixes the network: drop --{key}.")
        for key, value in ESAN_TRAINING.get(dataset, {}).items():
            if cfg.get(key) is None:
                cfg[key] = value
    for key, value in DEFAULTS[dataset].items():
        # ESAN's width, depth and base layer are its own (hidden / layers override).
        if cfg.get(key) is None and not (esan and key in ("conv", "norm", "hidden", "layers")):
            cfg[key] = value
    if cfg["model"] == "gin":
        if cfg.get("policy") not in (None, "original"):
            raise UsageError("--model gin runs a plain GNN on the graph itself; drop --policy.")
        cfg["policy"] = "original"
    elif cfg.get("policy") in (None, "original"):
        cfg["policy"] = cfg.get("policy") or "node_deleted"
    if cfg["conv"] == "gine" and dataset != "zinc":
        raise UsageError(f"{dataset.upper()} has no edge features; use --conv gin, gcn or "
                         "graphconv.")
    if dataset == "sr25" and cfg["folds"] != 1:
        raise UsageError("SR25 holds one graph per class: it trains and tests on all of them; "
                         "drop --folds.")
    return cfg


def bag_transform(cfg: Dict[str, Any]) -> BaseTransform:
    """The bag of every graph (the policy, or the graph alone for a plain
    GNN); with ESAN's CSL network, each subgraph's one-hot degrees as its
    node features (``SubgraphOneHotDegree(5, cat=False)``, as ESAN)."""
    bag = SubgraphBag(cfg["policy"], num_hops=cfg["num_hops"],
                      keep_all_nodes=cfg["keep_all_nodes"])
    if cfg["config"] == "esan" and cfg["dataset"] == "csl":
        return Compose([bag, SubgraphOneHotDegree(5, cat=False)])
    return bag


Splits = List[Tuple[Any, Optional[Any], Any]]


def _folds(cfg: Dict[str, Any], dataset: Any) -> Splits:
    """Stratified cross-validation (train, None, test) over :obj:`dataset`,
    or one split that trains and tests on every graph with ``folds=1``."""
    if cfg["folds"] == 1:
        everything = torch.arange(len(dataset))
        return [(dataset[everything], None, dataset[everything])]
    y = torch.cat([dataset[i].y.view(-1) for i in range(len(dataset))])
    smallest = int(torch.bincount(y).min())
    if cfg["folds"] > smallest:
        raise UsageError(f"--folds {cfg['folds']}: the smallest class has {smallest} graphs; "
                         f"use at most {smallest} folds.")
    return [(dataset[tr], None, dataset[te])
            for tr, te in stratified_folds(y, cfg["folds"], cfg["seed"])]


def make_datasets(cfg: Dict[str, Any]) -> Splits:
    """The (train, validation or None, test) splits of the run: one per fold."""
    bag, limit = bag_transform(cfg), cfg["limit"]
    name = cfg["dataset"]
    root = cfg["root"] or default_root(name.upper())
    try:
        if name == "csl":
            return _folds(cfg, CSL(pre_transform=bag, graphs_per_class=limit or 15))
        if name in ("exp", "sr25"):
            graphs = (EXP if name == "exp" else SR25)(root, pre_transform=bag)
            return _folds(cfg, graphs[:limit] if limit else graphs)
        splits = [ZINCBags(root, bag, split=s) for s in ("train", "val", "test")]
    except FileNotFoundError as e:  # EXP, SR25: the user's files; ZINC: offline
        raise UsageError(f"{e} (--root)") from None
    if limit:
        splits = [s[:limit] for s in splits]
    return [(splits[0], splits[1], splits[2])]


def make_model(cfg: Dict[str, Any]) -> Module:
    """The network of the run: :class:`SubgraphGNN` with the run's options, or
    ESAN's published one (``config="esan"``)."""
    task = TASKS[cfg["dataset"]]
    variant = "ds" if cfg["model"] == "gin" else cfg["model"]
    if cfg["config"] == "esan":
        # CSL: one-hot degrees 0..5; ZINC-12k: ESAN embeds its 21 atom types.
        features = {"csl": 6, "zinc": ZINC_ATOM_TYPES}.get(cfg["dataset"], task["features"])
        sizes = {k: v for k, v in (("hidden", cfg["hidden"]), ("num_layers", cfg["layers"]))
                 if v is not None}
        return SubgraphGNN.esan(task["esan"], features, task["out"], variant, cfg["policy"],
                                **sizes)
    common: Dict[str, Any] = dict(
        variant=variant, conv=cfg["conv"], hidden=cfg["hidden"], num_layers=cfg["layers"],
        norm=cfg["norm"], policy_aware=cfg["policy"] == "ego_nets_plus",
        set_hidden=(cfg["hidden"], cfg["hidden"]))
    if cfg["dataset"] != "zinc":
        return SubgraphGNN(task["features"], task["out"], **common)
    return SubgraphGNN(task["features"], 1, categorical=True,
                       edge_dim=4 if cfg["conv"] == "gine" else None, **common)


# ---------------------------------------------------------------------------
# Training and evaluation
# ---------------------------------------------------------------------------
def loss_and_metric(out: Tensor, y: Tensor, kind: str) -> Tuple[Tensor, float]:
    """(loss, summed metric) for a target :obj:`kind` of :data:`TASKS`:
    cross-entropy and hits for classes, binary cross-entropy on the logit and
    hits for binary, L1 and the summed absolute error for regression."""
    if kind == "classes":
        return F.cross_entropy(out, y.view(-1)), float((out.detach().argmax(1) == y.view(-1))
                                                       .sum())
    if kind == "binary":
        logit, target = out.view(-1), y.view(-1)
        hits = ((logit.detach() > 0).long() == target).sum()
        return F.binary_cross_entropy_with_logits(logit, target.float()), float(hits)
    err = (out.view(-1) - y.view(-1)).abs()
    return err.mean(), float(err.detach().sum())


def bag_step(kind: str) -> Callable[[Module, Any], Tuple[Tensor, Dict[str, float]]]:
    """The training step of :func:`pyg_dss.train.train_epoch` for a target kind."""
    def step(model: Module, batch: Any) -> Tuple[Tensor, Dict[str, float]]:
        loss, metric = loss_and_metric(model(batch), batch.y, kind)
        n = batch.y.numel()
        return loss, {"loss": loss.item() * n, "metric": metric, "count": float(n)}
    return step


@torch.no_grad()
def evaluate(model: Module, loader: Any, device: torch.device, kind: str) -> float:
    """Accuracy (classes, binary) or MAE (regression), in evaluation mode."""
    model.eval()
    metric_sum = total = 0.0
    for batch in loader:
        batch = batch.to(device)
        metric_sum += loss_and_metric(model(batch), batch.y, kind)[1]
        total += batch.y.numel()
    return metric_sum / total


# ---------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------
def default_out(config: Dict[str, Any]) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    policy = config["policy"] or ("original" if config["model"] == "gin" else "node_deleted")
    return osp.join("runs", f"{stamp}-{config['dataset']}-{config['model']}-{policy}")


def _network(cfg: Dict[str, Any]) -> str:
    return f"ESAN {TASKS[cfg['dataset']]['esan']}" if cfg["config"] == "esan" else cfg["conv"]


def run(config: Dict[str, Any]) -> Dict[str, Any]:
    r"""Trains and evaluates one configuration; returns the metrics (also
    written to ``<out>/metrics.json``)."""
    cfg = with_defaults(config)
    t_start = time.time()
    if cfg["device"].startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"--device {cfg['device']}: torch sees no CUDA device (use auto or cpu).")
    device = torch.device("cuda" if cfg["device"] == "auto" and torch.cuda.is_available()
                          else ("cpu" if cfg["device"] == "auto" else cfg["device"]))
    if cfg["out"] is None:
        cfg["out"] = default_out(cfg)
    with RunFolder(cfg["out"], resume=cfg["resume"], overwrite=cfg["overwrite"]):
        return _train(cfg, device, t_start)


def _train(cfg: Dict[str, Any], device: torch.device, t_start: float) -> Dict[str, Any]:
    ckpt_path = osp.join(cfg["out"], "checkpoint.pt")
    bars = cfg["progress"] if cfg["progress"] is not None else interactive()

    state = None
    if cfg["resume"]:
        if not osp.isfile(ckpt_path):
            raise UsageError(f"--resume: no checkpoint at '{ckpt_path}'.")
        state = load_training_state(ckpt_path, ("scheduler", "fold", "results"))
        model = load_model(ckpt_path)[0]
        stored = dict(state["config"])
        stored.setdefault("config", "default")  # runs stored before ESAN's networks
        message = kept_options_message(stored, cfg, EXPERIMENT_KEYS)
        if message:
            print(message, file=sys.stderr)
        for key in EXPERIMENT_KEYS:
            cfg[key] = stored[key]
        if state["results"] and cfg["epochs"] != stored["epochs"]:
            raise UsageError(f"--resume: {len(state['results'])} fold(s) of this run already "
                             f"finished with {stored['epochs']} epochs; --epochs can change "
                             "only while the first fold runs. Start a new --out.")

    kind = TASKS[cfg["dataset"]]["kind"]
    metric = "mae" if kind == "regression" else "accuracy"
    splits = make_datasets(cfg)
    log = EpochLog(osp.join(cfg["out"], "epochs.jsonl"),
                   state["history"] if state is not None else ())
    results: List[Dict[str, Any]] = list(state["results"]) if state is not None else []
    wall_before = float(state["wall_s"]) if state is not None else 0.0
    print(f"{cfg['model']} ({_network(cfg)}) on {cfg['dataset']}, policy {cfg['policy']}: "
          f"{len(splits)} fold(s), {cfg['epochs']} epochs, on {device}.", flush=True)

    for fold, (train_set, val_set, test_set) in enumerate(splits):
        if fold < len(results):
            continue  # finished before a resume
        start_epoch = 0
        generator = torch.Generator()
        if state is not None and int(state["fold"]) == fold:
            model = model.to(device)
            start_epoch = int(state["epoch"]) + 1
        else:
            torch.manual_seed(cfg["seed"] * 1000 + fold)
            generator.manual_seed(cfg["seed"] * 1000 + fold)
            model = make_model(cfg).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
        scheduler: Any = (torch.optim.lr_scheduler.StepLR(optimizer, cfg["lr_step"], gamma=0.5)
                          if cfg["lr_step"] else
                          torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5,
                                                                     patience=20))
        if start_epoch:
            assert state is not None
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            restore_rng_state(state["rng"], generator)
        state = None
        train_bags = copy.copy(train_set)  # its own transform; the statistics use full bags
        if cfg["fraction"] < 1.0:
            train_bags.transform = SampleSubgraphs(cfg["fraction"])
        train_loader = DataLoader(train_bags, batch_size=cfg["batch_size"], shuffle=True,
                                  generator=generator)
        stats_loader = DataLoader(train_set, batch_size=cfg["batch_size"])
        test_loader = DataLoader(test_set, batch_size=cfg["batch_size"])
        val_loader = DataLoader(val_set, batch_size=cfg["batch_size"]) if val_set else None

        for epoch in range(start_epoch, cfg["epochs"]):
            t0 = time.time()
            progress = Progress(train_loader, f"fold {fold} epoch {epoch + 1}/{cfg['epochs']}",
                                bar=bars, enabled=cfg["progress"] is not False,
                                every_batches=cfg["log_every"])
            sums = train_epoch(model, (batch.to(device) for batch in progress), optimizer,
                               bag_step(kind), epoch=epoch + 1, progress=progress)
            record = {"fold": fold, "epoch": epoch + 1,
                      "train_loss": sums["loss"] / sums["count"],
                      "lr": optimizer.param_groups[0]["lr"],
                      f"train_{metric}": sums["metric"] / sums["count"]}
            shown = ""
            if (epoch + 1) % cfg["eval_every"] == 0 or epoch + 1 == cfg["epochs"]:
                # The running BatchNorm statistics lag behind the weights: set them
                # to the statistics of the full training bags (a no-op for
                # GraphNorm, which has none).
                recompute_batch_norm(model, stats_loader, device)
                if val_loader is not None:
                    record[f"val_{metric}"] = evaluate(model, val_loader, device, kind)
                    shown = f", val {metric} {record[f'val_{metric}']:.4f}"
                record[f"test_{metric}"] = evaluate(model, test_loader, device, kind)
                shown += f", test {metric} {record[f'test_{metric}']:.4f}"
            if cfg["lr_step"]:
                scheduler.step()
            elif f"val_{metric}" in record:
                scheduler.step(record[f"val_{metric}"])
            record["seconds"] = time.time() - t0
            log.append(record)
            line = (f"fold {fold} epoch {epoch + 1}/{cfg['epochs']}: train loss "
                    f"{record['train_loss']:.4f}{shown} ({record['seconds']:.1f} s)")
            progress.write(line) if bars else print(line, flush=True)
            save_training_state(ckpt_path, model, optimizer, epoch, log.records, cfg,
                                capture_rng_state(generator),
                                wall_before + time.time() - t_start,
                                scheduler=scheduler.state_dict(), fold=fold, results=results)
        last = [r for r in log.records if r["fold"] == fold][-1]
        results.append({"fold": fold, **{k: v for k, v in last.items()
                                         if k.startswith(("test_", "val_", "train_"))}})
    return _finish(cfg, device, results, log, wall_before + time.time() - t_start)


def _finish(cfg: Dict[str, Any], device: torch.device, results: List[Dict[str, Any]],
            log: EpochLog, wall_s: float) -> Dict[str, Any]:
    """Writes metrics.json (and the learning curve) and returns the metrics."""
    kind = TASKS[cfg["dataset"]]["kind"]
    key = "test_mae" if kind == "regression" else "test_accuracy"
    values = [r[key] for r in results]
    chance = {"classes": 1.0 / TASKS[cfg["dataset"]]["out"], "binary": 0.5}.get(kind)
    metrics = {
        "config": plain_config(cfg), "device": str(device), "folds": results,
        f"{key}_mean": statistics.fmean(values),
        f"{key}_std": statistics.pstdev(values) if len(values) > 1 else 0.0,
        "chance": chance, "reference_published": REFERENCE[cfg["dataset"]], "wall_time_s": wall_s,
    }
    atomic_write_json(metrics, osp.join(cfg["out"], "metrics.json"))
    if cfg["plots"] and log.records:
        accuracy = kind != "regression"
        plot_curves(log.records, osp.join(cfg["out"], "learning_curve.png"),
                    f"{cfg['model']} ({_network(cfg)}), {cfg['policy']} on {cfg['dataset']}",
                    "test_accuracy" if accuracy else "val_mae",
                    "test accuracy" if accuracy else "validation MAE",
                    group="fold" if accuracy else None, chance=chance,
                    ylim=(0, 1.02) if accuracy else None)
    return metrics


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def build_parser(prog: Optional[str] = None) -> argparse.ArgumentParser:
    """The options of the run (one per key of :func:`run`'s config)."""
    p = argparse.ArgumentParser(
        prog=prog, formatter_class=HelpFormatter,
        description="DS-GNN / DSS-GNN on bags of subgraphs (ESAN, ICLR 2022): CSL\n"
                    "(built in), EXP or SR25 (your files), cross-validated, or ZINC-12k "
                    "(PyG's loader).",
        epilog="Per-dataset defaults: " + "; ".join(
            f"{name}: " + ", ".join(f"{k}={v}" for k, v in d.items())
            for name, d in DEFAULTS.items()))
    p.add_argument("--dataset", choices=DATASETS, default="csl", help="the graphs")
    p.add_argument("--config", choices=CONFIGS, default="default",
                   help="default: SubgraphGNN with the options below; esan: ESAN's published "
                        "network for the dataset (SubgraphGNN.esan; CSL gets one-hot degrees "
                        "per subgraph, lr 0.01 halved every 50 epochs) (default: %(default)s)")
    p.add_argument("--model", choices=MODELS, default="dss",
                   help="dss: DSS-GNN; ds: DS-GNN; gin: a plain GNN (the --conv base) on the "
                        "graph itself (default: %(default)s)")
    p.add_argument("--policy", choices=[q for q in POLICIES if q != "original"], default=None,
                   help="subgraph selection policy (default: node_deleted)")
    p.add_argument("--num-hops", type=positive_int, default=None,
                   help="depth of the ego-nets (default: 4 on CSL, 3 on ZINC and EXP, as ESAN)")
    p.add_argument("--partial-subgraphs", dest="keep_all_nodes", action="store_false",
                   help="subgraphs hold only their own nodes (default: every subgraph keeps "
                        "every node, the others isolated, as ESAN's code)")
    p.add_argument("--conv", choices=CONVS, default=None,
                   help="base layer (default: gine on ZINC, gin elsewhere)")
    p.add_argument("--hidden", type=positive_int, default=None,
                   help="layer width (default: 32, 64 on ZINC; ESAN's with --config esan)")
    p.add_argument("--layers", type=positive_int, default=None,
                   help="number of layers (default: 6, 4 on ZINC; ESAN's with --config esan)")
    p.add_argument("--norm", choices=NORMS, default=None,
                   help="normalisation after every layer: over the batch (ESAN's BatchNorm) or "
                        "over each bag (GraphNorm) (default: batch on ZINC, graph elsewhere)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="epochs per fold (default: 40, 100 on ZINC)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="graphs per step (default: 8, 32 on EXP, 128 on ZINC)")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (default: 0.001)")
    p.add_argument("--lr-step", type=int, default=None,
                   help="halve the learning rate every N epochs (0: on a validation "
                        "plateau) (default: 30, 0 on ZINC)")
    p.add_argument("--folds", type=positive_int, default=None,
                   help="cross-validation folds (default: 5 on CSL, 10 on EXP; 1 trains and "
                        "tests on all graphs, as on SR25)")
    p.add_argument("--fraction", type=fraction, default=1.0,
                   help="ESAN's stochastic variant: train on this random part of every bag, "
                        "redrawn each epoch (default: 1, the full bag)")
    p.add_argument("--eval-every", type=positive_int, default=None,
                   help="evaluate every N epochs and at the last (default: 5, 1 on ZINC)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="quick runs: N graphs per class on CSL (of 15), the first N graphs "
                        "of EXP or SR25, of every split of ZINC (default: all)")
    p.add_argument("--root", default=None,
                   help="folder of EXP, SR25 (raw/ inside) or ZINC (default: "
                        "$PYG_DSS_HOME/<DATASET>, else ~/.cache/pyg-dss/<DATASET>)")
    p.add_argument("--seed", type=int, default=0, help="seed of the weights, folds and draws")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    add_run_folder_arguments(p, "runs/<date-time>-<dataset>-<model>-<policy>")
    p.add_argument("--no-plots", dest="plots", action="store_false", help="no learning curve")
    p.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="progress bars (default: when stdout is a terminal)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bars or lines within an epoch")
    p.add_argument("--log-every", type=count, default=0, metavar="N",
                   help="without a terminal: a progress line every N batches within an "
                        "epoch (0: one every minute)")
    return p


def report(metrics: Dict[str, Any]) -> int:
    """Prints the result beside the published one; returns the exit status."""
    cfg = metrics["config"]
    name = cfg["dataset"].upper()
    if "test_mae_mean" in metrics:
        print(f"\n{name} test MAE {metrics['test_mae_mean']:.4f}; "
              f"{metrics['wall_time_s']:.0f} s")
    else:
        print(f"\n{name} test accuracy {metrics['test_accuracy_mean']:.1%} +- "
              f"{metrics['test_accuracy_std']:.1%} over {len(metrics['folds'])} fold(s) "
              f"(chance {metrics['chance']:.0%}); {metrics['wall_time_s']:.0f} s")
    print(f"published: {metrics['reference_published']}")
    print(f"outputs in {os.path.abspath(cfg['out'])}: metrics.json, epochs.jsonl, "
          f"learning_curve.png, checkpoint.pt")
    return 0


def main(argv: Optional[Sequence[str]] = None, prog: Optional[str] = None) -> int:
    """The command line: parses :obj:`argv`, runs, reports; returns the exit status."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if args.resume and args.out is None:
        parser.error("--resume needs --out DIR (the folder of the run to continue)")
    config = vars(args)
    if config["out"] is None:  # known here, for the line after Ctrl-C
        config["out"] = default_out(config)
    # A refused pickle (EXP's file) is the user's file, not a bug: one line.
    return run_command(lambda: report(run(config)), out=lambda: config["out"],
                       errors=(UnsafePickleError, ))
