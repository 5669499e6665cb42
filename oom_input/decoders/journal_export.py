"""The journal export format: ``journalctl -o export`` (also what systemd-journal-remote and
systemd-journal-upload exchange).

Accepted input: entries separated by an empty line; each field either a text line
``FIELD=value`` or, for values that are not printable text, binary: ``FIELD``, a newline, the
value's length as a 64-bit little-endian integer, the value's bytes and a newline::

    __CURSOR=s=...
    __REALTIME_TIMESTAMP=1764181194840991
    _BOOT_ID=aae7e8d9ea8a4d399e7a7bbce85930c1
    _TRANSPORT=kernel
    _HOSTNAME=node-a
    _SOURCE_MONOTONIC_TIMESTAMP=1194840991
    MESSAGE
    <8 bytes: length><bytes, e.g. not valid UTF-8>
    <empty line>

Fields are read as in journal JSON (``oom_input/decoders/_records.py``): MESSAGE (the first one
when repeated), wall time, kernel time, host, boot id; entries of other transports are skipped.
Yields ``KernelLine(..., source_format="journal-export")``. Buffering is bounded: an entry over
1 MiB is dropped and reported, its oversized binary value skipped without being stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from oom_input.decoders._records import RecordReader, no_record_needed
from oom_input.types import DecodeOptions, KernelLine

MAX_ENTRY = 1 << 20
_LENGTH_BYTES = 8


class JournalExportDecoder:
    """Entries of the export format; see the module docstring."""

    name: ClassVar[str] = "journal-export"

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options
        self._reader = RecordReader(options, self.name)
        self._buf = bytearray()
        self._fields: dict[str, bytes] = {}
        self._size = 0  # bytes of the current entry so far
        self._oversized = False  # the current entry is over MAX_ENTRY: dropped at its end
        self._skip = 0  # bytes of an oversized binary value (and its newline) still to drop
        self._skip_line = False  # inside an oversized text line: drop up to its newline
        self._no_newline_to = 0  # _buf[:this] holds no newline (search on from there)
        # --passthrough: called with each entry (fields as text) and its kernel lines, in input
        # order, instead of returning the lines from feed()
        self.passthrough: Callable[[Any, list[KernelLine]], None] | None = None
        self.on_line: Callable[[KernelLine], None] | None = None
        self.every_record: Callable[[], bool] = no_record_needed

    def feed(self, data: bytes) -> list[KernelLine]:
        """Take the next bytes (any split); return the kernel lines of the entries they ended."""
        out: list[KernelLine] = []
        if self._skip:
            dropped = min(self._skip, len(data))
            self._skip -= dropped
            data = data[dropped:]
        if self._skip_line:
            newline = data.find(b"\n")
            if newline < 0:
                return out
            self._skip_line = False
            data = data[newline + 1 :]
        self._buf += data
        self._parse(out)
        return out

    def finish(self) -> list[KernelLine]:
        """End of input: the last entry may lack its empty line (or its last newline)."""
        out: list[KernelLine] = []
        if self._buf and not self._skip:
            self._buf += b"\n"
            self._parse(out)
        self._buf.clear()
        self._no_newline_to = 0
        self._skip, self._skip_line = 0, False
        if self._fields or self._oversized:
            self._end_entry(out)
        return out

    def _parse(self, out: list[KernelLine]) -> None:
        buf = self._buf
        pos = 0
        while True:
            newline = buf.find(b"\n", max(pos, self._no_newline_to))
            if newline < 0:
                if len(buf) - pos > MAX_ENTRY:  # one text line over the limit
                    self._oversize()
                    self._skip_line = True
                    pos = len(buf)
                self._no_newline_to = len(buf) - pos  # after the del below
                break
            self._no_newline_to = 0
            if newline == pos:
                self._end_entry(out)
                pos += 1
                continue
            equals = buf.find(b"=", pos, newline)
            if equals >= 0:
                self._add(buf[pos:equals], buf[equals + 1 : newline])
                pos = newline + 1
                continue
            start = newline + 1 + _LENGTH_BYTES
            if len(buf) < start:
                break
            length = int.from_bytes(buf[newline + 1 : start], "little")
            end = start + length
            if length > MAX_ENTRY:
                self._oversize()
                self._skip = max(0, end + 1 - len(buf))
                pos = min(end + 1, len(buf))
                continue
            if len(buf) <= end:
                break
            if buf[end] != 0x0A:
                self.options.report("broken journal export binary field", bytes(buf[pos:end]))
            self._add(buf[pos:newline], buf[start:end])
            pos = end + 1
        del buf[:pos]

    def _add(self, name: bytearray, value: bytearray) -> None:
        if self._oversized:
            return
        self._size += len(name) + len(value)
        if self._size > MAX_ENTRY:
            self._oversize()
            return
        self._fields.setdefault(name.decode("ascii", "replace"), bytes(value))

    def _oversize(self) -> None:
        self._oversized = True
        self._fields.clear()

    def _end_entry(self, out: list[KernelLine]) -> None:
        fields, self._fields = self._fields, {}
        if self._oversized:
            self._oversized = False
            self.options.report(f"journal export entry over {MAX_ENTRY} bytes dropped", b"")
        elif fields:
            raw = fields.get("MESSAGE", b"")
            lines = self._reader.read_lines(fields, raw)
            if self.passthrough is not None:
                entry = {name: value.decode("utf-8", "replace") for name, value in fields.items()}
                self.passthrough(entry, lines)
            elif self.on_line is not None:
                for kernel_line in lines:
                    self.on_line(kernel_line)
            else:
                out += lines
        self._size = 0
