r"""Stable fingerprints of ``pre_transform`` / ``pre_filter`` callables, so
that a processed cache is keyed by what the callable *does*, not by its name.

``repr`` cannot serve: two different lambdas share the qualname ``<lambda>``,
a function's repr holds a memory address that changes every run, and a PyG
transform's repr omits parameters (``FaceToEdge(remove_faces=False)`` prints
as ``FaceToEdge()``). :func:`fingerprint` instead hashes a canonical,
recursive description of the object:

* plain data (numbers, strings, bytes, containers) by value; tensors and
  NumPy arrays by dtype, shape and bytes;
* *user code* (any module outside the Python installation's standard library
  and ``site-packages``, e.g. your script, a notebook, an editable install
  such as pyg-dss itself): functions and lambdas by their byte code,
  constants, default arguments, closure values and the values of the globals
  they read (recursively); classes by the code of their methods and their
  class attributes; modules by the hash of their source file;
* *library code* (standard library, ``site-packages``, built-ins) by
  qualified name and the version of its package (``torch_geometric 2.8.1``):
  upgrading the library changes the fingerprint;
* objects (e.g. a :class:`~torch_geometric.transforms.BaseTransform` or a
  ``Compose`` of them) by their class and their whole state (``__dict__`` and
  ``__slots__``), recursively.

So changing a lambda's body, a captured threshold, a transform's parameter or
your own transform class's code changes the fingerprint, and the cache is
rebuilt.

Values a function reads at call time are covered where the code names them:

* a module attribute read as ``module.NAME`` (one level: ``settings.SCALE``,
  not ``settings.train.SCALE``) when its value is plain data (numbers,
  strings, bytes, ``None``, enums and lists, tuples and dicts of them), so
  ``settings.SCALE = 3`` set by a script at run time rebuilds the cache;
  other attributes (functions, classes, objects) are covered by the module's
  source hash only;
* an environment variable when the function reads ``environ`` or ``getenv``
  (``os.environ["SCALE"]``, ``os.environ.get("SCALE")``, ``os.getenv``) and
  the variable's name is a string constant of its code: the variable's value
  (or its absence) is part of the key.

Not covered: names built at run time (``os.environ[prefix + "SCALE"]``,
``getattr(settings, name)``), attributes of attributes, values read by
functions the callable calls in a library, files, the clock. Pass
``force_reload=True`` when such a source changes. An object that cannot be
described (e.g. an open file handle in a transform's state) raises
:class:`UndescribableError` naming it, rather than risk a stale cache.
"""
from __future__ import annotations

import dis
import enum
import functools
import hashlib
import importlib.metadata
import os
import pathlib
import random
import re
import site
import struct
import sys
import sysconfig
import types
import weakref
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

import numpy as np
import torch

__all__ = ["fingerprint", "describe", "UndescribableError"]

#: Guards against pathological objects (deep or huge object graphs).
MAX_DEPTH = 64
MAX_OBJECTS = 200_000

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
# Class attributes that say nothing about behaviour.
_SKIP_CLASS_ATTRS = {"__dict__", "__weakref__", "__doc__", "__module__", "__qualname__",
                     "__annotations__", "__firstlineno__", "__static_attributes__",
                     "__parameters__", "__orig_bases__", "__abstractmethods__", "_abc_impl"}
_BUILTIN_CALLABLES = (types.BuiltinFunctionType, types.MethodDescriptorType,
                      types.WrapperDescriptorType, types.MethodWrapperType,
                      types.GetSetDescriptorType, types.MemberDescriptorType,
                      types.ClassMethodDescriptorType)
# Types whose repr is their complete value.
_BY_REPR = (torch.dtype, torch.device, range, slice, re.Pattern, pathlib.PurePath,
            torch.layout, torch.memory_format)


class UndescribableError(TypeError):
    """An object cannot be described stably for a cache key."""


@functools.lru_cache(maxsize=1)
def _library_dirs() -> Tuple[str, ...]:
    paths = set(sysconfig.get_paths().values())
    try:
        paths.update(site.getsitepackages())
    except AttributeError:  # some virtualenvs lack it
        pass
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else None
    if user:
        paths.add(user)
    keep = [p for p in paths if p and ("site-packages" in p or "dist-packages" in p
                                       or p in (sysconfig.get_paths().get("stdlib"),
                                                sysconfig.get_paths().get("platstdlib")))]
    return tuple(sorted(os.path.realpath(p) + os.sep for p in keep))


