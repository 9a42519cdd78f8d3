"""End-to-end checks of the examples with a tiny configuration (seconds):
the first-frame example in one process, resumed (exactly, even after kill -9
at several moments), under a 2-process torchrun (gloo), with missing DFAUST
files, bad options, planted or damaged files and non-finite data; the
variant comparison and when it may reuse a run."""
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import pyg_dss.frames.training as ffe  # the run behind the example
from pyg_dss.checkpoint import load_model
from pyg_dss.frames import FrameInputs
from pyg_dss.io import TEMP_PREFIX
from pyg_dss.nn import DSSNet
from pyg_dss.train import load_training_state

from test_io import Payload  # unpickling it writes a marker file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SCRIPT = EXAMPLES / "faust_first_frame.py"

TINY = ["--set-size", "3", "--epochs", "2", "--batch-size", "2", "--train-sets", "4",
        "--eval-sets", "4", "--hidden", "4,4", "--head-hidden", "4", "--no-progress"]
TIMEOUT = 150  # s; a hang fails the test instead of blocking CI


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    """One synthetic-data cache for every test of this module."""
    return str(tmp_path_factory.mktemp("synthetic"))


def _env():
    env = dict(os.environ)
    # Pinned, not a default: the in-process reference runs on one thread, and
    # results differ in the last digits with another thread count.
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _run(args, cwd, timeout=TIMEOUT):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=_env(), capture_output=True,
                          text=True, timeout=timeout)


def _check_outputs(out: Path, epochs: int, world_size: int = 1):
    for name in ("metrics.json", "epochs.jsonl", "learning_curve.png", "test_example.png",
                 "checkpoint.pt", "best_model.pt"):
        assert (out / name).is_file(), f"{name} missing in {sorted(os.listdir(out))}"
    metrics = json.loads((out / "metrics.json").read_text())
    assert math.isfinite(metrics["test_accuracy"]) and 0 <= metrics["test_accuracy"] <= 1
    assert -1 <= metrics["test_kendall_tau"] <= 1
    assert metrics["chance"] == pytest.approx(1 / 3)
    assert metrics["world_size"] == world_size
    assert [e["epoch"] for e in metrics["epochs"]] == list(range(1, epochs + 1))
    assert metrics["config"]["model"] == "dss-sum" and metrics["wall_time_s"] > 0
    log = [json.loads(line) for line in (out / "epochs.jsonl").read_text().splitlines()]
    assert log == metrics["epochs"]
    assert not [n for n in os.listdir(out) if n.startswith(TEMP_PREFIX)]
    return metrics


