"""Live sources: follow /dev/kmsg (kubelet's oomWatcher job) or the journal, as sources of the
same ``Pipeline`` the offline reader uses (one line per call, a flush when the source idles).

One ``read()`` of /dev/kmsg returns one record. The process sleeps in ``poll()`` between records
(idle CPU ~0), emits a record as soon as its kill line is read, and closes a report that stopped
getting lines after ``idle_timeout`` seconds. With a state file it remembers (boot id, next
sequence number, boot-time estimate) after each record is written, so a restart loses no kill;
after a hard kill (SIGKILL, power loss) it may write the records of the last few milliseconds
again, each with the same ``id`` and ``time_of_death``.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import re
import select
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from oom_input.decoders.kmsg import KmsgDecoder
from oom_input.statefile import Position, StateFile, StateFileError
from oom_input.types import DecodeOptions, Ignored, KernelLine, KernelLines

if TYPE_CHECKING:
    from oom_input.pipeline import Pipeline

READ_BYTES = 8192  # a smaller buffer than the record fails with EINVAL (seen here)
BOOT_TIME_REFRESH_S = 60.0  # follow NTP steps of the wall clock
BOOT_TIME_STEP_US = 1000  # a new estimate within this of the old one is read jitter: kept
LOST_REPORT_INTERVAL_S = 5.0  # lost kernel messages: at most one line per interval, summed
READ_THROUGH_MAX_S = 5.0  # a fresh start reads the ring buffer through to learn its last seq
KMSG_DEVICE = (1, 11)  # major, minor of /dev/kmsg (drivers/char/mem.c)
PROC_HOSTNAME = "/proc/sys/kernel/hostname"
PROC_BOOT_ID = "/proc/sys/kernel/random/boot_id"

__all__ = [
    "JournalFollower",
    "KmsgFollower",
    "LiveOptions",
    "LiveSourceError",
    "LostMessages",
    "Position",
    "StateFile",
    "StateFileError",
    "boot_time_us",
]


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


@dataclass
class LiveOptions:
    path: str = "/dev/kmsg"
    start: str = "end"  # where to start without a usable state: "end" or "begin"
    state_file: str | None = None
    idle_timeout: float = 0.5
    host: str | None = None
    boot_time_us: int | None = None  # --boot-time: used instead of the estimate


class LostMessages:
    """Kernel messages lost before they were read, reported at most once per ``interval`` with
    the sum since the last line (a flood would otherwise print one line per read)."""

    def __init__(
        self,
        warn: Callable[[str], None],
        interval: float = LOST_REPORT_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._warn = warn
        self.interval = interval
        self._clock = clock
        self.total = 0
        self._pending = 0
        self._unknown = False  # a loss whose size the sequence numbers cannot tell
        self._last: float | None = None

    def add(self, n: int | None) -> None:
        """``n`` messages lost (None: some, how many is unknown)."""
        if n is None:
            self._unknown = True
        else:
            self.total += n
            self._pending += n
        if self.due_in() == 0:
            self.report()

    def due_in(self) -> float | None:
        """Seconds until the pending sum must be printed (None: nothing pending)."""
        if not (self._pending or self._unknown):
            return None
        if self._last is None:
            return 0.0
        return max(0.0, self._last + self.interval - self._clock())

    def report(self) -> None:
        """Print what is pending now."""
        if self._pending:
            self._warn(
                f"missed {self._pending} kernel messages (overwritten in the ring buffer before "
                "they were read)"
            )
        if self._unknown:
            self._warn("missed kernel messages before the first one read (how many is unknown)")
        if self._pending or self._unknown:
            self._last = self._clock()
        self._pending, self._unknown = 0, False


class Follower:
    """The loop both live sources share: sleep in poll(), feed the pipeline line by line, close
    a report that went idle, save the position after each record written, stop on a signal."""

    def __init__(
        self,
        options: LiveOptions,
        warn: Callable[[str], None],
        decode_options: DecodeOptions | None = None,
    ) -> None:
        self.options = options
        self.decode_options = decode_options or DecodeOptions()
        self._warn = warn
        self._state = StateFile(options.state_file, warn) if options.state_file else None
        self._pipeline: Pipeline | None = None
        self._stopping = False
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.fd = -1
        self.lost = LostMessages(warn)
        self._userspace_seen = 0  # records written into /dev/kmsg by processes, ignored

    # --- for subclasses ------------------------------------------------------------------------
    def open(self) -> None:
        """Open the source and the state file; raises LiveSourceError or StateFileError."""
        raise NotImplementedError

    def _read(self) -> bytes:
        """The next bytes, or BlockingIOError when there are none yet."""
        raise NotImplementedError

    def _handle(self, data: bytes) -> None:
        raise NotImplementedError

    def position(self) -> Position | None:
        raise NotImplementedError

    def _saved_boot_time(self) -> int | None:
        return None

    def report_counts(self) -> None:
        """At stop: the counts worth a line (lost, ignored)."""
        self.lost.report()
        if self._userspace_seen:
            self._warn(
                f"{self._userspace_seen} records written into /dev/kmsg by processes ignored"
            )

    def _note_userspace(self, count: int) -> None:
        """The decoder has ignored ``count`` records written by processes so far: say so at
        the first one (the total comes at the stop)."""
        if count != self._userspace_seen:
            if not self._userspace_seen:
                self._warn(
                    "ignoring records written into /dev/kmsg by processes (not by the kernel); "
                    "they are counted"
                )
            self._userspace_seen = count

    # --- the loop ------------------------------------------------------------------------------
    @property
    def pipeline(self) -> Pipeline:
        assert self._pipeline is not None, "run() sets the pipeline"
        return self._pipeline

    def stop(self) -> None:
        """Ask ``run`` to return (safe from a signal handler)."""
        self._stopping = True
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def install_signal_handlers(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: self.stop())

    def run(self, pipeline: Pipeline) -> None:
        """Follow until stopped, writing records through ``pipeline``."""
        self._pipeline = pipeline
        self._start()
        self._save()  # from now on a restart resumes here, even if no record is ever written
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        idle_ms = max(1, round(self.options.idle_timeout * 1000))
        while not self._stopping:
            try:
                data = self._read()
            except BlockingIOError:
                busy = pipeline.assembler.open_reports > 0
                lost_due = self.lost.due_in()
                # rounded up: a poll that wakes before the line is due would not print it
                lost_ms = None if lost_due is None else max(1, math.ceil(lost_due * 1000))
                waits = [ms for ms in (idle_ms if busy else None, lost_ms) if ms is not None]
                timeout = min(waits) if waits else None
                if not poller.poll(timeout):
                    if self.lost.due_in() == 0:
                        self.lost.report()
                    if busy and timeout == idle_ms and pipeline.assembler.open_reports:
                        pipeline.flush()  # the report stopped getting lines: close it
                        self._save()
                continue
            except BrokenPipeError:
                # /dev/kmsg: records were overwritten before we read them; the next read
                # gives the oldest survivor, and the sequence gap tells how many were lost
                self._on_overrun()
                continue
            self._handle(data)
        if self._state is None:
            # nothing will read the open report again: emit what there is of it
            pipeline.flush()
        self._save()

    def _start(self) -> None:
        """What the source read while opening is handled first."""

    def _on_overrun(self) -> None:
        pass

    def close(self) -> None:
        for fd in (self.fd, self._wake_r, self._wake_w):
            if fd >= 0:
                os.close(fd)
        self.fd = self._wake_r = self._wake_w = -1

    def _save(self) -> None:
        if self._state is not None and (position := self.position()) is not None:
            self._state.save(position, self._saved_boot_time())


class KmsgFollower(Follower):
    """Reads /dev/kmsg record by record (one read() is one record)."""

    def __init__(
        self,
        options: LiveOptions,
        warn: Callable[[str], None],
        decode_options: DecodeOptions | None = None,
    ) -> None:
        super().__init__(options, warn, decode_options)
        self.decoder = FollowedKmsgDecoder(self)
        self.host = self.options.host or os.environ.get("NODE_NAME") or read_proc(PROC_HOSTNAME)
        self.boot_id = read_proc(PROC_BOOT_ID) or "unknown"
        self.boot_us = options.boot_time_us if options.boot_time_us is not None else boot_time_us()
        self._boot_checked = time.monotonic()
        self._next_seq: int | None = None  # the sequence number the next record should have
        self._first: bytes | None = None  # a record read while opening, not yet handled

    @property
    def missed(self) -> int:
        return self.lost.total

    def open(self) -> None:
        saved = self._state.open() if self._state is not None else None
        path = self.options.path
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except PermissionError as exc:
            raise LiveSourceError(
                f"cannot read {path}: permission denied. Reading the kernel log "
                "needs root or CAP_SYSLOG (with kernel.dmesg_restrict=1 even for reading)"
            ) from exc
        except OSError as exc:
            raise LiveSourceError(f"cannot open {path}: {exc.strerror}") from exc
        st = os.fstat(self.fd)
        if not (
            stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == KMSG_DEVICE
        ):
            raise LiveSourceError(
                f"--kmsg {path}: not the kernel log device (/dev/kmsg, character device 1:11); "
                "to read a file of /dev/kmsg records once, give it as FILE: "
                f"oom-input -f kmsg {path}"
            )
        same_boot = self.resume_boot_time(saved)
        if same_boot and saved is not None and saved.next_seq is not None:
            os.lseek(self.fd, 0, os.SEEK_SET)
            self._skip_to(saved.next_seq)
        elif saved is not None or self.options.start == "begin":
            os.lseek(self.fd, 0, os.SEEK_SET)  # a new boot: its whole buffer is new
        else:
            self._read_through()

    def resume_boot_time(self, saved: Position | None) -> bool:
        """A saved position of this boot: take the boot-time estimate the records before the
        restart were written with (so a record read again has the same time_of_death).
        True when the position is of this boot."""
        same_boot = saved is not None and saved.boot_id == self.boot_id
        if same_boot and self._state is not None and self.options.boot_time_us is None:
            self.boot_us = self._state.boot_time_us or self.boot_us
        return same_boot

    def _skip_to(self, next_seq: int) -> None:
        """Read and drop records before ``next_seq`` (kmsg can only seek to its ends); the
        first one at or after it is kept for ``run``."""
        self._next_seq = next_seq
        while True:
            try:
                data = self._read()
            except BlockingIOError:
                return
            except BrokenPipeError:
                continue  # the gap to the first record kept counts what is lost
            seq = _record_seq(data)
            if seq is not None and seq >= next_seq:
                self._first = data
                return

    def _read_through(self) -> None:
        """Start at the end, knowing the next sequence number: read the buffer through (a few
        ms), so that a loss right after the start is counted too."""
        os.lseek(self.fd, 0, os.SEEK_SET)
        until = time.monotonic() + READ_THROUGH_MAX_S
        while time.monotonic() < until:
            try:
                data = self._read()
            except BlockingIOError:
                return
            except BrokenPipeError:
                continue  # old records: nothing lost that we wanted
            seq = _record_seq(data)
            if seq is not None:
                self._next_seq = seq + 1
        os.lseek(self.fd, 0, os.SEEK_END)  # a flood outran us: the end, sequence unknown
        self._next_seq = None

    def _start(self) -> None:
        if self._first is not None:
            first, self._first = self._first, None
            self._handle(first)

    def _read(self) -> bytes:
        try:
            data = os.read(self.fd, READ_BYTES)
        except OSError as exc:
            if exc.errno == errno.EINVAL:
                raise LiveSourceError(f"{self.options.path}: read buffer too small") from exc
            raise
        if not data:
            raise LiveSourceError(f"{self.options.path}: end of file (not a live kernel log)")
        return data

    def _on_overrun(self) -> None:
        if self._next_seq is None:
            self.lost.add(None)

    def _handle(self, data: bytes) -> None:
        now = time.monotonic()
        if now - self._boot_checked > BOOT_TIME_REFRESH_S and self.options.boot_time_us is None:
            self._boot_checked = now
            estimate = boot_time_us()
            if abs(estimate - self.boot_us) > BOOT_TIME_STEP_US:
                self.boot_us = estimate  # the wall clock was stepped
                self._save()  # before any record uses it: a restart uses it too
        pipeline = self.pipeline
        written = 0
        # every record's number is checked, not only those of the lines the reader decodes
        self._check_seq(_record_seq(data))
        for raw in data.rstrip(b"\n").split(b"\n"):  # the record, then its dictionary lines
            written += pipeline.feed_line(raw)
        self._note_userspace(self.decoder.userspace_records)
        if written:
            self._save()

    def prepare(self, line: KernelLine) -> None:
        """What this source knows about each of its lines: host, boot, wall time."""
        line.host = self.host
        line.boot_id = self.boot_id
        if line.kernel_us is not None:
            line.wall_us = self.boot_us + line.kernel_us

    def _check_seq(self, seq: int | None) -> None:
        if seq is None:
            return
        if self._next_seq is not None and seq > self._next_seq:
            self.lost.add(seq - self._next_seq)
            self.pipeline.assembler.note_gap((self.host, self.boot_id))
        self._next_seq = seq + 1

    def report_counts(self) -> None:
        super().report_counts()
        if self.lost.total:
            self._warn(f"{self.lost.total} kernel messages missed in all")

    def _saved_boot_time(self) -> int | None:
        return self.boot_us

    def position(self) -> Position | None:
        """First sequence number not fully handled: an open report's first line, else the
        next record."""
        first_open = self.pipeline.assembler.first_open_seq()
        seq = first_open if first_open is not None else self._next_seq
        return None if seq is None else Position(self.boot_id, seq)


class FollowedKmsgDecoder:
    """The /dev/kmsg decoder plus what the follower knows of each line (host, boot id, wall
    time, sequence gaps); records written by processes are IGNORED by the kmsg decoder."""

    name: ClassVar[str] = "kmsg"

    def __init__(self, follower: KmsgFollower) -> None:
        self.extra_markers: tuple[bytes, ...] = ()
        self.kmsg = KmsgDecoder(follower.decode_options)
        self._follower = follower

    @property
    def userspace_records(self) -> int:
        return self.kmsg.userspace_records

    def decode(self, raw: bytes) -> KernelLine | Ignored | None:
        line = self.kmsg.decode(raw)
        if isinstance(line, KernelLine):
            self._follower.prepare(line)
        return line


# the journal cursor of an entry, read without parsing the whole JSON object
JOURNAL_CURSOR_RE = re.compile(rb'"__CURSOR"\s*:\s*"([^"\\]*)"')
# journald keeps a /dev/kmsg record's facility; not 0 (kern): a process wrote the record
JOURNAL_USER_FACILITY_RE = re.compile(rb'"SYSLOG_FACILITY"\s*:\s*"(?!0")\d+"')
MAX_JOURNAL_LINE = 1 << 20


class JournalFollower(Follower):
    """Runs ``journalctl -k -f -o json`` (no shell) and reads its entries, for hosts where
    /dev/kmsg is not reachable but the journal is; resumes with ``--after-cursor``."""

    journalctl = "journalctl"

    def __init__(
        self,
        options: LiveOptions,
        warn: Callable[[str], None],
        decode_options: DecodeOptions | None = None,
    ) -> None:
        super().__init__(options, warn, decode_options)
        self.decoder = FollowedJournalDecoder(self.decode_options, options.host)
        self._journalctl = self.journalctl
        self._proc: subprocess.Popen[bytes] | None = None
        self._tail = b""
        self._cursor: str | None = None  # of the last entry read
        self._open_cursor: str | None = None  # of the entry before the open report's first

    def journalctl_argv(self, saved: Position | None) -> list[str]:
        argv = [self._journalctl, "-k", "-f", "-o", "json"]
        if saved is not None and saved.cursor is not None:
            self._cursor = saved.cursor
            return [*argv, f"--after-cursor={saved.cursor}"]
        if self.options.start == "begin" or saved is not None:
            return [*argv, "--no-tail"]
        return [*argv, "--lines=0"]

    def open(self) -> None:
        saved = self._state.open() if self._state is not None else None
        argv = self.journalctl_argv(saved)
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
        pipeline = self.pipeline
        written = 0
        for raw in lines:
            was_open = pipeline.assembler.open_reports
            before = self._cursor
            if (m := JOURNAL_CURSOR_RE.search(raw)) is not None:
                self._cursor = m.group(1).decode("utf-8", "replace")
            written += pipeline.feed_line(raw)
            if not was_open and pipeline.assembler.open_reports:
                self._open_cursor = before
        self._note_userspace(self.decoder.userspace_records)
        if written:
            self._save()

    def position(self) -> Position | None:
        cursor = self._open_cursor if self.pipeline.assembler.open_reports else self._cursor
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


class FollowedJournalDecoder:
    """journalctl's JSON entries; ``--host`` names the host of entries that carry none.
    Entries of other transports, and kernel-transport entries a process wrote into /dev/kmsg
    (``SYSLOG_FACILITY`` not 0), are IGNORED by the journal decoder."""

    name: ClassVar[str] = "journal-json"

    def __init__(self, options: DecodeOptions, host: str | None) -> None:
        self.extra_markers: tuple[bytes, ...] = ()
        self.userspace_records = 0  # kernel-transport entries a process wrote (ignored)
        from oom_input.decoders import make_decoder

        self._journal = make_decoder("journal-json", options)
        self._host = host

    def decode(self, raw: bytes) -> KernelLine | KernelLines | Ignored | None:
        line = self._journal.decode(raw)  # (journal entries: never several lines)
        if isinstance(line, KernelLine):
            if line.host is None:
                line.host = self._host
        elif JOURNAL_USER_FACILITY_RE.search(raw) is not None:
            self.userspace_records += 1
        return line


def _record_seq(data: bytes) -> int | None:
    head = data.split(b";", 1)[0].split(b",")
    try:
        return int(head[1])
    except (IndexError, ValueError):
        return None
