"""Progress of a long offline run, on one updating status line, only when it goes to a terminal.

::

    progress = Progress(sys.stderr, input_size(paths))
    for path in paths:
        pipeline.run(read_chunks(path, on_read=progress.advance))   # bytes as stored on disk
    progress.close()

draws ``\\r`` + ``  312.0 MiB / 1.2 GiB  26%  85.3 MiB/s  4 kills`` at most every
``min_interval`` seconds and erases it at ``close()``. When the stream is not a terminal nothing
is ever written (a redirected stderr stays clean for logs and scripts). Whoever writes other
text to the same terminal calls ``clear()`` first, so that the message does not land in the
middle of the status line (it is redrawn at the next update).
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Iterable
from typing import TextIO


class Progress:
    """Bytes read (of ``total_bytes`` when known), rate and kills found, on one line."""

    def __init__(
        self,
        stream: TextIO,
        total_bytes: int | None,
        *,
        min_interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if min_interval < 0:
            raise ValueError("min_interval must be >= 0")
        self._stream = stream
        self.total_bytes = total_bytes
        self.min_interval = min_interval
        self._clock = clock
        self.enabled = _is_tty(stream)
        self.bytes_read = 0
        self.kills = 0
        self._start = clock()
        self._last_draw: float | None = None
        self._drawn = 0  # width of the line on the terminal now (0: none)

    def advance(self, nbytes: int) -> None:
        """``nbytes`` more bytes were read."""
        self.bytes_read += nbytes
        self._maybe_draw()

    def count_kill(self) -> None:
        """One more kill found."""
        self.kills += 1
        self._maybe_draw()

    def clear(self) -> None:
        """Erase the status line (before other text is written to the terminal)."""
        if self._drawn:
            self._write("\r\x1b[K")
            self._drawn = 0

    def close(self) -> None:
        """Done: erase the status line."""
        self.clear()
        self.enabled = False

    def _maybe_draw(self) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if self._last_draw is not None and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        line = self.status(now)
        columns = _columns(self._stream)
        if columns:
            line = line[: columns - 1]  # a wrapped line could not be redrawn in place
        self._write("\r" + line + ("\x1b[K" if len(line) < self._drawn else ""))
        self._drawn = len(line)

    def status(self, now: float | None = None) -> str:
        """The status text (without control characters)."""
        now = self._clock() if now is None else now
        done = _size(self.bytes_read)
        if self.total_bytes:
            percent = min(100, self.bytes_read * 100 // self.total_bytes)
            done = f"{done} / {_size(self.total_bytes)}  {percent:3d}%"
        elapsed = now - self._start
        rate = f"{_size(self.bytes_read / elapsed)}/s" if elapsed > 0 else "-"
        kills = f"{self.kills} kill" + ("" if self.kills == 1 else "s")
        return f"{done}  {rate}  {kills}"

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):
            self.enabled = False  # the terminal is gone: progress must never stop the run
            self._drawn = 0


def input_size(paths: Iterable[str]) -> int | None:
    """The total size of ``paths`` (``-`` = stdin) when all are regular files, else None (a pipe
    or terminal has no size to show progress against)."""
    total = 0
    for path in paths:
        try:
            st = os.fstat(0) if path == "-" else os.stat(path)
        except OSError:
            continue  # the run reports it; progress is only a hint
        if not stat.S_ISREG(st.st_mode):
            return None
        total += st.st_size
    return total


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def _columns(stream: TextIO) -> int | None:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        return os.get_terminal_size(stream.fileno()).columns
    return None


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if nbytes < 1024 or unit == "GiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")
