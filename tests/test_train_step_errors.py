"""benchmarks/train_step.py refuses sequences too short for its loader check
with one line (it raised an uncaught NoSequenceError before), before it
spends minutes on the timings."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_too_few_dfaust_frames_is_a_one_line_error():
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "train_step.py", "--dfaust-frames", "20", "--major",
                          "8", "--minor", "5", "--sets", "2", "--set-size", "3",
                          "--repeats", "1", "--warmup", "0"],
                         cwd=ROOT / "benchmarks", env=env, capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert "--dfaust-frames 20 is too few" in lines[0] and "31 frames" in lines[0]
