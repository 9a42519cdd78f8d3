r"""Checking :math:`S_n \times H` equivariance of any module on a batch of sets.

The symmetry of a set of n elements is :math:`G = S_n \times H`: reorder the
elements, and act with the same :math:`h \in H` on every element (relabel the
vertices of the shared domain of a corresponded set; permute the points of
each element of an uncorresponded set independently).  A layer is
*equivariant* when acting on the input moves the output the same way, and
*invariant* when the output does not move.

Use it on your own base layer::

    from pyg_dss.testing import assert_equivariant
    conv = DSSConv(MyConv(3, 16), MyConv(3, 16)).eval()
    assert_equivariant(lambda b: conv(b.x, b.edge_index, b), batch, level="node")
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import torch
from torch import Tensor

LEVELS = ("node", "element", "set")
SYMMETRIES = ("set", "element", "both")

# Attributes rewritten explicitly by permute_sets; every other tensor is moved
# by its first dimension: node-level (num_nodes rows) or element-level.
_INDEX_KEYS = ("edge_index", "element_index", "vertex_index", "shared_edge_index",
               "element_set")


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
    num_nodes = element_index.numel()
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

    out = copy.copy(batch)
    num_elements = element_set.numel()
    for k, value in batch.items():
        if not isinstance(value, Tensor) or value.dim() == 0 or k in _INDEX_KEYS:
            continue
        if k.startswith("shared_") or batch.is_edge_attr(k):
            continue  # edges keep their order (their endpoints are relabelled)
        if value.size(0) == num_nodes:
            out[k] = value[node_perm.to(value.device)]
        elif value.size(0) == num_elements:
            out[k] = value[element_perm.to(value.device)]
    out.element_index = new_element[element_index[node_perm]].to(device)
    out.vertex_index = new_vertex[vertex_index[node_perm]].to(device)
    out.element_set = element_set[element_perm].to(device)
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
                if got.shape != expected.shape:
                    raise AssertionError(
                        f"Output shape changed under the {symmetry!r} symmetry: "
                        f"{tuple(expected.shape)} -> {tuple(got.shape)}.")
                if not torch.allclose(got, expected, atol=atol, rtol=rtol):
                    err = (got - expected).abs()
                    flat = int(err.reshape(-1).argmax())
                    row = flat // max(1, err[0].numel()) if err.dim() > 1 else flat
                    kind = "invariant" if level == "set" else "equivariant"
                    raise AssertionError(
                        f"Not {kind} under the {symmetry!r} symmetry "
                        f"({_describe(symmetry)}), trial {trial}: max |difference| "
                        f"{float(err.max()):.3g} at {level} row {row} "
                        f"(expected {float(expected.reshape(-1)[flat]):.6g}, got "
                        f"{float(got.reshape(-1)[flat]):.6g}; atol={atol}, rtol={rtol}).")


def _describe(symmetry: str) -> str:
    return {"set": "reordering the elements of each set",
            "element": "relabelling the vertices / points of the elements",
            "both": "both at once"}[symmetry]
