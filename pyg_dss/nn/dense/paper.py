r"""The networks of the grid experiments of Maron et al. (ICML 2020) as their
published code builds them (``Haggaim/On-Learning-Sets-of-Symmetric-Elements``),
for every variant that code defines.  Built with :meth:`GridSetNet.paper
<pyg_dss.nn.GridSetNet.paper>`.

* :class:`PaperSelectionNet` (``task="selection"``, image selection): three
  blocks of three *valid* 3x3 set layers (a BatchNorm per branch, ELU,
  channel dropout), a 2x2 max-pool after the first two blocks and a 5x5
  max-pool after the third (64x64 images end as one vector per element),
  then a DeepSets head 256-128-1 (max, ELU, dropout, a bias on both
  branches) and a softmax over the set.
* :class:`PaperSignalNet` (``task="signals"``, waveform classification):
  three circular stride-2 convolutions as long as the signal, then half and
  a quarter of it, each followed by its BatchNorm *before* the elements
  meet (the 1D code mixes normalised elements), ReLU, and a sum over the
  grid and the set into a linear classifier.

Valid convolutions and strided pooling keep no exact translation symmetry
(shifting the input changes which pixels survive the crop and the pooling
window); both networks are exactly equivariant (selection scores) or
invariant (signal classes) to the order of the set.  With a signal length
divisible by 8 the signal network is also invariant to cyclic shifts by
multiples of 8.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.nn import Module

from pyg_dss.checkpoint import register_model
from pyg_dss.nn.config import Configurable
from pyg_dss.nn.dense.layers import DenseDeepSetsLayer, make_dense_layer
from pyg_dss.nn.dense.sets import (ElementWise, apply_to_elements, check_dense,
                                   dense_set_aggregate, masked_set_log_softmax, zero_padding)
from pyg_dss.nn.variants import out_channels_of

__all__ = ["PAPER_TASKS", "SELECTION_BLOCKS", "SIGNAL_WIDTHS", "PaperSelectionNet",
           "PaperSignalNet", "CircularStridedConv1d", "PaperSignalSetConv"]

#: The grid experiments of the paper, the ``task`` of :meth:`GridSetNet.paper`.
PAPER_TASKS = ("signals", "selection", "channels", "deblur", "frames")

#: Channels ``(in, middle, out)`` of the three blocks of the image-selection
#: network per variant (the first ``in`` is the image's channels).
SELECTION_BLOCKS: Dict[str, Tuple[Tuple[int, int, int], ...]] = {
    "siamese-ds": ((3, 50, 100), (100, 100, 180), (180, 200, 256)),
    "dss-sum": ((3, 32, 64), (64, 64, 128), (128, 128, 256)),
    "dss-max": ((3, 32, 64), (64, 64, 128), (128, 128, 256)),
    "sridhar": ((3, 50, 100), (100, 100, 180), (180, 200, 256)),
    "aittala": ((3, 90, 100), (200, 100, 100), (200, 110, 128)),
}

#: Widths of the three layers of the signal network per variant.
SIGNAL_WIDTHS: Dict[str, Tuple[int, int, int]] = {
    "siamese": (220, 220, 110),
    "dss-sum": (160, 160, 80),
    "dss-max": (160, 160, 80),
    "sridhar": (220, 220, 110),
    "aittala": (160, 160, 80),
}


def _check_paper_variant(task: str, variant: str, choices: Sequence[str]) -> None:
    if variant not in choices:
        raise ValueError(f"The authors' {task} network has the variants {tuple(choices)}, not "
                         f"{variant!r}.")


def _xavier_normal(module: Module) -> None:
    # The authors re-draw every convolution and linear weight (Xavier-normal in the image
    # code, Xavier-uniform in the signal code); biases and norms keep PyTorch's defaults.
    for m in module.modules():
        if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.xavier_normal_(m.weight)


@register_model
class PaperSelectionNet(Configurable, Module):
    r"""The image-selection network of the authors' code: scores for every
    element of every set, as log-probabilities over the set,

    .. math::
        \log p_i = \mathrm{log\,softmax}_i\, \mathrm{DS}\big(
        \mathrm{pool}_5 B_3\, \mathrm{pool}_2 B_2\, \mathrm{pool}_2 B_1(\mathbf{X})\big)_i,

    each block :math:`B_k` three set layers of the variant (valid 3x3
    convolutions, a BatchNorm per branch, ELU, ``Dropout2d``), the head
    :math:`\mathrm{DS}` three DeepSets layers (max, ELU and dropout between).

    Args:
        in_channels: channels of the images (3 in the paper).
        variant: ``"siamese-ds"``, ``"dss-sum"``, ``"dss-max"``,
            ``"sridhar"`` or ``"aittala"`` (widths :data:`SELECTION_BLOCKS`).
        conv_dropout, head_dropout: dropout rates (command-line options of
            the authors' script).

    Shapes: ``x`` ``[B, n, C, H, W]`` with ``H, W`` in 62..81 (64 in the
    paper: the last pooling must leave one pixel), ``mask`` ``[B, n]``
    (optional) -> ``[B, n]`` log-probabilities (``-inf`` at padding).
    """
    def __init__(self, in_channels: int = 3, variant: str = "dss-sum",
                 conv_dropout: float = 0.0, head_dropout: float = 0.0) -> None:
        super().__init__()
        _check_paper_variant("selection", variant, tuple(SELECTION_BLOCKS))
        self._store_config(in_channels=in_channels, variant=variant,
                           conv_dropout=conv_dropout, head_dropout=head_dropout)
        self.in_channels, self.variant = in_channels, variant
        self.blocks = torch.nn.ModuleList()
        channels = in_channels
        for _, middle, out in SELECTION_BLOCKS[variant]:
            block: List[Module] = []
            for width in (middle, middle, out):
                block.append(make_dense_layer(variant, _valid_conv3, channels, width,
                                              torch.nn.BatchNorm2d))
                channels = out_channels_of(variant, width)
            self.blocks.append(torch.nn.ModuleList(block))
        self.conv_dropout = ElementWise(torch.nn.Dropout2d(conv_dropout))
        self.pools = torch.nn.ModuleList([ElementWise(torch.nn.MaxPool2d(k)) for k in (2, 2, 5)])
        self.head = torch.nn.ModuleList([
            DenseDeepSetsLayer(channels, channels, "max", set_bias=True),
            DenseDeepSetsLayer(channels, 128, "max", set_bias=True),
            DenseDeepSetsLayer(128, 1, "max", set_bias=True)])
        self.head_dropout = torch.nn.Dropout(head_dropout)
        _xavier_normal(self)

    def reset_parameters(self) -> None:
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()
        _xavier_normal(self)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        check_dense(x, mask)
        if x.dim() != 5 or x.size(2) != self.in_channels:
            raise ValueError(f"Expected sets of images [B, n, {self.in_channels}, H, W], got "
                             f"{tuple(x.shape)}.")
        if any(_selection_output_side(side) != 1 for side in x.shape[3:]):
            raise ValueError(f"Images of {tuple(x.shape[3:])} pixels do not end as one pixel "
                             "after the last pooling: the authors' selection network takes "
                             "64x64 images (62 to 81 pixels a side work).")
        for block, pool in zip(self.blocks, self.pools, strict=True):
            for layer in block:
                x = self.conv_dropout(F.elu(layer(x, mask)), mask)
            x = pool(x, mask)
        z = x.flatten(2)
        for k, layer in enumerate(self.head):
            z = layer(z, mask)
            if k < len(self.head) - 1:
                z = zero_padding(self.head_dropout(F.elu(z)), mask)
        return masked_set_log_softmax(z.squeeze(-1), mask)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.in_channels}, variant={self.variant!r})"


def _selection_output_side(side: int) -> int:
    # Each block crops 6 pixels (three valid 3x3 convolutions), then pools by 2, 2, 5.
    for pool in (2, 2, 5):
        side = (side - 6) // pool
    return side


def _valid_conv3(in_channels: int, out_channels: int) -> Module:
    return torch.nn.Conv2d(in_channels, out_channels, 3)


class CircularStridedConv1d(Module):
    r"""A stride-2 1D convolution on a cyclic signal, padded circularly by
    ``kernel_size - 1`` in all (``kernel_size // 2`` before, the rest after),
    so a signal of length :math:`L` comes out with :math:`\lceil L/2 \rceil`
    samples: the padding the authors' PyTorch version applied for
    ``Conv1d(k, stride=2, padding=k - 1, padding_mode="circular")``.
    Exactly equivariant to cyclic shifts by multiples of 2 when :math:`L` is
    even.

    Shapes: ``[N, C, L] -> [N, C', ceil(L / 2)]``.
    """
    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.pad = (kernel_size // 2, (kernel_size - 1) // 2)
        self.conv = torch.nn.Conv1d(in_channels, out_channels, kernel_size, stride=2)

    def reset_parameters(self) -> None:
        self.conv.reset_parameters()

    def forward(self, x: Tensor) -> Tensor:
        if max(self.pad) > x.size(-1):
            raise ValueError(f"A kernel of {self.conv.kernel_size[0]} needs signals of at "
                             f"least {max(self.pad)} samples, got {x.size(-1)}.")
        return self.conv(F.pad(x, self.pad, mode="circular"))

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.conv.in_channels}, "
                f"{self.conv.out_channels}, kernel_size={self.conv.kernel_size[0]})")


class PaperSignalSetConv(Module):
    r"""One layer of the authors' signal network, where every branch is
    normalised per element *before* the elements meet (unlike
    :class:`DenseDSSConv`, which aggregates the input), with
    :math:`\mathbf{h}_i = \mathrm{BN}(L(\mathbf{x}_i))`:

    * ``"siamese"``: :math:`\mathrm{ReLU}(\mathbf{h}_i)`;
    * ``"dss-sum"`` / ``"dss-max"``: :math:`\mathrm{ReLU}(\mathbf{h}_i +
      \mathrm{AGG}_j \mathrm{BN}'(L'(\mathbf{x}_j)))`;
    * ``"sridhar"``: :math:`\mathrm{ReLU}(\mathbf{h}_i - \frac1n\sum_j \mathbf{h}_j)`;
    * ``"aittala"``: :math:`[\mathbf{g}_i \Vert \max_j \mathbf{g}_j]`,
      :math:`\mathbf{g}_i = \mathrm{ReLU}(\mathbf{h}_i)` (twice the width).

    Args:
        variant: one of the keys of :data:`SIGNAL_WIDTHS`.
        in_channels, out_channels: channels in and per branch out.
        kernel_size: of the :class:`CircularStridedConv1d`.

    Shapes: ``x`` ``[B, n, C, L]``, ``mask`` ``[B, n]`` (optional) ->
    ``[B, n, C', ceil(L / 2)]`` (``2 C'`` for ``"aittala"``), zero at padding.
    """
    def __init__(self, variant: str, in_channels: int, out_channels: int,
                 kernel_size: int) -> None:
        super().__init__()
        _check_paper_variant("signal", variant, tuple(SIGNAL_WIDTHS))
        self.variant = variant
        self.element = torch.nn.Sequential(
            CircularStridedConv1d(in_channels, out_channels, kernel_size),
            torch.nn.BatchNorm1d(out_channels))
        self.shared: Optional[Module] = None
        if variant.startswith("dss-"):
            self.shared = torch.nn.Sequential(
                CircularStridedConv1d(in_channels, out_channels, kernel_size),
                torch.nn.BatchNorm1d(out_channels))

    def reset_parameters(self) -> None:
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        check_dense(x, mask)
        h = apply_to_elements(self.element, x, mask)
        if self.shared is not None:
            s = apply_to_elements(self.shared, x, mask)
            h = h + dense_set_aggregate(s, mask, self.variant[4:]).unsqueeze(1)
        elif self.variant == "sridhar":
            h = h - dense_set_aggregate(h, mask, "mean").unsqueeze(1)
        h = torch.relu(h)
        if self.variant == "aittala":
            h = torch.cat([h, dense_set_aggregate(h, mask, "max").unsqueeze(1).expand_as(h)], 2)
        return zero_padding(h, mask)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.variant!r}, {self.element[0]})"


@register_model
class PaperSignalNet(Configurable, Module):
    r"""The signal-classification network of the authors' code: three
    :class:`PaperSignalSetConv` layers with kernels :math:`L`,
    :math:`\lfloor L/2 \rfloor`, :math:`\lfloor L/4 \rfloor` (each halving
    the signal), a sum over the grid and over the set, and a linear layer,

    .. math::
        \log p = \mathrm{log\,softmax}\Big(W \sum_{i} \sum_{t}
        f(\mathbf{X})_{i, :, t} + b\Big).

    Args:
        in_channels: channels of every signal (1 in the paper).
        out_channels: classes (3 in the paper).
        length: samples per signal :math:`L` (100 in the paper).
        variant: ``"siamese"`` (no sharing: the set meets in the final sum),
            ``"dss-sum"``, ``"dss-max"``, ``"sridhar"`` or ``"aittala"``
            (widths :data:`SIGNAL_WIDTHS`).

    Shapes: ``x`` ``[B, n, C, L]``, ``mask`` ``[B, n]`` (optional) ->
    ``[B, out_channels]`` log-probabilities.
    """
    def __init__(self, in_channels: int = 1, out_channels: int = 3, length: int = 100,
                 variant: str = "dss-sum") -> None:
        super().__init__()
        _check_paper_variant("signal", variant, tuple(SIGNAL_WIDTHS))
        if length < 4:
            raise ValueError(f"length must be at least 4 (kernels L, L/2, L/4), got {length}.")
        self._store_config(in_channels=in_channels, out_channels=out_channels, length=length,
                           variant=variant)
        self.in_channels, self.length, self.variant = in_channels, length, variant
        self.layers = torch.nn.ModuleList()
        channels = in_channels
        for width, kernel in zip(SIGNAL_WIDTHS[variant], (length, length // 2, length // 4),
                                 strict=True):
            self.layers.append(PaperSignalSetConv(variant, channels, width, kernel))
            channels = 2 * width if variant == "aittala" else width
        self.out = torch.nn.Linear(channels, out_channels)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear)):
                torch.nn.init.xavier_uniform_(m.weight)

    def reset_parameters(self) -> None:
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()
        self._init_weights()

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        check_dense(x, mask)
        if x.dim() != 4 or x.shape[2:] != (self.in_channels, self.length):
            raise ValueError(f"Expected sets of signals [B, n, {self.in_channels}, "
                             f"{self.length}], got {tuple(x.shape)}.")
        for layer in self.layers:
            x = layer(x, mask)
        z = dense_set_aggregate(x.sum(-1), mask, "sum")
        return self.out(z).log_softmax(-1)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, length={self.length}, "
                f"variant={self.variant!r})")
