"""``journalctl`` text output (``journalctl -k``, ``journalctl -b``, ...) in its short styles.

Accepted lines::

    Nov 26 18:37:34 node-a kernel: text                 -o short              wall_us
    Nov 26 18:37:34.798531 node-a kernel: text          -o short-precise      wall_us
    2025-11-26T18:37:34+0000 node-a kernel: text        -o short-iso          wall_us
    2025-11-26T18:37:34.798531+0000 node-a kernel: text -o short-iso-precise  wall_us
    Wed 2025-11-26 18:37:34 UTC node-a kernel: text     -o short-full         wall_us
    [  499.798531] node-a kernel: text                  -o short-monotonic    kernel_us
    [  499.798531 <    0.000021 >] node-a kernel: text  -o short-delta        kernel_us
    1764182254.798531 node-a kernel: text               -o short-unix         wall_us
    -- Boot 1a2b3c4d5e6f708192a3b4c5d6e7f809 --         IGNORED, sets boot_id
    -- Reboot --                                        IGNORED, forgets it
    -- No entries --, -- Logs begin at ... --,          IGNORED
    -- Journal begins at ... --                         IGNORED

journalctl's colours (``SYSTEMD_COLORS=1``, or a terminal's capture: notes in bold, a message
of any priority but info in its priority's colour, ``kernel: ESC[0;1;31mMemory cgroup
...ESC[0m``) are no part of a line in any style (a file whose first line is coloured is read
without them all, see ``oom_input.decoders._terminal``; journalctl colours a whole message, so
the common case's path only checks that a message does not start with one).

``host`` is the host column (absent when the entry had no hostname). Lines of other programs
(``node-a systemd[1]: ...``) are IGNORED. A kernel timestamp left at the start of the message
(``kernel: [  123.456789] text``, as syslog files have) sets ``kernel_us`` and is dropped, with
a printk caller id after it.

Stamps without a year (short, short-precise) use ``DecodeOptions.year``; stamps without a zone
(short, short-precise; short-full with a zone abbreviation other than UTC/GMT) use
``DecodeOptions.tz``. After a ``-- Boot <id> --`` line, every line carries that boot id in the
canonical dashed form of /proc/sys/kernel/random/boot_id.

``[ts] text`` is dmesg's unless it reads ``[ts] <host> kernel: text``; this decoder then also
claims (and ignores) other programs' ``[ts] <host> ident: text`` lines of that same host.
``journalctl -o cat`` output has no prefix: that is the plain decoder's. BSD syslog lines look
exactly like ``-o short``; in auto-detection, this decoder (tried first) names them, except a
kernel line with rsyslog's control-character escapes (``kernel: anon 1#012file 0``): journalctl
never escapes, so such a line is not this decoder's but the syslog decoder's. Example::

    Nov 26 18:19:54.840991 node-a kernel: Memory cgroup out of memory: Killed process 3171 ...
    -> KernelLine(text="Memory cgroup out of memory: Killed process 3171 ...",
                  wall_us=1764181194840991, host="node-a", source_format="journal")
                  (with DecodeOptions(year=2025, tz=timezone.utc))
"""

from __future__ import annotations

import functools
import operator
import re
from datetime import timezone, tzinfo
from typing import ClassVar, Final

from oom_input.decoders._common import (
    BSD_STAMP,
    CLOCK,
    DATE,
    ISO_STAMP,
    KERNEL_STAMP_IN_MESSAGE,
    KERNEL_TAIL,
    MONOTONIC_STAMP,
    WEEKDAY,
    KnownStamps,
    Remembered,
    Stamp,
    StampedTail,
    Times,
    bsd_times,
    consecutive_matches,
    continuation_line,
    continues,
    dashed_uuid,
    dated_wall_us,
    decode_text,
    find_stamped_tail,
    iso_times,
    kernel_tail,
    monotonic_times,
    offset_zone,
    seconds_us,
    strip_cr,
    tail_line,
    tail_message,
    uncaptured,
)
from oom_input.decoders._terminal import CSI
from oom_input.decoders.syslog import escaped_by_rsyslog
from oom_input.types import (
    IGNORED,
    DecodeOptions,
    Ignored,
    KernelLine,
    QuickRun,
    QuickText,
    SourceKey,
)

