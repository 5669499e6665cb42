"""What the text decoders share: strict UTF-8 decoding, timestamp shapes and their conversion to
integer microseconds, and the ``host ident: message`` tail of journalctl and syslog lines.

Every time here is computed with integers (no float seconds), so ``123.456789`` is exactly
123456789 µs.
"""

from __future__ import annotations

import functools
import operator
import re
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Final, TypeVar

from oom_input.types import IGNORED, DecodeOptions, Ignored, KernelLine, QuickRun, SourceKey

# A stamp converter turns a matched stamp into (wall_us, kernel_us), either None when the stamp
# does not carry it; it raises ValueError for a well-shaped but impossible date (Feb 30).
Times = tuple[int | None, int | None]
StampConverter = Callable[[re.Match[bytes], DecodeOptions], Times]
Stamp = tuple[re.Pattern[bytes], StampConverter]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)
_DAY_US = 86_400 * 10**6
_MAX_SECONDS = 4096  # civil seconds a StampSeconds remembers
_MAX_KNOWN = 4096  # stamps and seconds a KnownStamps remembers
_MONTH_NAMES = b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
MONTHS: dict[bytes, int] = {name: number for number, name in enumerate(_MONTH_NAMES, 1)}

# the UTF-8 byte order mark: before a file an editor or PowerShell saved (the pipeline drops it),
# before an RFC 5424 syslog MSG (RFC 5424 6.4)
UTF8_BOM: Final = b"\xef\xbb\xbf"

# Pattern fragments, composed into the decoders' compiled line patterns so each shape is
# written once. Group names are shared by the converters below.
MONTH = rb"(?P<month>" + b"|".join(_MONTH_NAMES) + rb")"
WEEKDAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
DATE = rb"(?P<date>\d{4}-\d\d-\d\d)"
CLOCK = rb"(?P<clock>\d\d:\d\d:\d\d)"
# "Nov 26 18:37:34[.798531]": BSD syslog (RFC 3164) files, journalctl -o short/short-precise;
# "second": the stamp without its fraction
BSD_STAMP = rb"(?P<second>%s +(?P<day>\d{1,2}) %s)(?:\.(?P<frac>\d{1,9}))?" % (MONTH, CLOCK)
# "2025-11-26T18:37:34[.798531]+00:00": journalctl short-iso[-precise] ("+0000"), rsyslog
# RFC 3339 ("+00:00" or "Z")
ISO_STAMP = rb"%sT%s(?:\.(?P<frac>\d{1,9}))?(?P<zone>Z|[+-]\d\d:?\d\d)" % (DATE, CLOCK)
# "[  499.798531": printk time as dmesg, klogd and journalctl -o short-monotonic print it (the
# closing bracket is left to the user: dmesg -d puts a delta before it). Digit counts are
# bounded everywhere so that int() never meets a number it refuses (> 4300 digits).
MONOTONIC_STAMP = rb"\[ *(?P<sec>\d{1,12})\.(?P<frac>\d{1,9})"
# "[  T123]" / "[    C1]": printk caller id (CONFIG_PRINTK_CALLER) after the timestamp,
# "] [" in dmesg output, "][" on the console
CALLER_ID = rb"(?: ?\[ *[TC]\d+\])?"

# "<host> " before the ident of journalctl short-* and syslog lines; absent when the journal
# entry has no _HOSTNAME
HOST_COLUMN = rb"(?:(?P<host>[^\s:]+) )?"
# "<host> <ident>[<pid>]: <message>" after the stamp of journalctl short-* and syslog lines
SYSLOG_TAIL = re.compile(
    rb" %s(?P<ident>[^\s:\[]+)(?:\[\d+\])?:(?: (?P<message>.*))?\Z" % HOST_COLUMN, re.S
)


def kernel_tail(host: bytes) -> bytes:
    """SYSLOG_TAIL of the kernel's ident up to its message, `` <host> kernel[<pid>]:``, with
    ``host`` for HOST_COLUMN (a line pattern's: of one host, or none)."""
    return rb" %skernel(?:\[\d+\])?:" % host


# SYSLOG_TAIL of a kernel line up to its message (the fast paths' patterns end with it)
KERNEL_TAIL = kernel_tail(HOST_COLUMN)
# printk time (and caller id) that klogd / rsyslog imklog leave at the start of the message:
# kern.log's "kernel: [  123.456789] text" (KLOGD_STAMP, then its end)
KLOGD_STAMP = MONOTONIC_STAMP + rb"\]" + CALLER_ID
KERNEL_STAMP_IN_MESSAGE = re.compile(KLOGD_STAMP + rb"(?: |\Z)")


