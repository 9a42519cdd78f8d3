"""The paper's shape-selection network, for every aggregation variant."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Dict, Optional, Sequence, Tuple, Union

import torch
from torch import Tensor
from torch.nn import BatchNorm1d, ELU, Module, ModuleList, ReLU

from pyg_dss.checkpoint import register_model
from pyg_dss.data import check_sets
from pyg_dss.layout import SetLayout, layout_of
from pyg_dss.nn.baselines import AittalaConv, SridharConv
from pyg_dss.nn.dss_conv import DSSConv
from pyg_dss.nn.heads import DeepSetsLayer, ElementPool, set_log_softmax
from pyg_dss.nn.set_gcn import SetGCNConv
from pyg_dss.nn.pointnet import KNNPointNetConv, PointNetLayer
from pyg_dss.nn.config import Configurable
from pyg_dss.nn.variants import build_variant_layer, check_variant, out_channels_of

BaseFactory = Callable[[int, int], Module]

__all__ = ["DSSNet", "make_layer", "check_variant", "paper_widths", "BASES"]

BASES = {
    "gcn": SetGCNConv,
    "pointnet": PointNetLayer,
    "pointnet-knn": KNNPointNetConv,
}


def paper_widths(variant: str, dim_factor: int = 1) -> Tuple[int, int, int]:
    r"""The widths of the three set layers in the authors' code for each
    variant: Siamese + DeepSets and Sridhar 64-256-128; Aittala 64-256-64
    (each doubled by its concatenation, so the head sees 128); DSS
    64-(128 x ``dim_factor``)-128.  ``dim_factor=1`` gives DSS about as many
    parameters as the siamese network (its layers have two branches)."""
    check_variant(variant)
    if variant in ("siamese-ds", "sridhar"):
        return (64, 256, 128)
    if variant == "aittala":
        return (64, 256, 64)
    return (64, 128 * dim_factor, 128)


def make_layer(variant: str, base: BaseFactory, in_channels: int, out_channels: int) -> Module:
    """One layer of the given variant, with the paper's BatchNorm per branch.
    Returns the layer; its output has ``out_channels`` channels (2x for
    ``"aittala"``)."""
    return build_variant_layer(variant, base, in_channels, out_channels, BatchNorm1d,
                               DSSConv, SridharConv, AittalaConv)


@register_model
class DSSNet(Configurable, Module):
    r"""The shape-selection network of Maron et al. (2020): a stack of set
    layers (each: the variant's layer with a BatchNorm per branch, then ReLU),
    a max over the nodes of every element, a DeepSets head over the elements
    of every set (:math:`\mathbf{y}_i = \mathbf{A}\mathbf{z}_i +
    \mathbf{B}\max_j \mathbf{z}_j`, ELU between layers) with one score per
    element, and a softmax over the elements of every set.

    Invariant to the element symmetry and equivariant to the order of the set:
    relabelling the vertices leaves the output unchanged, reordering the
    elements reorders it.

    :meth:`paper` builds exactly the authors' network for a variant and base.

    Args:
        in_channels: node feature size (3 for xyz).
        base: ``"gcn"`` (mesh), ``"pointnet"`` (per-point MLP),
            ``"pointnet-knn"`` (PointNetConv on a k-NN graph; the batch needs
            ``pos`` and the graph of :class:`~pyg_dss.transforms.KNNSetGraph`),
            or a factory ``(in, out) -> layer`` called as
            ``layer(x, edge_index)``.
        variant: ``"dss-sum"``, ``"dss-max"``, ``"dss-mean"``,
            ``"siamese-ds"`` (no sharing in the layers, late aggregation in
            the head), ``"sridhar"`` or ``"aittala"``.
        hidden: widths of the set layers.
        head_hidden: widths of the DeepSets head before its scoring layer.
        paper: the authors' details (besides the widths, which
            :meth:`paper` sets): GCN with :math:`A + 2I` self-loops,
            Xavier-normal weights, a bias on the head's set branch.

    Returns log-probabilities [num_elements] over the elements of each set.
    Call it on batches from :class:`pyg_dss.loader.SetDataLoader` (they carry
    their :class:`~pyg_dss.layout.SetLayout`: found once, in the loader's
    workers, and needed by :func:`torch.compile`); any other batch of
    :class:`~pyg_dss.data.SetData` works too, its layout found on each call.
    """
    def __init__(self, in_channels: int, base: Union[str, BaseFactory] = "gcn",
                 variant: str = "dss-sum", hidden: Sequence[int] = (64, 128, 128),
                 head_hidden: Sequence[int] = (128, 128), paper: bool = False) -> None:
        super().__init__()
        if isinstance(base, str) and base not in BASES:
            raise ValueError(f"Unknown base {base!r}; choose one of {sorted(BASES)} or pass "
                             "a factory (in_channels, out_channels) -> layer.")
        check_variant(variant)
        self.in_channels, self.variant, self.paper_details = in_channels, variant, paper
        self.hidden, self.head_hidden = tuple(hidden), tuple(head_hidden)
        self.base_name = base if isinstance(base, str) else getattr(base, "__name__", "custom")
        self.needs_pos = base == "pointnet-knn"
        factory = BASES[base] if isinstance(base, str) else base
        if paper and base == "gcn":
            factory = partial(SetGCNConv, improved=True)
        self.layers = ModuleList()
        channels = in_channels
        for width in hidden:
            self.layers.append(make_layer(variant, factory, channels, width))
            channels = out_channels_of(variant, width)
        self.act = ReLU(inplace=True)
        self.pool = ElementPool("max")
        self.head = ModuleList()
        for width in list(head_hidden) + [1]:
            self.head.append(DeepSetsLayer(channels, width, aggr="max", set_bias=paper))
            channels = width
        self.head_act = ELU()
        if paper:
            self.reset_parameters()

    @classmethod
    def paper(cls, base: str = "gcn", variant: str = "dss-sum", in_channels: int = 3,
              dim_factor: int = 1) -> "DSSNet":
        r"""The authors' network (Maron et al. 2020, their published code) for
        ``base`` (``"gcn"`` or ``"pointnet"``, the per-point Conv1d) and
        ``variant``: their widths per variant (:func:`paper_widths`), a
        DeepSets head 128-128-1 with ELU, GCN layers with :math:`A + 2I`
        self-loops (``GCNConv(improved=True)`` in their PyG version),
        Xavier-normal initialisation of every weight matrix, a bias on both
        branches of the head.  Saved and loaded like any ``DSSNet``
        (:func:`pyg_dss.checkpoint.save_model`)."""
        if base not in ("gcn", "pointnet"):
            raise ValueError(f"The authors' code has the bases 'gcn' and 'pointnet', not "
                             f"{base!r}; build DSSNet({in_channels}, {base!r}, ...) instead.")
        return cls(in_channels, base, variant, hidden=paper_widths(variant, dim_factor),
                   head_hidden=(128, 128), paper=True)

    def _constructor_args(self) -> Dict[str, Any]:
        if self.base_name not in BASES:
            raise ValueError(f"This DSSNet has a custom base ({self.base_name!r}), which "
                             "cannot be written as plain data; save its state_dict and "
                             "rebuild it with the same factory.")
        return {"in_channels": self.in_channels, "base": self.base_name,
                "variant": self.variant, "hidden": list(self.hidden),
                "head_hidden": list(self.head_hidden), "paper": self.paper_details}

    def reset_parameters(self) -> None:
        for m in list(self.layers) + list(self.head):
            m.reset_parameters()
        if self.paper_details:
            for m in self.modules():   # the authors re-draw every weight matrix
                weight = getattr(m, "weight", None)
                if isinstance(weight, torch.nn.Parameter) and weight.dim() == 2:
                    torch.nn.init.xavier_normal_(weight)

    def _check(self, sets: Any) -> None:
        check_sets(sets, "DSSNet(sets)")
        x = sets.get("x")
        if not isinstance(x, Tensor):
            raise ValueError("DSSNet(sets): the sets have no node features 'x'.")
        if not x.is_floating_point():
            raise TypeError(f"DSSNet(sets): the node features x are {x.dtype}; convert them "
                            "to floating point (batch.x = batch.x.float()).")
        weight = next(self.parameters())
        if x.dtype != weight.dtype:
            raise TypeError(f"DSSNet(sets): the node features x are {x.dtype}, the model's "
                            f"weights {weight.dtype}; convert the features "
                            f"(batch.x = batch.x.to({weight.dtype})) or the model "
                            f"(model.to({x.dtype})).")
        if x.dim() != 2 or x.size(1) != self.in_channels:
            raise ValueError(f"DSSNet was built for in_channels={self.in_channels}, but the "
                             f"sets' x has shape {tuple(x.shape)}; build it with "
                             f"DSSNet(in_channels={x.size(-1)}, ...).")
        edge_index = sets.get("edge_index")
        if self.needs_pos and (edge_index is None or sets.get("pos") is None):
            raise ValueError("base='pointnet-knn' needs the k-NN graph of every element and "
                             "'pos': apply pyg_dss.transforms.KNNSetGraph(k) to each set "
                             "(e.g. as the dataset's transform).")
        if self.base_name == "gcn" and edge_index is None:
            raise ValueError("base='gcn' needs the element graphs (edge_index); for point "
                             "clouds without edges use base='pointnet' or 'pointnet-knn'.")

    def scores(self, sets: Any, layout: Optional[SetLayout] = None) -> Tensor:
        """One unnormalised score per element [num_elements]."""
        self._check(sets)
        return self._scores_or_explain(sets, layout_of(sets) if layout is None else layout)

    def _scores_or_explain(self, sets: Any, layout: SetLayout) -> Tensor:
        try:
            return self._scores(sets, layout)
        except ValueError as e:  # BatchNorm's, from a batch with a single row
            if "more than 1 value per channel" not in str(e):
                raise
            raise ValueError("DSSNet in training mode needs at least two vertices per "
                             "BatchNorm (and two rows of the elements' shared summary) in a "
                             "batch, this one has one; batch more or larger sets (a "
                             "larger batch_size), or call model.eval() to score it.") from None

    def _scores(self, sets: Any, layout: SetLayout) -> Tensor:
        kwargs = {"pos": sets.pos} if self.needs_pos else {}
        x, edge_index = sets.x, sets.get("edge_index")
        for i, layer in enumerate(self.layers):
            x = layer(x, edge_index, sets, layout=layout, **kwargs)
            if i < len(self.layers) - 1:
                x = self.act(x)   # in place: every layer ends in a BatchNorm
        # ReLU commutes with the max over the vertices: apply the last one to
        # [num_elements, C] instead of [N, C].
        z = torch.relu(self.pool(x, sets, layout))
        for i, layer in enumerate(self.head):
            z = layer(z, sets, layout)
            if i < len(self.head) - 1:
                z = self.head_act(z)
        return z.reshape(-1)

    def forward(self, sets: Any, layout: Optional[SetLayout] = None) -> Tensor:
        self._check(sets)
        layout = layout_of(sets) if layout is None else layout
        return set_log_softmax(self._scores_or_explain(sets, layout), sets, layout)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, base={self.base_name!r}, "
                f"variant={self.variant!r}, layers={len(self.layers)})")
