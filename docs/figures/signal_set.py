"""One set of the paper's signal experiment: 25 measurements of one waveform
under heavy noise (sigma 3 for a unit amplitude). No single measurement shows
which waveform it is; the network has to combine the set."""
from pathlib import Path

from pyg_dss.datasets import WaveformSets
from pyg_dss.plot import plot_signal_set

sets = WaveformSets(num_sets=1, seed=0)
signals, label = sets[0]                                  # [25, 1, 100], class index
name = ("sine", "square", "sawtooth")[int(label)]         # the default classes, in order
out = Path(__file__).parent / "_out" / "signal_set.png"
plot_signal_set(signals, str(out), title=f"25 noisy measurements of one {name} wave", dpi=70)
