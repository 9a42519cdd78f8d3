r"""Progress of a training epoch: a tqdm bar on a terminal, plain lines in a
batch job (output to a file or pipe), including lines *within* a long epoch,
so that a job log never stays silent for minutes.
"""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, TextIO, TypeVar

from tqdm import tqdm

__all__ = ["interactive", "Progress"]

T = TypeVar("T")


def interactive(stream: Optional[TextIO] = None) -> bool:
    """Whether progress bars make sense: :obj:`stream` (default stdout) is a
    terminal.  In batch jobs (output to a file or pipe), print plain lines."""
    stream = sys.stdout if stream is None else stream
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    r"""Iterates over :obj:`iterable` and shows how far an epoch has come.

    With :obj:`bar` a tqdm bar (the :meth:`update` values as its postfix);
    otherwise, when :obj:`every_batches` batches or :obj:`every_seconds`
    seconds have passed since the last line, one plain line
    ``<desc> batch k/N <values>`` (flushed), and nothing for a short epoch.

    Args:
        iterable: the batches.
        desc: what runs, e.g. ``"epoch 3/8"``.
        bar: a tqdm bar (a terminal) or plain lines.
        enabled: :obj:`False`: no output at all.
        every_batches: plain mode: a line at least every this many batches
            (0: only by time).
        every_seconds: plain mode: a line at least every this many seconds.
        stream: where to write (default stdout).
        clock: the time source (seconds).
    """
    def __init__(self, iterable: Iterable[T], desc: str = "", bar: bool = False,
                 enabled: bool = True, every_batches: int = 0, every_seconds: float = 60.0,
                 stream: Optional[TextIO] = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.iterable = iterable
        self.desc = desc
        self.bar = bar and enabled
        self.enabled = enabled
        self.every_batches = every_batches
        self.every_seconds = every_seconds
        self.stream = stream
        self.clock = clock
        self.values: Mapping[str, Any] = {}
        self._tqdm: Optional[tqdm] = None

    def __iter__(self) -> Iterator[Any]:
        stream = self.stream if self.stream is not None else sys.stdout
        if self.bar:
            self._tqdm = tqdm(self.iterable, desc=self.desc, leave=True, dynamic_ncols=True,
                              file=stream)
            yield from self._tqdm
            return
        total = _length(self.iterable)
        last_time, last_batch = self.clock(), 0
        for k, item in enumerate(self.iterable, 1):
            yield item
            now = self.clock()
            due = ((self.every_batches and k - last_batch >= self.every_batches)
                   or now - last_time >= self.every_seconds)
            if self.enabled and due and k != total:
                of = f"/{total}" if total is not None else ""
                shown = "".join(f"  {key} {value}" for key, value in self.values.items())
                print(f"{self.desc}  batch {k}{of}{shown}  ({now - last_time:.0f} s)".strip(),
                      file=stream, flush=True)
                last_time, last_batch = now, k

    def update(self, **values: Any) -> None:
        """Values to show with the next line (or on the bar now), e.g. the loss."""
        self.values = values
        if self._tqdm is not None:
            self._tqdm.set_postfix(**values)

    def write(self, line: str) -> None:
        """A line that does not break the bar."""
        if self.bar:
            tqdm.write(line, file=self.stream if self.stream is not None else sys.stdout)
        elif self.enabled:
            print(line, file=self.stream if self.stream is not None else sys.stdout,
                  flush=True)


def _length(iterable: Iterable[Any]) -> Optional[int]:
    try:
        return len(iterable)  # type: ignore[arg-type]  # TypeError when unsized
    except TypeError:
        return None
