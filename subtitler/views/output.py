"""Standard output that its reader may close (`subtitler run ... | head`)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TextIO


class LineOutput:
    """Writes whole lines, flushed. The first write the reader refused (EPIPE: the pipe's other
    end closed) calls `on_closed` once (the command line stops the run as on Ctrl-C, so journals
    and locks are left in order) and points the descriptor at /dev/null, so nothing written later
    (the summary, the interpreter's last flush) fails."""

    def __init__(self, stream: TextIO, on_closed: Callable[[], None] | None = None) -> None:
        self.stream = stream
        self.closed = False
        self._on_closed = on_closed or (lambda: None)

    def line(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.stream.write(text + "\n")
            self.stream.flush()
        except (BrokenPipeError, ConnectionResetError):
            self._reader_left()

    def _reader_left(self) -> None:
        self.closed = True
        to_null(self.stream)
        self._on_closed()


def to_null(stream: TextIO) -> None:
    """Point the stream's descriptor at /dev/null (its reader is gone)."""
    with contextlib.suppress(OSError, ValueError):
        sink = os.open(os.devnull, os.O_WRONLY)
        os.dup2(sink, stream.fileno())
        os.close(sink)


def reader_left(view: object) -> bool:
    """Whether `view` writes lines to a standard output whose reader has gone (`| head -1`)."""
    output = getattr(view, "output", None)
    return isinstance(output, LineOutput) and output.closed
