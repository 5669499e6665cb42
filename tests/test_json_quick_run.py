"""The JSON decoders' ``quick_run``: the lines after a kernel entry that repeat its key layout,
taken at once by one pattern per layout, are those that ``quick_text`` and ``decode`` read the
same way (the same source, a text of the block's shape), and the records of a stream read with
it are those of decoding every line.

The streams are the real captures' reports (memcg statistics, task tables) in every JSON
rendering, several hosts merged, with lines made from the stream's own lines inserted next to
them: another host or boot, another transport or facility, fields missing, added or given twice
(as text: orjson keeps the last), keys reordered, a message with a JSON escape, a quote, an
injected key or as a byte array, other values odd (non-ASCII, invalid UTF-8, control bytes,
numbers orjson refuses, null, objects), other spacing, a carriage return, damaged JSON; read
whole, a byte at a time and a line at a time.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_json_quick_text import SOURCES
from test_task_rows import records

from convert import FORMAT_NAMES, LINE_FORMATS, kernel_records
from oom_input.decoders import detect_stream, make_decoder
from oom_input.decoders._records import BOOT_ID_KEYS, FACILITY_KEYS, HOST_KEYS, TRANSPORT_KEYS
from oom_input.evidence import STAT_LINE_SHAPE, TASK_HEADER_RE, ReportEvidence, _layout
from oom_input.registry import STREAM_HEAD_BYTES
from oom_input.types import DecodeOptions, KernelLine

DATA = Path(__file__).parent / "data"
HEADER_MARK = b"]   uid  tgid "
STATS_MARK = b"Memory cgroup stats for"
# the kernel records of every capture with a task table or a stats block
CAPTURES = [
    found
    for path in sorted(DATA.glob("*/*"))
    if path.suffix in {".kmsg", ".dmesg"}
    and (found := kernel_records(path))
    and any(HEADER_MARK in r.text or STATS_MARK in r.text for r in found)
]
# the captures whose memcg statistics are one record per line (6.4+), and the others again
STATS_LINE_CAPTURES = [
    capture for capture in CAPTURES if any(r.text.startswith(b"anon ") for r in capture)
] + CAPTURES
JSON_FORMATS = sorted(name for name in LINE_FORMATS if "json" in FORMAT_NAMES[name])
# the renderings of journal entries whose plain kernel lines quick_run takes
RUN_FORMATS = [
    "journal-json",
    "journal-json-seq",
    "journal-json-old",
    "json-fluentbit-systemd",
    "json-fluentbit-systemd-strip",
    "json-fluentbit-systemd-lower",
    "json-vector-journald",
]
# every JSON-lines fixture in tests/data with a stats block or a task table (not json-pretty's
# objects over many lines: a stream format)
FIXTURES = [
    path
    for path in sorted((DATA / "structured").glob("*"))
    if "json" in path.suffix
    and (HEADER_MARK in (data := path.read_bytes()) or STATS_MARK in data)
    and detect_stream(data[:STREAM_HEAD_BYTES]) is None
]
ODD_KEYS = [
    "_HOSTNAME",
    "HOSTNAME",
    "_hostname",
    "hostname",
    "host",
    "_TRANSPORT",
    "TRANSPORT",
    "_transport",
    "SYSLOG_FACILITY",
    "syslog_facility",
    "_BOOT_ID",
    "BOOT_ID",
    "MESSAGE",
    "message",
    "msg",
    "log",
    "exec",
    "sec",
    "usec",
    "__CURSOR",
    "X",
]
ODD_VALUES: list[Any] = [
    "node-9",
    "node-1",
    "kernel",
    "journal",
    "0",
    "1",
    "",
    "ünï",
    'a"b',
    "a\\b",
    "\x01",
    "\x7f",
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    7,
    0,
    -1.5,
    2**63,
    None,
    True,
    [1, 2],
    {"name": "node-9"},
    [97, 110, 111, 110, 32, 49],
    "anon 1",
    "[  1]  0  1  100  10  0  0  0 x",
]
# values as JSON text: numbers orjson refuses (1e999) or reads as floats (beyond 64 bits)
ODD_NUMBERS = [b"1e999", b"-1e999", b"123456789012345678901234567890", b"1.5e3", b"-0", b"00"]
# raw bytes put into a value: not JSON's (a control byte, invalid UTF-8) or valid UTF-8
ODD_BYTES = [b"\x01", b"\xff", b"\xc3\xa9", b"\t", b"\\", b'"', b"\\u0041", b'\\"', b"\\\\"]
MESSAGE_STARTS = (b'"MESSAGE":"', b'"MESSAGE" : "', b'"message":"')


def _message_span(line: bytes) -> tuple[int, int] | None:
    """Where the text of a line's plain string message is (None: no such message)."""
    for start in MESSAGE_STARTS:
        at = line.find(start)
        if at >= 0:
            first = at + len(start)
            end = line.find(b'"', first)
            return (first, end) if end >= 0 else None
    return None


