"""A set of symmetric elements as one PyG :class:`~torch_geometric.data.Data`.

All nodes of all elements of a set are concatenated (elements in order), PyG
style, and index vectors say where every node belongs:

* ``element_index`` [N]: the element of each node (0..n-1 within a set).
* ``vertex_index`` [N]: the node's vertex in the *shared domain* of the set.
  For a corresponded set (every element lives on the same V-vertex domain,
  e.g. frames of one mesh) this is the vertex id 0..V-1, so the aggregate over
  the set is taken per vertex.  For an uncorresponded set (elements of
  different sizes) the shared domain is a single vertex: every node maps to 0,
  and the set shares information through element-invariant summaries.
* ``shared_edge_index`` [2, E_d]: the edges of the shared domain (the mesh of a
  corresponded set; a self-loop for the one-vertex domain of an uncorresponded
  set), used by the shared branch of :class:`pyg_dss.nn.DSSConv`.
* ``element_set`` [n]: the set of each element (0 for a single set).
* ``num_elements``, ``num_vertices``: the sizes the indices above count.

``edge_index`` is block-diagonal: no edge joins two elements.  Batching with
:class:`torch_geometric.loader.DataLoader` offsets every index by the right
count (:meth:`SetData.__inc__`), so after batching ``element_index`` and
``vertex_index`` are global and ``element_set`` is the set id of each element.
"""
from __future__ import annotations

from typing import Any, List, Sequence

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

# Keys that SetData owns, with the count they are offset by when batched.
_ELEMENT_KEYS = ("element_index", )
_VERTEX_KEYS = ("vertex_index", "shared_edge_index")


class SetData(Data):
    r"""One set of elements (graphs, meshes or point clouds) as a single
    :class:`~torch_geometric.data.Data`; see the module docstring for the
    attributes.  Build one with :meth:`from_elements`, split it with
    :meth:`to_elements`.

    Example::

        frames = [Data(x=torch.randn(100, 3), edge_index=ei) for _ in range(7)]
        s = SetData.from_elements(frames, corresponded=True)
        batch = next(iter(DataLoader([s, s], batch_size=2)))
        batch.element_index.max()  # tensor(13): elements of both sets
    """
    def __inc__(self, key: str, value: Any, *args, **kwargs) -> Any:
        if key in _ELEMENT_KEYS:
            return self.num_elements
        if key in _VERTEX_KEYS:
            return self.num_vertices
        if key == "element_set":
            return 1
        return super().__inc__(key, value, *args, **kwargs)

    def __cat_dim__(self, key: str, value: Any, *args, **kwargs) -> Any:
        if key == "shared_edge_index":
            return -1
        if key in ("element_index", "vertex_index", "element_set"):
            return 0
        return super().__cat_dim__(key, value, *args, **kwargs)

    @property
    def num_sets(self) -> int:
        """Number of sets held (1 for a single set, B for a batch)."""
        return int(self.element_set.max()) + 1 if self.element_set.numel() else 0

    @classmethod
    def from_elements(cls, elements: Sequence[Data], corresponded: bool) -> "SetData":
        r"""Concatenates ``elements`` into one set.

        Node-level tensors (``x``, ``pos``, ...), edge-level tensors and
        ``edge_index`` are concatenated as PyG batches graphs (``edge_index``
        offset to stay block-diagonal); scalar attributes of each element
        (e.g. a frame ``time``) become an element-level tensor of shape [n].

        Args:
            elements: the n elements, each a :class:`Data` with node features
                ``x``.
            corresponded: :obj:`True` if all elements live on one domain
                (same number of nodes in the same order, same edges), as the
                frames of one mesh: information is then shared per vertex.
                :obj:`False` for elements of different sizes or graphs.
        """
        elements = list(elements)
        if len(elements) == 0:
            raise ValueError("Cannot build a set from zero elements; pass at least one Data.")
        _check_elements(elements, corresponded)
        batch = Batch.from_data_list(elements)
        data = cls()
        for key, value in batch:
            if key not in ("batch", "ptr"):
                data[key] = value
        n = len(elements)
        sizes = torch.tensor([e.num_nodes for e in elements])
        data.element_index = torch.repeat_interleave(torch.arange(n), sizes)
        data.element_set = torch.zeros(n, dtype=torch.long)
        data.num_elements = n
        if corresponded:
            num_vertices = elements[0].num_nodes
            data.vertex_index = torch.arange(num_vertices).repeat(n)
            ei = elements[0].edge_index
            data.shared_edge_index = (ei.clone() if ei is not None else
                                      torch.empty(2, 0, dtype=torch.long))
        else:
            num_vertices = 1
            data.vertex_index = torch.zeros(int(sizes.sum()), dtype=torch.long)
            data.shared_edge_index = torch.zeros(2, 1, dtype=torch.long)
        data.num_vertices = num_vertices
        data.num_nodes = int(sizes.sum())
        return data

    def to_elements(self) -> List[Data]:
        r"""Splits a single set back into its elements (the inverse of
        :meth:`from_elements`).  For a batch of sets use :func:`split_sets`.
        """
        if self.element_set.numel() and int(self.element_set.max()) > 0:
            raise ValueError("to_elements() splits a single set, but this object holds "
                             f"{self.num_sets} sets; use pyg_dss.data.split_sets(batch).")
        n = int(self.num_elements)
        num_nodes = self.num_nodes
        counts = torch.bincount(self.element_index, minlength=n)
        node_ptr = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        own = set(_ELEMENT_KEYS + _VERTEX_KEYS) | {"element_set", "num_elements",
                                                   "num_vertices", "num_nodes", "batch", "ptr"}
        out = [Data() for _ in range(n)]
        edge_element = None
        if self.edge_index is not None:
            edge_element = self.element_index[self.edge_index[0]]
        for key, value in self:
            if key in own:
                continue
            if key == "edge_index":
                for i, d in enumerate(out):
                    d.edge_index = value[:, edge_element == i] - node_ptr[i]
            elif isinstance(value, Tensor) and value.dim() > 0 and value.size(0) == num_nodes:
                for d, part in zip(out, value.split(counts.tolist())):
                    d[key] = part
            elif (edge_element is not None and isinstance(value, Tensor) and value.dim() > 0
                  and value.size(0) == edge_element.numel() and "edge" in key):
                for i, d in enumerate(out):
                    d[key] = value[edge_element == i]
            elif isinstance(value, Tensor) and value.dim() > 0 and value.size(0) == n:
                for i, d in enumerate(out):
                    d[key] = value[i]
        for d, c in zip(out, counts.tolist()):
            d.num_nodes = c
        return out


