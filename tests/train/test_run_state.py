"""Run bookkeeping: RNG states round-trip through a safe checkpoint, the
epoch log never holds half a line, the non-finite guard names where."""
import random

import numpy as np
import pytest
import torch

from pyg_dss.io import atomic_torch_save, safe_torch_load
from pyg_dss.train import (EpochLog, NonFiniteLossError, capture_rng_state, check_finite,
                          interactive, kept_options_message, restore_rng_state)


def draws(g):
    return (random.random(), float(np.random.rand()), float(torch.rand(())),
            float(torch.rand((), generator=g)))


def test_rng_state_round_trip_through_safe_checkpoint(tmp_path):
    g = torch.Generator().manual_seed(5)
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    draws(g)
    state = capture_rng_state(g)
    atomic_torch_save({"rng": state}, str(tmp_path / "c.pt"))
    expected = [draws(g) for _ in range(3)]
    random.seed(9), np.random.seed(9), torch.manual_seed(9), g.manual_seed(9)
    restore_rng_state(safe_torch_load(str(tmp_path / "c.pt"))["rng"], g)
    assert [draws(g) for _ in range(3)] == expected
    with pytest.raises(ValueError, match="1 generator"):
        restore_rng_state(state)


def test_epoch_log_rewrites_whole_lines(tmp_path):
    path = str(tmp_path / "log.jsonl")
    log = EpochLog(path)
    log.append({"epoch": 1, "loss": 0.5})
    log.append({"epoch": 2, "loss": 0.25})
    assert EpochLog.read(path) == [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25}]
    EpochLog(path, records=EpochLog.read(path)[:1])  # a resume from epoch 1
    assert EpochLog.read(path) == [{"epoch": 1, "loss": 0.5}]
    with pytest.raises(ValueError):
        log.append({"epoch": 3, "loss": float("nan")})  # strict JSON
    (tmp_path / "log.jsonl").write_text('{"epoch": 1}\n{"epo')
    with pytest.raises(ValueError, match=r"Line 2 of '.*log\.jsonl'"):
        EpochLog.read(path)


def test_check_finite_names_epoch_and_batch():
    check_finite(torch.tensor(1.5), 1, 1)
    with pytest.raises(NonFiniteLossError, match="nan at epoch 3, batch 7"):
        check_finite(torch.tensor(float("nan")), 3, 7)
    with pytest.raises(NonFiniteLossError, match="inf at epoch 1, batch 0"):
        check_finite(torch.tensor(float("inf")), 1, 0)


def test_kept_options_message_and_interactive(tmp_path):
    stored = {"lr": 0.001, "hidden": [4, 4], "epochs": 2}
    assert kept_options_message(stored, {"lr": 0.001, "hidden": (4, 4)}, ["lr", "hidden"]) is None
    msg = kept_options_message(stored, {"lr": 0.01, "hidden": (8, 8)}, ["lr", "hidden"])
    assert msg == ("--resume keeps the stored run's configuration; ignored: lr=0.01 (kept "
                   "0.001), hidden=8,8 (kept 4,4). Start a new --out to change them.")
    with open(tmp_path / "out.txt", "w") as f:
        assert not interactive(f)
