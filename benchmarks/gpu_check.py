"""Every GPU measurement in one call, sized for a short GPU lease: writes ONE
JSON file and ONE markdown file.

    bash benchmarks/gpu_check.sh                       # installs what is missing, then this
    python benchmarks/gpu_check.py --out gpu_check     # gpu_check/gpu_check.{json,md}
    python benchmarks/gpu_check.py --tiny              # every part on tiny inputs (a smoke run)

Parts, each with a time budget (seconds, the total within 8 minutes on one
H100/H200; a part that overruns is stopped and reported as such, the others
still run):

* ``environment`` (5): torch, PyG, CUDA and the device;
* ``host_syncs`` (20): synchronisations of one DSSNet training step counted
  by ``torch.cuda.set_sync_debug_mode`` (CUDA), and the CPU-side count of
  host reads from pyg-dss code (``.item()``, ``int()``, ``bool()``, ...);
* ``cuda_tests`` (120): the test files that run on CUDA (``withDevice``,
  ``withCUDA``, ``torch.cuda.is_available``) and the host-read audit;
* ``train_step`` (140): ``benchmarks/train_step.py --device cuda --compile``:
  sets/s, peak memory, ratios against dense and the floor, torch.compile;
* ``bf16`` (40): the DSSNet training step in float32 and under bf16 autocast:
  sets/s and peak memory;
* ``subgraphs`` (90): ``benchmarks/subgraphs.py --device cuda`` (training
  epochs of DS-/DSS-GNN on molecule bags, bag construction);
* ``layers`` (60): ``benchmarks/layers.py --device cuda``.

Without CUDA every CUDA part is skipped and both outputs say so; the
environment and the CPU host-read count still run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)  # the other benchmarks' helpers (train_step.make_sets, measure)

#: (name, budget in seconds, needs CUDA)
PARTS = [("environment", 5, False), ("host_syncs", 20, False), ("cuda_tests", 120, True),
         ("train_step", 140, True), ("bf16", 40, True), ("subgraphs", 90, True),
         ("layers", 60, True)]


def cuda() -> bool:
    return torch.cuda.is_available()


def run_script(args: argparse.Namespace, argv: List[str], budget: float,
               json_path: Optional[str] = None) -> Dict[str, Any]:
    """Runs a benchmark script (or pytest) in a fresh process under ``budget``;
    its report text, exit status and JSON results."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    try:
        res = subprocess.run([sys.executable, *argv], cwd=HERE if argv[0] != "-m" else ROOT,
                             env=env, capture_output=True, text=True, timeout=budget)
    except subprocess.TimeoutExpired as e:
        text = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return {"status": f"timed out after {budget:.0f} s", "report": text[-6000:]}
    out: Dict[str, Any] = {"status": "ok" if res.returncode == 0 else
                           f"failed (exit {res.returncode})",
                           "report": (res.stdout if res.returncode == 0
                                      else res.stdout + res.stderr)[-6000:]}
    if json_path and os.path.exists(json_path):
        with open(json_path) as f:
            out["results"] = json.load(f)
    return out


# ----------------------------------------------------------------------------- parts
def environment(args: argparse.Namespace, budget: float) -> Dict[str, Any]:
    import torch_geometric
    info = {"python": platform.python_version(), "torch": torch.__version__,
            "torch_geometric": torch_geometric.__version__, "cuda": torch.version.cuda,
            "device": torch.cuda.get_device_name(0) if cuda() else "none (CPU only)",
            "cpu_threads": torch.get_num_threads()}
    return {"status": "ok", "results": info,
            "report": ", ".join(f"{k} {v}" for k, v in info.items())}


def training_batch(device: str, tiny: bool):
    """A DSSNet model, its optimiser and one batch of mesh frames (the
    training-step benchmark's torus), on ``device``."""
    from argparse import Namespace

    from train_step import make_batch

    from pyg_dss.nn import DSSNet
    size = dict(major=12, minor=6, sets=2, set_size=3) if tiny else \
        dict(major=130, minor=53, sets=8, set_size=7)
    batch = make_batch(Namespace(base="gcn", device=device, **size))
    torch.manual_seed(0)
    model = DSSNet(3, "gcn", "dss-sum").to(device)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3), batch


