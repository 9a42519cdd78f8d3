"""Reading and writing files so that nothing is half-written, nothing runs
code on load, and a damaged file names itself.

* Writes go to a temporary file in the target's folder, are flushed to disk
  and then :func:`os.replace`-d onto the target: a reader (or a run killed
  mid-write) never sees half a file.  Files are created with mode ``0o666``
  and the process umask, as ``open()`` would: a shared folder stays shared.
* Temporary files left by a killed writer are named
  ``.pyg_dss-tmp-<host>-<pid>-<random>``; :func:`remove_stale_temp_files`
  deletes those whose process is gone (same host) or that are older than a
  day (any host).
* Loads are ``torch.load(weights_only=True)`` or JSON, never a fallback to
  full unpickling: a file planted in a shared dataset or run folder cannot
  execute code.  A file that cannot be loaded raises :class:`UnreadableFileError`
  naming it and saying what to do.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import socket
import time
from typing import Any, Callable, Optional

import torch

__all__ = ["UnreadableFileError", "atomic_write", "atomic_torch_save", "atomic_write_json",
           "atomic_write_text", "safe_torch_load", "load_json", "remove_stale_temp_files"]

TEMP_PREFIX = ".pyg_dss-tmp-"
#: Temporary files of other hosts (or of unknown processes) older than this are stale.
STALE_AFTER_S = 24 * 3600


class UnreadableFileError(ValueError):
    """A file pyg-dss was asked to read is damaged, truncated, or holds
    something that cannot be loaded safely (e.g. pickled code)."""


def _temp_name(folder: str) -> str:
    host = socket.gethostname().replace("-", "_") or "host"
    return os.path.join(folder, f"{TEMP_PREFIX}{host}-{os.getpid()}-{secrets.token_hex(6)}")


def atomic_write(path: str, write: Callable[[Any], None], binary: bool = True) -> None:
    r"""Calls ``write(f)`` on a new temporary file next to :obj:`path`, syncs
    it and moves it onto :obj:`path` in one step.  On any error (or a kill)
    :obj:`path` keeps its old content; the temporary file is removed on
    errors and by :func:`remove_stale_temp_files` after a kill."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = _temp_name(folder)
    # os.open with 0o666 lets the kernel apply the umask, as open() does
    # (tempfile.mkstemp would force 0o600 on every cache and checkpoint).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb" if binary else "w") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


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
        fix = fix or f"delete it (or its folder '{os.path.dirname(os.path.abspath(path))}') " \
                     "and run again to rebuild it"
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))  # torch's message has ANSI codes
        unsafe = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
        detail = re.search(r"WeightsUnpickler error:\s*(\S[^\n]*)", text)
        if unsafe:
            reason = f"it holds a pickled {unsafe.group(1)} object, which weights_only=True refuses"
        elif detail:  # torch's advice to retry unsafely is left out on purpose
            reason = f"not a valid torch file ({detail.group(1).strip()})"
        else:
            reason = text.strip().splitlines()[0] if text.strip() else type(e).__name__
        raise UnreadableFileError(
            f"Cannot load the {what} '{path}' safely: {reason[:300]}. It is damaged, "
            f"truncated, or holds objects other than tensors and plain data (pyg-dss never "
            f"unpickles arbitrary objects). Fix: {fix}.") from None


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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(folder: str) -> int:
    r"""Deletes temporary files of interrupted :func:`atomic_write` calls in
    :obj:`folder` (not recursive): those of this host whose process is no
    longer running, and any older than a day.  Returns how many were removed.
    Files of live writers are left alone."""
    if not os.path.isdir(folder):
        return 0
    host = socket.gethostname().replace("-", "_") or "host"
    removed = 0
    for name in os.listdir(folder):
        if not name.startswith(TEMP_PREFIX):
            continue
        path = os.path.join(folder, name)
        parts = name[len(TEMP_PREFIX):].split("-")
        stale = False
        if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
            stale = int(parts[1]) != os.getpid() and not _pid_alive(int(parts[1]))
        try:
            stale = stale or time.time() - os.path.getmtime(path) > STALE_AFTER_S
            if stale:
                os.remove(path)
                removed += 1
        except FileNotFoundError:
            pass
    return removed
