r"""Training runs: one loop (:func:`train_epoch`) with the non-finite guard
and progress within long epochs, one checkpoint format for an exact
``--resume`` (:func:`save_training_state`), every random state
(:func:`capture_rng_state`), the per-epoch log (:class:`EpochLog`), locked
run folders (:class:`RunFolder`), data-parallel helpers for ``torchrun``,
sweeps that reuse finished runs (:func:`run_or_reuse`) and the
command-line pieces the training commands share (:func:`run_command`).
"""
from .checkpoint import TRAINING_KEYS, load_training_state, plain_config, save_training_state
from .cli import (HelpFormatter, UsageError, add_run_folder_arguments, count, fraction, int_list,
                  positive, positive_int, run_command)
from .compare import VARIANT_LABELS, config_differences, markdown_table, run_or_reuse
from .distributed import (all_sum, barrier, broadcast, is_distributed, setup_distributed,
                          sync_buffers, teardown_distributed)
from .folder import RunFolder, RunFolderBusyError
from .loop import Step, train_epoch
from .progress import Progress, interactive
from .state import (EpochLog, NonFiniteLossError, capture_rng_state, check_finite,
                    kept_options_message, restore_rng_state)

__all__ = [
    "train_epoch", "Step", "Progress", "interactive",
    "save_training_state", "load_training_state", "plain_config", "TRAINING_KEYS",
    "capture_rng_state", "restore_rng_state", "EpochLog", "NonFiniteLossError",
    "check_finite", "kept_options_message",
    "RunFolder", "RunFolderBusyError",
    "setup_distributed", "teardown_distributed", "is_distributed", "all_sum", "broadcast",
    "sync_buffers", "barrier",
    "run_or_reuse", "config_differences", "markdown_table", "VARIANT_LABELS",
    "UsageError", "HelpFormatter", "add_run_folder_arguments", "run_command",
    "int_list", "positive_int", "count", "fraction", "positive",
]
