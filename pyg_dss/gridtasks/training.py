r"""One training run of a grid experiment (:func:`run_grid_task`): new
training sets every epoch, fixed validation and test sets, the package's
loop (:func:`pyg_dss.train.train_epoch`), one checkpoint per epoch for an
exact ``--resume``, ``epochs.jsonl``, ``metrics.json`` and a figure of one
test set, all in a locked run folder."""
from __future__ import annotations

import os
import time
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.nn import Module
from torch.utils.data import DataLoader

from pyg_dss.checkpoint import load_model
from pyg_dss.datasets.grid.tasks import grid_task_dataset
from pyg_dss.gridtasks.config import KEPT_ON_RESUME, task_config
from pyg_dss.gridtasks.metrics import HEADLINES, chance_level, evaluate_grid_task
from pyg_dss.gridtasks.models import grid_task_loss, grid_task_model
from pyg_dss.io import atomic_write_json
from pyg_dss.gridtasks.figures import plot_grid_task_example
from pyg_dss.train import (EpochLog, Progress, RunFolder, capture_rng_state, interactive,
                           kept_options_message, load_training_state, plain_config,
                           restore_rng_state, save_training_state, setup_distributed,
                           train_epoch)

__all__ = ["TEST_SEED", "run_grid_task"]

#: Test sets are drawn with this seed whatever the run's seed: every variant
#: and seed is tested on the same sets (validation sets with ``TEST_SEED + 1``).
TEST_SEED = 987654


def run_grid_task(config: Mapping[str, Any]) -> Dict[str, Any]:
    r"""Trains and tests one (task, variant, seed) in ``config["out"]``
    (locked while it runs; ``resume`` / ``overwrite`` as in
    :class:`~pyg_dss.train.RunFolder`); returns the metrics, also written
    to ``metrics.json``.  :obj:`config`: ``task``, ``out`` and any options
    of :func:`~pyg_dss.gridtasks.config.task_config` (``None``: not given)."""
    with RunFolder(config["out"], resume=bool(config.get("resume")),
                   overwrite=bool(config.get("overwrite"))):
        return _train(config)


def _start(config: Mapping[str, Any],
           ckpt_path: str) -> Tuple[Dict[str, Any], Optional[Dict[str, Any]]]:
    """The run's configuration and its stored training state (``None`` for a new run)."""
    if not config.get("resume"):
        return task_config({k: v for k, v in config.items()
                            if k not in ("resume", "overwrite")}), None
    if not os.path.isfile(ckpt_path):
        raise FileNotFoundError(f"--resume: no checkpoint at '{ckpt_path}'.")
    ckpt = load_training_state(ckpt_path)
    given = {k: v for k, v in config.items() if v is not None}
    message = kept_options_message(ckpt["config"], given, KEPT_ON_RESUME)
    if message:
        print(message)
    return dict(ckpt["config"], out=config["out"],
                **{k: given[k] for k in ("epochs", "device") if k in given}), ckpt


def _train(config: Mapping[str, Any]) -> Dict[str, Any]:
    t0 = time.time()
    ckpt_path = os.path.join(config["out"], "checkpoint.pt")
    cfg, ckpt = _start(config, ckpt_path)
    device = setup_distributed(cfg["device"])[2]
    task, name = cfg["task"], f"[{cfg['task']} {cfg['variant']}]"
    test_set = grid_task_dataset(cfg, "test", cfg["test_sets"], TEST_SEED)
    val_set = grid_task_dataset(cfg, "val", max(cfg["batch_size"], cfg["test_sets"] // 4),
                                TEST_SEED + 1)
    start_epoch, history = 1, []
    if ckpt is None:
        torch.manual_seed(cfg["seed"])
        np.random.seed(cfg["seed"])
        model = grid_task_model(cfg, test_set[0][0].size(1))
    else:
        model = load_model(ckpt_path)[0]
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    if ckpt is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
        restore_rng_state(ckpt["rng"])
        start_epoch, history = ckpt["epoch"] + 2, list(ckpt["history"])  # stored from 0
    log = EpochLog(os.path.join(cfg["out"], "epochs.jsonl"), history)

    def step(model: Module, batch: Sequence[Tensor]) -> Tuple[Tensor, Dict[str, float]]:
        batch = [t.to(device) for t in batch]
        loss = grid_task_loss(task, model(batch[0]), batch)
        n = float(batch[0].size(0))
        return loss, {"loss": float(loss.detach()) * n, "count": n}

    for epoch in range(start_epoch, cfg["epochs"] + 1):
        train = grid_task_dataset(cfg, "train", cfg["train_sets"], cfg["seed"] * 100003 + epoch)
        generator = torch.Generator().manual_seed(cfg["seed"] * 7919 + epoch)
        te = time.time()
        progress = Progress(DataLoader(train, batch_size=cfg["batch_size"], shuffle=True,
                                       generator=generator),
                            desc=f"{name} epoch {epoch}", bar=interactive())
        sums = train_epoch(model, progress, optimizer, step, epoch=epoch, progress=progress)
        val = evaluate_grid_task(task, model, val_set, cfg["batch_size"], device)
        record = {"epoch": epoch, "train_loss": sums["loss"] / sums["count"],
                  "time_s": time.time() - te, **{f"val_{k}": v for k, v in val.items()}}
        log.append(record)
        progress.write(f"{name} epoch {epoch}: " + ", ".join(
            f"{k} {v:.4g}" for k, v in record.items() if k != "epoch"))
        save_training_state(ckpt_path, model, optimizer, epoch - 1, log.records, cfg,
                            capture_rng_state(), time.time() - t0)
    test = evaluate_grid_task(task, model, test_set, cfg["batch_size"], device)
    plot_grid_task_example(cfg, model.cpu(), test_set, os.path.join(cfg["out"], "example.png"))
    metric, _, label = HEADLINES[task]
    metrics = {"task": task, "variant": cfg["variant"], "seed": cfg["seed"],
               "config": plain_config(cfg), "epochs": log.records, "test": test,
               "chance": chance_level(cfg), "headline": metric, "num_test_sets": len(test_set),
               "parameters": sum(p.numel() for p in model.parameters()),
               "wall_time_s": time.time() - t0}
    atomic_write_json(metrics, os.path.join(cfg["out"], "metrics.json"))
    shown = {k: 100 * v if k == "accuracy" else v for k, v in test.items()}
    summary = ", ".join(f"{k}{' (%)' if k == 'accuracy' else ''} {v:.4g}"
                        for k, v in shown.items())
    print(f"{name[:-1]} seed {cfg['seed']}] test: {summary} (headline: {label}; "
          f"{metrics['wall_time_s']:.0f} s) -> {cfg['out']}")
    return metrics
