"""JSON records, one per line: the journal's ``journalctl -o json`` / ``-o json-seq`` and what log
agents write (Fluent Bit, Vector, generic ``{"message": ...}`` objects).

Accepted lines (``json`` reads them all; ``journal-json`` only the journal's own entries)::

    {"__CURSOR":"s=..","__REALTIME_TIMESTAMP":"1764181194840991","_BOOT_ID":"aae7e8d9ea8a4d39..",
     "_TRANSPORT":"kernel","_HOSTNAME":"node-a","_SOURCE_MONOTONIC_TIMESTAMP":"1194840991",
     "MESSAGE":"Memory cgroup out of memory: Killed process 3171 (stress) ..."}
    \\x1e{...}                                 journalctl -o json-seq (RFC 7464: RS before each)
    data: {...}                                journalctl -o json-sse (an empty line after each)
    { "__CURSOR" : "s=..", ..., "MESSAGE" : [ 115, 116, ... ] }       systemd < 240 spacing
    {"priority":3,"sequence":971,"sec":1194,"usec":840991,"msg":"..."}  Fluent Bit kmsg input
    {"date":1764181194.840991,"priority":3,...}   Fluent Bit json_lines output (date = wall time)
    {"MESSAGE":"..","_HOSTNAME":"node-a",..}     Fluent Bit systemd input (also with
                                                 strip_underscores: HOSTNAME, lowercase: message)
    {"exec":"6,971,1194840991,-;Memory cgroup out of memory: ..."}    Fluent Bit exec input
    {"message":"..","host":"node-a","timestamp":"2025-11-26T18:19:54.840991Z","_BOOT_ID":..}
                                                 Vector journald source; other Vector events
    {"log":{"message":"..","host":"node-a",..}}  the same in Vector's native_json codec; a
    {"date":..,"systemd":{"MESSAGE":..}}         record nested by Fluent Bit's nest filter
    {"log":"..","hostname":"node-a","@timestamp":1764181194.840991}   any object with a message
    [1764181194.840991, {...}]                   Fluent Bit stdin input's event forms
    [[1764181194.840991, {"meta":1}], {...}]
    [{"date":..,..}, {"date":..,..}]             Fluent Bit's "json" output format (a flush's
                                                 records on one line; events too:
    [[1764181194.840991, {...}], [..., {...}]]   each event read as a line of its own)
    "memory: usage 40960kB, limit 40960kB, failcnt 66"     an event that is its message alone:
                                                 Vector's json codec with schema.log_namespace

The fields read and how (journal fields, byte-array messages, times, the text of agents' lines
decoded by the line decoders) are described in ``oom_input/decoders/_records.py``. Records of
other transports (``_TRANSPORT`` not ``kernel``), JSON without a message field and JSON that is
not an object, an event array or a string are IGNORED. A bare string is read as a record
``{"message": string}``: the text of a line of some log (Vector's log namespace keeps an
event's fields in metadata, which sinks do not write: its journald source's event is the
MESSAGE, its exec and file sources' the line read). An empty line is IGNORED (json-sse puts one
after each event). A line of several kernel lines (an array of events, at most
``MAX_LINES_READ`` of them; an agent's record whose text a multiline parser merged from several
log lines, ``RecordReader.read``) decodes to ``KernelLines``, which readers feed one by one, in
order. Strings that hold bytes that are not UTF-8 (yajl-ruby
writes Fluentd's binary strings so) are read, those bytes as invalid UTF-8. A line that starts
like JSON but does not parse (broken, too deeply nested) is reported (``invalid JSON``) and
rejected (None), so that auto-detection still reads it as plain text; so is one in quotes that
is no JSON string, unreported (prose may be quoted). ``source_format`` is
``journal-json`` for entries that journalctl wrote (they have ``__CURSOR`` or
``__REALTIME_TIMESTAMP``), else ``json``.
``quick_text`` gives the text and (host, boot id) of a kernel record without building its line
(readers use it inside evidence blocks); None where ``decode`` would report or ignore the line.
``quick_run`` takes the lines after a kernel entry that repeat its key layout exactly (journalctl
writes one, in one order, for a kernel's plain lines; Fluent Bit's and Vector's journal records
too), by one bytes pattern per layout: the fields that decide kernel-or-not and the source at
their values, a message that fully matches the shape, every other value a plain string or
number; any other line is left to ``quick_text`` and ``decode``.
Example::

    {"MESSAGE":[115,116,114,101,115,115,255,...],"_TRANSPORT":"kernel",...}
    -> KernelLine(text="stress\\ufffd...", ...)   (and "invalid UTF-8" is reported)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, TypeVar

import orjson

from oom_input.decoders._common import Remembered, quick_run_of, strip_cr
from oom_input.decoders._records import (
    BOOT_ID_KEYS,
    FACILITY_KEYS,
    HOST_KEYS,
    KMSG_RECORD_KEYS,
    MAX_LINES_READ,
    MESSAGE_KEYS,
    TRANSPORT_KEYS,
    Entry,
    Fields,
    NotQuick,
    RecordReader,
    envelope_entries,
    verdict_of,
)
from oom_input.types import (
    IGNORED,
    DecodeOptions,
    Ignored,
    KernelLine,
    KernelLines,
    QuickRun,
    QuickText,
    SourceKey,
)

# a JSON array that can be an event: "[ts, {", "[[ts, {", "[{" - not dmesg's "[  499.798531] "
JSON_ARRAY_START = re.compile(rb"\[\s*(?:[\[{\"]|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s*,)")
RECORD_SEPARATOR = b"\x1e"  # json-seq (RFC 7464)
# the key a bare string is read under: an agent's text, never a journal MESSAGE
MESSAGE_ALONE = "message"
SSE_DATA = b"data: "  # json-sse (a server-sent event's data line: journalctl, systemd >= 229)
# A MESSAGE that is an array (bytes or a repeated field) hides the marker text from the byte
# prefilter: as systemd >= 240 (compact JSON) and older (" : [ ") print it.
BYTE_ARRAY_MARKERS = (b'"MESSAGE":[', b'"MESSAGE" : [')
JOURNAL_KEYS = ("__CURSOR", "__REALTIME_TIMESTAMP", "MESSAGE", "_TRANSPORT")
# The pieces of a run line's pattern (``_run_line``): a string value that orjson reads as it is
# (printable ASCII without a quote or a backslash: no escape, valid UTF-8), a number it reads
# as one (no exponent, 1e999 is refused; integers in 64 bits)
PLAIN_TEXT: Final = rb"[ !#-\[\]-~]*"
PLAIN_STRING: Final = b'"' + PLAIN_TEXT + b'"'
PLAIN_NUMBER: Final = rb"-?(?:0|[1-9][0-9]{0,17})(?:\.[0-9]{1,20})?"
# and the framing (open, colon, comma, close; json-seq's RS before the object) as journalctl
# -o json writes it compact (systemd >= 240, agents) and spaced (systemd < 240), which a run
# line must repeat (literal separators: optional spaces would make a match twice as slow)
SPACED_START = (b"{ ", b"\x1e{ ")
RUN_FRAMING: Final = {
    False: (rb"\x1e?\{", b":", b",", rb"\}\n"),
    True: (rb"\x1e?\{ ", b" : ", b", ", rb" \}\n"),
}
# the keys whose presence or value decides how a record is read, or whose text it is (see
# oom_input/decoders/_records.py): in a line of any key order, only the message key and the
# deciding keys of the entry before may be these; any other is a PLAIN_KEY (PLAIN_VALUE)
DECIDING_NAMES: Final = (
    *MESSAGE_KEYS,
    *TRANSPORT_KEYS,
    *FACILITY_KEYS,
    *HOST_KEYS,
    *BOOT_ID_KEYS,
    *sorted(KMSG_RECORD_KEYS),
    "exec",
)
# a key as orjson reads it as it is (PLAIN_TEXT), none of DECIDING_NAMES; and its value
PLAIN_KEY: Final = b'"(?!(?:%s)")%s"' % (
    b"|".join(re.escape(name.encode()) for name in DECIDING_NAMES),
    PLAIN_TEXT,
)
PLAIN_VALUE: Final = b"(?:%s|%s)" % (PLAIN_STRING, PLAIN_NUMBER)
_NO_SOURCE: SourceKey = (None, None)
_MAX_RUN_LAYOUTS = 256  # key layouts quick_run remembers
_MAX_RUN_PATTERNS = 1024  # patterns (of sources and shapes) it remembers per layout
Record = Mapping[str, Any]
T = TypeVar("T")
# a remembered line pattern: False asked for once, True none (see JsonDecoder._run_line)
_Known = re.Pattern[bytes] | bool


def _deciding(record: Record, fields: Fields) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """The keys of a record that decide how its line is read (transport, facility, host, boot
    id) and their values, None when one is no string (no pattern binds it)."""
    deciding = fields.transport + fields.facility + fields.host + fields.boot_id
    values = tuple([record[key] for key in deciding])
    for value in values:
        if type(value) is not str:
            return deciding, None
    return deciding, values


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
        # quick_run's line patterns per key layout (its Fields, by id), then per deciding
        # values, shape and framing (False: asked for once; True: none; see _run_line)
        self._runs: Remembered[int, tuple[Fields, Remembered[tuple[Any, ...], _Known]]]
        self._runs = Remembered(_MAX_RUN_LAYOUTS)
        # the same for lines in any key order, per deciding keys and values and framing
        self._any_order: Remembered[tuple[Any, ...], _Known] = Remembered(_MAX_RUN_LAYOUTS)

    def decode(self, raw: bytes) -> KernelLine | KernelLines | Ignored | None:
        """The kernel line of a JSON record (``KernelLines``: the lines of an event array, of a
        record a multiline parser merged), IGNORED for other JSON, None for a non-JSON line."""
        return self._read(raw, self.options, self._reader.read, self._events)

    def quick_text(self, raw: bytes) -> QuickText | None:
        """``decode``'s text and (host, boot id) of a JSON record that is a kernel line, without
        building the line; None for any other line and one ``decode`` would report (decode it)."""
        try:
            found = self._read(raw, self._quick_options, self._quick_record, None)
        except NotQuick:
            return None
        return None if isinstance(found, Ignored) else found

    def quick_run(self, buf: bytes, pos: int, end: int, shape: bytes) -> QuickRun:
        """The lines from ``buf[pos]`` on (up to ``end``) that repeat the key layout of the
        kernel entry ``quick_text`` read last (a layout it had seen before), with its values of
        the fields that decide kernel-or-not and the source (so: its source), whose message
        fully matches ``shape`` (a ``BlockReader`` shape: printable ASCII without a backslash),
        each other value a plain string or number (``PLAIN_STRING``, ``PLAIN_NUMBER``): their
        groups."""
        last = self._reader.last_quick
        if last is None:
            return [], pos, _NO_SOURCE
        record, fields, source, known = last
        if not known:  # a layout seen once: in an output whose key order varies, most are
            line = self._any_order_line(record, fields, buf, pos)
            if line is None:
                return [], pos, source
            groups, pos = _any_order_run(line, re.compile(shape), buf, pos, end)
            return groups, pos, source
        line = self._run_line(record, fields, shape, buf, pos)
        if line is None:
            return [], pos, source
        return quick_run_of(line, buf, pos, end, source)

    def _any_order_line(
        self, record: Record, fields: Fields, buf: bytes, pos: int
    ) -> re.Pattern[bytes] | None:
        """``_any_order_line`` of a record, with the framing of its line at ``buf[pos]``,
        remembered per deciding keys and values and framing; made the second time it is asked
        for, not the first."""
        journal = fields.journal
        if journal is None:
            return None
        if self.claimed_keys is not None and not (
            journal[2] in self.claimed_keys or journal[0] in self.claimed_keys
        ):
            return None  # a line of its keys might not be claimed
        deciding, values = _deciding(record, fields)
        if values is None:
            return None
        key = (journal, deciding, values, buf.startswith(SPACED_START, pos))
        known = self._any_order.get(key)
        if known is None:
            self._any_order.keep(key, False)
            return None
        if known is False:
            known = self._any_order[key] = _any_order_line(record, fields, key[3]) or True
        return known if isinstance(known, re.Pattern) else None

    def _run_line(
        self, record: Record, fields: Fields, shape: bytes, buf: bytes, pos: int
    ) -> re.Pattern[bytes] | None:
        """``_run_line`` of a record, with the framing of its line at ``buf[pos]``, remembered
        per key layout (its ``Fields``, one per layout in the reader), deciding values, shape
        and framing; made the second time they are asked for, not the first (in a stream of
        many hosts, a host may have one block: a pattern costs ~0.5 ms to make)."""
        layout = self._runs.get(id(fields))  # the entry holds fields: no other has its id
        if layout is None or layout[0] is not fields:
            if fields.journal is None:
                return None
            layout = self._runs.keep(id(fields), (fields, Remembered(_MAX_RUN_PATTERNS)))
        lines = layout[1]
        _, values = _deciding(record, fields)
        if values is None:
            return None
        key = (values, shape, buf.startswith(SPACED_START, pos))
        known = lines.get(key)
        if known is None:  # first seen (a source's first block, a shape's first line)
            lines.keep(key, False)
            return None
        if known is False:  # seen again: worth a pattern
            known = lines[key] = _run_line(record, fields, shape, key[2]) or True
        return known if isinstance(known, re.Pattern) else None

    def _read(
        self,
        raw: bytes,
        options: DecodeOptions,
        read: Callable[[Record, bytes, int | None], T],
        several: Callable[[list[Entry], bytes], T | Ignored] | None,
    ) -> T | Ignored | None:
        """``read`` of the line's record, ``several`` of an event array's events (None: a quick
        reader's, which takes no such line and needs no envelope's time: NotQuick), IGNORED for
        other JSON, None for a non-JSON line; what is wrong is reported to ``options``."""
        # the common case: an object (orjson takes a trailing CR as white space)
        body = raw if raw[:1] == b"{" else _json_body(raw)
        if body is None:
            return IGNORED if raw == b"" or raw == b"\r" else None
        try:
            value: object = orjson.loads(body)
        except orjson.JSONDecodeError:  # also: nested deeper than orjson's limit (1024)
            value = _with_raw_bytes(body)
            if value is None:
                if body[:1] != b'"':  # (quoted prose is no broken JSON)
                    options.report("invalid JSON", raw)
                return None
        claimed = self.claimed_keys
        if type(value) is dict:  # the common case, a bare record
            if claimed is not None and value.keys().isdisjoint(claimed):
                return None
            return read(value, raw, None)
        if claimed is not None:
            return None
        if type(value) is str:  # an event that is its message alone (Vector's log namespace)
            return read({MESSAGE_ALONE: value}, raw, None)
        times = several is not None
        entries = envelope_entries(value, times=times)
        if entries is None:
            entries = _array_entries(value, raw, options, times)
        if not entries:
            return IGNORED
        if len(entries) == 1:
            record, wall_us = entries[0]
            return read(record, raw, wall_us)
        if several is None:
            raise NotQuick("several events in one line")
        return several(entries, raw)

    def _events(self, entries: list[Entry], raw: bytes) -> KernelLine | KernelLines | Ignored:
        """The kernel lines of a line's events, in order."""
        read = self._reader.read_lines
        return verdict_of(
            [line for record, wall_us in entries for line in read(record, raw, wall_us)]
        )


