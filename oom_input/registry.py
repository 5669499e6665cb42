"""Every plug-in, registered once: input line formats, stream formats and output formats.

An entry names its class as ``"module:Class"`` text and imports it only when it is used
(``load()``), so ``--help`` lists every format without importing any of them. The command line's
choices and help, the decoders' auto-detection order, stream detection and the tests are all
derived from these tables.

Adding a format is one module, one line here, one fixture and one test: copy
``oom_input/decoders/_template.py`` and ``tests/test_template_format.py``.
"""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

_DECODERS = "oom_input.decoders."
_SINKS = "oom_input.sinks."


# The entries are plain classes: NamedTuples would cost ~0.6 ms of every start-up.
class LineFormat:
    """An input format read line by line (class: ``oom_input.types.Decoder``)."""

    __slots__ = ("detected", "name", "summary", "target")

    def __init__(self, name: str, target: str, summary: str, detected: bool = True) -> None:
        self.name = name
        self.target = target
        self.summary = summary  # --help text; a newline starts an indented continuation line
        self.detected = detected  # auto-detection tries it (in table order); False: by name only

    def load(self) -> Any:
        return _load(self.target)


class StreamFormat:
    """An input format that is not one record per line (class: ``oom_input.types.StreamDecoder``),
    detected from a stream's first bytes."""

    __slots__ = ("magic", "name", "summary", "target")

    def __init__(self, name: str, target: str, summary: str, magic: tuple[bytes, ...]) -> None:
        self.name = name
        self.target = target
        self.summary = summary
        self.magic = magic  # a stream of this format starts with one of these

    def load(self) -> Any:
        return _load(self.target)


class OutputFormat:
    """An output format (class: ``oom_input.types.Sink``, built by ``from_options``)."""

    __slots__ = ("name", "summary", "target")

    def __init__(self, name: str, target: str, summary: str) -> None:
        self.name = name
        self.target = target
        self.summary = summary

    def load(self) -> Any:
        return _load(self.target)


def _load(target: str) -> Any:
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


# In auto-detection order: earlier entries win when two formats claim a line; plain claims every
# line and must stay the last one detected.
LINE_FORMATS: tuple[LineFormat, ...] = (
    LineFormat(
        "kmsg",
        _DECODERS + "kmsg:KmsgDecoder",
        'raw /dev/kmsg records "PRI,SEQ,USEC,FLAGS;text" (+ dictionary lines)',
    ),
    LineFormat(
        "dmesg",
        _DECODERS + "dmesg:DmesgDecoder",
        "dmesg [-r] [-x] [-T] [--time-format iso] output, with or without <PRI>",
    ),
    LineFormat(
        "journal",
        _DECODERS + "journal:JournalDecoder",
        "journalctl -k -o short|short-precise|short-iso|short-iso-precise|short-full|\n"
        "short-monotonic|short-unix",
    ),
    LineFormat(
        "syslog",
        _DECODERS + "syslog:SyslogDecoder",
        '/var/log/messages, kern.log ("Dec  7 00:20:58 node1 kernel: ..."),\n'
        'RFC 5424 ("<6>1 2026-11-30T01:00:00Z node1 kernel - - - ...")',
    ),
    LineFormat(
        "json",
        _DECODERS + "json_records:JsonDecoder",
        "JSON lines: journalctl -o json/json-seq/json-sse, Fluent Bit kmsg/systemd/exec\n"
        "records, Vector events (log namespace: bare strings), objects with\n"
        "message/log/msg, [ts, {..}] arrays",
    ),
    LineFormat(
        "plain",
        _DECODERS + "plain:PlainDecoder",
        "text without a prefix (journalctl -o cat, dmesg -t); auto reads any other line so",
    ),
    LineFormat(
        "journal-json",
        _DECODERS + "json_records:JournalJsonDecoder",
        "journalctl -o json entries only",
        detected=False,
    ),
)

