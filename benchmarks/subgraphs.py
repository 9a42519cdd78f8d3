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
from measure import status_kb, sync

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
def random_molecule(g: torch.Generator, atom_types: int = 28, n: Optional[int] = None):
    """A molecule-like graph: atoms in a tree (degree <= 4) plus one or two
    ring closures of 5-6 atoms; ZINC-like sizes (9-37 atoms, mean about 23)
    unless ``n`` atoms are asked for."""
    from torch_geometric.data import Data
    if n is None:
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

        def reshape(x: Tensor = x, b=b) -> None:
            set_aggregate(x, b, "mean").sum().backward()

        def scattered(x: Tensor = x, b=b) -> None:
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


# ----------------------------------------------------------------------------- building bags
# (label, policy, num_hops, keep_all_nodes) of the construction timings.
BUILDS = [("ND", "node_deleted", 1, True), ("ND partial", "node_deleted", 1, False),
          ("ED", "edge_deleted", 1, True), ("EGO", "ego_nets", 3, True),
          ("EGO+", "ego_nets_plus", 3, True), ("EGO+ partial", "ego_nets_plus", 3, False)]


def reference_bag_builder():
    """The subgraph-by-subgraph construction the vectorised one replaced, kept
    in the tests as the reference it is checked against."""
    tests = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests",
                         "transforms")
    sys.path.insert(0, os.path.abspath(tests))
    from test_subgraph_bag_reference import reference_bag
    return reference_bag


