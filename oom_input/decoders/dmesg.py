"""``dmesg`` output (util-linux), and kernel console lines of the same shape.

Accepted lines::

    [  499.798531] text                     dmesg                  kernel_us
    <3>[  499.798531] text                  dmesg -r, console      kernel_us
    kern  :err   : [  499.798531] text      dmesg -x               kernel_us
    kern  :err   : text                     dmesg -x -t            (no time)
    [  499.798531 <    0.000016>] text      dmesg -d               kernel_us
    2026-11-26T18:29:15,798531+00:00 text   --time-format iso      wall_us
    [Thu Nov 26 18:29:15 2026] text         -T (local time)        wall_us (seconds)
    [So Nov 26 18:29:15 2026] text          -T, LC_TIME=de_DE      wall_us, or none (below)
    [Nov26 18:29] text                      --time-format reltime  wall_us (minutes)
    [  +0.000123] text                      reltime, same minute   (no time)
    [<    0.000123>] text                   --time-format delta    (no time)

A console priority ``<N>`` may precede any stamp and ``-x`` names any stamp. A printk caller
id right after the stamp (``[  499.798531] [  T123] text`` from dmesg, ``[  499.798531][  T123]
text`` on the console) is dropped. Stamps without a year (reltime) use ``DecodeOptions.year``,
stamps without a zone (``-T``, reltime) ``DecodeOptions.tz``. The text is taken as printed:
dmesg already decoded the kernel's ``\\xNN`` escapes (it re-escapes only invalid bytes).
``-T`` names the weekday and month in the language of LC_TIME (``[dim. nov. 26 ...]``,
``[日 11月 26 ...]``): the month is read when it is English in any case (``nov.``, Spanish ``nov``)
or a number (``11月``); another month name (``déc.``, ``ноя``) gives the line no time, and is
reported (``LC_TIME=C dmesg -T`` prints English names).

``[  499.798531] <host> kernel: text`` is journalctl -o short-monotonic, not dmesg: it is
rejected (None) so that the journal decoder names it. Any other ``[ts] text`` is dmesg, even
when the text happens to look like ``word word: text``. ``dmesg -t`` output has no prefix at
all: that is the plain decoder's. Example::

    kern  :err   : [ 1194.840991] Memory cgroup out of memory: Killed process 3171 (stress) ...
    -> KernelLine(text="Memory cgroup out of memory: Killed process 3171 (stress) ...",
                  kernel_us=1194840991, source_format="dmesg")
"""

from __future__ import annotations

import functools
import re
from typing import ClassVar

from oom_input.decoders._common import (
    CALLER_ID,
    CLOCK,
    DATE,
    MONOTONIC_STAMP,
    MONTH,
    MONTHS,
    SYSLOG_TAIL,
    WEEKDAY,
    Stamp,
    StampConverter,
    Times,
    civil_wall_us,
    continuation_line,
    continues,
    decode_text,
    find_stamp,
    fraction_us,
    iso_times,
    monotonic_times,
    quick_run_of,
    stamp_times,
    strip_cr,
    uncaptured,
    yearless_wall_us,
)
from oom_input.types import DecodeOptions, Ignored, KernelLine, QuickRun, QuickText, SourceKey