def _as_object(line: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(line.lstrip(b"\x1e"))
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


@st.composite
def mutated(draw: st.DrawFn, line: bytes) -> bytes:
    """A line made from ``line``: one of its fields changed as an object, or its bytes."""
    record = _as_object(line)
    span = _message_span(line)
    kinds = ["truncate", "cr", "raw byte", "duplicate", "spacing", "separator"]
    if record is not None:
        kinds += ["set", "delete", "reorder", "byte array", "source", "source", "kind", "drop"]
    if span is not None:
        kinds += ["escape", "quote", "inject", "message byte"]
    kind = draw(st.sampled_from(kinds))
    if kind == "truncate":
        return line[: draw(st.integers(0, max(0, len(line) - 1)))]
    if kind == "cr":
        return line + b"\r"
    if kind == "raw byte":  # into any string value
        quotes = [m.start() for m in re.finditer(rb'":"', line)]
        if not quotes:
            return line + b" "
        at = draw(st.sampled_from(quotes)) + 3
        return line[:at] + draw(st.sampled_from(ODD_BYTES)) + line[at:]
    if kind == "duplicate":  # a field given twice (or a new one), as text
        key = draw(st.sampled_from([*ODD_KEYS, *(record or ())]))
        value = draw(st.sampled_from([*map(orjson.dumps, ODD_VALUES), *ODD_NUMBERS]))
        pair = orjson.dumps(key) + b":" + value
        if draw(st.booleans()):
            return line[:-1] + b"," + pair + b"}"
        brace = line.find(b"{")
        return line[: brace + 1] + pair + b"," + line[brace + 1 :]
    if kind == "spacing":
        return line.replace(b'":"', b'" : "', 1) if draw(st.booleans()) else b" " + line
    if kind == "separator":  # json-seq's RS, added or taken away
        return line[1:] if line.startswith(b"\x1e") else b"\x1e" + line
    if kind in ("set", "delete", "reorder", "byte array", "source", "kind", "drop"):
        assert record is not None
        items = list(record.items())
        if kind == "drop":  # no host, boot id, transport or facility
            deciding = (*HOST_KEYS, *BOOT_ID_KEYS, *TRANSPORT_KEYS, *FACILITY_KEYS)
            keys = [key for key in record if key in deciding]
            if keys:
                del record[draw(st.sampled_from(keys))]
            return orjson.dumps(record)
        if kind == "kind":  # another transport or facility: a process's line
            keys = [key for key in record if key in TRANSPORT_KEYS or key in FACILITY_KEYS]
            if keys:
                key = draw(st.sampled_from(keys))
                record[key] = draw(st.sampled_from(["journal", "syslog", "1", "3", 0, "KERNEL"]))
            return orjson.dumps(record)
        if kind == "source":  # another host or boot, or the same one spelled otherwise
            keys = [key for key in record if key in HOST_KEYS or key in BOOT_ID_KEYS]
            if keys:
                key = draw(st.sampled_from(keys))
                value = record[key]
                others = [
                    "node-9",
                    "NODE-0",
                    "node-0 ",
                    value.upper() if isinstance(value, str) else 1,
                ]
                record[key] = draw(st.sampled_from(others))
            return orjson.dumps(record)
        if kind == "set":
            key = draw(st.sampled_from([*ODD_KEYS, *record]))
            record[key] = draw(st.sampled_from(ODD_VALUES))
            return orjson.dumps(record)
        if kind == "delete" and items:
            del record[draw(st.sampled_from([*record]))]
            return orjson.dumps(record)
        if kind == "reorder" and len(items) > 1:
            i, j = draw(st.integers(0, len(items) - 1)), draw(st.integers(0, len(items) - 1))
            items[i], items[j] = items[j], items[i]
            return orjson.dumps(dict(items))
        for key in ("MESSAGE", "message"):
            if isinstance(record.get(key), str):
                record[key] = list(record[key].encode())
        return orjson.dumps(record)
    assert span is not None
    first, end = span
    at = draw(st.integers(first, end))
    if kind == "escape" and at < end:  # a character of the message as \uXXXX
        return line[:at] + b"\\u%04x" % line[at] + line[at + 1 :]
    if kind == "quote":
        return line[:at] + b'"' + line[at:]
    if kind == "inject":  # a key that ends the message early: valid JSON
        return line[:at] + b'","X":"' + line[at:]
    return line[:at] + draw(st.sampled_from(ODD_BYTES)) + line[at:]


def _merged(
    draw: st.DrawFn, name: str, hosts: int, captures: list[list[Any]] = CAPTURES
) -> list[bytes]:
    """The lines of ``hosts`` hosts' reports (the same capture or not, of ``captures`` or any)
    in rendering ``name``, merged in runs of any length."""
    renderer, _ = LINE_FORMATS[name]
    same = draw(st.sampled_from(captures))
    streams = [
        renderer(same if draw(st.booleans()) else draw(st.sampled_from(CAPTURES)), source)
        .rstrip(b"\n")
        .split(b"\n")
        for source in SOURCES[:hosts]
    ]
    lines: list[bytes] = []
    while any(streams):
        stream = draw(st.sampled_from([s for s in streams if s]))
        take = draw(st.integers(1, 60))
        lines += stream[:take]
        del stream[:take]
    if draw(st.booleans()):  # as the real journalctl prints entries: keys in any order
        lines = [shuffled(line, draw(st.randoms())) for line in lines]
    return lines


def shuffled(line: bytes, order: random.Random) -> bytes:
    """A JSON object's line with its keys in another order (as orjson writes it)."""
    record = _as_object(line)
    if record is None:
        return line
    items = list(record.items())
    order.shuffle(items)
    return (b"\x1e" if line.startswith(b"\x1e") else b"") + orjson.dumps(dict(items))


@st.composite
def merged_reports(draw: st.DrawFn, name: str) -> bytes:
    """One or two hosts' reports in rendering ``name``, merged line by line in runs of any
    length, with lines made from their neighbours inserted anywhere."""
    lines = _merged(draw, name, draw(st.integers(1, 2)))
    for _ in range(draw(st.integers(0, 10))):
        at = draw(st.integers(0, len(lines) - 1))
        odd = draw(mutated(lines[at]))
        lines.insert(at + draw(st.integers(0, 1)), odd)
    return b"\n".join(lines) + b"\n"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.data(),
    st.sampled_from(JSON_FORMATS),
    st.sampled_from(["named", "auto"]),
    st.sampled_from(["whole", "lines", "bytes"]),
    st.sampled_from([None, "h"]),
)
def test_runs_give_the_records_of_decoding_every_line(
    data: st.DataObject, name: str, chosen: str, chunks: str, host: str | None
) -> None:
    """Reports with odd lines among their evidence, read with quick_run (and quick_text): the
    records and reports of decoding every line, however the bytes come."""
    stream = data.draw(merged_reports(name))
    decoder = FORMAT_NAMES[name] if chosen == "named" else "auto"
    expected = records(decoder, stream, full=True, host=host)
    assert records(decoder, stream, full=False, chunks=chunks, host=host) == expected


