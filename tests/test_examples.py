"""End-to-end checks of the examples with a tiny configuration (seconds):
the first-frame example in one process, resumed, under a 2-process torchrun
(gloo), with missing DFAUST files and bad options; the variant comparison."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCRIPT = EXAMPLES / "faust_first_frame.py"
sys.path.insert(0, str(EXAMPLES))

import faust_first_frame as ffe  # noqa: E402

TINY = ["--set-size", "3", "--epochs", "2", "--batch-size", "2", "--train-sets", "4",
        "--eval-sets", "4", "--hidden", "4,4", "--head-hidden", "4", "--no-progress"]
TIMEOUT = 150  # s; a hang fails the test instead of blocking CI


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """One synthetic-data cache for every test of this module."""
    return str(tmp_path_factory.mktemp("synthetic"))


def _env():
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _run(args, cwd, timeout=TIMEOUT):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


def _check_outputs(out: Path, epochs: int, world_size: int = 1):
    for name in ("metrics.json", "learning_curve.png", "test_example.png", "checkpoint.pt",
                 "best_model.pt"):
        assert (out / name).is_file(), f"{name} missing in {sorted(os.listdir(out))}"
    metrics = json.loads((out / "metrics.json").read_text())
    assert math.isfinite(metrics["test_accuracy"]) and 0 <= metrics["test_accuracy"] <= 1
    assert -1 <= metrics["test_kendall_tau"] <= 1
    assert metrics["chance"] == pytest.approx(1 / 3)
    assert metrics["world_size"] == world_size
    assert [e["epoch"] for e in metrics["epochs"]] == list(range(1, epochs + 1))
    assert metrics["config"]["model"] == "dss-sum" and metrics["wall_time_s"] > 0
    return metrics


def test_example_end_to_end_and_resume(tmp_path, data_root):
    out = tmp_path / "run"
    res = _run([str(SCRIPT), "--root", data_root, "--out", str(out), *TINY], cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "test accuracy" in res.stdout and "chance" in res.stdout
    _check_outputs(out, epochs=2)

    # Checkpoints hold only tensors and plain data: safe to load.
    ckpt = ffe.load_checkpoint(str(out / "checkpoint.pt"))
    assert ckpt["epoch"] == 1 and len(ckpt["history"]) == 2
    torch.load(out / "best_model.pt", weights_only=True)

    # --resume continues from epoch 3 with the stored configuration (in process).
    assert ffe.main(["--out", str(out), "--resume", "--epochs", "3", "--no-progress"]) == 0
    metrics = _check_outputs(out, epochs=3)
    assert metrics["config"]["hidden"] == [4, 4]
    assert metrics["epochs"][:2] == json.loads(json.dumps(ckpt["history"]))


def test_torchrun_two_processes(tmp_path, data_root):
    out = tmp_path / "ddp"
    args = list(TINY)
    args[args.index("--eval-sets") + 1] = "5"  # uneven shards: 3 sets on rank 0, 2 on rank 1
    res = _run(["-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
                str(SCRIPT), "--root", data_root, "--out", str(out), "--device", "cpu",
                *args], cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = _check_outputs(out, epochs=2, world_size=2)
    assert metrics["num_test_sets"] == 5  # every test set counted exactly once


def test_missing_dfaust_exits_2_with_message(tmp_path, capsys):
    # In process (the script ends with sys.exit(main())): saves an interpreter start.
    code = ffe.main(["--dataset", "dfaust", "--root", str(tmp_path / "dfaust"),
                     "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err
    assert code == 2
    assert "registrations_m.hdf5" in err and "dfaust.is.tue.mpg.de" in err
    assert "Traceback" not in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("bad", [["--model", "gin"], ["--modality", "voxels"],
                                 ["--dataset", "faust"], ["--device", "tpu"],
                                 ["--set-size", "1"], ["--hidden", "a,b"]])
def test_bad_option_values_are_refused(bad, capsys):
    with pytest.raises(SystemExit) as e:
        ffe.build_parser().parse_args(bad)
    assert e.value.code == 2
    assert "error" in capsys.readouterr().err


def test_help_explains_the_options():
    text = ffe.build_parser().format_help()
    for option in ("--dataset", "--root", "--modality", "--model", "--target", "--set-size",
                   "--epochs", "--batch-size", "--lr", "--seed", "--device", "--out",
                   "--resume"):
        assert option in text


def test_compare_variants_tiny(tmp_path, data_root):
    import compare_variants

    out = tmp_path / "compare"
    args = ["--root", data_root, "--out", str(out), "--variants", "dss-sum", "siamese-ds",
            "--modalities", "mesh", "points", "--seeds", "0", *TINY]
    args[args.index("--epochs") + 1] = "1"
    assert compare_variants.main(args) == 0
    table = (out / "results.md").read_text()
    assert "DSS (sum)" in table and "Siamese + DeepSets" in table and "42.45" in table
    assert (out / "results.png").is_file()
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert len(runs) == 4 and all(math.isfinite(r["test_accuracy"]) for r in runs)
