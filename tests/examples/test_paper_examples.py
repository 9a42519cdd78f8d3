"""The paper's grid experiments end to end, tiny (seconds each): every task
writes metrics.json, epochs.jsonl, a figure and a checkpoint; --resume
continues exactly; --compare writes the table; bad options are refused."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from test_paper_data import write_video

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "paper_grids.py"
TASKS = ("signals", "selection", "channels", "deblur", "frames")
pytestmark = pytest.mark.slow  # every test runs the example in a subprocess


class Result:
    def __init__(self, res: subprocess.CompletedProcess) -> None:
        self.code, self.out, self.err = res.returncode, res.stdout, res.stderr


def paper_grids(args) -> Result:
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return Result(subprocess.run([sys.executable, str(SCRIPT), *args], env=env,
                                 capture_output=True, text=True, timeout=300))

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
    assert ckpt["epoch"] == epochs - 1  # the last finished epoch, counted from 0
    return metrics


@pytest.mark.parametrize("task", TASKS)
def test_every_task_runs_end_to_end(task, tmp_path, video_root):
    out = tmp_path / task
    extra = ["--video-root", video_root] if task == "frames" else []
    res = paper_grids([task, "--out", str(out), *TINY, *TASK_OPTIONS[task], *extra])
    assert res.code == 0, res.err[-3000:]
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


def test_resume_continues_the_stored_run(tmp_path):
    out = str(tmp_path / "run")
    args = ["signals", "--out", out, "--lr", "0.002", *TINY, *TASK_OPTIONS["signals"]]
    assert paper_grids(args).code == 0
    first = json.loads(Path(out, "metrics.json").read_text())
    again = paper_grids(args)  # a finished run is not overwritten silently
    assert again.code == 2 and "add --resume to continue it, --overwrite" in again.err
    res = paper_grids(["signals", "--out", out, "--resume", "--epochs", "2", "--lr", "0.5"])
    assert res.code == 0 and "ignored: lr=0.5 (kept 0.002)" in res.out
    resumed = check_run(Path(out), "signals", epochs=2)
    assert resumed["epochs"][0] == first["epochs"][0]
    assert resumed["config"]["hidden"] == [2, 2]


def test_compare_writes_the_table(tmp_path):
    out = tmp_path / "cmp"
    args = ["signals", "--compare", "--variants", "dss-sum", "sridhar", "--out", str(out),
            *TINY, *TASK_OPTIONS["signals"]]
    assert paper_grids(args).code == 0
    table = (out / "results-signals.md").read_text()
    assert "| DSS (sum) |" in table and "| Sridhar et al. |" in table
    assert "| chance | 33.33 |" in table
    runs = json.loads((out / "signals" / "results.json").read_text())["runs"]
    assert [r["variant"] for r in runs] == ["dss-sum", "sridhar"]
    mtime = os.path.getmtime(out / "signals" / "dss-sum-seed0" / "metrics.json")
    assert paper_grids(args).code == 0  # finished runs are reused, not rerun
    assert os.path.getmtime(out / "signals" / "dss-sum-seed0" / "metrics.json") == mtime


@pytest.mark.parametrize("bad", [["signals", "--variant", "dss-median"], ["pointclouds"],
                                 ["signals", "--hidden", "a,b"], ["selection", "--level", "-3"],
                                 ["signals", "--epochs", "0"]])
def test_bad_options_are_refused(bad):
    res = paper_grids(bad)
    assert res.code == 2 and "error" in res.err


def test_missing_data_is_a_clear_error(tmp_path):
    res = paper_grids(["deblur", "--image-root", str(tmp_path / "none"),
                       "--out", str(tmp_path / "r"), *TINY])
    assert res.code == 2 and "No image folder" in res.err and "Traceback" not in res.err


PAPER_TINY = ["--config", "paper", "--epochs", "1", "--train-sets", "2", "--test-sets", "3",
              "--batch-size", "2"]


@pytest.mark.parametrize("task,size", [("signals", None), ("selection", 64), ("channels", 64),
                                       ("deblur", 128)])
def test_paper_config_trains_the_authors_network(task, size, tmp_path):
    out = tmp_path / task
    extra = ["--set-size", "2"] if task == "deblur" else []
    res = paper_grids([task, "--out", str(out), *PAPER_TINY, *extra])
    assert res.code == 0, res.err[-3000:]
    metrics = check_run(out, task)
    assert metrics["config"]["config"] == "paper" and metrics["config"]["size"] == size
    ckpt = torch.load(out / "checkpoint.pt", weights_only=True)
    assert ckpt["model_class"].startswith("Paper"), ckpt["model_class"]


@pytest.mark.parametrize("bad,message", [
    (["frames", "--config", "paper"], "no frame-ordering network"),
    (["selection", "--config", "paper", "--size", "32"], "--config paper fixes --size"),
    (["signals", "--config", "paper", "--variant", "dss-mean"], "not 'dss-mean'")])
def test_paper_config_refuses_what_it_cannot_build(bad, message, tmp_path):
    res = paper_grids([*bad, "--out", str(tmp_path / "r"), "--epochs", "1"])
    assert res.code == 2 and message in res.err and "Traceback" not in res.err, res.err


def test_device_option_and_accuracy_printed_in_percent(tmp_path):
    out = tmp_path / "cpu"
    res = paper_grids(["signals", "--device", "cpu", "--out", str(out), *TINY,
                       *TASK_OPTIONS["signals"]])
    assert res.code == 0, res.err[-3000:]
    accuracy = json.loads((out / "metrics.json").read_text())["test"]["accuracy"]
    assert f"accuracy (%) {100 * accuracy:.4g}" in res.out, res.out
    cuda = paper_grids(["signals", "--device", "cuda", "--out", str(tmp_path / "gpu"), *TINY,
                        *TASK_OPTIONS["signals"]])
    if torch.cuda.is_available():
        assert cuda.code == 0, cuda.err[-3000:]
    else:
        assert cuda.code == 2 and "no CUDA device" in cuda.err, cuda.err


def test_compare_table_shows_the_published_numbers(tmp_path):
    out = tmp_path / "cmp"
    res = paper_grids(["selection", "--compare", "--variants", "dss-sum", "--out", str(out),
                       *TINY, *TASK_OPTIONS["selection"]])
    assert res.code == 0, res.err[-3000:]
    table = (out / "results-selection.md").read_text()
    assert "published: noise 30, accuracy %" in table
    row = next(line for line in table.splitlines() if line.startswith("| DSS (sum) |"))
    assert row.endswith("| 68.35 ± 0.55 |")
    assert "| chance | 33.33 |" in table and table.count("| 5 |") == 1
    assert "not expected to match the published values" in table


def test_compare_reuses_finished_paper_runs(tmp_path):
    args = ["signals", "--compare", "--variants", "dss-sum", "--out", str(tmp_path), *PAPER_TINY]
    assert paper_grids(args).code == 0
    again = paper_grids(args)
    assert again.code == 0 and "reused" in again.out and "rerun" not in again.out, again.out
