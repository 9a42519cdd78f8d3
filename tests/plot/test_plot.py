"""Pictures of sets: what lands where in the figure, the scores behind the
worst-set picker, and the files written."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import trimesh
from torch_geometric.data import Data

from pyg_dss.data import SetData
from pyg_dss.frames import (FrameSets, plot_predictions, set_frames,
                            target_probabilities, worst_sets)
from pyg_dss.nn import DSSNet, set_log_softmax
from pyg_dss.plot import plot_learning_curve, plot_set, plot_sets
from pyg_dss.plot.frames import TRUE_COLOR


def body_frames(n: int = 4):
    """n frames of a tall ellipsoid (z up), stretched more in later frames."""
    m = trimesh.creation.icosphere(subdivisions=1)
    v = np.asarray(m.vertices) * [0.3, 0.2, 1.0]
    frames = np.stack([v * [1.0 + 0.2 * t, 1.0, 1.0] for t in range(n)])
    return frames, np.asarray(m.faces)


def panels(fig):
    """The frame panels of a figure, left to right (the bars are short)."""
    axes = [ax for ax in fig.axes if ax.get_position().height > 0.3]
    return sorted(axes, key=lambda ax: ax.get_position().x0)


def pixels(fig, ax):
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(float) / 255
    x0, y0, x1, y1 = ax.get_window_extent().extents.astype(int)
    h = image.shape[0]
    return image[h - y1:h - y0, x0:x1]


def green_fraction(fig, ax):
    p = pixels(fig, ax)
    # the true frame is drawn in TRUE_COLOR times a shade in [0.35, 1]
    hue = p / np.clip(p.sum(-1, keepdims=True), 1e-6, None)
    want = TRUE_COLOR / TRUE_COLOR.sum()
    return float((np.abs(hue - want).sum(-1) < 0.04).mean())


def test_time_order_true_and_predicted_marks():
    frames, faces = body_frames(4)
    rank = [2, 0, 3, 1]  # shown frame 1 is the earliest
    prob = [0.1, 0.2, 0.6, 0.1]
    fig = plot_set(frames, faces=faces, probabilities=prob, true=1, rank=rank, order="time")
    axes = panels(fig)
    assert len(axes) == 4
    # left to right in time: shown #1, #3, #0, #2
    labels = [t.get_text() for t in fig.texts if t.get_text().startswith("shown")]
    assert [int(s.split("#")[1].split()[0]) for s in labels] == [1, 3, 0, 2]
    assert "TRUE FIRST" in labels[0] and "PREDICTED" in labels[3]
    # the true frame (leftmost) is green, the others are not
    assert green_fraction(fig, axes[0]) > 0.05
    assert max(green_fraction(fig, ax) for ax in axes[1:]) < 0.001
    # the predicted one (shown #2, last in time) has the red outline
    outlined = [i for i, ax in enumerate(axes) if ax.patches]
    assert outlined == [3]
    # shown order keeps the input order
    fig = plot_set(frames, faces=faces, probabilities=prob, true=1, rank=rank, order="shown")
    labels = [t.get_text() for t in fig.texts if t.get_text().startswith("shown")]
    assert [int(s.split("#")[1].split()[0]) for s in labels] == [0, 1, 2, 3]
    matplotlib.pyplot.close("all")


def test_bodies_fill_their_panels_at_one_scale():
    frames, faces = body_frames(3)
    frames = frames + np.array([[[5.0, -3.0, 2.0]], [[0.0, 0.0, 0.0]], [[-4.0, 8.0, 1.0]]])
    fig = plot_set(frames, faces=faces, azim=-90.0, elev=0.0)  # looking along +y
    axes = panels(fig)
    for ax in axes:
        lo, hi = ax.get_ylim()
        # each frame is centred in its panel and the tallest nearly fills it
        (coll,) = ax.collections
        verts = np.concatenate([p.vertices for p in coll.get_paths()])
        assert abs(verts[:, 1].max() + verts[:, 1].min()) < 1e-6
        assert abs(verts[:, 0].max() + verts[:, 0].min()) < 1e-6
        assert (verts[:, 1].max() - verts[:, 1].min()) / (hi - lo) > 0.95
        # same scale: the widest frame (stretched in x) sets the x range
        assert ax.get_xlim()[1] == pytest.approx(0.3 * 1.4 * 1.04, rel=1e-3)
    matplotlib.pyplot.close("all")


def test_points_and_uncorresponded_frames(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.normal(size=(v, 3)) * [0.2, 0.2, 1.0] for v in (50, 80, 65)]
    path = tmp_path / "points.png"
    plot_sets([dict(frames=frames, probabilities=[0.2, 0.5, 0.3], title="scan"),
               dict(frames=frames[:2])], path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fig = plot_set(frames)
    sizes = [len(ax.collections[0].get_offsets()) for ax in panels(fig)]
    assert sizes == [50, 80, 65]
    matplotlib.pyplot.close("all")


@pytest.mark.parametrize("kwargs, message", [
    (dict(probabilities=[0.5, 0.5]), "2 probabilities for 4 frames"),
    (dict(rank=[0, 1, 1, 2]), "permutation"),
    (dict(true=4), "true must index"),
    (dict(order="random"), "order must be"),
    (dict(faces=np.array([[0, 1, 99]])), "faces index vertices up to 99"),
])
def test_bad_arguments_are_refused(kwargs, message):
    frames, faces = body_frames(4)
    with pytest.raises(ValueError, match=message):
        plot_set(frames, **kwargs)
    matplotlib.pyplot.close("all")


class MeanScore(torch.nn.Module):
    """Scores each element by the mean of its x: log-probabilities we can
    compute by hand."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(()))

    def forward(self, batch):
        counts = torch.bincount(batch.element_index).clamp_min(1)
        score = torch.zeros(counts.numel()).index_add_(0, batch.element_index, batch.x[:, 0])
        return set_log_softmax(score / counts + 0 * self.dummy, batch)


