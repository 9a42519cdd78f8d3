"""Every benchmark script starts and states its options (a script that no
longer imports after a refactor fails here, not in front of a user).  The
benchmarks themselves are run by hand: timings are not tests."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("*.py"))
# every script but measure.py (helpers, no options) states its defaults in --help
WITH_DEFAULTS = set(SCRIPTS) - {"measure.py"}


def test_every_script_is_listed():
    assert {"layers.py", "train_step.py", "subgraphs.py", "set_checks.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_starts(script):
    res = subprocess.run([sys.executable, script, "--help"], cwd=BENCHMARKS,
                         env=dict(os.environ, OMP_NUM_THREADS="1",  # this checkout's package
                                  PYTHONPATH=os.pathsep.join([str(BENCHMARKS.parent),
                                                              os.environ.get("PYTHONPATH", "")])),
                         capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "usage:" in res.stdout
    if script in WITH_DEFAULTS:
        assert "(default:" in res.stdout, res.stdout
