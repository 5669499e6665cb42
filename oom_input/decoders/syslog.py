"""Syslog files written by rsyslog, syslog-ng or sysklogd (``/var/log/messages``,
``/var/log/kern.log``, ``/var/log/syslog``), and syslog lines forwarded with their priority.

Accepted lines::

    Dec  7 00:20:58 node1 kernel: text                           BSD / RFC 3164     wall_us
    Dec  7 00:20:58 node1 kernel: [  123.456789] text            klogd kept printk time,
                                                                  also sets kernel_us
    2025-11-26T18:37:34.798531+00:00 node1 kernel: text          rsyslog RFC 3339   wall_us
    <4>Dec  7 00:20:58 node1 kernel: text                        with a <PRI> prefix
    Dec  7 00:20:58 node1 sshd[812]: text                        other program: IGNORED
    <6>1 2025-11-26T18:37:34.798531+00:00 node1 kernel - - - text
                                                                  RFC 5424          wall_us
    <6>1 - - kernel 12 - [meta sequenceId="3"] <BOM>text          nil time and host, SD, BOM
    123 <6>1 2025-11-26T18:37:34Z node1 kernel - - - text        RFC 6587 octet count
    <14>1 2025-11-26T18:37:34Z node1 sshd 812 - - text           other APP-NAME: IGNORED

RFC 5424 lines (section 6: ``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA
[MSG]``) are what rsyslog writes with ``RSYSLOG_SyslogProtocol23Format``, syslog-ng's
``syslog()`` destination, Fluent Bit's and Vector's syslog outputs: APP-NAME is the ident
(``kernel``: a kernel line), a nil (``-``) TIMESTAMP gives no wall time and a nil HOSTNAME no
host; PROCID, MSGID and STRUCTURED-DATA (``[id name="value"]``, ``\\"``, ``\\\\`` and ``\\]``
escaped in a value) are passed over; a UTF-8 byte order mark before MSG is dropped, and a klogd
stamp at its start and rsyslog's escapes read as in the BSD lines. MSG is kept as it is, leading
spaces included (rsyslog writes ``%msg%`` unchanged here). An RFC 6587 octet count before the
line (``123 <6>1 ...``, fluent-plugin-syslog_rfc5424's default, a TCP stream written to a
file) is passed over: every line is one message, unless its count ends it where another counted
message starts (frames back to back, ``logger --octet-count`` captured raw): the first is read
and the line reported. A line that starts as RFC 5424 does but whose header is damaged is
reported and not read as syslog.

The PRI's facility decides nothing (in BSD lines either): Fluent Bit and Vector write a kernel
message as facility ``user`` unless told otherwise; the ident does.

rsyslog writes a control character of a message as ``#`` and three octal digits
(``$EscapeControlCharactersOnReceive``, on by default). Where it reads the kernel's records from
the journal (imjournal: RHEL 7/8/9's default), a multi-line record (memory.stat on 5.0-6.3,
Mem-Info's counters on every kernel) is one line, ``kernel: anon 123#012file 0#012...``: a kernel
line's ``#000``-``#037`` are read back as the characters (``#012`` a newline, ``#011`` a tab), so
the record is one KernelLine whose text holds its newlines, as /dev/kmsg gives it. rsyslog does
not escape ``#`` itself, so a message that really holds ``#012`` reads as a newline too: the
kernel's own words hold no ``#`` and three digits from 000 to 037 (build numbers are ``#1``,
``#101``), only a name a program chose could, and rsyslog's file cannot tell that from a control
character either; such a name gives the record /dev/kmsg gives for a name holding a newline.

``host`` is the host column. A printk caller id after the kernel timestamp
(``kernel: [  123.456789] [  T123] text``) is dropped too. BSD stamps carry neither year nor
zone: they use ``DecodeOptions.year`` (else the current year, or the previous one when that
would put the line over a day in the future) and ``DecodeOptions.tz`` (else the local zone).

BSD syslog lines look exactly like ``journalctl -o short``: in auto-detection, the journal
decoder (tried first) names them; this decoder is for ``--input-format syslog``, for the
shapes journalctl does not print (``<PRI>`` prefixes, RFC 5424) and for kernel lines with
rsyslog's escapes (``escaped_by_rsyslog``: journalctl never escapes, so the journal decoder
leaves them here, and from then on this decoder reads the file).

``quick_text`` reads a kernel line (``KERNEL_LINES``: any stamp, ``<PRI>``, host and klogd stamp
``decode`` takes, RFC 5424 headers, a BOM) at once, escapes read back; ``quick_run`` reads runs
of a block's lines of the host and stamp style of the line before, and ends a run before a line
with an escape (``decode`` reads it back, a shape would not) or an octet count (``quick_text``
checks that its line holds one frame). Example::

    Nov 26 18:19:54 node-a kernel: [ 1194.840991] Memory cgroup out of memory: Killed ...
    -> KernelLine(text="Memory cgroup out of memory: Killed ...", kernel_us=1194840991,
                  wall_us=1764181194000000, host="node-a", source_format="syslog")
                  (with DecodeOptions(year=2025, tz=timezone.utc))
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from typing import ClassVar, Final

from oom_input.decoders._common import (
    BSD_STAMP,
    HOST_COLUMN,
    ISO_STAMP,
    KERNEL_STAMP_IN_MESSAGE,
    KLOGD_STAMP,
    UTF8_BOM,
    KnownStamps,
    Remembered,
    Stamp,
    StampConverter,
    Times,
    bsd_times,
    consecutive_matches,
    find_stamped_tail,
    iso_times,
    kernel_tail,
    strip_cr,
    tail_line,
    uncaptured,
)
from oom_input.types import DecodeOptions, Ignored, KernelLine, QuickRun, QuickText, SourceKey

# a syslog message's priority as sent on the wire (RFC 3164), kept by some forwarders: "<4>"
SYSLOG_PRI = re.compile(rb"<\d{1,3}>")
# rsyslog's traditional file format, syslog-ng, sysklogd (RFC 3164): "Dec  7 00:20:58"
BSD = re.compile(BSD_STAMP)
# rsyslog's RSYSLOG_FileFormat (RFC 3339, the Debian 12 default): "2025-11-26T18:37:34.798531+00:00"
RFC3339 = re.compile(ISO_STAMP)

# rsyslog ($EscapeControlCharactersOnReceive, on by default; 8.2302 checked) writes a control
# character of a message, newline and tab included, as "#" and its three octal digits: "#012"
CONTROL_ESCAPE = re.compile(r"#0[0-3][0-7]")
_CONTROL_ESCAPE_BYTES = re.compile(CONTROL_ESCAPE.pattern.encode("ascii"))
# the character each CONTROL_ESCAPE stands for
_CONTROL_CHARACTERS = {f"#{code:03o}": chr(code) for code in range(0o40)}

SYSLOG_STAMPS: tuple[Stamp, ...] = ((BSD, bsd_times), (RFC3339, iso_times))

# RFC 6587 octet counting before a message, as a TCP stream holds it: "123 "
OCTET_COUNT = rb"(?:[1-9]\d{0,8} )?"
# RFC 5424 (rsyslog RSYSLOG_SyslogProtocol23Format, syslog-ng syslog(), Fluent Bit and Vector
# syslog outputs) up to its TIMESTAMP: "<6>1 "
RFC5424_PRI_VERSION = OCTET_COUNT + rb"<\d{1,3}>1 "
# its TIMESTAMP, or NILVALUE: "2025-11-26T18:37:34.798531+00:00", "-"
RFC5424_STAMP = re.compile(rb"(?:%s|-)" % ISO_STAMP)
# an SD-ELEMENT of its STRUCTURED-DATA, '\"', '\\' and '\]' escaped in a value:
# '[meta sequenceId="12" x="a\"b"]'
SD_ELEMENT = rb'\[[^ =\]"]+(?: [^ =\]"]+="(?:[^"\\]|\\.)*")*\]'


def rfc5424_head(host: bytes, ident: bytes) -> bytes:
    """An RFC 5424 line up to its MSG (not the space before it), with ``host`` for HOSTNAME and
    ``ident`` for APP-NAME (patterns)."""
    return rb"%s%s %s %s \S+ \S+ (?:-|(?:%s)+)" % (
        RFC5424_PRI_VERSION,
        RFC5424_STAMP.pattern,
        host,
        ident,
        SD_ELEMENT,
    )


# its HOSTNAME, or NILVALUE (no "host")
RFC5424_HOST = rb"(?:-|(?P<host>\S+))"
# an RFC 5424 line: the groups of RFC5424_STAMP, "host", "ident" and "message" (SYSLOG_TAIL's)
RFC5424 = re.compile(
    rfc5424_head(RFC5424_HOST, rb"(?P<ident>\S+)") + rb"(?: (?:%s)?(?P<message>.*))?\Z" % UTF8_BOM,
    re.S,
)
# an octet count (OCTET_COUNT's), and the start of an RFC 5424 message with one
_COUNT = re.compile(rb"([1-9]\d{0,8}) ")
_COUNTED_FRAME = re.compile(_COUNT.pattern + RFC5424_PRI_VERSION.removeprefix(OCTET_COUNT))
# what decode reports for a line holding several octet-counted frames (RFC5424 reads the first)
SEVERAL_FRAMES = "several RFC 6587 frames on one line: only the first is read"
# a line that starts as RFC 5424 does (RFC5424 not matching it: a damaged header)
RFC5424_LIKE = re.compile(RFC5424_PRI_VERSION + rb"(?:\d{4}-\d\d-\d\dT|- )")


def rfc5424_times(stamp: re.Match[bytes], options: DecodeOptions) -> Times:
    """Times of an RFC5424_STAMP: none for NILVALUE."""
    return (None, None) if stamp["date"] is None else iso_times(stamp, options)


def _bsd_head(stamp: bytes, host: bytes) -> bytes:
    """A BSD or RFC 3339 kernel line with this stamp up to its message, with ``host`` for
    HOST_COLUMN (of one host, or none)."""
    return rb"(?:%s)?%s%s" % (SYSLOG_PRI.pattern, stamp, kernel_tail(host))


def _rfc5424_kernel_head(stamp: bytes, host: bytes) -> bytes:
    """An RFC 5424 kernel line up to its MSG, with ``host`` for HOSTNAME (empty: NILVALUE);
    ``stamp`` is RFC5424_STAMP's, which ``rfc5424_head`` holds."""
    return rfc5424_head(host or b"-", b"kernel")


