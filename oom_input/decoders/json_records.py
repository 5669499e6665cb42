"""JSON records, one per line: the journal's ``journalctl -o json`` / ``-o json-seq`` and what log
agents write (Fluent Bit, Vector, generic ``{"message": ...}`` objects).

Accepted lines (``json`` reads them all; ``journal-json`` only the journal's own entries)::

    {"__CURSOR":"s=..","__REALTIME_TIMESTAMP":"1764181194840991","_BOOT_ID":"aae7e8d9ea8a4d39..",
     "_TRANSPORT":"kernel","_HOSTNAME":"node-a","_SOURCE_MONOTONIC_TIMESTAMP":"1194840991",
     "MESSAGE":"Memory cgroup out of memory: Killed process 3171 (stress) ..."}
    \\x1e{...}                                 journalctl -o json-seq (RFC 7464: RS before each)
    { "__CURSOR" : "s=..", ..., "MESSAGE" : [ 115, 116, ... ] }       systemd < 240 spacing
    {"priority":3,"sequence":971,"sec":1194,"usec":840991,"msg":"..."}  Fluent Bit kmsg input
    {"date":1764181194.840991,"priority":3,...}   Fluent Bit json_lines output (date = wall time)
    {"MESSAGE":"..","_HOSTNAME":"node-a",..}     Fluent Bit systemd input (also with
                                                 strip_underscores: HOSTNAME, lowercase: message)
    {"exec":"6,971,1194840991,-;Memory cgroup out of memory: ..."}    Fluent Bit exec input
    {"message":"..","host":"node-a","timestamp":"2025-11-26T18:19:54.840991Z","_BOOT_ID":..}
                                                 Vector journald source; other Vector events
    {"log":"..","hostname":"node-a","@timestamp":1764181194.840991}   any object with a message
    [1764181194.840991, {...}]                   Fluent Bit stdin input's event forms
    [[1764181194.840991, {"meta":1}], {...}]

The fields read and how (journal fields, byte-array messages, times, the text of agents' lines
decoded by the line decoders) are described in ``oom_input/decoders/_records.py``. Records of
other transports (``_TRANSPORT`` not ``kernel``), JSON without a message field and JSON that is
not an object or an event array are IGNORED. A line that starts like JSON but does not parse
(broken, too deeply nested) is reported (``invalid JSON``) and rejected (None), so that
auto-detection still reads it as plain text. ``source_format`` is ``journal-json`` for entries
that journalctl wrote (they have ``__CURSOR`` or ``__REALTIME_TIMESTAMP``), else ``json``.
``quick_text`` gives the text and (host, boot id) of a kernel record without building its line
(readers use it inside evidence blocks); None where ``decode`` would report or ignore the line.
Example::

    {"MESSAGE":[115,116,114,101,115,115,255,...],"_TRANSPORT":"kernel",...}
    -> KernelLine(text="stress\\ufffd...", ...)   (and "invalid UTF-8" is reported)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import orjson

from oom_input.decoders._common import strip_cr
from oom_input.decoders._records import NotQuick, RecordReader, envelope_entries
from oom_input.types import IGNORED, DecodeOptions, Ignored, KernelLine, QuickText

# a JSON array that can be an event: "[ts, {", "[[ts, {", "[{" - not dmesg's "[  499.798531] "
JSON_ARRAY_START = re.compile(rb"\[\s*(?:[\[{\"]|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*,)")
RECORD_SEPARATOR = b"\x1e"  # json-seq (RFC 7464)
# A MESSAGE that is an array (bytes or a repeated field) hides the marker text from the byte
# prefilter: as systemd >= 240 (compact JSON) and older (" : [ ") print it.
BYTE_ARRAY_MARKERS = (b'"MESSAGE":[', b'"MESSAGE" : [')
JOURNAL_KEYS = ("__CURSOR", "__REALTIME_TIMESTAMP", "MESSAGE", "_TRANSPORT")
Record = Mapping[str, Any]
T = TypeVar("T")


class JsonDecoder:
    """One JSON record per line: journal entries, agents' records and event arrays."""

    name: ClassVar[str] = "json"
    extra_markers: ClassVar[tuple[bytes, ...]] = BYTE_ARRAY_MARKERS

    # the keys one of which a record must have to be read (None: any record, or event array)
    claimed_keys: ClassVar[tuple[str, ...] | None] = None

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options
        self._reader = RecordReader(options, self.name)
        self._quick_options = self._reader.quick_options
        self._quick_record = self._reader.quick_text

    def decode(self, raw: bytes) -> KernelLine | Ignored | None:
        """The kernel line of a JSON record, IGNORED for other JSON, None for a non-JSON line."""
        return self._read(raw, self.options, self._reader.read)

    def quick_text(self, raw: bytes) -> QuickText | None:
        """``decode``'s text and (host, boot id) of a JSON record that is a kernel line, without
        building the line; None for any other line and one ``decode`` would report (decode it)."""
        try:
            found = self._read(raw, self._quick_options, self._quick_record, times=False)
        except NotQuick:
            return None
        return None if isinstance(found, Ignored) else found

    def _read(
        self,
        raw: bytes,
        options: DecodeOptions,
        read: Callable[[Record, bytes, int | None], T],
        times: bool = True,
    ) -> T | Ignored | None:
        """``read`` of the line's record (the first event of an event array, with its time
        unless not ``times``), IGNORED for other JSON, None for a non-JSON line; what is
        wrong is reported to ``options``."""
        # the common case: an object (orjson takes a trailing CR as white space)
        body = raw if raw[:1] == b"{" else _json_body(raw)
        if body is None:
            return None
        try:
            value: object = orjson.loads(body)
        except orjson.JSONDecodeError:  # also: nested deeper than orjson's limit (1024)
            options.report("invalid JSON", raw)
            return None
        claimed = self.claimed_keys
        if type(value) is dict:  # the common case, a bare record
            if claimed is not None and value.keys().isdisjoint(claimed):
                return None
            return read(value, raw, None)
        if claimed is not None:
            return None
        entries = envelope_entries(value, times=times)
        if not entries:
            return IGNORED
        if len(entries) > 1:
            options.report("several events in one JSON line: only the first is read", raw)
        record, wall_us = entries[0]
        return read(record, raw, wall_us)


def _json_body(raw: bytes) -> bytes | None:
    """The JSON text of a line that does not start with ``{``, None when it is no record."""
    body = strip_cr(raw)
    if body.startswith(RECORD_SEPARATOR):
        body = body[1:]
    body = body.lstrip(b" \t")
    if not body.startswith(b"{") and JSON_ARRAY_START.match(body) is None:
        return None
    return body


class JournalJsonDecoder(JsonDecoder):
    """``journalctl -o json`` / ``json-seq`` entries only (for ``--input-format journal-json``)."""

    name: ClassVar[str] = "journal-json"
    claimed_keys: ClassVar[tuple[str, ...] | None] = JOURNAL_KEYS
