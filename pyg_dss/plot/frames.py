r"""Pictures of sets of frames and of training runs (matplotlib, Agg backend).

* :func:`plot_set` draws one set from plain arrays (frames as meshes or
  points, probabilities, the true target and the true order when known), so
  it serves a user's own data as well as a dataset;
* :func:`plot_sets` stacks several sets, one row each;
* :func:`plot_learning_curve` draws the per-epoch history of a run.

Meshes are drawn as shaded triangles in an orthographic view (painter's
algorithm: triangles sorted back to front, Lambert shading from the viewing
direction), points as dots shaded by depth: crisp, fast, and the same look on
every machine. Every frame of a set is drawn at the same scale, each centred
in its panel, so the bodies fill their panels and sizes compare.
"""
from __future__ import annotations

import math
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
from torch import Tensor

__all__ = ["plot_set", "plot_sets", "plot_learning_curve"]

ORDERS = ("time", "shown")
#: Colours: an ordinary frame, the true target, the predicted one's outline.
FRAME_COLOR = np.array([0.55, 0.66, 0.80])
TRUE_COLOR = np.array([0.30, 0.69, 0.29])
PRED_EDGE = "#d62728"
#: Heights in inches of a row's parts: title and caption, labels, probability bar.
HEAD_IN, LABEL_IN, BAR_IN = 0.45, 0.62, 0.26
MIN_PANEL_IN = 1.55

Frames = Union[Tensor, np.ndarray, Sequence[Union[Tensor, np.ndarray]]]


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")  # files only: no display needed or used
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str, dpi: int) -> None:
    r"""Writes :obj:`fig` atomically (a killed run leaves the old file or
    none, never half a picture), in the format of the file's extension."""
    from pyg_dss.io import atomic_write

    fmt = os.path.splitext(path)[1][1:].lower() or "png"
    atomic_write(path, lambda f: fig.savefig(f, format=fmt, dpi=dpi))


def _as_frames(frames: Frames) -> List[np.ndarray]:
    if isinstance(frames, (Tensor, np.ndarray)):
        if frames.ndim != 3 or frames.shape[-1] != 3:
            raise ValueError(f"frames must be [n, V, 3] or a list of [V_k, 3], got shape "
                             f"{list(frames.shape)}.")
        frames = list(frames)
    out = []
    for k, f in enumerate(frames):
        f = f.detach().cpu().numpy() if isinstance(f, Tensor) else np.asarray(f)
        if f.ndim != 2 or f.shape[1] != 3 or len(f) == 0:
            raise ValueError(f"frame {k} must have shape [V, 3] with V > 0, got "
                             f"{list(f.shape)}.")
        out.append(f.astype(np.float64))
    if not out:
        raise ValueError("A set needs at least one frame.")
    return out


def _up_axis(frames: List[np.ndarray], up: Union[str, int]) -> int:
    if up == "auto":  # bodies stand upright: their longest extent is "up"
        ext = np.max([f.max(0) - f.min(0) for f in frames], axis=0)
        return int(ext.argmax())
    axes = {"x": 0, "y": 1, "z": 2}
    if isinstance(up, str) and up in axes:
        return axes[up]
    if up in (0, 1, 2):
        return int(up)
    raise ValueError(f"up must be 'auto', 'x', 'y' or 'z', got {up!r}.")


def _view(up: int, azim: float, elev: float) -> np.ndarray:
    r"""Rotation [3, 3] whose rows are the screen's right, up and the
    direction towards the viewer, for data with :obj:`up` as vertical axis."""
    a, b = [k for k in range(3) if k != up]
    base = np.zeros((3, 3))  # columns: data axes a, b, up -> x, y, z of a z-up frame
    base[0, a] = base[1, b] = base[2, up] = 1.0
    if np.linalg.det(base) < 0:
        base[1] *= -1.0
    az, el = math.radians(azim), math.radians(elev)
    toward = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    right = np.array([-math.sin(az), math.cos(az), 0.0])
    screen_up = np.cross(toward, right)
    return np.stack([right, screen_up, toward]) @ base


