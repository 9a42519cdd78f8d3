"""The public API is declared: every module of the package lists its names in
``__all__``, every listed name exists and none is private (the version
source: tests/test_release.py)."""
import importlib
import pkgutil

import pytest

import pyg_dss

MODULES = sorted(m.name for m in pkgutil.walk_packages(pyg_dss.__path__, "pyg_dss."))


def test_every_module_is_found():
    assert {"pyg_dss.nn.aggr", "pyg_dss.transforms.subgraph_bag", "pyg_dss.datasets.makehuman",
            "pyg_dss.datasets._io", "pyg_dss.nn.dense.networks"} <= set(MODULES)


@pytest.mark.parametrize("name", ["pyg_dss", *MODULES])
def test_module_declares_its_names(name):
    module = importlib.import_module(name)
    names = getattr(module, "__all__", None)
    assert isinstance(names, list) and names, f"{name} has no __all__"
    assert len(names) == len(set(names)), f"{name}.__all__ lists a name twice"
    missing = [n for n in names if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists undefined names {missing}"
    private = [n for n in names if n.startswith("_") and n != "__version__"]
    assert not private, f"{name}.__all__ exports private names {private}"

