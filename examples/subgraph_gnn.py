r"""Bags of subgraphs: DS-GNN and DSS-GNN (Bevilacqua et al., *Equivariant
Subgraph Aggregation Networks*, ICLR 2022) on CSL and ZINC.

Each graph becomes the bag of its subgraphs chosen by a policy (node-deleted,
edge-deleted, ego-nets, ego-nets with the root marked); DS-GNN runs a GNN on
every subgraph independently and mixes the bag in a DeepSets readout, DSS-GNN
also shares across the bag in every layer (the GNN on the original graph,
applied to the mean of the copies of each node).  A plain GIN is the same
network on a bag that holds only the graph itself.

Run it::

    python examples/subgraph_gnn.py                                  # CSL, DSS-GNN, node-deleted
    python examples/subgraph_gnn.py --model gin                      # plain GIN: chance (10 %)
    python examples/subgraph_gnn.py --model ds --policy edge_deleted
    python examples/subgraph_gnn.py --policy ego_nets_plus --fraction 0.5   # ESAN's sampling
    python examples/subgraph_gnn.py --dataset zinc --root data/ZINC  # ZINC-12k (downloads)
    python examples/subgraph_gnn.py --out runs/a --resume --epochs 60      # continue run "a"

CSL (Murphy et al. 2019) is built in; it is evaluated with stratified 5-fold
cross-validation (the test accuracy of the last epoch of every fold, mean and
standard deviation).  ZINC-12k is read by PyG's own ``ZINC`` loader (it
downloads the raw files into ``--root``); the test MAE of the last epoch is
reported, as ESAN does.

Outputs go to ``--out`` (default ``runs/<time>-<dataset>-<model>-<policy>/``):
``metrics.json`` (config, per-fold or per-split results, the published
reference), ``epochs.jsonl`` (one line per epoch), ``learning_curve.png`` and
``checkpoint.pt`` (model, optimizer, scheduler, every random state: ``--resume``
continues exactly where the run stopped).
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
from typing import Any, Dict, List, Optional, Sequence
from urllib.error import URLError

import torch
import torch.nn.functional as F
from torch.optim.swa_utils import update_bn
from torch_geometric.loader import DataLoader

from pyg_dss.checkpoint import load_model
from pyg_dss.datasets import CSL, default_root
from pyg_dss.io import atomic_write_json
from pyg_dss.nn import CONVS, SubgraphGNN
from pyg_dss.nn.subgraph_gnn import NORMS
from pyg_dss.train import (EpochLog, HelpFormatter, Progress, RunFolder, UsageError,
                           add_run_folder_arguments, capture_rng_state, count, fraction,
                           interactive, kept_options_message, load_training_state, plain_config,
                           positive_int, restore_rng_state, run_command, save_training_state,
                           train_epoch)
from pyg_dss.train.curves import plot_curves
from pyg_dss.transforms import POLICIES, SampleSubgraphs, SubgraphBag

DATASETS = ("csl", "zinc")
MODELS = ("gin", "ds", "dss")
#: ZINC-12k: atom types and bond types (PyG's ``ZINC``; ESAN embeds them).
ZINC_ATOM_TYPES, ZINC_BOND_TYPES = 28, 4
#: Published numbers (theirs, not measured here), for metrics.json and the printout.
REFERENCE = {
    "csl": "ESAN (Bevilacqua et al., ICLR 2022): CSL accuracy 100 % for DS-GNN and DSS-GNN "
           "with the ED/ND/EGO/EGO+ policies, GIN 10 % (5-fold cross-validation).",
    "zinc": "ESAN (Bevilacqua et al., ICLR 2022), ZINC-12k test MAE: DSS-GNN (GIN, EGO+) "
            "0.102 +- 0.003, DS-GNN (GIN, EGO+) 0.116 +- 0.009 (10 seeds, 400 epochs).",
}

#: Per-dataset defaults.  ESAN's: 4-hop ego-nets on CSL, 3-hop on ZINC; GINE reads
#: ZINC's bond types; BatchNorm on ZINC.  CSL: 6 layers, because 1-WL needs 4
#: rounds to tell the node-deleted subgraphs of its 10 classes apart and 5 for the
#: edge-deleted ones (counted here with 1-WL colour refinement on the subgraphs);
#: GraphNorm, which computes the same in training and evaluation (see
#: SubgraphGNN).  Sized so that one CSL run takes minutes on 2 CPU cores.
DEFAULTS: Dict[str, Dict[str, Any]] = {
    "csl": dict(conv="gin", num_hops=4, hidden=32, layers=6, norm="graph", epochs=40,
                batch_size=8, lr=1e-3, lr_step=30, folds=5, eval_every=5),
    "zinc": dict(conv="gine", num_hops=3, hidden=64, layers=4, norm="batch", epochs=100,
                 batch_size=128, lr=1e-3, lr_step=0, folds=1, eval_every=1),
}
#: What --resume keeps from the stored run (everything that defines the experiment).
EXPERIMENT_KEYS = ("dataset", "model", "policy", "conv", "num_hops", "keep_all_nodes",
                   "hidden", "layers", "norm", "batch_size", "lr", "lr_step", "folds",
                   "fraction", "seed", "limit", "root", "eval_every")


# ---------------------------------------------------------------------------
# Data and model
# ---------------------------------------------------------------------------
def bag_transform(cfg: Dict[str, Any]) -> SubgraphBag:
    """The bag of every graph: the policy, or the graph alone for a plain GNN."""
    policy = "original" if cfg["model"] == "gin" else cfg["policy"]
    return SubgraphBag(policy, num_hops=cfg["num_hops"], keep_all_nodes=cfg["keep_all_nodes"])


def zinc_splits(cfg: Dict[str, Any]):
    """ZINC-12k (``subset=True``) through PyG's ``ZINC`` loader, one processed
    cache per bag transform next to the shared raw files."""
    from torch_geometric.datasets import ZINC

    transform = bag_transform(cfg)
    tag = repr(transform).replace(" ", "").replace("'", "")

    class ZINCBags(ZINC):
        @property
        def processed_dir(self) -> str:
            return osp.join(self.root, "subset", f"processed-{tag}")

    root = cfg["root"] or default_root("ZINC")
    try:
        splits = [ZINCBags(root, subset=True, split=s, pre_transform=transform)
                  for s in ("train", "val", "test")]
    except URLError as e:  # offline: PyG downloads the raw files on first use
        raise UsageError(f"ZINC could not be downloaded into '{root}' ({e.reason}); connect "
                         "to the internet once, or copy ZINC's raw files there (--root).") from None
    if cfg["limit"]:
        splits = [s[:cfg["limit"]] for s in splits]
    return splits


def make_model(cfg: Dict[str, Any]) -> SubgraphGNN:
    variant = "ds" if cfg["model"] == "gin" else cfg["model"]
    common = dict(variant=variant, conv=cfg["conv"], hidden=cfg["hidden"],
                  num_layers=cfg["layers"], norm=cfg["norm"],
                  policy_aware=cfg["policy"] == "ego_nets_plus" and cfg["model"] != "gin",
                  set_hidden=(cfg["hidden"], cfg["hidden"]))
    if cfg["dataset"] == "csl":
        return SubgraphGNN(1, 10, **common)
    return SubgraphGNN(ZINC_ATOM_TYPES, 1, categorical=True,
                       edge_dim=ZINC_BOND_TYPES if cfg["conv"] == "gine" else None, **common)


# ---------------------------------------------------------------------------
# Training and evaluation
# ---------------------------------------------------------------------------
def loss_and_metric(out: torch.Tensor, y: torch.Tensor, dataset: str):
    """(loss, summed metric): cross-entropy and hits on CSL, L1 and summed
    absolute error on ZINC."""
    if dataset == "csl":
        return F.cross_entropy(out, y), float((out.detach().argmax(1) == y).sum())
    err = (out.view(-1) - y.view(-1)).abs()
    return err.mean(), float(err.detach().sum())


def bag_step(dataset: str):
    """The training step of :func:`pyg_dss.train.train_epoch` on this dataset."""
    def step(model, batch):
        loss, metric = loss_and_metric(model(batch), batch.y, dataset)
        n = batch.y.numel()
        return loss, {"loss": loss.item() * n, "metric": metric, "count": float(n)}
    return step


@torch.no_grad()
def evaluate(model, loader, device, dataset: str) -> float:
    """Accuracy (CSL) or MAE (ZINC) in eval mode."""
    model.eval()
    metric_sum = count = 0.0
    for batch in loader:
        batch = batch.to(device)
        metric_sum += loss_and_metric(model(batch), batch.y, dataset)[1]
        count += batch.y.numel()
    return metric_sum / count


def recompute_norm_statistics(model, loader, device) -> None:
    r"""Sets every BatchNorm's running statistics to the exact statistics of
    the training bags under the current weights (``update_bn``) before
    evaluating: the running averages lag behind the weights.  Nothing to do
    for ``--norm graph``, which has no running statistics."""
    update_bn(loader, model, device=device)


# ---------------------------------------------------------------------------
# The whole run
# ---------------------------------------------------------------------------
def _with_defaults(config: Dict[str, Any]) -> Dict[str, Any]:
    cfg = dict(config)
    for key, value in DEFAULTS[cfg["dataset"]].items():
        if cfg.get(key) is None:
            cfg[key] = value
    if cfg["model"] == "gin":
        if cfg.get("policy") not in (None, "original"):
            raise UsageError("--model gin runs a plain GNN on the graph itself; drop --policy.")
        cfg["policy"] = "original"
    elif cfg.get("policy") in (None, "original"):
        cfg["policy"] = cfg.get("policy") or "node_deleted"
    if cfg["conv"] == "gine" and cfg["dataset"] == "csl":
        raise UsageError("CSL has no edge features; use --conv gin, gcn or graphconv.")
    return cfg


def default_out(config: Dict[str, Any]) -> str:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    policy = config["policy"] or ("original" if config["model"] == "gin" else "node_deleted")
    return osp.join("runs", f"{stamp}-{config['dataset']}-{config['model']}-{policy}")


def run(config: Dict[str, Any]) -> Dict[str, Any]:
    r"""Trains and evaluates one configuration; returns the metrics (also
    written to ``<out>/metrics.json``)."""
    cfg = _with_defaults(config)
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
        message = kept_options_message(stored, cfg, EXPERIMENT_KEYS)
        if message:
            print(message, file=sys.stderr)
        for key in EXPERIMENT_KEYS:
            cfg[key] = stored[key]
        if state["results"] and cfg["epochs"] != stored["epochs"]:
            raise UsageError(f"--resume: {len(state['results'])} fold(s) of this run already "
                             f"finished with {stored['epochs']} epochs; --epochs can change "
                             "only while the first fold runs. Start a new --out.")

    if cfg["dataset"] == "csl":
        dataset = CSL(pre_transform=bag_transform(cfg), graphs_per_class=cfg["limit"] or 15)
        try:
            folds = dataset.folds(cfg["folds"], seed=cfg["seed"]) if cfg["folds"] > 1 else \
                [(torch.arange(len(dataset)), torch.arange(len(dataset)))]
        except ValueError as e:
            raise UsageError(f"--folds {cfg['folds']}: {e}") from None
        splits = [(dataset[tr], None, dataset[te]) for tr, te in folds]
    else:
        train, val, test = zinc_splits(cfg)
        splits = [(train, val, test)]

    log = EpochLog(osp.join(cfg["out"], "epochs.jsonl"),
                   state["history"] if state is not None else ())
    results: List[Dict[str, Any]] = list(state["results"]) if state is not None else []
    wall_before = float(state["wall_s"]) if state is not None else 0.0
    print(f"{cfg['model']} ({cfg['conv']}) on {cfg['dataset']}, policy {cfg['policy']}: "
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
        scheduler = (torch.optim.lr_scheduler.StepLR(optimizer, cfg["lr_step"], gamma=0.5)
                     if cfg["lr_step"] else
                     torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5,
                                                                patience=20))
        if start_epoch:
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
                               bag_step(cfg["dataset"]), epoch=epoch + 1, progress=progress)
            tr = {"loss": sums["loss"] / sums["count"], "metric": sums["metric"] / sums["count"]}
            record = {"fold": fold, "epoch": epoch + 1, "train_loss": tr["loss"],
                      "lr": optimizer.param_groups[0]["lr"]}
            record["train_accuracy" if cfg["dataset"] == "csl" else "train_mae"] = tr["metric"]
            shown = ""
            if (epoch + 1) % cfg["eval_every"] == 0 or epoch + 1 == cfg["epochs"]:
                recompute_norm_statistics(model, stats_loader, device)
                if cfg["dataset"] == "csl":
                    record["test_accuracy"] = evaluate(model, test_loader, device, "csl")
                    shown = f", test acc {record['test_accuracy']:.3f}"
                else:
                    record["val_mae"] = evaluate(model, val_loader, device, "zinc")
                    record["test_mae"] = evaluate(model, test_loader, device, "zinc")
                    shown = f", val MAE {record['val_mae']:.4f} test MAE {record['test_mae']:.4f}"
            if cfg["lr_step"]:
                scheduler.step()
            elif "val_mae" in record:
                scheduler.step(record["val_mae"])
            record["seconds"] = time.time() - t0
            log.append(record)
            line = (f"fold {fold} epoch {epoch + 1}/{cfg['epochs']}: train loss "
                    f"{tr['loss']:.4f}{shown} ({record['seconds']:.1f} s)")
            progress.write(line) if bars else print(line, flush=True)
            save_training_state(ckpt_path, model, optimizer, epoch, log.records, cfg,
                                capture_rng_state(generator),
                                wall_before + time.time() - t_start,
                                scheduler=scheduler.state_dict(), fold=fold, results=results)
        last = [r for r in log.records if r["fold"] == fold][-1]
        results.append({"fold": fold, **{k: v for k, v in last.items()
                                         if k.startswith(("test_", "val_", "train_"))}})

    key = "test_accuracy" if cfg["dataset"] == "csl" else "test_mae"
    values = [r[key] for r in results]
    metrics = {
        "config": plain_config(cfg), "device": str(device), "folds": results,
        f"{key}_mean": statistics.fmean(values),
        f"{key}_std": statistics.pstdev(values) if len(values) > 1 else 0.0,
        "chance": 0.1 if cfg["dataset"] == "csl" else None,
        "reference_published": REFERENCE[cfg["dataset"]],
        "wall_time_s": wall_before + time.time() - t_start,
    }
    atomic_write_json(metrics, osp.join(cfg["out"], "metrics.json"))
    if cfg["plots"] and log.records:
        csl = cfg["dataset"] == "csl"
        plot_curves(log.records, osp.join(cfg["out"], "learning_curve.png"),
                    f"{cfg['model']} ({cfg['conv']}), {cfg['policy']} on {cfg['dataset']}",
                    "test_accuracy" if csl else "val_mae",
                    "test accuracy" if csl else "validation MAE", group="fold" if csl else None,
                    chance=0.1 if csl else None, ylim=(0, 1.02) if csl else None)
    return metrics


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        formatter_class=HelpFormatter,
        description="DS-GNN / DSS-GNN on bags of subgraphs (ESAN, ICLR 2022): CSL\n"
                    "(built in, 5-fold cross-validation) or ZINC-12k (PyG's loader).",
        epilog="Per-dataset defaults: " + "; ".join(
            f"{name}: " + ", ".join(f"{k}={v}" for k, v in d.items())
            for name, d in DEFAULTS.items()))
    p.add_argument("--dataset", choices=DATASETS, default="csl", help="the graphs")
    p.add_argument("--model", choices=MODELS, default="dss",
                   help="dss: DSS-GNN; ds: DS-GNN; gin: a plain GNN (the --conv base) on the "
                        "graph itself (default: %(default)s)")
    p.add_argument("--policy", choices=[q for q in POLICIES if q != "original"], default=None,
                   help="subgraph selection policy (default: node_deleted)")
    p.add_argument("--num-hops", type=positive_int, default=None,
                   help="depth of the ego-nets (default: 4 on CSL, 3 on ZINC, as ESAN)")
    p.add_argument("--partial-subgraphs", dest="keep_all_nodes", action="store_false",
                   help="subgraphs hold only their own nodes (default: every subgraph keeps "
                        "every node, the others isolated, as ESAN's code)")
    p.add_argument("--conv", choices=CONVS, default=None,
                   help="base layer (default: gin on CSL, gine on ZINC)")
    p.add_argument("--hidden", type=positive_int, default=None,
                   help="layer width (default: 32 on CSL, 64 on ZINC)")
    p.add_argument("--layers", type=positive_int, default=None,
                   help="number of layers (default: 6 on CSL, 4 on ZINC)")
    p.add_argument("--norm", choices=NORMS, default=None,
                   help="normalisation after every layer: over the batch (ESAN's BatchNorm) or "
                        "over each bag (GraphNorm) (default: graph on CSL, batch on ZINC)")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help="epochs per fold (default: 40 on CSL, 100 on ZINC)")
    p.add_argument("--batch-size", type=positive_int, default=None,
                   help="graphs per step (default: 8 on CSL, 128 on ZINC)")
    p.add_argument("--lr", type=float, default=None,
                   help="Adam learning rate (default: 0.001)")
    p.add_argument("--lr-step", type=int, default=None,
                   help="halve the learning rate every N epochs (0: on a validation "
                        "plateau) (default: 30 on CSL, 0 on ZINC)")
    p.add_argument("--folds", type=positive_int, default=None,
                   help="cross-validation folds on CSL (default: 5; 1 trains and tests on "
                        "all graphs)")
    p.add_argument("--fraction", type=fraction, default=1.0,
                   help="ESAN's stochastic variant: train on this random part of every bag, "
                        "redrawn each epoch (default: 1, the full bag)")
    p.add_argument("--eval-every", type=positive_int, default=None,
                   help="evaluate every N epochs and at the last (default: 5 on CSL, 1 on ZINC)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="quick runs: N graphs per class on CSL (of 15), the first N graphs "
                        "of every split on ZINC (default: all)")
    p.add_argument("--root", default=None, help="ZINC folder (default: $PYG_DSS_HOME/ZINC, else ~/.cache/pyg-dss/ZINC)")
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


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.resume and args.out is None:
        parser.error("--resume needs --out DIR (the folder of the run to continue)")
    config = vars(args)
    if config["out"] is None:  # known here, for the line after Ctrl-C
        config["out"] = default_out(config)
    return run_command(lambda: report(run(config)), out=lambda: config["out"])


def report(metrics: Dict[str, Any]) -> int:
    cfg = metrics["config"]
    if cfg["dataset"] == "csl":
        print(f"\nCSL test accuracy {metrics['test_accuracy_mean']:.1%} +- "
              f"{metrics['test_accuracy_std']:.1%} over {len(metrics['folds'])} fold(s) "
              f"(chance 10%); {metrics['wall_time_s']:.0f} s")
    else:
        print(f"\nZINC test MAE {metrics['test_mae_mean']:.4f}; {metrics['wall_time_s']:.0f} s")
    print(f"published: {metrics['reference_published']}")
    print(f"outputs in {os.path.abspath(cfg['out'])}: metrics.json, epochs.jsonl, "
          f"learning_curve.png, checkpoint.pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
