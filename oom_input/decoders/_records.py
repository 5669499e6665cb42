"""What the structured inputs share: one function from a record (a JSON object, a msgpack map, a
journal export entry) to a ``KernelLine``, and the unwrapping of the agents' envelopes.

Fields of a record, first match wins (journal names also as Fluent Bit's ``strip_underscores``
and ``lowercase`` options write them: ``_HOSTNAME``, ``HOSTNAME``, ``_hostname``, ``hostname``):

- text: ``MESSAGE``, ``message``, ``msg``, ``log`` - a string, an array of byte values (the
  journal's form of a message that is not valid UTF-8 or holds control characters; invalid bytes
  become U+FFFD and are reported; so do the U+E080-U+E0FF that Fluent Bit's JSON writes for
  them), or a repeated field (an array of values: the first string or
  byte array is the message, as ``journalctl -o cat`` and ``short`` print the first one). Without
  one: ``exec`` (Fluent Bit's exec wrapper); else the record is not a kernel line (IGNORED);
- ``_TRANSPORT``: when present and not ``kernel``, the record is not a kernel line (IGNORED);
  nor is an agent's record of a syslog line whose ``ident`` or ``appname`` (a syslog parser's
  program name) is not ``kernel``;
  neither is a ``kernel`` one whose ``SYSLOG_FACILITY`` is not 0 (journald keeps the facility
  of /dev/kmsg records: a process wrote it into /dev/kmsg, the kernel did not print it);
- ``_HOSTNAME``, then ``host`` (a string, or an object with ``name``/``hostname``) -> host;
  ``_BOOT_ID`` -> boot_id (32 hex digits or a dashed UUID, written dashed and lowercase);
- ``_SOURCE_MONOTONIC_TIMESTAMP`` (µs) -> kernel_us;
- wall_us: ``__REALTIME_TIMESTAMP``, ``_SOURCE_REALTIME_TIMESTAMP`` (µs), then ``timestamp``,
  ``@timestamp``, ``time``, ``date``: RFC 3339 strings (``+0000`` offsets too, as Fluentd's
  ``<inject> time_type string`` writes them), ``YYYY-MM-DD HH:MM:SS.ffffff`` without zone as
  UTC (Fluent Bit's ``json_date_format java_sql_timestamp``), or epoch numbers, whose unit is
  told by their size (< 1e11 seconds, < 1e14 ms, < 1e17 µs, else ns: Fluent Bit's ``epoch``
  and ``epoch_ms``, Fluentd's ``unixtime``); then the envelope's time.

A record without text that holds one object with text (Fluent Bit's ``nest`` filter, Vector's
``native_json`` ``{"log": {..}}``) is read as that object with the record's other fields.

Fluent Bit ``kmsg`` records (``priority``, ``sequence``, ``sec``, ``usec``, ``msg``) give
kernel_us = sec, usec and seq = sequence; their ``msg`` is decoded like a /dev/kmsg text (``\\xNN``
escapes) and cut before its dictionary lines (``\\n KEY=value``).

The text of a record that is not a journal entry (no ``_TRANSPORT``, no ``MESSAGE``) and of an
``exec`` wrapper is a line of some log (``dmesg`` or ``cat /dev/kmsg`` run by Vector's or Fluent
Bit's exec source, a container's output in Docker's json-file log, with its newline): it is
decoded, without a last newline, by the line decoders (``auto``), and the record's host and times
fill what that line lacks. A text of several lines (a multiline parser's merge: Fluent Bit's
``multiline`` filter and parsers, Fluentd's, join the lines with newlines) gives a line for each,
decoded apart, in order (``KernelLines``; at most ``MAX_LINES_READ``, the rest reported). An
indented continuation line (a multi-line record of a dmesg or journalctl text tailed line by line)
is read with the last such line read that continues none; a line readers skip unread (it holds no
report marker) is not seen, so the continuation lines of another program's message whose first line
was skipped are read as the kernel line's before it (reading them right needs every line of an
agent's stream decoded).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import timezone
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, NamedTuple

from oom_input.decoders._common import (
    CLOCK,
    DATE,
    ISO_STAMP,
    Remembered,
    dashed_uuid,
    dated_wall_us,
    decode_text,
    offset_zone,
)
from oom_input.decoders.kmsg import unescape
from oom_input.types import (
    IGNORED,
    DecodeOptions,
    Ignored,
    KernelLine,
    KernelLines,
    QuickText,
    SourceKey,
)

if TYPE_CHECKING:
    from oom_input.decoders import AutoDecoder


class EventTime(NamedTuple):
    """Fluentd's EventTime (msgpack ext type 0: uint32 BE seconds, uint32 BE nanoseconds)."""

    seconds: int
    nanoseconds: int


