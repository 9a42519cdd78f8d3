"""End-to-end training step of DSSNet against the references a user compares to.

    python benchmarks/train_step.py                       # 8 sets x 7 frames x 6890 vertices, gcn
    python benchmarks/train_step.py --base pointnet
    python benchmarks/train_step.py --compile             # also torch.compile (minutes to compile)
    python benchmarks/train_step.py --device cuda --json out.json

One training step = forward + backward + Adam step of the shape-selection
network (3 set layers 64-128-128 with a BatchNorm per branch and ReLU, max over
the vertices, DeepSets head 128-128-1, a softmax over each set) on one batch of
frames of a closed mesh (a trimesh torus of 130 x 53 = 6890 vertices, the
vertex count of Dynamic FAUST's SMPL mesh, every vertex of degree 6).  The
implementations, timed round-robin in one process (a ratio is taken within a
round; the median over rounds is reported, so load on a shared machine hits
all of them alike):

* ``pyg-dss``: :class:`pyg_dss.nn.DSSNet` on a batch from
  :class:`pyg_dss.loader.SetDataLoader` (it carries its layout; the layers
  still check it on every call);
* ``dense``: the same network written by hand on ``[B, n, V, C]`` tensors,
  vertex-major (``[V, B, n, C]``, so one ``torch.sparse.mm`` with the shared
  normalised adjacency propagates every element), torch ops only;
* ``pyg-batched``: ``DSSNet`` with PyG's own ``GCNConv`` as the base (per-edge
  messages over the batch's ``edge_index``; gcn only);
* ``per-set-loop``: the authors' style: PyG ``GCNConv`` called set by set in a
  Python loop (gcn only);
* ``floor``: the network's Linear layers alone (the same shapes: every element
  for the siamese branch, one copy per set for the shared branch, the head),
  forward + backward + Adam: the matrix multiplies no implementation avoids;
* ``compiled`` (``--compile``): ``torch.compile(DSSNet, fullgraph=True,
  dynamic=True)``; its compile time is reported separately.

Also reported: peak memory of one step (a fresh process per implementation:
the rise of ``VmHWM`` on CPU, ``max_memory_allocated`` on CUDA), eval-mode
inference time per set, and the data loader's sets/s (``SyntheticFrameSets``
and ``DFAUSTFrameSets`` on generated Dynamic FAUST files of the real schema
and mesh size, 0 and 2 workers) against the training step's sets/s.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
from torch import Tensor
from torch.nn import BatchNorm1d, Linear, Module, ModuleList

warnings.filterwarnings("ignore", message=".*[Ss]parse.*")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from measure import interleaved, peak_mb, publish, ratio, sync  # noqa: E402  (after sys.path)

IMPLS = ("pyg-dss", "dense", "pyg-batched", "per-set-loop", "floor")
GCN_ONLY = ("pyg-batched", "per-set-loop")


# ----------------------------------------------------------------------------- data
def torus(major: int, minor: int):
    """Vertices, faces and undirected edges [2, E] of a closed trimesh torus."""
    import trimesh
    from torch_geometric.utils import to_undirected
    m = trimesh.creation.torus(1.0, 0.3, major_sections=major, minor_sections=minor)
    assert m.is_watertight
    e = torch.from_numpy(np.ascontiguousarray(m.edges_unique.T)).long()
    return m.vertices, m.faces, to_undirected(e, num_nodes=len(m.vertices))


def make_sets(args: argparse.Namespace):
    """``args.sets`` sets of ``args.set_size`` frames: the torus, jittered."""
    from torch_geometric.data import Data

    from pyg_dss.data import SetData
    verts, _, edges = torus(args.major, args.minor)
    g = torch.Generator().manual_seed(0)
    base = torch.as_tensor(verts, dtype=torch.float32)
    sets = []
    for _ in range(args.sets):
        frames = [Data(x=base + 0.05 * torch.randn(base.shape, generator=g))
                  for _ in range(args.set_size)]
        if args.base == "gcn":
            for f in frames:
                f.edge_index = edges
        s = SetData.from_elements(frames, corresponded=True)
        s.y = torch.randint(0, args.set_size, (1, ), generator=g)
        sets.append(s)
    return sets


def make_batch(args: argparse.Namespace):
    from pyg_dss.loader import SetDataLoader
    sets = make_sets(args)
    return next(iter(SetDataLoader(sets, batch_size=len(sets)))).to(args.device)


# ----------------------------------------------------------------------------- references
class DenseDSS(Module):
    """The network written by hand, vertex-major: features [V, B, n, C], the
    shared normalised adjacency A_hat [V, V] (sparse) applied to all B n
    elements (and to the B per-set aggregates) by one torch.sparse.mm."""
    def __init__(self, adjacency: Optional[Tensor], widths=(64, 128, 128),
                 head=(128, 128), in_channels: int = 3) -> None:
        super().__init__()
        self.A = adjacency
        self.lin, self.lin_s, self.bn, self.bn_s = (ModuleList() for _ in range(4))
        self.bias, self.bias_s = torch.nn.ParameterList(), torch.nn.ParameterList()
        c = in_channels
        for w in widths:
            self.lin.append(Linear(c, w, bias=False))
            self.lin_s.append(Linear(c, w, bias=False))
            self.bias.append(torch.nn.Parameter(torch.zeros(w)))
            self.bias_s.append(torch.nn.Parameter(torch.zeros(w)))
            self.bn.append(BatchNorm1d(w))
            self.bn_s.append(BatchNorm1d(w))
            c = w
        self.head, self.head_s = ModuleList(), ModuleList()
        for w in list(head) + [1]:
            self.head.append(Linear(c, w))
            self.head_s.append(Linear(c, w, bias=False))
            c = w

    def propagate(self, h: Tensor) -> Tensor:   # h [V, ..., C]
        if self.A is None:                      # pointnet: no propagation
            return h
        return (self.A @ h.reshape(h.size(0), -1)).view(h.shape)

    def forward(self, x: Tensor) -> Tensor:    # x [V, B, n, C_in]
        V, B, n, _ = x.shape
        for i in range(len(self.lin)):
            h = self.propagate(self.lin[i](x)) + self.bias[i]
            h = self.bn[i](h.reshape(-1, h.size(-1))).view(h.shape)
            s = self.propagate(self.lin_s[i](x.sum(2))) + self.bias_s[i]   # [V, B, C]
            s = self.bn_s[i](s.reshape(-1, s.size(-1))).view(s.shape)
            x = torch.relu(h + s.unsqueeze(2))
        z = x.amax(0)                                                      # [B, n, C]
        for i in range(len(self.head)):
            z = self.head[i](z) + self.head_s[i](z.amax(1, keepdim=True))
            if i < len(self.head) - 1:
                z = torch.nn.functional.elu(z)
        return torch.log_softmax(z.squeeze(-1), dim=1).reshape(-1)


def normalized_adjacency(edge_index: Tensor, V: int) -> Tensor:
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    ei, w = gcn_norm(edge_index, None, V, False, True, "source_to_target")
    return torch.sparse_coo_tensor(ei.flip(0), w, (V, V)).coalesce().to_sparse_csr()


class PerSetLoop(Module):
    """The network with PyG's GCNConv called set by set (a Python loop over
    the sets in every layer; BatchNorm and the head on the whole batch)."""
    def __init__(self, net: Module) -> None:
        super().__init__()
        self.net = net   # a DSSNet with GCNConv bases

    def forward(self, b, per_set) -> Tensor:
        from pyg_dss.nn.heads import set_log_softmax
        x = b.x
        for layer in self.net.layers:
            h = torch.cat([layer.siamese(x[sl], ei) for sl, ei, _, _ in per_set])
            h = layer.siamese_norm(h)
            agg = x.view(len(per_set), -1, per_set[0][2], x.size(1)).sum(1)
            s = torch.cat([layer.shared(a, per_set[0][3]) for a in agg])
            s = layer.shared_norm(s).view(len(per_set), 1, -1, h.size(1))
            x = torch.relu((h.view(len(per_set), -1, per_set[0][2], h.size(1)) + s
                            ).view(h.shape))
        z = self.net.pool(x, b)
        for i, layer in enumerate(self.net.head):
            z = layer(z, b)
            if i < len(self.net.head) - 1:
                z = self.net.head_act(z)
        return set_log_softmax(z, b)


class Floor(Module):
    """The Linear layers of the network alone, on the same rows."""
    def __init__(self, widths=(64, 128, 128), head=(128, 128), in_channels: int = 3,
                 shared: bool = True) -> None:
        super().__init__()
        self.lin, self.lin_s, self.head, self.head_s = (ModuleList() for _ in range(4))
        c = in_channels
        for w in widths:
            self.lin.append(Linear(c, w))
            if shared:
                self.lin_s.append(Linear(c, w))
            c = w
        for w in list(head) + [1]:
            self.head.append(Linear(c, w))
            self.head_s.append(Linear(c, w, bias=False))
            c = w

    def forward(self, x: Tensor, shared_rows: int, elements: int) -> Tensor:
        total = x.new_zeros(())
        for i, lin in enumerate(self.lin):
            if len(self.lin_s):
                total = total + self.lin_s[i](x[:shared_rows]).sum()
            x = lin(x)
        z = x[:elements]
        for lin, lin_s in zip(self.head, self.head_s, strict=True):
            z = lin(z) + lin_s(z)
        return total + z.sum()


def check_dense_is_the_same_network(b, args: argparse.Namespace) -> float:
    """Copies DSSNet's weights into DenseDSS and returns the largest
    difference of their outputs (the reference must compute the same thing)."""
    from pyg_dss.nn import DSSNet
    B, n, V = args.sets, args.set_size, args.major * args.minor
    net = DSSNet(3, args.base, "dss-sum").to(args.device)
    A = None
    if args.base == "gcn":
        A = normalized_adjacency(b.edge_index[:, :b.edge_index.size(1) // (B * n)].cpu(), V)
    dense = DenseDSS(A if A is None else A.to(args.device)).to(args.device)
    with torch.no_grad():
        for i, layer in enumerate(net.layers):
            for branch, lin, bias in ((layer.siamese, dense.lin, dense.bias),
                                      (layer.shared, dense.lin_s, dense.bias_s)):
                lin[i].weight.copy_(branch.lin.weight)
                if getattr(branch, "bias", None) is not None:
                    bias[i].copy_(branch.bias)
                elif branch.lin.bias is not None:
                    bias[i].copy_(branch.lin.bias)
        for i, layer in enumerate(net.head):
            dense.head[i].load_state_dict(layer.lin_element.state_dict())
            dense.head_s[i].load_state_dict(layer.lin_set.state_dict())
        xv = b.x.view(B, n, V, -1).permute(2, 0, 1, 3).contiguous()
        return float((net(b) - dense(xv)).abs().max())


def make_step(impl: str, b, args: argparse.Namespace) -> Callable[[], None]:
    """A closure running one training step of ``impl`` on batch ``b``."""
    from torch_geometric.nn import GCNConv

    from pyg_dss.nn import DSSNet, set_nll_loss
    torch.manual_seed(0)
    dev, base, variant = args.device, args.base, args.variant
    B, n = args.sets, args.set_size
    V = args.major * args.minor
    if impl in ("pyg-dss", "compiled"):
        model = DSSNet(3, base, variant).to(dev)
        fn = model if impl == "pyg-dss" else torch.compile(model, fullgraph=True, dynamic=True)
        loss_fn = lambda: set_nll_loss(fn(b), b)  # noqa: E731  (a closure bound per branch)
    elif impl == "pyg-batched":
        model = DSSNet(3, lambda i, o: GCNConv(i, o), variant).to(dev)
        loss_fn = lambda: set_nll_loss(model(b), b)  # noqa: E731  (a closure bound per branch)
    elif impl == "per-set-loop":
        model = PerSetLoop(DSSNet(3, lambda i, o: GCNConv(i, o), variant)).to(dev)
        rows, E = n * V, b.edge_index.size(1) // B
        shared_ei = b.shared_edge_index[:, :b.shared_edge_index.size(1) // B]
        per_set = [(slice(s * rows, (s + 1) * rows), b.edge_index[:, s * E:(s + 1) * E] - s * rows,
                    V, shared_ei) for s in range(B)]
        loss_fn = lambda: set_nll_loss(model(b, per_set), b)  # noqa: E731  (a closure bound per branch)
    elif impl == "dense":
        A = None
        if base == "gcn":
            A = normalized_adjacency(b.edge_index[:, :b.edge_index.size(1) // (B * n)], V)
            A = A.to(dev)
        model = DenseDSS(A).to(dev)
        xv = b.x.view(B, n, V, -1).permute(2, 0, 1, 3).contiguous()   # vertex-major
        target = b.y.view(-1) + torch.arange(B, device=dev) * n
        loss_fn = lambda: -model(xv)[target].mean()  # noqa: E731  (a closure bound per branch)
    elif impl == "floor":
        model = Floor(shared=variant.startswith("dss")).to(dev)
        loss_fn = lambda: model(b.x, B * V, B * n)  # noqa: E731  (a closure bound per branch)
    else:
        raise ValueError(impl)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss_fn().backward()
        opt.step()
    return step


def make_eval(impl: str, b, args: argparse.Namespace) -> Callable[[], None]:
    """One eval-mode forward (no autograd) of ``impl`` on batch ``b``."""
    from pyg_dss.nn import DSSNet
    torch.manual_seed(0)
    B, n, V = args.sets, args.set_size, args.major * args.minor
    if impl == "pyg-dss":
        model = DSSNet(3, args.base, args.variant).to(args.device).eval()
        fn = lambda: model(b)  # noqa: E731  (a closure bound per branch)
    elif impl == "dense":
        A = None
        if args.base == "gcn":
            A = normalized_adjacency(b.edge_index[:, :b.edge_index.size(1) // (B * n)], V)
        model = DenseDSS(A if A is None else A.to(args.device)).to(args.device).eval()
        xv = b.x.view(B, n, V, -1).permute(2, 0, 1, 3).contiguous()
        fn = lambda: model(xv)  # noqa: E731  (a closure bound per branch)
    else:
        raise ValueError(impl)

    def run() -> None:
        with torch.no_grad():
            fn()
    return run


# ----------------------------------------------------------------------------- measuring
def memory_child(impl: str, args: argparse.Namespace) -> Dict[str, float]:
    b = make_batch(args)
    step = make_step(impl, b, args)
    step()   # optimizer state; peak_mb warms up once more
    return {"peak_mb": peak_mb(step, args.device)}


def child_args(args: argparse.Namespace) -> List[str]:
    return [sys.executable, os.path.abspath(__file__), "--sets", str(args.sets),
            "--set-size", str(args.set_size), "--major", str(args.major), "--minor",
            str(args.minor), "--base", args.base, "--variant", args.variant,
            "--device", args.device]


def measure_memory(impls: List[str], args: argparse.Namespace) -> Dict[str, float]:
    """One fresh process per implementation, one after the other."""
    out = {}
    for impl in impls:
        p = subprocess.run(child_args(args) + ["--_memory-child", impl], capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise RuntimeError(f"memory measurement of {impl} failed:\n{p.stderr[-3000:]}")
        out[impl] = json.loads(p.stdout.strip().splitlines()[-1])["peak_mb"]
    return out


def compile_time(args: argparse.Namespace) -> float:
    """Seconds of the first compiled step (tracing + compiling + running),
    in a fresh process (nothing cached in memory)."""
    p = subprocess.run(child_args(args) + ["--_compile-child"], capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"compilation failed:\n{p.stderr[-3000:]}")
    return json.loads(p.stdout.strip().splitlines()[-1])["seconds"]


def compile_child(args: argparse.Namespace) -> Dict[str, float]:
    b = make_batch(args)
    step = make_step("compiled", b, args)
    t0 = time.perf_counter()
    step()
    sync(args.device)
    return {"seconds": time.perf_counter() - t0}


# ----------------------------------------------------------------------------- loader
def write_dfaust(raw: str, major: int, minor: int, frames: int) -> None:
    """Registration files in Dynamic FAUST's schema with the real vertex
    count: every subject, two sequences of ``frames`` frames of a jittered
    torus (its faces as ``faces``)."""
    import h5py

    from pyg_dss.frames.splits import DFAUST_SPLITS
    verts, faces, _ = torus(major, minor)
    rng = np.random.default_rng(0)
    subjects = sorted({s for split in DFAUST_SPLITS["subject"].values() for s in split})
    male = {"50002", "50007", "50009", "50026", "50027"}
    os.makedirs(raw, exist_ok=True)
    for g in ("m", "f"):
        with h5py.File(os.path.join(raw, f"registrations_{g}.hdf5"), "w") as f:
            f["faces"] = faces.astype(np.int32)
            for s in subjects:
                if (s in male) != (g == "m"):
                    continue
                for seq in ("hips", "punching"):
                    pos = verts[:, :, None] + 0.01 * rng.standard_normal(
                        (len(verts), 3, frames)).astype(np.float32)
                    f[f"{s}_{seq}"] = pos.astype(np.float32)


def loader_rate(dataset, workers: int, batches: int, batch_size: int) -> float:
    from pyg_dss.loader import SetDataLoader
    loader = SetDataLoader(dataset, batch_size=batch_size, shuffle=True, num_workers=workers)
    it = iter(loader)
    next(it)   # worker start-up is not counted
    t0 = time.perf_counter()
    n = 0
    for _ in range(batches):
        try:
            n += next(it).num_graphs
        except StopIteration:
            break
    return n / (time.perf_counter() - t0)


def measure_loader(args: argparse.Namespace) -> Dict[str, Dict[int, float]]:
    from pyg_dss.frames import DFAUSTFrameSets, NoSequenceError, SyntheticFrameSets
    out: Dict[str, Dict[int, float]] = {}
    modality = "mesh" if args.base == "gcn" else "points"
    root = tempfile.mkdtemp(prefix="train_step_loader_")
    try:
        synthetic = SyntheticFrameSets(os.path.join(root, "synthetic"), "train",
                                       modality=modality)
        write_dfaust(os.path.join(root, "dfaust", "raw"), args.major, args.minor,
                     args.dfaust_frames)
        try:
            dfaust = DFAUSTFrameSets(os.path.join(root, "dfaust"), "train", modality=modality)
        except NoSequenceError as e:
            need = re.search(r"the (\d+) frames needed", str(e))
            raise SystemExit(
                f"--dfaust-frames {args.dfaust_frames} is too few for the loader check: "
                f"DFAUSTFrameSets needs sequences of {need.group(1) if need else 'more'} "
                "frames; pass a larger --dfaust-frames (default 150) or --no-loader.") from None
        for name, ds in (("SyntheticFrameSets", synthetic), ("DFAUSTFrameSets", dfaust)):
            out[name] = {w: loader_rate(ds, w, args.loader_batches, args.sets) for w in (0, 2)}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return out


# ----------------------------------------------------------------------------- report
def report(res: Dict, args: argparse.Namespace) -> str:
    t, mem = res["times"], res.get("memory", {})
    V = args.major * args.minor
    lines = [f"{args.sets} sets x {args.set_size} frames x {V} vertices, base {args.base}, "
             f"{args.variant}, widths 64-128-128, device {args.device}, "
             f"{torch.get_num_threads()} threads, median of {args.repeats} interleaved "
             f"rounds (after {args.warmup} warm-up)", "",
             "| implementation | step ms | sets/s | step / pyg-dss | pyg-dss / step | "
             "peak MB | memory / pyg-dss |", "|---|---:|---:|---:|---:|---:|---:|"]
    for k in t:
        ms = 1e3 * statistics.median(t[k])
        r = ratio(t, k, "pyg-dss")
        m = f"{mem[k]:.0f}" if k in mem else "-"
        mr = f"{mem[k] / mem['pyg-dss']:.2f}" if k in mem and mem.get("pyg-dss") else ""
        lines.append(f"| {k} | {ms:.0f} | {args.sets / (ms / 1e3):.1f} | {r:.2f} | "
                     f"{1 / r:.2f} | {m} | {mr} |")
    lines += ["", "Targets (CPU):",
              f"- step / matrix-multiply floor: {ratio(t, 'pyg-dss', 'floor'):.2f}x "
              "(target <= 1.6)",
              f"- speed-up over the hand-written dense version: "
              f"{ratio(t, 'dense', 'pyg-dss'):.2f}x (target >= 1.3)"]
    if "dense" in mem and "pyg-dss" in mem:
        lines.append(f"- peak memory / dense: {mem['pyg-dss'] / mem['dense']:.2f} "
                     "(target <= 1)")
    if "compiled" in t:
        lines.append(f"- compiled / eager step: {ratio(t, 'compiled', 'pyg-dss'):.2f} "
                     f"(compile, first step: {res['compile_seconds']:.0f} s)")
    if "eval" in res:
        e = res["eval"]
        lines += ["", "Eval-mode inference (no autograd), per set: " + ", ".join(
            f"{k} {1e3 * statistics.median(v) / args.sets:.1f} ms" for k, v in e.items())]
    if "loader" in res:
        step_rate = args.sets / statistics.median(t["pyg-dss"])
        lines += ["", f"Data loader (SetDataLoader, batches of {args.sets}), sets/s; the "
                  f"pyg-dss training step consumes {step_rate:.1f} sets/s:"]
        for name, r in res["loader"].items():
            lines.append(f"- {name}: " + ", ".join(f"{w} workers {v:.1f}"
                                                   for w, v in r.items()))
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--sets", type=int, default=8, help="sets per batch.")
    p.add_argument("--set-size", type=int, default=7, help="frames per set.")
    p.add_argument("--major", type=int, default=130, help="torus sections (major).")
    p.add_argument("--minor", type=int, default=53,
                   help="torus sections (minor); vertices = major * minor.")
    p.add_argument("--base", default="gcn", choices=["gcn", "pointnet"], help="base layer.")
    p.add_argument("--variant", default="dss-sum", help="DSSNet variant.")
    p.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS,
                   help="implementations to time.")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds (the median is reported).")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first.")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cuda.")
    p.add_argument("--compile", action="store_true", help="also time torch.compile.")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs.")
    p.add_argument("--no-eval", action="store_true", help="skip the evaluation step.")
    p.add_argument("--no-loader", action="store_true", help="skip the loader timing.")
    p.add_argument("--loader-batches", type=int, default=10,
                   help="batches the loader timing reads.")
    p.add_argument("--dfaust-frames", type=int, default=150,
                   help="frames per generated sequence (2 per subject).")
    p.add_argument("--json", metavar="PATH", help="also write the raw results as JSON to PATH.")
    p.add_argument("--_memory-child", help=argparse.SUPPRESS)
    p.add_argument("--_compile-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args._memory_child:
        print(json.dumps(memory_child(args._memory_child, args)))
        return
    if args._compile_child:
        print(json.dumps(compile_child(args)))
        return
    impls = [i for i in args.impls if i not in GCN_ONLY
             or (args.base == "gcn" and args.variant.startswith("dss-"))]
    res: Dict = {"args": {k: v for k, v in vars(args).items() if not k.startswith("_")}}
    if not args.no_loader and args.device == "cpu":  # first: its errors come before minutes
        res["loader"] = measure_loader(args)
    if args.compile:
        res["compile_seconds"] = compile_time(args)
        impls.append("compiled")
    b = make_batch(args)
    if args.variant == "dss-sum":
        res["dense_max_difference"] = check_dense_is_the_same_network(b, args)
        if res["dense_max_difference"] > 1e-3:
            raise SystemExit("The dense reference does not compute the same network "
                             f"(max difference {res['dense_max_difference']:.3g}).")
    res["times"] = interleaved({k: make_step(k, b, args) for k in impls}, args.repeats,
                               args.warmup, args.device)
    if not args.no_eval:
        res["eval"] = interleaved({k: make_eval(k, b, args) for k in ("pyg-dss", "dense")},
                                  args.repeats, args.warmup, args.device)
    if not args.no_memory:
        res["memory"] = measure_memory([k for k in impls if k != "compiled"], args)
    text = report(res, args)
    publish(text, res, args.json)


if __name__ == "__main__":
    main()
