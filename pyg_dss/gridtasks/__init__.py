r"""The paper's grid experiments as tasks (Maron et al., ICML 2020, Section
6): waveform classification (``"signals"``), highest-quality image
selection (``"selection"``), colour-channel matching (``"channels"``),
burst deblurring (``"deblur"``) and video frame ordering (``"frames"``).

Per task: its options (:func:`task_config`, ``config="default"`` or the
authors' ``"paper"``), network and loss (:func:`grid_task_model`,
:func:`grid_task_loss`), metrics (:func:`grid_task_metrics`,
:func:`evaluate_grid_task`), a training run (:func:`run_grid_task`), a
figure (:func:`plot_grid_task_example`) and the comparison of variants with
the published numbers beside ours (:func:`compare_grid_task`,
:func:`grid_results_table`).  The data come from
:func:`pyg_dss.datasets.grid_task_dataset`.

May import :mod:`pyg_dss.nn`, :mod:`pyg_dss.datasets`, :mod:`pyg_dss.plot`,
:mod:`pyg_dss.train`; nothing in the package imports it.
"""
from .comparison import compare_grid_task, grid_results_table
from .config import (COMMON_DEFAULTS, CONFIGS, KEPT_ON_RESUME, PAPER_SETTINGS, TASK_DEFAULTS,
                     task_config)
from .figures import plot_grid_task_example
from .metrics import (HEADLINES, best_assignment, chance_level, evaluate_grid_task,
                      grid_task_metrics, psnr)
from .models import colour_logits, grid_task_loss, grid_task_model
from .published import PAPER_CITATION, PUBLISHED, published_columns
from .training import TEST_SEED, run_grid_task

__all__ = [
    "task_config", "COMMON_DEFAULTS", "TASK_DEFAULTS", "KEPT_ON_RESUME", "PAPER_SETTINGS",
    "CONFIGS", "grid_task_model", "grid_task_loss", "colour_logits", "grid_task_metrics",
    "evaluate_grid_task", "best_assignment", "psnr", "chance_level", "HEADLINES",
    "run_grid_task", "TEST_SEED", "plot_grid_task_example", "compare_grid_task",
    "grid_results_table", "PUBLISHED", "PAPER_CITATION", "published_columns",
]