def strip_cr(raw: bytes) -> bytes:
    """The line without a trailing carriage return (files written on or for Windows)."""
    return raw[:-1] if raw.endswith(b"\r") else raw


# util-linux dmesg and journalctl print a multi-line message (memory.stat on 5.0-6.3, Mem-Info's
# counters) as its first line, then the others indented by these, without a stamp
CONTINUATION_INDENTS: Final = (b" ", b"\t")


def continues(raw: bytes) -> bool:
    """Is this line a continuation line (of the nearest line before it that is none)?"""
    return raw[:1] in CONTINUATION_INDENTS


def continuation_line(
    raw: bytes,
    options: DecodeOptions,
    source_format: str,
    host: str | None = None,
    boot_id: str | None = None,
) -> KernelLine | Ignored:
    """A continuation line of a kernel message from ``host``: its text without the indent (an
    empty one is nothing to read)."""
    text = strip_cr(raw).strip()
    if not text:
        return IGNORED
    return KernelLine(
        text=decode_text(text, raw, options),
        host=host,
        boot_id=boot_id,
        source_format=source_format,
    )


def dashed_uuid(hex32: bytes) -> str:
    """The canonical form of a 128-bit id (as /proc/sys/kernel/random/boot_id has it) from its
    32 hex digits (as the journal writes ``_BOOT_ID``)."""
    text = hex32.decode("ascii").lower()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def decode_text(data: bytes, raw: bytes, options: DecodeOptions) -> str:
    """UTF-8 text of ``data`` (part of line ``raw``); invalid bytes are reported and become
    U+FFFD, never surrogates, which orjson refuses to encode."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        options.report("invalid UTF-8", raw)
        return data.decode("utf-8", errors="replace")


def fraction_us(fraction: bytes | None) -> int:
    """Microseconds in the digits after a decimal point (any precision, truncated to µs)."""
    if not fraction:
        return 0
    return int(fraction) if len(fraction) == 6 else int(fraction[:6].ljust(6, b"0"))


def seconds_us(seconds: bytes, fraction: bytes | None) -> int:
    """``seconds.fraction`` as integer microseconds."""
    return int(seconds) * 10**6 + fraction_us(fraction)


def offset_zone(offset: bytes) -> tzinfo:
    """The fixed zone of ``Z``, ``+0100``, ``+01:00`` or ``-05``."""
    if offset == b"Z":
        return timezone.utc
    digits = offset[1:].replace(b":", b"")
    delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or b"0"))
    return timezone(-delta if offset.startswith(b"-") else delta)


def civil_wall_us(
    year: int, month: int, day: int, clock: bytes, micros: int, tz: tzinfo | None
) -> int:
    """Epoch µs of a civil date and ``HH:MM:SS`` clock in ``tz`` (None: the local zone)."""
    hour, minute, second = int(clock[0:2]), int(clock[3:5]), int(clock[6:8])
    moment = datetime(year, month, day, hour, minute, second, micros, tzinfo=tz)
    if tz is None:
        moment = moment.astimezone()  # a naive datetime is taken as local time
    return (moment - _EPOCH) // _ONE_US


def now_us() -> int:
    """The current time in epoch µs (a function so that tests can pin the clock)."""
    return time.time_ns() // 1000


def yearless_wall_us(
    month: int, day: int, clock: bytes, micros: int, options: DecodeOptions
) -> int:
    """Epoch µs of a stamp without a year (see ``StampSeconds.yearless_us``)."""
    return StampSeconds(options).yearless_us(month, day, clock, micros)


_K = TypeVar("_K")
_V = TypeVar("_V")


class Remembered(dict[_K, _V]):
    """A fast path's remembered answers: a dict emptied whenever it holds ``limit`` entries, so
    that memory stays bounded whatever the input (``keep`` stores one)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def keep(self, key: _K, value: _V) -> _V:
        if len(self) >= self.limit:
            self.clear()
        self[key] = value
        return value


