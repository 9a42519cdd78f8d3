"""Small helpers shared by the layers."""
from __future__ import annotations

import inspect
from functools import lru_cache
from typing import Any, Dict, Optional

from torch import Tensor
from torch.nn import Module

from pyg_dss.nn.aggr import set_aggregate


def shared_inputs(kwargs: Dict[str, Tensor], x: Tensor, sets: Any) -> Dict[str, Tensor]:
    """Node-level extra inputs (e.g. ``pos``) for a shared branch: their mean
    per shared vertex, as the shared domain's own version of them."""
    out = {}
    for key, value in kwargs.items():
        if not isinstance(value, Tensor) or value.size(0) != x.size(0):
            raise ValueError(f"Extra input {key!r} must be a node-level tensor with "
                             f"{x.size(0)} rows (one per node), got "
                             f"{tuple(value.shape) if isinstance(value, Tensor) else type(value)}.")
        out[key] = set_aggregate(value, sets, "mean")
    return out


@lru_cache(maxsize=None)
def _takes_num_vertices(cls: type) -> bool:
    try:
        return "num_vertices" in inspect.signature(cls.forward).parameters
    except (TypeError, ValueError):
        return False


def with_hint(layer: Module, kwargs: Dict[str, Tensor], num_vertices: Optional[int]) -> Dict:
    """Adds ``num_vertices`` to the base layer's keyword arguments if it takes it."""
    if num_vertices is None or not _takes_num_vertices(type(layer)):
        return kwargs
    return {**kwargs, "num_vertices": num_vertices}
