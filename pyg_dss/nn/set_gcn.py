"""GCN propagation for sets whose elements share one graph: one sparse-matrix
product per layer instead of per-edge messages.

When every element of a batch lives on the same mesh (the frames of Dynamic
FAUST), ``edge_index`` is ``k`` copies of one graph on ``V`` vertices.  The
normalised adjacency :math:`\\hat{A}` is then computed once per topology (on
``V`` vertices, with PyG's :func:`~torch_geometric.nn.conv.gcn_conv.gcn_norm`)
and propagation is a single CSR product with the block-diagonal
:math:`I_k \\otimes \\hat{A}`: no ``[E, C]`` message tensor is built.

Caches (both bounded, both keyed so that they can never be stale):

* detection, keyed on the identity, version and storage of the ``edge_index``
  tensor (plus ``num_nodes`` and ``num_vertices``): an ``edge_index`` object is
  checked once, however many layers use it;
* normalised adjacencies, keyed on the *content* of the topology (the edges of
  one copy, compared with :func:`torch.equal`), the normalisation options, the
  dtype, the device and ``k``: reused across batches of the same mesh,
  recomputed for a new mesh, even one of the same size.
"""
from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any, List, Optional, Tuple

import torch
from torch import Tensor
from torch.nn import Module, Parameter
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.nn.dense.linear import Linear
from torch_geometric.nn.inits import zeros
from torch_geometric.utils import scatter

from pyg_dss.nn.cache import TensorKeyedCache

__all__ = ["SetGCNConv", "repeated_graph", "clear_caches"]


def _spmm(A: Tensor, x: Tensor) -> Tensor:
    """``A @ x`` for a sparse CSR ``A``, written straight into a new tensor:
    ``torch.sparse.mm`` zero-fills its output and copies the result, which on
    CPU took 110-120 ms of a 193k x 128 product whose multiply is about 20 ms
    (``beta=0`` ignores the uninitialised input, NaNs included).  Other
    devices keep ``torch.sparse.mm``."""
    if A.device.type != "cpu":
        return torch.sparse.mm(A, x)
    out = x.new_empty(A.size(0), x.size(1))
    return torch.addmm(out, A, x, beta=0, out=out)


