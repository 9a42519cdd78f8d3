r"""Bags of subgraphs as a task (Bevilacqua et al., *Equivariant Subgraph
Aggregation Networks*, ICLR 2022): DS-GNN and DSS-GNN trained on CSL, EXP,
SR25 or ZINC-12k with the loop of :mod:`pyg_dss.train`
(:mod:`pyg_dss.subgraphs.training`, the run behind
``examples/subgraph_gnn.py``).

May import the core (:mod:`pyg_dss.data`, :mod:`pyg_dss.nn`,
:mod:`pyg_dss.transforms`, ...), :mod:`pyg_dss.datasets`, :mod:`pyg_dss.io`
and :mod:`pyg_dss.train`; nothing in the package imports it.
"""
from .training import (CONFIGS, DATASETS, DEFAULTS, ESAN_TRAINING, EXPERIMENT_KEYS, MODELS,
                       REFERENCE, TASKS, bag_step, bag_transform, build_parser, evaluate,
                       loss_and_metric, main, make_datasets, make_model, run, with_defaults)

__all__ = ["DATASETS", "MODELS", "CONFIGS", "TASKS", "DEFAULTS", "ESAN_TRAINING", "REFERENCE",
           "EXPERIMENT_KEYS", "with_defaults", "bag_transform", "make_datasets", "make_model",
           "loss_and_metric", "bag_step", "evaluate", "run", "build_parser", "main"]