def scored_sets():
    """Sets of 2..4 one-node elements with known scores and targets."""
    rng = np.random.default_rng(3)
    sets, expected = [], []
    for i in range(9):
        n = 2 + i % 3
        s = rng.normal(size=n)
        y = int(rng.integers(n))
        el = [Data(x=torch.full((1, 3), float(v)), edge_index=torch.zeros(2, 0, dtype=torch.long))
              for v in s]
        d = SetData.from_elements(el, corresponded=False)
        d.y = torch.tensor([y])
        sets.append(d)
        expected.append(np.exp(s[y]) / np.exp(s).sum())
    return sets, np.array(expected)


def test_target_probabilities_and_worst_sets():
    sets, expected = scored_sets()
    p = target_probabilities(MeanScore(), sets, batch_size=4)
    np.testing.assert_allclose(p.numpy(), expected, rtol=1e-5)
    assert worst_sets(MeanScore(), sets, k=3, batch_size=2) == list(np.argsort(expected)[:3])


def test_plot_predictions_on_frame_sets(tmp_path):
    frames, faces = body_frames(12)
    seq = Data(pos=torch.tensor(frames, dtype=torch.float32), face=torch.tensor(faces.T),
               subject="s0", sequence="stretch")
    data = FrameSets([seq], num_frames=4, resample=False, num_sets=5, seed=1)
    data.sequences = [seq]  # as the split datasets keep them: the picture uses the faces
    torch.manual_seed(0)
    model = DSSNet(3, base="gcn", variant="dss-sum", hidden=(8,), head_hidden=(8,)).eval()
    path = tmp_path / "worst.png"
    worst = worst_sets(model, data, k=2)
    out = plot_predictions(model, data, worst, path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    p = target_probabilities(model, data)
    for row, index in zip(out, worst, strict=True):
        d = data[index]
        assert row["index"] == index and row["true"] == int(d.y)
        assert row["rank"] == d.rank.tolist()
        assert row["probabilities"][row["true"]] == pytest.approx(float(p[index]), abs=1e-4)
        assert row["predicted"] == int(np.argmax(row["probabilities"]))
    assert float(p[worst[0]]) == float(p.min())
    # frames of a set come back in element order
    d = data[0]
    assert torch.equal(torch.stack(set_frames(d)), d.pos.view(4, -1, 3))
    matplotlib.pyplot.close("all")


def test_learning_curve(tmp_path):
    history = [dict(epoch=e + 1, train_loss=2.0 - 0.3 * e, val_loss=2.1 - 0.2 * e,
                    train_acc=0.2 + 0.1 * e, val_acc=0.15 + 0.1 * e, val_tau=0.1 * e)
               for e in range(4)]
    path = tmp_path / "curve.png"
    fig = plot_learning_curve(history, chance=1 / 7)
    loss_ax, acc_ax = fig.axes
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), [2.0, 1.7, 1.4, 1.1])
    assert loss_ax.lines[2].get_ydata()[0] == pytest.approx(np.log(7))
    np.testing.assert_allclose(acc_ax.lines[1].get_ydata(), [0.15, 0.25, 0.35, 0.45])
    plot_learning_curve(history, chance=1 / 7, path=str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="empty"):
        plot_learning_curve([], chance=0.5)
    matplotlib.pyplot.close("all")