def host_syncs(args: argparse.Namespace, budget: float) -> Dict[str, Any]:
    """CPU-side host reads of one step (always) and CUDA synchronisations
    (``set_sync_debug_mode``; CUDA only)."""
    sys.path[:0] = [os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "nn")]
    from test_host_syncs import count_host_reads

    from pyg_dss.nn import set_nll_loss
    model, opt, batch = training_batch("cpu", tiny=True)
    with count_host_reads() as reads:
        set_nll_loss(model(batch), batch).backward()
    results: Dict[str, Any] = {"cpu_host_reads": sum(reads.values()),
                               "cpu_host_read_sites": [f"{m} {f}:{line}" for m, f, line in reads]}
    report = f"CPU audit: {results['cpu_host_reads']} host reads ({results['cpu_host_read_sites']})"
    if cuda():
        model, opt, batch = training_batch("cuda", args.tiny)
        for _ in range(2):  # warm-up: lazy initialisation syncs once
            opt.zero_grad()
            set_nll_loss(model(batch), batch).backward()
            opt.step()
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                opt.zero_grad()
                set_nll_loss(model(batch), batch).backward()
                opt.step()
            finally:
                torch.cuda.set_sync_debug_mode("default")
        syncs = [str(w.message).splitlines()[0] for w in caught
                 if "synchroniz" in str(w.message).lower()]
        results["cuda_syncs_per_step"] = len(syncs)
        results["cuda_sync_messages"] = sorted(set(syncs))
        report += f"; CUDA: {len(syncs)} synchronisations per training step"
    else:
        report += "; CUDA sync count skipped: no CUDA device"
    return {"status": "ok", "results": results, "report": report}


def cuda_tests(args: argparse.Namespace, budget: float) -> Dict[str, Any]:
    tests = os.path.join(ROOT, "tests")
    marks = ("withDevice", "withCUDA", "cuda.is_available")
    # the tests mirror the package in folders: look through all of them
    files = sorted(str(f) for f in Path(tests).rglob("test_*.py")
                   if any(m in f.read_text() for m in marks))
    files.append(os.path.join(tests, "nn", "test_host_syncs.py"))
    argv = ["-m", "pytest", "-q", "-p", "no:cacheprovider", *files]
    if args.tiny:
        argv += ["-x", "-k", "not paper"]
    out = run_script(args, argv, budget)
    out["results"] = {"files": [os.path.basename(f) for f in files]}
    return out


def train_step(args: argparse.Namespace, budget: float) -> Dict[str, Any]:
    path = os.path.join(args.out, "train_step.json")
    argv = ["train_step.py", "--device", args.device, "--compile", "--no-loader", "--json", path]
    if args.tiny:
        argv += ["--major", "12", "--minor", "6", "--sets", "2", "--set-size", "3",
                 "--repeats", "1", "--warmup", "1"]
        if args.device == "cpu":  # the resident-set rise of a tiny step can be 0
            argv.append("--no-memory")
    return run_script(args, argv, budget, path)


def bf16(args: argparse.Namespace, budget: float) -> Dict[str, Any]:
    """The training step in float32 and under bf16 autocast: sets/s, peak MB."""
    from measure import sync

    from pyg_dss.nn import set_nll_loss
    device = args.device
    model, opt, batch = training_batch(device, args.tiny)
    sets = int(batch.num_vertices.numel())
    results: Dict[str, Any] = {}
    for mode in ("float32", "autocast-bf16"):
        def step(autocast: bool = mode != "float32") -> None:
            opt.zero_grad()
            with torch.autocast(device, dtype=torch.bfloat16, enabled=autocast):
                out = model(batch)
            set_nll_loss(out.float(), batch).backward()
            opt.step()
        for _ in range(3):
            step()
        sync(device)
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        repeats = 3 if args.tiny else 20
        t0 = time.perf_counter()
        for _ in range(repeats):
            step()
        sync(device)
        seconds = (time.perf_counter() - t0) / repeats
        results[mode] = {"sets_per_s": sets / seconds, "peak_mb": (
            torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else None)}
    results["speedup_bf16"] = (results["autocast-bf16"]["sets_per_s"]
                               / results["float32"]["sets_per_s"])
    report = "; ".join(f"{m}: {r['sets_per_s']:.1f} sets/s, peak "
                       + (f"{r['peak_mb']:.0f} MB" if r["peak_mb"] is not None else "- (CPU)")
                       for m, r in results.items() if isinstance(r, dict))
    return {"status": "ok", "results": results,
            "report": report + f"; bf16 / float32 speed {results['speedup_bf16']:.2f}x"}


