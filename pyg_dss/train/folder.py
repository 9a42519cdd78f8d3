r"""Run folders: one run at a time in a folder, and no silent reuse of one.

A run holds ``<out>/run.lock`` while it works in ``<out>``: a file created
atomically (``O_CREAT | O_EXCL``) that names the host, the process and a
random token, and on which the run holds an exclusive ``flock``.  A second
run into the same folder stops with one line naming the first.  The lock
outlives a killed run as a file, but not as a ``flock`` (the kernel drops
it with the process), so the next run takes over a lock nobody holds,
whatever the process ids look like in another PID namespace.

A folder that already holds a run's files (a finished or interrupted run)
is reused only on request: ``resume=True`` continues it, ``overwrite=True``
starts it again; without either the run stops with one line that says so.
"""
from __future__ import annotations

import fcntl
import os
import secrets
import socket
from types import TracebackType
from typing import Optional, Sequence, Type

from pyg_dss.io import remove_stale_temp_files
from pyg_dss.train.cli import UsageError

__all__ = ["LOCK_NAME", "RUN_FILES", "OUTPUTS", "RunFolder", "RunFolderBusyError"]

LOCK_NAME = "run.lock"
#: Files whose presence means a run used the folder before.
RUN_FILES = ("checkpoint.pt", "metrics.json", "epochs.jsonl")
#: What ``overwrite`` removes before the new run starts: a new run killed in
#: its first epoch must not leave an old checkpoint behind for ``--resume``.
OUTPUTS = RUN_FILES + ("best_model.pt",)


class RunFolderBusyError(UsageError):
    """Another live run holds the folder's lock."""


class RunFolder:
    r"""The output folder of one run, locked while the run uses it.

    Use it as a context manager (or call :meth:`acquire` / :meth:`release`):

    .. testcode::

        import os
        from pyg_dss.train.folder import RunFolder

        with RunFolder("runs/a", resume=False, overwrite=False) as folder:
            print(os.path.exists(folder.lock_path))   # locked while the run lasts
            with open("runs/a/metrics.json", "w") as f:   # train, write files into runs/a
                f.write("{}")
        print(os.listdir("runs/a"), RunFolder("runs/a").holds_run())

    .. testoutput::

        True
        ['metrics.json'] True

    Args:
        path: the folder (created if missing).
        resume: the run continues what the folder holds.
        overwrite: the run starts again in a folder that holds a run.
        run_files: the names whose presence means the folder holds a run.
        outputs: the names ``overwrite`` removes.
    """
    def __init__(self, path: str, resume: bool = False, overwrite: bool = False,
                 run_files: Sequence[str] = RUN_FILES,
                 outputs: Sequence[str] = OUTPUTS) -> None:
        if resume and overwrite:
            raise UsageError("--resume continues the run in --out and --overwrite starts it "
                             "again: give one of them.")
        self.path = path
        self.resume = resume
        self.overwrite = overwrite
        self.run_files = tuple(run_files)
        self.outputs = tuple(outputs)
        self.token = secrets.token_hex(8)
        self._fd: Optional[int] = None
        self._created = False

    @property
    def lock_path(self) -> str:
        return os.path.join(self.path, LOCK_NAME)

    def holds_run(self) -> bool:
        """Whether the folder holds files of an earlier run."""
        return any(os.path.exists(os.path.join(self.path, n)) for n in self.run_files)

    def acquire(self) -> "RunFolder":
        """Creates the folder, takes its lock and checks that it may be used."""
        self._created = not os.path.isdir(self.path)
        os.makedirs(self.path, exist_ok=True)
        self._lock()
        try:
            if self.holds_run() and not (self.resume or self.overwrite):
                raise UsageError(
                    f"'{self.path}' holds a finished or interrupted run: add --resume to "
                    "continue it, --overwrite to start it again, or choose another --out.")
            remove_stale_temp_files(self.path)  # left by a run killed mid-save
            if self.overwrite:
                for name in self.outputs:
                    if os.path.isfile(os.path.join(self.path, name)):
                        os.unlink(os.path.join(self.path, name))
        except BaseException:
            self.release()
            raise
        return self

    def release(self) -> None:
        """Removes the lock file (if it is still this run's) and drops the lock;
        removes the folder too if this run created it and wrote nothing."""
        if self._fd is None:
            return
        try:
            if _read(self.lock_path).endswith(f"token={self.token}\n"):
                os.unlink(self.lock_path)
        except OSError:
            pass  # already gone: nothing to release
        finally:
            os.close(self._fd)
            self._fd = None
        try:
            if self._created and not os.listdir(self.path):
                os.rmdir(self.path)  # a run that wrote nothing leaves nothing behind
        except OSError:
            pass  # another run uses it by now

    def __enter__(self) -> "RunFolder":
        return self.acquire()

    def __exit__(self, kind: Optional[Type[BaseException]], error: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def _lock(self) -> None:
        text = (f"host={socket.gethostname()}\npid={os.getpid()}\n"
                f"token={self.token}\n").encode()
        for _ in range(5):  # the file may vanish or appear between the calls below
            try:
                fd = os.open(self.lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                taken = self._take_over()
                if taken is None:
                    continue
                fd = taken
            try:  # a new file: only a run that opened it this very moment could hold it
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise RunFolderBusyError(f"'{self.path}' is in use by another run; wait for "
                                         "it to end or choose another --out.") from None
            os.ftruncate(fd, 0)
            os.write(fd, text)
            self._fd = fd
            return
        raise RunFolderBusyError(f"Could not lock '{self.lock_path}': other runs keep "
                                 "creating and removing it.")

    def _take_over(self) -> Optional[int]:
        """The lock file of a run that ended without removing it (its ``flock``
        is gone), opened and locked; :obj:`None` if the file vanished."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = " ".join(_read(self.lock_path).split()[:2]) or "another run"
            os.close(fd)
            raise RunFolderBusyError(
                f"'{self.path}' is in use by a running run ({owner}); wait for it to end or "
                "choose another --out.") from None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(self.lock_path))
        except FileNotFoundError:
            same = False
        if not same:  # removed (and maybe recreated) after we opened it
            os.close(fd)
            return None
        return fd


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""
