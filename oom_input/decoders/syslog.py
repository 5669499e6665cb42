"""Syslog files written by rsyslog, syslog-ng or sysklogd (``/var/log/messages``,
``/var/log/kern.log``, ``/var/log/syslog``), and syslog lines forwarded with their priority.

Accepted lines::

    Dec  7 00:20:58 node1 kernel: text                           BSD / RFC 3164     wall_us
    Dec  7 00:20:58 node1 kernel: [  123.456789] text            klogd kept printk time,
                                                                  also sets kernel_us
    2025-11-26T18:37:34.798531+00:00 node1 kernel: text          rsyslog RFC 3339   wall_us
    <4>Dec  7 00:20:58 node1 kernel: text                        with a <PRI> prefix
    Dec  7 00:20:58 node1 sshd[812]: text                        other program: IGNORED

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
shapes journalctl does not print (``<PRI>`` prefixes) and for kernel lines with rsyslog's
escapes (``escaped_by_rsyslog``: journalctl never escapes, so the journal decoder leaves them
here, and from then on this decoder reads the file). Example::

    Nov 26 18:19:54 node-a kernel: [ 1194.840991] Memory cgroup out of memory: Killed ...
    -> KernelLine(text="Memory cgroup out of memory: Killed ...", kernel_us=1194840991,
                  wall_us=1764181194000000, host="node-a", source_format="syslog")
                  (with DecodeOptions(year=2025, tz=timezone.utc))
"""

from __future__ import annotations

import re
from typing import ClassVar

from oom_input.decoders._common import (
    BSD_STAMP,
    ISO_STAMP,
    Stamp,
    bsd_times,
    find_stamped_tail,
    iso_times,
    strip_cr,
    tail_line,
)
from oom_input.types import DecodeOptions, Ignored, KernelLine

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


def escaped_by_rsyslog(message: bytes) -> bool:
    """Does a message hold rsyslog's control-character escapes (``#012``)?"""
    return b"#0" in message and _CONTROL_ESCAPE_BYTES.search(message) is not None


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

    def decode(self, raw: bytes) -> KernelLine | Ignored | None:
        """One syslog line, IGNORED when another program wrote it, None when not syslog."""
        line = strip_cr(raw)
        priority = SYSLOG_PRI.match(line)
        found = find_stamped_tail(SYSLOG_STAMPS, line, 0 if priority is None else priority.end())
        if found is None:
            return None
        result = tail_line(found, raw, self.options, self.name)
        if isinstance(result, KernelLine):
            result.text = unescape_controls(result.text)
        return result
