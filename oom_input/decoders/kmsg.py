r"""Raw ``/dev/kmsg`` records, as ``cat /dev/kmsg`` or a kmsg reader writes them.

Accepted lines (Documentation/ABI/testing/dev-kmsg)::

    PRI,SEQ,USEC,FLAGS[,FIELD...];text
    6,970,1194840973,-;oom-kill:constraint=CONSTRAINT_MEMCG,...,pid=3171,uid=0
    4,12,51234,c,caller=T42;...               (extra prefix fields such as caller= are ignored)
     SUBSYSTEM=acpi                           (dictionary line of the record before: IGNORED)

Yields ``KernelLine(text, kernel_us=USEC, seq=SEQ, cont=...)``:

- ``text``: the escapes ``\xNN`` that the kernel writes for non-printable bytes and ``\`` are
  decoded, then UTF-8 (invalid bytes become U+FFFD and are reported);
- ``cont`` is True when FLAGS holds ``c`` (>= 4.10: this record continues the previous line;
  3.5-4.9: the first fragment of a line) or ``+`` (3.5-4.9: a following fragment), else False
  (text formats leave it None: unknown); the assembler resolves the two meanings of ``c``;
- no wall time: /dev/kmsg carries only the time since boot.

A record whose PRI holds a facility other than 0 (kern) was written into /dev/kmsg by a
process, not printed by the kernel (the kernel forces LOG_USER on a write that names no
facility and never lets one name facility 0): it is IGNORED and counted in
``userspace_records``, so that no process can forge an OOM report.

A line shaped like a record prefix whose fields do not parse (``6,x,1,-;...``) is reported and
rejected (None). Example::

    3,971,1194840991,-;Memory cgroup out of memory: Killed process 3171 (stress) ...
    -> KernelLine(text="Memory cgroup out of memory: Killed process 3171 (stress) ...",
                  kernel_us=1194840991, seq=971, cont=False, source_format="kmsg")
"""

from __future__ import annotations

import functools
import re
from typing import ClassVar

from oom_input.decoders._common import decode_text, quick_run_of, strip_cr
from oom_input.types import (
    IGNORED,
    DecodeOptions,
    Ignored,
    KernelLine,
    QuickRun,
    QuickText,
    SourceKey,
)

# /dev/kmsg record prefix (kernel >= 3.5): "PRI,SEQ,USEC,FLAGS[,FIELD...];" - fields after FLAGS
# (caller=T1, kernel >= 5.1 with CONFIG_PRINTK_CALLER) are skipped. The digit counts are
# capped so that int() never meets Python's 4300-digit limit.
MAX_PRI_DIGITS, MAX_NUMBER_DIGITS = 4, 20
# PRI = facility * 8 + level; the kernel's own records have facility 0 (LOG_KERN)
FACILITY_SHIFT = 3
# the prefix decode() takes apart at once (PRI, SEQ, USEC, FLAGS, up to the first ";"): what
# the field-by-field reading accepts with these digit counts (``\d`` of a bytes pattern and
# bytes.isdigit() are both ASCII digits); any other line is read field by field
RECORD_PREFIX = re.compile(
    rb"(\d{1,%d}),(\d{1,%d}),(\d{1,%d}),([^,;]*)[^;]*;"
    % (MAX_PRI_DIGITS, MAX_NUMBER_DIGITS, MAX_NUMBER_DIGITS)
)
# the same prefix with a PRI below 1 << FACILITY_SHIFT (facility 0, the kernel's), then a text
# holding no escape and no carriage return: a record decode() takes as it is (quick_text)
KERNEL_PREFIX = rb"0{0,%d}[0-7],\d{1,%d},\d{1,%d},[^;\n]*;" % (
    MAX_PRI_DIGITS - 1,
    MAX_NUMBER_DIGITS,
    MAX_NUMBER_DIGITS,
)
KERNEL_RECORD = re.compile(KERNEL_PREFIX + rb"([^\\\r]*)")
_NO_SOURCE: SourceKey = (None, None)  # /dev/kmsg names no host or boot
# something that starts like a kmsg prefix ("digits," ... ";" with three commas) but is broken
KMSG_LIKE = re.compile(rb"\d+,[^;\s,]*,[^;\s,]*,[^;\s]*;")
# /dev/kmsg dictionary line continuing the record before it: " SUBSYSTEM=acpi"
KMSG_DICTIONARY = re.compile(rb" [A-Z0-9_]+=")
# the kernel escapes bytes < 0x20, >= 0x7f and the backslash itself as \xNN in /dev/kmsg
KMSG_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")