# journalctl -o short / short-precise "Nov 26 18:37:34[.798531]" (local time, no year)
SHORT = re.compile(BSD_STAMP)
# journalctl -o short / short-precise kernel line up to its message, which has no klogd stamp
# (the common case, that decode and quick_text read at once, when the message holds no colour:
# _COLOUR): SHORT, then SYSLOG_TAIL with the kernel's ident
SHORT_KERNEL = re.compile(
    BSD_STAMP + KERNEL_TAIL + rb"(?: (?!%s)|\Z)" % uncaptured(KERNEL_STAMP_IN_MESSAGE.pattern)
)
# a control sequence's start: journalctl's colours, which the general path removes from a line
_COLOUR: Final = b"\x1b["
# journalctl -o short-iso / short-iso-precise "2025-11-26T18:37:34[.798531]+0000"
SHORT_ISO = re.compile(ISO_STAMP)
# journalctl -o short-full "Wed 2025-11-26 18:37:34 UTC" (zone abbreviation, or "+03")
SHORT_FULL = re.compile(
    rb"%s %s %s(?:\.(?P<frac>\d{1,9}))? (?P<zone>[A-Za-z]+|[+-]\d\d(?:\d\d)?)"
    % (WEEKDAY, DATE, CLOCK)
)
# journalctl -o short-monotonic "[  499.798531]" (time since boot); -o short-delta adds the
# time since the previous entry: "[  499.798531 <    0.000021 >]", "<7.5*>" after a new boot,
# blank padding on the first entry
SHORT_MONOTONIC = re.compile(MONOTONIC_STAMP + rb"(?: *| <[ \d.*]+>)\]")
# journalctl -o short-unix "1764182254.798531" (seconds since the epoch)
SHORT_UNIX = re.compile(rb"(?P<sec>\d{9,12})\.(?P<frac>\d{1,9})")
# journalctl between two boots' entries: "-- Boot 1a2b...(32 hex) --"
BOOT_SEPARATOR = re.compile(rb"-- Boot (?P<boot_id>[0-9a-fA-F]{32}) --\Z")
# journalctl notes: empty result, head of older versions' output, their boot change
JOURNAL_NOTE = re.compile(rb"-- (?:No entries|Logs begin at .*|Journal begins at .*|Reboot) --\Z")
# journalctl's boot separators, each a line of its own (it printf()s "-- Boot <id> --", older
# versions "-- Reboot --"): a reader decodes the lines holding these; "-- Reboot --" only once a
# boot id is known (before, the line changes nothing), which spares a pass over every byte
BOOT_MARKERS = (b"-- Boot ",)
BOOT_AND_REBOOT_MARKERS = (*BOOT_MARKERS, b"-- Reboot --")
_UTC_NAMES = (b"UTC", b"GMT")
_MAX_REMEMBERED = 4096  # sources quick_text remembers
_NAME = "journal"


def _full_times(stamp: re.Match[bytes], options: DecodeOptions) -> Times:
    zone = stamp["zone"]
    tz: tzinfo | None
    if zone in _UTC_NAMES:
        tz = timezone.utc
    elif zone.startswith((b"+", b"-")):
        tz = offset_zone(zone)
    else:  # an abbreviation (CET, EST): ambiguous worldwide, so the configured zone decides
        tz = options.tz
    return dated_wall_us(stamp, tz), None


def _unix_times(stamp: re.Match[bytes], options: DecodeOptions) -> Times:
    return seconds_us(stamp["sec"], stamp["frac"]), None


JOURNAL_STAMPS: tuple[Stamp, ...] = (
    (SHORT, bsd_times),
    (SHORT_ISO, iso_times),
    (SHORT_FULL, _full_times),
    (SHORT_MONOTONIC, monotonic_times),
    (SHORT_UNIX, _unix_times),
)


