#!/usr/bin/env bash
# Smoke test of an installed pyg-dss, run from outside the repository so that
# nothing but the installed package can be imported: the import, the commands'
# help, a tiny `pyg-dss train`, and `pyg-dss predict` on its model with frame
# files it writes itself. Usage: smoke_wheel.sh DIR (an empty working folder);
# the python on PATH is the one that has the wheel.
set -euo pipefail
cd "$1"
python - <<'PY'
import sys
import pyg_dss
assert pyg_dss.__file__.startswith(sys.prefix), f"imported {pyg_dss.__file__}, not the wheel"
print("pyg-dss", pyg_dss.__version__, "from", pyg_dss.__file__)
PY
pyg-dss --help >/dev/null
pyg-dss train --help >/dev/null
pyg-dss predict --help >/dev/null
# seven frames of a held-out synthetic body, as a user's files
python - <<'PY'
import os
import trimesh
from pyg_dss.datasets import make_sequence
walk = make_sequence(5, "walk", 0, num_frames=48)
os.makedirs("frames", exist_ok=True)
for t in (30, 6, 42, 18, 12, 36, 24):
    trimesh.Trimesh(walk.pos[t].numpy(), walk.face.t().numpy(), process=False).export(
        f"frames/t{t:03d}.obj")
PY
# a tiny training run on the built-in synthetic bodies (one epoch, a few sets, small widths;
# the data cache goes into this folder, not the user's), then predictions from its model
pyg-dss train --epochs 1 --train-sets 16 --eval-sets 8 --batch-size 8 --hidden 8,8 \
    --head-hidden 8 --no-plots --root "$PWD/data" --out "$PWD/run" > train.log
test -s run/metrics.json
MODEL=run/best_model.pt
pyg-dss predict "$MODEL" frames/*.obj --json > prediction.json
python -c "import json; p = json.load(open('prediction.json')); assert len(p['probabilities']) == 7, p"
pyg-dss predict "$MODEL" frames/*.obj --plot set.png
test -s set.png
echo "wheel smoke test passed"
