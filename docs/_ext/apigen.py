"""API reference pages generated from the package's ``__all__`` lists.

Every public module (no path component starting with ``_``) gets a page.
Each public name is documented once, on the page of the shortest module path
that exports it (``pyg_dss.nn.DSSConv`` rather than
``pyg_dss.nn.dss_conv.DSSConv``); the other modules that export it link
there. A module without ``__all__`` contributes the classes and functions it
defines. After reading, every public name must have an entry: a name
without one is a warning, and the build runs with warnings as errors.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any, Dict, List, Tuple

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "pyg_dss"
OUT = "api/generated"


def public_modules(package: str = PACKAGE) -> List[str]:
    """Dotted names of every public module of :obj:`package`, sorted."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def public_names(module: ModuleType) -> List[str]:
    """The module's ``__all__``, or the classes and functions it defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, obj in vars(module).items()
            if not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
            and getattr(obj, "__module__", None) == module.__name__]


def canonical_names(modules: List[str]) -> Tuple[Dict[Tuple[str, str], str], Dict[int, str]]:
    """``(module, name) -> full documented name`` for every public name, and
    ``id(object) -> full documented name`` for the objects documented."""
    owners: Dict[Tuple[str, int], List[str]] = {}
    objects: Dict[Tuple[str, int], Any] = {}
    for mod_name in modules:
        module = importlib.import_module(mod_name)
        for name in public_names(module):
            obj = getattr(module, name)
            key = (name, id(obj))
            owners.setdefault(key, []).append(mod_name)
            objects[key] = obj
    where: Dict[Tuple[str, str], str] = {}
    by_id: Dict[int, str] = {}
    for (name, ident), mods in owners.items():
        # a name that is also a module's name (a function `fingerprint` exported beside the
        # module `fingerprint`) is documented where it is not one
        homes = [m for m in mods if f"{m}.{name}" not in modules] or mods
        home = min(homes, key=lambda m: (m.count("."), m))
        for mod_name in mods:
            where[(mod_name, name)] = f"{home}.{name}"
        if inspect.isclass(objects[(name, ident)]) or callable(objects[(name, ident)]):
            by_id[ident] = f"{home}.{name}"
    return where, by_id


def directive(obj: Any) -> str:
    if inspect.isclass(obj):
        return "autoclass"
    if inspect.isfunction(obj) or inspect.isbuiltin(obj):
        return "autofunction"
    return "data"


def data_entry(module: ModuleType, name: str, full: str) -> List[str]:
    """A constant: its value (shortened) and its ``#:`` comment, if the module
    that exports it has one (autodata would show the docstring of its type)."""
    value = repr(getattr(module, name))
    if len(value) > 160:
        value = value[:150] + " ..."
    home, short = full.rsplit(".", 1)
    lines = [f".. py:data:: {short}", f"   :module: {home}", f"   :value: {value}", ""]
    try:
        docs = ModuleAnalyzer.for_module(module.__name__).find_attr_docs()
    except PycodeError:
        docs = {}
    for line in docs.get(("", name), []):
        lines.append(f"   {line}" if line else "")
    return lines


def module_page(mod_name: str, where: Dict[Tuple[str, str], str]) -> str:
    module = importlib.import_module(mod_name)
    lines = [mod_name, "=" * len(mod_name), "", f".. automodule:: {mod_name}", ""]
    also = []
    for name in public_names(module):
        full = where[(mod_name, name)]
        if full != f"{mod_name}.{name}":
            also.append(f"* :py:obj:`{name} <{full}>`")
            continue
        kind = directive(getattr(module, name))
        if kind == "data":
            lines += data_entry(module, name, full)
            continue
        lines += [f".. {kind}:: {full}"]
        if kind == "autoclass":
            lines += ["   :members:", "   :show-inheritance:"]
        lines.append("")
    if also:
        lines += ["Also exported here, documented with their home module:", "", *also, ""]
    return "\n".join(lines)


def write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)


def generate(app: Sphinx) -> None:
    modules = public_modules()
    where, by_id = canonical_names(modules)
    app.env.pyg_dss_api = {"modules": modules, "where": where, "by_id": by_id}  # type: ignore
    out = Path(app.srcdir) / OUT
    out.mkdir(parents=True, exist_ok=True)
    for stale in set(out.glob("*.rst")) - {out / f"{m}.rst" for m in modules}:
        stale.unlink()
    for mod_name in modules:
        write_if_changed(out / f"{mod_name}.rst", module_page(mod_name, where))


def check_every_name_documented(app: Sphinx, env: BuildEnvironment) -> None:
    api = getattr(env, "pyg_dss_api", None)
    if api is None:
        return
    documented = env.get_domain("py").objects  # type: ignore[attr-defined]
    for (mod_name, name), full in sorted(api["where"].items()):
        if full not in documented:
            logger.warning(f"public name {mod_name}.{name} has no entry in the API reference "
                           f"(expected {full}); give it a docstring the autodoc can import")


def setup(app: Sphinx) -> Dict[str, Any]:
    app.connect("builder-inited", generate)
    app.connect("env-check-consistency", check_every_name_documented)
    return {"parallel_read_safe": True, "version": "1"}
