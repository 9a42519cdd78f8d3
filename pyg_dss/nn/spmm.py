r"""Propagation over a graph repeated ``k`` times: ``(I_k \otimes A) x`` as one
sparse CSR product, registered as a custom operator so that
:func:`torch.compile` treats it as one opaque call (no graph break) and every
precision works (the CPU's sparse kernels have no half-precision versions:
those inputs are multiplied in float32 and cast back)."""
from __future__ import annotations

import warnings
from typing import Any, Optional, Tuple

import torch
from torch import Tensor

from pyg_dss.layout import RepeatedGraph

__all__ = ["repeated_spmm"]


def _product(crow: Tensor, col: Tensor, values: Tensor, x: Tensor) -> Tensor:
    rows = crow.numel() - 1
    copies = col.numel() // max(values.numel(), 1)
    dtype = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        A = torch.sparse_csr_tensor(crow, col, values.to(dtype).repeat(copies), (rows, rows))
    x = x.to(dtype).contiguous()
    if x.device.type == "cpu":
        # Into a fresh tensor with beta=0: torch.sparse.mm zero-fills its
        # output and copies the result (110-120 ms of a 193k x 128 product
        # whose multiply is about 20 ms on a 2-core CPU).
        out = torch.empty_like(x)
        torch.addmm(out, A, x, beta=0, out=out)
    else:
        out = torch.sparse.mm(A, x)
    return out


@torch.library.custom_op("pyg_dss::repeated_spmm", mutates_args=())
def _repeated_spmm(crow: Tensor, col: Tensor, values: Tensor, crow_t: Tensor, col_t: Tensor,
                   values_t: Tensor, x: Tensor) -> Tensor:
    return _product(crow, col, values, x).to(x.dtype)


@_repeated_spmm.register_fake
def _(crow: Tensor, col: Tensor, values: Tensor, crow_t: Tensor, col_t: Tensor,
      values_t: Tensor, x: Tensor) -> Tensor:
    return torch.empty_like(x, memory_format=torch.contiguous_format)


def _setup_context(ctx: Any, inputs: Tuple[Tensor, ...], output: Tensor) -> None:
    ctx.save_for_backward(*inputs[:6])


def _backward(ctx: Any, grad: Tensor) -> Tuple[Optional[Tensor], ...]:
    crow, col, values, crow_t, col_t, values_t = ctx.saved_tensors
    # The gradient of (I (x) A) x is (I (x) A^T) grad: the same operator with
    # the roles of A and A^T swapped (so it is differentiable again).
    grad_x = _repeated_spmm(crow_t, col_t, values_t, crow, col, values, grad)
    return None, None, None, None, None, None, grad_x


_repeated_spmm.register_autograd(_backward, setup_context=_setup_context)


def repeated_spmm(graph: RepeatedGraph, values: Tensor, x: Tensor) -> Tensor:
    r"""``(I_k \otimes A) x`` for ``x`` [k V, C], where ``A`` [V, V] has the
    sparsity of ``graph`` and the per-entry ``values`` [nnz] (in the order
    of ``graph.row`` / ``graph.col``).  ``values`` get no gradient."""
    values_t = values if graph.perm_t is None else values[graph.perm_t]
    return _repeated_spmm(graph.crow, graph.tcol, values.detach(), graph.crow_t, graph.tcol_t,
                          values_t.detach(), x)