def _run_line(
    record: Record, fields: Fields, shape: bytes, spaced: bool
) -> re.Pattern[bytes] | None:
    """One line of a run after ``record`` (a kernel entry that ``RecordReader`` reads by its
    journal fields): its keys in its order, each written as orjson writes it; the values of
    the transport, facility, host and boot id keys as the record has them (strings); the
    message a plain string fully matching ``shape`` (its groups, the pattern's only ones);
    every other value a plain string or number, as the record has one there; the framing
    compact or ``spaced`` (``RUN_FRAMING``). Such a line is
    read as ``record`` is (its Fields are the layout's), its text the message; None when the
    record is not such an entry."""
    _, facility_key, message_key = fields.journal or ("", "", "")
    if record.get(fields.transport[0]) != "kernel" or record.get(facility_key) != "0":
        return None
    run_open, run_colon, run_comma, run_close = RUN_FRAMING[spaced]
    deciding = {*fields.transport, *fields.facility, *fields.host, *fields.boot_id}
    pairs: list[bytes] = []
    message_at = -1
    for key, value in record.items():
        name = re.escape(orjson.dumps(key)) + run_colon
        if key == message_key:
            message_at = len(pairs)
            pairs.append(name)
        elif key in deciding:
            pairs.append(name + re.escape(orjson.dumps(value)))
        elif type(value) is str:
            pairs.append(name + PLAIN_STRING)
        elif type(value) is int or type(value) is float:
            pairs.append(name + PLAIN_NUMBER)
        else:
            return None
    # The message's first quote must end it (a quote inside is no plain string): the rest of
    # the line after that quote is the rest of the pattern. Every match of the rest holds the
    # same number of quotes up to the line's end, so two cannot start at two quotes of a line.
    rest = b"".join(run_comma + pair for pair in pairs[message_at + 1 :]) + run_close
    pairs[message_at] += rb'"(?=[ !#-\[\]-~]*"%s)(?:%s)"' % (rest, shape)
    return re.compile(run_open + run_comma.join(pairs) + run_close)


