"""Small helpers shared by the layers: inputs checked once, in the forward,
on types and shapes only (free under :func:`torch.compile`)."""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module

from pyg_dss.data import check_sets
from pyg_dss.layout import RepeatedGraph, SetLayout
from pyg_dss.nn.aggr import set_aggregate

__all__ = ["check_inputs", "linear", "base_in_channels", "graph_kwarg", "element_graph",
           "shared_inputs"]


def check_inputs(layer: str, x: Any, edge_index: Any, sets: Any,
                 in_channels: Optional[int] = None) -> None:
    """Clear errors for the mistakes that otherwise surface deep inside a
    base layer: a plain Data as ``sets``, swapped arguments, integer
    features, a wrong number of channels or nodes."""
    call = f"{layer}(x, edge_index, sets)"
    if not isinstance(x, Tensor):
        raise TypeError(f"{call}: x must be the node features [N, C], got "
                        f"{type(x).__name__}; call it as {layer.lower()}(batch.x, "
                        "batch.edge_index, batch).")
    check_sets(sets, f"{call}: sets")
    if not x.is_floating_point():
        raise TypeError(f"{call}: the node features are {x.dtype}; the layers need floating "
                        "point features (e.g. batch.x = batch.x.float()). If x holds indices, "
                        "were x and edge_index swapped?")
    if x.dim() != 2:
        raise ValueError(f"{call}: x must be [num_nodes, channels], got shape {tuple(x.shape)}.")
    if x.size(0) != sets.vertex_index.size(0):
        raise ValueError(f"{call}: x has {x.size(0)} rows but the sets have "
                         f"{sets.vertex_index.size(0)} nodes.")
    if edge_index is not None and (not isinstance(edge_index, Tensor)
                                   or edge_index.is_floating_point() or edge_index.dim() != 2
                                   or edge_index.size(0) != 2):
        got = (f"{edge_index.dtype} {tuple(edge_index.shape)}" if isinstance(edge_index, Tensor)
               else type(edge_index).__name__)
        raise TypeError(f"{call}: edge_index must be an integer tensor [2, E], got {got}.")
    if in_channels is not None and in_channels > 0 and x.size(1) != in_channels:
        raise ValueError(f"{call}: x has {x.size(1)} channels but the layer was built for "
                         f"in_channels={in_channels}.")


def linear(x: Tensor, weight: Tensor, bias: Optional[Tensor] = None) -> Tensor:
    """``F.linear(x, weight, bias)``; for a narrow input (fewer than 16
    channels, e.g. xyz) as ``x @ weight.t().contiguous()``, so that autograd
    computes the weight gradient as ``x^T g`` ([C_in, N] @ [N, C_out]) rather
    than ``g^T x`` ([C_out, N] @ [N, C_in]): the same numbers, 3-7x faster on
    CPU for N in the hundreds of thousands (MKL handles the second shape badly)."""
    if x.dim() != 2 or weight.size(1) >= 16:
        return F.linear(x, weight, bias)
    w = weight.t().contiguous()
    return x.mm(w) if bias is None else torch.addmm(bias, x, w)


def base_in_channels(layer: Optional[Module]) -> Optional[int]:
    """The ``in_channels`` a PyG-style base layer declares (None if unknown
    or lazy)."""
    c = getattr(layer, "in_channels", None)
    return c if isinstance(c, int) and c > 0 else None


def graph_kwarg(layer: Module, graph: Optional[RepeatedGraph]) -> Dict[str, Any]:
    """``{"graph": graph}`` for base layers that take a repeated graph
    (``takes_repeated_graph = True``, e.g. :class:`~pyg_dss.nn.SetGCNConv`)."""
    if graph is None or not getattr(layer, "takes_repeated_graph", False):
        return {}
    return {"graph": graph}


def element_graph(layout: SetLayout, edge_index: Any, sets: Any) -> Optional[RepeatedGraph]:
    """The layout's repeated element graph, if ``edge_index`` is the batch's
    own ``edge_index`` (the graph the layout describes)."""
    if layout.element_graph is None or edge_index is not sets.get("edge_index"):
        return None
    return layout.element_graph


def shared_inputs(kwargs: Dict[str, Tensor], x: Tensor, sets: Any,
                  layout: Optional[SetLayout] = None) -> Dict[str, Tensor]:
    """Node-level extra inputs (e.g. ``pos``) for a shared branch: their mean
    per shared vertex, as the shared domain's own version of them."""
    out = {}
    for key, value in kwargs.items():
        if not isinstance(value, Tensor) or value.size(0) != x.size(0):
            raise ValueError(f"Extra input {key!r} must be a node-level tensor with "
                             f"{x.size(0)} rows (one per node), got "
                             f"{tuple(value.shape) if isinstance(value, Tensor) else type(value)}.")
        out[key] = set_aggregate(value, sets, "mean", layout)
    return out


def reset_submodules(module: Module) -> None:
    """Calls ``reset_parameters()`` of every submodule of :obj:`module` that
    has one (at any depth: containers such as ``ModuleList`` have none)."""
    for m in module.modules():
        reset = getattr(m, "reset_parameters", None)
        if m is not module and callable(reset):
            reset()