def subgraphs(args: argparse.Namespace, budget: float) -> Dict[str, Any]:
    path = os.path.join(args.out, "subgraphs.json")
    argv = ["subgraphs.py", "--device", args.device, "--parts", "training", "construction",
            "--repeats", "2", "--json", path]
    argv += (["--workloads", "molecules", "--molecules", "64", "--sizes", "10", "25",
              "--build-rounds", "1", "--no-memory", "--no-reference"] if args.tiny else
             ["--molecules", "512", "--sizes", "25", "100", "500", "--build-rounds", "3"])
    return run_script(args, argv, budget, path)


def layers(args: argparse.Namespace, budget: float) -> Dict[str, Any]:
    path = os.path.join(args.out, "layers.json")
    argv = ["layers.py", "--device", args.device, "--json", path]
    if args.tiny:
        argv += ["--major", "12", "--minor", "6", "--repeats", "1", "--memory-configs"]
    return run_script(args, argv, budget, path)


FUNCTIONS: Dict[str, Callable[[argparse.Namespace, float], Dict[str, Any]]] = {
    "environment": environment, "host_syncs": host_syncs, "cuda_tests": cuda_tests,
    "train_step": train_step, "bf16": bf16, "subgraphs": subgraphs, "layers": layers}


# ----------------------------------------------------------------------------- report
def markdown(results: Dict[str, Any]) -> str:
    lines = ["# GPU check", "", f"device: {results['parts']['environment']['results']['device']}"
             f"; total {results['seconds']:.0f} s", "",
             "| part | status | seconds | budget s |", "|---|---|---:|---:|"]
    for name, part in results["parts"].items():
        lines.append(f"| {name} | {part['status']} | {part.get('seconds', 0):.1f} | "
                     f"{part['budget_s']} |")
    for name, part in results["parts"].items():
        if part.get("report"):
            lines += ["", f"## {name}", "", "```", part["report"].strip(), "```"]
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    p = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()),
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out", default="gpu_check", help="folder of gpu_check.json / .md")
    p.add_argument("--tiny", action="store_true", help="every part on tiny inputs")
    p.add_argument("--parts", nargs="+", choices=[n for n, *_ in PARTS],
                   default=[n for n, *_ in PARTS], help="the parts to run (see the list above)")
    p.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                   help="cpu: run every part on the CPU instead of skipping it (to check "
                        "this script itself; timings mean nothing there)")
    p.add_argument("--budget-scale", type=float, default=1.0,
                   help="multiply every part's time budget (a slower GPU)")
    args = p.parse_args(argv)
    args.out = os.path.abspath(args.out)
    os.makedirs(args.out, exist_ok=True)
    results: Dict[str, Any] = {"cuda": cuda(), "tiny": args.tiny, "parts": {}}
    start = time.perf_counter()
    for name, budget, needs_cuda in PARTS:
        if name not in args.parts and name != "environment":
            continue
        seconds = budget * args.budget_scale
        if needs_cuda and not cuda() and args.device == "cuda":
            part: Dict[str, Any] = {"status": "skipped: no CUDA device"}
        else:
            t0 = time.perf_counter()
            try:
                part = FUNCTIONS[name](args, seconds)
            except Exception as e:  # one broken part must not cost the others their time
                part = {"status": f"failed: {type(e).__name__}: {e}".splitlines()[0]}
            part["seconds"] = time.perf_counter() - t0
        part["budget_s"] = seconds
        results["parts"][name] = part
        print(f"{name}: {part['status']} ({part.get('seconds', 0):.1f} s)", flush=True)
    results["seconds"] = time.perf_counter() - start
    from pyg_dss.io import atomic_write_json, atomic_write_text
    atomic_write_json(results, os.path.join(args.out, "gpu_check.json"))
    atomic_write_text(markdown(results), os.path.join(args.out, "gpu_check.md"))
    print(f"wrote {os.path.join(args.out, 'gpu_check.json')} and gpu_check.md")
    return results


if __name__ == "__main__":
    main()
