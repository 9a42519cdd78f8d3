r"""Checking :math:`S_n \times H` equivariance of any module on a batch of sets.

The symmetry of a set of n elements is :math:`G = S_n \times H`: reorder the
elements, and act with the same :math:`h \in H` on every element (relabel the
vertices of the shared domain of a corresponded set; permute the points of
each element of an uncorresponded set independently).  A layer is
*equivariant* when acting on the input moves the output the same way, and
*invariant* when the output does not move.

Use it on your own base layer (here PyG's ``GraphConv``):

.. testcode::

    import torch
    from torch_geometric.data import Data
    from torch_geometric.nn import GraphConv
    from pyg_dss.data import SetData
    from pyg_dss.loader import SetDataLoader
    from pyg_dss.nn import DSSConv
    from pyg_dss.testing import assert_equivariant

    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    sets = [SetData.from_elements([Data(x=torch.randn(3, 3), edge_index=edge_index)
                                   for _ in range(n)], corresponded=True) for n in (4, 5)]
    batch = next(iter(SetDataLoader(sets, batch_size=2)))
    conv = DSSConv(GraphConv(3, 16), GraphConv(3, 16)).eval()
    assert_equivariant(lambda b: conv(b.x, b.edge_index, b), batch, level="node")

Sets of grid elements (dense tensors ``[B, n, C, *S]``, :mod:`pyg_dss.nn.dense`)
have their sibling, :func:`assert_dense_equivariant`, with :math:`H` the cyclic
translations of the grid and the same error report:

.. testcode::

    import torch
    from torch.nn import Conv2d
    from pyg_dss.nn import DenseDSSConv, to_dense_sets
    from pyg_dss.testing import assert_dense_equivariant

    layer = DenseDSSConv(Conv2d(3, 16, 3, padding=1, padding_mode="circular"),
                         Conv2d(3, 16, 3, padding=1, padding_mode="circular"))
    x, mask = to_dense_sets([torch.randn(4, 3, 8, 8), torch.randn(2, 3, 8, 8)])
    assert_dense_equivariant(layer, x, mask, level="element-grid")
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import torch
from torch import Tensor

__all__ = ["SetPermutation", "permute_sets", "assert_equivariant", "DenseSetTransform",
           "permute_dense_sets", "assert_dense_equivariant", "LEVELS", "SYMMETRIES", "DENSE_LEVELS"]

LEVELS = ("node", "element", "set")
SYMMETRIES = ("set", "element", "both")



@dataclass
class SetPermutation:
    """A random element of :math:`S_n \\times H` applied to a batch of sets.

    ``node_perm[i]`` / ``element_perm[i]`` is the old index of new node /
    element ``i``: an equivariant node-level output satisfies
    ``f(permuted) == f(batch)[node_perm]``.
    """
    batch: Any
    node_perm: Tensor
    element_perm: Tensor


def _argsort_within(groups: Tensor, generator: torch.Generator, shuffle: bool) -> Tensor:
    """A permutation that keeps every group's members contiguous, in group
    order, and shuffles them within their group when ``shuffle``."""
    order = torch.arange(groups.numel())
    if shuffle:
        order = torch.randperm(groups.numel(), generator=generator)
    return order[torch.sort(groups[order], stable=True).indices]


def _inverse(perm: Tensor) -> Tensor:
    inv = torch.empty_like(perm)
    inv[perm] = torch.arange(perm.numel())
    return inv


def permute_sets(batch: Any, symmetry: str = "both",
                 generator: Optional[torch.Generator] = None) -> SetPermutation:
    r"""Applies a random group element to a :class:`~pyg_dss.data.SetData`
    (or a batch of them) and returns the permuted copy with the permutations.

    Args:
        batch: the sets.
        symmetry: ``"set"`` (reorder the elements of every set), ``"element"``
            (act with a random :math:`h \in H` on the elements) or ``"both"``.
        generator: source of randomness.
    """
    if symmetry not in SYMMETRIES:
        raise ValueError(f"Unknown symmetry {symmetry!r}; choose one of {SYMMETRIES}.")
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    device = batch.element_index.device
    element_set = batch.element_set.cpu()
    element_index = batch.element_index.cpu()
    vertex_index = batch.vertex_index.cpu()
    # The set of every shared vertex, from the sets' vertex counts: elements may
    # cover only part of their domain (a vertex no element holds still belongs
    # to its set, and may be the last one).
    counts = torch.as_tensor(batch.num_vertices).view(-1).cpu()
    num_vertices = int(counts.sum())
    vertex_set = torch.repeat_interleave(torch.arange(counts.numel()), counts)

    # S_n: shuffle the elements inside every set (sets keep their place).
    element_perm = _argsort_within(element_set, g, symmetry in ("set", "both"))
    new_element = _inverse(element_perm)
    # H: relabel the shared vertices inside every set.
    vertex_perm = _argsort_within(vertex_set, g, symmetry in ("element", "both"))
    new_vertex = _inverse(vertex_perm)
    # New node order: by new element, then by new vertex; nodes that share a
    # vertex (points of an uncorresponded element) in random order.
    key = new_element[element_index] * (num_vertices + 1) + new_vertex[vertex_index]
    node_perm = _argsort_within(key, g, symmetry in ("element", "both"))
    new_node = _inverse(node_perm)

    # The elements in their new order (nodes, edges and element-level
    # attributes follow), then the nodes within every element and the
    # shared vertices relabelled.
    reordered = batch.element_subgraph(element_perm.to(device))
    within = _inverse(element_perm)[element_index]  # new element of each old node
    first = torch.sort(within, stable=True).indices  # old id of each node of `reordered`
    step = _inverse(first)[node_perm]  # node of `reordered` of each final node
    out = copy.copy(reordered)
    for k in reordered.keys():
        if reordered.is_node_attr(k) and k not in reordered.set_keys:
            out[k] = reordered[k][step.to(reordered[k].device)]
    out.element_index = new_element[element_index[node_perm]].to(device)
    out.vertex_index = new_vertex[vertex_index[node_perm]].to(device)
    out.shared_edge_index = new_vertex[batch.shared_edge_index.cpu()].to(device)
    if batch.get("edge_index") is not None:
        out.edge_index = new_node[batch.edge_index.cpu()].to(device)
    return SetPermutation(out, node_perm.to(device), element_perm.to(device))


def _as_tensor(output: Any) -> Tensor:
    if isinstance(output, (tuple, list)):
        output = output[0]
    if not isinstance(output, Tensor):
        raise TypeError(f"The function must return a tensor, got {type(output).__name__}.")
    return output


def assert_equivariant(fn: Callable[[Any], Any], batch: Any, level: str = "node",
                       symmetries: Sequence[str] = SYMMETRIES, trials: int = 3,
                       atol: float = 1e-5, rtol: float = 1e-4, seed: int = 0) -> None:
    r"""Asserts that ``fn(batch)`` respects the symmetry of sets of symmetric
    elements, for random group elements.

    Args:
        fn: maps a batch of sets to a tensor, e.g.
            ``lambda b: conv(b.x, b.edge_index, b)``.  Put modules with
            dropout in ``eval()`` mode; BatchNorm in training mode is fine
            (its statistics are invariant).
        batch: a :class:`~pyg_dss.data.SetData` or a batch of them, with
            random features.
        level: what the output's rows are: ``"node"`` (equivariant: rows move
            with the nodes), ``"element"`` (one row per element: equivariant to
            the set order, invariant to the element symmetry) or ``"set"``
            (one row per set: invariant).
        symmetries: which of ``"set"``, ``"element"``, ``"both"`` to test
            (each separately, so a failure names the broken one).
        trials: random group elements per symmetry.
        atol, rtol: tolerances of :func:`torch.allclose`.
        seed: seed of the random group elements.

    Raises:
        AssertionError: naming the symmetry, the trial, the largest deviation
            and where it is.
    """
    if level not in LEVELS:
        raise ValueError(f"Unknown level {level!r}; choose one of {LEVELS}.")
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        reference = _as_tensor(fn(batch))
        for symmetry in symmetries:
            for trial in range(trials):
                p = permute_sets(batch, symmetry, g)
                got = _as_tensor(fn(p.batch))
                perm = {"node": p.node_perm, "element": p.element_perm, "set": None}[level]
                expected = reference if perm is None else reference[perm]
                _compare(got, expected, symmetry, trial, level, atol, rtol, _describe)


def _compare(got: Tensor, expected: Tensor, symmetry: str, trial: int, level: str,
             atol: float, rtol: float, describe: Callable[[str], str]) -> None:
    """Raises the checkers' AssertionError if ``got`` differs from ``expected``:
    the symmetry, trial, largest deviation and where it is."""
    if got.shape != expected.shape:
        raise AssertionError(
            f"Output shape changed under the {symmetry!r} symmetry: "
            f"{tuple(expected.shape)} -> {tuple(got.shape)}.")
    if not torch.allclose(got, expected, atol=atol, rtol=rtol):
        err = (got - expected).abs().nan_to_num(float("inf"))
        flat = int(err.reshape(-1).argmax())
        row = flat // max(1, err[0].numel()) if err.dim() > 1 else flat
        kind = "invariant" if level.startswith("set") else "equivariant"
        raise AssertionError(
            f"Not {kind} under the {symmetry!r} symmetry ({describe(symmetry)}), trial "
            f"{trial}: max |difference| {float(err.max()):.3g} at {level} row {row} "
            f"(expected {float(expected.reshape(-1)[flat]):.6g}, got "
            f"{float(got.reshape(-1)[flat]):.6g}; atol={atol}, rtol={rtol}).")


def _describe(symmetry: str) -> str:
    return {"set": "reordering the elements of each set",
            "element": "relabelling the vertices / points of the elements",
            "both": "both at once"}[symmetry]


# --- sets of grid elements (dense tensors [B, n, C, *S]) ---------------------

DENSE_LEVELS = ("element-grid", "element", "set-grid", "set")


@dataclass
class DenseSetTransform:
    r"""A random element of :math:`S_n \times H` applied to a dense batch of
    sets of grid elements, :math:`H` the cyclic translations of the grid.

    ``perm[b, i]`` is the old slot of new element ``i`` of set ``b`` (so an
    equivariant element-level output satisfies ``f(x')[b] == f(x)[b, perm[b]]``);
    ``shifts[b]`` the offsets (one per spatial dimension) by which every
    element of set ``b`` was rolled.
    """
    x: Tensor
    mask: Optional[Tensor]
    perm: Tensor
    shifts: Tensor

    def move_elements(self, y: Tensor) -> Tensor:
        """Reorders the element axis (dim 1) of an element-level output."""
        index = self.perm.to(y.device).view(self.perm.shape + (1,) * (y.dim() - 2))
        return y.gather(1, index.expand((-1, -1) + tuple(y.shape[2:])))

    def shift_grid(self, y: Tensor, grid_dims: Sequence[int], scale: int = 1) -> Tensor:
        """Rolls the grid dimensions ``grid_dims`` of an output (one row per
        set along dim 0) by the same offsets, divided by ``scale`` (an output
        on a grid ``scale`` times coarser)."""
        rows = []
        for b in range(y.size(0)):
            offsets = [int(o) // scale for o in self.shifts[b]]
            rows.append(torch.roll(y[b], offsets, [d - 1 for d in grid_dims]))
        return torch.stack(rows)


def permute_dense_sets(x: Tensor, mask: Optional[Tensor] = None, symmetry: str = "both",
                       generator: Optional[torch.Generator] = None,
                       shift_multiple: int = 1) -> DenseSetTransform:
    r"""Applies a random group element to a dense batch of sets ``x``
    ``[B, n, C, *S]`` (and its ``mask`` [B, n]): reorder the element slots of
    every set (``"set"``; padded slots move with their mask), roll every
    element of a set by the same random offsets along every grid dimension
    (``"element"``; multiples of ``shift_multiple``, for networks that
    downsample), or both."""
    if symmetry not in SYMMETRIES:
        raise ValueError(f"Unknown symmetry {symmetry!r}; choose one of {SYMMETRIES}.")
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    B, n = x.shape[:2]
    grid = x.shape[3:]
    if symmetry in ("set", "both"):
        perm = torch.stack([torch.randperm(n, generator=g) for _ in range(B)])
    else:
        perm = torch.arange(n).expand(B, n).clone()
    if symmetry in ("element", "both"):
        shifts = torch.stack([torch.randint(0, max(1, s // shift_multiple), (B,), generator=g)
                              * shift_multiple for s in grid], 1) if grid else \
            torch.zeros(B, 0, dtype=torch.long)
    else:
        shifts = torch.zeros(B, len(grid), dtype=torch.long)
    t = DenseSetTransform(x, mask, perm, shifts)
    moved = t.move_elements(x)
    t.x = t.shift_grid(moved, range(3, x.dim()))
    t.mask = None if mask is None else mask.gather(1, perm.to(mask.device))
    return t


def assert_dense_equivariant(fn: Callable[[Tensor, Optional[Tensor]], Any], x: Tensor,
                             mask: Optional[Tensor] = None, level: str = "element-grid",
                             symmetries: Sequence[str] = SYMMETRIES, trials: int = 3,
                             shift_multiple: int = 1, output_scale: int = 1,
                             atol: float = 1e-5, rtol: float = 1e-4, seed: int = 0) -> None:
    r"""Asserts that ``fn(x, mask)`` respects the symmetry of sets of grid
    elements, :math:`S_n \times` cyclic translations, for random group
    elements (the dense sibling of :func:`assert_equivariant`; same report).

    Args:
        fn: maps ``(x [B, n, C, *S], mask [B, n] or None)`` to a tensor, e.g.
            ``lambda x, m: layer(x, m)``.  Use circular padding in the
            convolutions for exact translation equivariance; put dropout in
            ``eval()`` mode.
        x, mask: the sets (random values) and, for sets of different sizes,
            the mask of real elements.
        level: what the output is: ``"element-grid"`` ``[B, n, C', *S']``
            (both symmetries move it), ``"element"`` ``[B, n, ...]`` (moves
            with the set order, invariant to shifts), ``"set-grid"``
            ``[B, C', *S']`` (invariant to the set order, moves with shifts),
            ``"set"`` ``[B, ...]`` (invariant).
        symmetries: which of ``"set"``, ``"element"``, ``"both"`` to test.
        trials: random group elements per symmetry.
        shift_multiple: shifts are multiples of this (a network that pools
            by 2 twice is equivariant to shifts by multiples of 4).
        output_scale: the output grid is this many times coarser than the
            input's (a shift of ``s`` moves it by ``s / output_scale``).
        atol, rtol: tolerances of :func:`torch.allclose`.
        seed: seed of the random group elements.
    """
    if level not in DENSE_LEVELS:
        raise ValueError(f"Unknown level {level!r}; choose one of {DENSE_LEVELS}.")
    if shift_multiple % output_scale:
        raise ValueError("shift_multiple must be a multiple of output_scale.")
    g = torch.Generator().manual_seed(seed)
    grid_dims = x.dim() - 3
    with torch.no_grad():
        reference = _as_tensor(fn(x, mask))
        for symmetry in symmetries:
            for trial in range(trials):
                t = permute_dense_sets(x, mask, symmetry, g, shift_multiple)
                got = _as_tensor(fn(t.x, t.mask))
                expected = reference
                if level.startswith("element"):
                    expected = t.move_elements(expected)
                if level.endswith("grid"):
                    first = 3 if level == "element-grid" else 2
                    dims = range(expected.dim() - grid_dims, expected.dim())
                    if expected.dim() - grid_dims < first:
                        raise AssertionError(f"A {level!r} output needs {grid_dims} grid "
                                             f"dimension(s); got shape {tuple(expected.shape)}.")
                    expected = t.shift_grid(expected, dims, output_scale)
                _compare(got, expected, symmetry, trial, level, atol, rtol, _describe_dense)


def _describe_dense(symmetry: str) -> str:
    return {"set": "reordering the elements of each set",
            "element": "circularly shifting every element of a set by the same offset",
            "both": "both at once"}[symmetry]
