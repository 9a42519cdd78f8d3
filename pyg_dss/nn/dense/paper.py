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
* :class:`PaperSetUNet` (``task="deblur"`` and ``task="channels"``): the
  U-Nets of burst deblurring and colour-channel matching, a DeepSets
  bottleneck with BatchNorm, bilinear upsampling; a set max, two
  convolutions and a clamp (deblurring) or a 1x1 set layer per element
  (colour matching).
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
from pyg_dss.nn.utils import reset_submodules
from pyg_dss.nn.variants import out_channels_of

__all__ = ["PAPER_TASKS", "SELECTION_BLOCKS", "SIGNAL_WIDTHS", "UNET_WIDTHS", "UNET_SIZES",
           "PaperSelectionNet", "PaperSignalNet", "PaperSetUNet", "CircularStridedConv1d",
           "PaperSignalSetConv", "PaperDeepSetsNormLayer"]

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
    "siamese-ds": (200, 200, 100),  # two convolutions, then a DeepSets layer of 100
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
        reset_submodules(self)
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
            for layer in block.children():
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
        reset_submodules(self)

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
            ``"siamese-ds"`` (two siamese convolutions, then one
            :class:`PaperDeepSetsNormLayer` on the flattened signals in
            place of the third), ``"dss-sum"``, ``"dss-max"``, ``"sridhar"``
            or ``"aittala"`` (widths :data:`SIGNAL_WIDTHS`).

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
        channels, samples = in_channels, length
        widths, kernels = SIGNAL_WIDTHS[variant], (length, length // 2, length // 4)
        convs = 2 if variant == "siamese-ds" else 3
        for width, kernel in zip(widths[:convs], kernels[:convs], strict=True):
            conv_variant = "siamese" if variant == "siamese-ds" else variant
            self.layers.append(PaperSignalSetConv(conv_variant, channels, width, kernel))
            channels = 2 * width if variant == "aittala" else width
            samples = (samples + 1) // 2
        self.deep_sets: Optional[PaperDeepSetsNormLayer] = None
        if variant == "siamese-ds":
            self.deep_sets = PaperDeepSetsNormLayer(channels * samples, widths[2],
                                                    set_norm="sets")
            channels = widths[2]
        self.out = torch.nn.Linear(channels, out_channels)
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (torch.nn.Conv1d, torch.nn.Linear)):
                torch.nn.init.xavier_uniform_(m.weight)

    def reset_parameters(self) -> None:
        reset_submodules(self)
        self._init_weights()

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        check_dense(x, mask)
        if x.dim() != 4 or x.shape[2:] != (self.in_channels, self.length):
            raise ValueError(f"Expected sets of signals [B, n, {self.in_channels}, "
                             f"{self.length}], got {tuple(x.shape)}.")
        for layer in self.layers:
            x = layer(x, mask)
        z = x.sum(-1) if self.deep_sets is None else self.deep_sets(x.flatten(2), mask)
        return self.out(dense_set_aggregate(z, mask, "sum")).log_softmax(-1)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, length={self.length}, "
                f"variant={self.variant!r})")


#: Channels of the U-Net levels per task and variant (for ``"aittala"``
#: each level's convolutions have half, doubled by the set max).
UNET_WIDTHS: Dict[str, Dict[str, Tuple[int, ...]]] = {
    "deblur": {"siamese-ds": (48, 64, 128, 200, 300), "dss-sum": (48, 50, 100, 150, 200),
               "dss-max": (48, 50, 100, 150, 200), "sridhar": (48, 64, 128, 200, 300),
               "aittala": (150, 200, 220, 250, 250)},
    "channels": {"siamese-ds": (64, 128, 200, 300), "dss-sum": (50, 100, 150, 200),
                 "dss-max": (50, 100, 150, 200), "sridhar": (64, 128, 200, 300),
                 "aittala": (150, 200, 300, 320)},
}
#: Image side the U-Net of each task takes (its deepest level is 8x8).
UNET_SIZES = {"deblur": 128, "channels": 64}