# A stamp style of the kernel lines the quick paths read: its stamp (the first groups of its
# lines), converter, the line up to its message (of a host pattern, or b"" for none) and what
# may come between that and the text (a BOM, a klogd stamp)
QuickKind = tuple[re.Pattern[bytes], StampConverter, Callable[[bytes, bytes], bytes], bytes]
QUICK_KINDS: tuple[QuickKind, ...] = (
    *((pattern, convert, _bsd_head, b"") for pattern, convert in SYSLOG_STAMPS),
    (RFC5424_STAMP, rfc5424_times, _rfc5424_kernel_head, rb"(?:%s)?" % UTF8_BOM),
)


def _kernel_line(kind: QuickKind) -> re.Pattern[bytes]:
    """A kernel line of this kind up to its text (``decode``'s: past a klogd stamp)."""
    stamp, _, head, before_text = kind
    host_column = HOST_COLUMN if head is _bsd_head else RFC5424_HOST
    return re.compile(
        rb"%s(?: %s(?:%s)?|\Z)"
        % (
            head(stamp.pattern, host_column),
            before_text,
            uncaptured(KERNEL_STAMP_IN_MESSAGE.pattern),
        )
    )


_RFC5424_KIND = len(QUICK_KINDS) - 1


def first_frame_end(line: bytes) -> int:
    """Where the first RFC 6587 frame of a line ends when its octet count ends it where another
    frame starts, else the line's end (a count that holds the newline, as rsyslog's omfwd
    counts, or a wrong one: not checked). util-linux ``logger --octet-count`` sends frames with
    no newline, so a raw capture of its stream is one line of many messages."""
    if line[:1] == b"<" or not line[:1].isdigit():
        return len(line)
    count = _COUNT.match(line)
    if count is None:
        return len(line)
    end = count.end() + int(count[1])
    return end if _COUNTED_FRAME.match(line, end) else len(line)