_FACILITIES = (
    rb"kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|res[0-3]|local[0-7]"
)
_LEVELS = rb"emerg|alert|crit|err|warn|notice|info|debug"
# console / dmesg -r priority "<N>", then dmesg -x's padded names "kern  :err   : "
DMESG_PREFIX = re.compile(
    rb"(?:<\d{1,3}>)?(?:(?P<facility>%s) *:(?:%s) *: )?" % (_FACILITIES, _LEVELS)
)
# dmesg default/-r/-x and the console "[  499.798531]"; dmesg -d "[  499.798531 <    0.000016>]"
KERNEL_TIME = re.compile(MONOTONIC_STAMP + rb"(?: <[ \d.]+>)?\]")
# dmesg -T / --time-format ctime "[Thu Nov 26 18:29:15 2026]" (local time), -d adds " <delta>"
CTIME = re.compile(
    rb"\[%s %s +(?P<day>\d{1,2}) %s (?P<year>\d{4})(?: <[ \d.]+>)?\]" % (WEEKDAY, MONTH, CLOCK)
)
# dmesg -T in another language (LC_TIME): the weekday and month as its locale abbreviates them,
# "[So Nov 26 18:29:15 2026]", "[dim. nov. 26 ...]", "[日 11月 26 ...]", "[Вс ноя 26 ...]"; some
# pad a month number to two columns (glibc's ja_JP, ko_KR, zh_TW: "[月  1月  5 ...]")
LOCAL_CTIME = re.compile(
    rb"\[\S+ +(?P<month_name>\S+) +(?P<day>\d{1,2}) %s (?P<year>\d{4})(?: <[ \d.]+>)?\]" % CLOCK
)
# a LOCAL_CTIME month name that is its number before a unit ("11月", "11월")
MONTH_NUMBER = re.compile(rb"(?P<number>1[0-2]|0?[1-9])\D")
LOCAL_MONTH_UNREAD = "dmesg -T month name not in English, no time: run it with LC_TIME=C"
# dmesg --time-format iso "2026-11-26T18:29:15,798531+00:00" (a comma, unlike syslog's RFC 3339)
DMESG_ISO = re.compile(rb"%sT%s,(?P<frac>\d{1,9})(?P<zone>[+-]\d\d:?\d\d)" % (DATE, CLOCK))
# dmesg --time-format reltime (and -H) "[Nov26 18:29]": printed when the minute changes
RELTIME_MINUTE = re.compile(rb"\[%s(?P<day>\d\d) (?P<hour_minute>\d\d:\d\d)\]" % MONTH)
# dmesg reltime between its minute stamps "[  +0.000123]", --time-format delta "[<    0.000123>]"
DELTA = re.compile(rb"\[(?: *\+\d+\.\d+|< *\d+\.\d+>)\]")
# what follows a stamp: an optional printk caller id, then one space before the text
STAMP_END_SPACE = CALLER_ID + rb" "
STAMP_END = re.compile(CALLER_ID + rb"(?: |\Z)")
# dmesg's default style up to its text "[  499.798531] " (KERNEL_TIME as "time", then STAMP_END):
# the common case, that decode and quick_text read at once
DEFAULT_STAMP = re.compile(rb"(?P<time>%s)%s" % (KERNEL_TIME.pattern, STAMP_END.pattern))
_NO_SOURCE: SourceKey = (None, None)  # dmesg names no host or boot
_NAME = "dmesg"
_TIME, _SEC, _FRAC = (DEFAULT_STAMP.groupindex[name] for name in ("time", "sec", "frac"))


def _ctime_times(stamp: re.Match[bytes], options: DecodeOptions) -> Times:
    month, day, year = MONTHS[stamp["month"]], int(stamp["day"]), int(stamp["year"])
    return civil_wall_us(year, month, day, stamp["clock"], 0, options.tz), None


def _local_ctime_times(stamp: re.Match[bytes], options: DecodeOptions) -> Times:
    name = stamp["month_name"]
    number = MONTH_NUMBER.match(name)
    month = int(number["number"]) if number else MONTHS.get(name.rstrip(b".").capitalize())
    if month is None:
        options.report(LOCAL_MONTH_UNREAD, stamp.string)
        return None, None
    year, day = int(stamp["year"]), int(stamp["day"])
    return civil_wall_us(year, month, day, stamp["clock"], 0, options.tz), None


def _reltime_times(stamp: re.Match[bytes], options: DecodeOptions) -> Times:
    month, day, clock = MONTHS[stamp["month"]], int(stamp["day"]), stamp["hour_minute"] + b":00"
    return yearless_wall_us(month, day, clock, 0, options), None


def _no_times(stamp: re.Match[bytes], options: DecodeOptions) -> Times:
    return None, None


DMESG_STAMPS: tuple[Stamp, ...] = (
    (KERNEL_TIME, monotonic_times),
    (DMESG_ISO, iso_times),
    (CTIME, _ctime_times),
    (RELTIME_MINUTE, _reltime_times),
    (DELTA, _no_times),
    (LOCAL_CTIME, _local_ctime_times),
)