def _module_file(name: Optional[str]) -> Optional[str]:
    module = sys.modules.get(name or "")
    path = getattr(module, "__file__", None)
    return os.path.realpath(path) if path else None


def _is_library(module_name: Optional[str]) -> bool:
    """Standard library, site-packages or built-in (no source file)."""
    if not module_name or module_name in sys.builtin_module_names:
        return True
    path = _module_file(module_name)
    if path is None:
        # No file: built-in or frozen (library), unless it is __main__ of an
        # interactive session (user code, described by its code objects).
        return module_name != "__main__"
    return path.startswith(_library_dirs())


@functools.lru_cache(maxsize=1)
def _distributions() -> Mapping[str, List[str]]:
    return importlib.metadata.packages_distributions()


def _version(module_name: Optional[str]) -> str:
    """The installed version of the package that holds :obj:`module_name`."""
    top = (module_name or "").split(".")[0]
    version = getattr(sys.modules.get(top), "__version__", None)
    if version is not None:
        return f"{top} {version}"
    for dist in _distributions().get(top, []):
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            pass
    return f"python {sys.version.split()[0]}"  # standard library and built-ins


@functools.lru_cache(maxsize=256)
def _file_digest(path: str, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class _Hasher:
    def __init__(self) -> None:
        self.h = hashlib.sha256()
        self.memo: Dict[int, int] = {}
        self.count = 0
        self.keep: List[Any] = []  # keeps memoised objects alive so their ids stay unique

    def token(self, *parts: Any) -> None:
        for p in parts:
            data = p if isinstance(p, bytes) else str(p).encode("utf-8", "surrogatepass")
            self.h.update(struct.pack("<Q", len(data)))
            self.h.update(data)

    def feed(self, obj: Any, where: str, depth: int = 0) -> None:
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_OBJECTS:
            raise UndescribableError(f"{where} is too deep or too large to describe for a "
                                     "cache key.")
        if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
            self.token(type(obj).__name__, repr(obj))
            return
        if isinstance(obj, (enum.Enum, *_BY_REPR)):
            self.token(type(obj).__module__, type(obj).__qualname__, repr(obj))
            return
        if isinstance(obj, np.generic):
            self.token("npscalar", obj.dtype.str, obj.tobytes())
            return
        # Shared references and cycles: the second visit refers to the first.
        if id(obj) in self.memo:
            self.token("ref", self.memo[id(obj)])
            return
        self.memo[id(obj)] = len(self.memo)
        self.keep.append(obj)
        if isinstance(obj, torch.Tensor):
            self._tensor(obj, where)
        elif isinstance(obj, np.ndarray):
            if obj.dtype.hasobject:
                self.token("ndarray-object", obj.shape)
                for k, item in enumerate(obj.ravel().tolist()):
                    self.feed(item, f"{where}[{k}]", depth + 1)
            else:
                self.token("ndarray", obj.dtype.str, obj.shape,
                           np.ascontiguousarray(obj).tobytes())
        elif isinstance(obj, (list, tuple)):
            self.token(type(obj).__name__, len(obj))
            for k, item in enumerate(obj):
                self.feed(item, f"{where}[{k}]", depth + 1)
        elif isinstance(obj, (set, frozenset)):
            digests = sorted(fingerprint(item, f"{where} item") for item in obj)
            self.token(type(obj).__name__, len(digests), *digests)
        elif isinstance(obj, dict):
            self.token(type(obj).__name__, len(obj))
            for k, v in obj.items():
                self.feed(k, f"{where} key", depth + 1)
                self.feed(v, f"{where}[{k!r}]", depth + 1)
        elif isinstance(obj, weakref.ref):
            self.token("weakref")
            self.feed(obj(), f"{where}()", depth + 1)
        elif isinstance(obj, torch.Generator):
            self.token("torch.Generator", obj.device)
            self._tensor(obj.get_state(), where)
        elif isinstance(obj, (np.random.Generator, np.random.RandomState, random.Random)):
            state = (obj.bit_generator.state if isinstance(obj, np.random.Generator)
                     else obj.get_state() if isinstance(obj, np.random.RandomState)
                     else obj.getstate())
            self.token(type(obj).__qualname__)
            self.feed(state, where, depth + 1)
        elif isinstance(obj, types.ModuleType):
            self._module(obj)
        elif isinstance(obj, type):
            self._class(obj, where, depth)
        elif isinstance(obj, types.FunctionType):
            self._function(obj, where, depth)
        elif isinstance(obj, types.MethodType):
            self.token("method")
            self.feed(obj.__func__, where, depth + 1)
            self.feed(obj.__self__, f"{where}.__self__", depth + 1)
        elif isinstance(obj, functools.partial):
            self.token("partial")
            self.feed(obj.func, where, depth + 1)
            self.feed(obj.args, f"{where} args", depth + 1)
            self.feed(obj.keywords, f"{where} keywords", depth + 1)
        elif isinstance(obj, (staticmethod, classmethod)):
            self.token(type(obj).__name__)
            self.feed(obj.__func__, where, depth + 1)
        elif isinstance(obj, property):
            self.token("property")
            for part in (obj.fget, obj.fset, obj.fdel):
                self.feed(part, where, depth + 1)
        elif isinstance(obj, types.CodeType):
            self._code(obj, where, depth)
        elif isinstance(obj, _BUILTIN_CALLABLES) or isinstance(obj, np.ufunc):
            module = getattr(obj, "__module__", None) or getattr(
                getattr(obj, "__objclass__", None), "__module__", None)
            self.token("builtin", module, getattr(obj, "__qualname__", repr(obj)),
                       _version(module))
            owner = getattr(obj, "__self__", None)
            if owner is not None and not isinstance(owner, (types.ModuleType, type)):
                self.feed(owner, f"{where}.__self__", depth + 1)
        else:
            self._object(obj, where, depth)

    def _tensor(self, t: torch.Tensor, where: str) -> None:
        if t.layout != torch.strided:
            t = t.to_dense()
        t = t.detach().cpu().contiguous()
        self.token("tensor", t.dtype, tuple(t.shape), t.requires_grad)
        self.token(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")

    def _module(self, module: types.ModuleType) -> None:
        name = module.__name__
        if _is_library(name):
            self.token("module", name, _version(name))
            return
        path = _module_file(name)
        if path and os.path.isfile(path):
            st = os.stat(path)
            self.token("module", name, _file_digest(path, st.st_mtime_ns, st.st_size))
        else:
            self.token("module", name)

    def _class(self, cls: type, where: str, depth: int) -> None:
        self.token("class", cls.__module__, cls.__qualname__)
        if _is_library(cls.__module__):
            self.token(_version(cls.__module__))
            return
        # User class: the code and class attributes of every user class in
        # its MRO (library bases are named by version in their own entry).
        for base in cls.__mro__:
            if base is cls:
                for name in sorted(vars(cls)):
                    if name in _SKIP_CLASS_ATTRS:
                        continue
                    self.token(name)
                    self.feed(vars(cls)[name], f"{where}.{name}", depth + 1)
            else:
                self.token("base", base.__module__, base.__qualname__)
                if not _is_library(base.__module__):
                    self.feed(base, f"{where} base", depth + 1)
                else:
                    self.token(_version(base.__module__))

    def _function(self, fn: types.FunctionType, where: str, depth: int) -> None:
        self.token("function", fn.__module__, fn.__qualname__)
        if _is_library(fn.__module__):
            self.token(_version(fn.__module__))
            return
        self._code(fn.__code__, where, depth)
        self.feed(fn.__defaults__, f"{where} defaults", depth + 1)
        self.feed(fn.__kwdefaults__, f"{where} keyword defaults", depth + 1)
        cells = []
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
            try:
                cells.append((name, cell.cell_contents))
            except ValueError:  # empty cell
                cells.append((name, "<empty>"))
        for name, value in cells:
            self.token("cell", name)
            self.feed(value, f"{where} (captured '{name}')", depth + 1)
        # Globals the code reads (in it and its nested code objects; builtins
        # are not in __globals__; attributes of a module global are covered by
        # the module's own description).
        for name in sorted(_global_names(fn.__code__)):
            if name in fn.__globals__:
                self.token("global", name)
                self.feed(fn.__globals__[name], f"{where} (global '{name}')", depth + 1)
        # Values a module's source hash does not show: attributes set at run
        # time (settings.SCALE = 3) and environment variables.
        for owner, attr in sorted(_module_attributes(fn.__code__)):
            module = fn.__globals__.get(owner)
            value = getattr(module, attr, None) if isinstance(module, types.ModuleType) \
                else None
            if value is not None and _plain(value):
                self.token("module attribute", owner, attr)
                self.feed(value, f"{where} ({owner}.{attr})", depth + 1)
        for name in sorted(_environment_names(fn.__code__)):
            self.token("environment", name, os.environ.get(name, "<unset>"))

    def _code(self, code: types.CodeType, where: str, depth: int) -> None:
        self.token("code", code.co_code, code.co_names, code.co_varnames, code.co_freevars,
                   code.co_cellvars, code.co_argcount, code.co_kwonlyargcount,
                   code.co_posonlyargcount, code.co_flags)
        for const in code.co_consts:
            self.feed(const, where, depth + 1)

    def _object(self, obj: Any, where: str, depth: int) -> None:
        cls = type(obj)
        self.token("object")
        self.feed(cls, where, depth + 1)
        state: Dict[str, Any] = {}
        if hasattr(obj, "__dict__"):
            state.update(vars(obj))
        for klass in cls.__mro__:
            for slot in getattr(klass, "__slots__", ()):
                if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                    state[slot] = getattr(obj, slot)
        if not state and not hasattr(obj, "__dict__"):
            raise UndescribableError(
                f"{where} holds a {cls.__module__}.{cls.__qualname__}, which has no state "
                "pyg-dss can read to key the cache (no __dict__ or __slots__). Give the "
                "callable plain-data attributes instead, or drop it from the pre_transform "
                "/ pre_filter.")
        self.token("state", len(state))
        for name in sorted(state):
            self.token(name)
            self.feed(state[name], f"{where}.{name}", depth + 1)


_GLOBAL_OPS = {"LOAD_GLOBAL", "LOAD_NAME", "STORE_GLOBAL", "DELETE_GLOBAL"}


def _global_names(code: types.CodeType) -> set:
    """Names the code (and its nested code) reads as globals; attribute
    names (``d.pos``) are not globals, whatever module global shares them."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in _GLOBAL_OPS}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _nested(code: types.CodeType) -> List[types.CodeType]:
    out = [code]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out += _nested(const)
    return out


def _module_attributes(code: types.CodeType) -> Set[Tuple[str, str]]:
    """``(global, attribute)`` for every ``global.attribute`` the code reads."""
    pairs = set()
    for c in _nested(code):
        previous = None
        for ins in dis.get_instructions(c):
            if ins.opname == "LOAD_ATTR" and previous is not None:
                pairs.add((previous, ins.argval))
            previous = ins.argval if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") else None
    return pairs


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _environment_names(code: types.CodeType) -> Set[str]:
    """Names of environment variables the code reads: its string constants,
    if it reads ``environ`` or ``getenv`` at all."""
    codes = _nested(code)
    if not any({"environ", "getenv"} & set(c.co_names) for c in codes):
        return set()
    return {k for c in codes for k in c.co_consts if isinstance(k, str) and _ENV_NAME.match(k)}


def _plain(value: Any, depth: int = 0) -> bool:
    """Plain data, cheap to describe (no code, no objects)."""
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes, enum.Enum)):
        return True
    if depth < 4 and isinstance(value, (list, tuple)) and len(value) <= 10_000:
        return all(_plain(v, depth + 1) for v in value)
    if depth < 4 and isinstance(value, dict) and len(value) <= 10_000:
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return False


def fingerprint(obj: Any, what: str = "object") -> str:
    r"""A SHA-256 hex digest of :obj:`obj`'s behaviour-defining description
    (see the module docstring): equal for equal transforms across processes
    and runs, different when code, captured values or state differ.

    Raises:
        UndescribableError: :obj:`obj` holds something that cannot be
            described stably (the message names where).
    """
    h = _Hasher()
    h.feed(obj, what)
    return h.h.hexdigest()


def describe(obj: Any, limit: int = 200) -> str:
    r"""A short human-readable name of :obj:`obj` for messages: its repr
    without memory addresses, or ``module.qualname`` for functions."""
    if obj is None:
        return "None"
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType, type)):
        text = f"{obj.__module__}.{obj.__qualname__}"
    else:
        try:
            text = _ADDRESS.sub("", repr(obj))
        except Exception:  # a broken __repr__ must not break a cache check
            text = type(obj).__qualname__
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