# InMemoryDataset loads with weights_only=True: allow SetData in checkpoints.
torch.serialization.add_safe_globals([SetData])


def split_sets(batch: SetData) -> List[List[Data]]:
    """Splits a batch of sets into a list (one per set) of lists of elements."""
    if not hasattr(batch, "to_data_list"):
        return [batch.to_elements()]
    return [s.to_elements() for s in batch.to_data_list()]


def _check_elements(elements: List[Data], corresponded: bool) -> None:
    first = elements[0]
    keys = set(first.keys())
    for i, e in enumerate(elements):
        if not isinstance(e, Data):
            raise ValueError(f"Element {i} is a {type(e).__name__}, not a torch_geometric Data.")
        if e.x is None:
            raise ValueError(f"Element {i} has no node features 'x'; set x on every element "
                             "(for a point cloud or mesh, x=pos is a common choice).")
        if set(e.keys()) != keys:
            missing = sorted(keys - set(e.keys()))
            extra = sorted(set(e.keys()) - keys)
            raise ValueError(f"Element {i} has different attributes from element 0 "
                             f"(missing {missing}, extra {extra}); all elements of a set "
                             "need the same attributes.")
        if e.x.shape[1:] != first.x.shape[1:]:
            raise ValueError(f"Element {i} has {tuple(e.x.shape[1:])} features per node but "
                             f"element 0 has {tuple(first.x.shape[1:])}.")
        if not corresponded:
            continue
        if e.num_nodes != first.num_nodes:
            raise ValueError(f"corresponded=True, but element {i} has {e.num_nodes} nodes "
                             f"and element 0 has {first.num_nodes}; corresponded elements "
                             "share one domain. Use corresponded=False for elements of "
                             "different sizes.")
        ei, ei0 = e.edge_index, first.edge_index
        same_edges = (ei is None and ei0 is None) or (
            ei is not None and ei0 is not None and torch.equal(ei, ei0))
        if not same_edges:
            raise ValueError(f"corresponded=True, but element {i} has different edges "
                             "(edge_index) from element 0; corresponded elements share one "
                             "graph. Use corresponded=False for different graphs.")
