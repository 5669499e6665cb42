"""The JSON record readers' fast paths give what their general paths give, over every line of
every JSON record fixture in tests/data, with field values repeated, changed between records
(merged hosts) and damaged:

- quick_text remembers the (host, boot id) of each pair of host and boot id values
  (``RecordReader._own_source``): it gives what decoding the record gives;
- a kernel entry with one transport, facility and message field is read by those keys at once
  (``Fields.journal``): the lines and reports of reading it without them (JSON lines, and the
  stream formats that share the record reader: msgpack, journal export);
- quick_text unwraps agents' envelopes without working out their times
  (``envelope_entries(times=False)``): the same records as with them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oom_input.decoders import _records, detect_stream, make_decoder, make_stream_decoder
from oom_input.decoders._records import BOOT_ID_KEYS, HOST_KEYS, Fields, envelope_entries
from oom_input.registry import STREAM_HEAD_BYTES
from oom_input.types import DecodeOptions, KernelLine

STRUCTURED = Path(__file__).parent / "data" / "structured"
# the JSON-lines fixtures (a stream format's, json-pretty's objects over many lines, are not)
FIXTURES = [
    path
    for path in sorted(STRUCTURED.glob("*.journal-json*")) + sorted(STRUCTURED.glob("*.json-*"))
    if detect_stream(path.read_bytes()[:STREAM_HEAD_BYTES]) is None
]
# their lines' JSON, without json-seq's and json-sse's framing (test_json_quick_text.py reads the
# framed lines)
LINES = [
    line.removeprefix(b"\x1e").removeprefix(b"data: ")
    for p in FIXTURES
    for line in p.read_bytes().split(b"\n")
    if line
]
# host and boot id values: strings (repeated, odd, non-ASCII), byte arrays (valid or not UTF-8),
# objects, numbers, null
HOSTS: list[Any] = ["node-a", "node-b", "nöde", "", None, [110, 111], [110, 255], {"name": "x"}, 5]
BOOT_IDS: list[Any] = [
    "aae7e8d9ea8a4d399e7a7bbce85930c1",
    "AAE7E8D9EA8A4D399E7A7BBCE85930C1",
    "aae7e8d9-ea8a-4d39-9e7a-7bbce85930c1",
    "not-a-boot-id",
    None,
    [97, 255],
    7,
]


def _readings(decoder_name: str, lines: list[bytes]) -> int:
    """Each line's quick_text, on one decoder in stream order, against its decode: where it
    answers, decode's text and (host, boot id), neither reporting anything. Returns how many
    lines it answered."""
    reports: list[tuple[str, bytes]] = []
    decoder: Any = make_decoder(decoder_name, DecodeOptions(report=lambda *r: reports.append(r)))
    answered = 0
    for raw in lines:
        quick = decoder.quick_text(raw)
        assert reports == [], raw
        decoded = decoder.decode(raw)
        if quick is not None:
            answered += 1
            assert isinstance(decoded, KernelLine), raw
            assert quick == (decoded.text, (decoded.host, decoded.boot_id)), raw
            assert reports == [], raw
        reports.clear()
    return answered


@pytest.mark.parametrize("decoder_name", ["json", "journal-json", "auto"])
def test_quick_sources_of_every_fixture_line(decoder_name: str) -> None:
    """Every line of every JSON record fixture, read twice over (the remembered sources)."""
    assert len(FIXTURES) >= 8
    assert _readings(decoder_name, LINES + LINES) >= len(LINES) // 2


def _record_of(value: Any) -> dict[str, Any] | None:
    """The record of a parsed line (a bare object, or the last element of an event array)."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and value and isinstance(value[-1], dict):
        return value[-1]
    return None


def _changed_lines(
    draw: st.DrawFn, most: int, change: Callable[[st.DrawFn, dict[str, Any]], None]
) -> list[bytes]:
    """1 to ``most`` fixture lines, each record (of a bare object or an event array) changed by
    ``change``."""
    out = []
    for _ in range(draw(st.integers(1, most))):
        value = orjson.loads(draw(st.sampled_from(LINES)))
        record = _record_of(value)
        if record is not None:
            change(draw, record)
        out.append(orjson.dumps(value))
    return out