def _any_order_line(record: Record, fields: Fields, spaced: bool) -> re.Pattern[bytes] | None:
    """A line read as ``record`` is, its keys in any order: the record's message key, with a
    plain string (group 1), and its transport, facility, host and boot id keys with the
    record's values (a group each: they must all be there), any of them given again; other
    keys not of ``DECIDING_NAMES``, with plain values; the framing compact or ``spaced``.
    Such a line's Fields are the record's but for keys that decide nothing here (times), and
    orjson keeps a key's last value, the one its group holds. None when the record is not a
    kernel entry read by its journal fields."""
    transport_key, facility_key, message_key = fields.journal or ("", "", "")
    if record.get(transport_key) != "kernel" or record.get(facility_key) != "0":
        return None
    run_open, colon, comma, run_close = RUN_FRAMING[spaced]
    deciding = (*fields.transport, *fields.facility, *fields.host, *fields.boot_id)
    message = re.escape(orjson.dumps(message_key)) + colon + b'"(' + PLAIN_TEXT + b')"'
    bound = [
        b"(" + re.escape(orjson.dumps(key)) + colon + re.escape(orjson.dumps(record[key])) + b")"
        for key in deciding
    ]
    item = b"|".join([message, *bound, PLAIN_KEY + colon + PLAIN_VALUE])
    # each item followed by a comma or by the end (no trailing comma)
    items = b"(?:(?:%s)(?:%s|(?=%s)))+" % (item, comma, run_close)
    return re.compile(run_open + items + run_close)


