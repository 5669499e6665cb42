"""The progress line: drawn on a terminal (a pseudo-terminal here), never anywhere else."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import termios
from collections.abc import Iterator
from pathlib import Path

import pytest

from oom_input.progress import Progress, input_size


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal:
    """A pseudo-terminal: ``stream`` is its slave side as a text stream, ``output()`` what the
    terminal received so far."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        self.stream = open(self.slave, "w", encoding="utf-8", closefd=False)  # noqa: SIM115

    def set_columns(self, columns: int) -> None:
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))

    def output(self) -> str:
        self.stream.flush()
        data = b""
        while select.select([self.master], [], [], 0.2)[0]:
            chunk = os.read(self.master, 65536)
            if not chunk:
                break
            data += chunk
        return data.decode()

    def close(self) -> None:
        self.stream.close()
        os.close(self.slave)
        os.close(self.master)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    term = Terminal()
    try:
        yield term
    finally:
        term.close()


def test_terminal_shows_bytes_percent_and_kills(terminal: Terminal) -> None:
    """On a terminal the line shows bytes read of the total, the percentage and the kills."""
    progress = Progress(terminal.stream, 4 << 20, min_interval=0)
    progress.advance(1 << 20)
    progress.count_kill()
    out = terminal.output()
    assert out.startswith("\r")
    assert "\n" not in out
    last = out.rsplit("\r", 1)[1]
    assert last.startswith("1.0 MiB / 4.0 MiB   25%")
    assert last.endswith("1 kill\x1b[K")  # shorter than "0 kills": the rest is erased


def test_close_erases_the_line(terminal: Terminal) -> None:
    """close() leaves the cursor at the start of an empty line."""
    progress = Progress(terminal.stream, None, min_interval=0)
    progress.advance(10)
    progress.close()
    out = terminal.output()
    assert "10 B" in out
    assert out.endswith("\r\x1b[K")


def test_close_without_drawing_writes_nothing(terminal: Terminal) -> None:
    """A run that never drew leaves the terminal untouched."""
    Progress(terminal.stream, 100).close()
    assert terminal.output() == ""


def test_not_a_terminal_gets_nothing(tmp_path: Path) -> None:
    """A file or a StringIO receives nothing at all."""
    buffer = io.StringIO()
    with open(tmp_path / "stderr", "w", encoding="utf-8") as file:
        for stream in (buffer, file):
            progress = Progress(stream, 100, min_interval=0)
            progress.advance(50)
            progress.count_kill()
            progress.close()
    assert buffer.getvalue() == ""
    assert (tmp_path / "stderr").read_text() == ""


def test_redraws_are_rate_limited(terminal: Terminal) -> None:
    """Within min_interval only the first update draws; after it the next one draws again."""
    clock = Clock()
    progress = Progress(terminal.stream, None, min_interval=0.2, clock=clock)
    for _ in range(100):
        progress.advance(1)
    assert terminal.output().count("\r") == 1
    clock.now += 0.25
    progress.advance(1)
    assert "101 B" in terminal.output()


def test_rate_is_bytes_per_second(terminal: Terminal) -> None:
    """The rate is the bytes read divided by the time since the start."""
    clock = Clock()
    progress = Progress(terminal.stream, None, min_interval=0, clock=clock)
    clock.now += 2
    progress.advance(4 << 20)
    assert "4.0 MiB  2.0 MiB/s  0 kills" in terminal.output()


def test_line_is_cut_to_the_terminal_width(terminal: Terminal) -> None:
    """The line is shorter than the terminal, so that it never wraps."""
    terminal.set_columns(20)
    progress = Progress(terminal.stream, 1 << 30, min_interval=0)
    progress.advance(12345678)
    out = terminal.output()
    assert len(out.lstrip("\r")) == 19


def test_broken_terminal_stops_progress_quietly() -> None:
    """A terminal whose writes fail turns progress off instead of raising."""

    class Gone(io.StringIO):
        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> int:
            raise OSError(5, "Input/output error")

    progress = Progress(Gone(), None, min_interval=0)
    progress.advance(1)
    progress.count_kill()
    progress.close()
    assert not progress.enabled


def test_input_size_sums_regular_files(tmp_path: Path) -> None:
    """input_size is the total size of regular files; a missing file counts as 0."""
    (tmp_path / "a").write_bytes(b"x" * 10)
    (tmp_path / "b").write_bytes(b"y" * 5)
    paths = [str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "missing")]
    assert input_size(paths) == 15


def test_input_size_of_a_pipe_is_unknown(tmp_path: Path) -> None:
    """A FIFO among the inputs makes the total unknown (None)."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert input_size([str(fifo)]) is None


def _render(line: str) -> str:
    """What a terminal shows for one line: ``\\r`` returns to column 0, ``ESC [K`` erases to
    the end of the line, other characters overwrite."""
    shown: list[str] = []
    col = 0
    i = 0
    while i < len(line):
        if line.startswith("\x1b[K", i):
            del shown[col:]
            i += 3
            continue
        if line[i] == "\r":
            col = 0
        else:
            if col < len(shown):
                shown[col] = line[i]
            else:
                shown.append(line[i])
            col += 1
        i += 1
    return "".join(shown)


def test_records_never_land_on_the_progress_line() -> None:
    """stdout and stderr on one terminal: the status line is erased before each record, so
    every record is a line of its own on the screen (not `...0 kills{"event":...}`)."""
    import subprocess
    import sys

    sample = Path(__file__).parent / "data" / "real" / "simple-memcg.kmsg"
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "oom_input", str(sample), str(sample), str(sample)],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    assert proc.wait(timeout=60) == 0
    out = data.decode()
    assert "kills" in out or "kill" in out  # progress was drawn
    shown = [_render(line) for line in out.split("\n")]
    records = [line for line in shown if '"event"' in line]
    assert len(records) == 3
    for line in records:
        assert line.startswith('{"event":"oom_kill"'), line
