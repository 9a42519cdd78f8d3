"""Shared plumbing for the datasets: default folders and atomic saving."""
import os
import tempfile
from pathlib import Path
from typing import Sequence

import torch
from torch_geometric.data import InMemoryDataset
from torch_geometric.data.data import BaseData

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


def atomic_torch_save(obj, path: str) -> None:
    r"""``torch.save`` to a temporary file in the same folder, then
    ``os.replace`` it onto :obj:`path`: a reader never sees half a file and
    two processes building the same cache at once both end with a valid one."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".pt", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


class AtomicSaveMixin:
    r"""Makes :meth:`InMemoryDataset.save` atomic (temp file + ``os.replace``)."""

    @classmethod
    def save(cls, data_list: Sequence[BaseData], path: str) -> None:
        data, slices = InMemoryDataset.collate(data_list)
        atomic_torch_save((data.to_dict(), slices, data.__class__), path)
