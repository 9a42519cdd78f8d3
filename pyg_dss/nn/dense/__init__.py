r"""DSS layers and networks for sets of elements on a regular grid: 1D
signals, images, volumes (Maron et al., ICML 2020, Sections 4 and 6).

* :mod:`~pyg_dss.nn.dense.sets`: dense batches ``[B, n, C, *S]`` with a mask,
  aggregation over the set, running a module on every element;
* :mod:`~pyg_dss.nn.dense.layers`: the DSS and DeepSets layers, the layer of
  every model variant;
* :mod:`~pyg_dss.nn.dense.baselines`: Sridhar's and Aittala's set layers;
* :mod:`~pyg_dss.nn.dense.networks`: :class:`GridSetNet`, :class:`GridSetUNet`;
* :mod:`~pyg_dss.nn.dense.paper`: the authors' network of every grid
  experiment (:meth:`GridSetNet.paper`).
"""
from pyg_dss.nn.dense.baselines import DenseAittalaConv, DenseSridharConv
from pyg_dss.nn.dense.layers import DenseDeepSetsLayer, DenseDSSConv, make_dense_layer
from pyg_dss.nn.dense.networks import GridSetNet, GridSetUNet
from pyg_dss.nn.dense.sets import (ElementWise, apply_to_elements, dense_set_aggregate,
                                   masked_set_log_softmax, to_dense_sets)

__all__ = ["to_dense_sets", "dense_set_aggregate", "apply_to_elements", "ElementWise",
           "DenseDSSConv", "DenseSridharConv", "DenseAittalaConv", "DenseDeepSetsLayer",
           "masked_set_log_softmax", "make_dense_layer", "GridSetNet", "GridSetUNet"]