class _SymmetricSpMM(torch.autograd.Function):
    """``y = A @ x`` with a constant sparse ``A`` whose transpose ``AT`` is
    given (the same object when ``A`` is symmetric): the backward is one more
    CSR product, instead of torch's generic sparse backward."""
    @staticmethod
    def forward(ctx: Any, A: Tensor, AT: Tensor, x: Tensor) -> Tensor:  # type: ignore
        ctx.AT = AT
        return _spmm(A, x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tuple[None, None, Optional[Tensor]]:  # type: ignore
        if not ctx.needs_input_grad[2]:
            return None, None, None
        return None, None, _spmm(ctx.AT, grad.contiguous())


class _Topology:
    """One graph on ``V`` vertices (``base``, the edges of one copy) with its
    normalised adjacencies, tiled ``k`` times, built on demand."""
    def __init__(self, base: Tensor, num_vertices: int) -> None:
        self.base = base
        self.num_vertices = num_vertices
        self._tiled: "OrderedDict[Any, Tuple[Tensor, Tensor]]" = OrderedDict()

    def adjacency(self, copies: int, improved: bool, add_self_loops: bool, normalize: bool,
                  dtype: torch.dtype) -> Tuple[Tensor, Tensor]:
        key = (copies, improved, add_self_loops, normalize, dtype)
        if key in self._tiled:
            self._tiled.move_to_end(key)
            return self._tiled[key]
        V, ei = self.num_vertices, self.base
        if normalize:
            ei, w = gcn_norm(ei, None, V, improved, add_self_loops, "source_to_target", dtype)
        else:
            w = torch.ones(ei.size(1), dtype=dtype, device=ei.device)
        # Messages flow source -> target: out[i] += w * x[j] for (j, i): A[i, j] = w.
        with warnings.catch_warnings():  # "sparse CSR support is in beta", invariant checks
            warnings.simplefilter("ignore", UserWarning)
            A = torch.sparse_coo_tensor(ei.flip(0), w, (V, V)).coalesce()
            AT = torch.sparse_coo_tensor(ei, w, (V, V)).coalesce()
            symmetric = (torch.equal(A.indices(), AT.indices())
                         and torch.equal(A.values(), AT.values()))
            tiled_A = _tile_csr(A.to_sparse_csr(), copies)
            tiled_AT = tiled_A if symmetric else _tile_csr(AT.to_sparse_csr(), copies)
        self._tiled[key] = (tiled_A, tiled_AT)
        while len(self._tiled) > 4:
            self._tiled.popitem(last=False)
        return tiled_A, tiled_AT


def _tile_csr(A: Tensor, copies: int) -> Tensor:
    """The block-diagonal CSR matrix :math:`I_k \\otimes A`."""
    V, nnz = A.size(0), A.values().numel()
    crow, col = A.crow_indices(), A.col_indices()
    steps = torch.arange(copies, device=crow.device, dtype=crow.dtype).unsqueeze(1)
    big_crow = torch.cat([(crow[:-1].unsqueeze(0) + steps * nnz).reshape(-1),
                          crow.new_full((1, ), copies * nnz)])
    big_col = (col.unsqueeze(0) + steps * V).reshape(-1)
    if copies * max(nnz, V) < 2**31 - 1:
        # int32 indices: torch's MKL product otherwise converts them on every call.
        big_crow, big_col = big_crow.int(), big_col.int()
    return torch.sparse_csr_tensor(big_crow, big_col, A.values().repeat(copies),
                                   (copies * V, copies * V))


_TOPOLOGIES: List[_Topology] = []   # content-keyed, most recent last
_MAX_TOPOLOGIES = 4
_DETECTED = TensorKeyedCache(size=8)


def clear_caches() -> None:
    """Empties the detection and adjacency caches (they are bounded anyway)."""
    _TOPOLOGIES.clear()
    _DETECTED.clear()


def _topology(base: Tensor, num_vertices: int) -> _Topology:
    for i, topo in enumerate(_TOPOLOGIES):
        if (topo.num_vertices == num_vertices and topo.base.device == base.device
                and topo.base.shape == base.shape and torch.equal(topo.base, base)):
            _TOPOLOGIES.append(_TOPOLOGIES.pop(i))
            return topo
    topo = _Topology(base.clone(), num_vertices)
    _TOPOLOGIES.append(topo)
    del _TOPOLOGIES[:-_MAX_TOPOLOGIES]
    return topo


def repeated_graph(edge_index: Tensor, num_nodes: int,
                   num_vertices: int) -> Optional[Tuple[Tensor, int]]:
    r"""If ``edge_index`` on ``num_nodes`` nodes is :math:`k` =
    ``num_nodes / num_vertices`` copies of one graph on ``num_vertices``
    vertices (copy :math:`c` on nodes :math:`cV, \dots, cV + V - 1`, the edges
    of each copy contiguous and in the same order, the copies' blocks in any
    order), returns ``(base, k)`` with ``base`` the edges of one copy;
    otherwise :obj:`None`.  This is the layout of a batch of corresponded sets
    of one mesh (also after :func:`pyg_dss.testing.permute_sets`).  Costs a few
    passes over ``edge_index``; :class:`SetGCNConv` caches the answer per
    ``edge_index`` tensor."""
    V = int(num_vertices)
    if V <= 0 or num_nodes <= 0 or num_nodes % V:
        return None
    k = num_nodes // V
    E = edge_index.size(1)
    if E % k:
        return None
    if E == 0:
        return edge_index.new_empty(2, 0), k
    E0 = E // k
    blocks = edge_index.reshape(2, k, E0)
    copy = torch.div(blocks[0, :, 0], V, rounding_mode="floor")  # copy of each block
    if int(copy.min()) < 0 or int(copy.max()) >= k:
        return None
    if not bool((torch.bincount(copy, minlength=k) == 1).all()):
        return None
    base = blocks[:, 0] - copy[0] * V
    if int(base.min()) < 0 or int(base.max()) >= V:
        return None
    if not torch.equal(blocks, base.unsqueeze(1) + (copy * V).view(1, k, 1)):
        return None
    return base, k


def _detect(edge_index: Tensor, num_nodes: int,
            num_vertices: int) -> Optional[Tuple[_Topology, int]]:
    def compute() -> Optional[Tuple[_Topology, int]]:
        found = repeated_graph(edge_index, num_nodes, num_vertices)
        if found is None:
            return None
        return _topology(found[0], num_vertices), found[1]
    return _DETECTED.get([edge_index], (num_nodes, int(num_vertices)), compute)


class SetGCNConv(Module):
    r"""The graph convolution of Kipf & Welling (ICLR 2017), with the math and
    parameters of PyG's :class:`~torch_geometric.nn.conv.GCNConv`,

    .. math::
        \mathbf{X}' = \hat{\mathbf{D}}^{-1/2} \hat{\mathbf{A}}
        \hat{\mathbf{D}}^{-1/2} \mathbf{X} \mathbf{W} + \mathbf{b},
        \qquad \hat{\mathbf{A}} = \mathbf{A} + \mathbf{I},

    with a fast path for sets of elements that share one graph.

    Called as ``conv(x, edge_index, edge_weight=None, num_vertices=None)``.
    Without ``num_vertices`` (or with ``edge_weight``) it propagates per edge
    with :func:`torch_geometric.utils.scatter`, exactly as ``GCNConv``.  With
    ``num_vertices=V`` (what :class:`~pyg_dss.nn.DSSConv` passes when every
    set of the batch has ``V`` shared vertices) it checks whether
    ``edge_index`` is ``N / V`` copies of one ``V``-vertex graph (the layout of
    a batch of frames of one mesh) and, if so, propagates with one CSR product
    :math:`(I_k \otimes \hat{A}_{\mathrm{norm}}) \mathbf{X}` whose normalised
    adjacency is computed once per topology; otherwise it falls back to the
    per-edge path.  Both paths give the same numbers (up to float rounding).

    Caches: the check is cached per ``edge_index`` tensor (identity, version,
    storage), the adjacency per topology *content*; nothing else is kept
    between calls, so batches of any size and mesh can follow each other
    (unlike ``GCNConv(cached=True)``).  ``state_dict`` keys match
    ``GCNConv``'s (``lin.weight``, ``bias``).

    Args:
        in_channels, out_channels: feature sizes.
        improved: use :math:`\mathbf{A} + 2\mathbf{I}`.
        add_self_loops: add self-loops before normalising.
        normalize: apply the symmetric normalisation (otherwise
            :math:`\mathbf{A}\mathbf{X}\mathbf{W} + \mathbf{b}`).
        bias: learn :math:`\mathbf{b}`.
    """
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
                num_vertices: Optional[int] = None) -> Tensor:
        found = None
        if num_vertices is not None and edge_weight is None:
            found = _detect(edge_index, x.size(0), num_vertices)
        if found is None:
            out = self._propagate_edges(self.lin(x), edge_index, edge_weight)
        else:
            topo, copies = found
            A, AT = topo.adjacency(copies, self.improved, self.add_self_loops, self.normalize,
                                   x.dtype)
            if self.in_channels < self.out_channels:   # propagate the narrower side
                out = self.lin(_SymmetricSpMM.apply(A, AT, x.contiguous()))
            else:
                out = _SymmetricSpMM.apply(A, AT, self.lin(x).contiguous())
            if self.bias is not None:
                # In place: `out` is fresh and saved by no backward; saves one
                # [N, C] allocation (page faults on CPU) per layer.
                out = out.add_(self.bias)
            return out
        if self.bias is not None:
            out = out + self.bias
        return out

    def _propagate_edges(self, h: Tensor, edge_index: Tensor,
                         edge_weight: Optional[Tensor]) -> Tensor:
        num_nodes = h.size(0)
        if self.normalize:
            edge_index, edge_weight = gcn_norm(edge_index, edge_weight, num_nodes,
                                               self.improved, self.add_self_loops,
                                               "source_to_target", h.dtype)
        elif edge_weight is None:
            edge_weight = h.new_ones(edge_index.size(1))
        msg = h.index_select(0, edge_index[0]) * edge_weight.view(-1, 1)
        return scatter(msg, edge_index[1], dim=0, dim_size=num_nodes, reduce="sum")

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, {self.out_channels})"
