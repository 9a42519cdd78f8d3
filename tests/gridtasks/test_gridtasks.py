"""The grid experiments as package tasks: options of the two configurations,
the authors' networks on the paper's data settings, metrics and the results
table with the published numbers beside ours."""
import pytest
import torch

from pyg_dss.datasets import grid_task_dataset
from pyg_dss.gridtasks import (HEADLINES, PUBLISHED, best_assignment, grid_results_table,
                               grid_task_loss, grid_task_metrics, grid_task_model, psnr,
                               task_config)


def test_paper_config_fixes_the_authors_settings():
    cfg = task_config({"task": "selection", "config": "paper", "epochs": 2})
    assert (cfg["size"], cfg["set_size"], cfg["epochs"]) == (64, 20, 2)
    assert task_config({"task": "deblur", "config": "paper"})["size"] == 128
    assert task_config({"task": "signals"})["config"] == "default"
    with pytest.raises(ValueError, match="fixes --hidden, --kernel-size"):
        task_config({"task": "channels", "config": "paper", "hidden": [4], "kernel_size": 5})
    with pytest.raises(ValueError, match="no frame-ordering network"):
        task_config({"task": "frames", "config": "paper"})
    with pytest.raises(ValueError, match="config must be one of"):
        task_config({"task": "signals", "config": "theirs"})


def test_paper_signals_data_and_network():
    cfg = task_config({"task": "signals", "config": "paper"})
    data = grid_task_dataset(cfg, "test", 4, seed=0)
    x, y = data[0]
    assert tuple(x.shape) == (25, 1, 100)
    model = grid_task_model(cfg, 1).eval()
    assert type(model).__name__ == "PaperSignalNet"
    batch = [torch.stack([data[i][0] for i in range(4)]), torch.stack([data[i][1]
                                                                      for i in range(4)])]
    out = model(batch[0])
    assert tuple(out.shape) == (4, 3)
    assert torch.isfinite(grid_task_loss("signals", out, batch))
    assert grid_task_metrics("signals", out, batch)["accuracy"].shape == (4,)


def test_paper_channels_network_is_scored_per_element():
    cfg = task_config({"task": "channels", "config": "paper", "variant": "dss-max"})
    torch.manual_seed(0)
    x = torch.rand(2, 3, 1, 64, 64)
    y = torch.tensor([[2, 0, 1], [0, 1, 2]])
    model = grid_task_model(cfg, 1).eval()
    out = model(x)
    assert tuple(out.shape) == (2, 3, 3, 64, 64)
    loss = grid_task_loss("channels", out, [x, y])
    assert torch.isfinite(loss)
    perm = torch.tensor([1, 2, 0])  # the set order does not change the per-element answers
    again = grid_task_metrics("channels", model(x[:, perm]), [x[:, perm], y[:, perm]])
    first = grid_task_metrics("channels", out, [x, y])
    assert torch.allclose(again["mae"], first["mae"], atol=1e-4)


def test_best_assignment_and_psnr():
    log_probs = torch.log(torch.tensor([[[0.1, 0.8, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1]]]))
    assert best_assignment(log_probs).tolist() == [[1, 2, 0]]  # all different colours
    a = torch.zeros(1, 3, 4, 4)
    assert torch.allclose(psnr(a, a + 0.1), torch.tensor([20.0]), atol=1e-4)
    assert HEADLINES["deblur"][:2] == ("mae", False)  # the paper's measure is an error


def _record(task, variant, value, config, **test):
    return {"task": task, "variant": variant, "seed": 0, "config": config,
            "test": {HEADLINES[task][0]: value, **test}, "chance": None,
            "num_test_sets": 8, "parameters": 10, "wall_time_s": 1.0}


def test_results_table_marks_the_published_numbers():
    cfg = task_config({"task": "deblur", "config": "paper"})
    records = [_record("deblur", v, m, cfg, baseline_mae=3.0, psnr=30.0, baseline_psnr=31.0)
               for v, m in (("dss-sum", 4.0), ("sridhar", 9.0))]
    table = grid_results_table("deblur", records, "python examples/paper_grids.py deblur")
    head = table.splitlines()[2]
    assert "ours: mean absolute error (0-255)" in head and "published: ImageNet, error" in head
    sridhar = next(line for line in table.splitlines() if line.startswith("| Sridhar"))
    assert sridhar.startswith("| Sridhar et al. | 9.00 ± 0.00 |")
    assert sridhar.endswith(f"| {PUBLISHED['deblur']['ImageNet']['sridhar']} |")
    trivial = next(line for line in table.splitlines() if line.startswith("| mean of the"))
    assert "| 3.00 |" in trivial and "| 31.00 |" in trivial and trivial.endswith("| 16.75 |")
    assert "authors' networks (`--config paper`)" in table and "not the values" in table
    signals = task_config({"task": "signals"})
    table = grid_results_table("signals", [_record("signals", "dss-sum", 0.5, signals)], "cmd")
    assert "published" not in table.splitlines()[2] and "No published numbers" in table


def test_chance_sits_in_the_accuracy_column_and_references_where_they_belong():
    cfg = task_config({"task": "channels"})
    record = dict(_record("channels", "dss-sum", 2.0, cfg, accuracy=0.5, baseline_mae=15.0),
                  chance=1 / 6)
    lines = grid_results_table("channels", [record], "cmd").splitlines()
    trivial = next(line for line in lines if line.startswith("| grayscale"))
    chance = next(line for line in lines if line.startswith("| chance"))
    assert trivial.startswith("| grayscale prediction (trivial) | 15.00 |")
    assert trivial.endswith("| 14.68 | 18.72 |")  # the published trivial prediction
    assert chance.startswith("| chance |  | 16.67 |") and "14.68" not in chance
