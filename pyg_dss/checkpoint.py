r"""Checkpoints that carry their model's configuration: a model saved with
:func:`save_model` is rebuilt by :func:`load_model` in one call, with no
code of the caller's and no unsafe unpickling.

A checkpoint is a plain dict of tensors and JSON-like data (loadable with
``torch.load(..., weights_only=True)``): ``format``, ``model_class``,
``model_config``, ``state_dict`` and the extra keys given to
:func:`save_model`:

.. testcode::

    import torch
    from pyg_dss.checkpoint import load_model, save_model
    from pyg_dss.nn import DSSNet

    save_model("model.pt", DSSNet(3, base="gcn", variant="dss-sum"), epoch=5)
    checkpoint = torch.load("model.pt", weights_only=True)
    print(checkpoint["format"], checkpoint["model_class"], checkpoint["epoch"])
    model, checkpoint = load_model("model.pt")  # rebuilt from its configuration
    print(type(model).__name__, checkpoint["model_config"]["variant"])

.. testoutput::

    pyg_dss.checkpoint/1 DSSNet 5
    DSSNet dss-sum

Any model class decorated with :func:`register_model` can be saved: it has a
``config`` property (a dict of plain values) and a ``from_config``
classmethod that rebuilds it.
"""
from __future__ import annotations

import inspect
from typing import Any, Dict, Tuple, Type

import torch
from torch import Tensor
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


def _fail(path: str, field: str, why: str) -> UnreadableFileError:
    return UnreadableFileError(f"'{path}': {field} {why}; the checkpoint was edited or written "
                               f"by another program: use the file pyg-dss saved.")


def _plain(value: Any) -> bool:
    r"""JSON-like data: no class, tensor or other object a config could
    smuggle in (``weights_only`` admits some, e.g. ``DeviceMesh``)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _same_kind(value: Any, like: Any) -> bool:
    r"""Whether :obj:`value` has the type of the default :obj:`like`
    (numbers as numbers, sequences with items of the default's items)."""
    if isinstance(like, bool):
        return isinstance(value, bool)
    if isinstance(like, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(like, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(like, str):
        return isinstance(value, str)
    if isinstance(like, (list, tuple)):
        return isinstance(value, (list, tuple)) and (
            not like or all(_same_kind(v, like[0]) for v in value))
    return True


def _checked_config(cls: Type[Module], config: Any, path: str) -> Dict[str, Any]:
    r"""The configuration as keyword arguments of ``cls``: plain values, known
    fields, the types of the constructor's defaults."""
    if not isinstance(config, dict):
        raise _fail(path, "model_config", f"is a {type(config).__name__}, not a dict")
    params = inspect.signature(cls.__init__).parameters
    for name, value in config.items():
        if not isinstance(name, str) or name not in params or name == "self":
            raise _fail(path, f"model_config[{name!r}]", f"is not an argument of "
                        f"{cls.__name__} (it takes {[p for p in params if p != 'self']})")
        if not _plain(value):
            raise _fail(path, f"model_config[{name!r}]", f"holds a {type(value).__name__}; "
                        f"a config holds plain values only (names, numbers, lists)")
        default = params[name].default
        expected = (1 if params[name].annotation in ("int", int) else default)
        if expected is not inspect.Parameter.empty and expected is not None \
                and not _same_kind(value, expected):
            raise _fail(path, f"model_config[{name!r}]", f"is {value!r}, not of the type of "
                        f"{cls.__name__}'s {name} (e.g. {expected!r})")
    missing = [n for n, p in params.items() if n != "self" and p.default is p.empty
               and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and n not in config]
    if missing:
        raise _fail(path, "model_config", f"lacks {missing}")
    return dict(config)


def model_from_checkpoint(checkpoint: Dict[str, Any], path: str = "checkpoint") -> Module:
    r"""Builds the model a loaded checkpoint dict describes and loads its
    weights (the model is on the CPU, in training mode).

    The configuration must be plain values of the model's constructor
    arguments (names such as the base and variant are checked by the model
    against its own lists); the model is first built on the ``meta`` device
    (no memory) and its parameter names and shapes are compared with the
    state dict, so a configuration that does not fit its weights is refused
    before anything is allocated. Every problem is an
    :class:`~pyg_dss.io.UnreadableFileError` naming the file and the field."""
    import pyg_dss.nn  # noqa: F401  (registers the package's models)

    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        found = checkpoint.get("format") if isinstance(checkpoint, dict) else type(checkpoint)
        raise UnreadableFileError(
            f"'{path}' is not a pyg-dss model checkpoint (format {found!r}, expected "
            f"{FORMAT!r}). Bare state_dicts cannot be rebuilt: build the model yourself and "
            "call load_state_dict.")
    name = checkpoint.get("model_class")
    if not isinstance(name, str) or name not in MODELS:
        raise UnreadableFileError(f"'{path}': model_class {name!r} is not a model this "
                                  f"version of pyg-dss knows (known: {sorted(MODELS)}).")
    cls: Any = MODELS[name]  # a registered model: it has from_config
    config = _checked_config(cls, checkpoint.get("model_config"), path)
    state = checkpoint.get("state_dict")
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, Tensor) for k, v in state.items()):
        raise _fail(path, "state_dict", "is not a dict of named tensors")
    # A width or count larger than all the weights together cannot fit them;
    # refusing it here also spares building a huge skeleton (num_layers=10**9).
    numel = sum(t.numel() for t in state.values())
    for field, value in config.items():
        if isinstance(value, (list, tuple)) and len(value) > len(state):
            raise _fail(path, f"model_config[{field!r}]", f"lists {len(value)} sizes, more "
                        f"than the {len(state)} tensors of its state_dict")
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if isinstance(v, int) and not isinstance(v, bool) and v > max(numel, 1):
                raise _fail(path, f"model_config[{field!r}]", f"is {v}, more than all "
                            f"{numel} numbers of its state_dict together")
    try:
        with torch.device("meta"):
            skeleton = cls.from_config(dict(config))
    except (TypeError, ValueError) as e:
        raise _fail(path, "model_config", f"does not build a {name}: "
                    f"{' '.join(str(e).split())}") from None
    wanted = skeleton.state_dict()
    for key, tensor in wanted.items():
        if key not in state:
            raise _fail(path, f"state_dict[{key!r}]", f"is missing (model_config "
                        f"{config} needs it)")
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise _fail(path, f"state_dict[{key!r}]", f"has shape {list(state[key].shape)}, "
                        f"but model_config {config} needs {list(tensor.shape)}")
    extra = sorted(set(state) - set(wanted))
    if extra:
        raise _fail(path, f"state_dict[{extra[0]!r}]", f"is not a weight of the {name} "
                    f"model_config describes ({len(extra)} such entries)")
    model = cls.from_config(dict(config))
    model.load_state_dict(state)
    return model


def load_model(path: str, map_location: Any = "cpu") -> Tuple[Module, Dict[str, Any]]:
    r"""Loads a checkpoint written by :func:`save_model` (safely:
    ``weights_only=True``, no fallback) and returns ``(model, checkpoint)``,
    the model rebuilt from its configuration with its weights, in training
    mode (call ``.eval()`` to predict), and the whole checkpoint dict."""
    checkpoint = safe_torch_load(path, map_location, what="model checkpoint")
    return model_from_checkpoint(checkpoint, path), checkpoint
