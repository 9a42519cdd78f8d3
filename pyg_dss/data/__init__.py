r"""Sets of symmetric elements as PyG data: :class:`SetData` (one set, or a
batch of them), the attributes it owns (:attr:`SetData.set_keys`) and its
checks (:mod:`pyg_dss.data.checks`).

May import torch and PyG only; everything else in pyg_dss builds on it."""
from .checks import COVERAGES
from .set_data import SetData, check_sets, coverage_of, require_single_set, split_sets

__all__ = ["SetData", "split_sets", "coverage_of", "require_single_set", "check_sets",
           "COVERAGES"]
