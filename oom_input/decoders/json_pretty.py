"""Pretty-printed JSON objects, each spread over many lines: ``journalctl -o json-pretty`` (and
any printer that writes an object's braces at the start of a line and indents what is inside,
e.g. ``jq .`` of an agent's records).

Accepted input (systemd's printer indents by a tab, shown here as four spaces; a byte array has an
element per line; the entries one after another)::

    {
        "__CURSOR" : "s=...",
        "__REALTIME_TIMESTAMP" : "1764181194840991",
        "_TRANSPORT" : "kernel",
        "MESSAGE" : [
            115,
            ...
        ],
        ...
    }

An object runs from a line that starts with ``{`` to the next line that starts with ``}``: a
JSON string holds no newline and a pretty printer indents everything nested, so no other line
starts so. Each object is read as the ``json`` format reads a record
(``oom_input/decoders/json_records.py``: the same fields, kernel entries only, the same
``source_format``, ``journal-json`` for journalctl's entries), so its kernel lines are those of
the same entries printed with ``-o json``. journalctl's colours on a terminal (``SYSTEMD_COLORS``:
each key and value between escapes) are removed first.

Bad input is reported and skipped, never stops the stream: a line outside an object that does
not start one, an object cut by the start of another, an object that does not parse, and an
object over 1 MiB (dropped: the reader holds at most that much of one, then drops bytes up to
the next line that starts an object or ends this one). ``--passthrough`` writes each object
that parses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

import orjson

from oom_input.decoders._records import lines_of, no_record_needed
from oom_input.decoders._terminal import CSI
from oom_input.decoders.json_records import JsonDecoder
from oom_input.types import DecodeOptions, KernelLine

MAX_OBJECT = 1 << 20
# a line that starts an object ("{") or ends one ("}"): the printer indents any other brace
OBJECT_EDGE = re.compile(rb"\n[{}]")
# what may stand between objects: white space (journalctl ends each with a newline)
_BETWEEN = re.compile(rb"[ \t\r\n]*")
_OPEN = 0x7B  # "{"
_ESC = b"\x1b["
_SHOWN = 200  # bytes of a dropped object's (or stray line's) start shown in its report
_STRAY = "text outside a json-pretty object"
_OVERSIZED = f"json-pretty object over {MAX_OBJECT} bytes dropped"


class JsonPrettyDecoder:
    """Pretty-printed JSON objects; see the module docstring."""

    name: ClassVar[str] = "json-pretty"

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options
        self._json = JsonDecoder(options)
        self._buf = bytearray()  # unread bytes; inside an object, from its "{"
        self._inside = False  # _buf starts with an object not yet ended
        self._searched = 0  # _buf[:this] holds no OBJECT_EDGE after the object's "{"
        self._skip_line = False  # drop bytes up to the next newline (a line over the limit)
        self._skip_object = False  # drop bytes up to the next OBJECT_EDGE (an object over it)
        self._carry = b""  # while _skip_object: the last byte dropped (an edge's newline)
        # --passthrough: called with each object and its kernel lines, in input order,
        # instead of returning the lines from feed()
        self.passthrough: Callable[[Any, list[KernelLine]], None] | None = None
        self.on_line: Callable[[KernelLine], None] | None = None
        self.every_record: Callable[[], bool] = no_record_needed

    def feed(self, data: bytes) -> list[KernelLine]:
        """Take the next bytes (any split); return the kernel lines of the objects they ended."""
        out: list[KernelLine] = []
        data = self._undropped(data)
        if data:
            self._buf += data
            self._parse(out)
        return out

    def finish(self) -> list[KernelLine]:
        """End of input: the last object may lack its last newline; one never ended is cut."""
        out: list[KernelLine] = []
        if self._buf and not (self._skip_line or self._skip_object):
            self._buf += b"\n"
            self._parse(out)
        if self._inside:
            self.options.report("json-pretty object cut by the end of input", self._shown())
        self._buf.clear()
        self._inside = self._skip_line = self._skip_object = False
        self._searched, self._carry = 0, b""
        return out

    def _undropped(self, data: bytes) -> bytes:
        """What is left of ``data`` after the bytes being dropped."""
        while data and (self._skip_line or self._skip_object):
            if self._skip_line:
                newline = data.find(b"\n")
                if newline < 0:
                    return b""
                self._skip_line = False
                data = data[newline + 1 :]
                continue
            data = self._carry + data
            edge = OBJECT_EDGE.search(data)
            if edge is None:
                self._carry = data[-1:]
                return b""
            self._skip_object, self._carry = False, b""
            if data[edge.end() - 1] == _OPEN:  # the next object starts: read it
                return data[edge.start() + 1 :]
            self._skip_line = True  # the dropped object's last line
            data = data[edge.end() :]
        return data

    def _parse(self, out: list[KernelLine]) -> None:
        buf = self._buf
        pos = 0
        while True:
            if not self._inside:
                pos = _after_white_space(buf, pos)
                if pos == len(buf):
                    break
                if buf[pos] != _OPEN:  # a stray line: reported, dropped up to its newline
                    newline = buf.find(b"\n", pos)
                    end = len(buf) if newline < 0 else newline
                    self.options.report(_STRAY, bytes(buf[pos : min(end, pos + _SHOWN)]))
                    if newline < 0:
                        self._skip_line = True
                        pos = len(buf)
                        break
                    pos = newline + 1
                    continue
                self._inside, self._searched = True, 1
                del buf[:pos]  # (an object starts the buffer)
                pos = 0
            edge = OBJECT_EDGE.search(buf, self._searched)
            if edge is None:
                self._searched = max(1, len(buf) - 1)
                if len(buf) > MAX_OBJECT + 1:  # (its edge, wherever it comes, is past it)
                    self.options.report(_OVERSIZED, self._shown())
                    self._carry = bytes(buf[-1:])
                    self._inside, self._skip_object = False, True
                    pos = len(buf)
                break
            at = edge.start()
            if at > MAX_OBJECT:  # (as when its bytes come in pieces: dropped, whatever came)
                self.options.report(_OVERSIZED, self._shown())
                self._inside = False
                if buf[at + 1] == _OPEN:
                    pos = at + 1
                    continue
                close = buf.find(b"\n", at + 2)
                if close < 0:  # its last line, dropped as it comes
                    self._skip_line = True
                    pos = len(buf)
                    break
                pos = close + 1
                continue
            if buf[at + 1] == _OPEN:  # a new object before this one ended
                self.options.report("json-pretty object cut by the next one", self._shown())
                self._inside = False
                pos = at + 1
                continue
            close = buf.find(b"\n", at + 2)
            if close < 0:  # its last line not whole yet
                self._searched = at
                break
            self._read(bytes(buf[:close]), out)
            self._inside = False
            pos = close + 1
        del buf[:pos]

    def _shown(self) -> bytes:
        return bytes(self._buf[:_SHOWN])

    def _read(self, body: bytes, out: list[KernelLine]) -> None:
        """One object's kernel lines, if any (several: a text a multiline parser merged), to
        ``out`` (or the callbacks)."""
        if body.find(_ESC) >= 0:  # journalctl's colours
            body = CSI.sub(b"", body)
        found = self._json.decode(body)
        lines = lines_of(found)
        if self.passthrough is not None:
            if found is not None:  # (None: not JSON, reported)
                self.passthrough(_value(body), lines)
        elif self.on_line is not None:
            for line in lines:
                self.on_line(line)
        else:
            out.extend(lines)


def _after_white_space(buf: bytearray, pos: int) -> int:
    """Where the white space at ``buf[pos]`` ends."""
    found = _BETWEEN.match(buf, pos)
    return pos if found is None else found.end()


def _value(body: bytes) -> Any:
    """An object that parsed as JSON, for --passthrough (its bytes that are not UTF-8, which
    the json reader reads as such, replaced)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return orjson.loads(body.decode("utf-8", "replace"))
