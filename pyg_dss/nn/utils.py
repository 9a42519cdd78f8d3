"""Small helpers shared by the layers."""
from __future__ import annotations

from typing import Any, Dict

from torch import Tensor

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