def _change_hosts(draw: st.DrawFn, record: dict[str, Any]) -> None:
    for key in [k for k in record if k in HOST_KEYS]:
        record[key] = draw(st.sampled_from(HOSTS))
    for key in [k for k in record if k in BOOT_ID_KEYS]:
        record[key] = draw(st.sampled_from(BOOT_IDS))
    if draw(st.booleans()):
        record[draw(st.sampled_from(["_HOSTNAME", "host"]))] = draw(st.sampled_from(HOSTS))


@st.composite
def records_of_merged_hosts(draw: st.DrawFn) -> list[bytes]:
    """Fixture lines whose host and boot id values are changed (to odd values too)."""
    return _changed_lines(draw, 30, _change_hosts)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_of_merged_hosts(), st.sampled_from(["json", "journal-json", "auto"]))
def test_quick_sources_of_merged_and_odd_hosts(lines: list[bytes], decoder_name: str) -> None:
    """Records of changing hosts and boot ids, odd values among them: quick_text is decode's."""
    _readings(decoder_name, lines)


# transport, facility and message values: the plain kernel entry's, and each way to differ
TRANSPORTS: list[Any] = ["kernel", "syslog", "kernel ", [107, 101, 114, 110, 101, 108], None, 0]
FACILITIES: list[Any] = ["0", 0, "1", 1, None, "00", [48]]
MESSAGES: list[Any] = [
    "anon 1234",
    "nön-ASCII 5",
    "",
    None,
    [97, 110, 111, 110, 32, 49],
    [97, 255],
    ["anon 1", "anon 2"],
    7,
]


@st.composite
def entries_of_odd_fields(draw: st.DrawFn) -> list[bytes]:
    """Fixture lines whose transport, facility and message values are changed."""
    return _changed_lines(draw, 20, _change_fields)


def _change_fields(draw: st.DrawFn, record: dict[str, Any]) -> None:
    for key, values in (
        ("_TRANSPORT", TRANSPORTS),
        ("SYSLOG_FACILITY", FACILITIES),
        ("MESSAGE", MESSAGES),
    ):
        if draw(st.booleans()):
            record[key] = draw(st.sampled_from(values))


def _general_fields(record: Any) -> Fields:
    return _FIELDS_OF(record)._replace(journal=None)


_FIELDS_OF = _records.fields_of


def _decoded(decoder_name: str, lines: list[bytes], general: bool) -> list[object]:
    """Each line's decode and quick_text, with what each reported, on one decoder."""
    reports: list[tuple[str, bytes]] = []
    out: list[object] = []
    with pytest.MonkeyPatch.context() as patch:
        if general:
            patch.setattr(_records, "fields_of", _general_fields)
        decoder: Any = make_decoder(
            decoder_name, DecodeOptions(report=lambda *r: reports.append(r))
        )
        for raw in lines:
            out.append((decoder.decode(raw), list(reports)))
            reports.clear()
            out.append((decoder.quick_text(raw), list(reports)))
            reports.clear()
    return out


@pytest.mark.parametrize("decoder_name", ["json", "journal-json", "auto"])
def test_journal_entries_by_their_keys_of_every_fixture_line(decoder_name: str) -> None:
    """Every line of every JSON record fixture: the lines, quick texts and reports of reading
    the entries without their keys' fast path, which takes most of them."""
    assert _decoded(decoder_name, LINES, False) == _decoded(decoder_name, LINES, True)
    fields = [_records.fields_of(_record_of(orjson.loads(line)) or {}) for line in LINES]
    assert sum(f.journal is not None for f in fields) >= len(LINES) // 2


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries_of_odd_fields(), st.sampled_from(["json", "journal-json", "auto"]))
def test_journal_entries_of_odd_fields_by_their_keys(lines: list[bytes], decoder_name: str) -> None:
    """Entries whose transport, facility or message differ from a plain kernel entry's in any
    way: the lines, quick texts and reports of the general path."""
    assert _decoded(decoder_name, lines, False) == _decoded(decoder_name, lines, True)


