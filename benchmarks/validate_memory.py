"""Peak memory of :meth:`SetData.validate` on a bag of many small elements on
one large graph (coverage "partial"): the check of vertices repeated within
an element must not allocate elements x vertices.

    python benchmarks/validate_memory.py --nodes 60000
"""
from __future__ import annotations

import argparse
import resource

import torch

from pyg_dss.data import SetData


def main() -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()),
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--nodes", type=int, default=60_000,
                        help="nodes of the bag (elements of 3 nodes on a graph of as many "
                             "vertices)")
    args = parser.parse_args()
    torch.manual_seed(0)
    elements = args.nodes // 3
    nodes, num_vertices = 3 * elements, 3 * elements
    vertex_index = (torch.randint(0, num_vertices - 3, (elements, 1)) + torch.arange(3)).view(-1)
    bag = SetData(x=torch.randn(nodes, 1),
                  element_index=torch.arange(elements).repeat_interleave(3),
                  vertex_index=vertex_index, element_set=torch.zeros(elements, dtype=torch.long),
                  shared_edge_index=torch.empty(2, 0, dtype=torch.long),
                  num_elements=elements, num_vertices=num_vertices, coverage="partial")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert bag.validate()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{nodes} nodes, {elements} elements, {num_vertices} shared vertices: peak memory "
          f"grew by {(after - before) / 1024:.0f} MiB during validate()")


if __name__ == "__main__":
    main()
