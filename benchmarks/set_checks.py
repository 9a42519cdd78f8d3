"""What the checks on sets cost on a Dynamic-FAUST-sized batch, as ratios
measured side by side.

    python benchmarks/set_checks.py               # 8 sets x 7 frames x 6890 vertices
    python benchmarks/set_checks.py --sets 4 --repeats 21

Tasks (every ratio below compares two of them timed next to each other in
one process, in alternating order, the second of two calls of each, since the
first call after another task pays for fresh pages of memory; the median over
rounds is printed):

* ``collate``: :class:`~torch_geometric.loader.DataLoader`'s collation of the
  batch, with the checks :meth:`SetData.__inc__` runs (node counts of every
  set; ``edge_index`` in range; the structural checks of
  :func:`pyg_dss.data.checks.structure_problem`);
* ``collate_unchecked``: the same collation with those checks switched off;
* ``collate_checks_alone``: those checks alone, on every set of the batch;
* ``validate_sets``: :meth:`SetData.validate` on every set of the batch;
* ``validate_batch``: :meth:`SetData.validate` on the collated batch;
* ``from_elements`` / ``from_elements_unchecked``: building one set of
  frames, with and without the checks of its input;
  ``from_elements_checks_alone``: those checks alone.

Frames: a closed triangulated torus of 6890 vertices (the size of the SMPL
mesh), ``x`` and ``pos`` of 3 channels, mesh edges, as a frame set of the
datasets.  On a loaded machine run it with ``OMP_NUM_THREADS=1``.
"""
from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Tuple

import torch
from torch_geometric.data import Data
from torch_geometric.loader.dataloader import Collater

import pyg_dss.data.set_data as set_data
from layers import torus_edges
from pyg_dss.data import SetData


@contextmanager
def checks_off() -> Iterator[None]:
    saved = (SetData._check_counts, SetData._check_edge_range, SetData._check_structure,
             set_data.check_elements)
    SetData._check_counts = lambda self: None  # type: ignore[method-assign]
    SetData._check_edge_range = lambda self, edge_index: None  # type: ignore[method-assign]
    SetData._check_structure = lambda self: None  # type: ignore[method-assign]
    set_data.check_elements = lambda elements, corresponded, shared: None
    try:
        yield
    finally:
        (SetData._check_counts, SetData._check_edge_range, SetData._check_structure,
         set_data.check_elements) = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sets", type=int, default=8, help="sets per batch.")
    parser.add_argument("--set-size", type=int, default=7, help="frames per set.")
    parser.add_argument("--major", type=int, default=130, help="torus sections (major).")
    parser.add_argument("--minor", type=int, default=53,
                        help="torus sections (minor); vertices = major * minor.")
    parser.add_argument("--repeats", type=int, default=15,
                        help="timed rounds (the median ratio is reported).")
    args = parser.parse_args()

    edges = torus_edges(args.major, args.minor)
    V = args.major * args.minor
    g = torch.Generator().manual_seed(0)

    def frames():
        out = []
        for _ in range(args.set_size):
            pos = torch.randn(V, 3, generator=g)
            out.append(Data(x=pos, pos=pos, edge_index=edges, time=0))
        return out

    elements = frames()
    sets = [SetData.from_elements(frames(), corresponded=True) for _ in range(args.sets)]
    collate = Collater(None)
    batch = collate(sets)
    assert batch.validate()

    def unchecked(fn: Callable[[], object]) -> Callable[[], object]:
        def run():
            with checks_off():
                return fn()
        return run

    tasks: Dict[str, Callable[[], object]] = {
        "collate": lambda: collate(sets),
        "collate_unchecked": unchecked(lambda: collate(sets)),
        "collate_checks_alone": lambda: [(s._check_counts(), s._check_edge_range(s.edge_index),
                                          s._check_structure()) for s in sets],
        "validate_sets": lambda: [s.validate() for s in sets],
        "validate_batch": lambda: batch.validate(),
        "from_elements": lambda: SetData.from_elements(elements, corresponded=True),
        "from_elements_unchecked": unchecked(
            lambda: SetData.from_elements(elements, corresponded=True)),
        "from_elements_checks_alone": lambda: set_data.check_elements(elements, True, None),
    }
    # Every ratio compares two tasks timed next to each other, in alternating
    # order; everything is divided by the unchecked operation it adds to.
    pairs = [("collate", "collate_unchecked"), ("collate_checks_alone", "collate_unchecked"),
             ("validate_sets", "collate_unchecked"), ("validate_batch", "collate_unchecked"),
             ("from_elements", "from_elements_unchecked"),
             ("from_elements_checks_alone", "from_elements_unchecked")]
    times: Dict[str, List[float]] = {k: [] for k in tasks}
    ratios: Dict[Tuple[str, str], List[float]] = {pair: [] for pair in pairs}

    def timed(name: str) -> float:
        tasks[name]()  # untimed: the first call after another task pays for fresh pages
        t = time.perf_counter()
        tasks[name]()
        seconds = time.perf_counter() - t
        times[name].append(seconds)
        return seconds

    for r in range(args.repeats):
        for a, b in pairs:
            if r % 2:
                tb, ta = timed(b), timed(a)
            else:
                ta, tb = timed(a), timed(b)
            ratios[(a, b)].append(ta / tb)

    print(f"{args.sets} sets x {args.set_size} frames x {V} vertices, {edges.size(1)} "
          f"directed edges per frame ({batch.edge_index.size(1)} in the batch), "
          f"{torch.get_num_threads()} threads, median of {args.repeats} rounds\n")
    print("| task | median ms |\n|---|---:|")
    for name in tasks:
        print(f"| {name} | {1000 * statistics.median(times[name]):.2f} |")
    print()
    for a, b in pairs:
        print(f"{a} / {b}: {statistics.median(ratios[(a, b)]):.3f}")


if __name__ == "__main__":
    main()
