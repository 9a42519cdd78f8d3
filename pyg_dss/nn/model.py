"""The paper's shape-selection network, for every aggregation variant."""
from __future__ import annotations

from typing import Any, Callable, Dict, Sequence, Union

from torch import Tensor
from torch.nn import BatchNorm1d, ELU, Module, ModuleList, ReLU

from pyg_dss.checkpoint import register_model
from pyg_dss.nn.aggr import check_reduce
from pyg_dss.nn.baselines import AittalaConv, SridharConv
from pyg_dss.nn.dss_conv import DSSConv
from pyg_dss.nn.heads import DeepSetsLayer, ElementPool, set_log_softmax
from pyg_dss.nn.set_gcn import SetGCNConv
from pyg_dss.nn.pointnet import KNNPointNetConv, PointNetLayer

BaseFactory = Callable[[int, int], Module]

BASES = {
    "gcn": SetGCNConv,
    "pointnet": PointNetLayer,
    "pointnet-knn": KNNPointNetConv,
}
VARIANTS = ("dss-sum", "dss-max", "dss-mean", "siamese-ds", "sridhar", "aittala")


def make_layer(variant: str, base: BaseFactory, in_channels: int, out_channels: int) -> Module:
    """One layer of the given variant, with the paper's BatchNorm per branch.
    Returns the layer; its output has ``out_channels`` channels (2x for
    ``"aittala"``)."""
    if variant.startswith("dss-"):
        return DSSConv(base(in_channels, out_channels), base(in_channels, out_channels),
                       aggr=check_reduce(variant[4:]),
                       siamese_norm=BatchNorm1d(out_channels),
                       shared_norm=BatchNorm1d(out_channels))
    if variant == "siamese-ds":
        return DSSConv(base(in_channels, out_channels), None,
                       siamese_norm=BatchNorm1d(out_channels))
    if variant == "sridhar":
        return SridharConv(base(in_channels, out_channels), BatchNorm1d(out_channels))
    if variant == "aittala":
        return AittalaConv(base(in_channels, out_channels), BatchNorm1d(2 * out_channels))
    raise ValueError(f"Unknown variant {variant!r}; choose one of {VARIANTS}.")


@register_model
class DSSNet(Module):
    r"""The shape-selection network of Maron et al. (2020): a stack of set
    layers (each: the variant's layer with a BatchNorm per branch, then ReLU),
    a max over the nodes of every element, a DeepSets head over the elements
    of every set (:math:`\mathbf{y}_i = \mathbf{A}\mathbf{z}_i +
    \mathbf{B}\max_j \mathbf{z}_j`, ELU between layers) with one score per
    element, and a softmax over the elements of every set.

    Invariant to the element symmetry and equivariant to the order of the set:
    relabelling the vertices leaves the output unchanged, reordering the
    elements reorders it.

    Args:
        in_channels: node feature size (3 for xyz).
        base: ``"gcn"`` (mesh), ``"pointnet"`` (per-point MLP),
            ``"pointnet-knn"`` (PointNetConv on a k-NN graph; the batch needs
            ``pos``), or a factory ``(in, out) -> layer`` called as
            ``layer(x, edge_index)``.
        variant: ``"dss-sum"``, ``"dss-max"``, ``"dss-mean"``,
            ``"siamese-ds"`` (no sharing in the layers, late aggregation in
            the head), ``"sridhar"`` or ``"aittala"``.
        hidden: widths of the set layers.
        head_hidden: widths of the DeepSets head before its scoring layer.

    Returns log-probabilities [num_elements] over the elements of each set.
    """
    def __init__(self, in_channels: int, base: Union[str, BaseFactory] = "gcn",
                 variant: str = "dss-sum", hidden: Sequence[int] = (64, 128, 128),
                 head_hidden: Sequence[int] = (128, 128)) -> None:
        super().__init__()
        if isinstance(base, str) and base not in BASES:
            raise ValueError(f"Unknown base {base!r}; choose one of {sorted(BASES)} or pass "
                             "a factory (in_channels, out_channels) -> layer.")
        self.in_channels, self.variant = in_channels, variant
        self.hidden, self.head_hidden = tuple(hidden), tuple(head_hidden)
        self.base_name = base if isinstance(base, str) else getattr(base, "__name__", "custom")
        self.needs_pos = base == "pointnet-knn"
        factory = BASES[base] if isinstance(base, str) else base
        self.layers = ModuleList()
        channels = in_channels
        for width in hidden:
            self.layers.append(make_layer(variant, factory, channels, width))
            channels = 2 * width if variant == "aittala" else width
        self.act = ReLU()
        self.pool = ElementPool("max")
        self.head = ModuleList()
        for width in list(head_hidden) + [1]:
            self.head.append(DeepSetsLayer(channels, width, aggr="max"))
            channels = width
        self.head_act = ELU()

    @property
    def config(self) -> Dict[str, Any]:
        """The constructor arguments, as plain data: ``DSSNet.from_config(
        model.config)`` builds the same network (see
        :func:`pyg_dss.checkpoint.save_model`)."""
        if self.base_name not in BASES:
            raise ValueError(f"This DSSNet has a custom base ({self.base_name!r}), which "
                             "cannot be written as plain data; save its state_dict and "
                             "rebuild it with the same factory.")
        return {"in_channels": self.in_channels, "base": self.base_name,
                "variant": self.variant, "hidden": list(self.hidden),
                "head_hidden": list(self.head_hidden)}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "DSSNet":
        """Builds a network from :attr:`config`."""
        return cls(**config)

    def reset_parameters(self) -> None:
        for m in list(self.layers) + list(self.head):
            m.reset_parameters()

    def scores(self, sets: Any) -> Tensor:
        """One unnormalised score per element [num_elements]."""
        kwargs = {"pos": sets.pos} if self.needs_pos else {}
        x = sets.x
        for layer in self.layers:
            x = self.act(layer(x, sets.edge_index, sets, **kwargs))
        z = self.pool(x, sets)
        for i, layer in enumerate(self.head):
            z = layer(z, sets)
            if i < len(self.head) - 1:
                z = self.head_act(z)
        return z.reshape(-1)

    def forward(self, sets: Any) -> Tensor:
        return set_log_softmax(self.scores(sets), sets)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, base={self.base_name!r}, "
                f"variant={self.variant!r}, layers={len(self.layers)})")
