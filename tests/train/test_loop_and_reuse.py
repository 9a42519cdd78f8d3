"""The training loop, the checkpoint format and run reuse of pyg_dss.train."""
import json
import os

import pytest
import torch

from pyg_dss.nn import DSSNet
from pyg_dss.train import (TRAINING_KEYS, capture_rng_state, config_differences,
                           load_training_state, markdown_table, run_or_reuse,
                           save_training_state, train_epoch)


def step(model, batch):
    loss = (model(batch) - 1).pow(2).mean()
    return loss, {"loss": loss.item() * 4, "count": 4.0}


def test_train_epoch_sums_and_guards():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = [torch.randn(4, 3) for _ in range(3)]
    sums = train_epoch(model, batches, optimizer, step)
    assert sums["count"] == 12.0 and sums["loss"] > 0
    with pytest.raises(FloatingPointError, match="at epoch 2, batch 2"):
        train_epoch(model, [batches[0], batches[1] * float("nan")], optimizer, step, epoch=2)
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(FloatingPointError, match="input features at epoch 1, batch 1"):
        train_epoch(model, [batches[0] * float("inf")], optimizer, step,
                    check_batch=lambda b: bool(torch.isfinite(b).all()))
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_one_checkpoint_format(tmp_path):
    model = DSSNet(3, hidden=(4,), head_hidden=(4,))
    optimizer = torch.optim.Adam(model.parameters())
    path = str(tmp_path / "checkpoint.pt")
    save_training_state(path, model, optimizer, 0, [{"epoch": 1}], {"hidden": (4,)},
                        capture_rng_state(), 1.5, best={"epoch": 1})
    ckpt = load_training_state(path, ("best",))
    assert set(TRAINING_KEYS) <= set(ckpt) and ckpt["config"] == {"hidden": [4]}
    with pytest.raises(ValueError, match="has no 'scheduler' entry"):
        load_training_state(path, ("scheduler",))


def test_run_or_reuse_matches_the_whole_configuration(tmp_path, capsys):
    calls = []

    def run(cfg):
        calls.append(dict(cfg))
        os.makedirs(cfg["out"], exist_ok=True)
        metrics = {"config": {k: v for k, v in cfg.items()}, "value": len(calls)}
        with open(os.path.join(cfg["out"], "metrics.json"), "w") as f:
            json.dump(metrics, f)
        return metrics

    cfg = {"out": str(tmp_path / "a"), "lr": 0.1, "hidden": (4, 4)}
    assert run_or_reuse(cfg, run, {"epochs": 2})[1] == "new run"
    assert calls[-1]["overwrite"] is True and calls[-1]["resume"] is False
    metrics, done = run_or_reuse(dict(cfg, progress=False), run, {"epochs": 2})
    assert done.startswith("reused") and len(calls) == 1
    metrics, done = run_or_reuse(dict(cfg, epochs=3), run, {"epochs": 2})
    assert done == "rerun, the finished run differs (epochs: 2 -> 3)" and len(calls) == 2
    assert config_differences({"hidden": [4]}, {"hidden": (4,)}) == []
    assert markdown_table(["a", "b"], [["1"]]) == ["| a | b |", "|---|---|", "| 1 |  |"]
