"""Runs the figure scripts of ``docs/figures/*.py`` before the pages are
read, so the pictures in the tutorials are made by the code they show
(each page shows its script with ``literalinclude``). A script writes its
PNG next to itself, into ``figures/_out/``; a failing script fails the build.
"""
from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any, Dict

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)


def run_figures(app: Sphinx) -> None:
    # Builders that show the pictures draw them anew; the others (doctest)
    # need them only to exist, so that the image directives resolve.
    redraw = app.builder.name in ("html", "dirhtml", "singlehtml", "latex")
    folder = Path(app.srcdir) / "figures"
    (folder / "_out").mkdir(exist_ok=True)
    import matplotlib

    matplotlib.use("Agg")
    for script in sorted(folder.glob("*.py")):
        if not redraw and (folder / "_out" / f"{script.stem}.png").exists():
            continue
        logger.info(f"figure script {script.name}")
        try:
            runpy.run_path(str(script), run_name="__main__")
        except Exception as err:  # the build must stop, naming the script
            raise ExtensionError(f"figure script {script} failed: {err!r}") from err


def setup(app: Sphinx) -> Dict[str, Any]:
    app.connect("builder-inited", run_figures)
    return {"parallel_read_safe": True, "version": "1"}