class StampSeconds:
    """Epoch µs of civil times in one decoder's zone, each whole second's remembered: a log
    repeats a second on many lines, and a zone's offset changes only at whole seconds, so a
    time is its second's µs plus its own."""

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options
        self._seconds: Remembered[tuple[int, int, int, bytes], int] = Remembered(_MAX_SECONDS)
        self._year_at: tuple[int, int] = (-1, 0)  # (epoch second, its year in the zone)

    def civil_us(self, year: int, month: int, day: int, clock: bytes, micros: int) -> int:
        """``civil_wall_us`` in ``options.tz`` (ValueError, OverflowError as it)."""
        key = (year, month, day, clock)
        second = self._seconds.get(key)
        if second is None:
            second = self._seconds.keep(
                key, civil_wall_us(year, month, day, clock, 0, self.options.tz)
            )
        return second + micros

    def yearless_us(self, month: int, day: int, clock: bytes, micros: int) -> int:
        """Epoch µs of a stamp without a year: ``options.year``, else the current year unless
        that puts the stamp over a day in the future (December's logs read in January): then
        the last."""
        options = self.options
        if options.year is not None:
            return self.civil_us(options.year, month, day, clock, micros)
        now = now_us()
        now_s = now // 10**6
        if self._year_at[0] != now_s:
            self._year_at = (now_s, datetime.fromtimestamp(now_s, options.tz).year)
        year = self._year_at[1]
        wall = self.civil_us(year, month, day, clock, micros)
        if wall - now > _DAY_US:
            wall = self.civil_us(year - 1, month, day, clock, micros)
        return wall


class KnownStamps:
    """Whether ``decode`` converts stamps without a report (an impossible date), for the fast
    paths: the fraction of a second never matters, so each answer is remembered per stamp
    without it (a BSD_STAMP's by its "second", the common case, others by their fields); and
    BSD_STAMPs' wall µs, each second's fields remembered."""

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options
        # converts' answers (a fast path may look first)
        self.known: Remembered[object, bool] = Remembered(_MAX_KNOWN)
        self._seconds = StampSeconds(options)
        self._second_parts: Remembered[bytes, tuple[int, int, bytes]] = Remembered(_MAX_KNOWN)

    def bsd_wall_us(self, stamp: re.Match[bytes]) -> int:
        """``bsd_times``'s wall µs of a BSD_STAMP match, ValueError and OverflowError as it."""
        second = stamp["second"]
        parts = self._second_parts.get(second)
        if parts is None:
            parts = self._second_parts.keep(
                second, (MONTHS[stamp["month"]], int(stamp["day"]), stamp["clock"])
            )
        return self._seconds.yearless_us(*parts, fraction_us(stamp["frac"]))

    def converts(self, stamp: re.Match[bytes], convert: StampConverter) -> bool:
        """Whether ``convert`` (``stamp_times``'s) converts this stamp without a report."""
        key: object
        if convert is bsd_times:
            key = stamp["second"]
        else:
            key = (convert, stamp.group(*_stamp_fields(stamp.re)))
        known = self.known.get(key)
        if known is None:
            try:
                if convert is bsd_times:
                    self.bsd_wall_us(stamp)
                else:
                    convert(stamp, self.options)
                known = True
            except (ValueError, OverflowError):  # what stamp_times reports
                known = False
            self.known.keep(key, known)
        return known

    def leading_converts(
        self,
        lines: list[re.Match[bytes]],
        convert: StampConverter,
        stamp: re.Pattern[bytes] | None = None,
    ) -> int:
        """How many of ``lines`` (matches at the start of lines with a stamp of ``convert``),
        from the first, have a stamp ``converts`` says converts: BSD_STAMPs' known answers
        looked up by their "second" group, per distinct second at once (a run's lines share a
        few); else each line's, from its own stamp groups or, when ``stamp`` is given (the
        lines' pattern captures only "second"), from ``stamp`` matched again at its start."""
        if convert is bsd_times and all(map(self.known.get, set(map(_second_of, lines)))):
            return len(lines)
        for at, line in enumerate(lines):
            found = line if stamp is None else stamp.match(line.string, line.start())
            if found is None or not self.converts(found, convert):
                return at
        return len(lines)


_second_of: Final = operator.itemgetter("second")


@functools.lru_cache(maxsize=256)  # (a pattern per line shape and host: bounded)
def _stamp_fields(pattern: re.Pattern[bytes]) -> tuple[str, ...]:
    """The groups of a stamp pattern that decide whether it converts (not the fraction)."""
    return tuple(name for name in pattern.groupindex if name != "frac")


def bsd_times(stamp: re.Match[bytes], options: DecodeOptions) -> Times:
    """Times of a BSD_STAMP (no year, no zone)."""
    month, day = MONTHS[stamp["month"]], int(stamp["day"])
    return yearless_wall_us(month, day, stamp["clock"], fraction_us(stamp["frac"]), options), None


def dated_wall_us(stamp: re.Match[bytes], tz: tzinfo | None) -> int:
    """Epoch µs of a stamp with DATE, CLOCK and ``frac`` groups, in ``tz``."""
    year, month, day = (int(part) for part in stamp["date"].split(b"-"))
    return civil_wall_us(year, month, day, stamp["clock"], fraction_us(stamp["frac"]), tz)