@pytest.mark.slow
def test_example_end_to_end_and_resume(tmp_path, data_root):
    out = tmp_path / "run"
    res = _run([str(SCRIPT), "--root", data_root, "--out", str(out), *TINY], cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "test accuracy" in res.stdout and "chance" in res.stdout
    _check_outputs(out, epochs=2)

    # Checkpoints hold only tensors and plain data: safe to load.
    ckpt = load_training_state(str(out / "checkpoint.pt"))
    assert ckpt["epoch"] == 1 and len(ckpt["history"]) == 2
    # The tested model rebuilds in one call, and says how to prepare inputs.
    model, best = load_model(str(out / "best_model.pt"))
    assert isinstance(model, DSSNet) and model.config["hidden"] == [4, 4]
    inputs = FrameInputs.from_dict(best["data"])
    assert (inputs.target, inputs.set_size, inputs.modality, inputs.normalize, inputs.scale,
            inputs.features, inputs.corresponded, inputs.knn) == (
        "first", 3, "mesh", "frame", False, ("pos",), True, None)

    # --resume continues from epoch 3 with the stored configuration (in process).
    assert ffe.main(["--out", str(out), "--resume", "--epochs", "3", "--no-progress"]) == 0
    metrics = _check_outputs(out, epochs=3)
    assert metrics["config"]["hidden"] == [4, 4]
    assert metrics["epochs"][:2] == json.loads(json.dumps(ckpt["history"]))


@pytest.mark.slow
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


@pytest.mark.slow
def test_compare_variants_tiny(tmp_path, data_root):
    def compare(args):
        res = _run([str(EXAMPLES / "compare_variants.py"), *args], cwd=tmp_path)
        return res.returncode, res.stdout, res.stderr

    out = tmp_path / "compare"
    args = ["--root", data_root, "--out", str(out), "--variants", "dss-sum", "siamese-ds",
            "--modalities", "mesh", "points", "--seeds", "0", *TINY]
    args[args.index("--epochs") + 1] = "1"
    code, _, err = compare(args)
    assert code == 0, err[-3000:]
    table = (out / "results.md").read_text()
    assert "DSS (sum)" in table and "Siamese + DeepSets" in table and "42.45" in table
    assert (out / "results.png").is_file()
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert len(runs) == 4 and all(math.isfinite(r["test_accuracy"]) for r in runs)
    assert not [n for n in os.listdir(out) if n.startswith(TEMP_PREFIX)]

    # The same sweep reuses every run; another number of epochs reuses none.
    one = ["--root", data_root, "--out", str(out), "--variants", "dss-sum",
           "--modalities", "mesh", "--seeds", "0", *TINY]
    one[one.index("--epochs") + 1] = "1"
    code, stdout, _ = compare(one)
    assert code == 0 and "reused" in stdout
    one[one.index("--epochs") + 1] = "2"
    code, stdout, _ = compare(one)
    assert code == 0 and "rerun, the finished run differs (epochs: 1 -> 2)" in stdout
    assert json.loads((out / "results.json").read_text())["runs"][0]["epochs"] == 2

    # A damaged metrics.json is named, not a JSONDecodeError.
    metrics = out / "mesh-dss-sum-seed0" / "metrics.json"
    metrics.write_text(metrics.read_text()[:100])
    code, _, err = compare(one)
    assert code == 2 and "Traceback" not in err
    assert f"error: The metrics file of a finished run '{metrics}' is not valid JSON" in err


# ------------------------------------------------------------ exact resume
# Runs the example in a subprocess that SIGKILLs itself at a chosen moment:
# "step N" just before its N-th optimizer step, "save NAME" halfway through
# its first write of file NAME.
KILLER = r"""
import os, signal, sys, torch
import pyg_dss.frames.training as ffe
import pyg_dss.io as io
kind, arg = sys.argv[1], sys.argv[2]
die = lambda: os.kill(os.getpid(), signal.SIGKILL)
if kind == "step":
    step, steps = torch.optim.Adam.step, []
    def step_or_die(self, *a, **k):
        steps.append(1)
        if len(steps) == int(arg):
            die()
        return step(self, *a, **k)
    torch.optim.Adam.step = step_or_die
elif kind == "save":
    write = io.atomic_write
    def write_or_die(path, fn, binary=True):
        if os.path.basename(path) == arg:
            def half(f):
                f.write(b"half a file"); f.flush(); die()
            return write(path, half, binary)
        return write(path, fn, binary)
    io.atomic_write = write_or_die
sys.exit(ffe.main(sys.argv[3:]))
"""
RESUME_CFG = dict(set_size=3, epochs=3, batch_size=2, train_sets=4, eval_sets=4,
                  hidden=(4, 4), head_hidden=(4,), plots=False)
NUMBERS = ("train_loss", "train_acc", "val_loss", "val_acc", "val_tau")


def _numbers(metrics):
    return ([[e[k] for k in ("epoch",) + NUMBERS] for e in metrics["epochs"]],
            [metrics[k] for k in ("test_accuracy", "test_kendall_tau", "test_loss",
                                  "best_epoch")])


@pytest.fixture
def one_thread():
    """The subprocesses run with OMP_NUM_THREADS=1: so does the reference."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_killed_runs_resume_exactly(tmp_path, data_root, capsys, one_thread):
    # The reference: one uninterrupted run (stdout is not a terminal here, so
    # it also shows the batch-job log: one plain line per epoch, no bars).
    ref = ffe.run(dict(RESUME_CFG, root=data_root, out=str(tmp_path / "ref")))
    out, err = capsys.readouterr()
    assert "\r" not in out + err
    lines = [line for line in out.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert lines[1].startswith(f"epoch 2/3  train loss {ref['epochs'][1]['train_loss']:.4f}")
    assert [json.loads(r) for r in (tmp_path / "ref" / "epochs.jsonl").read_text()
            .splitlines()] == ref["epochs"]

    run = tmp_path / "run"
    args = ["--root", data_root, "--out", str(run), "--set-size", "3", "--epochs", "3",
            "--batch-size", "2", "--train-sets", "4", "--eval-sets", "4", "--hidden", "4,4",
            "--head-hidden", "4", "--no-plots"]
    cache = Path(data_root) / "processed"
    cache_files = {n: os.stat(cache / n).st_mtime_ns for n in os.listdir(cache)}

    def killed(kind, arg, argv):
        return _run(["-c", KILLER, kind, arg, *argv], cwd=tmp_path)

    # Killed mid-epoch 2 (2 steps per epoch): epoch 1's checkpoint is the restart point.
    res = killed("step", "4", args)
    assert res.returncode == -signal.SIGKILL, res.stderr[-2000:]
    assert load_training_state(str(run / "checkpoint.pt"))["epoch"] == 0
    # Resumed, then killed halfway through writing epoch 2's checkpoint.
    res = killed("save", "checkpoint.pt", ["--out", str(run), "--resume"])
    assert res.returncode == -signal.SIGKILL, res.stderr[-2000:]
    assert [n for n in os.listdir(run) if n.startswith(TEMP_PREFIX)]  # left behind
    assert load_training_state(str(run / "checkpoint.pt"))["epoch"] == 0  # intact
    # Resumed to the end (here, in this process): the same numbers as the
    # uninterrupted run.
    capsys.readouterr()
    assert ffe.main(["--out", str(run), "--resume"]) == 0
    assert "Resuming after epoch 1." in capsys.readouterr().out
    got = json.loads((run / "metrics.json").read_text())
    assert _numbers(got) == _numbers(ref)
    assert not [n for n in os.listdir(run) if n.startswith(TEMP_PREFIX)]
    # The dataset cache was loaded, not rebuilt, by every process: its key is
    # stable across processes.
    assert {n: os.stat(cache / n).st_mtime_ns for n in os.listdir(cache)} == cache_files

    # A clean stop (2 epochs) resumed to 3: the same numbers again.
    ffe.run(dict(RESUME_CFG, root=data_root, out=str(tmp_path / "stop"), epochs=2))
    again = ffe.run(dict(out=str(tmp_path / "stop"), resume=True, epochs=3))
    assert _numbers(again) == _numbers(ref)

    # Options that differ from the stored run are named on one line.
    capsys.readouterr()
    assert ffe.main(["--out", str(run), "--resume", "--lr", "0.5", "--hidden", "8,8",
                     "--epochs", "3"]) == 0
    assert ("--resume keeps the stored run's configuration; ignored: lr=0.5 (kept 0.001), "
            "hidden=8,8 (kept 4,4). Start a new --out to change them.\n"
            in capsys.readouterr().out)


def test_planted_or_damaged_run_files_are_named(tmp_path, data_root, capsys):
    out = tmp_path / "run"
    ffe.run(dict(RESUME_CFG, root=data_root, out=str(out), epochs=1))
    marker = tmp_path / "pwned"
    checkpoint, best = (out / "checkpoint.pt").read_bytes(), (out / "best_model.pt").read_bytes()
    torch.save({"state_dict": Payload(str(marker))}, out / "checkpoint.pt")
    assert ffe.main(["--out", str(out), "--resume", "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert not marker.exists()
    assert f"error: Cannot load the checkpoint '{out / 'checkpoint.pt'}' safely" in err
    assert "Traceback" not in err
    # A truncated best_model.pt (what a kill mid-write left before atomic
    # writes): the error names it.
    (out / "checkpoint.pt").write_bytes(checkpoint)
    (out / "best_model.pt").write_bytes(best[: len(best) // 2])
    assert ffe.main(["--out", str(out), "--resume", "--epochs", "1"]) == 2
    assert f"model checkpoint '{out / 'best_model.pt'}'" in capsys.readouterr().err


def test_non_finite_training_input_stops_the_run(tmp_path, data_root, monkeypatch, capsys):
    make = ffe.make_datasets

    def poisoned(cfg):
        train, val, test = make(cfg)

        def poison(data):  # one set of epoch 2 gets a NaN coordinate
            if train.epoch == 1 and int(data.time.sum()) % 2 == 0:
                data.pos[0, 0] = float("nan")
            return data

        train.transform = poison
        return train, val, test

    monkeypatch.setattr(ffe, "make_datasets", poisoned)
    out = tmp_path / "run"
    code = ffe.main(["--root", data_root, "--out", str(out), *TINY])
    err = capsys.readouterr().err
    assert code == 1
    assert "error: NaN or inf in the input features at epoch 2, batch " in err
    assert "the run was stopped before the forward pass" in err
    # The last checkpoint (epoch 1) is clean and resumable.
    ckpt = load_training_state(str(out / "checkpoint.pt"))
    assert ckpt["epoch"] == 0
    assert all(bool(torch.isfinite(v).all()) for v in ckpt["state_dict"].values()
               if v.is_floating_point())


# ------------------------------------------------------- a user's own folder
def test_example_on_a_folder_of_meshes_with_worst_sets(tmp_path):
    from pyg_dss.frames import target_probabilities
    from test_folder_dataset import write_folder

    write_folder(tmp_path / "data", ".obj", num_frames=8)
    out = tmp_path / "mesh"
    assert ffe.main(["--dataset", "folder", "--root", str(tmp_path / "data"), "--out",
                     str(out), "--plot-worst", "2", *TINY]) == 0
    metrics = _check_outputs(out, epochs=2)
    assert (out / "test_worst.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert metrics["data"]["dataset"] == "folder" and metrics["data"]["base"] == "gcn"
    assert metrics["data"]["corresponded"] is True and metrics["data"]["min_gap"] == 1
    assert metrics["example"]["index"] == 0
    # The drawn sets are the two whose true first frame got the lowest probability.
    model, _ = load_model(str(out / "best_model.pt"))
    test_set = ffe.make_datasets(metrics["config"])[2]
    p = target_probabilities(model, test_set)
    worst = metrics["worst"]
    assert [w["index"] for w in worst] == sorted(range(len(p)), key=lambda i: (p[i], i))[:2]
    for w in worst:
        assert w["probabilities"][w["true"]] == pytest.approx(float(p[w["index"]]), abs=1e-4)


def test_example_on_a_folder_as_point_clouds_with_knn_base(tmp_path, capsys):
    from test_folder_dataset import write_folder

    write_folder(tmp_path / "data", ".ply", num_frames=8)
    out = tmp_path / "points"
    args = ["--dataset", "folder", "--root", str(tmp_path / "data"), "--out", str(out),
            "--modality", "points", "--base", "pointnet-knn", "--split-by", "sequence",
            "--min-gap", "2", "--window", "6", "--plot-worst", "0", *TINY]
    assert ffe.main(args) == 0
    metrics = _check_outputs(out, epochs=2)
    assert not (out / "test_worst.png").exists() and "worst" not in metrics
    assert metrics["data"] == {"dataset": "folder", "target": "first", "set_size": 3,
                               "split_by": "sequence", "min_gap": 2, "window": 6,
                               "modality": "points", "normalize": "frame", "scale": False,
                               "features": ["pos"], "corresponded": False,
                               "base": "pointnet-knn", "knn": ffe.KNN}
    model, _ = load_model(str(out / "best_model.pt"))
    assert model.config["base"] == "pointnet-knn"
    # --resume keeps the draw options of the stored run and says so.
    capsys.readouterr()
    assert ffe.main(["--out", str(out), "--resume", "--epochs", "3", "--min-gap", "1",
                     "--window", "4", "--no-progress"]) == 0
    assert "ignored: min_gap=1 (kept 2), window=4 (kept 6)" in capsys.readouterr().out
    metrics = _check_outputs(out, epochs=3)
    assert (metrics["data"]["min_gap"], metrics["data"]["window"]) == (2, 6)


def test_example_folder_usage_errors(tmp_path, capsys):
    import trimesh
    from test_folder_dataset import write_folder

    text = ffe.build_parser().format_help()
    for option in ("--base", "--split-by", "--min-gap", "--window", "--plot-worst", "folder",
                   "pointnet-knn"):
        assert option in text
    cases = [(["--dataset", "folder"], "--dataset folder needs --root DIR"),
             (["--dataset", "dfaust", "--body", "makehuman"],
              "it does not apply to --dataset dfaust"),
             (["--modality", "points", "--base", "gcn"], "--base gcn runs on mesh edges")]
    write_folder(tmp_path / "data", ".off", num_frames=5)
    trimesh.creation.icosphere(subdivisions=2).export(tmp_path / "data" / "bob_walk" / "f2.off")
    cases.append((["--dataset", "folder", "--root", str(tmp_path / "data")],
                  f"'{tmp_path / 'data' / 'bob_walk' / 'f2.off'}' has 162 vertices"))
    for args, message in cases:
        assert ffe.main([*args, "--out", str(tmp_path / "run"), *TINY]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_example_on_the_makehuman_body(tmp_path):
    """--body makehuman trains on the realistic body (1229 vertices), not the capsules."""
    out = tmp_path / "mh"
    assert ffe.main(["--body", "makehuman", "--root", str(tmp_path / "data"), "--out", str(out),
                     "--no-plots", *TINY]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["body"] == "makehuman"
    test_set = ffe.make_datasets(metrics["config"])[2]
    assert test_set[0].num_vertices == 1229


@pytest.mark.slow
def test_pyg_dss_train_then_predict(tmp_path, data_root):
    """``pyg-dss train`` is the example's run (same options and outputs), and
    ``pyg-dss predict`` runs what it wrote; a second run into the same
    folder needs --resume or --overwrite."""
    out = tmp_path / "run"
    res = _run(["-m", "pyg_dss", "train", "--root", data_root, "--out", str(out), *TINY],
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    _check_outputs(out, epochs=2)
    again = _run(["-m", "pyg_dss", "train", "--root", data_root, "--out", str(out), *TINY],
                 cwd=tmp_path)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert "holds a finished or interrupted run: add --resume" in again.stderr
    from pyg_dss.datasets import SyntheticBodies
    from test_predict import write_mesh

    seq = SyntheticBodies(data_root)[0]
    frames = [write_mesh(tmp_path / f"frame{t}.obj", seq.pos[t], seq.face.t().numpy())
              for t in (3, 0, 6)]
    res = _run(["-m", "pyg_dss", "predict", str(out / "best_model.pt"), *frames, "--json"],
               cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert len(json.loads(res.stdout)["probabilities"]) == 3
    helptext = _run(["-m", "pyg_dss", "train", "--help"], cwd=tmp_path).stdout
    assert "--overwrite" in helptext and "(default: 8)" in helptext