def _block_line(line: bytes, shapes: list[bytes]) -> bool:
    """Whether a line's message fully matches one of the block shapes."""
    record = _as_object(line)
    text = None if record is None else record.get("MESSAGE", record.get("message"))
    return isinstance(text, str) and any(re.fullmatch(shape, text.encode()) for shape in shapes)


def _shapes(lines: list[bytes]) -> list[bytes]:
    """The block shapes of a rendering's lines: stats, and each task table's rows."""
    shapes = [STAT_LINE_SHAPE]
    for line in lines:
        record = _as_object(line)
        for key in ("MESSAGE", "message"):
            text = record.get(key) if record else None
            if isinstance(text, str) and TASK_HEADER_RE.match(text):
                layout = _layout(text)
                assert layout is not None
                shapes.append(layout.shape)
    return shapes


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(RUN_FORMATS), st.sampled_from(["json", "journal-json", "auto"]))
def test_a_run_holds_only_lines_read_as_its_first(
    data: st.DataObject, name: str, decoder_name: str
) -> None:
    """From every line quick_text answers, quick_run takes only lines that quick_text and
    decode read with the first line's source and a text fully matching the shape (the run's
    groups its groups), reporting nothing; odd lines made from block lines among them."""
    lines = _merged(data.draw, name, data.draw(st.integers(1, 2)), STATS_LINE_CAPTURES)
    shapes = _shapes(lines)
    blocks = [i for i, line in enumerate(lines) if _block_line(line, shapes)] or [0]
    at = max(0, data.draw(st.sampled_from(blocks)) - data.draw(st.integers(0, 10)))
    lines = lines[at : at + 80]
    for _ in range(data.draw(st.integers(1, 8))):  # mostly next to block lines
        blocks = [i for i, line in enumerate(lines) if _block_line(line, shapes)]
        anywhere = not blocks or data.draw(st.integers(0, 4)) == 0
        at = data.draw(st.integers(0, len(lines) - 1) if anywhere else st.sampled_from(blocks))
        lines.insert(at + data.draw(st.integers(0, 1)), data.draw(mutated(lines[at])))
    buf = b"\n".join(lines) + b"\n"
    reports: list[object] = []
    runner: Any = make_decoder(decoder_name, DecodeOptions(year=2025))
    checker: Any = make_decoder(
        decoder_name, DecodeOptions(year=2025, report=lambda *r: reports.append(r))
    )
    taken = {False: 0, True: 0}
    for shape in shapes:
        pattern = re.compile(shape)
        pos = 0
        for line in lines:
            # as the scanner asks: quick_text of each line, then quick_run from it (patterns
            # are made the second time they are asked for)
            if pos == 0:  # the scanner decodes a file's first line (auto learns the format)
                runner.decode(line)
            found = runner.quick_text(line)
            if found is not None:
                run, run_end, run_source = runner.quick_run(buf, pos, len(buf), shape)
                assert run_source == found[1] or not run
                at = pos
                for groups in run:
                    raw = buf[at : buf.index(b"\n", at)]
                    at += len(raw) + 1
                    decoded = checker.decode(raw)  # first: auto learns the format
                    assert isinstance(decoded, KernelLine), raw
                    assert reports == [], raw
                    quick = checker.quick_text(raw)
                    assert quick == (decoded.text, (decoded.host, decoded.boot_id)), raw
                    assert quick[1] == run_source, raw
                    fits = pattern.fullmatch(quick[0].encode())
                    assert fits is not None and fits.groups() == groups, raw
                assert run_end == at
                taken[bool(run)] += 1
            pos += len(line) + 1
    event(f"runs taken: {taken[True] > 0}")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.name)
