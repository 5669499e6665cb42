"""Live source: follow /dev/kmsg (kubelet's oomWatcher job), resume exactly once across restarts.

One ``read()`` returns one kmsg record. The process sleeps in ``poll()`` between records (idle
CPU ~0), emits a record as soon as its kill line is read, and closes a report that stopped
getting lines after ``idle_timeout`` seconds. With a state file it remembers (boot id, next
sequence number) after each record is written, so a restart neither loses nor repeats a kill.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import select
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from oom_input.assembler import Assembler
from oom_input.decoders.kmsg import KmsgDecoder
from oom_input.types import IGNORED, DecodeOptions, KernelLine, OomRecord
from oom_input.types import Ignored as _Ignored

READ_BYTES = 8192  # a smaller buffer than the record fails with EINVAL (seen here)
BOOT_TIME_REFRESH_S = 60.0  # follow NTP steps of the wall clock
PROC_HOSTNAME = "/proc/sys/kernel/hostname"
PROC_BOOT_ID = "/proc/sys/kernel/random/boot_id"
STATE_VERSION = 1


class LiveSourceError(Exception):
    """The live source cannot be opened or read; the message says what is needed."""


def boot_time_us() -> int:
    """When the kernel booted, in µs since the epoch, with µs precision (``/proc/stat`` btime
    has 1 s resolution): CLOCK_REALTIME - CLOCK_MONOTONIC, read back to back."""
    real = time.clock_gettime_ns(time.CLOCK_REALTIME)
    mono = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    return (real - mono) // 1000


def read_proc(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class Position:
    """Where to resume: in /dev/kmsg the boot and the first sequence number not yet fully
    handled; in the journal the cursor of the last entry before anything unhandled."""

    boot_id: str | None = None
    next_seq: int | None = None
    cursor: str | None = None


class StateFile:
    """The resume position on disk: written atomically (temp file, fsync, rename), mode 0600,
    never through a symlink; unreadable contents give a warning, never a crash."""

    def __init__(self, path: str, warn: Callable[[str], None]) -> None:
        self.path = path
        self._warn = warn
        self._saved: Position | None = None

    def load(self) -> Position | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._warn(f"state file {self.path}: cannot read ({exc.strerror}); starting afresh")
            return None
        try:
            with os.fdopen(fd, "rb") as f:
                data = orjson.loads(f.read(65536))
            if data.get("version") != STATE_VERSION:
                raise ValueError("unknown version")
            boot_id, next_seq, cursor = (
                data.get("boot_id"),
                data.get("next_seq"),
                data.get("cursor"),
            )
            position = Position(
                None if boot_id is None else str(boot_id),
                None if next_seq is None else int(next_seq),
                None if cursor is None else str(cursor),
            )
            if (position.next_seq is not None and position.next_seq < 0) or (
                position.next_seq is None and position.cursor is None
            ):
                raise ValueError("no position")
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, OSError) as exc:
            self._warn(f"state file {self.path}: unreadable contents ({exc}); starting afresh")
            return None
        self._saved = position
        return position

    def save(self, position: Position) -> None:
        if position == self._saved:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        tmp = os.path.join(directory, f".{os.path.basename(self.path)}.{os.getpid()}.tmp")
        data = orjson.dumps(
            {
                "version": STATE_VERSION,
                "boot_id": position.boot_id,
                "next_seq": position.next_seq,
                "cursor": position.cursor,
            }
        )
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, self.path)  # replaces a symlink at the path, never follows it
        except OSError as exc:
            self._warn(f"state file {self.path}: cannot write ({exc.strerror})")
            return
        self._saved = position


@dataclass
class LiveOptions:
    path: str = "/dev/kmsg"
    start: str = "end"  # where to start without a usable state: "end" or "begin"
    state_file: str | None = None
    idle_timeout: float = 0.5
    host: str | None = None


class Follower:
    """The loop both live sources share: sleep in poll(), feed what arrives, close a report
    that went idle, save the position after each record written, stop on a signal."""

    def __init__(
        self,
        options: LiveOptions,
        assembler: Assembler,
        emit: Callable[[OomRecord], None],
        warn: Callable[[str], None],
        decode_options: DecodeOptions | None = None,
    ) -> None:
        self.options = options
        self.decode_options = decode_options or DecodeOptions()
        self._assembler = assembler
        self._emit = emit
        self._warn = warn
        self._state = StateFile(options.state_file, warn) if options.state_file else None
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.fd = -1

    # --- for subclasses ------------------------------------------------------------------------
    def open(self) -> None:
        raise NotImplementedError

    def _read(self) -> bytes:
        """The next bytes, or BlockingIOError when there are none yet."""
        raise NotImplementedError

    def _handle(self, data: bytes) -> None:
        raise NotImplementedError

    def position(self) -> Position | None:
        raise NotImplementedError

    # --- the loop ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask ``run`` to return (safe from a signal handler)."""
        self._stopping = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: self.stop())

    def run(self) -> None:
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        idle_ms = max(1, int(self.options.idle_timeout * 1000))
        while not self._stopping:
            try:
                data = self._read()
            except BlockingIOError:
                busy = self._assembler.open_reports > 0
                if not poller.poll(idle_ms if busy else None) and busy:
                    self._emit_all(self._assembler.flush())  # the report stopped: close it
                    self._save()
                continue
            except BrokenPipeError:
                # /dev/kmsg: records were overwritten before we read them; the next read
                # gives the oldest survivor, and the sequence gap tells how many were lost
                continue
            self._handle(data)
        if self._state is None:
            # nothing will read the open report again: emit what there is of it
            self._emit_all(self._assembler.flush())
        self._save()

    def close(self) -> None:
        for fd in (self.fd, self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self.fd = self._wake_r = self._wake_w = -1

    def _feed(self, line: KernelLine | _Ignored | None) -> bool:
        """Feed one decoded line; True when it completed records (they are emitted)."""
        if line is None or line is IGNORED:
            records = self._assembler.skip(1)
        else:
            assert isinstance(line, KernelLine)
            records = self._assembler.feed(line)
        self._emit_all(records)
        return bool(records)

    def _emit_all(self, records: list[OomRecord]) -> None:
        for record in records:
            self._emit(record)

    def _save(self) -> None:
        if self._state is not None and (position := self.position()) is not None:
            self._state.save(position)


class KmsgFollower(Follower):
    """Reads /dev/kmsg record by record (one read() is one record)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._decoder = KmsgDecoder(self.decode_options)
        self.host = self.options.host or os.environ.get("NODE_NAME") or read_proc(PROC_HOSTNAME)
        self.boot_id = read_proc(PROC_BOOT_ID) or "unknown"
        self._boot_us = boot_time_us()
        self._boot_checked = time.monotonic()
        self._next_seq: int | None = None  # the sequence number the next record should have
        self.missed = 0

    def open(self) -> None:
        try:
            self.fd = os.open(self.options.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except PermissionError as exc:
            raise LiveSourceError(
                f"cannot read {self.options.path}: permission denied. Reading the kernel log "
                "needs root or CAP_SYSLOG (with kernel.dmesg_restrict=1 even for reading)"
            ) from exc
        except OSError as exc:
            raise LiveSourceError(f"cannot open {self.options.path}: {exc.strerror}") from exc
        saved = self._state.load() if self._state else None
        if saved is not None and saved.boot_id == self.boot_id and saved.next_seq is not None:
            os.lseek(self.fd, 0, os.SEEK_SET)
            self._skip_to(saved.next_seq)
        elif saved is not None or self.options.start == "begin":
            os.lseek(self.fd, 0, os.SEEK_SET)  # a new boot: its whole buffer is new
        else:
            os.lseek(self.fd, 0, os.SEEK_END)

    def _skip_to(self, next_seq: int) -> None:
        """Read and drop records before ``next_seq`` (kmsg can only seek to its ends)."""
        self._next_seq = next_seq
        while True:
            try:
                data = self._read()
            except BlockingIOError:
                return
            except BrokenPipeError:
                continue
            seq = _record_seq(data)
            if seq is not None and seq >= next_seq:
                self._handle(data)  # reports the gap if records were lost meanwhile
                return

    def _read(self) -> bytes:
        try:
            return os.read(self.fd, READ_BYTES)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise LiveSourceError(f"{self.options.path}: read buffer too small") from exc
            raise

    def _handle(self, data: bytes) -> None:
        now = time.monotonic()
        if now - self._boot_checked > BOOT_TIME_REFRESH_S:
            self._boot_us = boot_time_us()
            self._boot_checked = now
        emitted = False
        for raw in data.rstrip(b"\n").split(b"\n"):  # the record, then its dictionary lines
            line = self._decoder.decode(raw)
            if isinstance(line, KernelLine):
                self._check_seq(line)
                line.host = self.host
                line.boot_id = self.boot_id
                if line.kernel_us is not None:
                    line.wall_us = self._boot_us + line.kernel_us
            emitted |= self._feed(line)
        if emitted:
            self._save()

    def _check_seq(self, line: KernelLine) -> None:
        if line.seq is None:
            return
        if self._next_seq is not None and line.seq > self._next_seq:
            self._report_missed(line.seq - self._next_seq)
            self._assembler.note_gap((self.host, self.boot_id))
        self._next_seq = line.seq + 1

    def _report_missed(self, n: int) -> None:
        self.missed += n
        self._warn(f"missed {n} kernel messages (overwritten in the ring buffer before read)")

    def position(self) -> Position | None:
        """First sequence number not fully handled: an open report's first line, else the
        next record."""
        first_open = self._assembler.first_open_seq()
        seq = first_open if first_open is not None else self._next_seq
        return None if seq is None else Position(self.boot_id, seq)


# the journal cursor of an entry, read without parsing the whole JSON object
JOURNAL_CURSOR_RE = re.compile(rb'"__CURSOR"\s*:\s*"([^"\\]*)"')
MAX_JOURNAL_LINE = 1 << 20


class JournalFollower(Follower):
    """Runs ``journalctl -k -f -o json`` (no shell) and reads its entries, for hosts where
    /dev/kmsg is not reachable but the journal is; resumes with ``--after-cursor``."""

    journalctl = "journalctl"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from oom_input.decoders import make_decoder

        self._decoder = make_decoder("journal-json", self.decode_options)
        self._journalctl = self.journalctl
        self._proc: subprocess.Popen[bytes] | None = None
        self._tail = b""
        self._cursor: str | None = None  # of the last entry read
        self._open_cursor: str | None = None  # of the entry before the open report's first
        self._resume_from_start = False

    def command(self) -> list[str]:
        saved = self._state.load() if self._state else None
        argv = [self._journalctl, "-k", "-f", "-o", "json"]
        if saved is not None and saved.cursor is not None:
            self._cursor = saved.cursor
            return [*argv, f"--after-cursor={saved.cursor}"]
        if self.options.start == "begin" or saved is not None:
            return [*argv, "--no-tail"]
        return [*argv, "--lines=0"]

    def open(self) -> None:
        argv = self.command()
        try:
            self._proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, close_fds=True
            )
        except OSError as exc:
            raise LiveSourceError(f"cannot run {argv[0]}: {exc.strerror}") from exc
        assert self._proc.stdout is not None
        self.fd = self._proc.stdout.fileno()
        os.set_blocking(self.fd, False)

    def _read(self) -> bytes:
        data = os.read(self.fd, 65536)
        if not data:
            assert self._proc is not None
            code = self._proc.wait()
            raise LiveSourceError(f"{self._journalctl} ended (exit code {code})")
        return data

    def _handle(self, data: bytes) -> None:
        *lines, self._tail = (self._tail + data).split(b"\n")
        if len(self._tail) > MAX_JOURNAL_LINE:
            self._warn(f"journal entry longer than {MAX_JOURNAL_LINE} bytes dropped")
            self._tail = b""
        emitted = False
        for raw in lines:
            was_open = self._assembler.open_reports
            before = self._cursor
            if (m := JOURNAL_CURSOR_RE.search(raw)) is not None:
                self._cursor = m.group(1).decode("utf-8", "replace")
            line = self._decoder.decode(raw)
            if isinstance(line, KernelLine) and line.host is None:
                line.host = self.options.host
            emitted |= self._feed(line)
            if not was_open and self._assembler.open_reports:
                self._open_cursor = before
        if emitted:
            self._save()

    def position(self) -> Position | None:
        cursor = self._open_cursor if self._assembler.open_reports else self._cursor
        return None if cursor is None else Position(cursor=cursor)

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc is not None and self._proc.stdout is not None:
            self._proc.stdout.close()
            self.fd = -1
        super().close()


def _record_seq(data: bytes) -> int | None:
    head = data.split(b";", 1)[0].split(b",")
    try:
        return int(head[1])
    except (IndexError, ValueError):
        return None
