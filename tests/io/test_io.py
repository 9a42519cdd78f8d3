"""Safe, atomic files: no code runs on load, damaged files name themselves,
writes honour the umask, temp files of killed writers are cleaned up, and a
checkpoint rebuilds its model in one call."""
import fcntl
import os
import subprocess
import sys

import pytest
import torch

from pyg_dss.checkpoint import load_model, save_model
from pyg_dss.io import (TEMP_PREFIX, UnreadableFileError, atomic_torch_save, atomic_write,
                        atomic_write_json,
                        load_json, remove_stale_temp_files, safe_torch_load)
from pyg_dss.nn import DSSNet


class Payload:
    """Unpickling this writes a marker file: what a planted file would do."""
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_safe_load_refuses_pickled_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"state": Payload(str(marker))}, path)
    with pytest.raises(UnreadableFileError, match=r"Cannot load the dataset cache '.*evil\.pt' "
                                                  r"safely.*Fix: delete it"):
        safe_torch_load(str(path), what="dataset cache")
    assert not marker.exists()


def test_safe_load_names_truncated_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    atomic_torch_save({"w": torch.randn(100, 100)}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(UnreadableFileError, match=r"checkpoint '.*ckpt\.pt'"):
        safe_torch_load(str(path), what="checkpoint")
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        safe_torch_load(str(tmp_path / "none.pt"), what="checkpoint")


def test_load_json_names_damaged_file(tmp_path):
    path = tmp_path / "metrics.json"
    atomic_write_json({"a": [1, 2]}, str(path))
    assert load_json(str(path)) == {"a": [1, 2]}
    path.write_text('{"a": [1, ')
    with pytest.raises(UnreadableFileError, match=r"metrics\.json' is not valid JSON"):
        load_json(str(path), what="metrics file")
    with pytest.raises(ValueError):  # strict JSON: NaN is refused, not written
        atomic_write_json({"loss": float("nan")}, str(path))
    assert path.read_text() == '{"a": [1, '  # the old content is kept on failure


def test_atomic_write_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_torch_save({"a": 1}, str(tmp_path / "a.pt"))
        atomic_write_json({"a": 1}, str(tmp_path / "a.json"))
    finally:
        os.umask(old)
    for name in ("a.pt", "a.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644
    assert not [n for n in os.listdir(tmp_path) if n.startswith(TEMP_PREFIX)]


def _age(path, seconds=60):
    t = os.path.getmtime(path) - seconds
    os.utime(path, (t, t))


def test_temp_files_of_killed_writers_are_removed(tmp_path):
    # A writer killed mid-save leaves its temporary file behind.
    code = ("import os, sys, torch; from pyg_dss import io\n"
            "def write(f):\n    f.write(b'x' * 1000); f.flush(); os._exit(9)\n"
            f"io.atomic_write({str(tmp_path / 'big.pt')!r}, write)\n")
    res = subprocess.run([sys.executable, "-c", code])
    assert res.returncode == 9
    left = [n for n in os.listdir(tmp_path) if n.startswith(TEMP_PREFIX)]
    assert len(left) == 1 and not (tmp_path / "big.pt").exists()
    assert remove_stale_temp_files(str(tmp_path)) == 1
    assert os.listdir(tmp_path) == []


def test_live_writer_in_another_pid_namespace_keeps_its_temp_file(tmp_path):
    # A writer in another PID namespace (same host name) whose PID means
    # nothing here: its lock, not its PID, says it is alive.
    name = f"{TEMP_PREFIX}{os.uname().nodename.replace('-', '_')}-999999-abc"
    path = tmp_path / name
    path.write_bytes(b"half")
    _age(path)
    with open(path, "rb") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        assert remove_stale_temp_files(str(tmp_path)) == 0
        assert path.exists()
    assert remove_stale_temp_files(str(tmp_path)) == 1  # the writer is gone


def test_writer_holds_its_temp_file_while_writing(tmp_path):
    seen = []

    def write(f):
        f.write(b"x")
        f.flush()
        temp = [n for n in os.listdir(tmp_path) if n.startswith(TEMP_PREFIX)]
        _age(tmp_path / temp[0])
        seen.append(remove_stale_temp_files(str(tmp_path)))

    atomic_write(str(tmp_path / "a.bin"), write)
    assert seen == [0] and (tmp_path / "a.bin").read_bytes() == b"x"


def test_full_disk_is_one_line(tmp_path):
    def write(f):  # torch.save's zip writer on a full disk
        with open("/dev/full", "wb") as full:
            torch.save({"a": torch.zeros(10000)}, full)

    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    import pyg_dss.io as io
    real = io.shutil.disk_usage
    io.shutil.disk_usage = lambda folder: real(folder)._replace(free=0)
    try:
        with pytest.raises(OSError, match=r"No space left to write '.*cache\.pt' .*full; "
                                          r"nothing was changed\). Fix: free space") as info:
            atomic_write(str(tmp_path / "cache.pt"), write)
    finally:
        io.shutil.disk_usage = real
    assert "\n" not in str(info.value)
    assert os.listdir(tmp_path) == []


class System:
    def __reduce__(self):
        return (os.system, ("true",))


def test_safe_load_never_quotes_torch_advice(tmp_path):
    path = tmp_path / "best_model.pt"
    torch.save({"a": System()}, path)
    with pytest.raises(UnreadableFileError) as info:
        safe_torch_load(str(path), what="model checkpoint")
    text = str(info.value)
    assert "pickled posix.system object" in text
    assert "weights_only=False" not in text and "trusted source" not in text
    assert "\n" not in text


def test_non_checkpoint_file_does_not_advise_deleting_the_folder(tmp_path):
    run = tmp_path / "run"
    atomic_write_json({"seed": 1}, str(run / "metrics.json"))
    with pytest.raises(UnreadableFileError) as info:
        load_model(str(run / "metrics.json"))
    text = str(info.value)
    assert "is not a model checkpoint" in text and "check the path" in text
    assert "delete" not in text.lower()


def test_checkpoint_rebuilds_model(tmp_path):
    torch.manual_seed(0)
    model = DSSNet(3, base="pointnet", variant="aittala", hidden=(5, 6), head_hidden=(4,))
    save_model(str(tmp_path / "m.pt"), model, epoch=3, metrics={"acc": 0.5})
    again, ckpt = load_model(str(tmp_path / "m.pt"))
    assert isinstance(again, DSSNet) and again.config == model.config
    assert ckpt["epoch"] == 3 and ckpt["metrics"] == {"acc": 0.5}
    for (k, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    # A bare state_dict is refused with a message that says what to do.
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(UnreadableFileError, match="not a pyg-dss model checkpoint"):
        load_model(str(tmp_path / "bare.pt"))
    with pytest.raises(ValueError, match="custom base"):
        _ = DSSNet(3, base=lambda i, o: torch.nn.Linear(i, o)).config


def test_writer_whose_file_a_cleaner_took_takes_another(tmp_path, monkeypatch):
    # A cleaner running between a writer's creating and locking its file
    # removes it (its lock is free); the writer notices and takes a new one.
    real, calls = fcntl.flock, []

    def flock(fd, operation):
        if not calls:
            calls.append("cleaning")
            calls[0] = remove_stale_temp_files(str(tmp_path))
        return real(fd, operation)

    monkeypatch.setattr(fcntl, "flock", flock)
    atomic_write_json({"a": 1}, str(tmp_path / "a.json"))
    assert calls == [1] and load_json(str(tmp_path / "a.json")) == {"a": 1}
    assert os.listdir(tmp_path) == ["a.json"]
