"""The DSS layer: a siamese branch per element plus a shared branch per set."""
from __future__ import annotations

from typing import Any, Optional

from torch import Tensor
from torch.nn import Module
from torch.nn.modules.batchnorm import _BatchNorm

from torch_geometric.nn.inits import reset

from pyg_dss.layout import SetLayout, layout_of
from pyg_dss.nn.aggr import add_broadcast, check_reduce, dense_blocks, reduce_dim, set_aggregate
from pyg_dss.nn.utils import (base_in_channels, check_inputs, element_graph, graph_kwarg,
                              shared_inputs)

__all__ = ["DSSConv"]


class DSSConv(Module):
    r"""The Deep Sets for Symmetric elements layer of `Maron et al. (ICML 2020)
    <https://arxiv.org/abs/2002.08599>`_.

    For a set of elements :math:`x_1, \dots, x_n` with symmetry group
    :math:`H` (vertex relabelling, point permutation), every linear
    :math:`S_n \times H`-equivariant layer has the form

    .. math::
        \mathbf{y}_i = L_1(\mathbf{x}_i) + L_2\Big(\mathrm{AGG}_{j=1}^{n}
        \mathbf{x}_j\Big),

    with :math:`L_1, L_2` :math:`H`-equivariant base layers (here: any PyG
    layer called as ``layer(x, edge_index)``) and
    :math:`\mathrm{AGG} \in \{\mathrm{sum}, \mathrm{mean}, \mathrm{max}\}`.
    :math:`L_1` (siamese branch) runs on every element with its own edges;
    :math:`L_2` (shared branch) runs once per set on the aggregate over the
    shared domain (``sets.shared_edge_index``) and is broadcast back to every
    element.  For a corresponded set the aggregate is per vertex over the n
    copies; for an uncorresponded set it runs over all nodes of all elements
    (for ``"sum"`` and ``"max"`` this equals aggregating per-element pooled
    summaries), a single shared vertex broadcast to every node.

    With ``shared=None`` the layer is the siamese baseline
    :math:`\mathbf{y}_i = L_1(\mathbf{x}_i)` (no sharing).

    Args:
        siamese: base layer :math:`L_1`.
        shared: base layer :math:`L_2`, or :obj:`None` for no sharing.
        aggr: ``"sum"``, ``"mean"`` or ``"max"``.
        siamese_norm, shared_norm: optional modules applied to each branch's
            output before the sum (the paper uses a BatchNorm on each).

    Shapes:
        - input: node features [N, F_in], ``edge_index`` [2, E], ``sets`` a
          :class:`~pyg_dss.data.SetData` or a batch of them; extra node-level
          keyword tensors (e.g. ``pos``) go to both branches, averaged per
          shared vertex for :math:`L_2`; ``edge_attr`` (features of the
          elements' edges) goes to :math:`L_1`, and :math:`L_2` gets the
          shared graph's own, ``sets.shared_edge_attr``.
        - output: [N, F_out].

    Fast path: the layer reads the batch's
    :class:`~pyg_dss.layout.SetLayout` (``layout``, else
    :func:`~pyg_dss.layout.layout_of`).  On a dense batch the aggregate and
    broadcast are reshapes; a base layer with ``takes_repeated_graph = True``
    (e.g. :class:`~pyg_dss.nn.SetGCNConv`) receives the repeated graph of
    ``edge_index`` / ``shared_edge_index`` as ``graph=`` and propagates with
    one sparse product.  Results do not depend on which path runs (tested,
    forward and gradients).  Pass ``layout`` when calling several layers on
    one batch, so that it is checked once.
    """
    def __init__(self, siamese: Module, shared: Optional[Module] = None, aggr: str = "sum",
                 siamese_norm: Optional[Module] = None,
                 shared_norm: Optional[Module] = None) -> None:
        super().__init__()
        self.siamese = siamese
        self.shared = shared
        self.aggr = check_reduce(aggr)
        self.siamese_norm = siamese_norm
        self.shared_norm = shared_norm

    def reset_parameters(self) -> None:
        for m in (self.siamese, self.shared, self.siamese_norm, self.shared_norm):
            reset(m)

    def forward(self, x: Tensor, edge_index: Tensor, sets: Any,
                layout: Optional[SetLayout] = None, **kwargs: Tensor) -> Tensor:
        check_inputs("DSSConv", x, edge_index, sets, base_in_channels(self.siamese))
        layout = layout_of(sets) if layout is None else layout
        graph = element_graph(layout, edge_index, sets)
        # Edge features belong to edges: the shared graph has its own, not an average.
        edge_attr = kwargs.pop("edge_attr", None)
        edge_kwargs = {} if edge_attr is None else {"edge_attr": edge_attr}
        if self.shared is not None and layout.dense:
            # Both branches read x through one [B, n, V, C] view: the
            # aggregate's gradient (expanded over n) is then added to the
            # siamese one in place, not first copied into an [N, C] tensor.
            blocks = dense_blocks(x, sets, layout)
            x = blocks.view(x.shape)
            agg = reduce_dim(blocks, 1, self.aggr).flatten(0, 1)
        elif self.shared is not None:
            agg = set_aggregate(x, sets, self.aggr, layout)
        out = self.siamese(x, edge_index, **kwargs, **edge_kwargs,
                           **graph_kwarg(self.siamese, graph))
        if self.siamese_norm is not None:
            out = self.siamese_norm(out)
        if self.shared is None:
            return out
        shared_kwargs = shared_inputs(kwargs, x, sets, layout)
        if edge_attr is not None:
            if sets.get("shared_edge_attr") is None:
                raise ValueError("edge_attr was given for the elements' edges, but the sets "
                                 "have no 'shared_edge_attr' for the edges of their shared "
                                 "graph (shared_edge_index); set it on every set.")
            shared_kwargs["edge_attr"] = sets.shared_edge_attr
        shared = self.shared(agg, sets.shared_edge_index, **shared_kwargs,
                             **graph_kwarg(self.shared, layout.shared_graph))
        if self.shared_norm is not None:
            shared = self.shared_norm(shared)
        # A BatchNorm's backward does not need its output: add into it.
        return add_broadcast(out, shared, sets, layout,
                             inplace=isinstance(self.siamese_norm, _BatchNorm))

    def __repr__(self) -> str:
        if self.shared is None:
            return f"{self.__class__.__name__}(siamese={self.siamese}, shared=None)"
        return (f"{self.__class__.__name__}(siamese={self.siamese}, shared={self.shared}, "
                f"aggr={self.aggr!r})")

