r"""Command-line pieces every training command shares: the error a request
the command cannot serve raises, option parsers with one-line complaints, a
help formatter that shows every default, and :func:`run_command`, which turns
the usual ways a run ends early (a bad option, a missing file, a full disk,
Ctrl-C) into one line on stderr and an exit status instead of a traceback.
"""
from __future__ import annotations

import argparse
import math
import sys
from typing import Callable, List, Optional, Tuple, Type

__all__ = ["UsageError", "HelpFormatter", "add_run_folder_arguments", "int_list",
           "positive_int", "count", "fraction", "positive", "run_command", "USER_ERRORS"]


class UsageError(Exception):
    """A request the command cannot serve; reported as one line, exit status 2."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter,
                    argparse.RawDescriptionHelpFormatter):
    """``--help`` shows every option's default and keeps the description's
    line breaks (its examples stay readable); flags (``--resume``), options
    whose default is :obj:`None` (decided later, e.g. per task) and help texts
    that explain their default themselves get no ``(default: ...)``."""

    def _get_help_string(self, action: argparse.Action) -> Optional[str]:
        if action.nargs == 0 or action.default is None or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def add_run_folder_arguments(parser: argparse.ArgumentParser, default_out: str) -> None:
    """``--out`` (default :obj:`default_out`, described), ``--resume`` and
    ``--overwrite``: the options of a run folder (see :class:`~pyg_dss.train.RunFolder`)."""
    parser.add_argument("--out", default=None, help=f"output folder (default: {default_out})")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its checkpoint.pt (its "
                             "configuration is kept; --epochs may be raised)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start again in an --out that holds a finished or interrupted "
                             "run (its files are replaced)")


def int_list(text: str) -> List[int]:
    """``"32,64,64"`` -> ``[32, 64, 64]``: comma-separated positive integers."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def positive_int(text: str, least: int = 1) -> int:
    """An integer of at least :obj:`least` (default 1)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be >= {least}, got {value}")
    return value


def count(text: str) -> int:
    """An integer >= 0."""
    return positive_int(text, least=0)


def fraction(text: str) -> float:
    """A number in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if math.isnan(value) or not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """A parser of :obj:`kind` (``int`` or ``float``) that accepts only values > 0."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid value {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
        return value
    return parse


#: Errors a run reports as one line with exit status 2: a request it cannot
#: serve, and files or folders that are missing, unreadable, read-only or on a
#: full disk (``OSError`` also covers a failed download, e.g. offline).
USER_ERRORS: Tuple[Type[BaseException], ...] = (UsageError, OSError, ImportError)


def run_command(body: Callable[[], int], out: Optional[Callable[[], Optional[str]]] = None,
                errors: Tuple[Type[BaseException], ...] = ()) -> int:
    r"""Calls :obj:`body` and returns its exit status; ends every expected
    failure with one line on stderr instead of a traceback:

    * :data:`USER_ERRORS` and :obj:`errors` (e.g. a dataset's own "not found"
      error): ``error: <message>``, status 2;
    * ``FloatingPointError`` (a NaN or inf input or loss stopped the run):
      status 1;
    * ``KeyboardInterrupt`` (Ctrl-C): a line naming ``--resume`` with the run
      folder :obj:`out` returns (when known), status 130.
    """
    try:
        return body()
    except KeyboardInterrupt:
        folder = out() if out is not None else None
        where = f" --out {folder}" if folder else ""
        print(f"\ninterrupted; the last finished epoch is kept: add --resume{where} to "
              "continue.", file=sys.stderr)
        return 130
    except FloatingPointError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except USER_ERRORS + tuple(errors) as e:
        print(f"error: {_one_line(e)}", file=sys.stderr)
        return 2


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        return f"{error.strerror}: '{error.filename}'"  # e.g. read-only or full --out
    text = str(error) or type(error).__name__
    return " ".join(text.split())
