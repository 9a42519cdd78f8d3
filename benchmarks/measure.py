"""Measuring helpers shared by the benchmarks: interleaved timing, per-round
ratios, and the peak memory of one step."""
from __future__ import annotations

import gc
import statistics
import time
from typing import Callable, Dict, List

import torch


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def interleaved(steps: Dict[str, Callable[[], None]], repeats: int, warmup: int,
                device: str) -> Dict[str, List[float]]:
    """Seconds per call of every step, round-robin: every round runs each
    step once, so a load change on the machine hits all of them alike."""
    times: Dict[str, List[float]] = {k: [] for k in steps}
    for rep in range(warmup + repeats):
        for k, step in steps.items():
            sync(device)
            t0 = time.perf_counter()
            step()
            sync(device)
            if rep >= warmup:
                times[k].append(time.perf_counter() - t0)
    return times


def ratio(times: Dict[str, List[float]], a: str, b: str) -> float:
    """Median over rounds of time(a) / time(b), both from the same round."""
    return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))


def status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def peak_mb(step: Callable[[], None], device: str) -> float:
    """Peak memory of one call of ``step`` (after a warm-up call) above what
    is already held: ``max_memory_allocated`` on CUDA, the rise of the
    resident-set high-water mark (``VmHWM``, reset through
    ``/proc/self/clear_refs``) on CPU."""
    step()
    gc.collect()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        before = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        step()
        torch.cuda.synchronize()
        return (torch.cuda.max_memory_allocated() - before) / 2**20
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    before = status_kb("VmRSS")
    step()
    return (status_kb("VmHWM") - before) / 1024


def publish(text: str, results: dict, json_path) -> None:
    """Prints the report and, if asked, writes the raw results as JSON."""
    import json
    print(text)
    if json_path:
        with open(json_path, "w") as f:
            json.dump({**results, "table": text}, f, indent=1)


if __name__ == "__main__":
    import argparse

    argparse.ArgumentParser(
        description=__doc__.replace("\n", " ") + " It measures nothing by itself: the "
        "benchmarks import it (layers.py, train_step.py, set_checks.py, subgraphs.py).",
    ).parse_args()
    print("measure.py holds helpers; run one of the benchmarks, e.g. "
          "python benchmarks/layers.py --help")
