r"""Pictures (matplotlib, Agg backend, written atomically): sets of frames as
meshes or points with a model's probabilities (:func:`plot_set`,
:func:`plot_sets`) and the learning curve of a run
(:func:`plot_learning_curve`). Pictures of a model's predictions on a
frame-ordering dataset: :func:`pyg_dss.frames.plot_predictions`."""
from .frames import plot_learning_curve, plot_set, plot_sets

__all__ = ["plot_set", "plot_sets", "plot_learning_curve"]
