"""Seven frames of a synthetic walking body, shuffled as the network sees them
(left), and the same frames in true time order with the first one marked."""
from pathlib import Path

import torch

from pyg_dss.datasets import make_sequence
from pyg_dss.plot import plot_sets

walk = make_sequence(subject=0, motion="walk", repeat=0, num_frames=48)  # pos [48, 452, 3]
times = torch.tensor([30, 6, 42, 18, 12, 36, 24])      # seven frames, shuffled
rank = times.argsort().argsort()                         # true position in time of each
out = Path(__file__).parent / "_out" / "frame_set.png"
plot_sets([dict(frames=walk.pos[times], faces=walk.face, rank=rank, order="shown"),
           dict(frames=walk.pos[times], faces=walk.face, rank=rank, true=int(rank.argmin()),
                order="time")],
          path=str(out), panel_height=1.6, dpi=70)