# msgpack: the header of an item of a shape the decoder reads, a map (fixmap, map16, map32) or
# an array of 2-4 items (no text log starts with such a byte: none is a UTF-8 lead byte)
_MSGPACK_HEADERS = tuple(
    bytes((byte,)) for byte in (*range(0x80, 0x90), 0x92, 0x93, 0x94, 0xDE, 0xDF)
)

STREAM_FORMATS: tuple[StreamFormat, ...] = (
    StreamFormat(
        "msgpack",
        _DECODERS + "msgpack_stream:MsgpackDecoder",
        "msgpack maps back to back, [time, map], Fluentd forward entries",
        _MSGPACK_HEADERS,
    ),
    StreamFormat(
        "journal-export",
        _DECODERS + "journal_export:JournalExportDecoder",
        "journalctl -o export",
        # journalctl -o export starts every entry with these fields, in this order
        (b"__CURSOR=", b"__REALTIME_TIMESTAMP="),
    ),
    StreamFormat(
        "json-pretty",
        _DECODERS + "json_pretty:JsonPrettyDecoder",
        "journalctl -o json-pretty: JSON objects over many lines, braces at line starts",
        # an object's "{" on a line of its own (no line format's line is a lone brace)
        (b"{\n", b"{\r\n"),
    ),
)

# the first is the default
OUTPUT_FORMATS: tuple[OutputFormat, ...] = (
    OutputFormat("json", _SINKS + "jsonl:JsonLinesSink", "one object per line (default)"),
    OutputFormat(
        "msgpack",
        _SINKS + "msgpack:MsgpackSink",
        "one map per record (Fluentd exec_filter <parse> @type msgpack)",
    ),
    OutputFormat(
        "forward",
        _SINKS + "msgpack:ForwardSink",
        "[tag, EventTime, record] (forward protocol; --tag)",
    ),
)

# how many first bytes of a stream tell its format
STREAM_HEAD_BYTES = max(len(magic) for fmt in STREAM_FORMATS for magic in fmt.magic)


def line_format(name: str) -> LineFormat:
    """The line format called ``name`` (ValueError naming the choices otherwise)."""
    return _named(LINE_FORMATS, name, "input format")


def stream_format(name: str) -> StreamFormat:
    """The stream format called ``name``."""
    return _named(STREAM_FORMATS, name, "stream format")


def output_format(name: str) -> OutputFormat:
    """The output format called ``name``."""
    return _named(OUTPUT_FORMATS, name, "output format")


def detect_stream(head: bytes) -> str | None:
    """The name of the stream format whose magic ``head`` (a stream's first bytes) starts with,
    None for a line format."""
    for fmt in STREAM_FORMATS:
        if head.startswith(fmt.magic):
            return fmt.name
    return None


def format_help(entries: tuple[LineFormat, ...] | tuple[StreamFormat, ...]) -> str:
    """``  name  summary`` lines of ``entries`` for --help."""
    lines = []
    for entry in entries:
        first, *more = entry.summary.split("\n")
        lines.append(f"  {entry.name:<15} {first}")
        lines.extend(f"  {'':<15} {line}" for line in more)
    return "\n".join(lines)


_Entry = TypeVar("_Entry", LineFormat, StreamFormat, OutputFormat)


def _named(entries: tuple[_Entry, ...], name: str, kind: str) -> _Entry:
    for entry in entries:
        if entry.name == name:
            return entry
    choices = ", ".join(entry.name for entry in entries)
    raise ValueError(f"unknown {kind} {name!r}: choose one of {choices}")


__all__ = [
    "LINE_FORMATS",
    "OUTPUT_FORMATS",
    "STREAM_FORMATS",
    "STREAM_HEAD_BYTES",
    "LineFormat",
    "OutputFormat",
    "StreamFormat",
    "detect_stream",
    "format_help",
    "line_format",
    "output_format",
    "stream_format",
]
