"""Sphinx configuration of the pyg-dss documentation."""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))  # document this checkout, not an installed copy

import pyg_dss  # noqa: E402

project = "pyg-dss"
author = "The pyg-dss authors"
copyright = "2026, The pyg-dss authors"
release = pyg_dss.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
    "apigen",
    "links",
    "executed",
    "figures",
]

exclude_patterns = ["_build", "figures/_out/*.py"]
templates_path: list = []
html_theme = "alabaster"
html_title = f"pyg-dss {release}"
html_theme_options = {"description": "DSS layers for PyTorch Geometric",
                      "fixed_sidebar": True}

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"exclude-members": "forward, extra_repr"}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = ["Shapes"]

# Every page's code runs in a fresh temporary folder with a private cache
# folder, on one thread, from a fixed seed.
doctest_global_setup = """
import os, tempfile
import matplotlib
matplotlib.use("Agg")
import torch
torch.manual_seed(0)
torch.set_num_threads(1)
_docs_cwd = os.getcwd()
_docs_tmp = tempfile.TemporaryDirectory()
os.chdir(_docs_tmp.name)
"""
doctest_global_cleanup = """
os.chdir(_docs_cwd)
_docs_tmp.cleanup()
"""
doctest_test_doctest_blocks = ""
