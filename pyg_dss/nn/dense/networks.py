r"""Ready networks on sets of grid elements: 1D signals, images, volumes
(Maron et al., ICML 2020, Sections 4 and 6).

For grids, message passing is the wrong tool: a batch of sets is one dense
tensor ``x`` of shape ``[B, n, C, *S]`` (see :mod:`pyg_dss.nn.dense.sets`),
and the element symmetry :math:`H` (translations, or whatever the base
module is equivariant to) acts on ``S``.  Any module mapping ``[N, C, *S]``
to ``[N, C', *S']`` is a base layer: ``Conv1d``, ``Conv2d``, ``Conv3d``, a
user's own, an escnn or e3nn module wrapped to take and return plain tensors.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from torch import Tensor
from torch.nn import Module

from pyg_dss.checkpoint import register_model
from pyg_dss.nn.aggr import REDUCTIONS, reduce_dim
from pyg_dss.nn.config import Configurable
from pyg_dss.nn.dense.layers import DenseDeepSetsLayer, make_dense_layer
from pyg_dss.nn.dense.paper import (PAPER_TASKS, PaperSelectionNet, PaperSetUNet,
                                    PaperSignalNet)
from pyg_dss.nn.dense.sets import ElementWise, check_dense, dense_set_aggregate, zero_padding
from pyg_dss.nn.utils import reset_submodules
from pyg_dss.nn.variants import check_variant, out_channels_of

__all__ = ["GridSetNet", "GridSetUNet", "same_conv"]

_CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
_NORM = {1: torch.nn.BatchNorm1d, 2: torch.nn.BatchNorm2d, 3: torch.nn.BatchNorm3d}
_POOL = {1: torch.nn.MaxPool1d, 2: torch.nn.MaxPool2d, 3: torch.nn.MaxPool3d}


def _check_options(variant: str, dim: int, padding_mode: str) -> None:
    check_variant(variant)
    if dim not in _CONV:
        raise ValueError(f"dim must be 1, 2 or 3 (spatial dimensions), got {dim}.")
    if padding_mode not in ("zeros", "circular", "reflect", "replicate"):
        raise ValueError(f"Unknown padding_mode {padding_mode!r}.")


def _check_sets(x: Tensor, mask: Optional[Tensor], in_channels: int, dim: int) -> None:
    if x.dim() != dim + 3 or x.size(2) != in_channels:
        raise ValueError(f"Expected sets of shape [B, n, {in_channels}, *{dim} spatial dims], "
                         f"got {tuple(x.shape)}.")
    check_dense(x, mask)
    if mask is not None and not bool(mask.any(1).all()):
        raise ValueError("Every set needs at least one real element (a row of mask is all "
                         "False).")


def same_conv(dim: int, in_channels: int, out_channels: int, kernel_size: int,
              padding_mode: str = "zeros") -> Module:
    """A ``dim``-dimensional convolution whose output has the input's size for
    every kernel size: ``k - 1`` padding in all, the odd one at the end
    (``k // 2`` on both sides would grow an even kernel's output by one)."""
    return _CONV[dim](in_channels, out_channels, kernel_size, padding="same",
                      padding_mode=padding_mode)  # type: ignore[arg-type]  # checked str


class _GridSetModel(Configurable, Module):
    """Shared plumbing: the conv factory and plain-data configuration."""
    dim: int
    kernel_size: int
    padding_mode: str
    variant: str

    def _conv(self, in_channels: int, out_channels: int) -> Module:
        return same_conv(self.dim, in_channels, out_channels, self.kernel_size,
                         self.padding_mode)

    def _layer(self, in_channels: int, out_channels: int) -> Module:
        return make_dense_layer(self.variant, self._conv, in_channels, out_channels,
                                _NORM[self.dim])

    def reset_parameters(self) -> None:
        reset_submodules(self)


@register_model
class GridSetNet(_GridSetModel):
    r"""A network on sets of grid elements for set-level or element-level
    outputs, the shape of the paper's signal and image networks: a stack of
    set layers of one variant (each: :math:`k^{dim}` convolutions with
    ``"same"`` padding, a BatchNorm per branch, ReLU; a 2x max-pool between
    layers when ``downsample``), an invariant pool over the grid (max, mean
    or sum) giving one vector per element, then a DeepSets head
    (:class:`DenseDeepSetsLayer`, max form, ELU between layers).

    * ``readout="element"``: one output vector per element ``[B, n, out]``
      (equivariant to the set order, invariant to the element symmetry):
      scores for choosing an element, labels of elements.
    * ``readout="set"``: the mean over the elements, then a linear layer:
      ``[B, out]`` (invariant): classifying the set.

    With ``variant="siamese-ds"`` the set is seen only by the head (late
    aggregation); every other variant shares information in every layer
    (early aggregation).

    Args:
        in_channels: channels of every element.
        out_channels: outputs per element or per set.
        dim: spatial dimensions of the elements (1 signals, 2 images).
        variant: one of :data:`pyg_dss.nn.VARIANTS`.
        hidden: widths of the set layers.
        kernel_size: convolution size.
        padding_mode: of the convolutions; ``"circular"`` makes them exactly
            translation-equivariant (cyclic shifts).
        downsample: 2x max-pool between set layers.
        spatial_pool: ``"max"``, ``"mean"`` or ``"sum"`` over the grid.
        head_hidden: widths of the DeepSets head before its output layer.
        readout: ``"element"`` or ``"set"``.
    """
    def __init__(self, in_channels: int, out_channels: int = 1, dim: int = 2,
                 variant: str = "dss-sum", hidden: Sequence[int] = (32, 64, 64),
                 kernel_size: int = 3, padding_mode: str = "zeros", downsample: bool = True,
                 spatial_pool: str = "max", head_hidden: Sequence[int] = (64,),
                 readout: str = "element") -> None:
        super().__init__()
        _check_options(variant, dim, padding_mode)
        if spatial_pool not in REDUCTIONS:
            raise ValueError(f"spatial_pool must be one of {REDUCTIONS}, got {spatial_pool!r}.")
        if readout not in ("element", "set"):
            raise ValueError(f"readout must be 'element' or 'set', got {readout!r}.")
        self._store_config(in_channels=in_channels, out_channels=out_channels, dim=dim,
                           variant=variant, hidden=tuple(hidden), kernel_size=kernel_size,
                           padding_mode=padding_mode, downsample=downsample,
                           spatial_pool=spatial_pool, head_hidden=tuple(head_hidden),
                           readout=readout)
        self.in_channels, self.dim, self.variant = in_channels, dim, variant
        self.kernel_size, self.padding_mode = kernel_size, padding_mode
        self.spatial_pool, self.readout = spatial_pool, readout
        self.layers = torch.nn.ModuleList()
        channels = in_channels
        for width in hidden:
            self.layers.append(self._layer(channels, width))
            channels = out_channels_of(variant, width)
        self.pool = ElementWise(_POOL[dim](2)) if downsample else None
        self.head = torch.nn.ModuleList()
        for width in head_hidden:
            self.head.append(DenseDeepSetsLayer(channels, width, aggr="max"))
            channels = width
        self.out: Module
        if readout == "element":
            self.out = DenseDeepSetsLayer(channels, out_channels, aggr="max")
        else:
            self.out = torch.nn.Linear(channels, out_channels)

    @classmethod
    def paper(cls, task: str, variant: str = "dss-sum", **options: Any) -> Module:
        r"""The authors' network for a grid experiment of the paper, as their
        published code builds it (see :mod:`pyg_dss.nn.dense.paper`):

        * ``"signals"``: :class:`~pyg_dss.nn.dense.paper.PaperSignalNet`
          (options ``in_channels``, ``out_channels``, ``length``; variants
          ``"siamese"``, ``"dss-sum"``, ``"dss-max"``, ``"sridhar"``,
          ``"aittala"``);
        * ``"selection"``: :class:`~pyg_dss.nn.dense.paper.PaperSelectionNet`
          (options ``in_channels``, ``conv_dropout``, ``head_dropout``);
        * ``"deblur"``, ``"channels"``:
          :class:`~pyg_dss.nn.dense.paper.PaperSetUNet` (options
          ``in_channels``, ``out_channels``, ``widths``, ``dropout``).

        The image tasks take the variants ``"siamese-ds"``, ``"dss-sum"``,
        ``"dss-max"``, ``"sridhar"``, ``"aittala"``.  ``"frames"`` is refused:
        the published code holds no network for frame ordering to follow.
        Saved and loaded like any model (:func:`pyg_dss.checkpoint.save_model`).
        """
        if task == "signals":
            return PaperSignalNet(variant=variant, **options)
        if task == "selection":
            return PaperSelectionNet(variant=variant, **options)
        if task in ("deblur", "channels"):
            return PaperSetUNet(task, variant=variant, **options)
        if task == "frames":
            raise ValueError("The authors' published code has no frame-ordering network to "
                             "follow; build GridSetNet(..., readout='element'), or their "
                             "closest 2D network, GridSetNet.paper('selection', ...), on 64x64 "
                             "frames.")
        raise ValueError(f"Unknown task {task!r}; choose one of {PAPER_TASKS}.")

    def element_features(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """The per-element vectors after the set layers and the grid pool
        ``[B, n, C]`` (zero at padded elements)."""
        for k, layer in enumerate(self.layers):
            x = torch.relu(layer(x, mask))
            if self.pool is not None and k < len(self.layers) - 1:
                x = self.pool(x, mask)
        return reduce_dim(x.flatten(3), -1, self.spatial_pool)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        _check_sets(x, mask, self.in_channels, self.dim)
        z = self.element_features(x, mask)
        for layer in self.head:
            z = torch.nn.functional.elu(layer(z, mask))
            z = zero_padding(z, mask)
        if self.readout == "element":
            return self.out(z, mask)
        return self.out(dense_set_aggregate(z, mask, "mean"))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, variant={self.variant!r}, "
                f"dim={self.dim}, layers={len(self.layers)}, readout={self.readout!r})")


@register_model
class GridSetUNet(_GridSetModel):
    r"""An image-valued, set-invariant network (the paper's burst
    deblurring): a U-Net of set layers on every element (two set layers per
    level, 2x max-pool down, nearest 2x upsampling and skip concatenation
    up), then a max over the set (the invariant fusion of the authors' code)
    and two plain convolutions; with ``residual`` the output is added to the
    set mean of the input,

    .. math::
        \hat{\mathbf{y}} = \frac{1}{n}\sum_j \mathbf{x}_j +
        g\Big(\max_{j} f(\mathbf{X})_j\Big).

    With ``variant="siamese-ds"`` the elements meet only in that final max
    (late aggregation).  Output ``[B, out_channels, *S]``: invariant to the
    set order, equivariant to the element symmetry.

    Args:
        in_channels, out_channels: channels of the elements and the output.
        dim: spatial dimensions.
        variant: one of :data:`pyg_dss.nn.VARIANTS`.
        widths: channels per U-Net level (``len(widths) - 1`` poolings: the
            grid size must be divisible by ``2 ** (len(widths) - 1)``).
        kernel_size, padding_mode: of the convolutions.
        residual: add the set mean of the input to the output.
    """
    def __init__(self, in_channels: int = 3, out_channels: int = 3, dim: int = 2,
                 variant: str = "dss-sum", widths: Sequence[int] = (32, 64),
                 kernel_size: int = 3, padding_mode: str = "zeros",
                 residual: bool = True) -> None:
        super().__init__()
        _check_options(variant, dim, padding_mode)
        if len(widths) < 1:
            raise ValueError("widths needs at least one level.")
        if residual and in_channels != out_channels:
            raise ValueError(f"residual=True adds the input's set mean to the output: it needs "
                             f"in_channels == out_channels ({in_channels} != {out_channels}).")
        self._store_config(in_channels=in_channels, out_channels=out_channels, dim=dim,
                           variant=variant, widths=tuple(widths), kernel_size=kernel_size,
                           padding_mode=padding_mode, residual=residual)
        self.in_channels, self.dim, self.variant = in_channels, dim, variant
        self.kernel_size, self.padding_mode, self.residual = kernel_size, padding_mode, residual
        self.down = torch.nn.ModuleList()
        skips, channels = [], in_channels
        for width in widths:
            first = self._layer(channels, width)
            channels = out_channels_of(variant, width)
            self.down.append(torch.nn.ModuleList([first, self._layer(channels, width)]))
            skips.append(channels)
        self.up = torch.nn.ModuleList()
        for width, skip in zip(reversed(widths[:-1]), reversed(skips[:-1]), strict=True):
            self.up.append(self._layer(channels + skip, width))
            channels = out_channels_of(variant, width)
        self.pool = ElementWise(_POOL[dim](2))
        self.upsample = ElementWise(torch.nn.Upsample(scale_factor=2, mode="nearest"))
        self.fuse = torch.nn.Sequential(self._conv(channels, widths[0]), torch.nn.ReLU(),
                                        _CONV[dim](widths[0], out_channels, 1))
        self._zero_last()

    def _zero_last(self) -> None:
        # A residual network starts as the identity on the set mean.
        if self.residual:
            for parameter in self.fuse[-1].parameters():
                torch.nn.init.zeros_(parameter)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._zero_last()

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        _check_sets(x, mask, self.in_channels, self.dim)
        factor = 2 ** (len(self.down) - 1)
        if any(s % factor for s in x.shape[3:]):
            raise ValueError(f"The grid size {tuple(x.shape[3:])} must be divisible by "
                             f"{factor} (2 ** number of poolings).")
        h, skips = x, []
        for k, level in enumerate(self.down):
            first, second = level.children()
            h = torch.relu(second(torch.relu(first(h, mask)), mask))
            if k < len(self.down) - 1:
                skips.append(h)
                h = self.pool(h, mask)
        for layer, skip in zip(self.up, reversed(skips), strict=True):
            h = torch.cat([self.upsample(h, mask), skip], dim=2)
            h = torch.relu(layer(h, mask))
        out = self.fuse(dense_set_aggregate(h, mask, "max"))
        return out + dense_set_aggregate(x, mask, "mean") if self.residual else out

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self._config['out_channels']}, "
                f"variant={self.variant!r}, dim={self.dim}, levels={len(self.down)})")