def _any_order_run(
    line: re.Pattern[bytes], shape: re.Pattern[bytes], buf: bytes, pos: int, end: int
) -> tuple[list[Any], int]:
    """The groups of ``shape`` in the messages of the lines from ``buf[pos]`` on that match
    ``line`` (an ``_any_order_line``) with every group, and where they end."""
    match, fits = line.match, shape.fullmatch
    groups: list[Any] = []
    while (found := match(buf, pos, end)) is not None:
        values = found.groups()
        if None in values:
            break
        shaped = fits(values[0])
        if shaped is None:
            break
        groups.append(shaped.groups())
        pos = found.end()
    return groups, pos


def _array_entries(value: object, raw: bytes, options: DecodeOptions, times: bool) -> list[Entry]:
    """The events of a JSON array of them, in order: records, as Fluent Bit's "json" format
    writes a flush's (``[{..}, {..}]``), or Fluent Bit events (``[ts, {..}]``, ``[[ts, {meta}],
    {..}]``; their time if ``times``); at most MAX_LINES_READ, the rest reported. Items that
    are no event are left out, reported ([]: JSON of no known shape)."""
    if type(value) is not list or not value:
        return []
    if len(value) > MAX_LINES_READ:
        options.report(f"over {MAX_LINES_READ} events in one JSON line: the rest left out", raw)
    entries: list[Entry] = []
    odd = False
    for item in value[:MAX_LINES_READ]:
        if type(item) is dict:
            entries.append((item, None))
        elif type(item) is list and len(item) == 2 and type(item[1]) is dict:
            event = envelope_entries(item, times=times)
            if event is None:
                odd = True
            else:
                entries += event
        else:
            odd = True
    if odd:
        options.report("JSON array items that are no events left out", raw)
    return entries


