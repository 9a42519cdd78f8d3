"""Predicting with a trained model on a user's files (``python -m pyg_dss
predict``, :mod:`pyg_dss.frames.predict`): the probabilities equal the model's own
output on the same set built by the dataset (FrameSets), for a checkpoint of
the example and for a point model with a k-NN graph; the order, the plot,
the JSON; and every refusal names what is wrong."""
import itertools
import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np
import pytest
import torch
import trimesh
from torch_geometric.data import Data

import pyg_dss.frames.training as ffe
from pyg_dss.__main__ import main
from pyg_dss.checkpoint import load_model, save_model
from pyg_dss.datasets import MeshFileError, SyntheticBodies
from pyg_dss.frames import FrameInputs, FrameSets, face_to_edge_index, frames_to_set
from pyg_dss.io import TEMP_PREFIX, UnreadableFileError
from pyg_dss.loader import SetDataLoader
from pyg_dss.nn import DSSNet
from pyg_dss.frames import PredictionError, predict_first_frame, read_frames
from pyg_dss.transforms import KNNSetGraph

ROOT = Path(__file__).resolve().parents[2]

SHOWN = [40, 5, 25]  # frame times, in the order given to the model: #1 is the first


def inputs(pos, face=None, **options):
    """The checkpoint 'data' entry of a model trained on the frames `pos`
    ([T, V, 3], or a list of [V_t, 3] scans), of a mesh when `face` [F, 3]."""
    pos = pos if isinstance(pos, list) else torch.as_tensor(pos, dtype=torch.float32)
    edges = None if face is None else face_to_edge_index(
        torch.as_tensor(face).t().contiguous(), pos.size(1))
    options = dict(dict(modality="mesh" if face is not None else "points", normalize="frame",
                        scale=False, features=("pos",), corresponded=True, target="first",
                        set_size=2, knn=None), **options)
    return FrameInputs.measure([pos], [edges], **options).to_dict()