class PaperDeepSetsNormLayer(Module):
    r"""The DeepSets layer with a BatchNorm on each branch of the authors'
    U-Net bottlenecks and their signal network's Siamese+DS variant:

    .. math::
        \mathbf{y}_i = \mathrm{ReLU}\big(\mathrm{BN}(\mathbf{A}\mathbf{z}_i + \mathbf{a})
        + \mathrm{BN}'(\mathbf{B} \max_j \mathbf{z}_j + \mathbf{b})\big).

    Args:
        in_channels, out_channels: sizes of :math:`\mathbf{z}_i` and
            :math:`\mathbf{y}_i`.
        set_norm: what :math:`\mathrm{BN}'` normalises over: the set
            branch broadcast to the rows of the real elements
            (``"elements"``, the U-Nets) or one row per set (``"sets"``, the
            signal network).

    Shapes: ``z`` ``[B, n, C]``, ``mask`` ``[B, n]`` (optional) -> ``[B, n, C']``.
    """
    def __init__(self, in_channels: int, out_channels: int, set_norm: str = "elements") -> None:
        super().__init__()
        if set_norm not in ("elements", "sets"):
            raise ValueError(f"set_norm must be 'elements' or 'sets', got {set_norm!r}.")
        self.set_norm_rows = set_norm
        self.element = torch.nn.Sequential(torch.nn.Linear(in_channels, out_channels),
                                           torch.nn.BatchNorm1d(out_channels))
        self.lin_set = torch.nn.Linear(in_channels, out_channels)
        self.set_norm = torch.nn.BatchNorm1d(out_channels)

    def reset_parameters(self) -> None:
        reset_submodules(self)

    def forward(self, z: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        check_dense(z, mask)
        s = self.lin_set(dense_set_aggregate(z, mask, "max"))
        if self.set_norm_rows == "sets":
            s = self.set_norm(s)
        s = s.unsqueeze(1).expand(z.size(0), z.size(1), -1)
        if self.set_norm_rows == "elements":
            s = apply_to_elements(self.set_norm, s, mask)
        y = apply_to_elements(self.element, z, mask) + s
        return zero_padding(torch.relu(y), mask)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.lin_set.in_features}, "
                f"{self.lin_set.out_features})")


def _same_conv3(in_channels: int, out_channels: int) -> Module:
    return torch.nn.Conv2d(in_channels, out_channels, 3, padding=1)