def _without_times(entries: list[tuple[Any, int | None]] | None) -> object:
    return None if entries is None else [(record, None) for record, _ in entries]


def test_envelopes_without_times_of_every_fixture_line() -> None:
    """Every line of every JSON record fixture (event arrays among them): the records of
    unwrapping its envelope with times."""
    values = [orjson.loads(line) for line in LINES]
    assert sum(isinstance(value, list) for value in values) >= 10
    for value in values:
        assert envelope_entries(value, times=False) == _without_times(envelope_entries(value))


TIMES = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=8),
    st.none(),
)
RECORDS = st.dictionaries(st.sampled_from(["MESSAGE", "log", "m"]), st.text(max_size=4), max_size=2)
ENVELOPES = st.recursive(
    st.one_of(TIMES, RECORDS),
    lambda inner: st.lists(inner, max_size=4),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(ENVELOPES, st.tuples(st.text(max_size=3), TIMES, RECORDS).map(list)))
def test_envelopes_without_times(value: Any) -> None:
    """Any nesting of times, records and lists (the forward protocol's shapes and near
    misses, odd times): the records of unwrapping it with times."""
    assert envelope_entries(value, times=False) == _without_times(envelope_entries(value))


STREAMS = sorted(STRUCTURED.glob("*.msgpack-*")) + sorted(STRUCTURED.glob("*.journal-export*"))


def _stream_lines(name: str, data: bytes, general: bool) -> list[object]:
    """Every kernel line of a stream format's data (no record left out), and the reports."""
    reports: list[tuple[str, bytes]] = []
    with pytest.MonkeyPatch.context() as patch:
        if general:
            patch.setattr(_records, "fields_of", _general_fields)
        decoder = make_stream_decoder(name, DecodeOptions(report=lambda *r: reports.append(r)))
        decoder.every_record = lambda: True
        lines = [*decoder.feed(data), *decoder.finish()]
    return [lines, reports]


@pytest.mark.parametrize("path", STREAMS, ids=lambda p: p.name)
def test_journal_entries_by_their_keys_of_every_stream_fixture(path: Path) -> None:
    """The stream formats' fixtures (msgpack, journal export), read by the same record reader:
    the lines and reports of the general path."""
    name = "journal-export" if ".journal-export" in path.name else "msgpack"
    data = path.read_bytes()
    lines = _stream_lines(name, data, False)
    assert lines == _stream_lines(name, data, True)
    assert len(lines[0]) >= 20  # type: ignore[arg-type]


@st.composite
def msgpack_entries(draw: st.DrawFn) -> bytes:
    """Fixture records as msgpack, with odd transport, facility and message values: raw
    strings that are not UTF-8 (msgpack gives them as surrogates), bytes."""
    out = b""
    for _ in range(draw(st.integers(1, 12))):
        record = _record_of(orjson.loads(draw(st.sampled_from(LINES))))
        if record is None:
            continue
        for key, values in (
            ("_TRANSPORT", [*TRANSPORTS, b"kernel"]),
            ("SYSLOG_FACILITY", [*FACILITIES, b"0"]),
            ("MESSAGE", [*MESSAGES, b"anon 7", b"an\xffon 8"]),
        ):
            if draw(st.booleans()):
                record[key] = draw(st.sampled_from(values))
        # raw (str type) strings: bytes that are not UTF-8 arrive as surrogates
        out += msgpack.packb(record, use_bin_type=draw(st.booleans()))
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msgpack_entries())
def test_msgpack_entries_of_odd_fields_by_their_keys(data: bytes) -> None:
    """msgpack entries with odd field values (bytes, surrogates): the general path's lines."""
    assert _stream_lines("msgpack", data, False) == _stream_lines("msgpack", data, True)