def iso_times(stamp: re.Match[bytes], options: DecodeOptions) -> Times:
    """Times of an ISO_STAMP-like stamp (it carries its zone)."""
    return dated_wall_us(stamp, offset_zone(stamp["zone"])), None


def monotonic_times(stamp: re.Match[bytes], options: DecodeOptions) -> Times:
    """Times of a MONOTONIC_STAMP: kernel time only."""
    return None, seconds_us(stamp["sec"], stamp["frac"])


def find_stamp(
    stamps: Sequence[Stamp], line: bytes, pos: int = 0
) -> tuple[re.Match[bytes], StampConverter] | None:
    """The first of ``stamps`` that matches ``line`` at ``pos``, with its converter."""
    for pattern, convert in stamps:
        match = pattern.match(line, pos)
        if match is not None:
            return match, convert
    return None


def stamp_times(
    convert: StampConverter, stamp: re.Match[bytes], options: DecodeOptions, raw: bytes
) -> Times:
    """``convert(stamp)``; an impossible date is reported and gives no times."""
    try:
        return convert(stamp, options)
    except (ValueError, OverflowError):  # OverflowError: local time of year 1 on some libcs
        options.report("impossible timestamp", raw)
        return None, None


StampedTail = tuple[re.Match[bytes], StampConverter, re.Match[bytes]]


def find_stamped_tail(stamps: Sequence[Stamp], line: bytes, pos: int = 0) -> StampedTail | None:
    """A stamp of ``stamps`` at ``pos`` followed by a ``host ident: message`` tail: (the stamp,
    its converter, the SYSLOG_TAIL match)."""
    found = find_stamp(stamps, line, pos)
    if found is None:
        return None
    stamp, convert = found
    tail = SYSLOG_TAIL.match(line, stamp.end())
    return None if tail is None else (stamp, convert, tail)


def tail_line(
    found: StampedTail, raw: bytes, options: DecodeOptions, source_format: str
) -> KernelLine | Ignored:
    """The kernel line of a stamped ``host ident: message`` line, or IGNORED when another
    program wrote it."""
    stamp, convert, tail = found
    if tail["ident"] != b"kernel":
        return IGNORED
    wall_us, kernel_us = stamp_times(convert, stamp, options, raw)
    message, in_message = tail_message(tail)
    if in_message is not None:
        kernel_us = seconds_us(in_message["sec"], in_message["frac"])
    host = tail["host"]
    return KernelLine(
        text=decode_text(message, raw, options),
        kernel_us=kernel_us,
        wall_us=wall_us,
        host=None if host is None else decode_text(host, raw, options),
        source_format=source_format,
    )


def tail_message(tail: re.Match[bytes]) -> tuple[bytes, re.Match[bytes] | None]:
    """The kernel's text in a SYSLOG_TAIL match, and the printk time klogd left before it."""
    message = tail["message"] or b""
    in_message = KERNEL_STAMP_IN_MESSAGE.match(message)
    if in_message is not None:
        message = message[in_message.end() :]
    return message, in_message


def uncaptured(pattern: bytes) -> bytes:
    """A pattern with its named groups made non-capturing (to frame another pattern's groups)."""
    return re.sub(rb"\(\?P<\w+>", rb"(?:", pattern)


def consecutive_matches(
    line: re.Pattern[bytes], buf: bytes, pos: int, end: int
) -> list[re.Match[bytes]]:
    """The matches of ``line`` at ``buf[pos]`` and on, each where the last one ended, up to the
    first line it does not match (``end``: as ``match``'s endpos), in one C loop: the
    pattern's ``scanner`` (CPython's, what ``re.Scanner`` is made of) matches each time from
    where its last match ended."""
    scanner = line.scanner(buf, pos, end)  # type: ignore[attr-defined]
    matches: list[re.Match[bytes]] = list(iter(scanner.match, None))
    return matches


_groups_of: Final = re.Match.groups


def quick_run_of(
    line: re.Pattern[bytes], buf: bytes, pos: int, end: int, source: SourceKey
) -> QuickRun:
    """A decoder's ``quick_run`` from the pattern of one line of a run (its groups, newline
    included, and no empty match): the groups of every line of the run at ``buf[pos]``, where
    it ends, and their ``source``. One pass: each line is matched where the last one ended."""
    matches = consecutive_matches(line, buf, pos, end)
    if not matches:
        return [], pos, source
    return list(map(_groups_of, matches)), matches[-1].end(), source
