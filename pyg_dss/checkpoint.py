r"""Checkpoints that carry their model's configuration: a model saved with
:func:`save_model` is rebuilt by :func:`load_model` in one call, with no
code of the caller's and no unsafe unpickling.

A checkpoint is a plain dict of tensors and JSON-like data (loadable with
``torch.load(..., weights_only=True)``)::

    {"format": "pyg_dss.checkpoint/1", "model_class": "DSSNet",
     "model_config": {...}, "state_dict": {...}, ...extra keys}

Any model class decorated with :func:`register_model` can be saved: it has a
``config`` property (a dict of plain values) and a ``from_config``
classmethod that rebuilds it.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple, Type

from torch.nn import Module

from pyg_dss.io import UnreadableFileError, atomic_torch_save, safe_torch_load

__all__ = ["FORMAT", "register_model", "save_model", "load_model", "model_from_checkpoint"]

FORMAT = "pyg_dss.checkpoint/1"
MODELS: Dict[str, Type[Module]] = {}


def register_model(cls: Type[Module]) -> Type[Module]:
    """Class decorator: makes :obj:`cls` (with ``config`` and
    ``from_config``) loadable by :func:`load_model`."""
    if not hasattr(cls, "from_config") or not hasattr(cls, "config"):
        raise TypeError(f"{cls.__name__} needs a 'config' property and a 'from_config' "
                        "classmethod to be registered.")
    MODELS[cls.__name__] = cls
    return cls


def save_model(path: str, model: Module, **extra: Any) -> None:
    r"""Writes :obj:`model` (its class, configuration and weights) and any
    :obj:`extra` plain data (epoch, metrics, ...) to :obj:`path` atomically."""
    name = type(model).__name__
    if MODELS.get(name) is not type(model):
        raise TypeError(f"{name} is not a registered pyg-dss model; decorate it with "
                        "pyg_dss.checkpoint.register_model, or save its state_dict.")
    reserved = {"format", "model_class", "model_config", "state_dict"} & set(extra)
    if reserved:
        raise ValueError(f"Extra keys {sorted(reserved)} are reserved by the checkpoint format.")
    atomic_torch_save({"format": FORMAT, "model_class": name, "model_config": model.config,
                       "state_dict": model.state_dict(), **extra}, path)


def model_from_checkpoint(checkpoint: Dict[str, Any], path: str = "checkpoint") -> Module:
    r"""Builds the model a loaded checkpoint dict describes and loads its
    weights (the model is on the CPU, in training mode)."""
    import pyg_dss.nn  # noqa: F401  (registers the package's models)

    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint)
        raise UnreadableFileError(
            f"'{path}' is not a pyg-dss model checkpoint (format {found!r}, expected "
            f"{FORMAT!r}). Bare state_dicts cannot be rebuilt: build the model yourself and "
            "call load_state_dict.")
    name = checkpoint["model_class"]
    if name not in MODELS:
        raise UnreadableFileError(f"'{path}' holds a {name!r} model, which this version of "
                                  f"pyg-dss does not know (known: {sorted(MODELS)}).")
    model = MODELS[name].from_config(dict(checkpoint["model_config"]))
    model.load_state_dict(checkpoint["state_dict"])
    return model


def load_model(path: str, map_location: Any = "cpu") -> Tuple[Module, Dict[str, Any]]:
    r"""Loads a checkpoint written by :func:`save_model` (safely:
    ``weights_only=True``, no fallback) and returns ``(model, checkpoint)``,
    the model rebuilt from its configuration with its weights, in training
    mode (call ``.eval()`` to predict), and the whole checkpoint dict."""
    checkpoint = safe_torch_load(path, map_location, what="model checkpoint")
    return model_from_checkpoint(checkpoint, path), checkpoint