def _journal_names(name: str) -> tuple[str, ...]:
    """A journal field name as is, with Fluent Bit's strip_underscores and/or lowercase."""
    stripped = name.lstrip("_")
    return tuple(dict.fromkeys((name, stripped, name.lower(), stripped.lower())))


MESSAGE_KEYS = ("MESSAGE", "message", "msg", "log")
TRANSPORT_KEYS = _journal_names("_TRANSPORT")
FACILITY_KEYS = _journal_names("SYSLOG_FACILITY")
HOST_KEYS = (*_journal_names("_HOSTNAME"), "host")
BOOT_ID_KEYS = _journal_names("_BOOT_ID")
MONOTONIC_KEYS = _journal_names("_SOURCE_MONOTONIC_TIMESTAMP")
WALL_US_KEYS = (
    *_journal_names("__REALTIME_TIMESTAMP"),
    *_journal_names("_SOURCE_REALTIME_TIMESTAMP"),
)
WALL_TIME_KEYS = ("timestamp", "@timestamp", "time", "date")
# keys only journalctl's own output has: such records are labelled "journal-json"
JOURNALCTL_KEYS = ("__CURSOR", "__REALTIME_TIMESTAMP")
KMSG_RECORD_KEYS = frozenset(("sec", "usec", "msg"))
TEXT_KEYS = frozenset((*MESSAGE_KEYS, "exec"))  # a record holds its text under one of them
# the program name of a syslog line as the agents' syslog parsers give it (Fluent Bit's and
# Fluentd's syslog parsers: ident; Vector's parse_syslog and syslog source: appname)
IDENT_KEYS = ("ident", "appname")
_KERNEL_IDENTS = ("kernel", b"kernel")  # (msgpack from Fluentd may carry it as bin)

_ISO_ONLY = re.compile(ISO_STAMP + rb"\Z")
# Fluent Bit's JSON writes each byte XX of an invalid UTF-8 sequence as the private-use
# character U+E0XX (flb_utils_write_str, its escape_unicode mode: FLB_UTILS_FRAGMENT_PRIVATE_
# BLOCK_DESCRIPTOR 0xE0); such bytes are >= 0x80
FLUENT_BIT_INVALID_BYTE = re.compile("[\ue080-\ue0ff]")
# a stamp without zone, in UTC: Fluent Bit's json_date_format java_sql_timestamp
# ("2018-05-30 09:39:52.000681", written with gmtime_r: flb_pack.c)
_UTC_STAMP = re.compile(DATE + b" " + CLOCK + rb"(?:\.(?P<frac>\d{1,9}))?\Z")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}\Z")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\Z")
_NUMBER = re.compile(r"-?\d{1,20}(?:\.\d{1,20})?\Z")
_MICROS = Decimal(10**6)
_MAX_SOURCES = 4096  # (host, boot id) tuples quick_text remembers
# kernel lines read from one input line or record at most (the events of a JSON array, the
# lines a multiline parser merged): a line is at most scanner.MAX_LINE_BYTES, but an event or a
# line may take a few bytes of it; the rest is reported
MAX_LINES_READ = 4096
# key layouts whose Fields a reader remembers, and the most keys such a layout has
_MAX_LAYOUTS, _MAX_LAYOUT_KEYS = 256, 64


class MergedText(NamedTuple):
    """The text of an agent's record that holds several log lines (a multiline parser merged
    them; its last newline removed): ``RecordReader.read`` gives a line for each."""

    text: str


class Fields(NamedTuple):
    """The keys of each field that records of one key layout hold, in the order of precedence
    (the first that is not null wins); worked out once per layout, since a stream's records
    mostly share a few."""

    message: tuple[str, ...]
    transport: tuple[str, ...]
    facility: tuple[str, ...]
    host: tuple[str, ...]
    boot_id: tuple[str, ...]
    monotonic: tuple[str, ...]
    wall_us: tuple[str, ...]
    wall_time: tuple[str, ...]
    kmsg: bool  # a Fluent Bit kmsg record
    journalctl: bool  # written by journalctl
    # the keys of a journal entry's one transport, facility and message field, where each
    # field has one (``_line_text`` reads a plain kernel entry by them at once), else None
    journal: tuple[str, str, str] | None