def construction(args) -> Dict[str, Dict[str, Dict[str, float]]]:
    """Milliseconds per bag, vectorised and reference, for molecule-like
    graphs of ``args.sizes`` atoms, and the bag's size (nodes + edges)."""
    from pyg_dss.transforms import SubgraphBag
    reference = reference_bag_builder() if args.reference else None
    g = torch.Generator().manual_seed(1)
    out: Dict[str, Dict[str, Dict[str, float]]] = {}
    for V in args.sizes:
        items = [random_molecule(g, n=V) for _ in range(max(1, 200 // V))]
        for label, policy, hops, keep_all in BUILDS:
            t = SubgraphBag(policy, num_hops=hops, keep_all_nodes=keep_all)
            bags = [t(d) for d in items]
            row = {"bag_nodes": statistics.fmean(b.num_nodes for b in bags),
                   "bag_edges": statistics.fmean(b.edge_index.size(1) for b in bags)}
            builders = [("new", t)] + ([("reference", lambda d, t=t: reference(t, d))]
                                       if reference else [])
            times: Dict[str, List[float]] = {name: [] for name, _ in builders}
            for _ in range(args.build_rounds):  # interleaved: noise hits both alike
                for name, build in builders:
                    t0 = time.perf_counter()
                    for d in items:
                        build(d)
                    times[name].append((time.perf_counter() - t0) / len(items))
            for name in times:  # the best round: a shared machine only ever adds time
                row[f"{name}_ms"] = 1e3 * min(times[name])
            out.setdefault(label, {})[str(V)] = row
    return out


def growth(rows: Dict[str, Dict[str, float]], key: str) -> float:
    """Exponent a of cost ~ key**a: least-squares slope in log-log over the
    three largest sizes (small graphs measure the fixed cost of a call)."""
    import math
    top = [rows[V] for V in sorted(rows, key=int)[-3:]]
    xs = [math.log(r[key]) for r in top]
    ys = [math.log(r["new_ms"]) for r in top]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
            / sum((x - mx) ** 2 for x in xs))


def _growth_v(rows: Dict[str, Dict[str, float]]) -> float:
    for V, r in rows.items():
        r["V"] = float(V)
    return growth(rows, "V")


def dataset_scale(args) -> Dict[str, Dict[str, float]]:
    """ZINC-sized data (generated molecules): build time of the stored bags
    with every core, their size on disk, load time, and training steps/s from
    the stored bags and with bags built on the fly (transform=)."""
    import shutil
    import tempfile

    from torch_geometric.data import InMemoryDataset
    from torch_geometric.loader import DataLoader

    from pyg_dss.datasets import SubgraphBags
    from pyg_dss.nn import SubgraphGNN
    from pyg_dss.transforms import SubgraphBag
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    items = [random_molecule(g) for _ in range(args.dataset_graphs)]
    generated = time.perf_counter() - t0

    class OnTheFly(InMemoryDataset):
        def __init__(self, transform) -> None:
            super().__init__(None, transform)
            self.data, self.slices = self.collate(items)

    out: Dict[str, Dict[str, float]] = {}
    for label, policy, hops, keep_all in (BUILDS[0], BUILDS[4], BUILDS[5]):
        bag = SubgraphBag(policy, num_hops=hops, keep_all_nodes=keep_all)
        root = tempfile.mkdtemp(prefix="bags-")
        try:
            t0 = time.perf_counter()
            ds = SubgraphBags(root, items, bag, num_workers=args.workers)
            built = time.perf_counter() - t0
            disk = os.path.getsize(ds.processed_paths[0])
            t0 = time.perf_counter()
            ds = SubgraphBags(root, items, bag, num_workers=args.workers)
            loaded = time.perf_counter() - t0
            assert ds.cache_status == "loaded"
            torch.manual_seed(0)
            model = SubgraphGNN(28, 1, variant="dss", conv="gine", hidden=64, num_layers=4,
                                edge_dim=4, categorical=True,
                                policy_aware=policy == "ego_nets_plus").to(args.device)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            rates = {}
            for name, data in (("stored", ds), ("on_the_fly", OnTheFly(bag))):
                loader = iter(DataLoader(data, batch_size=128, shuffle=True))
                for step in range(args.dataset_steps + 1):
                    if step == 1:  # the first step warms up
                        sync(args.device)
                        t0 = time.perf_counter()
                    b = next(loader).to(args.device)
                    opt.zero_grad()
                    loss = (model(b).view(-1) - b.y).abs().mean()
                    loss.backward()
                    opt.step()
                sync(args.device)
                rates[name] = args.dataset_steps / (time.perf_counter() - t0)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        scale = 250_000 / len(items)
        out[label] = {"graphs": len(items), "generate_s": generated, "build_s": built,
                      "disk_mb": disk / 2**20, "load_s": loaded,
                      "steps_per_s_stored": rates["stored"],
                      "steps_per_s_on_the_fly": rates["on_the_fly"],
                      "build_s_250k_estimated": built * scale,
                      "disk_mb_250k_estimated": disk / 2**20 * scale}
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
            ratio = statistics.median(a / b for a, b in zip(t, r["times"]["gnn"], strict=True))
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
    if "construction" in results:
        lines += ["", "building bags (ms per bag; molecule-like graphs of V atoms; best of "
                  f"{args.build_rounds} interleaved rounds):", "",
                  "| policy | V | bag nodes | bag edges | vectorised ms | reference ms "
                  "| speed-up |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for label, rows in results["construction"].items():
            for V, r in rows.items():
                ref = r.get("reference_ms")
                lines.append(f"| {label} | {V} | {r['bag_nodes']:.0f} | {r['bag_edges']:.0f} | "
                             f"{r['new_ms']:.3f} | " + (f"{ref:.2f} | {ref / r['new_ms']:.1f} |"
                                                        if ref else "- | - |"))
        lines += ["", "growth of the vectorised cost over the three largest V: exponent a in "
                  "ms ~ V^a and in ms ~ (bag nodes + edges)^a", ""]
        for label, rows in results["construction"].items():
            for r in rows.values():
                r["bag_size"] = r["bag_nodes"] + r["bag_edges"]
            lines.append(f"- {label}: V^{_growth_v(rows):.2f}, "
                         f"bag size^{growth(rows, 'bag_size'):.2f}")
    if "dataset" in results:
        d0 = next(iter(results["dataset"].values()))
        lines += ["", f"bags at dataset scale: {d0['graphs']} generated ZINC-sized molecules "
                  f"(generated in {d0['generate_s']:.0f} s), {args.workers} build workers, "
                  "batches of 128, DSS-GNN GINE width 64, 4 layers; 250k figures ESTIMATED "
                  f"linearly from the measured {d0['graphs']} (x{250_000 / d0['graphs']:.1f}); "
                  "steps/s do not depend on the number of graphs:",
                  "", "| policy | build s | disk MB | load s | steps/s stored | steps/s on the fly "
                  "| build s, 250k (est.) | disk MB, 250k (est.) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for label, r in results["dataset"].items():
            lines.append(f"| {label} | {r['build_s']:.1f} | {r['disk_mb']:.0f} | "
                         f"{r['load_s']:.1f} | {r['steps_per_s_stored']:.2f} | "
                         f"{r['steps_per_s_on_the_fly']:.2f} | {r['build_s_250k_estimated']:.0f} "
                         f"| {r['disk_mb_250k_estimated']:.0f} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()),
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--workloads", nargs="+", choices=list(MODELS), default=list(MODELS),
                   help="the graphs of the training part (see the list above)")
    p.add_argument("--molecules", type=int, default=1024,
                   help="random molecules per epoch (ZINC-12k trains on 10,000)")
    p.add_argument("--repeats", type=int, default=3, help="timed rounds (the median is shown)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds before them")
    p.add_argument("--device", default="cpu", help="where the models train (cpu or cuda)")
    p.add_argument("--no-memory", dest="memory", action="store_false",
                   help="skip the peak-memory measurement (a child process per model)")
    p.add_argument("--json", default=None, help="also write the raw numbers to this file")
    p.add_argument("--parts", nargs="+", choices=["training", "construction", "dataset"],
                   default=["training", "construction", "dataset"],
                   help="training epochs per model, bag construction per graph size, bags "
                        "at dataset scale")
    p.add_argument("--sizes", nargs="+", type=int, default=[10, 25, 50, 100, 200, 500],
                   help="graph sizes (atoms) of the construction timings")
    p.add_argument("--build-rounds", type=int, default=3,
                   help="rounds of the construction timings (the best is shown)")
    p.add_argument("--no-reference", dest="reference", action="store_false",
                   help="skip the subgraph-by-subgraph reference construction")
    p.add_argument("--dataset-graphs", type=int, default=12_000,
                   help="generated molecules of the dataset-scale part (ZINC-12k: 12,000)")
    p.add_argument("--dataset-steps", type=int, default=5,
                   help="training steps timed on the stored and on-the-fly bags")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                   help="processes building the stored bags")
    p.add_argument("--_memory-child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._memory_child:
        print(json.dumps(memory_child(*args._memory_child, args)))
        return
    results: Dict = {"workloads": {}}
    for workload in args.workloads if "training" in args.parts else []:
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
    if "csl" in args.workloads and "training" in args.parts:
        results["dense"] = dense_layout_check(args)
    if "construction" in args.parts:
        results["construction"] = construction(args)
    if "dataset" in args.parts:
        results["dataset"] = dataset_scale(args)
    print(report(results, args))
    if args.json:
        from pyg_dss.io import atomic_write_json
        atomic_write_json(results, args.json)


if __name__ == "__main__":
    main()
