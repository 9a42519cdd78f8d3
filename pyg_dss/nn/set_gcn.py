r"""GCN propagation for sets whose elements share one graph: one sparse-matrix
product per layer instead of per-edge messages.

When every element of a batch lives on the same mesh (the frames of Dynamic
FAUST), ``edge_index`` is ``k`` copies of one graph on ``V`` vertices; the
batch's :class:`~pyg_dss.layout.SetLayout` then holds that graph as a
:class:`~pyg_dss.layout.RepeatedGraph`, and :class:`SetGCNConv` propagates with
one CSR product :math:`(I_k \otimes \hat{A}_{\mathrm{norm}})\,\mathbf{X}`
(:func:`pyg_dss.nn.spmm.repeated_spmm`): no ``[E, C]`` message tensor is
built.  The normalised entries are computed from the graph on every call
(``O(V + E)`` for one copy); nothing is kept between calls.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch.nn import Module, Parameter
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.nn.dense.linear import Linear
from torch_geometric.nn.inits import zeros
from torch_geometric.utils import scatter

from pyg_dss.layout import RepeatedGraph
from pyg_dss.nn.spmm import repeated_spmm
from pyg_dss.nn.utils import linear

__all__ = ["SetGCNConv", "gcn_values"]


def gcn_values(graph: RepeatedGraph, improved: bool = False, add_self_loops: bool = True,
               normalize: bool = True, dtype: torch.dtype = torch.float32) -> Tensor:
    r"""The entries of :math:`\hat{D}^{-1/2} \hat{A} \hat{D}^{-1/2}` for one
    copy of ``graph`` (in its CSR order), as PyG's
    :func:`~torch_geometric.nn.conv.gcn_conv.gcn_norm` computes them for unit
    edge weights: :math:`\hat{A} = A + \mathrm{fill}\, I`, fill 2 when
    ``improved`` else 1, except that a vertex with a self-loop keeps it
    (weight 1) instead; :math:`\hat{D}` holds the weighted in-degrees.
    Without ``normalize``: :math:`A` as it is, with no self-loops added
    (as ``GCNConv``)."""
    w = graph.weight.to(dtype)
    if not normalize:
        return w
    if add_self_loops:
        fill = 2.0 if improved else 1.0
        on_diagonal = w[graph.diagonal]
        w = w.index_copy(0, graph.diagonal,
                         torch.where(on_diagonal > 0, torch.ones_like(on_diagonal),
                                     torch.full_like(on_diagonal, fill)))
    deg = w.new_zeros(graph.diagonal.size(0)).index_add(0, graph.row, w)
    inv_sqrt = deg.pow(-0.5).masked_fill(deg == 0, 0.0)
    return inv_sqrt[graph.row] * w * inv_sqrt[graph.col]


class SetGCNConv(Module):
    r"""The graph convolution of Kipf & Welling (ICLR 2017), with the math and
    parameters of PyG's :class:`~torch_geometric.nn.conv.GCNConv`,

    .. math::
        \mathbf{X}' = \hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}}
        \hat{\mathbf{D}}^{-1/2} \mathbf{X} \mathbf{W} + \mathbf{b},
        \qquad \hat{\mathbf{A}} = \mathbf{A} + \mathbf{I}
        \quad (\mathbf{A} + 2\mathbf{I} \text{ with } \texttt{improved=True}),

    with :math:`\hat{D}_{ii} = \sum_j \hat{A}_{ij}`, and a fast path for sets
    of elements that share one graph.

    Called as ``conv(x, edge_index, edge_weight=None, graph=None)``.  Without
    ``graph`` (or with ``edge_weight``) it propagates per edge with
    :func:`torch_geometric.utils.scatter`, as ``GCNConv`` does.  With
    ``graph``, a :class:`~pyg_dss.layout.RepeatedGraph` of which
    ``edge_index`` is ``N / V`` copies (what :class:`~pyg_dss.nn.DSSConv`
    passes from the batch's :class:`~pyg_dss.layout.SetLayout`), it
    propagates with one CSR product
    :math:`(I_k \otimes \hat{A}_{\mathrm{norm}}) \mathbf{X}`.  Both paths give
    the same numbers (up to float rounding; tested, with gradients).

    Unlike PyG >= 2.3's ``GCNConv`` without edge weights, ``improved=True``
    does propagate with :math:`\mathbf{A} + 2\mathbf{I}` on both paths.
    Nothing is kept between calls, so batches of any size and mesh can follow
    each other (unlike ``GCNConv(cached=True)``).  ``state_dict`` keys match
    ``GCNConv``'s (``lin.weight``, ``bias``).

    Args:
        in_channels, out_channels: feature sizes.
        improved: use :math:`\mathbf{A} + 2\mathbf{I}`.
        add_self_loops: add self-loops before normalising.
        normalize: apply the symmetric normalisation (otherwise
            :math:`\mathbf{A}\mathbf{X}\mathbf{W} + \mathbf{b}`).
        bias: learn :math:`\mathbf{b}`.
    """
    #: DSSConv passes the batch's repeated graph to base layers that set this.
    takes_repeated_graph = True

    def __init__(self, in_channels: int, out_channels: int, improved: bool = False,
                 add_self_loops: bool = True, normalize: bool = True,
                 bias: bool = True) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.improved, self.add_self_loops, self.normalize = improved, add_self_loops, normalize
        self.lin = Linear(in_channels, out_channels, bias=False, weight_initializer="glorot")
        if bias:
            self.bias = Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.lin.reset_parameters()
        zeros(self.bias)

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Optional[Tensor] = None,
                graph: Optional[RepeatedGraph] = None) -> Tensor:
        if graph is None or edge_weight is not None:
            out = self._propagate_edges(linear(x, self.lin.weight), edge_index, edge_weight)
            return out if self.bias is None else out + self.bias
        if x.size(0) != graph.crow.size(0) - 1:
            raise ValueError(f"SetGCNConv got {x.size(0)} nodes but a repeated graph over "
                             f"{graph.crow.size(0) - 1} (pass the graph of this edge_index).")
        values = gcn_values(graph, self.improved, self.add_self_loops, self.normalize,
                            torch.promote_types(x.dtype, torch.float32))
        if self.in_channels < self.out_channels:   # propagate the narrower side
            out = linear(repeated_spmm(graph, values, x), self.lin.weight)
        else:
            out = repeated_spmm(graph, values, linear(x, self.lin.weight))
        if self.bias is not None:
            # In place: `out` is fresh and saved by no backward; saves one
            # [N, C] allocation (page faults on CPU) per layer.
            out = out.add_(self.bias)
        return out

    def _propagate_edges(self, h: Tensor, edge_index: Tensor,
                         edge_weight: Optional[Tensor]) -> Tensor:
        num_nodes = h.size(0)
        if self.normalize:
            if edge_weight is None:
                # Explicit unit weights: without them PyG's gcn_norm (>= 2.3)
                # ignores the fill value and improved=True adds I, not 2I.
                edge_weight = h.new_ones(edge_index.size(1))
            edge_index, edge_weight = gcn_norm(edge_index, edge_weight, num_nodes,
                                               self.improved, self.add_self_loops,
                                               "source_to_target", h.dtype)
        elif edge_weight is None:
            edge_weight = h.new_ones(edge_index.size(1))
        msg = h.index_select(0, edge_index[0]) * edge_weight.view(-1, 1).to(h.dtype)
        return scatter(msg, edge_index[1], dim=0, dim_size=num_nodes, reduce="sum")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels})"
