r"""Bookkeeping of training runs: every random
state (for an exact ``--resume``), a per-epoch log that batch jobs can read,
a guard against non-finite losses, and a one-line report of options that a
resume keeps from the stored run.

All of it is plain data: a state from :func:`capture_rng_state` goes into a
checkpoint and loads back with ``torch.load(..., weights_only=True)``.
"""
from __future__ import annotations

import json
import os
import random
from typing import Any, Dict, Iterable, List, Mapping, Optional

import numpy as np
import torch
from torch import Tensor

from pyg_dss.io import atomic_write_text

__all__ = ["capture_rng_state", "restore_rng_state", "NonFiniteLossError", "check_finite",
           "EpochLog", "kept_options_message"]


def capture_rng_state(*generators: torch.Generator) -> Dict[str, Any]:
    r"""The state of every random number generator a training loop draws
    from: Python's :mod:`random`, NumPy's global generator, torch's CPU and
    CUDA generators, and any :obj:`generators` (e.g. a
    :class:`~torch.utils.data.DataLoader`'s ``generator``), as tensors and
    plain values."""
    np_state: Any = np.random.get_state()  # a tuple (legacy=True, the default)
    py_state = random.getstate()
    return {
        "python": [py_state[0], list(py_state[1]), py_state[2]],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                  int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "generators": [g.get_state() for g in generators],
    }


def restore_rng_state(state: Mapping[str, Any], *generators: torch.Generator) -> None:
    """Puts back a state from :func:`capture_rng_state` (the same
    :obj:`generators`, in the same order)."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    if len(state["generators"]) != len(generators):
        raise ValueError(f"The stored state has {len(state['generators'])} generator(s), "
                         f"{len(generators)} given.")
    for g, s in zip(generators, state["generators"], strict=True):
        g.set_state(s)


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


def check_finite(loss: Tensor, epoch: int, batch: int) -> None:
    r"""Raises :class:`NonFiniteLossError` naming the epoch and batch if
    :obj:`loss` is NaN or infinite.  Call it before ``backward()``: the
    optimizer has not stepped and BatchNorm statistics of the next forward
    are not yet updated, so the last checkpoint stays a clean restart point.
    (The BatchNorm running statistics of *this* forward have already seen the
    batch; stop the run rather than continue it.)"""
    if not bool(torch.isfinite(loss.detach()).all()):
        raise NonFiniteLossError(
            f"The training loss is {float(loss.detach().reshape(-1)[0])} at epoch {epoch}, "
            f"batch {batch}; the run was stopped before the optimizer step. Look for NaN or "
            "inf in the input data, or lower the learning rate; --resume continues from the "
            "last clean checkpoint.")


class EpochLog:
    r"""A per-epoch log as JSON lines (one object per epoch), rewritten
    atomically at every :meth:`append`, so that a killed run never leaves
    half a line and a resumed run continues it without duplicates.

    Args:
        path: the ``.jsonl`` file.
        records: the epochs logged so far (e.g. from a checkpoint); the file
            is rewritten to hold exactly these.
    """
    def __init__(self, path: str, records: Iterable[Mapping[str, Any]] = ()) -> None:
        self.path = path
        self.records: List[Dict[str, Any]] = [dict(r) for r in records]
        self._write()

    def append(self, record: Mapping[str, Any]) -> None:
        self.records.append(dict(record))
        self._write()

    def _write(self) -> None:
        text = "".join(json.dumps(r, allow_nan=False) + "\n" for r in self.records)
        atomic_write_text(text, self.path)

    @staticmethod
    def read(path: str) -> List[Dict[str, Any]]:
        """The records of a log file (a damaged line names the file)."""
        out: List[Dict[str, Any]] = []
        if not os.path.isfile(path):
            return out
        with open(path) as f:
            for k, line in enumerate(f, 1):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"Line {k} of '{path}' is not valid JSON ({e}).") from None
        return out


def kept_options_message(stored: Mapping[str, Any], requested: Mapping[str, Any],
                         keys: Iterable[str]) -> Optional[str]:
    r"""One line naming the options of :obj:`keys` whose :obj:`requested`
    value differs from the :obj:`stored` run's, and saying that the stored
    values are kept; :obj:`None` if none differ."""
    diffs = [f"{k}={_show(requested[k])} (kept {_show(stored.get(k))})" for k in keys
             if k in requested and _plain(requested[k]) != _plain(stored.get(k))]
    if not diffs:
        return None
    return ("--resume keeps the stored run's configuration; ignored: " + ", ".join(diffs)
            + ". Start a new --out to change them.")


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _show(value: Any) -> str:
    value = _plain(value)
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
