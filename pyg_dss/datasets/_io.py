"""Shared plumbing for the datasets: the default cache folder."""
import os
from pathlib import Path

__all__ = ["ENV_VAR", "default_root"]

#: Environment variable that overrides the default datasets folder.
ENV_VAR = "PYG_DSS_HOME"


def default_root(name: str) -> str:
    r"""Default folder of dataset :obj:`name` (e.g. ``"dfaust"``): a per-user
    cache, never the current directory, so a run writes nothing into the
    folder it was started from.

    ``$PYG_DSS_HOME/<name>`` if that variable is set; otherwise
    ``$XDG_CACHE_HOME/pyg-dss/<name>`` if ``XDG_CACHE_HOME`` is set; otherwise
    ``~/.cache/pyg-dss/<name>``. A dataset's ``root=`` argument overrides all
    of them. Always returned as an absolute path.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        home = Path(env).expanduser()
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        home = Path(cache).expanduser() / "pyg-dss"
    return str(home.resolve() / name)
