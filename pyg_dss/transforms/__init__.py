"""PyG transforms for :class:`~pyg_dss.data.SetData`."""
from pyg_dss.transforms.knn import KNNSetGraph

__all__ = ["KNNSetGraph"]