def write_mesh(path, pos, face):
    trimesh.Trimesh(np.asarray(pos), np.asarray(face), process=False).export(str(path))
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The example's best_model.pt after one tiny epoch, the sequence it
    draws from, and three of its frames written as .obj files."""
    tmp = tmp_path_factory.mktemp("predict")
    torch.manual_seed(0)
    ffe.run(dict(root=str(tmp / "synthetic"), out=str(tmp / "run"), set_size=3, epochs=1,
                 batch_size=2, train_sets=4, eval_sets=4, hidden=(4, 4), head_hidden=(4,),
                 progress=False, plots=False))
    seq = SyntheticBodies(str(tmp / "synthetic"))[0]
    face = seq.face.t().numpy()
    files = [write_mesh(tmp / f"frame{t:03d}.obj", seq.pos[t], face) for t in SHOWN]
    return dict(checkpoint=str(tmp / "run" / "best_model.pt"), seq=seq, files=files, tmp=tmp)


def reference(model, sets_kwargs, seq, shown, transform=None):
    """The model's probabilities on the set of frames `shown` (in that order)
    built by the dataset path: FrameSets.make_set with the training options."""
    times = np.sort(shown)
    order = np.array([int(np.flatnonzero(times == t)[0]) for t in shown])
    sets = FrameSets([seq], num_frames=len(shown), transform=transform, **sets_kwargs)
    data = sets.make_set(0, times, order)
    model.eval()
    with torch.no_grad():
        return model(next(iter(SetDataLoader([data])))).exp()


def kendall_reference(scores, truth):
    """tau_b for untied values, pair by pair."""
    pairs = list(itertools.combinations(range(len(scores)), 2))
    agree = [np.sign(scores[i] - scores[j]) * np.sign(truth[i] - truth[j]) for i, j in pairs]
    return sum(agree) / len(pairs)


def test_cli_json_and_plot_match_the_dataset_path(trained):
    model, ckpt = load_model(trained["checkpoint"])
    opts = {k: ckpt["data"][k] for k in ("modality", "normalize", "scale", "features", "target")}
    ref = reference(model, opts, trained["seq"], SHOWN)
    plot = trained["tmp"] / "set.png"
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "-m", "pyg_dss", "predict", trained["checkpoint"],
                          *trained["files"], "--plot", str(plot), "--json"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout)
    assert out["files"] == trained["files"] and out["target"] == "first"
    assert torch.allclose(torch.tensor(out["probabilities"]), ref, rtol=1e-5, atol=1e-6)
    assert out["predicted"] == int(ref.argmax())
    assert out["predicted_file"] == trained["files"][int(ref.argmax())]
    assert out["ranking"] == torch.argsort(ref, descending=True, stable=True).tolist()
    assert out["notes"] == [] and out["correct"] is None  # trained on sets of 3, as here
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image
    h, w = matplotlib.image.imread(str(plot)).shape[:2]
    assert w > 600 and h > 300
    assert not [n for n in os.listdir(plot.parent) if n.startswith(TEMP_PREFIX)]


def test_function_text_output_and_true_order(trained, capsys):
    model, ckpt = load_model(trained["checkpoint"])
    opts = {k: ckpt["data"][k] for k in ("modality", "normalize", "scale", "features", "target")}
    ref = reference(model, opts, trained["seq"], SHOWN)
    result = predict_first_frame(trained["checkpoint"], trained["files"], device="cpu")
    torch.testing.assert_close(result.probabilities, ref)  # same process: the same numbers
    assert result.predicted == int(ref.argmax()) and result.kendall_tau is None

    # In true time order (t = 5, 25, 40): right or wrong, and Kendall tau.
    in_order = [trained["files"][k] for k in (1, 2, 0)]
    timed = predict_first_frame(model, in_order, data=ckpt["data"], in_time_order=True)
    p = timed.probabilities.tolist()
    torch.testing.assert_close(timed.probabilities, ref[[1, 2, 0]])
    assert timed.correct == (int(np.argmax(p)) == 0)
    assert timed.kendall_tau == pytest.approx(kendall_reference(p, [0, -1, -2]), abs=1e-6)

    assert main(["predict", trained["checkpoint"], *trained["files"]]) == 0
    text = capsys.readouterr().out
    rows = [line.split() for line in text.splitlines() if line.strip().endswith(".obj")
            or "<- predicted" in line]
    assert [float(r[1]) for r in rows] == [round(float(v), 4) for v in ref]
    assert "<- predicted first" in text.splitlines()[2 + int(ref.argmax())]
    order = " ".join(f"#{k}," for k in result.ranking).rstrip(",")
    assert f"predicted order (earliest first): {order}" in text


def test_point_model_with_knn_graph_and_other_set_size(tmp_path):
    """A points model (PointNetConv on a k-NN graph, target middle) trained on
    corresponded frames: .xyz files give the dataset path's numbers, for a
    set size other than training's (with a note)."""
    sphere = trimesh.creation.icosphere(subdivisions=1)
    pos = torch.stack([torch.tensor(sphere.vertices, dtype=torch.float32) *
                       torch.tensor([1.0, 1.0, 1.0 + 0.1 * t]) + 0.05 * t for t in range(8)])
    seq = Data(pos=pos, face=torch.as_tensor(sphere.faces.T.copy()))
    torch.manual_seed(1)
    model = DSSNet(3, "pointnet-knn", "dss-mean", hidden=(8, 8), head_hidden=(8,))
    data = inputs(pos, normalize="set", scale=True, target="middle", set_size=3, knn=4)
    save_model(tmp_path / "points.pt", model, data=data)
    shown = [6, 1, 3, 7]
    files = [str(tmp_path / f"scan{t}.xyz") for t in shown]
    for t, f in zip(shown, files, strict=True):
        np.savetxt(f, pos[t].numpy().astype(np.float64), fmt="%.9g")
    ref = reference(model, dict(modality="points", normalize="set", scale=True,
                                target="middle"), seq, shown, transform=KNNSetGraph(4))
    result = predict_first_frame(str(tmp_path / "points.pt"), files)
    torch.testing.assert_close(result.probabilities, ref)
    assert result.target == "middle" and result.predicted == int(ref.argmax())
    assert "trained on sets of 3 frames and sees 4" in result.notes[0]

    # Without its k the k-NN model cannot be fed as in training.
    save_model(tmp_path / "noknn.pt", model, data=dict(data, knn=None))
    with pytest.raises(PredictionError, match="pointnet-knn.*knn=None"):
        predict_first_frame(str(tmp_path / "noknn.pt"), files)
    # Frames with different numbers of points are not corresponded points.
    np.savetxt(files[2], pos[3, :-1].numpy(), fmt="%.9g")
    with pytest.raises(PredictionError, match="scan3.xyz' has 41 points"):
        predict_first_frame(str(tmp_path / "points.pt"), files)