def _draw_frame(ax, xyz: np.ndarray, faces: Optional[np.ndarray], color: np.ndarray,
                half: np.ndarray, point_size: float) -> None:
    from matplotlib.collections import PolyCollection

    ax.set_xlim(-half[0], half[0])
    ax.set_ylim(-half[1], half[1])
    ax.set_aspect("equal")
    ax.set_axis_off()
    if faces is not None:
        tri = xyz[faces]  # [F, 3, 3] in view coordinates
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        norm = np.linalg.norm(normal, axis=1).clip(1e-12)
        # two-sided Lambert light from the viewer, so face winding does not matter
        shade = 0.35 + 0.65 * np.abs(normal[:, 2]) / norm
        order = np.argsort(tri[:, :, 2].mean(1))  # back to front
        colors = np.clip(color[None] * shade[order, None], 0, 1)
        ax.add_collection(PolyCollection(tri[order, :, :2], facecolors=colors,
                                         edgecolors=colors, linewidths=0.15))
    else:
        order = np.argsort(xyz[:, 2])
        depth = xyz[order, 2]
        span = max(float(depth.max() - depth.min()), 1e-12)
        shade = 0.45 + 0.55 * (depth - depth.min()) / span
        ax.scatter(xyz[order, 0], xyz[order, 1], s=point_size, c=np.clip(
            color[None] * shade[:, None], 0, 1), linewidths=0)


def _draw_row(fig, top: float, bottom: float, frames: List[np.ndarray],
              faces: Optional[np.ndarray], probabilities: Optional[np.ndarray],
              true: Optional[int], rank: Optional[np.ndarray], order: str, target: str,
              up: Union[str, int], azim: float, elev: float,
              point_size: Optional[float]) -> List[int]:
    n = len(frames)
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}.")
    if probabilities is not None and len(probabilities) != n:
        raise ValueError(f"{len(probabilities)} probabilities for {n} frames.")
    if rank is not None and sorted(int(r) for r in rank) != list(range(n)):
        raise ValueError(f"rank must be a permutation of 0..{n - 1}, got {list(rank)}.")
    if true is not None and not 0 <= true < n:
        raise ValueError(f"true must index one of the {n} frames, got {true}.")
    if order == "time" and rank is None:
        order = "shown"  # the true order is unknown: draw them as given
    columns = (list(range(n)) if order == "shown" or rank is None
               else [int(k) for k in np.argsort(rank)])
    pred = None if probabilities is None else int(np.argmax(probabilities))

    rot = _view(_up_axis(frames, up), azim, elev)
    views = [(f - 0.5 * (f.max(0) + f.min(0))) @ rot.T for f in frames]
    half = np.max([np.abs(v[:, :2]).max(0) for v in views], axis=0) * 1.04
    # Panels as tall as the row allows, as wide as the bodies need; under
    # each: its labels, then its probability bar (sizes in inches).
    fig_w, fig_h = fig.get_size_inches()
    label_h = (LABEL_IN + (BAR_IN if probabilities is not None else 0.0)) / fig_h
    body_h = top - bottom - label_h
    # at least MIN_PANEL_IN wide, so that the labels fit under slim bodies
    width = min(1.0 / n, max(body_h * fig_h / fig_w * half[0] / half[1], MIN_PANEL_IN / fig_w))
    if point_size is None:  # dots that cover a body without blotting it
        point_size = float(np.clip(4000.0 / np.mean([len(f) for f in frames]), 0.5, 12.0))
    left0 = 0.5 * (1.0 - n * width)
    for col, k in enumerate(columns):
        ax = fig.add_axes([left0 + col * width, bottom + label_h, width, body_h])
        color = TRUE_COLOR if k == true else FRAME_COLOR
        _draw_frame(ax, views[k], faces, color, half, point_size)
        if k == pred:
            ax.add_patch(_outline(ax))
        lines = [f"shown #{k}" + (f"   t-rank {int(rank[k])}" if rank is not None else "")]
        if true is not None:
            lines.append(f"TRUE {target.upper()}" if k == true else "")
        if probabilities is not None:
            lines.append(f"p = {probabilities[k]:.2f}" + ("  PREDICTED" if k == pred else ""))
        fig.text(left0 + (col + 0.5) * width, bottom + label_h - 0.04 / fig_h,
                 "\n".join(lines), ha="center", va="top", fontsize=9,
                 color=("#1a7f1a" if k == true else PRED_EDGE if k == pred else "black"))
        if probabilities is not None:  # the probability as a bar under the labels
            bar = fig.add_axes([left0 + (col + 0.12) * width, bottom + 0.06 / fig_h,
                                0.76 * width, 0.14 / fig_h])
            bar.barh([0], [probabilities[k]], color=TRUE_COLOR if k == true else
                     FRAME_COLOR * 0.8, height=1.0)
            bar.set_xlim(0, 1)
            bar.set_ylim(-0.5, 0.5)
            bar.set_xticks([]), bar.set_yticks([])
            for side in bar.spines.values():
                side.set_color(PRED_EDGE if k == pred else "0.6")
                side.set_linewidth(1.6 if k == pred else 0.6)
    return columns


