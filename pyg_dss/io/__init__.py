"""Reading and writing files so that nothing is half-written, nothing runs
code on load, and a damaged file names itself.

* Writes go to a temporary file in the target's folder, are flushed to disk
  and then :func:`os.replace`-d onto the target: a reader (or a run killed
  mid-write) never sees half a file.  Files are created with mode ``0o666``
  and the process umask, as ``open()`` would: a shared folder stays shared.
* Temporary files are named ``.pyg_dss-tmp-<random token>`` and their
  writer holds an exclusive :func:`fcntl.flock` on them until the file is
  moved into place.  :func:`remove_stale_temp_files` deletes only those
  whose lock is free (the kernel drops a lock when its process dies, however
  it dies), so the rule holds across PID namespaces, containers sharing a
  host name, and hosts sharing a folder over NFS (which emulates flock with
  its own locks).  Process ids are not compared: they mean nothing across
  namespaces.
* Loads are ``torch.load(weights_only=True)`` or JSON, never a fallback to
  full unpickling: a file planted in a shared dataset or run folder cannot
  execute code.  A file that cannot be loaded raises :class:`UnreadableFileError`
  naming it and saying what to do.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import secrets
import shutil
from typing import Any, Callable, Optional, Tuple

import torch

__all__ = ["UnreadableFileError", "atomic_write", "atomic_torch_save", "atomic_write_json",
           "atomic_write_text", "safe_torch_load", "load_json", "remove_stale_temp_files"]

TEMP_PREFIX = ".pyg_dss-tmp-"


class UnreadableFileError(ValueError):
    """A file pyg-dss was asked to read is damaged, truncated, or holds
    something that cannot be loaded safely (e.g. pickled code)."""


def _temp_name(folder: str) -> str:
    return os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(12)}")


def _locked_temp_file(folder: str) -> Tuple[str, int]:
    r"""A new temporary file in :obj:`folder` and its descriptor, holding an
    exclusive lock until closed: the sign to :func:`remove_stale_temp_files`
    that its writer is alive."""
    while True:
        tmp = _temp_name(folder)
        # os.open with 0o666 lets the kernel apply the umask, as open() does
        # (tempfile.mkstemp would force 0o600 on every cache and checkpoint).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:
            return tmp, fd
        # A cleaner took it between creating and locking: take another.
        os.close(fd)


def atomic_write(path: str, write: Callable[[Any], None], binary: bool = True) -> None:
    r"""Calls ``write(f)`` on a new temporary file next to :obj:`path`, syncs
    it and moves it onto :obj:`path` in one step.  On any error (or a kill)
    :obj:`path` keeps its old content; the temporary file is removed on
    errors and by :func:`remove_stale_temp_files` after a kill."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp, fd = _locked_temp_file(folder)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, path)  # still locked: never seen unlocked under its temp name
    except BaseException as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        if _disk_full(e, folder):
            raise OSError(errno.ENOSPC, f"No space left to write '{path}' (the disk of "
                          f"'{folder}' is full; nothing was changed). Fix: free space there, or "
                          f"write to another folder") from None
        raise


