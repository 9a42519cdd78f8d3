"""Shared plumbing for the datasets: default folders."""
import os
from pathlib import Path

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
