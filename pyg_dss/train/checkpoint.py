r"""The one checkpoint format of a training run, for an exact ``--resume``.

A training checkpoint is a :mod:`pyg_dss.checkpoint` model file (the model
rebuilds from it with :func:`~pyg_dss.checkpoint.load_model`) with these
entries besides the model, all plain data or tensors (loaded with
``weights_only=True``) and written atomically:

``optimizer`` (its ``state_dict``), ``rng`` (every random state, see
:func:`~pyg_dss.train.capture_rng_state`), ``epoch`` (the last finished
epoch, counted from 0), ``history`` (one record per finished epoch),
``config`` (the run's options, JSON types) and ``wall_s`` (seconds spent so
far); a run adds what else it needs (a scheduler, the best epoch, ...).
"""
from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping

from torch.nn import Module
from torch.optim import Optimizer

from pyg_dss.checkpoint import model_from_checkpoint, save_model
from pyg_dss.io import UnreadableFileError, safe_torch_load

__all__ = ["TRAINING_KEYS", "save_training_state", "load_training_state", "plain_config"]

#: The entries every training checkpoint holds (besides the model's own).
TRAINING_KEYS = ("optimizer", "rng", "epoch", "history", "config", "wall_s")


def plain_config(config: Mapping[str, Any]) -> Dict[str, Any]:
    """:obj:`config` as JSON types (tuples become lists): what checkpoints and
    ``metrics.json`` store, and what a resumed run compares with."""
    return json.loads(json.dumps(dict(config)))


def save_training_state(path: str, model: Module, optimizer: Optimizer, epoch: int,
                        history: List[Dict[str, Any]], config: Mapping[str, Any],
                        rng: Dict[str, Any], wall_s: float, **extra: Any) -> None:
    r"""Writes everything ``--resume`` needs to continue exactly after the
    finished :obj:`epoch` (counted from 0) to :obj:`path`, atomically."""
    save_model(path, model, optimizer=optimizer.state_dict(), rng=rng, epoch=epoch,
               history=list(history), config=plain_config(config), wall_s=float(wall_s),
               **extra)


def load_training_state(path: str, required: tuple = ()) -> Dict[str, Any]:
    r"""A checkpoint written by :func:`save_training_state` (safely; a damaged
    or foreign file raises :class:`~pyg_dss.io.UnreadableFileError` naming
    it), with :data:`TRAINING_KEYS` and the :obj:`required` extra entries."""
    fix = ("delete it to start over (or restore it from a backup); a run killed "
           "mid-save keeps its previous checkpoint, so this file was damaged afterwards")
    checkpoint = safe_torch_load(path, what="checkpoint", fix=fix)
    model_from_checkpoint(checkpoint, path)  # checks the format and that the model rebuilds
    for key in TRAINING_KEYS + tuple(required):
        if key not in checkpoint:
            raise UnreadableFileError(f"The checkpoint '{path}' has no '{key}' entry; it was "
                                      "not written by pyg-dss's --resume support.")
    return checkpoint
