r"""The model variants of Maron et al. (2020), shared by the graph stack
(:mod:`pyg_dss.nn.model`) and the grid stack (:mod:`pyg_dss.nn.dense`).

Every variant is one way for the elements of a set to share information
inside a layer :math:`L` (the base layer, run on every element):

* ``"dss-sum"``, ``"dss-max"``, ``"dss-mean"``: the DSS layer,
  :math:`L_1(x_i) + L_2(\mathrm{AGG}_j x_j)`, a norm per branch;
* ``"siamese-ds"``: :math:`L_1(x_i)` only (the set is seen by the head:
  late aggregation);
* ``"sridhar"``: :math:`L(x_i) - \frac{1}{n}\sum_j L(x_j)`;
* ``"aittala"``: :math:`[L(x_i) \Vert \max_j L(x_j)]` (twice the width).
"""
from __future__ import annotations

from typing import Callable, Optional

from torch.nn import Module

__all__ = ["VARIANTS", "check_variant", "out_channels_of", "build_variant_layer"]

VARIANTS = ("dss-sum", "dss-max", "dss-mean", "siamese-ds", "sridhar", "aittala")

BaseFactory = Callable[[int, int], Module]
NormFactory = Callable[[int], Optional[Module]]


def check_variant(variant: str) -> str:
    """Returns :obj:`variant`, or raises a one-line error naming the choices."""
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; choose one of {VARIANTS}.")
    return variant


def out_channels_of(variant: str, width: int) -> int:
    """Channels a layer of :obj:`variant` with base width :obj:`width` returns
    (``"aittala"`` concatenates the set max: twice the width)."""
    return 2 * width if check_variant(variant) == "aittala" else width


def build_variant_layer(variant: str, base: BaseFactory, in_channels: int, out_channels: int,
                        norm: NormFactory, dss: Callable[..., Module],
                        sridhar: Callable[..., Module], aittala: Callable[..., Module]
                        ) -> Module:
    """One layer of :obj:`variant` from a base factory ``(in, out) -> module``,
    a norm factory ``channels -> module or None`` (one norm per branch, as in
    the authors' code) and the three layer classes of a stack (graph or
    grid: ``dss(siamese, shared, aggr=, siamese_norm=, shared_norm=)``,
    ``sridhar(base, norm)``, ``aittala(base, norm)``)."""
    check_variant(variant)
    if variant.startswith("dss-"):
        return dss(base(in_channels, out_channels), base(in_channels, out_channels),
                   aggr=variant[4:], siamese_norm=norm(out_channels),
                   shared_norm=norm(out_channels))
    if variant == "siamese-ds":
        return dss(base(in_channels, out_channels), None, siamese_norm=norm(out_channels))
    if variant == "sridhar":
        return sridhar(base(in_channels, out_channels), norm(out_channels))
    return aittala(base(in_channels, out_channels), norm(2 * out_channels))