def _disk_full(error: BaseException, folder: str) -> bool:
    r"""Whether :obj:`error` of a write into :obj:`folder` means a full disk
    (torch.save reports it as a RuntimeError of its zip writer)."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(error, RuntimeError) and "inline_container" in str(error):
        try:
            return shutil.disk_usage(folder).free < (1 << 20)
        except OSError:
            return False
    return False


def atomic_torch_save(obj: Any, path: str) -> None:
    """``torch.save`` through :func:`atomic_write`."""
    atomic_write(path, lambda f: torch.save(obj, f))


def atomic_write_json(obj: Any, path: str, indent: Optional[int] = 2) -> None:
    """``json.dump`` through :func:`atomic_write` (strict JSON: NaN is refused)."""
    text = json.dumps(obj, indent=indent, allow_nan=False)
    atomic_write(path, lambda f: f.write(text + "\n"), binary=False)


def atomic_write_text(text: str, path: str) -> None:
    """Writes a text file through :func:`atomic_write`."""
    atomic_write(path, lambda f: f.write(text), binary=False)


def safe_torch_load(path: str, map_location: Any = "cpu", what: str = "file",
                    fix: Optional[str] = None, mmap: bool = False) -> Any:
    r"""``torch.load(path, weights_only=True)``, with no fallback.

    Args:
        path: the file.
        map_location: as in :func:`torch.load`.
        what: what the file is, for the error ("dataset cache", "checkpoint").
        fix: what the user should do if it cannot be loaded (default: delete
            it and let it be rebuilt).
        mmap: map the file's tensors into memory instead of reading them
            (as in :func:`torch.load`): a large cache loads in an instant,
            pages are read when touched and shared between processes.

    Raises:
        FileNotFoundError: the file does not exist.
        UnreadableFileError: the file is truncated, damaged, or holds objects
            that ``weights_only=True`` refuses (which is how pickled code is
            stopped); the message names the file and the fix.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No {what} at '{path}'.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True, mmap=mmap)
    except Exception as e:  # UnpicklingError, RuntimeError (zip), EOFError, ...
        reason = _load_failure(str(e)) or type(e).__name__
    with open(path, "rb") as f:
        head = f.read(4)
    if not head.startswith((b"PK\x03\x04", b"\x80")):  # neither torch's zip nor a pickle
        raise UnreadableFileError(
            f"'{path}' is not a {what} (not a torch file at all: it starts with {head!r}); "
            f"check the path and pass the .pt file pyg-dss wrote.")
    fix = fix or "delete it and run again to rebuild it"
    raise UnreadableFileError(
        f"Cannot load the {what} '{path}' safely: {reason[:300]}. It is damaged, "
        f"truncated, or holds objects other than tensors and plain data (pyg-dss never "
        f"unpickles arbitrary objects). Fix: {fix}.")


#: torch's paragraph advising to load with weights_only=False: never shown.
_TORCH_ADVICE = re.compile(r"weights only load failed|weights_only.{0,40}false|trusted source|"
                           r"please file an issue|check the documentation of torch\.load", re.I)


def _load_failure(text: str) -> str:
    r"""What went wrong in torch.load's message, without its advice to retry
    with ``weights_only=False``."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)  # torch's message has ANSI codes
    unsafe = re.search(r"unsupported global:?\s+(?:GLOBAL\s+)?([\w.]+)", text, re.I)
    if unsafe:
        return f"it holds a pickled {unsafe.group(1)} object, which weights_only=True refuses"
    detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text)
    if detail:
        return f"not a valid torch file ({detail.group(1).strip()})"
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return next((ln for ln in lines if not _TORCH_ADVICE.search(ln)), "")


def load_json(path: str, what: str = "file") -> Any:
    """Reads a JSON file; a damaged one raises :class:`UnreadableFileError`
    naming it."""
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise UnreadableFileError(f"The {what} '{path}' is not valid JSON ({e}); it was "
                                  "probably cut off mid-write. Delete it and run again.") \
            from None


def remove_stale_temp_files(folder: str) -> int:
    r"""Deletes temporary files of interrupted :func:`atomic_write` calls in
    :obj:`folder` (not recursive): those whose writer's lock is free.
    Returns how many were removed.  Files of live writers (on any host or in
    any PID namespace) are left alone; a writer that has created its file but
    not yet locked it finds it removed and takes another."""
    if not os.path.isdir(folder):
        return 0
    removed = 0
    for name in os.listdir(folder):
        if not name.startswith(TEMP_PREFIX):
            continue
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:  # gone meanwhile, or not ours to read
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # a live writer holds it
            os.close(fd)
            continue
        try:
            os.remove(path)
            removed += 1
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
    return removed
