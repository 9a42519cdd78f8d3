#!/usr/bin/env bash
# Smoke test of an installed pyg-dss, run from outside the repository so that
# nothing but the installed package can be imported: the import, the commands,
# and a prediction from a checkpoint on frame files. Usage: smoke_wheel.sh DIR
# (an empty working folder); the python on PATH is the one that has the wheel.
set -euo pipefail
cd "$1"
python - <<'PY'
import sys
import pyg_dss
assert pyg_dss.__file__.startswith(sys.prefix), f"imported {pyg_dss.__file__}, not the wheel"
print("pyg-dss", pyg_dss.__version__, "from", pyg_dss.__file__)
PY
pyg-dss --help >/dev/null
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
# ---- the model to predict with ------------------------------------------------------------
# With `pyg-dss train`, replace the block below by these two lines:
#   pyg-dss train --epochs 1 --out run   (plus the options that make it tiny)
#   MODEL=run/best_model.pt
python - <<'PY'
from pyg_dss.checkpoint import save_model
from pyg_dss.nn import DSSNet
save_model("model.pt", DSSNet(3, base="gcn", variant="dss-sum"),
           data=dict(modality="mesh", normalize="frame", scale=False, features=["pos"],
                     target="first", set_size=7))
PY
MODEL=model.pt
# -------------------------------------------------------------------------------------------
pyg-dss predict "$MODEL" frames/*.obj --json > prediction.json
python -c "import json; p = json.load(open('prediction.json')); assert len(p['probabilities']) == 7, p"
pyg-dss predict "$MODEL" frames/*.obj --plot set.png
test -s set.png
echo "wheel smoke test passed"