@register_model
class PaperSetUNet(Configurable, Module):
    r"""The U-Nets of the authors' burst-deblurring (``task="deblur"``,
    their ``UNetLarge``) and colour-channel matching (``task="channels"``,
    their ``UNet``) code: levels of two set layers of the variant (3x3
    convolutions, a BatchNorm per branch, each followed by ReLU and
    ``Dropout2d``; 2x2 max-pools down), a bottleneck that pools the 8x8
    level with a 2x2 window and stride 8 to one vector per element, three
    :class:`PaperDeepSetsNormLayer`, bilinear upsampling (``align_corners``)
    back up with skip concatenation, then

    * ``"deblur"``: a max over the set, two plain convolutions and a clamp,
      :math:`\hat{\mathbf{y}} = \mathrm{clamp}(g(\max_j U(\mathbf{X})_j), -1, 1)`
      (invariant to the set order);
    * ``"channels"``: a 1x1 set layer with its BatchNorm (siamese for every
      variant but DSS), one output image per element (equivariant).

    The strided pooling keeps no exact translation symmetry.  Every variant,
    the siamese one included, shares information across the set in the
    bottleneck (the authors' code).

    Args:
        task: ``"deblur"`` or ``"channels"``.
        in_channels, out_channels: channels of the elements and of the
            output (3 and 3 in the paper).
        variant: ``"siamese-ds"``, ``"dss-sum"``, ``"dss-max"``,
            ``"sridhar"`` or ``"aittala"``.
        widths: channels of the levels; ``None`` for the authors'
            (:data:`UNET_WIDTHS`).  For ``"aittala"`` every width must be
            even (half from the convolution, half from the set max).
        dropout: rate of the ``Dropout2d`` after every set layer.

    Shapes: ``x`` ``[B, n, C, S, S]`` with ``S`` from :data:`UNET_SIZES`
    (128 deblur, 64 channels), ``mask`` ``[B, n]`` (optional) ->
    ``[B, out_channels, S, S]`` (deblur) or ``[B, n, out_channels, S, S]``
    (channels, zero at padding).
    """
    def __init__(self, task: str = "deblur", in_channels: int = 3, out_channels: int = 3,
                 variant: str = "dss-sum", widths: Optional[Sequence[int]] = None,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if task not in UNET_WIDTHS:
            raise ValueError(f"task must be one of {tuple(UNET_WIDTHS)}, got {task!r}.")
        _check_paper_variant(task, variant, tuple(UNET_WIDTHS[task]))
        c = tuple(UNET_WIDTHS[task][variant] if widths is None else widths)
        levels = len(UNET_WIDTHS[task][variant])
        if len(c) != levels or (variant == "aittala" and any(w % 2 for w in c)):
            raise ValueError(f"widths must be {levels} channel counts (even for 'aittala'), "
                             f"got {list(c)}.")
        self._store_config(task=task, in_channels=in_channels, out_channels=out_channels,
                           variant=variant, widths=None if widths is None else tuple(widths),
                           dropout=dropout)
        self.task, self.in_channels, self.variant = task, in_channels, variant
        self.size = UNET_SIZES[task]
        self.down = torch.nn.ModuleList()
        channels = in_channels
        for width in c:
            self.down.append(self._double(channels, width))
            channels = width
        self.bottleneck = torch.nn.ModuleList([PaperDeepSetsNormLayer(c[-1], c[-1])
                                               for _ in range(3)])
        # Up the levels: deblurring returns to each level's width, colour matching stays
        # at the second level's width on the top level.
        up_widths = c[-2::-1] if task == "deblur" else c[-2:0:-1] + (c[1],)
        self.up = torch.nn.ModuleList()
        for width, skip in zip(up_widths, c[:0:-1], strict=True):
            self.up.append(self._double(channels + skip, width))
            channels = width
        channels += c[0]
        self.pool2 = ElementWise(torch.nn.MaxPool2d(2, stride=2))
        self.pool8 = ElementWise(torch.nn.MaxPool2d(2, stride=8))
        self.up2 = ElementWise(torch.nn.Upsample(scale_factor=2, mode="bilinear",
                                                 align_corners=True))
        self.up8 = ElementWise(torch.nn.Upsample(scale_factor=8, mode="bilinear",
                                                 align_corners=True))
        self.dropout = ElementWise(torch.nn.Dropout2d(dropout))
        self.last: Module
        if task == "deblur":
            self.last = torch.nn.Sequential(torch.nn.Conv2d(channels, c[0], 3, padding=1),
                                            torch.nn.ReLU(),
                                            torch.nn.Conv2d(c[0], out_channels, 3, padding=1))
        else:
            last_variant = variant if variant.startswith("dss-") else "siamese-ds"
            self.last = make_dense_layer(last_variant, _conv1, channels, out_channels,
                                         torch.nn.BatchNorm2d)
        self._init_weights()

    def _double(self, in_channels: int, width: int) -> Module:
        base = width // 2 if self.variant == "aittala" else width
        return torch.nn.ModuleList([
            make_dense_layer(self.variant, _same_conv3, in_channels, base, torch.nn.BatchNorm2d),
            make_dense_layer(self.variant, _same_conv3, width, base, torch.nn.BatchNorm2d)])

    def _init_weights(self) -> None:
        # Xavier-normal for the set layers and the bottleneck; the deblurring network's
        # final plain convolutions keep PyTorch's default, as in the authors' code.
        for part in (self.down, self.up, self.bottleneck):
            _xavier_normal(part)
        if self.task == "channels":
            _xavier_normal(self.last)

    def reset_parameters(self) -> None:
        reset_submodules(self)
        self._init_weights()

    def _run(self, pair: Module, x: Tensor, mask: Optional[Tensor]) -> Tensor:
        for layer in pair.children():
            x = self.dropout(torch.relu(layer(x, mask)), mask)
        return x

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        check_dense(x, mask)
        s = self.size
        if x.dim() != 5 or x.size(2) != self.in_channels or x.shape[3:] != (s, s):
            raise ValueError(f"Expected sets of {self.in_channels}-channel {s}x{s} images "
                             f"[B, n, {self.in_channels}, {s}, {s}] (the authors' U-Net for "
                             f"{self.task!r} ends at one pixel), got {tuple(x.shape)}.")
        skips = []
        for k, pair in enumerate(self.down):
            x = self._run(pair, x, mask)
            skips.append(x)
            x = self.pool2(x, mask) if k < len(self.down) - 1 else self.pool8(x, mask)
        z = x.flatten(2)
        for layer in self.bottleneck:
            z = layer(z, mask)
        x = self.up8(z[..., None, None], mask)
        for pair, skip in zip(self.up, skips[:0:-1], strict=True):
            x = self.up2(self._run(pair, torch.cat([x, skip], 2), mask), mask)
        x = torch.cat([x, skips[0]], 2)
        if self.task == "channels":
            return self.last(x, mask)
        return self.last(dense_set_aggregate(x, mask, "max")).clamp(-1, 1)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.task!r}, {self.in_channels}, "
                f"variant={self.variant!r})")


def _conv1(in_channels: int, out_channels: int) -> Module:
    return torch.nn.Conv2d(in_channels, out_channels, 1)
