r"""DSS layers for sets of elements on a regular grid: 1D signals, images,
volumes (Maron et al., ICML 2020, Sections 4 and 6).

For grids, message passing is the wrong tool: a batch of sets is one dense
tensor ``x`` of shape ``[B, n, C, *S]`` (``B`` sets of up to ``n`` elements,
``C`` channels, spatial size ``S`` = ``(L,)``, ``(H, W)``, ...), and the
element symmetry :math:`H` (translations, or whatever the base module is
equivariant to) acts on ``S``.  Any module mapping ``[N, C, *S]`` to
``[N, C', *S']`` is a base layer: ``Conv1d``, ``Conv2d``, ``Conv3d``, a
user's own, an escnn or e3nn module wrapped to take and return plain tensors.

**Sets of different sizes** share a batch through a boolean ``mask`` of shape
``[B, n]`` (``True`` = a real element; pad the rest with anything, e.g.
:func:`to_dense_sets`).  Padded elements take no part in any aggregate, in
BatchNorm statistics or in any base module (those run on the real elements
only), and every layer returns zeros there.  ``mask=None`` means every set is
full.  Every set needs at least one real element.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch.nn import Module
from torch_geometric.nn.inits import reset

from pyg_dss.checkpoint import register_model

__all__ = ["DENSE_AGGRS", "to_dense_sets", "dense_set_aggregate", "apply_to_elements",
           "ElementWise", "DenseDSSConv", "DenseSridharConv", "DenseAittalaConv",
           "DenseDeepSetsLayer", "masked_set_log_softmax", "make_dense_layer", "GridSetNet",
           "GridSetUNet"]

DENSE_AGGRS = ("sum", "mean", "max")


def _check(x: Tensor, mask: Optional[Tensor]) -> None:
    if x.dim() < 3:
        raise ValueError(f"Expected a batch of sets [B, n, C, *spatial], got shape "
                         f"{tuple(x.shape)}.")
    if mask is not None and (mask.dtype != torch.bool or mask.shape != x.shape[:2]):
        raise ValueError(f"mask must be a bool tensor of shape [B, n] = {tuple(x.shape[:2])}, "
                         f"got {mask.dtype} {tuple(mask.shape)}.")


def _expand(mask: Tensor, like: Tensor) -> Tensor:
    """``mask`` [B, n] viewed as [B, n, 1, ..., 1] to broadcast against ``like``."""
    return mask.view(mask.shape + (1,) * (like.dim() - 2))


def to_dense_sets(sets: Sequence[Tensor]) -> Tuple[Tensor, Tensor]:
    r"""Pads a list of sets ``[n_i, C, *S]`` (same ``C`` and ``S``) into one
    batch ``[B, max n_i, C, *S]`` (zeros after the last element of each set)
    and returns it with the mask ``[B, max n_i]``."""
    if len(sets) == 0:
        raise ValueError("to_dense_sets needs at least one set.")
    shape = sets[0].shape[1:]
    for i, s in enumerate(sets):
        if s.shape[1:] != shape or s.size(0) == 0:
            raise ValueError(f"Set {i} has shape {tuple(s.shape)}; every set needs at least "
                             f"one element of shape {tuple(shape)}.")
    n = max(s.size(0) for s in sets)
    x = sets[0].new_zeros((len(sets), n) + tuple(shape))
    mask = torch.zeros(len(sets), n, dtype=torch.bool, device=x.device)
    for i, s in enumerate(sets):
        x[i, :s.size(0)] = s
        mask[i, :s.size(0)] = True
    return x, mask


def dense_set_aggregate(x: Tensor, mask: Optional[Tensor] = None, aggr: str = "sum") -> Tensor:
    r""":math:`\mathrm{AGG}_{j} \mathbf{x}_j` over the real elements of every
    set, per channel and grid point: ``[B, n, C, *S] -> [B, C, *S]``."""
    if aggr not in DENSE_AGGRS:
        raise ValueError(f"Unknown aggregation {aggr!r}; choose one of {DENSE_AGGRS}.")
    if mask is None:
        return {"sum": x.sum, "mean": x.mean, "max": x.amax}[aggr](1)
    m = _expand(mask, x)
    if aggr == "max":
        return x.masked_fill(~m, float("-inf")).amax(1)
    total = torch.where(m, x, x.new_zeros(())).sum(1)  # where, not *: padding may hold NaN
    if aggr == "sum":
        return total
    count = mask.sum(1).clamp_min(1).to(x.dtype)
    return total / count.view((-1,) + (1,) * (total.dim() - 1))


def apply_to_elements(module: Callable[[Tensor], Tensor], x: Tensor,
                      mask: Optional[Tensor] = None) -> Tensor:
    r"""Runs :obj:`module` on every real element, ``[B, n, C, *S] ->
    [B, n, C', *S']``, as one call on the stacked elements ``[N, C, *S]``;
    padded elements are skipped (so BatchNorm never sees them) and are zero
    in the output."""
    B, n = x.shape[:2]
    if mask is None:
        return module(x.flatten(0, 1)).unflatten(0, (B, n))
    out_real = module(x[mask])
    out = out_real.new_zeros((B, n) + out_real.shape[1:])
    out[mask] = out_real
    return out


def _zero_padding(y: Tensor, mask: Optional[Tensor]) -> Tensor:
    return y if mask is None else torch.where(_expand(mask, y), y, y.new_zeros(()))


class ElementWise(Module):
    r"""Applies :obj:`module` to every real element of a dense batch of sets,
    :math:`\mathbf{y}_i = f(\mathbf{x}_i)` (pooling, upsampling, dropout,
    normalisation between DSS layers); padded elements stay zero."""
    def __init__(self, module: Module) -> None:
        super().__init__()
        self.module = module

    def reset_parameters(self) -> None:
        reset(self.module)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        _check(x, mask)
        return apply_to_elements(self.module, x, mask)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.module})"


def _norm_then(module: Module, norm: Optional[Module]) -> Callable[[Tensor], Tensor]:
    return module if norm is None else (lambda t: norm(module(t)))


class DenseDSSConv(Module):
    r"""The DSS layer for sets of grid elements (Maron et al. 2020, Eq. 5):

    .. math::
        \mathbf{y}_i = \mathrm{norm}_1\big(L_1(\mathbf{x}_i)\big) +
        \mathrm{norm}_2\Big(L_2\big(\mathrm{AGG}_{j=1}^{n} \mathbf{x}_j\big)\Big),
        \qquad \mathrm{AGG} \in \{\mathrm{sum}, \mathrm{mean}, \max\},

    with :math:`L_1` (siamese branch) run on every element and :math:`L_2`
    (shared branch) once per set on the aggregate, broadcast to every
    element.  If :math:`L_1, L_2` are :math:`H`-equivariant (a convolution
    with circular padding is exactly translation-equivariant), the layer is
    :math:`S_n \times H`-equivariant.  ``shared=None`` gives the siamese
    baseline :math:`\mathbf{y}_i = L_1(\mathbf{x}_i)`.

    Args:
        siamese: :math:`L_1`, any module ``[N, C, *S] -> [N, C', *S']``.
        shared: :math:`L_2` (same signature and output shape), or ``None``.
        aggr: ``"sum"``, ``"mean"`` or ``"max"``.
        siamese_norm, shared_norm: optional modules after each branch (the
            paper: a BatchNorm per branch).

    Shapes: ``x`` ``[B, n, C, *S]``, ``mask`` ``[B, n]`` (optional) ->
    ``[B, n, C', *S']``, zero at padded elements.
    """
    def __init__(self, siamese: Module, shared: Optional[Module] = None, aggr: str = "sum",
                 siamese_norm: Optional[Module] = None,
                 shared_norm: Optional[Module] = None) -> None:
        super().__init__()
        if aggr not in DENSE_AGGRS:
            raise ValueError(f"Unknown aggregation {aggr!r}; choose one of {DENSE_AGGRS}.")
        if shared is None and shared_norm is not None:
            raise ValueError("shared_norm needs a shared branch.")
        self.siamese, self.shared, self.aggr = siamese, shared, aggr
        self.siamese_norm, self.shared_norm = siamese_norm, shared_norm

    def reset_parameters(self) -> None:
        for m in (self.siamese, self.shared, self.siamese_norm, self.shared_norm):
            reset(m)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        _check(x, mask)
        y = apply_to_elements(_norm_then(self.siamese, self.siamese_norm), x, mask)
        if self.shared is None:
            return y
        s = _norm_then(self.shared, self.shared_norm)(dense_set_aggregate(x, mask, self.aggr))
        return _zero_padding(y + s.unsqueeze(1), mask)

    def __repr__(self) -> str:
        if self.shared is None:
            return f"{self.__class__.__name__}(siamese={self.siamese}, shared=None)"
        return (f"{self.__class__.__name__}(siamese={self.siamese}, shared={self.shared}, "
                f"aggr={self.aggr!r})")


class _DenseBaseThenMix(Module):
    def __init__(self, base: Module, norm: Optional[Module] = None) -> None:
        super().__init__()
        self.base, self.norm = base, norm

    def reset_parameters(self) -> None:
        reset(self.base)
        reset(self.norm)

    def mix(self, h: Tensor, mask: Optional[Tensor]) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        _check(x, mask)
        h = _zero_padding(self.mix(apply_to_elements(self.base, x, mask), mask), mask)
        return h if self.norm is None else apply_to_elements(self.norm, h, mask)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(base={self.base})"


class DenseSridharConv(_DenseBaseThenMix):
    r"""Sridhar et al. (2019) on grids, as the authors' code defines it: one
    base layer on every element, then the set mean subtracted per channel and
    grid point, then the norm,

    .. math::
        \mathbf{h}_i = L(\mathbf{x}_i), \qquad \mathbf{y}_i =
        \mathrm{norm}\Big(\mathbf{h}_i - \frac{1}{n}\sum_{j=1}^{n}\mathbf{h}_j\Big).

    The subtraction removes whatever all elements share: on a task whose
    answer *is* the shared signal (the paper's signal classification) the
    layer cannot see it.
    """
    def mix(self, h: Tensor, mask: Optional[Tensor]) -> Tensor:
        return h - dense_set_aggregate(h, mask, "mean").unsqueeze(1)


class DenseAittalaConv(_DenseBaseThenMix):
    r"""Aittala & Durand (2018) on grids, as the authors' code defines it:
    one base layer on every element, the set max per channel and grid point
    concatenated to every element, then the norm (over ``2 C'`` channels),

    .. math::
        \mathbf{h}_i = L(\mathbf{x}_i), \qquad \mathbf{y}_i =
        \mathrm{norm}\Big(\Big[\mathbf{h}_i \,\Big\Vert\, \max_{j=1}^{n}
        \mathbf{h}_j\Big]\Big).
    """
    def mix(self, h: Tensor, mask: Optional[Tensor]) -> Tensor:
        agg = dense_set_aggregate(h, mask, "max").unsqueeze(1).expand_as(h)
        return torch.cat([h, agg], dim=2)


class DenseDeepSetsLayer(Module):
    r"""A DeepSets layer over element vectors ``[B, n, C]`` (Zaheer et al.
    2017), in the max form of the paper's heads:

    .. math::
        \mathbf{y}_i = \mathbf{A}\mathbf{z}_i + \mathbf{B}\,
        \mathrm{AGG}_{j=1}^{n} \mathbf{z}_j + \mathbf{c}.

    Padded elements (``mask`` False) are ignored and zero in the output.
    """
    def __init__(self, in_channels: int, out_channels: int, aggr: str = "max") -> None:
        super().__init__()
        if aggr not in DENSE_AGGRS:
            raise ValueError(f"Unknown aggregation {aggr!r}; choose one of {DENSE_AGGRS}.")
        self.in_channels, self.out_channels, self.aggr = in_channels, out_channels, aggr
        self.lin_element = torch.nn.Linear(in_channels, out_channels)
        self.lin_set = torch.nn.Linear(in_channels, out_channels, bias=False)

    def reset_parameters(self) -> None:
        self.lin_element.reset_parameters()
        self.lin_set.reset_parameters()

    def forward(self, z: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        if z.dim() != 3:
            raise ValueError(f"Expected element vectors [B, n, C], got {tuple(z.shape)}.")
        _check(z, mask)
        agg = dense_set_aggregate(z, mask, self.aggr)
        return _zero_padding(self.lin_element(z) + self.lin_set(agg).unsqueeze(1), mask)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, "
                f"aggr={self.aggr!r})")


def masked_set_log_softmax(scores: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    r"""Log-probabilities over the real elements of every set from scores
    ``[B, n]``; padded elements get :math:`-\infty`."""
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return scores.log_softmax(dim=1)


def make_dense_layer(variant: str, base: Callable[[int, int], Module], in_channels: int,
                     out_channels: int, norm: Optional[Callable[[int], Module]] = None
                     ) -> Module:
    r"""One layer of a model variant (the names of :data:`pyg_dss.nn.VARIANTS`)
    from a base factory ``(in, out) -> module`` and an optional norm factory
    ``channels -> module`` (one norm per branch, as in the authors' code).
    The output has ``out_channels`` channels, ``2 * out_channels`` for
    ``"aittala"``."""
    make_norm: Callable[[int], Optional[Module]] = norm if norm is not None else (lambda c: None)
    if variant.startswith("dss-"):
        return DenseDSSConv(base(in_channels, out_channels), base(in_channels, out_channels),
                            aggr=variant[4:], siamese_norm=make_norm(out_channels),
                            shared_norm=make_norm(out_channels))
    if variant == "siamese-ds":
        return DenseDSSConv(base(in_channels, out_channels), None,
                            siamese_norm=make_norm(out_channels))
    if variant == "sridhar":
        return DenseSridharConv(base(in_channels, out_channels), make_norm(out_channels))
    if variant == "aittala":
        return DenseAittalaConv(base(in_channels, out_channels), make_norm(2 * out_channels))
    raise ValueError(f"Unknown variant {variant!r}; choose one of "
                     "('dss-sum', 'dss-max', 'dss-mean', 'siamese-ds', 'sridhar', 'aittala').")


def out_channels_of(variant: str, width: int) -> int:
    """Channels a layer of :obj:`variant` with base width :obj:`width` returns."""
    return 2 * width if variant == "aittala" else width


_VARIANTS = ("dss-sum", "dss-max", "dss-mean", "siamese-ds", "sridhar", "aittala")
_CONV = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}
_NORM = {1: torch.nn.BatchNorm1d, 2: torch.nn.BatchNorm2d, 3: torch.nn.BatchNorm3d}
_POOL = {1: torch.nn.MaxPool1d, 2: torch.nn.MaxPool2d, 3: torch.nn.MaxPool3d}


def _check_options(variant: str, dim: int, padding_mode: str) -> None:
    if variant not in _VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; choose one of {_VARIANTS}.")
    if dim not in _CONV:
        raise ValueError(f"dim must be 1, 2 or 3 (spatial dimensions), got {dim}.")
    if padding_mode not in ("zeros", "circular", "reflect", "replicate"):
        raise ValueError(f"Unknown padding_mode {padding_mode!r}.")


def _check_sets(x: Tensor, mask: Optional[Tensor], in_channels: int, dim: int) -> None:
    if x.dim() != dim + 3 or x.size(2) != in_channels:
        raise ValueError(f"Expected sets of shape [B, n, {in_channels}, *{dim} spatial dims], "
                         f"got {tuple(x.shape)}.")
    _check(x, mask)
    if mask is not None and not bool(mask.any(1).all()):
        raise ValueError("Every set needs at least one real element (a row of mask is all "
                         "False).")


class _GridSetModel(Module):
    """Shared plumbing: the conv factory and plain-data configuration."""
    def _conv(self, in_channels: int, out_channels: int) -> Module:
        k = self.kernel_size
        return _CONV[self.dim](in_channels, out_channels, k, padding=k // 2,
                               padding_mode=self.padding_mode)

    def _layer(self, in_channels: int, out_channels: int) -> Module:
        return make_dense_layer(self.variant, self._conv, in_channels, out_channels,
                                _NORM[self.dim])

    @property
    def config(self) -> Dict[str, Any]:
        """The constructor arguments as plain data (see
        :func:`pyg_dss.checkpoint.save_model`)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self._config.items()}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "_GridSetModel":
        return cls(**config)

    def reset_parameters(self) -> None:
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()


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
        if spatial_pool not in DENSE_AGGRS:
            raise ValueError(f"spatial_pool must be one of {DENSE_AGGRS}, got {spatial_pool!r}.")
        if readout not in ("element", "set"):
            raise ValueError(f"readout must be 'element' or 'set', got {readout!r}.")
        self._config = dict(in_channels=in_channels, out_channels=out_channels, dim=dim,
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
        if readout == "element":
            self.out = DenseDeepSetsLayer(channels, out_channels, aggr="max")
        else:
            self.out = torch.nn.Linear(channels, out_channels)

    def element_features(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        """The per-element vectors after the set layers and the grid pool
        ``[B, n, C]`` (zero at padded elements)."""
        for k, layer in enumerate(self.layers):
            x = torch.relu(layer(x, mask))
            if self.pool is not None and k < len(self.layers) - 1:
                x = self.pool(x, mask)
        flat = x.flatten(3)
        return {"max": flat.amax, "mean": flat.mean, "sum": flat.sum}[self.spatial_pool](-1)

    def forward(self, x: Tensor, mask: Optional[Tensor] = None) -> Tensor:
        _check_sets(x, mask, self.in_channels, self.dim)
        z = self.element_features(x, mask)
        for layer in self.head:
            z = torch.nn.functional.elu(layer(z, mask))
            z = _zero_padding(z, mask)
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
        self._config = dict(in_channels=in_channels, out_channels=out_channels, dim=dim,
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
        for width, skip in zip(reversed(widths[:-1]), reversed(skips[:-1])):
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
            torch.nn.init.zeros_(self.fuse[-1].weight)
            torch.nn.init.zeros_(self.fuse[-1].bias)

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
        for k, (first, second) in enumerate(self.down):
            h = torch.relu(second(torch.relu(first(h, mask)), mask))
            if k < len(self.down) - 1:
                skips.append(h)
                h = self.pool(h, mask)
        for layer, skip in zip(self.up, reversed(skips)):
            h = torch.cat([self.upsample(h, mask), skip], dim=2)
            h = torch.relu(layer(h, mask))
        out = self.fuse(dense_set_aggregate(h, mask, "max"))
        return out + dense_set_aggregate(x, mask, "mean") if self.residual else out

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, {self._config['out_channels']}, "
                f"variant={self.variant!r}, dim={self.dim}, levels={len(self.down)})")
