r"""Sets of noisy 1D signals (Maron et al., ICML 2020, Section 6.1): every
set holds ``set_size`` noisy measurements of one waveform, and the task is
to name the waveform.

Fully synthetic, generated in memory from a seed (nothing on disk).  The
generator follows the authors' published one: on ``length`` samples of
:math:`t \in [0, 1]`, a waveform :math:`w` of frequency :math:`f \sim
U[1, 10]` and phase :math:`\phi \sim U[0, 1]`, amplitude :math:`a \sim
U[1, 10]` and offset :math:`c \sim U[-5, 5]` drawn once per set, and each
element

.. math::
    \mathbf{x}_i = c + a\,\big(w(2\pi f (t + \phi)) + \boldsymbol{\epsilon}_i\big),
    \qquad \boldsymbol{\epsilon}_i \sim \mathcal{N}(0, \sigma^2 I),\ \sigma = 3,

so a single element is mostly noise and the set must be looked at as a whole.
"""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["WAVEFORMS", "PAPER_SIGNAL_SPLITS", "WaveformSets"]

#: Sets per split in the authors' generator (train, validation, test).
PAPER_SIGNAL_SPLITS: Dict[str, int] = {"train": 3000, "val": 300, "test": 300}


def _sawtooth(theta: np.ndarray) -> np.ndarray:
    return 2.0 * np.mod(theta / (2 * np.pi), 1.0) - 1.0


#: Waveforms by name, each a function of the phase angle with period 2 pi.
WAVEFORMS: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sine": np.sin,
    "square": lambda theta: np.where(np.mod(theta, 2 * np.pi) < np.pi, 1.0, -1.0),
    "sawtooth": _sawtooth,
    "triangle": lambda theta: 2.0 * np.abs(_sawtooth(theta)) - 1.0,
}


class WaveformSets(Dataset):
    r"""Sets of noisy measurements of one waveform; the label is the waveform.

    Args:
        num_sets: number of sets.
        set_size: elements per set (paper: 25).
        length: samples per element (paper: 100).
        noise: standard deviation :math:`\sigma` of the per-element noise,
            relative to the waveform's unit amplitude (paper: 3).
        waveforms: the classes, names from :data:`WAVEFORMS` (the authors'
            generator: sine, square, sawtooth).
        seed: the whole dataset is a function of the seed.

    Item ``i``: ``(x, y)`` with ``x`` ``[set_size, 1, length]`` float32 and
    ``y`` the class index (long).
    """
    def __init__(self, num_sets: int, set_size: int = 25, length: int = 100,
                 noise: float = 3.0, waveforms: Sequence[str] = ("sine", "square", "sawtooth"),
                 seed: int = 0) -> None:
        super().__init__()
        unknown = [w for w in waveforms if w not in WAVEFORMS]
        if unknown or len(waveforms) < 2:
            raise ValueError(f"waveforms must name at least two of {sorted(WAVEFORMS)}, got "
                             f"{list(waveforms)}.")
        if num_sets < 1 or set_size < 1 or length < 2 or noise < 0:
            raise ValueError("num_sets and set_size must be >= 1, length >= 2, noise >= 0.")
        self.waveforms = tuple(waveforms)
        rng = np.random.default_rng(seed)
        y = rng.integers(0, len(waveforms), num_sets)
        freq = rng.uniform(1, 10, (num_sets, 1, 1))
        phase = rng.uniform(0, 1, (num_sets, 1, 1))
        amplitude = rng.uniform(1, 10, (num_sets, 1, 1))
        offset = rng.uniform(-5, 5, (num_sets, 1, 1))
        eps = rng.normal(0.0, noise, (num_sets, set_size, length))
        theta = 2 * np.pi * freq * (np.linspace(0, 1, length)[None, None, :] + phase)
        clean = np.zeros((num_sets, 1, length))
        for k, name in enumerate(self.waveforms):
            clean[y == k] = WAVEFORMS[name](theta[y == k])
        self.clean = torch.from_numpy(offset + amplitude * clean).float()  # [S, 1, L]
        self.x = torch.from_numpy(offset + amplitude * (clean + eps)).float().unsqueeze(2)
        self.y = torch.from_numpy(y).long()

    @classmethod
    def paper(cls, split: str = "train", num_sets: Optional[int] = None,
              seed: int = 0) -> "WaveformSets":
        r"""The authors' data: sets of 25 signals of 100 samples, noise
        :math:`\sigma = 3`, sine / square / sawtooth, and their split sizes
        (:data:`PAPER_SIGNAL_SPLITS`; ``num_sets`` overrides it).  Each split
        draws from its own seed, so the splits never share a set; for
        ``GridSetNet.paper("signals", variant)``."""
        if split not in PAPER_SIGNAL_SPLITS:
            raise ValueError(f"split must be one of {tuple(PAPER_SIGNAL_SPLITS)}, got "
                             f"{split!r}.")
        count = PAPER_SIGNAL_SPLITS[split] if num_sets is None else num_sets
        return cls(count, set_size=25, length=100, noise=3.0,
                   waveforms=("sine", "square", "sawtooth"),
                   seed=seed * len(PAPER_SIGNAL_SPLITS) + list(PAPER_SIGNAL_SPLITS).index(split))

    def __len__(self) -> int:
        return self.y.numel()

    def __getitem__(self, index: int) -> Tuple[Tensor, Tensor]:
        return self.x[index], self.y[index]

    @property
    def num_classes(self) -> int:
        return len(self.waveforms)

    def __repr__(self) -> str:
        num_sets, set_size, _, length = self.x.shape
        return (f"{self.__class__.__name__}({num_sets} sets of {set_size} x {length}, "
                f"waveforms={list(self.waveforms)})")
