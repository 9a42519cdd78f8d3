"""The bags-of-subgraphs example end to end with tiny configurations
(seconds): CSL with cross-validation, an exact --resume after an
interruption, ZINC through PyG's loader on a fixture, and bad options."""
import json
import sys
from pathlib import Path

import pytest

from pyg_dss.checkpoint import load_model
from pyg_dss.nn import SubgraphGNN
from pyg_dss.train.state import EpochLog

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "subgraph_gnn.py"
sys.path.insert(0, str(SCRIPT.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import subgraph_gnn as example  # noqa: E402
from test_subgraph_bag import write_zinc_raw  # noqa: E402

TINY = ["--limit", "2", "--folds", "2", "--hidden", "4", "--layers", "2", "--batch-size", "4",
        "--eval-every", "1", "--no-progress"]


def test_csl_run_writes_every_output(tmp_path, capsys):
    out = tmp_path / "run"
    assert example.main(["--out", str(out), "--epochs", "2", "--policy", "ego_nets_plus",
                         "--num-hops", "1", *TINY]) == 0
    res = capsys.readouterr()
    assert "CSL test accuracy" in res.out and "published" in res.out
    assert "fold 1 epoch 2/2: train loss" in res.out  # plain lines: not a terminal
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


def test_resume_after_an_interruption_continues_exactly(tmp_path, monkeypatch):
    """Sampled bags (random every epoch) and shuffled batches: a run stopped in
    the middle of a fold and resumed logs exactly what an unbroken run logs."""
    args = ["--epochs", "2", "--model", "ds", "--policy", "node_deleted", "--fraction", "0.5",
            "--no-plots", *TINY]
    assert example.main(["--out", str(tmp_path / "whole"), *args]) == 0

    calls = {"n": 0}
    train_epoch = example.train_epoch

    def stop_in_the_second_fold(*a, **k):
        calls["n"] += 1
        if calls["n"] == 4:   # fold 1, epoch 2
            raise KeyboardInterrupt
        return train_epoch(*a, **k)

    monkeypatch.setattr(example, "train_epoch", stop_in_the_second_fold)
    with pytest.raises(KeyboardInterrupt):
        example.main(["--out", str(tmp_path / "broken"), *args])
    monkeypatch.setattr(example, "train_epoch", train_epoch)
    assert example.main(["--out", str(tmp_path / "broken"), "--resume", "--epochs", "2",
                         "--no-progress"]) == 0

    def logged(run):
        return [{k: v for k, v in r.items() if k != "seconds"}
                for r in EpochLog.read(str(tmp_path / run / "epochs.jsonl"))]
    assert logged("broken") == logged("whole") and len(logged("whole")) == 4
    whole = json.loads((tmp_path / "whole" / "metrics.json").read_text())
    broken = json.loads((tmp_path / "broken" / "metrics.json").read_text())
    assert broken["folds"] == whole["folds"]


def test_zinc_through_pygs_loader(tmp_path, capsys):
    write_zinc_raw(str(tmp_path / "zinc"))
    out = tmp_path / "zrun"
    assert example.main(["--dataset", "zinc", "--root", str(tmp_path / "zinc"), "--out",
                         str(out), "--epochs", "2", "--hidden", "8", "--layers", "2",
                         "--policy", "ego_nets_plus", "--num-hops", "2", "--batch-size", "2",
                         "--no-progress", "--no-plots"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_mae_mean"] > 0 and len(metrics["folds"]) == 1
    assert "0.102" in metrics["reference_published"]
    model, _ = load_model(str(out / "checkpoint.pt"))
    assert model.categorical and model.conv == "gine" and model.edge_dim == 4
    assert "ZINC test MAE" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--model", "gin", "--policy", "node_deleted"], "drop --policy"),
    (["--conv", "gine"], "no edge features"),
    (["--limit", "2", "--folds", "5"], "--folds 5"),
    (["--resume"], "no checkpoint"),
])
def test_bad_options_are_reported(tmp_path, capsys, argv, message):
    assert example.main(["--out", str(tmp_path / "x"), "--no-progress", *argv]) == 2
    assert message in capsys.readouterr().err


def test_resume_needs_the_run_folder(capsys):
    with pytest.raises(SystemExit) as exit_:
        example.main(["--resume"])
    assert exit_.value.code == 2 and "--resume needs --out" in capsys.readouterr().err