# the kernel lines that quick_text reads at once: SYSLOG_PRI, a stamp of SYSLOG_STAMPS, then
# SYSLOG_TAIL with the kernel's ident, or an RFC 5424 header with APP-NAME "kernel", and a
# klogd stamp (KERNEL_STAMP_IN_MESSAGE), all as decode takes them; each with its converter
KERNEL_LINES: tuple[Stamp, ...] = tuple((_kernel_line(kind), kind[1]) for kind in QUICK_KINDS)
_MAX_SOURCES = 4096  # sources quick_text remembers


def escaped_by_rsyslog(message: bytes) -> bool:
    """Does a message hold rsyslog's control-character escapes (``#012``)?"""
    return message.find(b"#0") >= 0 and _CONTROL_ESCAPE_BYTES.search(message) is not None


def unescape_controls(text: str) -> str:
    """``text`` with rsyslog's control-character escapes read back (``#012``: a newline)."""
    if "#0" not in text:
        return text
    return CONTROL_ESCAPE.sub(lambda escape: _CONTROL_CHARACTERS[escape[0]], text)


class SyslogDecoder:
    """Lines of syslog files; other programs' lines are IGNORED."""

    name: ClassVar[str] = "syslog"
    extra_markers: ClassVar[tuple[bytes, ...]] = ()

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options
        self._stamps = KnownStamps(options)  # quick paths: whether stamps convert
        # quick_text's (host, None) per host
        self._sources: Remembered[bytes | None, SourceKey] = Remembered(_MAX_SOURCES)
        # the host of the last line quick_text read, and the index of its KERNEL_LINES entry
        self._quick_host: bytes | None = None
        self._quick_kind = 0

    def decode(self, raw: bytes) -> KernelLine | Ignored | None:
        """One syslog line, IGNORED when another program wrote it, None when not syslog."""
        line = strip_cr(raw)
        priority = SYSLOG_PRI.match(line)
        found = find_stamped_tail(SYSLOG_STAMPS, line, 0 if priority is None else priority.end())
        if found is None:
            header = RFC5424.match(line, 0, first_frame_end(line))
            if header is None:
                if RFC5424_LIKE.match(line):
                    self.options.report("broken RFC 5424 syslog header", raw)
                return None
            if header.end() < len(line):
                self.options.report(SEVERAL_FRAMES, raw)
            found = (header, rfc5424_times, header)
        result = tail_line(found, raw, self.options, self.name)
        if isinstance(result, KernelLine):
            result.text = unescape_controls(result.text)
        return result

    def quick_text(self, raw: bytes) -> QuickText | None:
        """``decode``'s text and source of a kernel line of KERNEL_LINES (valid UTF-8, a
        stamp ``decode`` does not report); None for any other line (``decode`` it)."""
        line = strip_cr(raw)
        kind = self._quick_kind  # the last line's kind first
        pattern, convert = KERNEL_LINES[kind]
        kernel = pattern.match(line)
        if kernel is None:
            last = kind
            for kind in range(len(KERNEL_LINES)):
                if kind != last:
                    pattern, convert = KERNEL_LINES[kind]
                    kernel = pattern.match(line)
                    if kernel is not None:
                        break
            else:
                return None
        if kind == _RFC5424_KIND and first_frame_end(line) < len(line):
            return None  # (decode reports it)
        if not self._stamps.converts(kernel, convert):
            return None
        host = kernel["host"]
        try:
            text, source = line[kernel.end() :].decode("utf-8"), self._source(host)
        except UnicodeDecodeError:
            return None
        self._quick_host, self._quick_kind = host, kind
        return unescape_controls(text), source

    def quick_run(self, buf: bytes, pos: int, end: int, shape: bytes) -> QuickRun:
        """The kernel lines of the host and stamp style of the line ``quick_text`` read last,
        from ``buf[pos]`` on, whose text fully matches ``shape`` (a ``BlockReader`` shape: it
        starts with no klogd stamp), that hold no rsyslog escape (``decode`` reads it back, a
        shape would not) and whose stamp converts."""
        host = self._quick_host
        source = self._source(host)
        kind = QUICK_KINDS[self._quick_kind]
        stamp, convert = kind[0], kind[1]
        lines = consecutive_matches(_run_line(shape, host, kind), buf, pos, end)
        del lines[self._stamps.leading_converts(lines, convert) :]
        if not lines:
            return [], pos, source
        run_end = lines[-1].end()
        escape = _CONTROL_ESCAPE_BYTES.search(buf, pos, run_end)
        if escape is not None:  # the run ends before the line that holds it
            run_end = buf.rfind(b"\n", pos, escape.start()) + 1 or pos
            del lines[buf.count(b"\n", pos, run_end) :]
            if not lines:
                return [], pos, source
        shape_groups = operator.itemgetter(slice(stamp.groups, None))  # (after the stamp's)
        return list(map(shape_groups, map(_groups_of, lines))), run_end, source

    def _source(self, host: bytes | None) -> SourceKey:
        """The (host, boot id) of a kernel line of this host, one tuple per host (UnicodeError
        for a host that is no UTF-8)."""
        source = self._sources.get(host)
        if source is None:
            source = self._sources.keep(
                host, (None if host is None else host.decode("utf-8"), None)
            )
        return source


_groups_of: Final = re.Match.groups


@functools.lru_cache(maxsize=256)
def _run_line(shape: bytes, host: bytes | None, kind: QuickKind) -> re.Pattern[bytes]:
    """A kernel line of ``host`` of this kind whose text is ``shape``, one line of a run (the
    stamp's groups, then the shape's): a shape starts with no klogd stamp, so the optional one
    here is one when the line has it."""
    stamp, _, head, before_text = kind
    host_pattern = b"" if host is None else re.escape(host)
    if head is _bsd_head and host is not None:
        host_pattern += b" "  # (HOST_COLUMN's)
    # a line with an octet count ends a run: quick_text checks that it holds one frame
    line_head = head(stamp.pattern, host_pattern).removeprefix(OCTET_COUNT)
    return re.compile(
        rb"%s %s(?:%s )?(?:%s)\n" % (line_head, before_text, uncaptured(KLOGD_STAMP), shape)
    )
