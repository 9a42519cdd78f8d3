"""The bags-of-subgraphs example end to end with tiny configurations
(seconds): CSL with cross-validation, ESAN's CSL network, an exact --resume
after an interruption, ZINC through PyG's loader, EXP and SR25 on fixtures in
their real formats, and bad options."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from pyg_dss.checkpoint import load_model
from pyg_dss.nn import SubgraphGNN
from pyg_dss.train import EpochLog
from pyg_dss.nn.subgraph_gnn import ESANSubgraphGNN
from test_expressivity_datasets import K4, PETERSEN, cycle, write_graphsat
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


def test_esan_csl_network_with_its_bag_features(tmp_path):
    out = tmp_path / "esan"
    res = example(["--config", "esan", "--model", "ds", "--policy", "ego_nets_plus", "--out",
                   str(out), "--epochs", "1", "--limit", "2", "--folds", "2",
                   "--batch-size", "4", "--no-progress", "--no-plots"])
    assert res.returncode == 0, res.stderr[-3000:]
    assert "ds (ESAN csl) on csl" in res.stdout and "CSL test accuracy" in res.stdout
    model, ckpt = load_model(str(out / "checkpoint.pt"))
    # ESAN's CSL network: width 32, 4 layers, on one-hot degrees 0..5 of every subgraph.
    assert isinstance(model, ESANSubgraphGNN) and model.config_name == "csl"
    assert model.variant == "ds" and model.policy == "ego_nets_plus"
    assert (model.in_channels, model.out_channels, model.hidden, model.num_layers) == \
        (6, 10, 32, 4)
    assert ckpt["config"]["config"] == "esan" and ckpt["config"]["lr"] == 0.01
    assert ckpt["config"]["lr_step"] == 50


def test_exp_from_the_users_file(tmp_path):
    # C_2k (label 1) against two C_k (label 0): 2-regular both, 1-WL cannot tell them apart.
    graphs = []
    for k in range(3, 7):
        two = torch.cat([cycle(k), cycle(k) + k], 1)
        graphs += [(torch.zeros(2 * k, 1, dtype=torch.long), cycle(2 * k), torch.tensor([1])),
                   (torch.zeros(2 * k, 1, dtype=torch.long), two, torch.tensor([0]))]
    write_graphsat(tmp_path / "EXP" / "raw" / "GRAPHSAT.pkl", graphs)
    for config in ("default", "esan"):
        out = tmp_path / config
        res = example(["--dataset", "exp", "--root", str(tmp_path / "EXP"), "--config", config,
                       "--policy", "ego_nets_plus", "--out", str(out), "--epochs", "2",
                       "--folds", "2", "--hidden", "8", "--layers", "2", "--batch-size", "4",
                       "--no-progress", "--no-plots"])
        assert res.returncode == 0, res.stderr[-3000:]
        assert "EXP test accuracy" in res.stdout and "(chance 50%)" in res.stdout
        metrics = json.loads((out / "metrics.json").read_text())
        assert len(metrics["folds"]) == 2 and 0 <= metrics["test_accuracy_mean"] <= 1
        assert metrics["chance"] == 0.5 and "EXP accuracy 100 %" in metrics["reference_published"]
        model, _ = load_model(str(out / "checkpoint.pt"))
        assert model.out_channels == 1  # the logit of "satisfiable"
        assert isinstance(model, ESANSubgraphGNN) == (config == "esan")


def test_sr25_from_the_users_file(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "sr251256.g6").write_bytes(PETERSEN + b"\n" + K4 + b"\n")
    out = tmp_path / "run"
    res = example(["--dataset", "sr25", "--root", str(tmp_path), "--out", str(out),
                   "--epochs", "1", "--hidden", "4", "--layers", "2", "--no-progress",
                   "--no-plots"])
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["folds"]) == 1 and "SR25 test accuracy" in res.stdout


@pytest.mark.parametrize("argv, message", [
    (["--model", "gin", "--policy", "node_deleted"], "drop --policy"),
    (["--conv", "gine"], "no edge features"),
    (["--limit", "2", "--folds", "5"], "--folds 5"),
    (["--resume"], "no checkpoint"),
    (["--dataset", "exp", "--root", "/nonexistent/EXP"], "EXP needs GRAPHSAT.pkl"),
    (["--dataset", "sr25", "--root", "/nonexistent/SR25"], "SR25 needs sr251256.g6"),
    (["--dataset", "sr25", "--config", "esan"], "ESAN published no SR25"),
    (["--config", "esan", "--norm", "batch"], "drop --norm"),
    (["--dataset", "sr25", "--folds", "2"], "drop --folds"),
])
def test_bad_options_are_reported(tmp_path, argv, message):
    res = example(["--out", str(tmp_path / "x"), "--no-progress", *argv])
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_resume_needs_the_run_folder():
    res = example(["--resume"])
    assert res.returncode == 2 and "--resume needs --out" in res.stderr
