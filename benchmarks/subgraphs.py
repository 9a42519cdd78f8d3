"""Bags of subgraphs: time per training epoch and peak memory of DSS-GNN (and
DS-GNN) against a plain GNN on the same graphs, and whether the dense layout
applies.

    python benchmarks/subgraphs.py                    # CSL and ZINC-sized molecules, CPU
    python benchmarks/subgraphs.py --workloads csl    # one workload
    python benchmarks/subgraphs.py --json out.json    # also write the raw numbers

Workloads (the example's settings):

* ``csl``: the 150 CSL graphs (41 nodes, 4-regular), batches of 8, width 32,
  4 layers, GIN base.  Bags: node-deleted (41 subgraphs of 41 nodes),
  edge-deleted (82), 4-hop ego-nets (41, every node kept).
* ``molecules``: random molecule-like graphs the size of ZINC-12k (a tree of
  atoms of degree <= 4 plus ring closures of 5-6 atoms; 9-37 atoms, mean 23),
  atom and bond types, batches of 128, width 64, 4 layers, GINE base.  Bags:
  node-deleted (one subgraph per atom, ~23) and 3-hop ego-nets+ (~23).

Every model trains one epoch (forward, backward, Adam step on every batch),
round-robin in one process, so that a noisy machine slows all of them alike;
the ratio to the plain GNN is taken within each round, the median over
rounds is printed.  Memory: one fresh process per model; the rise of the
resident-set high-water mark (``VmHWM``, reset through ``/proc/self/clear_refs``)
during its first training step on the largest batch, over what is already
resident (CUDA: ``max_memory_allocated``), and the bytes of the activations
saved for backward in that step (exact, independent of the allocator).

Dense layout: node- and edge-deleted bags of graphs of one size (CSL) keep
every node in every subgraph, so a batch of them is ``B x n x V`` and the
per-node aggregate of DSS is a reshape; this is checked on every batch and
the aggregate is timed both ways.  Their subgraphs have different edges, so
the one-topology sparse product of :class:`~pyg_dss.nn.SetGCNConv` must not
(and does not) serve the siamese branch: ``repeated_graph`` rejects the batch.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

# The benchmarks folder is on the path when this runs as a script: share the
# measuring helpers (CUDA sync, /proc reader).
from measure import status_kb, sync  # noqa: E402

# (label, variant, policy, keep_all_nodes) per workload; "gnn" is the plain baseline.
MODELS = {
    "csl": [("gnn", "ds", "original", True), ("ds-ND", "ds", "node_deleted", True),
            ("dss-ND", "dss", "node_deleted", True), ("dss-ED", "dss", "edge_deleted", True),
            ("dss-EGO", "dss", "ego_nets", True)],
    "molecules": [("gnn", "ds", "original", True), ("ds-ND", "ds", "node_deleted", True),
                  ("dss-ND", "dss", "node_deleted", True),
                  ("dss-EGO+", "dss", "ego_nets_plus", True),
                  ("dss-EGO+ partial", "dss", "ego_nets_plus", False)],
}
SETTINGS = {"csl": dict(conv="gin", hidden=32, batch=8, hops=4),
            "molecules": dict(conv="gine", hidden=64, batch=128, hops=3)}


# ----------------------------------------------------------------------------- data
def random_molecule(g: torch.Generator, atom_types: int = 28):
    """A molecule-like graph: atoms in a tree (degree <= 4) plus one or two
    ring closures of 5-6 atoms; ZINC-like sizes (9-37 atoms, mean about 23)."""
    from torch_geometric.data import Data
    n = int(min(37, max(9, round(23 + 4.5 * float(torch.randn(1, generator=g))))))
    parent = [-1]
    degree = [0] * n
    for v in range(1, n):
        while True:
            u = int(torch.randint(0, v, (1, ), generator=g))
            if degree[u] < 4:
                break
        parent.append(u)
        degree[u] += 1
        degree[v] += 1
    edges = {(parent[v], v) for v in range(1, n)}

    def path_to_root(v):
        out = [v]
        while parent[out[-1]] >= 0:
            out.append(parent[out[-1]])
        return out
    for _ in range(int(torch.randint(1, 3, (1, ), generator=g))):
        for _ in range(50):  # a pair at tree distance 4-5 closes a 5- or 6-ring
            u, v = torch.randint(0, n, (2, ), generator=g).tolist()
            pu, pv = path_to_root(u), path_to_root(v)
            common = next(w for w in pu if w in pv)
            dist = pu.index(common) + pv.index(common)
            if dist in (4, 5) and degree[u] < 4 and degree[v] < 4:
                edges.add((min(u, v), max(u, v)))
                degree[u] += 1
                degree[v] += 1
                break
    ei = torch.tensor(sorted(edges)).t()
    bonds = torch.randint(1, 4, (ei.size(1), ), generator=g)
    return Data(x=torch.randint(0, atom_types, (n, 1), generator=g),
                edge_index=torch.cat([ei, ei.flip(0)], 1), edge_attr=torch.cat([bonds, bonds]),
                y=torch.randn(1, generator=g))


def graphs(workload: str, count: int) -> List:
    if workload == "csl":
        from pyg_dss.datasets import CSL
        return list(CSL())
    g = torch.Generator().manual_seed(0)
    return [random_molecule(g) for _ in range(count)]


def setup(workload: str, label: str, args) -> Tuple[Callable[[], None], List, object]:
    """(one training epoch, the batches, the model) for one model."""
    from torch_geometric.loader import DataLoader

    from pyg_dss.nn import SubgraphGNN
    from pyg_dss.transforms import SubgraphBag
    _, variant, policy, keep_all = next(m for m in MODELS[workload] if m[0] == label)
    s = SETTINGS[workload]
    t = SubgraphBag(policy, num_hops=s["hops"], keep_all_nodes=keep_all)
    bags = [t(d) for d in graphs(workload, args.molecules)]
    batches = [b.to(args.device) for b in DataLoader(bags, batch_size=s["batch"])]
    torch.manual_seed(0)
    if workload == "csl":
        model = SubgraphGNN(1, 10, variant=variant, conv=s["conv"], hidden=s["hidden"],
                            num_layers=4, set_hidden=(s["hidden"], s["hidden"]))
    else:
        model = SubgraphGNN(28, 1, variant=variant, conv=s["conv"], hidden=s["hidden"],
                            num_layers=4, edge_dim=4, categorical=True,
                            policy_aware=policy == "ego_nets_plus",
                            set_hidden=(s["hidden"], s["hidden"]))
    model = model.to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(b) -> None:
        opt.zero_grad()
        out = model(b)
        loss = (torch.nn.functional.cross_entropy(out, b.y) if workload == "csl"
                else (out.view(-1) - b.y).abs().mean())
        loss.backward()
        opt.step()

    def epoch() -> None:
        for b in batches:
            step(b)
    epoch.step = step  # type: ignore[attr-defined]
    return epoch, batches, model


# ----------------------------------------------------------------------------- measuring
def time_workload(workload: str, args) -> Dict[str, List[float]]:
    """Seconds per epoch of every model, round-robin: ``rounds`` lists."""
    epochs = {label: setup(workload, label, args)[0] for label, *_ in MODELS[workload]}
    rounds = []
    for _ in range(args.warmup + args.repeats):
        seconds = {}
        for label, epoch in epochs.items():
            sync(args.device)
            t0 = time.perf_counter()
            epoch()
            sync(args.device)
            seconds[label] = time.perf_counter() - t0
        rounds.append(seconds)
    return {label: [r[label] for r in rounds[args.warmup:]] for label in epochs}


def memory_child(workload: str, label: str, args) -> Dict[str, float]:
    """In a fresh process: the rise of the resident-set high-water mark during
    the first training step on the largest batch (cold: small tensors would
    otherwise reuse memory the allocator kept from a warm-up step), and the
    bytes of the tensors saved for backward (the activations), counted once
    per storage."""
    import gc
    epoch, batches, model = setup(workload, label, args)
    largest = max(batches, key=lambda b: b.num_nodes)
    gc.collect()
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        epoch.step(largest)
        torch.cuda.synchronize()
        peak = (torch.cuda.max_memory_allocated() - before) / 2**20
    else:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset VmHWM to the current RSS
        before = status_kb("VmRSS")
        epoch.step(largest)
        peak = (status_kb("VmHWM") - before) / 1024
    saved: Dict[Tuple[int, str], int] = {}

    def pack(t: Tensor) -> Tensor:
        st = t.untyped_storage()
        saved[(st.data_ptr(), str(t.device))] = st.nbytes()
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        epoch.step(largest)
    return {"peak_mb": peak, "activations_mb": sum(saved.values()) / 2**20}


def measure_memory(workload: str, args) -> Dict[str, Dict[str, float]]:
    """One fresh single-threaded process per model, one after the other."""
    out = {}
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for label, *_ in MODELS[workload]:
        res = subprocess.run([sys.executable, os.path.abspath(__file__), "--molecules",
                              str(args.molecules), "--device", args.device,
                              "--_memory-child", workload, label],
                             capture_output=True, text=True, env=env)
        if res.returncode != 0:
            raise RuntimeError(f"memory of {workload}/{label} failed:\n{res.stderr[-2000:]}")
        out[label] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def dense_layout_check(args) -> Dict[str, object]:
    """CSL bags that keep every node: is every batch dense, how long does the
    per-node aggregate take as a reshape and as a scatter (forward + backward,
    width 32), and is the siamese branch kept off the one-topology product."""
    from torch_geometric.loader import DataLoader
    from torch_geometric.utils import scatter

    from pyg_dss.datasets import CSL
    from pyg_dss.layout import find_layout
    from pyg_dss.nn.aggr import num_shared_vertices, set_aggregate
    from pyg_dss.transforms import SubgraphBag
    out: Dict[str, object] = {}
    for policy in ("node_deleted", "edge_deleted", "ego_nets"):
        bags = [SubgraphBag(policy, num_hops=4)(d) for d in CSL()]
        batches = list(DataLoader(bags, batch_size=8))
        layouts = [find_layout(b) for b in batches]
        dense = all(layout.dense for layout in layouts)
        siamese_product = any(layout.element_graph is not None for layout in layouts)
        b = batches[0]
        x = torch.randn(b.num_nodes, 32, requires_grad=True)

        def reshape() -> None:
            set_aggregate(x, b, "mean").sum().backward()

        def scattered() -> None:
            scatter(x, b.vertex_index, 0, dim_size=num_shared_vertices(b),
                    reduce="mean").sum().backward()
        assert torch.allclose(set_aggregate(x, b, "mean"),
                              scatter(x, b.vertex_index, 0, dim_size=num_shared_vertices(b),
                                      reduce="mean"), atol=1e-6)
        t: Dict[str, List[float]] = {"reshape": [], "scatter": []}
        for rep in range(3 + 20):
            for name, f in (("reshape", reshape), ("scatter", scattered)):
                t0 = time.perf_counter()
                f()
                if rep >= 3:
                    t[name].append(time.perf_counter() - t0)
        out[policy] = {"every_batch_dense": dense,
                       "siamese_one_topology_product": siamese_product,
                       "aggregate_ms_reshape": 1e3 * statistics.median(t["reshape"]),
                       "aggregate_ms_scatter": 1e3 * statistics.median(t["scatter"]),
                       "nodes_per_batch": b.num_nodes}
    return out


# ----------------------------------------------------------------------------- report
def report(results: Dict, args) -> str:
    lines = [f"device {args.device}, {torch.get_num_threads()} threads, median of "
             f"{args.repeats} rounds (after {args.warmup} warm-up)", ""]
    for workload, r in results["workloads"].items():
        s = SETTINGS[workload]
        lines += [f"{workload}: {r['graphs']} graphs, batches of {s['batch']}, width "
                  f"{s['hidden']}, 4 layers, {s['conv']}", "",
                  "| model | subgraphs per graph | nodes per graph | s per epoch | "
                  "x plain GNN (time) | peak MB per step | activations MB | "
                  "x plain GNN (activations) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for label in r["times"]:
            t = r["times"][label]
            ratio = statistics.median(a / b for a, b in zip(t, r["times"]["gnn"]))
            row = (f"| {label} | {r['bag'][label][0]:.1f} | {r['bag'][label][1]:.0f} | "
                   f"{statistics.median(t):.2f} | {ratio:.1f} | ")
            mem, base = r["memory"].get(label), r["memory"].get("gnn")
            if mem is None:
                row += "- | - | - |"
            else:
                row += (f"{mem['peak_mb']:.0f} | {mem['activations_mb']:.1f} | "
                        f"{mem['activations_mb'] / base['activations_mb']:.1f} |")
            lines.append(row)
        lines.append("")
    if "dense" in results:
        lines += ["dense layout on CSL bags (batches of 8; aggregate forward + backward, width "
                  "32):", "", "| policy | every batch dense | siamese one-topology product | "
                  "aggregate reshape ms | aggregate scatter ms |", "|---|---|---|---:|---:|"]
        for policy, d in results["dense"].items():
            lines.append(f"| {policy} | {d['every_batch_dense']} | "
                         f"{d['siamese_one_topology_product']} | "
                         f"{d['aggregate_ms_reshape']:.2f} | {d['aggregate_ms_scatter']:.2f} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workloads", nargs="+", choices=list(MODELS), default=list(MODELS))
    p.add_argument("--molecules", type=int, default=1024,
                   help="random molecules per epoch (ZINC-12k trains on 10,000)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-memory", dest="memory", action="store_false")
    p.add_argument("--json", default=None)
    p.add_argument("--_memory-child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._memory_child:
        print(json.dumps(memory_child(*args._memory_child, args)))
        return
    results: Dict = {"workloads": {}}
    for workload in args.workloads:
        from pyg_dss.transforms import SubgraphBag
        items = graphs(workload, args.molecules)
        bag_sizes = {}
        for label, _, policy, keep_all in MODELS[workload]:
            t = SubgraphBag(policy, num_hops=SETTINGS[workload]["hops"], keep_all_nodes=keep_all)
            sample = [t(d) for d in items[:200]]
            bag_sizes[label] = (statistics.fmean(int(b.num_elements) for b in sample),
                                statistics.fmean(b.num_nodes for b in sample))
        results["workloads"][workload] = {
            "graphs": len(items), "bag": bag_sizes,
            "mean_nodes": statistics.fmean(d.num_nodes for d in items),
            "times": time_workload(workload, args),
            "memory": measure_memory(workload, args) if args.memory else {}}
    if "csl" in args.workloads:
        results["dense"] = dense_layout_check(args)
    print(report(results, args))
    if args.json:
        from pyg_dss.io import atomic_write_json
        atomic_write_json(results, args.json)


if __name__ == "__main__":
    main()
