"""The bags-of-subgraphs example end to end with tiny configurations
(seconds): CSL with cross-validation, an exact --resume after an
interruption, ZINC through PyG's loader on a fixture, and bad options."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyg_dss.checkpoint import load_model
from pyg_dss.nn import SubgraphGNN
from pyg_dss.train import EpochLog
from test_subgraph_bag import write_zinc_raw

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "subgraph_gnn.py"
TINY = ["--limit", "2", "--folds", "2", "--hidden", "4", "--layers", "2", "--batch-size", "4",
        "--eval-every", "1", "--no-progress"]
#: Runs the example with pyg_dss.train.train_epoch raising KeyboardInterrupt
#: (Ctrl-C) at its N-th call.
CTRL_C = r"""
import runpy, sys
import pyg_dss.train as train
calls, original, stop_at = [], train.train_epoch, int(sys.argv[1])
def interrupted(*a, **k):
    calls.append(1)
    if len(calls) == stop_at:
        raise KeyboardInterrupt
    return original(*a, **k)
train.train_epoch = interrupted
sys.argv = [sys.argv[2], *sys.argv[3:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""
pytestmark = pytest.mark.slow  # every test runs the example in a subprocess


def example(args, ctrl_c_at=None):
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    head = ["-c", CTRL_C, str(ctrl_c_at)] if ctrl_c_at else []
    return subprocess.run([sys.executable, *head, str(SCRIPT), *args], env=env,
                          capture_output=True, text=True, timeout=300)


def test_csl_run_writes_every_output(tmp_path):
    out = tmp_path / "run"
    res = example(["--out", str(out), "--epochs", "2", "--policy", "ego_nets_plus",
                   "--num-hops", "1", *TINY])
    assert res.returncode == 0, res.stderr[-3000:]
    assert "CSL test accuracy" in res.stdout and "published" in res.stdout
    assert "fold 1 epoch 2/2: train loss" in res.stdout  # plain lines: not a terminal
    for name in ("metrics.json", "epochs.jsonl", "learning_curve.png", "checkpoint.pt"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert [f["fold"] for f in metrics["folds"]] == [0, 1]
    accs = [f["test_accuracy"] for f in metrics["folds"]]
    assert metrics["test_accuracy_mean"] == pytest.approx(sum(accs) / 2)
    assert metrics["config"]["policy"] == "ego_nets_plus" and metrics["chance"] == 0.1
    records = EpochLog.read(str(out / "epochs.jsonl"))
    assert [(r["fold"], r["epoch"]) for r in records] == [(0, 1), (0, 2), (1, 1), (1, 2)]
    model, ckpt = load_model(str(out / "checkpoint.pt"))
    assert isinstance(model, SubgraphGNN) and model.policy_aware and model.variant == "dss"
    assert ckpt["fold"] == 1 and ckpt["epoch"] == 1


def test_resume_after_an_interruption_continues_exactly(tmp_path):
    """Sampled bags (random every epoch) and shuffled batches: a run stopped
    by Ctrl-C in the middle of a fold and resumed logs exactly what an
    unbroken run logs."""
    args = ["--epochs", "2", "--model", "ds", "--policy", "node_deleted", "--fraction", "0.5",
            "--no-plots", *TINY]
    assert example(["--out", str(tmp_path / "whole"), *args]).returncode == 0

    broken = str(tmp_path / "broken")
    res = example(["--out", broken, *args], ctrl_c_at=4)  # fold 1, epoch 2
    # One line that says how to continue, no traceback.
    assert res.returncode == 130 and "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[-1] == (
        f"interrupted; the last finished epoch is kept: add --resume --out {broken} to "
        "continue.")
    # Neither a rerun into the folder nor a second run while it is in use is silent.
    res = example(["--out", broken, *args])
    assert res.returncode == 2 and "holds a finished or interrupted run: add --resume" \
        in res.stderr
    assert example(["--out", broken, "--resume", "--epochs", "2",
                    "--no-progress"]).returncode == 0

    def logged(run):
        return [{k: v for k, v in r.items() if k != "seconds"}
                for r in EpochLog.read(str(tmp_path / run / "epochs.jsonl"))]
    assert logged("broken") == logged("whole") and len(logged("whole")) == 4
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    broken = json.loads((tmp_path / "broken" / "metrics.json").read_text())
    assert broken["folds"] == whole["folds"]


def test_zinc_through_pygs_loader(tmp_path):
    write_zinc_raw(str(tmp_path / "zinc"))
    out = tmp_path / "zrun"
    res = example(["--dataset", "zinc", "--root", str(tmp_path / "zinc"), "--out",
                   str(out), "--epochs", "2", "--hidden", "8", "--layers", "2",
                   "--policy", "ego_nets_plus", "--num-hops", "2", "--batch-size", "2",
                   "--no-progress", "--no-plots"])
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_mae_mean"] > 0 and len(metrics["folds"]) == 1
    assert "0.102" in metrics["reference_published"]
    model, _ = load_model(str(out / "checkpoint.pt"))
    assert model.categorical and model.conv == "gine" and model.edge_dim == 4
    assert "ZINC test MAE" in res.stdout


@pytest.mark.parametrize("argv, message", [
    (["--model", "gin", "--policy", "node_deleted"], "drop --policy"),
    (["--conv", "gine"], "no edge features"),
    (["--limit", "2", "--folds", "5"], "--folds 5"),
    (["--resume"], "no checkpoint"),
])
def test_bad_options_are_reported(tmp_path, argv, message):
    res = example(["--out", str(tmp_path / "x"), "--no-progress", *argv])
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


def test_resume_needs_the_run_folder():
    res = example(["--resume"])
    assert res.returncode == 2 and "--resume needs --out" in res.stderr
