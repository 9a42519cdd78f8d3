"""A small cache keyed on tensors by identity, for per-batch answers that
must never outlive (or be stale for) the tensors they were computed from."""
from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any, Callable, Sequence, Tuple

from torch import Tensor


class TensorKeyedCache:
    """A small LRU cache whose key includes tensors *by identity*: an entry is
    a hit only while the very same tensor objects are alive, unmodified
    (``_version``) and on the same storage (``data_ptr``).  Values never hold
    the key tensors, so the cache does not keep batches alive."""
    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._entries: "OrderedDict[Any, Tuple[list, tuple, Any]]" = OrderedDict()

    @staticmethod
    def _stamp(tensors: Sequence[Tensor]) -> tuple:
        return tuple((t._version, t.data_ptr(), tuple(t.shape), t.device) for t in tensors)

    def get(self, tensors: Sequence[Tensor], extra: Any, compute: Callable[[], Any]) -> Any:
        if any(t.is_inference() for t in tensors):  # no version counter: never cache
            return compute()
        key = (tuple(id(t) for t in tensors), extra)
        entry = self._entries.get(key)
        if entry is not None:
            refs, stamp, value = entry
            if all(r() is t for r, t in zip(refs, tensors)) and stamp == self._stamp(tensors):
                self._entries.move_to_end(key)
                return value
        value = compute()
        self._entries[key] = ([weakref.ref(t) for t in tensors], self._stamp(tensors), value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()