def _outline(ax):
    from matplotlib.patches import Rectangle

    return Rectangle((0.01, 0.005), 0.98, 0.99, transform=ax.transAxes, fill=False,
                     edgecolor=PRED_EDGE, linewidth=2.2, clip_on=False)


def _caption(n: int, probabilities, true, rank, order: str, target: str) -> str:
    parts = []
    if rank is not None:
        parts.append("frames in true time order (left = earliest)" if order == "time" else
                     "frames in the order the network saw them")
    if true is not None:
        parts.append(f"green: the true {target} frame")
    if probabilities is not None:
        verdict = ""
        if true is not None:
            verdict = " (correct)" if int(np.argmax(probabilities)) == true else " (wrong)"
        parts.append(f"red box: predicted{verdict}; bars: probability of being the {target}")
    return "; ".join(parts)


def plot_set(frames: Frames, faces: Optional[Union[Tensor, np.ndarray]] = None,
             probabilities: Optional[Union[Tensor, np.ndarray, Sequence[float]]] = None,
             true: Optional[int] = None, rank: Optional[Sequence[int]] = None,
             order: str = "time", target: str = "first", title: Optional[str] = None,
             path: Optional[str] = None, up: Union[str, int] = "auto", azim: float = -60.0,
             elev: float = 12.0, panel_height: float = 3.2, point_size: Optional[float] = None,
             dpi: int = 110):
    r"""Draws one set of frames side by side.

    Args:
        frames: [n, V, 3] (frames of one mesh) or a list of [V_k, 3] (point
            clouds of any sizes), in the order the network saw them.
        faces: triangles [F, 3] (or [3, F]) shared by all frames: drawn as
            shaded meshes; :obj:`None` draws points.
        probabilities: per frame, the model's probability of being the
            target; the largest is marked as predicted (red box).
        true: index of the true target frame (green), if known.
        rank: true position in time of every frame (0 = earliest), if known.
        order: ``"time"`` (left to right in true time order, when
            :obj:`rank` is given) or ``"shown"`` (the order of :obj:`frames`).
        target: name of the target in the labels (``"first"``, ``"middle"``).
        title: text above the frames.
        path: if given, the PNG is written there.
        up: vertical axis of the data (``"auto"``: the longest extent).
        azim, elev: viewing direction in degrees around / above the up axis.
        panel_height: height of the frames in inches.
        point_size: dot area of points (default: from the number of points).

    Returns the :class:`matplotlib.figure.Figure`.
    """
    return plot_sets([dict(frames=frames, faces=faces, probabilities=probabilities, true=true,
                           rank=rank, order=order, target=target, title=title)],
                     path=path, up=up, azim=azim, elev=elev, panel_height=panel_height,
                     point_size=point_size, dpi=dpi)