def fields_of(record: Mapping[str, Any]) -> Fields:
    """The ``Fields`` of a record."""
    keys = record.keys()

    def held(names: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(name for name in names if name in keys)

    message, transport, facility = held(MESSAGE_KEYS), held(TRANSPORT_KEYS), held(FACILITY_KEYS)
    kmsg = keys >= KMSG_RECORD_KEYS
    single = len(message) == len(transport) == len(facility) == 1 and not kmsg
    return Fields(
        message=message,
        transport=transport,
        facility=facility,
        host=held(HOST_KEYS),
        boot_id=held(BOOT_ID_KEYS),
        monotonic=held(MONOTONIC_KEYS),
        wall_us=held(WALL_US_KEYS),
        wall_time=held(WALL_TIME_KEYS),
        kmsg=kmsg,
        journalctl=not keys.isdisjoint(JOURNALCTL_KEYS),
        journal=(transport[0], facility[0], message[0]) if single else None,
    )


def _first_value(record: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = record[key]
        if value is not None:
            return value
    return None


def message_of(record: Mapping[str, Any], fields: Fields) -> Any:
    """The raw value of a record's text field (see the module docstring), None without one."""
    message = _first_value(record, fields.message)
    return record.get("exec") if message is None else message


def nested_record(record: Mapping[str, Any], fields: Fields) -> Mapping[str, Any] | None:
    """The fields of a record that holds no text but one object that does (Fluent Bit's nest
    filter, ``Nested_under``; Vector's native_json codec, ``{"log": {event}}``) with the
    record's other fields (``date``, a host added outside it), None for any other record."""
    if fields.transport or fields.kmsg:  # a journal entry, a kmsg record: never nested
        return None
    message = message_of(record, fields)
    if message is not None and type(message) is not dict:
        return None
    inner: Mapping[str, Any] | None = None
    for key, value in record.items():
        if type(value) is dict:
            if inner is not None:
                return None  # two objects: which one is the record is not told
            inner, inner_key = value, key
    if inner is None or (
        inner.keys().isdisjoint(TEXT_KEYS) and not inner.keys() >= KMSG_RECORD_KEYS
    ):
        return None
    return {**{k: v for k, v in record.items() if k != inner_key}, **inner}


def _is_byte_array(value: list[Any]) -> bool:
    return bool(value) and all(type(b) is int and 0 <= b <= 255 for b in value)


def _as_int(value: Any) -> int | None:
    """An integer given as a number or as decimal digits (the journal writes numbers as text)."""
    if type(value) is int:
        return value
    if isinstance(value, (str, bytes)) and 0 < len(value) <= 20 and value.isdigit():
        return int(value)
    return None


def _scaled_us(value: Decimal) -> int:
    """Epoch µs of an epoch number whose unit is told by its size."""
    size = abs(value)
    if size < 10**11:
        value *= _MICROS
    elif size < 10**14:
        value *= 1000
    elif size >= 10**17:
        value /= 1000
    return int(value.to_integral_value(ROUND_FLOOR))


def epoch_us(value: Any) -> int | None:
    """Epoch µs of a time in any of the shapes agents write, None when it is none of them."""
    if isinstance(value, EventTime):
        return value.seconds * 10**6 + value.nanoseconds // 1000
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _scaled_us(Decimal(value))
    if isinstance(value, float):
        text = repr(value)  # the shortest decimal that is this float: exact for µs stamps
    elif isinstance(value, str) and _NUMBER.match(value):
        text = value
    elif isinstance(value, str):
        ascii_value = value.encode("ascii", "replace")
        stamp = _ISO_ONLY.match(ascii_value)
        utc = stamp is None and (stamp := _UTC_STAMP.match(ascii_value)) is not None
        if stamp is None:
            return None
        try:
            return dated_wall_us(stamp, timezone.utc if utc else offset_zone(stamp["zone"]))
        except (ValueError, OverflowError):
            return None
    elif hasattr(value, "to_unix_nano"):  # msgpack.Timestamp (ext type -1)
        return int(value.to_unix_nano()) // 1000
    else:
        return None
    try:
        return _scaled_us(Decimal(text))
    except (InvalidOperation, ValueError, OverflowError):  # nan, inf
        return None


def is_time(value: Any) -> bool:
    """Whether an envelope element is a time (not a tag, not a record)."""
    return isinstance(value, (int, float, EventTime)) and not isinstance(value, bool)


Entry = tuple[Mapping[str, Any], "int | None"]


# unpack(entries, compression): the items of a PackedForward entries field, given its
# option's "compressed" value (None, or "gzip": CompressedPackedForward)
Unpack = Callable[[bytes, Any], list[Any]]


def envelope_entries(
    item: Any, unpack: Unpack | None = None, *, times: bool = True
) -> list[Entry] | None:
    """The (record, envelope wall µs) pairs an item holds, None when it is no known shape:

    - ``{..}``: a bare record (journalctl, Fluentd exec_filter msgpack, Fluent Bit json_lines);
    - ``[time, {..}]``, ``[[time, {meta}], {..}]``: Fluent Bit's event formats (stdin input);
    - ``[tag, time, {..}(, option)]``: Fluentd forward protocol, Message mode;
    - ``[tag, [[time, {..}], ...](, option)]``: Forward mode;
    - ``[tag, <msgpack bytes>(, option)]``: PackedForward mode, when ``unpack`` can read them:
      the entries as bin, or as str (Fluentd's out_forward sends str "for backward
      compatibility", Forward Protocol Specification v1), and CompressedPackedForward (option
      ``{"compressed": "gzip"}``).

    Without ``times``, every envelope's time is None (a reader that needs none skips working
    them out: the shapes are the same).
    """
    if isinstance(item, dict):
        return [(item, None)]
    if not isinstance(item, list) or not 2 <= len(item) <= 4:
        return None
    head, second = item[0], item[1]
    if len(item) == 2 and isinstance(second, dict):
        if isinstance(head, list) and head and is_time(head[0]):
            head = head[0]
        return [(second, epoch_us(head) if times else None)] if is_time(head) else None
    if not isinstance(head, str):
        return None
    if len(item) >= 3 and isinstance(item[2], dict) and is_time(second):
        return [(item[2], epoch_us(second) if times else None)]
    if unpack is not None and isinstance(second, (str, bytes, bytearray)):
        if isinstance(second, str):  # str entries: back to the bytes the unpacker decoded
            second = second.encode("utf-8", "surrogateescape")
        option = item[2] if len(item) >= 3 and isinstance(item[2], dict) else {}
        second = unpack(bytes(second), option.get("compressed"))
    if isinstance(second, list):
        entries: list[Entry] = []
        for entry in second:
            inner = envelope_entries(entry, times=times)
            if inner is None or isinstance(entry, dict):
                return None
            entries.extend(inner)
        return entries
    return None


def text_keys(record: Mapping[Any, Any]) -> Mapping[str, Any]:
    """A msgpack map with its bin keys as text: Fluentd packs Ruby's binary (ASCII-8BIT)
    strings as bin, and the fields fluent-plugin-systemd reads from the journal are such
    strings, keys included."""
    for key in record:
        if type(key) is not str:
            return {
                key.decode("utf-8", "surrogateescape") if isinstance(key, bytes) else key: value
                for key, value in record.items()
            }
    return record


def lines_of(verdict: KernelLine | KernelLines | Ignored | None) -> list[KernelLine]:
    """The kernel lines of a decoder's verdict on one input line or record, in order."""
    if isinstance(verdict, KernelLine):
        return [verdict]
    return list(verdict) if isinstance(verdict, KernelLines) else []


def verdict_of(lines: list[KernelLine]) -> KernelLine | KernelLines | Ignored:
    """A decoder's verdict on one input line or record that holds ``lines``."""
    if len(lines) > 1:
        return KernelLines(lines)
    return lines[0] if lines else IGNORED


class NotQuick(Exception):
    """Raised on a quick path where decoding would report something: the line must be decoded."""


def refuse(reason: str, raw: bytes) -> None:
    """The ``report`` of quick paths: a line decoding would report is not a quick one."""
    raise NotQuick(reason)


def _fluent_bit_bytes(value: str) -> bytes:
    """The bytes of a text whose invalid UTF-8 bytes Fluent Bit wrote as U+E080-U+E0FF."""
    return "".join(
        chr(0xDC00 | ord(c) & 0xFF) if "\ue080" <= c <= "\ue0ff" else c for c in value
    ).encode("utf-8", "surrogateescape")


def text_of(value: Any, raw: bytes, options: DecodeOptions) -> str | None:
    """A text field's value as text (None when it is not text)."""
    if isinstance(value, str):
        if value.isascii():
            return value
        if FLUENT_BIT_INVALID_BYTE.search(value) is not None:
            return decode_text(_fluent_bit_bytes(value), raw, options)
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:  # surrogates: bytes msgpack could not decode
            value = value.encode("utf-8", "surrogateescape")
    if isinstance(value, (bytes, bytearray)):
        return decode_text(bytes(value), raw, options)
    if isinstance(value, list):
        if _is_byte_array(value):
            return decode_text(bytes(value), raw, options)
        for element in value:  # a repeated field: the first text value
            if isinstance(element, (str, bytes)) or (
                isinstance(element, list) and _is_byte_array(element)
            ):
                return text_of(element, raw, options)
    return None


class RecordReader:
    """Turns records into kernel lines; one per stream (the line decoders it uses for agents'
    text lines keep per-stream state)."""

    def __init__(self, options: DecodeOptions, source_format: str) -> None:
        self.options = options
        self.source_format = source_format
        self._lines: AutoDecoder | None = None  # made on first use: the registry imports this
        self._head: bytes | None = None  # the last agent's line that continues none
        self.quick_options = replace(options, report=refuse)  # what quick paths report to
        # quick_text: one tuple per source
        self._sources: Remembered[SourceKey, SourceKey] = Remembered(_MAX_SOURCES)
        self._own_sources: Remembered[tuple[Any, Any], SourceKey] = Remembered(_MAX_SOURCES)
        self._layouts: Remembered[tuple[Any, ...], Fields] = Remembered(_MAX_LAYOUTS)
        # the record, its Fields and source of the last line quick_text read by the record's
        # own fields, and whether its key layout was seen before (a JSON decoder's quick_run
        # reads the lines after it by its layout, or in any key order)
        self.last_quick: tuple[Mapping[str, Any], Fields, SourceKey, bool] | None = None

    @property
    def extra_markers(self) -> tuple[bytes, ...]:
        """The extra markers of the line formats seen in records' text (see AutoDecoder)."""
        return () if self._lines is None else self._lines.extra_markers

    def read(
        self, record: Mapping[str, Any], raw: bytes, wall_us: int | None = None
    ) -> KernelLine | KernelLines | Ignored:
        """The kernel line of one record; ``wall_us`` is its envelope's time, if any. An agent's
        text that a multiline parser merged from several log lines (Fluentd's and Fluent Bit's
        join them with newlines) gives a line for each, in order (``KernelLines``); a journal
        entry's text of several lines is one kernel record."""
        fields = self._fields(record)
        found = self._line_text(record, fields, raw, self.options, self._decode_line)
        if isinstance(found, Ignored):
            nested = nested_record(record, fields)
            return IGNORED if nested is None else self.read(nested, raw, wall_us)
        if isinstance(found, str):
            line = self._own_line(record, fields, found)
        elif isinstance(found, MergedText):
            return self._merged(record, fields, found, raw, wall_us)
        else:
            line = found
        self._fill(line, record, fields, raw, wall_us)
        return line

    def read_lines(
        self, record: Mapping[str, Any], raw: bytes, wall_us: int | None = None
    ) -> list[KernelLine]:
        """``read``'s lines as a list (none for a record that is no kernel line)."""
        return lines_of(self.read(record, raw, wall_us))

    def _fill(
        self,
        line: KernelLine,
        record: Mapping[str, Any],
        fields: Fields,
        raw: bytes,
        wall_us: int | None,
    ) -> None:
        """What the record tells of a line of its and the line does not (times, source)."""
        own_wall = self._wall_us(record, fields)
        if own_wall is not None:
            wall_us = own_wall
        if line.kernel_us is None:
            line.kernel_us = _as_int(_first_value(record, fields.monotonic))
        if line.wall_us is None:
            line.wall_us = wall_us
        if line.host is None:
            line.host = self._host(record, fields, raw, self.options)
        if line.boot_id is None:
            line.boot_id = self._boot_id(record, fields, raw, self.options)
        line.source_format = self.source_format
        if self.source_format == "json" and fields.journalctl:
            line.source_format = "journal-json"

    def _merged(
        self,
        record: Mapping[str, Any],
        fields: Fields,
        merged: MergedText,
        raw: bytes,
        wall_us: int | None,
    ) -> KernelLine | KernelLines | Ignored:
        """The lines of an agent's text of several lines, each decoded as a line of its own
        and filled from the record (empty lines skipped; at most MAX_LINES_READ, the rest
        reported)."""
        pieces = merged.text.split("\n")
        if len(pieces) > MAX_LINES_READ:
            self.options.report(
                f"over {MAX_LINES_READ} lines in one record: the rest left out", raw
            )
            del pieces[MAX_LINES_READ:]
        lines: list[KernelLine] = []
        for piece in pieces:
            line = self._decode_line(piece) if piece else None
            if isinstance(line, KernelLine):
                self._fill(line, record, fields, raw, wall_us)
                lines.append(line)
        return verdict_of(lines)

    def quick_text(
        self, record: Mapping[str, Any], raw: bytes, wall_us: int | None = None
    ) -> QuickText | None:
        """``read``'s text and (host, boot id) of a record, without building its line; None
        when it is not a kernel line or reading it would report something (read it then)."""
        layouts = len(self._layouts)
        fields = self._fields(record)
        try:
            self.last_quick = None
            found = self._line_text(record, fields, raw, self.quick_options, self._quick_line)
            if isinstance(found, Ignored):
                nested = nested_record(record, fields)
                if nested is None:
                    return None
                answer = self.quick_text(nested, raw, wall_us)
                self.last_quick = None  # a run repeats a flat layout, never a nested one
                return answer
            if isinstance(found, str):
                source = self._own_source(record, fields, raw)
                # a new layout changes the count
                self.last_quick = (record, fields, source, len(self._layouts) == layouts)
                return found, source
            if isinstance(found, MergedText):
                return None  # (several lines: read them)
            text, host, boot_id = found.text, found.host, found.boot_id
            if host is None:
                host = self._host(record, fields, raw, self.quick_options)
            if boot_id is None:
                boot_id = self._boot_id(record, fields, raw, self.quick_options)
        except NotQuick:
            return None
        return text, self._source(host, boot_id)

    def _source(self, host: str | None, boot_id: str | None) -> SourceKey:
        """quick_text's (host, boot id): one tuple per source."""
        source = (host, boot_id)
        known = self._sources.get(source)
        if known is None:
            known = self._sources.keep(source, source)
        return known

    def _own_source(self, record: Mapping[str, Any], fields: Fields, raw: bytes) -> SourceKey:
        """``_source`` of a record's own host and boot id fields (NotQuick where reading them
        reports), remembered per their values when they are strings (a stream's records name a
        few hosts and boots, and reading a string is the same every time)."""
        values = (_first_value(record, fields.host), _first_value(record, fields.boot_id))
        host, boot_id = values
        remember = (host is None or type(host) is str) and (boot_id is None or type(boot_id) is str)
        if remember:
            known = self._own_sources.get(values)
            if known is not None:
                return known
        known = self._source(
            self._host(record, fields, raw, self.quick_options),
            self._boot_id(record, fields, raw, self.quick_options),
        )
        if remember:
            self._own_sources.keep(values, known)
        return known

    def _fields(self, record: Mapping[str, Any]) -> Fields:
        """The record's ``Fields``, remembered per key layout."""
        if len(record) > _MAX_LAYOUT_KEYS:
            return fields_of(record)
        layout = tuple(record)
        fields = self._layouts.get(layout)
        if fields is None:
            fields = self._layouts.keep(layout, fields_of(record))
        return fields

    def _line_text(
        self,
        record: Mapping[str, Any],
        fields: Fields,
        raw: bytes,
        options: DecodeOptions,
        decode_line: Callable[[str], KernelLine | KernelLines | Ignored | None],
    ) -> str | KernelLine | MergedText | Ignored:
        """A record's text when its own fields make its line (``_own_line``), the line
        ``decode_line`` makes of the text of an agent's record (MergedText: a text of several
        lines, not decoded), or IGNORED."""
        if fields.journal is not None:  # the common case: a kernel entry with an ASCII text
            transport_key, facility_key, message_key = fields.journal
            text = record[message_key]
            if (
                record[transport_key] == "kernel"
                and record[facility_key] == "0"
                and type(text) is str
                and text.isascii()
            ):
                return text
        transport = _first_value(record, fields.transport)
        if transport is not None:
            if text_of(transport, raw, options) != "kernel":
                return IGNORED
            facility = _first_value(record, fields.facility)
            if isinstance(facility, int):
                facility = str(facility)
            if facility is not None and text_of(facility, raw, options) != "0":
                return IGNORED  # written into /dev/kmsg by a process
        if fields.kmsg:
            return self._kmsg_text(record["msg"], raw, options)
        message = message_of(record, fields)
        if message is None:
            return IGNORED
        text = text_of(message, raw, options)
        if text is None:
            return IGNORED
        if transport is not None or "MESSAGE" in record:
            return text
        if any(record.get(key, "kernel") not in _KERNEL_IDENTS for key in IDENT_KEYS):
            return IGNORED  # a syslog line that another program wrote
        # a line's own newline is no part of it (Docker's json-file keeps it in "log"); a text
        # of several lines is a multiline parser's merge (read, line by line, by ``_merged``)
        newline = text.find("\n")
        if newline >= 0:
            if newline < len(text) - 1:
                return MergedText(text.removesuffix("\n"))
            text = text[:-1]
        decoded = decode_line(text)
        return decoded if isinstance(decoded, KernelLine) else IGNORED

    @staticmethod
    def _own_line(record: Mapping[str, Any], fields: Fields, text: str) -> KernelLine:
        """The line of a record whose own fields make it (a kmsg record's times and sequence)."""
        if not fields.kmsg:
            return KernelLine(text)
        sec, usec = _as_int(record["sec"]), _as_int(record["usec"])
        return KernelLine(  # (by position: keyword arguments cost a dict per line)
            text,
            None if sec is None or usec is None else sec * 10**6 + usec,
            None,
            None,
            None,
            _as_int(record.get("sequence")),
        )

    @staticmethod
    def _kmsg_text(message: Any, raw: bytes, options: DecodeOptions) -> str:
        if isinstance(message, str) and message.isascii() and "\\" not in message:
            return message.partition("\n")[0]  # the common case: no escape, nothing to decode
        body = message.encode("utf-8", "surrogateescape") if isinstance(message, str) else b""
        if isinstance(message, (bytes, bytearray)):
            body = bytes(message)
        return decode_text(unescape(body.split(b"\n", 1)[0]), raw, options)

    def _decode_line(self, text: str) -> KernelLine | KernelLines | Ignored | None:
        """An agent's line, decoded by the line decoders; an indented continuation line of a
        multi-line record (dmesg, journalctl text tailed line by line) with the agent's line
        it continues, as a reader of the text file decodes it."""
        if self._lines is None:
            from oom_input.decoders import AutoDecoder

            self._lines = AutoDecoder(self.options)
        raw = text.encode("utf-8")
        if self._lines.continues(raw):
            return self._lines.continuation(raw, self._head)
        self._head = raw
        return self._lines.decode(raw)

    def _quick_line(self, text: str) -> KernelLine:
        """``_decode_line``'s text, host and boot id by the line decoders' quick path."""
        raw = text.encode("utf-8")
        lines = self._lines
        found = None if lines is None or lines.continues(raw) else lines.quick_text(raw)
        if found is None:
            raise NotQuick("not a quick line")
        self._head = raw
        text, (host, boot_id) = found
        return KernelLine(text, None, None, host, boot_id)  # (keyword arguments cost a dict)

    @staticmethod
    def _wall_us(record: Mapping[str, Any], fields: Fields) -> int | None:
        micros = _first_value(record, fields.wall_us)
        if micros is not None:
            return _as_int(micros)
        stamp = _first_value(record, fields.wall_time)
        return None if stamp is None else epoch_us(stamp)

    @staticmethod
    def _host(
        record: Mapping[str, Any], fields: Fields, raw: bytes, options: DecodeOptions
    ) -> str | None:
        host = _first_value(record, fields.host)
        if isinstance(host, dict):  # Elastic Common Schema: "host": {"name": ...}
            host = host.get("name") or host.get("hostname")
        return None if host is None else text_of(host, raw, options)

    @staticmethod
    def _boot_id(
        record: Mapping[str, Any], fields: Fields, raw: bytes, options: DecodeOptions
    ) -> str | None:
        boot_id = _first_value(record, fields.boot_id)
        text = None if boot_id is None else text_of(boot_id, raw, options)
        if text is None:
            return None
        if _HEX32.match(text):
            return dashed_uuid(text.encode("ascii"))
        return text.lower() if _UUID.match(text) else text


def no_record_needed() -> bool:
    """A stream decoder's ``every_record`` until a pipeline sets it: skip what cannot matter."""
    return False