def _with_raw_bytes(body: bytes) -> object | None:
    """The value of JSON whose strings hold bytes that are not UTF-8, as yajl-ruby writes
    Fluentd's binary strings (Fluentd's JSON formatter: fluent-plugin-systemd's fields, in_tail's
    lines): those bytes as surrogates, which the record reader reads as invalid UTF-8 (U+FFFD,
    reported); None when the body is UTF-8 (orjson refused it for another reason) or no JSON."""
    try:
        body.decode("utf-8")
        return None
    except UnicodeDecodeError:
        pass
    try:
        value: object = json.loads(body.decode("utf-8", "surrogateescape"))
        return value
    except (ValueError, RecursionError):
        return None


def _json_body(raw: bytes) -> bytes | None:
    """The JSON text of a line that does not start with ``{``, None when it is no record."""
    body = strip_cr(raw)
    if body.startswith(RECORD_SEPARATOR):
        body = body[1:]
    elif body.startswith(SSE_DATA):
        body = body[len(SSE_DATA) :]
    body = body.lstrip(b" \t")
    if body[:1] == b'"':
        return body if body.endswith(b'"') and len(body) > 1 else None
    if not body.startswith(b"{") and JSON_ARRAY_START.match(body) is None:
        return None
    return body


class JournalJsonDecoder(JsonDecoder):
    """``journalctl -o json`` / ``json-seq`` entries only (for ``--input-format journal-json``)."""

    name: ClassVar[str] = "journal-json"
    claimed_keys: ClassVar[tuple[str, ...] | None] = JOURNAL_KEYS
