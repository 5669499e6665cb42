"""Live source: follow /dev/kmsg (kubelet's oomWatcher job), resume exactly once across restarts.

One ``read()`` returns one kmsg record. The process sleeps in ``poll()`` between records (idle
CPU ~0), emits a record as soon as its kill line is read, and closes a report that stopped
getting lines after ``idle_timeout`` seconds. With a state file it remembers (boot id, next
sequence number) after each record is written, so a restart neither loses nor repeats a kill.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from oom_input.assembler import Assembler
from oom_input.decoders.kmsg import KmsgDecoder
from oom_input.types import IGNORED, DecodeOptions, KernelLine, OomRecord

READ_BYTES = 8192  # a smaller buffer than the record fails with EINVAL (seen here)
BOOT_TIME_REFRESH_S = 60.0  # follow NTP steps of the wall clock
PROC_HOSTNAME = "/proc/sys/kernel/hostname"
PROC_BOOT_ID = "/proc/sys/kernel/random/boot_id"
STATE_VERSION = 1


class KmsgAccessError(Exception):
    """/dev/kmsg cannot be opened or read; the message says what is needed."""


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
    """Where to resume: the boot and the first kmsg sequence number not yet fully handled."""

    boot_id: str
    next_seq: int


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
            position = Position(str(data["boot_id"]), int(data["next_seq"]))
            if position.next_seq < 0 or data.get("version") != STATE_VERSION:
                raise ValueError("unexpected values")
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
            {"version": STATE_VERSION, "boot_id": position.boot_id, "next_seq": position.next_seq}
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


class KmsgFollower:
    """Reads /dev/kmsg record by record and feeds the assembler; ``run`` until ``stop``."""

    def __init__(
        self,
        options: LiveOptions,
        assembler: Assembler,
        emit: Callable[[OomRecord], None],
        warn: Callable[[str], None],
        decode_options: DecodeOptions | None = None,
    ) -> None:
        self.options = options
        self._assembler = assembler
        self._emit = emit
        self._warn = warn
        self._decoder = KmsgDecoder(decode_options or DecodeOptions())
        self.host = options.host or os.environ.get("NODE_NAME") or read_proc(PROC_HOSTNAME)
        self.boot_id = read_proc(PROC_BOOT_ID) or "unknown"
        self._state = StateFile(options.state_file, warn) if options.state_file else None
        self._boot_us = boot_time_us()
        self._boot_checked = time.monotonic()
        self._next_seq: int | None = None  # the sequence number the next record should have
        self.missed = 0
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.fd = -1

    # --- setup -------------------------------------------------------------------------------
    def open(self) -> None:
        try:
            self.fd = os.open(self.options.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except PermissionError as exc:
            raise KmsgAccessError(
                f"cannot read {self.options.path}: permission denied. Reading the kernel log "
                "needs root or CAP_SYSLOG (with kernel.dmesg_restrict=1 even for reading)"
            ) from exc
        except OSError as exc:
            raise KmsgAccessError(f"cannot open {self.options.path}: {exc.strerror}") from exc
        saved = self._state.load() if self._state else None
        if saved is not None and saved.boot_id == self.boot_id:
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

    # --- the loop ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask ``run`` to return (safe from a signal handler)."""
        self._stopping = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

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
                # records were overwritten before we read them; the next read gives the
                # oldest survivor, and the sequence gap tells how many were lost
                continue
            except OSError as exc:
                if exc.errno == errno.EINVAL:
                    raise KmsgAccessError(f"{self.options.path}: read buffer too small") from exc
                raise
            self._handle(data)
        if self._state is None:
            # nothing will read the open report again: emit what there is of it
            self._emit_all(self._assembler.flush())
        self._save()

    def _read(self) -> bytes:
        return os.read(self.fd, READ_BYTES)

    def close(self) -> None:
        for fd in (self.fd, self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self.fd = -1

    # --- per record ----------------------------------------------------------------------------
    def _handle(self, data: bytes) -> None:
        now = time.monotonic()
        if now - self._boot_checked > BOOT_TIME_REFRESH_S:
            self._boot_us = boot_time_us()
            self._boot_checked = now
        lines = data.rstrip(b"\n").split(b"\n")  # the record, then its dictionary lines
        emitted = False
        for raw in lines:
            line = self._decoder.decode(raw)
            if line is None or line is IGNORED:
                records = self._assembler.skip(1)
            else:
                assert isinstance(line, KernelLine)
                self._check_seq(line)
                line.host = self.host
                line.boot_id = self.boot_id
                if line.kernel_us is not None:
                    line.wall_us = self._boot_us + line.kernel_us
                records = self._assembler.feed(line)
            if records:
                self._emit_all(records)
                emitted = True
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

    def _emit_all(self, records: list[OomRecord]) -> None:
        for record in records:
            self._emit(record)

    def position(self) -> Position | None:
        """First sequence number not fully handled: an open report's first line, else the
        next record."""
        first_open = self._assembler.first_open_seq()
        seq = first_open if first_open is not None else self._next_seq
        return None if seq is None else Position(self.boot_id, seq)

    def _save(self) -> None:
        if self._state is not None and (position := self.position()) is not None:
            self._state.save(position)


def _record_seq(data: bytes) -> int | None:
    head = data.split(b";", 1)[0].split(b",")
    try:
        return int(head[1])
    except (IndexError, ValueError):
        return None

