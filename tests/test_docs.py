"""The documentation builds with warnings as errors, and every code block in
it runs (sphinx's doctest builder). The build is a test, so the README's one
test command covers the docs: a renamed function breaks a tutorial here, not
in front of a reader."""
import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))


def sphinx_build(builder: str, src: Path, out: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q",
                           "-b", builder, str(src), str(out)],
                          env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.parametrize("builder", ["html", "doctest"])
def test_docs_build(builder: str, tmp_path: Path) -> None:
    res = sphinx_build(builder, DOCS, tmp_path / builder)
    assert res.returncode == 0, (res.stdout + res.stderr)[-6000:]


def test_every_public_name_gets_a_page() -> None:
    apigen = importlib.import_module("apigen")
    modules = apigen.public_modules()
    assert {"pyg_dss", "pyg_dss.nn", "pyg_dss.datasets", "pyg_dss.transforms"} <= set(modules)
    assert not any(part.startswith("_") for m in modules for part in m.split("."))
    where, _ = apigen.canonical_names(modules)
    pages = {m: apigen.module_page(m, where) for m in modules}
    for mod_name in modules:
        module = importlib.import_module(mod_name)
        for name in apigen.public_names(module):
            full = where[(mod_name, name)]
            home, short = full.rsplit(".", 1)
            documented = (f":: {full}\n" in pages[home]
                          or f":: {short}\n   :module: {home}\n" in pages[home])
            assert documented, f"{mod_name}.{name} has no entry (expected on {home}'s page)"


def test_links_to_torch_and_pyg_by_pattern() -> None:
    links = importlib.import_module("links")
    pyg = "https://pytorch-geometric.readthedocs.io/en/latest/"
    torch_docs = "https://docs.pytorch.org/docs/stable/"
    assert links.url_for("torch_geometric.nn.GCNConv") == \
        f"{pyg}generated/torch_geometric.nn.conv.GCNConv.html#torch_geometric.nn.conv.GCNConv"
    assert links.url_for("torch_geometric.data.data.Data") == \
        f"{pyg}generated/torch_geometric.data.Data.html#torch_geometric.data.Data"
    assert links.url_for("torch_geometric.data.Data.validate") == \
        f"{pyg}generated/torch_geometric.data.Data.html#torch_geometric.data.Data.validate"
    assert links.url_for("torch.nn.modules.module.Module") == \
        f"{torch_docs}generated/torch.nn.Module.html#torch.nn.Module"
    assert links.url_for("torch.Tensor") == f"{torch_docs}tensors.html#torch.Tensor"
    assert links.url_for("torch.compile") == \
        f"{torch_docs}generated/torch.compile.html#torch.compile"
    assert links.url_for("numpy.ndarray") is None


def test_a_python_block_that_does_not_run_fails_the_build(tmp_path: Path) -> None:
    """On a page and in a docstring of an API page alike."""
    src = tmp_path / "src"
    (src / "api").mkdir(parents=True)
    (tmp_path / "docmod.py").write_text(
        '"""A module.\n\n.. testcode::\n\n   x = 1\n\nLayout:\n\n'
        '.. code-block:: text\n\n   root/\n\nNot run::\n\n   y = 2\n"""\n')
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(DOCS / '_ext')!r})\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "extensions = ['sphinx.ext.autodoc', 'sphinx.ext.doctest', 'executed']\n")
    (src / "index.rst").write_text(
        "Page\n====\n\n.. testcode::\n\n   x = 1\n\nA shell command:\n\n"
        ".. code-block:: console\n\n   pip install pyg-dss\n\n"
        "Not run::\n\n   y = 2\n\n.. toctree::\n\n   api/docmod\n")
    (src / "api" / "docmod.rst").write_text("docmod\n======\n\n.. automodule:: docmod\n")
    res = sphinx_build("html", src, tmp_path / "out")
    assert res.returncode != 0
    assert "index.rst:16" in res.stderr and "does not run" in res.stderr
    assert "docstring of docmod:15" in res.stderr, res.stderr
    assert res.stderr.count("does not run") == 2, res.stderr
