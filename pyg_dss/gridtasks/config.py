r"""The options of a grid-experiment run: the defaults every task shares,
those of each task, what ``--config paper`` fixes, and the completed
configuration of one run (:func:`task_config`)."""
from __future__ import annotations

from typing import Any, Dict, Mapping, Tuple

from pyg_dss.datasets.grid.tasks import GRID_TASKS
from pyg_dss.nn.dense.paper import UNET_SIZES

__all__ = ["COMMON_DEFAULTS", "TASK_DEFAULTS", "KEPT_ON_RESUME", "PAPER_SETTINGS",
           "CONFIGS", "task_config"]

#: The two configurations: this package's networks and sizes, or the authors'.
CONFIGS = ("default", "paper")

#: Defaults of every task (sizes chosen for a 2-core CPU).
COMMON_DEFAULTS: Dict[str, Any] = dict(
    config="default", variant="dss-sum", epochs=6, batch_size=16, lr=1e-3, seed=0,
    train_sets=256, test_sets=256, size=32, image_root=None, video_root=None, source="photos",
    device="auto")

#: The options that differ per task.
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

#: Options a ``--resume`` takes from the stored run (the rest may change).
KEPT_ON_RESUME = ("task", "config", "variant", "batch_size", "lr", "seed", "train_sets",
                  "test_sets", "size", "set_size", "hidden", "kernel_size", "corruption",
                  "level", "noise", "length", "blur", "gap", "split_by", "source",
                  "image_root", "video_root")

#: What ``--config paper`` fixes per task (the datasets' ``.paper``
#: constructors and the authors' networks): these options cannot be given.
PAPER_SETTINGS: Dict[str, Dict[str, Any]] = {
    "signals": dict(set_size=25, length=100, noise=3.0, size=None, hidden=None,
                    kernel_size=None),
    "selection": dict(set_size=20, size=64, hidden=None, kernel_size=None),
    "channels": dict(size=UNET_SIZES["channels"], hidden=None, kernel_size=None),
    "deblur": dict(size=UNET_SIZES["deblur"], hidden=None, kernel_size=None),
}


def task_config(options: Mapping[str, Any]) -> Dict[str, Any]:
    r"""The full configuration of one run: :obj:`options` (``task`` and the
    options given; ``None`` means not given) over the task's defaults; with
    ``config="paper"`` the paper's fixed settings, refusing any of them
    given, and refusing ``"frames"`` (no paper network)."""
    task = options.get("task")
    if task not in GRID_TASKS:
        raise ValueError(f"Unknown task {task!r}; choose one of {GRID_TASKS}.")
    given = {k: v for k, v in options.items() if v is not None}
    cfg = {**COMMON_DEFAULTS, **TASK_DEFAULTS[task], **given}
    if cfg["config"] not in CONFIGS:
        raise ValueError(f"config must be one of {CONFIGS}, got {cfg['config']!r}.")
    if cfg["config"] == "paper":
        if task == "frames":
            raise ValueError("--config paper: the paper's code has no frame-ordering network; "
                             "run 'frames' with --config default.")
        fixed: Tuple[str, ...] = tuple(k for k in PAPER_SETTINGS[task] if k in given)
        if fixed:
            names = ", ".join("--" + k.replace("_", "-") for k in fixed)
            raise ValueError(f"--config paper fixes {names} for {task!r} (the authors' "
                             "network and data); drop them or use --config default.")
        cfg.update(PAPER_SETTINGS[task])
    return cfg