def plot_sets(sets: Sequence[Dict[str, Any]], path: Optional[str] = None,
              up: Union[str, int] = "auto", azim: float = -60.0, elev: float = 12.0,
              panel_height: float = 3.2, point_size: Optional[float] = None, dpi: int = 110):
    r"""Draws several sets, one row each; every item of :obj:`sets` holds the
    per-set arguments of :func:`plot_set` (``frames``, and optionally
    ``faces``, ``probabilities``, ``true``, ``rank``, ``order``, ``target``,
    ``title``). Returns the figure (and writes it to :obj:`path`, atomically, if given)."""
    plt = _pyplot()
    if len(sets) == 0:
        raise ValueError("Nothing to draw: pass at least one set.")
    rows = []
    for s in sets:
        unknown = set(s) - {"frames", "faces", "probabilities", "true", "rank", "order",
                            "target", "title"}
        if unknown:
            raise ValueError(f"Unknown keys {sorted(unknown)} in a set to draw.")
        frames = _as_frames(s["frames"])
        faces = s.get("faces")
        if faces is not None:
            faces = np.asarray(faces.cpu() if isinstance(faces, Tensor) else faces)
            if faces.ndim == 2 and faces.shape[0] == 3 and faces.shape[1] != 3:
                faces = faces.T
            if faces.ndim != 2 or faces.shape[1] != 3:
                raise ValueError(f"faces must be [F, 3] or [3, F], got {list(faces.shape)}.")
            if any(len(f) != len(frames[0]) for f in frames):
                raise ValueError("faces need frames of one mesh (the same vertex count).")
            if faces.size and (faces.min() < 0 or faces.max() >= len(frames[0])):
                raise ValueError(f"faces index vertices up to {faces.max()}, but frames have "
                                 f"{len(frames[0])}.")
        prob = s.get("probabilities")
        if prob is not None:
            prob = np.asarray(prob.detach().cpu() if isinstance(prob, Tensor) else prob,
                              dtype=np.float64).reshape(-1)
        rank = s.get("rank")
        if rank is not None:
            rank = np.asarray(rank.cpu() if isinstance(rank, Tensor) else rank).reshape(-1)
        true = s.get("true")
        rows.append((frames, faces, prob, None if true is None else int(true), rank,
                     s.get("order", "time"), s.get("target", "first"), s.get("title")))
    n_max = max(len(r[0]) for r in rows)
    row_in = [HEAD_IN + panel_height + LABEL_IN + (BAR_IN if r[2] is not None else 0.0)
              for r in rows]
    fig_h = sum(row_in)
    fig = plt.figure(figsize=(max(1.9 * n_max, 8.0), fig_h))
    top = 1.0
    for row, h in zip(rows, row_in, strict=True):
        frames, faces, prob, true, rank, order, target, title = row
        bottom = top - h / fig_h
        caption = _caption(len(frames), prob, true, rank,
                           order if rank is not None else "shown", target)
        _draw_row(fig, top - HEAD_IN / fig_h, bottom, frames, faces, prob, true, rank, order,
                  target, up, azim, elev, point_size)
        text = "\n".join(t for t in (title, caption) if t)
        if text:
            fig.text(0.5, top - 0.04 / fig_h, text, ha="center", va="top", fontsize=10)
        top = bottom
    if path is not None:
        _save(fig, path, dpi)
        plt.close(fig)
    return fig


def plot_learning_curve(history: Sequence[Dict[str, float]], chance: float,
                        path: Optional[str] = None, title: str = "", dpi: int = 100):
    r"""Loss and accuracy per epoch. :obj:`history` holds one dict per epoch
    with ``epoch``, ``train_loss``, ``val_loss``, ``train_acc``, ``val_acc``
    and optionally ``val_tau`` (Kendall tau); :obj:`chance` is 1/n.
    Returns the figure (and writes it to :obj:`path`, atomically, if given)."""
    plt = _pyplot()
    if not history:
        raise ValueError("history is empty: nothing to plot.")
    if not 0 < chance <= 1:
        raise ValueError(f"chance must be in (0, 1], got {chance}.")
    epochs = [h["epoch"] for h in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.plot(epochs, [h["train_loss"] for h in history], "o-", label="train")
    ax1.plot(epochs, [h["val_loss"] for h in history], "s-", label="val")
    ax1.axhline(math.log(1.0 / chance), color="gray", ls="--", lw=1, label="chance")
    ax1.set_xlabel("epoch"), ax1.set_ylabel("NLL loss"), ax1.legend()
    ax2.plot(epochs, [h["train_acc"] for h in history], "o-", label="train accuracy")
    ax2.plot(epochs, [h["val_acc"] for h in history], "s-", label="val accuracy")
    low = 0.0
    if all("val_tau" in h for h in history):
        ax2.plot(epochs, [h["val_tau"] for h in history], "^:", label="val Kendall tau")
        low = min(0.0, *[h["val_tau"] for h in history])
    ax2.axhline(chance, color="gray", ls="--", lw=1, label=f"chance ({chance:.1%})")
    ax2.set_xlabel("epoch"), ax2.set_ylim(low, 1.0), ax2.legend(fontsize=8)
    for ax in (ax1, ax2):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    if path is not None:
        _save(fig, path, dpi)
        plt.close(fig)
    return fig