def test_refusals_name_the_problem(tmp_path, capsys):
    sphere = trimesh.creation.icosphere(subdivisions=1)
    torch.manual_seed(0)
    model = DSSNet(3, "gcn", "dss-sum", hidden=(4,), head_hidden=(4,))
    data = inputs(np.stack([sphere.vertices, sphere.vertices * 1.1]), sphere.faces)
    ckpt = str(tmp_path / "mesh.pt")
    save_model(ckpt, model, data=data)
    a = write_mesh(tmp_path / "a.obj", sphere.vertices, sphere.faces)
    b = write_mesh(tmp_path / "b.off", sphere.vertices * 1.1, sphere.faces)

    def refused(error, match, checkpoint=ckpt, files=(a, b), **kwargs):
        with pytest.raises(error, match=match):
            predict_first_frame(checkpoint, list(files), **kwargs)

    assert len(predict_first_frame(ckpt, [a, b]).probabilities) == 2  # the good case runs

    # Not a pyg-dss checkpoint (a bare state_dict); no 'data'; 'data' lacking a key.
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    refused(UnreadableFileError, "not a pyg-dss model checkpoint", str(tmp_path / "bare.pt"))
    save_model(tmp_path / "nodata.pt", model)
    refused(PredictionError, r"no 'data' entry.*save_model\(path, model, data=",
            str(tmp_path / "nodata.pt"))
    save_model(tmp_path / "notarget.pt", model, data={k: v for k, v in data.items()
                                                      if k != "target"})
    refused(PredictionError, r"lacks \['target'\]", str(tmp_path / "notarget.pt"))
    save_model(tmp_path / "nofeat.pt", model, data=dict(data, features=None))
    refused(PredictionError, "features=None", str(tmp_path / "nofeat.pt"))
    refused(FileNotFoundError, "Checkpoint '.*missing.pt' does not exist",
            str(tmp_path / "missing.pt"))

    # Too few frames; a missing or damaged file.
    refused(PredictionError, "at least 2 frames to order; got 1 file", files=[a])
    refused(FileNotFoundError, "'.*nope.obj' does not exist", files=[a, tmp_path / "nope.obj"])
    (tmp_path / "bad.obj").write_text("v 0 0 0\nf 1 2 3\n")
    refused(MeshFileError, "bad.obj", files=[a, tmp_path / "bad.obj"])

    # Frames of another mesh: other vertex count, or same count other triangles.
    other = trimesh.creation.icosphere(subdivisions=2)
    c = write_mesh(tmp_path / "c.obj", other.vertices, other.faces)
    refused(PredictionError, "c.obj' has 162 vertices, but '.*a.obj' has 42", files=[a, c])
    faces = sphere.faces.copy()
    faces[0] = [faces[0][0], faces[0][1], next(v for v in range(42) if v not in faces[0])]
    d = write_mesh(tmp_path / "d.ply", sphere.vertices, faces)
    refused(PredictionError, "d.ply' has the same 42 vertices .* different triangles",
            files=[a, d])

    # Point clouds given to a mesh model (.xyz; a .ply without faces).
    np.savetxt(tmp_path / "e.xyz", sphere.vertices)
    refused(PredictionError, "e.xyz' is a point cloud .* trained on meshes",
            files=[a, tmp_path / "e.xyz"])
    trimesh.PointCloud(sphere.vertices).export(str(tmp_path / "f.ply"))
    refused(PredictionError, "f.ply' is a point cloud", files=[a, tmp_path / "f.ply"])

    # CUDA asked for without CUDA (with CUDA: the same numbers as on the CPU).
    if torch.cuda.is_available():
        torch.testing.assert_close(predict_first_frame(ckpt, [a, b], device="cuda")
                                   .probabilities, predict_first_frame(ckpt, [a, b])
                                   .probabilities)
    else:
        refused(PredictionError, "no CUDA device", device="cuda")

    refused(PredictionError, "Unknown device 'gpu'", device="gpu")

    # The command reports a refusal as one line and exit status 2.
    assert main(["predict", str(tmp_path / "nodata.pt"), a, b]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no 'data' entry" in err and "Traceback" not in err
    with pytest.raises(SystemExit):  # argparse: a set needs frames
        main(["predict", ckpt])


def test_read_frames_keeps_the_given_order(tmp_path):
    sphere = trimesh.creation.icosphere(subdivisions=1)
    files = [write_mesh(tmp_path / f"{name}.obj", sphere.vertices * s, sphere.faces)
             for name, s in (("z", 1.0), ("a", 2.0), ("m", 3.0))]
    frames = read_frames(files)
    assert frames.files == files and frames.pos.shape == (3, 42, 3)
    scale = frames.pos.norm(dim=-1).amax(dim=1)
    torch.testing.assert_close(scale, torch.tensor([1.0, 2.0, 3.0]))
    torch.testing.assert_close(frames.faces, torch.as_tensor(sphere.faces))


def test_console_script_is_declared():
    (script,) = entry_points(group="console_scripts", name="pyg-dss")
    assert script.value == "pyg_dss.__main__:main" and script.load() is main


def test_uncorresponded_point_model_takes_scans_of_different_sizes(tmp_path):
    """A model trained on scans without correspondence (FolderFrameSets with
    kind="points": data["corresponded"] is False) takes frames of different
    sizes, pooled as in training; the probabilities are the model's own."""
    g = torch.Generator().manual_seed(0)
    scans = [torch.randn(30 + 5 * t, 3, generator=g) * (1 + 0.2 * t) for t in range(3)]
    torch.manual_seed(2)
    model = DSSNet(3, "pointnet", "dss-sum", hidden=(8, 8), head_hidden=(8,)).eval()
    data = inputs(scans, set_size=3, corresponded=False)
    save_model(tmp_path / "scans.pt", model, data=data)
    files = [str(tmp_path / f"scan{t}.xyz") for t in range(3)]
    for scan, f in zip(scans, files, strict=True):
        np.savetxt(f, scan.numpy().astype(np.float64), fmt="%.9g")
    result = predict_first_frame(str(tmp_path / "scans.pt"), files)
    s = frames_to_set([torch.from_numpy(np.loadtxt(f)).float() for f in files],
                      corresponded=False)
    assert s.coverage == "pooled"
    with torch.no_grad():
        expected = model(next(iter(SetDataLoader([s], batch_size=1)))).view(-1).softmax(0)
    torch.testing.assert_close(result.probabilities, expected)


def test_refuses_what_the_model_cannot_judge(tmp_path, capsys):
    """The checkpoint's data entry records the training mesh and the size of
    the training frames: frames of another mesh, frames in other units (for
    a model that did not normalise the scale), non-finite weights, devices
    other than CPU / CUDA, a mistyped field and an entry of an older version
    are each refused in one line."""
    sphere = trimesh.creation.icosphere(subdivisions=1)
    torch.manual_seed(0)
    model = DSSNet(3, "gcn", "dss-sum", hidden=(4,), head_hidden=(4,))
    train = np.stack([sphere.vertices, sphere.vertices * 1.2])
    ckpt = str(tmp_path / "mesh.pt")
    save_model(ckpt, model, data=inputs(train, sphere.faces))
    a = write_mesh(tmp_path / "a.obj", sphere.vertices, sphere.faces)
    b = write_mesh(tmp_path / "b.obj", sphere.vertices * 1.1, sphere.faces)
    assert len(predict_first_frame(ckpt, [a, b]).probabilities) == 2

    def refused(match, checkpoint=ckpt, files=(a, b), **kwargs):
        with pytest.raises(PredictionError, match=match) as e:
            predict_first_frame(checkpoint, list(files), **kwargs)
        assert "\n" not in str(e.value)

    # Frames of another mesh (consistent among themselves): 162 vertices, or
    # the 42 vertices with other triangles.
    other = trimesh.creation.icosphere(subdivisions=2)
    c = [write_mesh(tmp_path / f"c{k}.obj", other.vertices * s, other.faces)
         for k, s in enumerate((1.0, 1.1))]
    refused("c0.obj' has 162 vertices, but .* trained on a mesh of 42", files=c)
    faces = sphere.faces.copy()
    faces[0] = [faces[0][0], faces[0][1], next(v for v in range(42) if v not in faces[0])]
    d = [write_mesh(tmp_path / f"d{k}.ply", sphere.vertices * s, faces)
         for k, s in enumerate((1.0, 1.1))]
    refused("d0.ply' has the 42 vertices of the training mesh .* other triangles", files=d)

    # The same frames in millimetres instead of metres: refused, unless the
    # model normalised the scale away (scale=True).
    mm = [write_mesh(tmp_path / f"mm{k}.obj", sphere.vertices * s * 1000, sphere.faces)
          for k, s in enumerate((1.0, 1.1))]
    refused(r"mm1.obj' has size 1100 .* training frames had 1 to 1.2: other units", files=mm)
    save_model(tmp_path / "scaled.pt", model, data=inputs(train, sphere.faces, scale=True))
    assert len(predict_first_frame(str(tmp_path / "scaled.pt"), mm).probabilities) == 2

    # Non-finite weights.
    broken = DSSNet(3, "gcn", "dss-sum", hidden=(4,), head_hidden=(4,))
    with torch.no_grad():
        next(broken.parameters())[0] = float("nan")
    save_model(tmp_path / "nan.pt", broken, data=inputs(train, sphere.faces))
    refused("non-finite weights .*NaN or inf in ", str(tmp_path / "nan.pt"))

    # Devices prediction does not run on.
    for device in ("mps", "meta", "xpu"):
        refused(f"device '{device}' is not supported for prediction", device=device)
        assert main(["predict", ckpt, a, b, "--device", device]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err

    # A field of the wrong type, and an entry of an older version.
    good = inputs(train, sphere.faces)
    for field, value, want in (("corresponded", "no", "true or false"),
                               ("scale", 1, "true or false"),
                               ("set_size", "7", "an integer"),
                               ("radius", [1.0], r"\[smallest, largest\]"),
                               ("topologies", [], "the fingerprints of the training meshes")):
        save_model(tmp_path / "typed.pt", model, data=dict(good, **{field: value}))
        refused(f"has {field}=.*; it must be {want}", str(tmp_path / "typed.pt"))
    old = {k: good[k] for k in ("modality", "normalize", "scale", "features", "target",
                                "set_size")}
    save_model(tmp_path / "old.pt", model, data=old)
    refused(r"lacks \['format', 'corresponded', .*predates the checks.*save_model\(path, "
            r"model, data=train_set.inputs", str(tmp_path / "old.pt"))
    with pytest.raises(ValueError, match="corresponded='no'"):
        FrameInputs.from_dict(dict(good, corresponded="no"))


def test_dataset_writes_the_inputs_predict_reads(tmp_path):
    """FrameSets.inputs records the options, the training mesh and the size
    of the frames; to_dict / from_dict round-trip through plain values."""
    seq = SyntheticBodies(str(tmp_path / "synthetic"))[0]
    sets = FrameSets([seq], num_frames=3, target="middle", normalize="set", scale=True)
    got = sets.inputs(knn=5)
    assert (got.modality, got.normalize, got.scale, got.features, got.corresponded) == (
        "mesh", "set", True, ("pos",), True)
    assert (got.target, got.set_size, got.knn, got.vertices) == ("middle", 3, 5, 452)
    assert len(got.topologies) == 1 and got.radius[0] <= got.radius[1]
    plain = json.loads(json.dumps(got.to_dict()))
    assert FrameInputs.from_dict(plain) == got
    assert sets.inputs(target="first").target == "first"
