"""Run folders: locked while in use, reused only with --resume or --overwrite."""
import os
import subprocess
import sys

import pytest

from pyg_dss.train import RunFolder, RunFolderBusyError, UsageError
from pyg_dss.train.folder import LOCK_NAME

HOLD = r"""
import sys, time
from pyg_dss.train import RunFolder
with RunFolder(sys.argv[1]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_a_second_run_into_a_folder_in_use_is_refused(tmp_path):
    out = str(tmp_path / "run")
    with RunFolder(out) as first:
        text = open(os.path.join(out, LOCK_NAME)).read()
        assert f"pid={os.getpid()}" in text and f"token={first.token}" in text
        with pytest.raises(RunFolderBusyError, match="is in use by a running run"):
            RunFolder(out).acquire()
    assert not os.path.exists(out)  # nothing written: nothing left behind
    with RunFolder(out):  # free again
        pass


def test_a_lock_held_by_another_process_is_refused(tmp_path):
    out = str(tmp_path / "run")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, out], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunFolderBusyError, match=f"pid={holder.pid}"):
            RunFolder(out).acquire()
    finally:
        holder.kill()
        holder.wait()
    # The killed run left its lock file, not its lock: the next run takes over.
    assert os.path.exists(os.path.join(out, LOCK_NAME))
    with RunFolder(out) as folder:
        assert f"token={folder.token}" in open(os.path.join(out, LOCK_NAME)).read()
    assert not os.path.exists(os.path.join(out, LOCK_NAME))


def test_reusing_a_folder_that_holds_a_run_needs_a_choice(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"old")
    (out / "best_model.pt").write_bytes(b"old")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="holds a finished or interrupted run: add --resume "
                                         "to continue it, --overwrite to start it again"):
        RunFolder(str(out)).acquire()
    assert not (out / LOCK_NAME).exists()
    with RunFolder(str(out), resume=True):
        assert (out / "checkpoint.pt").exists()
    with RunFolder(str(out), overwrite=True):
        assert not (out / "checkpoint.pt").exists() and not (out / "best_model.pt").exists()
        assert (out / "notes.txt").read_text() == "mine"  # only the run's own files go
    with pytest.raises(UsageError, match="give one of them"):
        RunFolder(str(out), resume=True, overwrite=True)
