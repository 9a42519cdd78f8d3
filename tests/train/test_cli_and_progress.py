"""The command-line pieces and the progress lines every training command shares."""
import argparse
import io

import pytest

from pyg_dss.train import (HelpFormatter, Progress, UsageError, int_list, positive,
                           run_command)


def test_run_command_turns_endings_into_one_line(capsys):
    def interrupted():
        raise KeyboardInterrupt

    assert run_command(interrupted, out=lambda: "runs/a") == 130
    assert capsys.readouterr().err.strip() == (
        "interrupted; the last finished epoch is kept: add --resume --out runs/a to continue.")

    def read_only():
        raise PermissionError(13, "Permission denied", "/ro/run/metrics.json")

    assert run_command(read_only) == 2
    assert capsys.readouterr().err == "error: Permission denied: '/ro/run/metrics.json'\n"

    def full():
        raise OSError(28, "No space left on device", "/full/run/checkpoint.pt")

    assert run_command(full) == 2
    assert capsys.readouterr().err == ("error: No space left on device: "
                                       "'/full/run/checkpoint.pt'\n")

    def offline():
        import urllib.error
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    assert run_command(offline) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "name resolution" in err

    def usage():
        raise UsageError("--dataset folder needs --root DIR")

    assert run_command(usage) == 2
    assert capsys.readouterr().err == "error: --dataset folder needs --root DIR\n"

    def non_finite():
        raise FloatingPointError("The training loss is nan")

    assert run_command(non_finite) == 1


def test_an_out_that_cannot_be_created_is_one_line(tmp_path, capsys):
    from pyg_dss.train import RunFolder

    (tmp_path / "file").write_text("not a folder")
    out = str(tmp_path / "file" / "run")
    code = run_command(lambda: RunFolder(out).acquire() and 0)
    err = capsys.readouterr().err
    assert code == 2 and err == f"error: Not a directory: '{out}'\n"


def test_parsers_and_help_with_defaults():
    assert int_list("32,64, 64") == [32, 64, 64]
    for bad in ("a,b", "0,3", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            int_list(bad)
    with pytest.raises(argparse.ArgumentTypeError, match="must be positive"):
        positive(float)("-3")
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter)
    parser.add_argument("--epochs", type=int, default=8, help="epochs")
    parser.add_argument("--resume", action="store_true", help="continue")
    parser.add_argument("--root", default=None, help="dataset folder")
    text = " ".join(parser.format_help().split())
    assert "epochs (default: 8)" in text
    assert "continue (default" not in text and "folder (default" not in text


def test_progress_prints_lines_within_a_long_epoch():
    now = [0.0]

    def clock():
        now[0] += 10.0  # every batch takes 10 s
        return now[0]

    stream = io.StringIO()
    progress = Progress(range(10), desc="epoch 1/2", every_seconds=25, stream=stream,
                        clock=clock)
    for k in progress:
        progress.update(loss=f"{1 / (k + 1):.3f}")
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("epoch 1/2  batch 3/10  loss 0.333")
    assert len(lines) == 3 and "\r" not in stream.getvalue()  # batches 3, 6, 9; not 10

    stream = io.StringIO()
    progress = Progress(range(7), desc="e", every_batches=2, every_seconds=1e9, stream=stream)
    list(progress)
    assert [line.split()[2] for line in stream.getvalue().splitlines()] == ["2/7", "4/7",
                                                                           "6/7"]
    stream = io.StringIO()
    list(Progress(range(7), every_batches=1, enabled=False, stream=stream))
    assert stream.getvalue() == ""
