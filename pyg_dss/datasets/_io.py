"""Shared plumbing for the datasets: default folders and atomic saving."""
import os
from pathlib import Path
from typing import Sequence

from torch_geometric.data import InMemoryDataset
from torch_geometric.data.data import BaseData

from pyg_dss.io import atomic_torch_save

#: Environment variable that overrides the default datasets folder.
ENV_VAR = "PYG_DSS_DATASETS"


def default_root(name: str) -> str:
    r"""Default folder of dataset :obj:`name` (e.g. ``"dfaust"``).

    ``$PYG_DSS_DATASETS/<name>`` if that variable is set; otherwise
    ``<repo>/datasets/<name>`` when the package runs from a source checkout
    (a ``pyproject.toml`` next to the ``pyg_dss`` folder); otherwise
    ``./datasets/<name>`` relative to the current working directory.
    Always returned as an absolute path.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return str(Path(env).expanduser().resolve() / name)
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file():
        return str(repo / "datasets" / name)
    return str((Path.cwd() / "datasets" / name).resolve())


class AtomicSaveMixin:
    r"""Makes :meth:`InMemoryDataset.save` atomic (temp file + ``os.replace``)."""

    @classmethod
    def save(cls, data_list: Sequence[BaseData], path: str) -> None:
        data, slices = InMemoryDataset.collate(data_list)
        atomic_torch_save((data.to_dict(), slices, data.__class__), path)
