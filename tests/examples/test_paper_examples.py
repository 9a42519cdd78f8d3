"""The paper's grid experiments end to end, tiny (seconds each): every task
writes metrics.json, epochs.jsonl, a figure and a checkpoint; --resume
continues exactly; --compare writes the table; bad options are refused."""
import json
import math
import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

import paper_grids  # noqa: E402
from test_paper_data import write_video  # noqa: E402

TINY = ["--epochs", "1", "--train-sets", "4", "--test-sets", "3", "--batch-size", "2",
        "--hidden", "2,2"]
TASK_OPTIONS = {"signals": ["--set-size", "3", "--length", "16"],
                "selection": ["--set-size", "3", "--size", "12"],
                "channels": ["--size", "12"],
                "deblur": ["--set-size", "2", "--size", "12"],
                "frames": ["--set-size", "3", "--size", "12", "--gap", "1"]}


@pytest.fixture(scope="module")
def video_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("videos")
    write_video(str(root / "square.mp4"), frames=16, height=16, width=24)
    return str(root)


def check_run(out: Path, task: str, epochs: int = 1) -> dict:
    for name in ("metrics.json", "epochs.jsonl", "example.png", "checkpoint.pt"):
        assert (out / name).is_file(), f"{task}: {name} missing"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == task and len(metrics["epochs"]) == epochs
    assert all(math.isfinite(v) for v in metrics["test"].values())
    assert metrics["num_test_sets"] == 3
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)  # plain data only
    assert ckpt["epoch"] == epochs
    return metrics


@pytest.mark.parametrize("task", paper_grids.TASKS)
def test_every_task_runs_end_to_end(task, tmp_path, video_root):
    out = tmp_path / task
    extra = ["--video-root", video_root] if task == "frames" else []
    assert paper_grids.main([task, "--out", str(out), *TINY, *TASK_OPTIONS[task],
                             *extra]) == 0
    metrics = check_run(out, task)
    test = metrics["test"]
    if task == "channels":
        assert test["baseline_mae"] > 0 and 0 <= test["accuracy"] <= 1
    elif task == "deblur":
        assert test["baseline_psnr"] > 10 and "psnr" in test
    else:
        assert 0 <= test["accuracy"] <= 1
    if task == "frames":
        assert -1 <= test["kendall_tau"] <= 1


def test_resume_continues_the_stored_run(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["signals", "--out", out, "--lr", "0.002", *TINY, *TASK_OPTIONS["signals"]]
    assert paper_grids.main(args) == 0
    first = json.loads(Path(out, "metrics.json").read_text())
    assert paper_grids.main(["signals", "--out", out, "--resume", "--epochs", "2",
                             "--lr", "0.5"]) == 0
    assert "ignored: lr=0.5 (kept 0.002)" in capsys.readouterr().out
    resumed = check_run(Path(out), "signals", epochs=2)
    assert resumed["epochs"][0] == first["epochs"][0]
    assert resumed["config"]["hidden"] == [2, 2]


def test_compare_writes_the_table(tmp_path):
    out = tmp_path / "cmp"
    args = ["signals", "--compare", "--variants", "dss-sum", "sridhar", "--out", str(out),
            *TINY, *TASK_OPTIONS["signals"]]
    assert paper_grids.main(args) == 0
    table = (out / "results-signals.md").read_text()
    assert "| DSS (sum) |" in table and "| Sridhar et al. |" in table
    assert "| chance | 33.33 |" in table
    runs = json.loads((out / "signals" / "results.json").read_text())["runs"]
    assert [r["variant"] for r in runs] == ["dss-sum", "sridhar"]
    mtime = os.path.getmtime(out / "signals" / "dss-sum-seed0" / "metrics.json")
    assert paper_grids.main(args) == 0  # finished runs are reused, not rerun
    assert os.path.getmtime(out / "signals" / "dss-sum-seed0" / "metrics.json") == mtime


@pytest.mark.parametrize("bad", [["signals", "--variant", "dss-median"], ["pointclouds"],
                                 ["signals", "--hidden", "a,b"], ["selection", "--level", "-3"],
                                 ["signals", "--epochs", "0"]])
def test_bad_options_are_refused(bad, capsys):
    with pytest.raises(SystemExit) as e:
        paper_grids.build_parser().parse_args(bad)
    assert e.value.code == 2 and "error" in capsys.readouterr().err


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    code = paper_grids.main(["deblur", "--image-root", str(tmp_path / "none"),
                             "--out", str(tmp_path / "r"), *TINY])
    assert code == 2 and "No image folder" in capsys.readouterr().err
