r"""Reading the pickles of published graph data sets (EXP's ``GRAPHSAT.pkl``,
CSL's adjacency matrices) without running their code.

Those files are pickles of objects of 2019-2020 libraries: PyG ``Data``
objects holding torch tensors, lists of SciPy sparse matrices.  A plain
:func:`pickle.load` would call whatever the file names.  :func:`restricted_load`
resolves only the globals listed for that file type, each mapped to a function
written here that checks its arguments (a tensor rebuilt from its own storage,
a storage read with ``torch.load(weights_only=True)``, an array of a numeric
dtype), and turns every object into a plain record of its state; any other
global is refused with :class:`UnsafePickleError` before it is called.
"""
from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from typing import Any, Dict, Mapping, Tuple

import numpy as np
import torch

__all__ = ["UnsafePickleError", "PickledObject", "restricted_load", "TORCH_GLOBALS",
           "SCIPY_GLOBALS"]


class UnsafePickleError(ValueError):
    """A pickle names a global, or holds a value, that its format does not."""


class PickledObject:
    """The state of a pickled object of a class that is not imported: its
    class name (``cls``) and its ``state`` (the dict it was pickled with)."""
    cls: str = ""
    #: Replaced (never mutated) when the pickle sets the state; unpickling
    #: creates the object without calling ``__init__``.
    state: Dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2 and state[1] is None:
            state = state[0]  # (dict, no slots)
        if not isinstance(state, dict):
            raise UnsafePickleError(f"A pickled {self.cls} has state of type "
                                    f"{type(state).__name__}, not a dict.")
        self.state = dict(state)


def _record(qualified: str) -> type:
    """A :class:`PickledObject` subclass standing for ``qualified``."""
    return type("Pickled" + qualified.rsplit(".", 1)[-1], (PickledObject, ), {"cls": qualified})


def _load_storage(data: bytes) -> Any:
    if not isinstance(data, bytes):
        raise UnsafePickleError("A pickled tensor storage is not a bytes object.")
    return torch.load(io.BytesIO(data), weights_only=True)


def _rebuild_tensor(storage: Any, offset: int, size: Tuple[int, ...], stride: Tuple[int, ...],
                    requires_grad: bool = False, hooks: Any = None, *rest: Any) -> torch.Tensor:
    if not isinstance(storage, (torch.TypedStorage, torch.UntypedStorage)):
        raise UnsafePickleError("A pickled tensor is not built on a tensor storage.")
    if hooks:
        raise UnsafePickleError("A pickled tensor carries backward hooks.")
    if not all(isinstance(v, int) for v in (offset, *size, *stride)):
        raise UnsafePickleError("A pickled tensor has a non-integer size, stride or offset.")
    return torch._utils._rebuild_tensor_v2(storage, offset, tuple(size), tuple(stride),
                                           bool(requires_grad), OrderedDict())


def _empty_ordered_dict(*args: Any) -> OrderedDict:
    if args:
        raise UnsafePickleError("A pickled OrderedDict has constructor arguments.")
    return OrderedDict()


def _numeric_dtype(obj: Any, align: bool = False, copy: bool = True) -> np.dtype:
    dtype = np.dtype(obj)
    if dtype.hasobject or dtype.kind not in "biufc":
        raise UnsafePickleError(f"A pickled array has dtype {dtype}; only numeric dtypes are "
                                "read.")
    return dtype


def _reconstruct_array(cls: Any, shape: Any, dtype: Any) -> np.ndarray:
    if cls is not np.ndarray:
        raise UnsafePickleError("A pickled array is not a numpy.ndarray.")
    return np.ndarray.__new__(np.ndarray, (0, ), np.uint8)


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    if not isinstance(text, str) or encoding != "latin1":
        raise UnsafePickleError("A pickle encodes bytes other than as latin1 text.")
    return text.encode("latin1")


#: What a pickle of PyG ``Data`` objects holding tensors references.
TORCH_GLOBALS: Dict[Tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch.storage", "_load_from_bytes"): _load_storage,
    ("collections", "OrderedDict"): _empty_ordered_dict,
    ("torch_geometric.data.data", "Data"): _record("torch_geometric.data.data.Data"),
}
_SPARSE = {cls: _record("scipy.sparse." + cls) for cls in ("coo_matrix", "csr_matrix",
                                                           "csc_matrix")}
#: What a pickle of SciPy sparse matrices references (SciPy module paths of
#: 2019 and of today, NumPy 1 and 2).
SCIPY_GLOBALS: Dict[Tuple[str, str], Any] = {
    **{(module, cls): rec for cls, rec in _SPARSE.items()
       for module in (f"scipy.sparse.{cls[:3]}", f"scipy.sparse._{cls[:3]}")},
    **{(module, "_reconstruct"): _reconstruct_array
       for module in ("numpy.core.multiarray", "numpy._core.multiarray")},
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _numeric_dtype,
    ("_codecs", "encode"): _latin1,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, allowed: Mapping[Tuple[str, str], Any],
                 source: str) -> None:
        super().__init__(file)
        self.allowed, self.source = allowed, source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise UnsafePickleError(
                f"{self.source} references {module}.{name}, which this file format does not "
                f"use; it was not loaded (replace the file with the published one).") from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self.source} holds a persistent reference; it was not "
                                "loaded (replace the file with the published one).")


def restricted_load(path: str, allowed: Mapping[Tuple[str, str], Any]) -> Any:
    """Unpickles ``path`` resolving only the globals of ``allowed`` (e.g.
    :data:`TORCH_GLOBALS`); objects of other libraries come back as
    :class:`PickledObject` records.  Raises :class:`UnsafePickleError` (one
    line, naming the file) for anything else."""
    with open(path, "rb") as f:
        try:
            return _Unpickler(f, allowed, f"'{path}'").load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError,
                RuntimeError) as e:
            raise UnsafePickleError(f"'{path}' is not a readable pickle of this format "
                                    f"({type(e).__name__}: {e}).") from None