@pytest.mark.parametrize("chunks", ["whole", "lines", "bytes"])
def test_every_json_fixture_with_evidence_reads_alike(path: Path, chunks: str) -> None:
    """Every JSON fixture with a stats block or a task table, detected and named: the quick
    paths give the records of decoding every line, however the bytes come."""
    data = path.read_bytes()
    named = path.name.split(".", 1)[1].split("-real")[0]
    for name in ["auto", FORMAT_NAMES[named]]:
        expected = records(name, data, full=True)
        assert expected[0], name
        assert records(name, data, full=False, chunks=chunks) == expected, name


def _rendered(data: bytes, order: str) -> bytes:
    """A rendering's lines, their keys in the journal's order or shuffled (the same way on
    every run)."""
    if order == "fixed":
        return data
    keys = random.Random(7)
    return b"".join(shuffled(line, keys) + b"\n" for line in data.rstrip(b"\n").split(b"\n"))


def _counting(method: str, counts: list[int]) -> Any:
    take = getattr(ReportEvidence, method)

    def counted(self: ReportEvidence, lines: list) -> None:
        counts.append(len(lines))
        take(self, lines)

    return counted


@pytest.mark.parametrize("order", ["fixed", "shuffled"])
@pytest.mark.parametrize("name", RUN_FORMATS)
def test_plain_block_lines_are_taken_in_runs(name: str, order: str) -> None:
    """In every journal rendering, its keys in journalctl's order or in any (as the real
    journalctl prints them), the stats lines and task rows of the real captures are taken in
    runs as in /dev/kmsg's, but for the first line of a key layout and the first of each
    shape (the pattern is made when it is asked for again): the fast path is taken."""
    renderer, _ = LINE_FORMATS[name]
    for capture in CAPTURES:
        counted: dict[str, list[int]] = {}
        for form, stream in [
            ("kmsg", b"".join(r.line + b"\n" for r in capture)),
            (FORMAT_NAMES[name], _rendered(renderer(capture, SOURCES[1]), order)),
        ]:
            counts = counted[form] = []
            with (
                mock.patch.object(
                    ReportEvidence, "on_memcg_stat_run", _counting("on_memcg_stat_run", counts)
                ),
                mock.patch.object(ReportEvidence, "on_task_run", _counting("on_task_run", counts)),
            ):
                records(form, stream, full=False)
        assert sum(counted["kmsg"]) > 0
        lines = renderer(capture, SOURCES[1]).split(b"\n")
        first_seen = 1 + len(set(_shapes(lines)))  # the layout's, then each shape's
        assert sum(counted[FORMAT_NAMES[name]]) >= sum(counted["kmsg"]) - first_seen, name