class JournalDecoder:
    """journalctl's short output styles; remembers the boot id of the last boot separator."""

    name: ClassVar[str] = _NAME
    # the scanner decodes only lines near OOM markers: without these, boot changes go unseen
    extra_markers: tuple[bytes, ...] = BOOT_MARKERS

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options
        self._boot_id: str | None = None
        self._monotonic_host: bytes | None = None  # host of the last short-monotonic kernel line
        # quick_text: whether each stamp converts, the source of each (host, boot id)
        stamps = KnownStamps(options)
        self._converts = stamps.known  # _stamp_converts's answers, by their key
        self._stamp_converts = stamps.converts
        self._leading_converts = stamps.leading_converts
        self._sources: Remembered[tuple[bytes | None, str | None], SourceKey]
        self._sources = Remembered(_MAX_REMEMBERED)
        # the host, boot id and source _source gave last (b"" is no host: none yet)
        self._last_source: tuple[bytes | None, str | None, SourceKey] = (b"", None, (None, None))
        self._quick_host: bytes | None = None  # the host of the last line quick_text read
        # short stamps' times (decode)
        self._wall_us = stamps.bsd_wall_us

    def decode(self, raw: bytes) -> KernelLine | Ignored | None:
        """One journalctl line, IGNORED for notes and other programs' lines, None otherwise."""
        line = raw[:-1] if raw.endswith(b"\r") else raw  # (strip_cr: every line decoded)
        kernel = SHORT_KERNEL.match(line)
        message = b"" if kernel is None else line[kernel.end() :]
        if (
            kernel is not None
            and message.find(_COLOUR) < 0  # (anywhere in it: as the general path strips them)
            and not escaped_by_rsyslog(message)  # else: as _written_by_rsyslog
        ):
            try:
                wall_us = self._wall_us(kernel)
            except (ValueError, OverflowError):
                pass  # reported below, as stamp_times reports it
            else:
                host = kernel["host"]
                try:  # (decode_text's common case written out)
                    text = message.decode("utf-8")
                except UnicodeDecodeError:
                    text = decode_text(message, raw, self.options)
                return KernelLine(  # (by position: keyword arguments cost a dict per line)
                    text,
                    None,
                    wall_us,
                    None if host is None else decode_text(host, raw, self.options),
                    self._boot_id,
                    None,
                    None,
                    _NAME,
                )
        if line.startswith(b"-- "):
            return self._note(line)
        if line.find(_COLOUR) >= 0 and CSI.search(line):
            # journalctl's colours (SYSTEMD_COLORS, a terminal's capture): its notes in bold, a
            # message by its priority; the reader found the line by its words, whole between them
            return self.decode(CSI.sub(b"", raw))
        found = self._stamped_tail(line)
        if found is None or _written_by_rsyslog(found):
            return None
        result = tail_line(found, raw, self.options, self.name)
        if isinstance(result, KernelLine):
            result.boot_id = self._boot_id
        return result

    continues = staticmethod(continues)

    def continuation(self, raw: bytes, head: bytes | None) -> KernelLine | Ignored | None:
        """A continuation line (``continues``) of line ``head``: kernel text of ``head``'s host
        when ``head`` is a kernel line, IGNORED when another program's (its message goes on:
        never kernel text), else None."""
        line = None if head is None else strip_cr(head)
        found = None if line is None or line.startswith(b"-- ") else self._stamped_tail(line)
        if found is None:
            return None
        tail = found[2]
        if tail["ident"] != b"kernel":
            return IGNORED
        host = tail["host"]
        return continuation_line(
            raw,
            self.options,
            self.name,
            None if host is None else host.decode("utf-8", errors="replace"),
            self._boot_id,
        )

    def _stamped_tail(self, line: bytes) -> StampedTail | None:
        """The stamp and ``host ident: message`` of a journalctl line, else None."""
        found = find_stamped_tail(JOURNAL_STAMPS, line)
        if found is None:
            return None
        if found[1] is monotonic_times and not self._claims_monotonic(found[2]):
            return None
        return found

    def quick_text(self, raw: bytes) -> QuickText | None:
        """``decode``'s text and source of a kernel line with a wall-clock stamp (valid UTF-8,
        a date ``decode`` does not report); None for any other line (``decode`` it)."""
        line = raw[:-1] if raw.endswith(b"\r") else raw  # (strip_cr, as in decode)
        kernel = SHORT_KERNEL.match(line)
        if kernel is not None:
            second, host = kernel.group("second", "host")
            converts = self._converts.get(second)  # _stamp_converts's key
            if converts is None:
                converts = self._stamp_converts(kernel, bsd_times)
            message = line[kernel.end() :]
            if not converts or message.find(_COLOUR) >= 0 or escaped_by_rsyslog(message):
                return None
            try:
                text, source = message.decode("utf-8"), self._source(host)
            except UnicodeDecodeError:
                return None
            self._quick_host = host
            return text, source
        if line.startswith(b"-- ") or line.find(_COLOUR) >= 0:
            return None
        found = find_stamped_tail(JOURNAL_STAMPS, line)
        if found is None:
            return None
        stamp, convert, tail = found
        if convert is monotonic_times or tail["ident"] != b"kernel":
            return None
        if not self._stamp_converts(stamp, convert):
            return None
        message, _ = tail_message(tail)
        if escaped_by_rsyslog(message):
            return None
        try:
            text, source = message.decode("utf-8"), self._source(tail["host"])
        except UnicodeDecodeError:
            return None
        self._quick_host = tail["host"]
        return text, source

    def quick_run(self, buf: bytes, pos: int, end: int, shape: bytes) -> QuickRun:
        """The kernel lines of the default style (``Nov 26 18:37:34[.frac] host kernel: text``)
        of the host ``quick_text`` read last, from ``buf[pos]`` on, whose text fully matches
        ``shape`` (a ``BlockReader`` shape: no klogd stamp, and the tail parses as ``decode``
        parses it) and whose stamp converts."""
        host = self._quick_host
        source = self._source(host)
        lines = consecutive_matches(_run_line(shape, host), buf, pos, end)
        del lines[self._leading_converts(lines, bsd_times, SHORT) :]
        if not lines:
            return [], pos, source
        return list(map(_SHAPE_GROUPS, map(_groups_of, lines))), lines[-1].end(), source

    def _source(self, host: bytes | None) -> SourceKey:
        """The (host, boot id) of a kernel line of this host, one tuple per source."""
        last = self._last_source
        if host == last[0] and self._boot_id is last[1]:
            return last[2]  # the common case: the host and boot of the line before
        key = (host, self._boot_id)
        source = self._sources.get(key)
        if source is None:
            source = self._sources.keep(
                key, (None if host is None else host.decode("utf-8"), self._boot_id)
            )
        self._last_source = (host, self._boot_id, source)
        return source

    def _note(self, line: bytes) -> Ignored | None:
        separator = BOOT_SEPARATOR.match(line)
        if separator is not None:
            self._boot_id = dashed_uuid(separator["boot_id"])
            self.extra_markers = BOOT_AND_REBOOT_MARKERS
            return IGNORED
        if JOURNAL_NOTE.match(line):
            if line == b"-- Reboot --":
                self._boot_id = None
            return IGNORED
        return None

    def _claims_monotonic(self, tail: re.Match[bytes]) -> bool:
        # "[ts] text" is dmesg's unless a host and the kernel ident follow the stamp; once such
        # a line was seen, other programs' lines of the same host are journal lines too
        host = tail["host"]
        if host is None:
            return False
        if tail["ident"] == b"kernel":
            self._monotonic_host = host
            return True
        return host == self._monotonic_host


