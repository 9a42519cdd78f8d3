#!/usr/bin/env bash
# Every GPU measurement in one call (see benchmarks/gpu_check.py): installs what
# is missing on a bare CUDA machine, then writes gpu_check/gpu_check.{json,md}.
#   bash benchmarks/gpu_check.sh [--tiny] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python -c "import torch, torch_geometric, trimesh, pytest, pyg_dss" 2>/dev/null; then
    python -m pip install --quiet -e ".[test]"
fi
exec python benchmarks/gpu_check.py "$@"
