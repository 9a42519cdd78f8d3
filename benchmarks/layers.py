"""Layer benchmark: time (forward + backward) and peak memory of one DSS layer
on a Dynamic-FAUST-sized batch, as ratios measured side by side.

    python benchmarks/layers.py                  # 4 sets x 7 frames x 6890 vertices, 128 ch
    python benchmarks/layers.py --json out.json  # also write the raw numbers
    python benchmarks/layers.py --device cuda    # on a GPU

Every configuration times, round-robin in one process (so that a noisy machine
slows all of them alike), several repetitions after a warm-up:

* ``dss``: :class:`pyg_dss.nn.DSSConv` with the project's base layers
  (``SetGCNConv`` / ``PointNetLayer``), ``aggr="sum"``, no norms;
* ``siamese``: its siamese branch alone (the same base layer on every element);
* ``reference``: the same math written plainly, as a straightforward PyG
  implementation does it: ``gcn_norm`` per call, per-edge messages
  ``x[src] * w`` and :func:`torch_geometric.utils.scatter`, a scatter for the
  per-vertex aggregate and an ``index_select`` for the broadcast;
* ``pyg``: ``DSSConv(GCNConv, GCNConv)`` with PyG's own ``GCNConv`` (the public
  API with a stock layer; GCN configuration only);
* ``floor``: ``torch.nn.Linear(C, C)`` on the same rows (the matrix multiply
  no implementation avoids).

A ratio is taken within each round and the median over rounds is reported.
Peak memory is measured in a fresh subprocess per (configuration, variant): on
CPU the rise of the process's resident-set high-water mark (``VmHWM``, reset
through ``/proc/self/clear_refs``) during one forward + backward, after a
warm-up step, over what is already resident (inputs, parameters, caches); on
CUDA ``torch.cuda.max_memory_allocated`` over the memory allocated before the
step.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import warnings
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from torch import Tensor
from torch.nn import Linear, Module

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import interleaved, peak_mb, publish, ratio

warnings.filterwarnings("ignore", message=".*[Ss]parse.*")

CONFIGS = ("gcn", "pointnet", "uncorresponded")
VARIANTS = {"gcn": ("dss", "siamese", "reference", "pyg", "floor"),
            "pointnet": ("dss", "siamese", "reference", "floor"),
            "uncorresponded": ("dss", "siamese", "reference", "floor")}


# ----------------------------------------------------------------------------- data
def torus_edges(major: int, minor: int) -> Tensor:
    """Edges (both directions) of a closed triangulated torus from trimesh:
    ``major * minor`` vertices, every vertex of degree 6 (130 x 53 = 6890, the
    vertex count of the SMPL mesh of Dynamic FAUST)."""
    import trimesh
    from torch_geometric.utils import to_undirected
    m = trimesh.creation.torus(1.0, 0.3, major_sections=major, minor_sections=minor)
    assert m.is_watertight
    e = torch.from_numpy(np.ascontiguousarray(m.edges_unique.T)).long()
    return to_undirected(e, num_nodes=len(m.vertices))


def make_batch(config: str, args: argparse.Namespace):
    from torch_geometric.data import Data
    from torch_geometric.loader import DataLoader

    from pyg_dss.data import SetData
    g = torch.Generator().manual_seed(0)
    C = args.channels
    if config in ("gcn", "pointnet"):
        edges = torus_edges(args.major, args.minor)
        V = args.major * args.minor
        sets = [SetData.from_elements([Data(x=torch.empty(V, 1), edge_index=edges)
                                       for _ in range(args.set_size)], corresponded=True)
                for _ in range(args.sets)]
    else:  # point clouds of different sizes, no edges
        V = args.major * args.minor
        sets = []
        for _ in range(args.sets):
            sizes = torch.randint(V // 2, 3 * V // 2, (args.set_size, ), generator=g).tolist()
            sets.append(SetData.from_elements(
                [Data(x=torch.empty(v, 1), edge_index=torch.empty(2, 0, dtype=torch.long))
                 for v in sizes], corresponded=False))
    b = next(iter(DataLoader(sets, batch_size=len(sets))))
    b.x = torch.randn(b.num_nodes, C, generator=g)
    return b.to(args.device)


# ----------------------------------------------------------------------------- models
class ReferenceGCN(Module):
    """GCN written plainly: normalise, per-edge messages, scatter."""
    def __init__(self, i: int, o: int) -> None:
        super().__init__()
        self.lin = Linear(i, o)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        from torch_geometric.nn.conv.gcn_conv import gcn_norm
        from torch_geometric.utils import scatter
        ei, w = gcn_norm(edge_index, None, x.size(0), False, True, "source_to_target", x.dtype)
        h = self.lin(x)
        return scatter(h[ei[0]] * w.view(-1, 1), ei[1], dim=0, dim_size=x.size(0), reduce="sum")


class ReferenceDSS(Module):
    """``y = L1(x) + gather(L2(scatter(x)))`` with scatter / index_select."""
    def __init__(self, siamese: Module, shared: Module) -> None:
        super().__init__()
        self.siamese, self.shared = siamese, shared

    def forward(self, x: Tensor, edge_index: Tensor, b) -> Tensor:
        from torch_geometric.utils import scatter
        agg = scatter(x, b.vertex_index, dim=0, dim_size=int(b.num_vertices.sum()), reduce="sum")
        shared = self.shared(agg, b.shared_edge_index)
        return self.siamese(x, edge_index) + shared.index_select(0, b.vertex_index)


def make_step(config: str, variant: str, b, args: argparse.Namespace) -> Callable[[], None]:
    """A closure running one forward + backward of ``variant`` on batch ``b``."""
    from torch_geometric.nn import GCNConv

    from pyg_dss.layout import find_layout
    from pyg_dss.nn import DSSConv, PointNetLayer, SetGCNConv
    C, dev = args.channels, args.device
    torch.manual_seed(0)
    gcn = config == "gcn"
    base = SetGCNConv if gcn else PointNetLayer
    layout = find_layout(b)   # once per batch, as SetDataLoader does
    if variant == "dss":
        m = DSSConv(base(C, C), base(C, C), aggr="sum")
        fn = lambda x: m(x, b.edge_index, b, layout=layout)  # noqa: E731  (a closure bound per branch)
    elif variant == "siamese":
        m = base(C, C)
        fn = ((lambda x: m(x, b.edge_index, graph=layout.element_graph)) if gcn
              else (lambda x: m(x)))
    elif variant == "reference":
        make = ReferenceGCN if gcn else (lambda i, o: _Lin(i, o))
        m = ReferenceDSS(make(C, C), make(C, C))
        fn = lambda x: m(x, b.edge_index, b)  # noqa: E731  (a closure bound per branch)
    elif variant == "pyg":
        m = DSSConv(GCNConv(C, C), GCNConv(C, C), aggr="sum")
        fn = lambda x: m(x, b.edge_index, b, layout=layout)  # noqa: E731  (a closure bound per branch)
    elif variant == "floor":
        m = Linear(C, C)
        fn = m
    else:
        raise ValueError(variant)
    m.to(dev)
    x = b.x.detach().clone().requires_grad_()   # a hidden layer: its input needs a grad
    grad = torch.randn(b.num_nodes, C, device=dev)

    def step() -> None:
        x.grad = None
        for p in m.parameters():
            p.grad = None
        fn(x).backward(grad)
    return step


class _Lin(Linear):
    def forward(self, x: Tensor, edge_index: Optional[Tensor] = None) -> Tensor:  # type: ignore
        return super().forward(x)


# ----------------------------------------------------------------------------- measuring
def time_config(config: str, args: argparse.Namespace) -> Dict[str, List[float]]:
    b = make_batch(config, args)
    steps = {v: make_step(config, v, b, args) for v in VARIANTS[config]}
    return interleaved(steps, args.repeats, args.warmup, args.device)


def memory_child(config: str, variant: str, args: argparse.Namespace) -> Dict[str, float]:
    b = make_batch(config, args)
    return {"peak_mb": peak_mb(make_step(config, variant, b, args), args.device)}


def measure_memory(args: argparse.Namespace) -> Dict[str, Dict[str, float]]:
    """One fresh process per (configuration, variant), run concurrently
    (memory does not depend on timing), each with one thread."""
    jobs = {}
    base = [sys.executable, os.path.abspath(__file__), "--sets", str(args.sets),
            "--set-size", str(args.set_size), "--channels", str(args.channels),
            "--major", str(args.major), "--minor", str(args.minor), "--device", args.device]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for config in args.memory_configs:
        for v in VARIANTS[config]:
            jobs[(config, v)] = subprocess.Popen(base + ["--_memory-child", config, v],
                                                 stdout=subprocess.PIPE, env=env, text=True)
    out: Dict[str, Dict[str, float]] = {}
    for (config, v), p in jobs.items():
        stdout, _ = p.communicate()
        if p.returncode != 0:
            raise RuntimeError(f"memory measurement of {config}/{v} failed")
        out.setdefault(config, {})[v] = json.loads(stdout.strip().splitlines()[-1])["peak_mb"]
    return out


# ----------------------------------------------------------------------------- report
def report(results: Dict, args: argparse.Namespace) -> str:
    lines = [f"{args.sets} sets x {args.set_size} elements x {args.major * args.minor} vertices, "
             f"{args.channels} -> {args.channels} channels, device {args.device}, "
             f"{torch.get_num_threads()} threads, median of {args.repeats} rounds "
             f"(after {args.warmup} warm-up)", ""]
    lines.append("| config | variant | fwd+bwd ms | dss / variant (time) | peak MB | "
                 "dss / variant (memory) |")
    lines.append("|---|---|---:|---:|---:|---:|")
    for config, res in results["configs"].items():
        times, mem = res["times"], res.get("memory", {})
        for v in times:
            t = 1e3 * statistics.median(times[v])
            r = "" if v == "dss" else f"{ratio(times, 'dss', v):.2f}"
            m = f"{mem[v]:.0f}" if v in mem else "-"
            mr = f"{mem['dss'] / mem[v]:.2f}" if v in mem and v != "dss" and mem[v] > 0 else ""
            lines.append(f"| {config} | {v} | {t:.0f} | {r} | {m} | {mr} |")
    if "gcn" in results["configs"]:
        res = results["configs"]["gcn"]
        t, mem = res["times"], res.get("memory", {})
        lines += ["", "Targets (DSS(GCN) layer):",
                  f"- speed-up over the plain reference: {ratio(t, 'reference', 'dss'):.2f}x "
                  "(target >= 3)",
                  f"- time / matrix-multiply floor: {ratio(t, 'dss', 'floor'):.2f}x "
                  "(target <= 1.5)",
                  f"- time / siamese branch alone (cost of sharing, n = {args.set_size}): "
                  f"{ratio(t, 'dss', 'siamese'):.2f}x (target <= 1.3)"]
        if "dss" in mem and mem.get("reference", 0) > 0:
            lines.append(f"- peak memory / reference: {mem['dss'] / mem['reference']:.2f} "
                         "(target <= 0.5)")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--sets", type=int, default=4, help="sets per batch.")
    p.add_argument("--set-size", type=int, default=7, help="elements (frames) per set.")
    p.add_argument("--channels", type=int, default=128, help="input and output channels.")
    p.add_argument("--major", type=int, default=130, help="torus sections (major).")
    p.add_argument("--minor", type=int, default=53,
                   help="torus sections (minor); vertices = major * minor.")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (the median is reported).")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first.")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda.")
    p.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=CONFIGS,
                   help="configurations to time.")
    p.add_argument("--memory-configs", nargs="*", default=["gcn", "pointnet"],
                   choices=CONFIGS, help="configurations whose peak memory is measured.")
    p.add_argument("--json", metavar="PATH", help="also write the raw results as JSON to PATH.")
    p.add_argument("--_memory-child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._memory_child:
        torch.set_num_threads(1)
        print(json.dumps(memory_child(*args._memory_child, args)))
        return
    results: Dict = {"args": vars(args), "configs": {}}
    memory = measure_memory(args) if args.memory_configs else {}
    for config in args.configs:
        results["configs"][config] = {"times": time_config(config, args)}
        if config in memory:
            results["configs"][config]["memory"] = memory[config]
    text = report(results, args)
    publish(text, results, args.json)


if __name__ == "__main__":
    main()
