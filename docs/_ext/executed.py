"""Every Python code block of the documentation runs during the build.

A Python block must be a ``testcode`` / ``doctest`` block (run by
``sphinx-build -b doctest``) or a ``literalinclude`` of a figure script
(run by :mod:`figures` before the pages are read). Any other Python block,
including a bare ``::`` block, is a warning, and the build runs with
warnings as errors. This holds on every page, the API pages generated from
the docstrings included: an example in a docstring is a ``testcode`` block
too. Shell commands go into ``.. code-block:: console``, file layouts and
other text into ``.. code-block:: text``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

NOT_PYTHON = {"console", "bash", "shell", "sh", "text", "none", "toml", "ini", "yaml",
              "json", "bibtex", "rst"}


def is_executed(node: nodes.literal_block, figures: Path) -> bool:
    if node.get("testnodetype"):
        return True
    source = node.get("source")
    return bool(source) and Path(source).resolve().parent == figures


def check_blocks(app: Sphinx, doctree: nodes.document) -> None:
    figures = (Path(app.srcdir) / "figures").resolve()
    for node in doctree.findall(nodes.literal_block):
        language = node.get("language", "default")
        if language in NOT_PYTHON or is_executed(node, figures):
            continue
        logger.warning("a Python code block that the build does not run: make it a "
                       "'testcode' block (or a console block for shell commands)",
                       location=node)


def setup(app: Sphinx) -> Dict[str, Any]:
    app.connect("doctree-read", check_blocks)
    return {"parallel_read_safe": True, "version": "1"}
