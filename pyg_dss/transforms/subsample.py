"""Subsampling a set by its shared domain: the same vertices in every element."""
from __future__ import annotations

import torch
from torch_geometric.transforms import BaseTransform

from pyg_dss.data import SetData, coverage_of, require_single_set

__all__ = ["SubsampleVertices"]


class SubsampleVertices(BaseTransform):
    r"""Keeps ``num`` vertices of the shared domain of a set, drawn uniformly
    without replacement, one draw per set: the set counterpart of
    :class:`torch_geometric.transforms.FixedPoints` for corresponded sets.

    Every element keeps its nodes on the drawn vertices (the same vertices in
    every frame of a corresponded set) and the edges among them, with their
    edge attributes; ``vertex_index``, ``shared_edge_index`` (the subgraph
    induced by the drawn vertices, renumbered 0..num-1 in their original
    order), ``shared_edge_attr``, ``num_vertices`` and ``num_nodes`` follow
    (:meth:`~pyg_dss.data.SetData.shared_subgraph`).  A set with at most
    ``num`` shared vertices is returned unchanged.  On a ``"partial"`` set
    (a bag of subgraphs) an element keeps its nodes on the drawn vertices.

    ``T.FixedPoints`` applied to a whole set instead draws nodes from the
    concatenation of all elements, so every frame keeps different vertices
    and a different number of them; pyg-dss refuses such a set when it is
    collated (:meth:`~pyg_dss.data.SetData.validate` says why).  Elements of
    an uncorresponded (``"pooled"``) set have no common vertices: subsample
    them one by one with
    ``SetTransform(T.FixedPoints(num), per="element")``.

    The draw does not depend on the order of the elements: reordering the set
    and subsampling with the same random state gives the subsampled set,
    reordered.

    Args:
        num: number of shared vertices to keep.
    """
    def __init__(self, num: int) -> None:
        if isinstance(num, bool) or not isinstance(num, int) or num < 1:
            raise ValueError(f"num must be a positive integer, got {num!r}.")
        self.num = num

    def forward(self, data: SetData) -> SetData:
        require_single_set(data, self)
        if coverage_of(data) == "pooled":
            raise ValueError(
                f"{self} subsamples the shared domain of a set, but this set is 'pooled' "
                "(uncorresponded: its elements share no vertices); subsample each element "
                f"with SetTransform(T.FixedPoints({self.num}), per='element').")
        num_vertices = int(data.num_vertices)
        if self.num >= num_vertices:
            return data
        keep = torch.randperm(num_vertices)[:self.num].sort().values
        return data.shared_subgraph(keep)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.num})"
