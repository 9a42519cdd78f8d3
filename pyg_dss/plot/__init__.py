r"""Pictures (matplotlib, Agg backend, written atomically): sets of frames as
meshes or points with a model's probabilities (:func:`plot_set`,
:func:`plot_sets`) and the learning curve of a run
(:func:`plot_learning_curve`); sets of signals and images
(:func:`plot_signal_set`, :func:`plot_image_set`). Pictures of a model's predictions on a
frame-ordering dataset: :func:`pyg_dss.frames.plot_predictions`."""
from .frames import plot_learning_curve, plot_set, plot_sets
from .grid import plot_image_set, plot_signal_set

__all__ = ["plot_set", "plot_sets", "plot_learning_curve", "plot_signal_set", "plot_image_set"]
