r"""A base class for datasets with a processed cache that cannot run code,
cannot go stale and cannot be half-written.

PyG's :class:`~torch_geometric.data.Dataset` keeps ``processed/pre_transform.pt``
and ``pre_filter.pt`` and loads them with full unpickling, and
``torch_geometric.io.fs.torch_load`` falls back to full unpickling when the
safe load of the main file fails: a shared dataset folder can run code. It
also only *warns* when ``pre_transform`` changed, keys nothing on the raw
files, and shares one ``pre_transform.pt`` between all processed files of a
root. :class:`CachedInMemoryDataset` replaces that machinery (``_download``,
``_process``, ``save``, ``load``) and keeps the rest of
:class:`~torch_geometric.data.InMemoryDataset` (``transform``, indexing,
slicing, ``process()`` written as in PyG).

The cache key
-------------
Each processed file stores a key: the SHA-256 of

* the dataset class (its qualified name and :attr:`cache_version`; the code
  of classes defined outside pyg-dss);
* :meth:`cache_options` (the selection and every option that shapes the
  content);
* fingerprints of ``pre_transform`` and ``pre_filter``
  (:func:`pyg_dss.datasets.fingerprint.fingerprint`: code, captured values
  and state, not the repr);
* :meth:`raw_identity` (default: name, size, modification time and a hash
  of the first and last MiB of every raw file: published archives nobody
  edits in place; :class:`~pyg_dss.datasets.MeshFolder` hashes the whole
  content of a user's frames instead).

The file is used only if its key equals the key of the request; otherwise it
is rebuilt in place and :attr:`cache_status` (also printed to stderr outside
tests) says what changed. ``pre_transform.pt`` / ``pre_filter.pt`` are never
read or written.

Refusals (each before any processing work, naming the path and the fix):
a root or ``processed`` that is a file; a cache that must be (re)built in a
folder this process cannot write (a read-only shared root); a cache file that
does not load with ``weights_only=True`` (never unpickled further: delete the
folder); items with NaN or inf in a floating-point attribute; an empty item
list. Temporary files of interrupted saves in ``processed`` are removed.

Writing a subclass (here the raw file lists the sizes of the meshes):

.. testcode::

    import os
    import torch
    from torch_geometric.data import Data
    from pyg_dss.datasets import CachedInMemoryDataset

    class MyMeshes(CachedInMemoryDataset):
        cache_version = 1                 # bump when process() output changes

        def __init__(self, root, scale=1.0, transform=None, pre_transform=None,
                     pre_filter=None, force_reload=False):
            self.scale = scale            # options first: they enter the key
            super().__init__(root, transform, pre_transform, pre_filter,
                             force_reload=force_reload)
            self.load(self.processed_paths[0])

        raw_file_names = ["sizes.txt"]
        processed_file_names = "meshes.pt"   # exactly one file

        def cache_options(self):
            return {"scale": self.scale}

        def download(self):               # called when raw files are missing
            raise FileNotFoundError(f"Put sizes.txt into {self.raw_dir}.")

        def process(self):
            with open(self.raw_paths[0]) as f:
                data_list = [Data(x=self.scale * torch.ones(int(n), 3))
                             for n in f.read().split()]
            if self.pre_filter is not None:
                data_list = [d for d in data_list if self.pre_filter(d)]
            if self.pre_transform is not None:
                data_list = [self.pre_transform(d) for d in data_list]
            self.save(data_list, self.processed_paths[0])

    os.makedirs("meshes/raw")
    with open("meshes/raw/sizes.txt", "w") as f:
        f.write("4 5 6")
    meshes = MyMeshes("meshes", scale=2.0)   # processed once, then read from the cache
    print(len(meshes), meshes[1].num_nodes, meshes[1].x[0, 0].item())

.. testoutput::

    3 5 2.0
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from torch_geometric.data import Data, HeteroData, InMemoryDataset

from ..data import SetData
from ..io import (UnreadableFileError, _temp_name, atomic_torch_save, remove_stale_temp_files,
                  safe_torch_load)
from .fingerprint import describe, fingerprint

__all__ = ["CachedInMemoryDataset", "FORMAT"]

FORMAT = "pyg_dss.dataset_cache/1"
#: Data classes a cache may hold (resolved by name: no class is unpickled).
DATA_CLASSES = {"Data": Data, "SetData": SetData, "HeteroData": HeteroData}


class CachedInMemoryDataset(InMemoryDataset):
    r"""An :class:`~torch_geometric.data.InMemoryDataset` whose processed
    file is keyed by everything that changes its content, written
    atomically, and loaded with ``weights_only=True`` only (see the module
    docstring for the key, the refusals and how to subclass).

    Subclasses define ``raw_file_names``, ``processed_file_names`` (one
    file), :meth:`cache_options`, ``download`` (if raw files can be missing)
    and ``process`` (ending with ``self.save(data_list, path)``), and call
    ``self.load(self.processed_paths[0])`` after ``super().__init__``.

    Attributes:
        cache_status (str): ``"loaded"``, ``"built: <why>"`` or
            ``"rebuilt: <what changed>"``.
    """

    #: Bump when :meth:`process` produces different content for the same inputs.
    cache_version: int = 1
    #: Bytes hashed at the start and at the end of every raw file.
    raw_sample_bytes: int = 1 << 20
    #: How to put the cache elsewhere, when its folder cannot be written.
    cache_elsewhere: str = ("pass a root= you can write to (with the raw files copied or "
                            "linked into <root>/raw)")
    #: (path, contents) of the processed file read while checking the cache,
    #: kept for :meth:`load` so that it is not read twice.
    _loaded: Optional[Tuple[str, Dict[str, Any]]] = None

    # -- what a subclass describes ------------------------------------------
    def cache_options(self) -> Dict[str, Any]:
        r"""Plain data (JSON-serialisable) naming the selection and options
        that shape the processed content."""
        return {}

    def raw_identity(self) -> List[Any]:
        r"""Identity of the raw inputs: for every raw file its name, size,
        modification time (ns) and a SHA-256 of its first and last
        :attr:`raw_sample_bytes`. Override for inputs that are not files
        (e.g. a generator's source)."""
        out = []
        for path in self.raw_paths:
            st = os.stat(path)
            h = hashlib.sha256()
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    h.update(f.read(self.raw_sample_bytes))
                    if st.st_size > 2 * self.raw_sample_bytes:
                        f.seek(-self.raw_sample_bytes, os.SEEK_END)
                    h.update(f.read(self.raw_sample_bytes))
            out.append([os.path.basename(path), st.st_size, st.st_mtime_ns, h.hexdigest()])
        return out

    # -- key ------------------------------------------------------------------
    def cache_description(self) -> Dict[str, Any]:
        r"""Everything the cache key covers, as plain data."""
        cls = type(self)
        code = None if cls.__module__.startswith("pyg_dss.") else fingerprint(cls, cls.__name__)
        return {
            "dataset": f"{cls.__module__}.{cls.__qualname__}",
            "cache_version": self.cache_version,
            "dataset_code": code,
            "options": json.loads(json.dumps(self.cache_options())),
            "pre_transform": fingerprint(self.pre_transform, "pre_transform"),
            "pre_filter": fingerprint(self.pre_filter, "pre_filter"),
            "raw": self.raw_identity(),
        }

    @staticmethod
    def _key(description: Dict[str, Any]) -> str:
        text = json.dumps(description, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    # -- PyG hooks ------------------------------------------------------------
    def _check_folders(self) -> None:
        for path, what in ((self.root, "dataset root"), (self.processed_dir, "'processed' folder")):
            if os.path.exists(path) and not os.path.isdir(path):
                raise NotADirectoryError(
                    f"The {what} '{path}' of {type(self).__name__} is a file, but must be a "
                    "folder. Fix: move or delete that file, or pass another root=.")

    def _download(self) -> None:
        # PyG's version creates <root>/raw first; nothing of ours downloads,
        # download() only explains what to fetch by hand.
        self._check_folders()
        if self.raw_paths and not all(os.path.exists(p) for p in self.raw_paths):
            self.download()

    def _process(self) -> None:
        self._check_folders()
        paths = self.processed_paths
        if len(paths) != 1:
            raise TypeError(f"{type(self).__name__}: a CachedInMemoryDataset keeps exactly "
                            f"one processed file, got {paths}.")
        path = paths[0]
        self._about = self.cache_description()
        self._cache_key = self._key(self._about)
        self._names = {"pre_transform": describe(self.pre_transform),
                       "pre_filter": describe(self.pre_filter)}
        if self.force_reload:
            reason = "force_reload=True"
        elif not os.path.exists(path):
            reason = "no cache yet"
        else:
            stored = self._read(path)
            if stored.get("key") == self._cache_key:
                self._loaded = (path, stored)
                self.cache_status = "loaded"
                if _write_error(self.processed_dir) is None:
                    remove_stale_temp_files(self.processed_dir)
                return
            reason = self._what_changed(stored)
        self._require_writable(path, reason)
        remove_stale_temp_files(self.processed_dir)
        if self.log and "PYTEST_CURRENT_TEST" not in os.environ:
            print(f"Processing {path} ({reason})...", file=sys.stderr, flush=True)
        self.process()
        self.cache_status = ("built: " if reason == "no cache yet" else "rebuilt: ") + reason

    def _read(self, path: str) -> Dict[str, Any]:
        stored = safe_torch_load(path, what=f"{type(self).__name__} cache", mmap=True,
                                 fix=f"delete the folder '{self.processed_dir}' and run "
                                     "again to rebuild it from the raw files")
        if not isinstance(stored, dict) or stored.get("format") != FORMAT:
            return {"format": None}
        return stored

    def _what_changed(self, stored: Dict[str, Any]) -> str:
        if stored.get("format") != FORMAT:
            return "the cache was written by an older version of pyg-dss"
        old, new = stored.get("about", {}), self._about
        names = stored.get("names", {})
        changes = []
        if (old.get("dataset"), old.get("cache_version"), old.get("dataset_code")) != (
                new["dataset"], new["cache_version"], new["dataset_code"]):
            changes.append(f"dataset code {old.get('dataset')} v{old.get('cache_version')} -> "
                           f"{new['dataset']} v{new['cache_version']}")
        o_opt, n_opt = old.get("options", {}), new["options"]
        for k in sorted(set(o_opt) | set(n_opt)):
            if o_opt.get(k) != n_opt.get(k):
                changes.append(f"option {k}: {_short(o_opt.get(k))} -> {_short(n_opt.get(k))}")
        for k in ("pre_transform", "pre_filter"):
            if old.get(k) != new[k]:
                changes.append(f"{k} changed ({names.get(k, '?')} -> {self._names[k]})")
        o_raw = {r[0]: r for r in old.get("raw", [])}
        for r in new["raw"]:
            if o_raw.get(r[0]) != r:
                changes.append(f"raw input '{r[0]}' changed")
        return "; ".join(changes) or "cache key differs"

    def _require_writable(self, path: str, reason: str) -> None:
        try:
            os.makedirs(self.processed_dir, exist_ok=True)
            error = _write_error(self.processed_dir)
        except OSError as e:
            error = e
        if error is not None:
            why = getattr(error, "strerror", None) or str(error)
            stale = "" if reason == "no cache yet" else (
                f" The cache '{path}' exists but does not fit this request ({reason}), so it "
                "would have to be rebuilt.")
            raise PermissionError(
                f"Cannot write the processed cache of {type(self).__name__} into "
                f"'{self.processed_dir}' ({why}).{stale} Fix: {self.cache_elsewhere}, or ask "
                f"the owner of '{self.root}' to build it once with these options.") from None

    def save(self, data_list: Sequence[Data], path: str) -> None:
        r"""Collates :obj:`data_list` and writes it atomically with the cache
        key. Refuses an empty list and NaN / inf in floating-point
        attributes (naming the item)."""
        data_list = list(data_list)
        if not data_list:
            raise ValueError(
                f"{type(self).__name__}: nothing to cache: no item is left (pre_filter "
                f"{describe(self.pre_filter)} removed every item, or the selection is empty).")
        for i, data in enumerate(data_list):
            for key, value in (data if isinstance(data, Data) else ()):
                # The sum is a cheap first pass (NaN / inf propagate into it).
                if (isinstance(value, torch.Tensor) and value.is_floating_point()
                        and not bool(torch.isfinite(value.sum()))
                        and not bool(torch.isfinite(value).all())):
                    raise ValueError(
                        f"{type(self).__name__}: item {i}{_name_of(data)} has NaN or inf in "
                        f"'{key}' after pre_transform {describe(self.pre_transform)}; it is "
                        "not cached (one NaN poisons a whole training run). Fix the "
                        "pre_transform or drop the item with pre_filter.")
        name = type(data_list[0]).__name__
        if DATA_CLASSES.get(name) is not type(data_list[0]):
            raise TypeError(f"{type(self).__name__} can cache {sorted(DATA_CLASSES)} items, "
                            f"not {type(data_list[0]).__qualname__}.")
        data, slices = self.collate(data_list)
        key = getattr(self, "_cache_key", None)
        if key is None:
            raise RuntimeError("save() is called by process() while the dataset is built.")
        atomic_torch_save({"format": FORMAT, "key": key, "about": self._about,
                           "names": self._names, "data_class": name,
                           "data": data.to_dict(), "slices": slices}, path)
        self._loaded = None

    def load(self, path: str, data_cls: type = Data) -> None:
        r"""Loads the processed file :obj:`path` (``weights_only=True``,
        tensors memory-mapped) after checking its key."""
        loaded = getattr(self, "_loaded", None)
        stored = loaded[1] if loaded and loaded[0] == path else self._read(path)
        self._loaded = None
        if stored.get("key") != getattr(self, "_cache_key", None):
            raise UnreadableFileError(
                f"The dataset cache '{path}' does not belong to this configuration (it "
                "changed while loading?); run again, or delete the folder "
                f"'{self.processed_dir}'.")
        cls = DATA_CLASSES.get(str(stored.get("data_class")))
        if cls is None:
            raise UnreadableFileError(f"The dataset cache '{path}' holds unknown items "
                                      f"{stored.get('data_class')!r}; delete the folder "
                                      f"'{self.processed_dir}' and run again.")
        self.data = cls.from_dict(stored["data"])
        self.slices = stored["slices"]


def _write_error(folder: str) -> Optional[OSError]:
    r"""Why this process cannot create files in :obj:`folder`, or
    :obj:`None` if it can (a real attempt: permission bits, ACLs and
    read-only mounts all count)."""
    probe = _temp_name(folder)  # removed by remove_stale_temp_files if we are killed
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as e:
        return e
    os.close(fd)
    with contextlib.suppress(FileNotFoundError):  # a cleaner may have taken it
        os.remove(probe)
    return None


def _name_of(data: Data) -> str:
    parts = [str(data[k]) for k in ("subject", "sequence") if k in data]
    return f" ({'_'.join(parts)})" if parts else ""


def _short(value: Any, limit: int = 80) -> str:
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