def _written_by_rsyslog(found: StampedTail) -> bool:
    """Is this a kernel line that rsyslog wrote, not journalctl (a stamp both print, a message
    with rsyslog's escapes)?"""
    _, convert, tail = found
    return (
        convert in (bsd_times, iso_times)
        and tail["ident"] == b"kernel"
        and escaped_by_rsyslog(tail["message"] or b"")
    )


# the stamp of a run's lines (SHORT), its "second" captured only (what says whether it converts,
# KnownStamps.leading_converts; fewer groups to make per line)
_RUN_STAMP: Final = re.sub(rb"\(\?P<(?!second>)\w+>", b"(?:", SHORT.pattern)
# a run line's groups after the stamp's second: the shape's
_SHAPE_GROUPS: Final = operator.itemgetter(slice(1, None))
_groups_of: Final = re.Match.groups


@functools.lru_cache(maxsize=256)
def _run_line(shape: bytes, host: bytes | None) -> re.Pattern[bytes]:
    """A default-style kernel line of ``host`` whose text is ``shape``, one line of a run (the
    stamp's "second", then the shape's groups)."""
    tail = kernel_tail(b"" if host is None else re.escape(host) + b" ")
    return re.compile(rb"%s%s (?:%s)\n" % (_RUN_STAMP, tail, shape))