class DmesgDecoder:
    """Lines of ``dmesg`` in its timestamped output styles."""

    name: ClassVar[str] = _NAME
    extra_markers: ClassVar[tuple[bytes, ...]] = ()
    # every line of this format is of one source: it names no host or boot id (see
    # LineScanner: a report's header then bounds the look-back for its context lines)
    one_source: ClassVar[bool] = True

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options

    def decode(self, raw: bytes) -> KernelLine | Ignored | None:
        """One dmesg line, or None when it has neither a dmesg stamp nor ``-x`` names."""
        # (the default style's path written out: strip_cr, _default_stamp, decode_text and
        # seconds_us cost as much again as calls, and every line the reader decodes takes it)
        line = raw[:-1] if raw.endswith(b"\r") else raw
        default = DEFAULT_STAMP.match(line)
        if default is not None and (
            line.find(b" kernel", default.end(_TIME)) < 0
            or not _is_journal(line, default.end(_TIME))
        ):
            data = line[default.end() :]
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = decode_text(data, raw, self.options)
            sec, frac = default.group(_SEC, _FRAC)
            micros = int(frac) if len(frac) == 6 else fraction_us(frac)
            # (by position: keyword arguments cost a dict per line)
            return KernelLine(
                text, int(sec) * 1_000_000 + micros, None, None, None, None, None, _NAME
            )
        parsed = _parse(line)
        if parsed is None:
            return None
        text_at, found = parsed
        if found is None:
            text = decode_text(line[text_at:], raw, self.options)
            return KernelLine(text=text, source_format=self.name)
        stamp, convert = found
        wall_us, kernel_us = stamp_times(convert, stamp, self.options, raw)
        return KernelLine(
            text=decode_text(line[text_at:], raw, self.options),
            kernel_us=kernel_us,
            wall_us=wall_us,
            source_format=self.name,
        )

    continues = staticmethod(continues)

    def continuation(self, raw: bytes, head: bytes | None) -> KernelLine | Ignored | None:
        """A continuation line (``continues``) of line ``head``: kernel text when ``head`` is a
        dmesg line (dmesg prints no times on them), else None."""
        if head is None:
            return None
        line = strip_cr(head)
        if _default_stamp(line) is None and _parse(line) is None:
            return None
        return continuation_line(raw, self.options, self.name)

    def quick_text(self, raw: bytes) -> QuickText | None:
        """``decode``'s text of a line of dmesg's default style (``[  499.798531] text``, no
        other prefix), valid UTF-8; None for any other line (``decode`` it)."""
        line = raw[:-1] if raw.endswith(b"\r") else raw  # (as decode, written out)
        default = DEFAULT_STAMP.match(line)
        if default is None or (
            line.find(b" kernel", default.end(_TIME)) >= 0 and _is_journal(line, default.end(_TIME))
        ):
            return None
        try:
            return line[default.end() :].decode("utf-8"), _NO_SOURCE
        except UnicodeDecodeError:
            return None

    def quick_run(self, buf: bytes, pos: int, end: int, shape: bytes) -> QuickRun:
        """The lines of dmesg's default style from ``buf[pos]`` on whose text fully matches
        ``shape`` (a ``BlockReader`` shape: never journalctl's "host kernel:" nor a caller
        id, so the stamp's end is where ``decode`` finds it)."""
        return quick_run_of(_run_line(shape), buf, pos, end, _NO_SOURCE)


@functools.cache
def _run_line(shape: bytes) -> re.Pattern[bytes]:
    """A default-style line whose text is ``shape`` (its groups), one line of a run."""
    return re.compile(uncaptured(KERNEL_TIME.pattern) + STAMP_END_SPACE + rb"(?:%s)\n" % shape)


def _parse(line: bytes) -> tuple[int, tuple[re.Match[bytes], StampConverter] | None] | None:
    """Where a dmesg line's text starts, and its stamp (None with ``-x -t``); None when the line
    is no dmesg line."""
    prefix = DMESG_PREFIX.match(line)
    assert prefix is not None  # every part of the prefix is optional
    found = find_stamp(DMESG_STAMPS, line, prefix.end())
    if found is None:
        return None if prefix["facility"] is None else (prefix.end(), None)
    stamp, convert = found
    end = STAMP_END.match(line, stamp.end())
    if end is None:
        return None
    if convert is monotonic_times and prefix.end() == 0 and _is_journal(line, stamp.end()):
        return None
    return end.end(), found


def _default_stamp(line: bytes) -> re.Match[bytes] | None:
    """The DEFAULT_STAMP match of a dmesg line of the default style (``_parse`` finds that
    stamp, and where the text starts, first), else None."""
    default = DEFAULT_STAMP.match(line)
    if default is None:
        return None
    time_end = default.end("time")
    if line.find(b" kernel", time_end) >= 0 and _is_journal(line, time_end):  # see _is_journal
        return None
    return default


def _is_journal(line: bytes, stamp_end: int) -> bool:
    """Whether ``[ts]`` is followed by journalctl's ``<host> kernel:`` (short-monotonic)."""
    if line.find(b" kernel", stamp_end) < 0:  # the tail's " kernel": rare in dmesg's text
        return False
    tail = SYSLOG_TAIL.match(line, stamp_end)
    return tail is not None and tail["host"] is not None and tail["ident"] == b"kernel"
