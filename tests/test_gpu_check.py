"""benchmarks/gpu_check.py runs on a machine without CUDA: the CUDA parts
are skipped and both outputs (one JSON, one markdown) say so; the CPU host-read
count still runs."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only behaviour")
def test_gpu_check_on_cpu_skips_the_cuda_parts(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--tiny",
                          "--out", str(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    results = json.loads((tmp_path / "gpu_check.json").read_text())
    parts = results["parts"]
    assert results["cuda"] is False
    for name in ("cuda_tests", "train_step", "bf16", "subgraphs", "layers"):
        assert parts[name]["status"] == "skipped: no CUDA device"
    assert parts["environment"]["status"] == "ok"
    assert parts["host_syncs"]["results"]["cpu_host_reads"] == 2
    assert "no CUDA device" in parts["host_syncs"]["report"]
    table = (tmp_path / "gpu_check.md").read_text()
    assert "| train_step | skipped: no CUDA device |" in table
    assert "CUDA sync count skipped" in table
