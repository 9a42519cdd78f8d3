"""Cross-references to PyTorch and PyG without network access.

Intersphinx needs the projects' ``objects.inv`` at build time; here the
links are made by pattern instead, from the documentation layouts of
PyTorch (``docs.pytorch.org/docs/stable/generated/<name>.html``) and PyG
(``pytorch-geometric.readthedocs.io/en/latest/generated/<name>.html``).
References to this package that point at a module path other than the one
a name is documented under are resolved through the object itself.
"""
from __future__ import annotations

import importlib
import inspect
from typing import Any, Dict, Optional, Tuple

from docutils import nodes
from docutils.nodes import Element, TextElement
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

TORCH = "https://docs.pytorch.org/docs/stable/"
PYG = "https://pytorch-geometric.readthedocs.io/en/latest/"

#: torch names documented on a shared page rather than a generated one
TORCH_PAGES = {
    "torch.Tensor": "tensors.html",
    "torch.dtype": "tensor_attributes.html",
    "torch.device": "tensor_attributes.html",
    "torch.layout": "tensor_attributes.html",
    "torch.autocast": "amp.html",
    "torch.utils.data": "data.html",
    "torch.distributed": "distributed.html",
}


#: the public namespaces, shortest first: a class is linked under the first that exports it
#: (``torch.nn.modules.module.Module`` is documented as ``torch.nn.Module``)
NAMESPACES = {
    "torch": ["torch", "torch.nn", "torch.nn.functional", "torch.utils.data",
              "torch.distributed", "torch.optim"],
    "torch_geometric": ["torch_geometric.data", "torch_geometric.loader",
                        "torch_geometric.transforms", "torch_geometric.datasets",
                        "torch_geometric.nn", "torch_geometric.utils"],
}


def public_alias(name: str, obj: Any) -> str:
    """The public name of a class or function reached by a private path."""
    short = getattr(obj, "__name__", None)
    if not (inspect.isclass(obj) or inspect.isroutine(obj)) or not short:
        return name
    for namespace in NAMESPACES[name.split(".")[0]]:
        try:
            if getattr(importlib.import_module(namespace), short, None) is obj:
                return f"{namespace}.{short}"
        except ImportError:
            continue
    return name


def split_object(target: str) -> Tuple[Optional[str], Any, str]:
    """The longest importable prefix of :obj:`target` that is a class,
    function or module, the object, and the rest (an attribute path)."""
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):
        head, rest = parts[:cut], parts[cut:]
        for split in range(len(head), 0, -1):
            try:
                obj: Any = importlib.import_module(".".join(head[:split]))
            except ImportError:
                continue
            try:
                for attr in head[split:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                break
            return ".".join(head), obj, ".".join(rest)
    return None, None, target


def pyg_name(name: str, obj: Any) -> str:
    """The name PyG documents :obj:`obj` under: ``torch_geometric.nn`` objects
    live in their subpackage (``torch_geometric.nn.conv.GCNConv``)."""
    parts = name.split(".")
    if len(parts) == 3 and parts[1] == "nn" and not inspect.ismodule(obj):
        home = getattr(obj, "__module__", "") or ""
        sub = home.split(".")
        if len(sub) >= 3 and sub[:2] == ["torch_geometric", "nn"]:
            return f"torch_geometric.nn.{sub[2]}.{parts[2]}"
    return name


def url_for(target: str) -> Optional[str]:
    top = target.split(".")[0]
    if top not in ("torch", "torch_geometric"):
        return None
    name, obj, rest = split_object(target)
    if name is None:
        return None
    parent_name, _, last = name.rpartition(".")
    if not (inspect.isclass(obj) or inspect.ismodule(obj)) and parent_name and \
            parent_name != "torch.Tensor":  # a method: documented on its class's page
        _, parent, _ = split_object(parent_name)
        if inspect.isclass(parent):
            name, obj, rest = parent_name, parent, f"{last}.{rest}" if rest else last
    if not inspect.ismodule(obj):
        name = public_alias(name, obj)
    full = f"{name}.{rest}" if rest else name
    if top == "torch_geometric":
        if inspect.ismodule(obj):
            return f"{PYG}modules/{name.split('.')[1]}.html" if "." in name else PYG
        if name.startswith("torch_geometric.utils."):
            return f"{PYG}modules/utils.html#{full}"
        page = pyg_name(name, obj)
        anchor = f"{page}.{rest}" if rest else page
        return f"{PYG}generated/{page}.html#{anchor}"
    if type(obj).__name__ == "dtype":  # torch.float32 and its kind
        return f"{TORCH}tensor_attributes.html#torch.dtype"
    for prefix, page in TORCH_PAGES.items():
        if name == prefix or name.startswith(prefix + "."):
            if prefix == "torch.Tensor" and rest == "" and name != prefix:
                return f"{TORCH}generated/{name}.html"
            return f"{TORCH}{page}#{full}"
    if inspect.ismodule(obj):  # torch.nn -> nn.html, torch -> torch.html
        return f"{TORCH}{name.removeprefix('torch.')}.html"
    return f"{TORCH}generated/{name}.html#{full}"


def resolve_own(app: Sphinx, env: BuildEnvironment, node: Element,
                contnode: TextElement) -> Optional[Element]:
    """A reference to a name of this package under another module path."""
    api = getattr(env, "pyg_dss_api", None)
    target = node["reftarget"]
    candidates = [target]
    if node.get("py:module") and not target.startswith("pyg_dss"):
        candidates.insert(0, f"{node['py:module']}.{target}")
    for candidate in candidates:
        if not candidate.startswith("pyg_dss") or api is None:
            continue
        name, obj, rest = split_object(candidate)
        home = api["by_id"].get(id(obj)) if name else None
        if home is None:
            continue
        full = f"{home}.{rest}" if rest else home
        domain = env.get_domain("py")
        found = domain.resolve_xref(env, node["refdoc"], app.builder, "obj", full,  # type: ignore
                                    node, contnode)
        if found is not None:
            return found
    return None


def missing_reference(app: Sphinx, env: BuildEnvironment, node: Element,
                      contnode: TextElement) -> Optional[Element]:
    if node.get("refdomain") != "py":
        return None
    own = resolve_own(app, env, node, contnode)
    if own is not None:
        return own
    url = url_for(node["reftarget"])
    if url is None:
        return None
    ref = nodes.reference("", "", internal=False, refuri=url, reftitle=node["reftarget"])
    ref.append(contnode)
    return ref


def setup(app: Sphinx) -> Dict[str, Any]:
    app.connect("missing-reference", missing_reference)
    return {"parallel_read_safe": True, "version": "1"}
