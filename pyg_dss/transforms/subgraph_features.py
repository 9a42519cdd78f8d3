r"""Node features computed on every subgraph of a bag (ESAN's
``process_subgraphs``), applied after :class:`~pyg_dss.transforms.SubgraphBag`."""
from __future__ import annotations

import torch
from torch_geometric.transforms import BaseTransform
from torch_geometric.utils import degree

from pyg_dss.data import SetData

__all__ = ["SubgraphOneHotDegree"]


class SubgraphOneHotDegree(BaseTransform):
    r"""The one-hot degree of every node *in its own subgraph*,
    :math:`\mathbf{x}_{i,v} \leftarrow [\mathbf{x}_{i,v} \,\|\,
    \mathrm{onehot}(\deg_{S_i}(v))]` (ESAN's CSL features: PyG's
    :class:`~torch_geometric.transforms.OneHotDegree` ``(5)`` on every
    subgraph).  Unlike a degree computed on the graph before the bag, a node
    deleted from a subgraph, or cut off by an ego-network, gets its degree in
    that subgraph, so the copies of a node differ.

    Args:
        max_degree: the largest degree (``max_degree + 1`` columns); a larger
            degree is refused.
        cat: append to the existing ``x``; :obj:`False` replaces it (ESAN's
            CSL has no node features, only the degrees).
    """
    def __init__(self, max_degree: int, cat: bool = True) -> None:
        if int(max_degree) < 0:
            raise ValueError(f"max_degree must be >= 0, got {max_degree}.")
        self.max_degree, self.cat = int(max_degree), cat

    def forward(self, bag: SetData) -> SetData:
        if bag.get("element_index") is None:
            raise ValueError("SubgraphOneHotDegree expects a bag of subgraphs (apply it after "
                             "SubgraphBag); for a plain graph use torch_geometric.transforms."
                             "OneHotDegree.")
        # Edges of a bag join nodes of one subgraph: degrees are per subgraph.
        deg = degree(bag.edge_index[0], bag.num_nodes, dtype=torch.long)
        if deg.numel() > 0 and int(deg.max()) > self.max_degree:
            raise ValueError(f"A node has degree {int(deg.max())} in its subgraph, above "
                             f"max_degree={self.max_degree}; raise max_degree.")
        onehot = torch.nn.functional.one_hot(deg, self.max_degree + 1).float()
        x = bag.get("x")
        if self.cat and x is not None:
            x = x.view(-1, 1) if x.dim() == 1 else x
            bag.x = torch.cat([x, onehot.to(x.dtype)], dim=-1)
        else:
            bag.x = onehot
        return bag

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.max_degree}, cat={self.cat})"