def _unescape(escape: re.Match[bytes]) -> bytes:
    return bytes((int(escape[1], 16),))


def unescape(body: bytes) -> bytes:
    """The bytes of a /dev/kmsg text: its ``\\xNN`` escapes decoded (also used for the ``msg``
    of Fluent Bit's kmsg records, which keep them)."""
    return KMSG_ESCAPE.sub(_unescape, body) if body.find(b"\\") >= 0 else body


def _continues(flags: bytes) -> bool:
    """Do a record's FLAGS say it continues a line (``c``: >= 4.10; ``c``, ``+``: 3.5-4.9)?"""
    return flags.find(b"c") >= 0 or flags.find(b"+") >= 0


class KmsgDecoder:
    """``PRI,SEQ,USEC,FLAGS;text`` records of /dev/kmsg."""

    name: ClassVar[str] = "kmsg"
    extra_markers: ClassVar[tuple[bytes, ...]] = ()
    # every line of this format is of one source: it names no host or boot id (see
    # LineScanner: a report's header then bounds the look-back for its context lines)
    one_source: ClassVar[bool] = True

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options
        self.userspace_records = 0  # records a process wrote into /dev/kmsg (ignored)

    def decode(self, raw: bytes) -> KernelLine | Ignored | None:
        """One record line, IGNORED for a dictionary line or a record written by a process, None
        for anything else."""
        prefix = RECORD_PREFIX.match(raw)
        if prefix is None:
            return self.decode_parts(raw)
        pri, seq, usec, flags = prefix.groups()
        if int(pri) >> FACILITY_SHIFT:
            self.userspace_records += 1
            return IGNORED
        body = raw[prefix.end() :]
        if body.endswith(b"\r"):
            body = body[:-1]
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return self.decode_parts(raw)  # (reported there)
        if "\\" in text:  # an escape (UTF-8 puts a "\\" byte in no other character)
            return self.decode_parts(raw)
        # (every field by position: keyword arguments cost a dict per line; most records'
        # flags are "-", and ``bytes in bytes`` costs a TypeError raised and cleared in
        # CPython, which first tries the needle as an int)
        return KernelLine(
            text,
            int(usec),
            None,
            None,
            None,
            int(seq),
            flags != b"-" and _continues(flags),
            self.name,
        )

    def decode_parts(self, raw: bytes) -> KernelLine | Ignored | None:
        """``decode`` taking the line apart field by field: every line that RECORD_PREFIX does
        not match (or whose text is no UTF-8) is read so."""
        line = strip_cr(raw)
        head, semicolon, body = line.partition(b";")
        fields = head.split(b",", 4)
        if not (
            semicolon
            and len(fields) >= 4
            and fields[0].isdigit()
            and fields[1].isdigit()
            and fields[2].isdigit()
            and len(fields[0]) <= MAX_PRI_DIGITS
            and len(fields[1]) <= MAX_NUMBER_DIGITS
            and len(fields[2]) <= MAX_NUMBER_DIGITS
        ):
            if KMSG_DICTIONARY.match(line):
                return IGNORED
            if KMSG_LIKE.match(line):
                self.options.report("broken /dev/kmsg record prefix", raw)
            return None
        if int(fields[0]) >> FACILITY_SHIFT:
            self.userspace_records += 1
            return IGNORED
        flags = fields[3]
        return KernelLine(
            text=decode_text(unescape(body), raw, self.options),
            kernel_us=int(fields[2]),
            seq=int(fields[1]),
            cont=_continues(flags),
            source_format=self.name,
        )

    def quick_text(self, raw: bytes) -> QuickText | None:
        """``decode``'s text and source of a plain kernel record (no escape, no carriage return,
        valid UTF-8), without building its line; None for any other line (``decode`` it)."""
        record = KERNEL_RECORD.fullmatch(raw)
        if record is None:
            return None
        try:
            return record[1].decode("utf-8"), _NO_SOURCE
        except UnicodeDecodeError:
            return None

    def quick_run(self, buf: bytes, pos: int, end: int, shape: bytes) -> QuickRun:
        """The kernel records from ``buf[pos]`` on whose text fully matches ``shape`` (which
        matches no newline, backslash or carriage return: such a text is decoded as it is)."""
        return quick_run_of(_run_line(shape), buf, pos, end, _NO_SOURCE)


@functools.cache
def _run_line(shape: bytes) -> re.Pattern[bytes]:
    """A record whose text is ``shape`` (its groups), one line of a run."""
    return re.compile(rb"%s(?:%s)\n" % (KERNEL_PREFIX, shape))
