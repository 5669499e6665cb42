"""Structured inputs (journal JSON and export, agents' JSON records, msgpack streams) give the
same records as the raw /dev/kmsg capture they were rendered from (tests/convert.py)."""

from __future__ import annotations

import gzip
import random
import struct
import tracemalloc
from pathlib import Path
from typing import Any

import msgpack
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convert import (
    FORMAT_NAMES,
    JOURNAL,
    LINE_FORMATS,
    REAL,
    STREAM_FORMATS,
    STRUCTURED,
    Source,
    control_names,
    journal_json,
    odd_names,
    read_kmsg,
    tailed_text,
)
from oom_input.assembler import Assembler, Mode
from oom_input.decoders import (
    STREAM_DECODER_NAMES,
    detect_stream,
    make_decoder,
    make_stream_decoder,
)
from oom_input.decoders.json_records import JournalJsonDecoder, JsonDecoder
from oom_input.decoders.msgpack_stream import MAX_BIN, MAX_UNPACKED
from oom_input.pipeline import Pipeline
from oom_input.scanner import PROBE_MIN_BYTES
from oom_input.types import IGNORED, DecodeOptions, KernelLine, OomRecord
from schema_util import validate_record

SAMPLES = ("simple-memcg", "two-kills-with-noise", "systemd-burstable-odd-name")
SOURCE = Source()
OTHER = Source(
    host="node-b", boot_hex="1a2b3c4d5e6f708192a3b4c5d6e7f809", boot_us=1764100000 * 10**6
)
ALL_FORMATS = {**LINE_FORMATS, **STREAM_FORMATS}
RENDERED_FIXTURES = sorted(
    path
    for path in STRUCTURED.glob("*.*")
    if path.suffix != ".md" and not path.name.endswith("-real-journalctl")
)


class Reports(list):
    """A DecodeOptions.report that keeps what it is told."""

    def __call__(self, reason: str, raw: bytes) -> None:
        self.append(reason)


class ListSink:
    """A sink that keeps the records."""

    def __init__(self) -> None:
        self.records: list[OomRecord] = []

    def write(self, record: OomRecord) -> None:
        self.records.append(record)

    def close(self) -> None:
        pass


def kmsg_data(sample: str) -> bytes:
    if sample == "odd-name":
        return odd_names((REAL / "simple-memcg.kmsg").read_bytes())
    if sample == "control-name":
        return control_names((REAL / "simple-memcg.kmsg").read_bytes())
    return (REAL / f"{sample}.kmsg").read_bytes()


def run_lines(data: bytes, decoder: Any, chunk: int = 4096) -> list[OomRecord]:
    sink = ListSink()
    pipeline = Pipeline(decoder=decoder, sink=sink)
    pipeline.run(data[i : i + chunk] for i in range(0, len(data), chunk))
    pipeline.finish()
    return sink.records


def run_stream(data: bytes, decoder: Any, seed: int = 0) -> list[OomRecord]:
    """Feed ``data`` in random pieces, assemble every line the decoder gives."""
    rng = random.Random(seed)
    assembler = Assembler()
    records: list[OomRecord] = []
    # as the pipeline wires a stream decoder: each line assembled at once, every record decoded
    # while the assembler needs every line
    decoder.on_line = lambda line: records.extend(assembler.feed(line))
    decoder.every_record = lambda: assembler.mode is Mode.EVERY_LINE
    pos = 0
    while pos < len(data):
        size = rng.choice((1, 7, 100, 5000, 70000))
        for line in decoder.feed(data[pos : pos + size]):
            records += assembler.feed(line)
        pos += size
    for line in decoder.finish():
        records += assembler.feed(line)
    return records + assembler.flush()


def reference(sample: str, carries: frozenset[str], source: Source = SOURCE) -> list[dict]:
    """The records of the raw kmsg capture, given what the other input carries."""

    def normalise(line: KernelLine) -> None:
        if "host" in carries:
            line.host = source.host
        if "boot" in carries:
            line.boot_id = source.boot_id
        if "wall" in carries:
            line.wall_us = source.boot_us + (line.kernel_us or 0)
        if "kernel" not in carries:
            line.kernel_us = None

    sink = ListSink()
    pipeline = Pipeline(
        decoder=make_decoder("kmsg", DecodeOptions()), sink=sink, normalise=normalise
    )
    pipeline.run([kmsg_data(sample)])
    pipeline.finish()
    return comparable(sink.records, carries)


def comparable(records: list[OomRecord], carries: frozenset[str]) -> list[dict]:
    dicts = []
    for record in records:
        d = record.as_dict()
        validate_record(d)
        del d["source_format"]
        if "seq" not in carries:
            # the id is the same across formats only where they carry the sequence numbers
            del d["seq_first"], d["seq_last"], d["id"]
        dicts.append(d)
    return dicts


def rendered(fmt: str, sample: str, source: Source = SOURCE) -> bytes:
    renderer, _ = ALL_FORMATS[fmt]
    return renderer(read_kmsg(kmsg_data(sample)), source)


def decode_records(fmt: str, data: bytes, name: str, options: DecodeOptions) -> list[OomRecord]:
    if fmt in STREAM_FORMATS:
        if name == "auto":
            detected = detect_stream(data[:32])
            assert detected is not None
            name = detected
        return run_stream(data, make_stream_decoder(name, options))
    return run_lines(data, make_decoder(name, options))


class TestSameAsKmsg:
    @pytest.mark.parametrize("sample", SAMPLES)
    @pytest.mark.parametrize("fmt", sorted(ALL_FORMATS))
    def test_auto_detected(self, fmt: str, sample: str) -> None:
        """Auto-detection reads each rendering into the records of the raw capture."""
        _, carries = ALL_FORMATS[fmt]
        actual = decode_records(fmt, rendered(fmt, sample), "auto", DecodeOptions())
        assert reference(sample, carries) == comparable(actual, carries)

    @pytest.mark.parametrize("sample", SAMPLES)
    @pytest.mark.parametrize("fmt", sorted(ALL_FORMATS))
    def test_by_name(self, fmt: str, sample: str) -> None:
        """The format chosen by name reads each rendering into the same records, silently."""
        _, carries = ALL_FORMATS[fmt]
        reports = Reports()
        options = DecodeOptions(report=reports)
        actual = decode_records(fmt, rendered(fmt, sample), FORMAT_NAMES[fmt], options)
        assert (reference(sample, carries), []) == (comparable(actual, carries), reports)

    @pytest.mark.parametrize("sample", ["odd-name", "control-name"])
    @pytest.mark.parametrize("fmt", sorted(ALL_FORMATS))
    def test_names_with_odd_bytes(self, fmt: str, sample: str) -> None:
        """A victim name with a non-UTF-8 byte or a control character reads the same."""
        _, carries = ALL_FORMATS[fmt]
        actual = decode_records(fmt, rendered(fmt, sample), "auto", DecodeOptions())
        assert reference(sample, carries) == comparable(actual, carries)


class TestGoldenFixtures:
    @pytest.mark.parametrize("path", RENDERED_FIXTURES, ids=lambda p: p.name)
    def test_fixture_is_what_the_converter_renders(self, path: Path) -> None:
        """Each golden fixture is the converter's rendering of its real capture."""
        sample, fmt = path.name.split(".", 1)
        assert rendered(fmt, sample) == path.read_bytes()

    @pytest.mark.parametrize("output", ["json", "export"])
    def test_real_journalctl_output(self, output: str) -> None:
        """What the real journalctl printed for the capture gives the raw capture's record."""
        data = (STRUCTURED / f"odd-name.journal-{output}-real-journalctl").read_bytes()
        fmt = "journal-json" if output == "json" else "journal-export"
        actual = decode_records(fmt, data, "auto", DecodeOptions())
        assert reference("odd-name", JOURNAL) == comparable(actual, JOURNAL)

    def test_byte_array_message_kill_line(self) -> None:
        """A kill line whose MESSAGE is a byte array (non-UTF-8 name) still makes its record."""
        data = (STRUCTURED / "odd-name.journal-json").read_bytes()
        reports = Reports()
        [record] = run_lines(data, make_decoder("auto", DecodeOptions(report=reports)))
        kill = next(line for line in data.split(b"\n") if b'"MESSAGE":[' in line)
        assert (record.process_name, record.pid, record.complete) == ("str\ufffdss", 3171, True)
        assert b"Killed process" not in kill and "invalid UTF-8" in reports

    def test_control_char_message(self) -> None:
        """A MESSAGE with a control character (a byte array in journal JSON) keeps it."""
        data = (STRUCTURED / "control-name.journal-json").read_bytes()
        [record] = run_lines(data, make_decoder("journal-json", DecodeOptions()))
        assert (record.process_name, record.host) == ("str\x01ss", "node-a")

    def test_golden_records(self) -> None:
        """A golden journal JSON fixture gives the expected record of its capture."""
        data = (STRUCTURED / "simple-memcg.journal-json").read_bytes()
        [record] = run_lines(data, make_decoder("auto", DecodeOptions()))
        expected = orjson.loads((REAL / "simple-memcg.expected.json").read_bytes())[0]
        actual = record.as_dict()
        assert {**expected, "host": "node-a", "boot_id": SOURCE.boot_id} == {
            key: actual[key] for key in [*expected, "host", "boot_id"]
        }
        assert (
            record.time_of_death,
            record.source_format,
        ) == ("2025-11-26T18:19:54.840991Z", "journal-json")


def journal_entry(**fields: Any) -> bytes:
    return orjson.dumps(fields)


class TestJsonLines:
    def test_other_transport_ignored(self) -> None:
        """A journal entry of another transport is not a kernel line."""
        raw = journal_entry(MESSAGE="Killed process 1 (x)", _TRANSPORT="syslog")
        assert IGNORED is JsonDecoder(DecodeOptions()).decode(raw)

    def test_object_without_message_ignored(self) -> None:
        """JSON without a message field is not a kernel line."""
        assert IGNORED is JsonDecoder(DecodeOptions()).decode(b'{"level": "info"}')

    def test_broken_json_reported(self) -> None:
        """A line that starts like JSON but does not parse is reported and rejected."""
        reports = Reports()
        result = JsonDecoder(DecodeOptions(report=reports)).decode(b'{"MESSAGE": "Killed proc')
        assert (result, reports) == (None, ["invalid JSON"])

    def test_broken_json_falls_back_to_plain_in_auto(self) -> None:
        """Auto-detection reads a broken JSON line as plain text."""
        line = make_decoder("auto", DecodeOptions(report=Reports())).decode(b'{"MESSAGE": "x')
        assert isinstance(line, KernelLine) and line.source_format == "plain"

    @pytest.mark.parametrize("raw", [b"[" * 100_000, b'{"a":' * 100_000, b"[1.5," * 50_000])
    def test_deep_nesting_reported(self, raw: bytes) -> None:
        """JSON nested deeper than the parser allows is reported, not a crash."""
        reports = Reports()
        assert None is JsonDecoder(DecodeOptions(report=reports)).decode(raw)
        assert reports == ["invalid JSON"]

    def test_dmesg_line_is_not_json(self) -> None:
        """A dmesg line starting with "[" is not taken for a JSON array (and not reported)."""
        reports = Reports()
        assert None is JsonDecoder(DecodeOptions(report=reports)).decode(b"[  499.798531] x")
        assert reports == []

    def test_every_record_decoded_alike(self) -> None:
        """The decoder is pure: a record gives its line whatever came before (the reader, not
        the decoder, decides which lines to decode)."""
        fragment = journal_entry(MESSAGE="(null),cpuset=/")
        alone = JsonDecoder(DecodeOptions()).decode(fragment)
        decoder = JsonDecoder(DecodeOptions())
        decoder.decode(journal_entry(MESSAGE="oom-kill:constraint=CONSTRAINT_MEMCG,nodemask="))
        after = decoder.decode(fragment)
        assert isinstance(alone, KernelLine) and alone == after
        assert alone.text == "(null),cpuset=/"

    def test_repeated_message_first_text(self) -> None:
        """A repeated MESSAGE field gives its first text value."""
        line = JsonDecoder(DecodeOptions()).decode(journal_entry(MESSAGE=[[104, 105], "b"]))
        assert isinstance(line, KernelLine) and line.text == "hi"

    def test_boot_id_dashed(self) -> None:
        """A journal _BOOT_ID (32 hex) becomes the canonical dashed lowercase form."""
        raw = journal_entry(MESSAGE=KILL_A, _BOOT_ID="AAE7E8D9EA8A4D399E7A7BBCE85930C1")
        line = JsonDecoder(DecodeOptions()).decode(raw)
        assert isinstance(line, KernelLine) and SOURCE.boot_id == line.boot_id

    def test_fluent_bit_kmsg_dictionary_cut(self) -> None:
        """A Fluent Bit kmsg msg loses its dictionary lines and its escapes are decoded."""
        raw = (
            b'{"priority":6,"sequence":5,"sec":1,"usec":2,"msg":"CPU: a\\\\x09b\\n SUBSYSTEM=acpi"}'
        )
        line = JsonDecoder(DecodeOptions()).decode(raw)
        assert KernelLine("CPU: a\tb", kernel_us=1_000_002, seq=5, source_format="json") == line

    def test_rfc3339_nanoseconds(self) -> None:
        """A timestamp with nanoseconds and an offset gives wall µs."""
        raw = b'{"message":"CPU: x","timestamp":"2025-11-26T19:19:54.840991123+01:00"}'
        line = JsonDecoder(DecodeOptions()).decode(raw)
        assert isinstance(line, KernelLine) and line.wall_us == 1764181194840991

    @pytest.mark.parametrize(
        ("date", "wall_us"),
        [
            (1764181194.840991, 1764181194840991),  # Fluent Bit double, Fluentd float
            (1764181194, 1764181194000000),  # Fluent Bit epoch, Fluentd unixtime
            (1764181194840, 1764181194840000),  # Fluent Bit epoch_ms, Fluentd unixtime_millis
            ("2025-11-26T18:19:54.840991Z", 1764181194840991),  # Fluent Bit iso8601
            ("2025-11-26 18:19:54.840991", 1764181194840991),  # java_sql_timestamp (UTC)
            ("2025-11-26T19:19:54+0100", 1764181194000000),  # Fluentd time_type string
        ],
    )
    def test_agent_dates(self, date: Any, wall_us: int) -> None:
        """Each time shape the agents' outputs write gives the record's wall time."""
        raw = orjson.dumps({"date": date, "log": "CPU: x"})
        line = JsonDecoder(DecodeOptions()).decode(raw)
        assert isinstance(line, KernelLine) and line.wall_us == wall_us

    @pytest.mark.parametrize(("ident", "kernel"), [("kernel", True), ("myapp", False)])
    @pytest.mark.parametrize("key", ["ident", "appname"])
    def test_parsed_syslog_line_of_another_program_ignored(
        self, key: str, ident: str, kernel: bool
    ) -> None:
        """A syslog line parsed by an agent (Fluent Bit's and Fluentd's syslog parsers name the
        program ident, Vector's appname) is kernel text only when the kernel wrote it."""
        raw = orjson.dumps({"host": "node-a", key: ident, "message": KILL_A})
        line = JsonDecoder(DecodeOptions()).decode(raw)
        assert (line is not IGNORED) == kernel and (not kernel or line.text == KILL_A)

    def test_fluent_bit_json_format_array(self) -> None:
        """Fluent Bit's "json" format (an array of a flush's records on one line) gives each
        record's line, in order (tests/test_several_lines.py checks it on every path)."""
        raw = orjson.dumps([{"date": 1.5, "log": KILL_A}, {"date": 2.5, "log": KILL_B}])
        lines = JsonDecoder(DecodeOptions()).decode(raw)
        assert isinstance(lines, tuple)
        assert [(line.text, line.wall_us) for line in lines] == [
            (KILL_A, 1_500_000),
            (KILL_B, 2_500_000),
        ]

    def test_journal_json_rejects_agent_records(self) -> None:
        """journal-json claims the journal's entries only."""
        assert None is JournalJsonDecoder(DecodeOptions()).decode(b'{"log": "x"}')

    def test_byte_array_marker_in_prefilter(self) -> None:
        """Both spellings systemd uses for an array MESSAGE are prefilter markers."""
        expected = {b'"MESSAGE":[', b'"MESSAGE" : ['}
        assert expected <= set(make_decoder("json", DecodeOptions()).extra_markers)
        auto = make_decoder("auto", DecodeOptions())
        auto.decode(b'{"MESSAGE":"x","_TRANSPORT":"kernel"}')  # auto asks once JSON was seen
        assert expected <= set(auto.extra_markers)


# the decoder leaves out items without a report marker: the texts hold one
KILL_A, KILL_B = "Killed process 1 (a)", "Killed process 2 (b)"


def good_item(text: str = "Killed process 9 (good)") -> bytes:
    return msgpack.packb({"message": text, "_TRANSPORT": "kernel"})


def stream_texts(decoder: Any, *chunks: bytes) -> list[str]:
    lines = [line for chunk in chunks for line in decoder.feed(chunk)]
    return [line.text for line in lines + decoder.finish()]


class TestMsgpackHostile:
    def test_huge_string_prefix(self) -> None:
        """An item declaring a 4 GB string costs no memory; the next item is still read."""
        reports = Reports()
        decoder = make_stream_decoder("msgpack", DecodeOptions(report=reports))
        hostile = b"\x81\xa7message\xdb" + struct.pack(">I", 0xFFFFFFFF) + b"abc"
        tracemalloc.start()
        texts = stream_texts(decoder, good_item(KILL_A), hostile, good_item(KILL_B))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert (texts, reports) == ([KILL_A, KILL_B], ["msgpack length over the limits"])
        assert peak < 2_000_000

    def test_huge_string_prefix_then_live_stream(self) -> None:
        """After a hostile prefix, items fed later are read without waiting for end of input."""
        decoder = make_stream_decoder("msgpack", DecodeOptions(report=Reports()))
        decoder.feed(b"\x81\xa7message\xdb" + struct.pack(">I", 0xFFFFFFFF))
        assert [line.text for line in decoder.feed(good_item(KILL_B))] == [KILL_B]

    def test_garbage_skipped_once_reported(self) -> None:
        """Garbage between items is reported once and skipped."""
        reports = Reports()
        decoder = make_stream_decoder("msgpack", DecodeOptions(report=reports))
        texts = stream_texts(decoder, good_item(KILL_A) + b"\xc1\xc1\x00\xc1" + good_item(KILL_B))
        assert (texts, len(reports)) == ([KILL_A, KILL_B], 1)

    def test_deep_nesting(self) -> None:
        """Items nested deeper than the unpacker's stack are reported, then skipped."""
        reports = Reports()
        decoder = make_stream_decoder("msgpack", DecodeOptions(report=reports))
        texts = stream_texts(decoder, b"\x91" * 5000 + b"\xc0", good_item(KILL_B))
        assert texts == [KILL_B] and reports

    def test_truncated_item_at_end(self) -> None:
        """An item cut short at end of input is reported."""
        reports = Reports()
        decoder = make_stream_decoder("msgpack", DecodeOptions(report=reports))
        assert stream_texts(decoder, good_item(KILL_A) + good_item(KILL_B)[:-3]) == [KILL_A]
        assert reports == ["incomplete msgpack item at end of input"]

    def test_event_time_ext(self) -> None:
        """A Fluent EventTime (ext 0) gives the wall time to the nanosecond's µs."""
        item = [
            "tag",
            msgpack.ExtType(0, struct.pack(">II", 1764181194, 840991999)),
            {"log": KILL_A},
        ]
        [line] = make_stream_decoder("msgpack", DecodeOptions()).feed(msgpack.packb(item))
        assert line.wall_us == 1764181194840991


class TestCompressedPackedForward:
    def test_broken_gzip_reported(self) -> None:
        """CompressedPackedForward entries that are no gzip are reported; the next item is read."""
        reports = Reports()
        decoder = make_stream_decoder("msgpack", DecodeOptions(report=reports))
        broken = msgpack.packb(["kern", b"\x1f\x8bnot gzip", {"compressed": "gzip"}])
        assert stream_texts(decoder, broken + good_item(KILL_B)) == [KILL_B]
        assert reports == ["broken gzip PackedForward entries"]

    def test_decompressed_size_bounded(self) -> None:
        """Entries that decompress past the bound are cut there (reported), what fits is read."""
        entry = msgpack.packb([1764181194, {"message": KILL_A, "pad": "x" * 1000}])
        count = MAX_UNPACKED // len(entry) + 10
        members = gzip.compress(entry * count, mtime=0)
        assert len(members) < MAX_BIN  # a small item: the bound is on what it unpacks to
        reports = Reports()
        decoder = make_stream_decoder("msgpack", DecodeOptions(report=reports))
        item = msgpack.packb(["kern", members, {"compressed": "gzip"}])
        texts = stream_texts(decoder, item)
        assert len(texts) == MAX_UNPACKED // len(entry)
        assert reports == [f"PackedForward entries over {MAX_UNPACKED} bytes"]


class TestJournalExport:
    def test_oversized_entry_dropped(self) -> None:
        """An entry over 1 MiB is dropped and reported; the next one is read."""
        reports = Reports()
        decoder = make_stream_decoder("journal-export", DecodeOptions(report=reports))
        big = b"MESSAGE\n" + struct.pack("<Q", 3 << 20) + b"x" * (3 << 20) + b"\n\n"
        good = b"_TRANSPORT=kernel\nMESSAGE=ok\n\n"
        texts = stream_texts(decoder, b"__CURSOR=s\n" + big[:1000], big[1000:] + good)
        assert (texts, len(reports)) == (["ok"], 1)

    def test_other_transport_skipped(self) -> None:
        """Entries of other transports give no kernel line."""
        decoder = make_stream_decoder("journal-export", DecodeOptions())
        assert stream_texts(decoder, b"_TRANSPORT=syslog\nMESSAGE=Killed process\n\n") == []

    def test_last_entry_without_empty_line(self) -> None:
        """The last entry is read at end of input even without its empty line."""
        decoder = make_stream_decoder("journal-export", DecodeOptions())
        assert stream_texts(decoder, b"_TRANSPORT=kernel\nMESSAGE=x") == ["x"]


class TestDetectStream:
    @pytest.mark.parametrize(
        ("head", "expected"),
        [
            (b"\x81\xa7message", "msgpack"),
            (b"\xde\x00\x10", "msgpack"),
            (b"\x93\xa3tag", "msgpack"),
            (b"\xdd\x00\x00\x00\x02", None),  # array32: no item shape starts so
            (b"__CURSOR=s=abc\n", "journal-export"),
            (b"__REALTIME_TIMESTAMP=1\n", "journal-export"),
            (b'{"MESSAGE":"x"}\n', None),
            (b"6,970,1194840973,-;x\n", None),
            (b"", None),
        ],
    )
    def test_detect(self, head: bytes, expected: str | None) -> None:
        """The stream format is told from its first bytes; line formats give None."""
        assert expected == detect_stream(head)

    def test_names(self) -> None:
        """The stream formats, by name."""
        assert STREAM_DECODER_NAMES == ("msgpack", "journal-export", "json-pretty")

    def test_unknown_name(self) -> None:
        """An unknown stream format fails with the choices."""
        with pytest.raises(ValueError, match="choose one of msgpack, journal-export"):
            make_stream_decoder("json", DecodeOptions())


# the other host's report: the pod-limit capture, as journal JSON of node-b
TWO_HOSTS = (
    journal_json(read_kmsg(kmsg_data("simple-memcg")), SOURCE).splitlines(keepends=True),
    journal_json(read_kmsg(kmsg_data("cgroupfs-guaranteed-pod-limit")), OTHER).splitlines(
        keepends=True
    ),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=len(TWO_HOSTS[0]) + len(TWO_HOSTS[1])))
def test_two_hosts_interleaved(picks: list[bool]) -> None:
    """Two hosts' reports mixed line by line in any proportion give both right records."""
    a, b = list(TWO_HOSTS[0]), list(TWO_HOSTS[1])
    mixed = [(a if pick and a else b or a).pop(0) for pick in picks if a or b]
    records = run_lines(b"".join(mixed), make_decoder("auto", DecodeOptions()))
    actual = sorted((r.host, r.boot_id, r.pid, r.complete) for r in records)
    expected = [("node-a", SOURCE.boot_id, 3171, True), ("node-b", OTHER.boot_id, 3173, True)]
    assert expected == actual


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(STREAM_DECODER_NAMES),
    st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([good_item("k"), b"\n\n"]))),
)
def test_stream_decoders_survive_any_bytes(name: str, pieces: list[bytes]) -> None:
    """No byte sequence makes a stream decoder fail; every text is valid for orjson."""
    decoder = make_stream_decoder(name, DecodeOptions(report=Reports()))
    lines = [line for piece in pieces for line in decoder.feed(piece)] + decoder.finish()
    orjson.dumps([line.text for line in lines])


LEGACY = Path(__file__).parent / "data" / "legacy"
JOURNALCTL_TEXTS = Path(__file__).parent / "data" / "journalctl"


@pytest.mark.parametrize(
    "path",
    [
        *sorted(LEGACY.glob("*.dmesg")),
        *(p for p in sorted(JOURNALCTL_TEXTS.glob("*.journal-*")) if p.name.startswith("v")),
    ],
    ids=lambda p: p.name,
)
def test_text_tailed_by_an_agent_gives_the_records_of_the_text(path: Path) -> None:
    """A dmesg or journalctl text log tailed line by line by an agent (a record per line, the
    indented continuation lines of a multi-line kernel record each a record of its own) gives
    the records of the text: a continuation line is read with the agent's line it continues
    (before, memory.stat and Mem-Info continuation lines were plain lines of no record)."""
    text = path.read_bytes()
    expected = [r.as_dict() for r in run_lines(text, make_decoder("auto", DecodeOptions()))]
    actual = [
        r.as_dict() for r in run_lines(tailed_text(text), make_decoder("auto", DecodeOptions()))
    ]
    for record in expected + actual:
        del record["source_format"]
        if path.suffix == ".dmesg" or path.name.endswith("-monotonic"):
            del record["time_of_death"]  # the text has no wall time: the agent's read time
    assert expected and expected == actual


@pytest.mark.parametrize("path", sorted(LEGACY.glob("*.dmesg")), ids=lambda p: p.name)
def test_msgpack_skipping_keeps_the_records_of_every_legacy_capture(path: Path) -> None:
    """The texts of a legacy dmesg capture as msgpack maps give the records of the text: the
    items the decoder skips (no marker) never mattered, the legacy chosen-victim line before a
    kill line is found, pr_cont fragments after a marker line are read."""
    expected, actual, _, _ = _text_and_msgpack_records(_legacy_texts(path))
    assert expected == actual


def _legacy_texts(path: Path) -> list[str]:
    """The texts of a legacy dmesg capture's lines."""
    decoder = make_decoder("dmesg", DecodeOptions())
    return [
        line.text
        for raw in path.read_bytes().splitlines()
        if isinstance(line := decoder.decode(raw), KernelLine)
    ]


def _text_and_msgpack_records(
    texts: list[str], seed: int = 0
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any, int]:
    """The records of ``texts`` as plain lines, and as msgpack maps read in pieces cut by
    ``seed`` (without their ``source_format``); the msgpack decoder, the stream's size."""
    stream = b"".join(msgpack.packb({"message": text}) for text in texts)
    plain = b"".join(text.encode() + b"\n" for text in texts)
    expected = [r.as_dict() for r in run_lines(plain, make_decoder("plain", DecodeOptions()))]
    decoder = make_stream_decoder("msgpack", DecodeOptions())
    actual = [r.as_dict() for r in run_stream(stream, decoder, seed)]
    for record in expected + actual:
        del record["source_format"]
    return expected, actual, decoder, len(stream)


# noise: mostly text without the byte "Killed process " is found by (K), a few lines with it
LONG_NOISE_TEXTS = [
    "eth0: link is up, speed 1000 Mbps, full duplex",
    "KASLR disabled: Kill switch set",
    "Killed proces 1 (near miss)",
]


@pytest.mark.parametrize("seed", range(3))
def test_msgpack_reports_after_long_noise_keep_the_records_of_the_text(seed: int) -> None:
    """Every legacy capture's texts between long runs of noise items (markers searched for over long
    ranges, by their rare byte) give the records of the text."""
    rng = random.Random(seed)
    texts: list[str] = []
    for path in sorted(LEGACY.glob("*.dmesg")):
        texts += rng.choices(LONG_NOISE_TEXTS, (400, 1, 1), k=rng.randrange(2000, 6000))
        texts += _legacy_texts(path)
    expected, actual, decoder, size = _text_and_msgpack_records(texts, seed)
    assert len(expected) >= 4
    assert expected == actual
    assert size > 4 * PROBE_MIN_BYTES
    assert b"Killed process " in decoder._searches  # (searched over long ranges)


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("kept", ["odd records", "even records", "headers only"])
def test_journal_records_some_without_boot_id(sample: str, kept: str) -> None:
    """A forwarder that passes ``_BOOT_ID`` on only when it has it leaves it out of some of a
    host's journal records: each report whose header has it stays one record (its lines are
    one host's, of the boot the header names), with that boot id, as with the boot id on every
    record."""
    lines = rendered("journal-json", sample).splitlines(keepends=True)
    dropped = []
    for i, line in enumerate(lines):
        keep = {"odd records": i % 2, "even records": not i % 2, "headers only": False}[kept]
        if b"invoked oom-killer" in line:
            keep = True
        fields = orjson.loads(line)
        if not keep:
            del fields["_BOOT_ID"]
        dropped.append(orjson.dumps(fields) + b"\n")
    actual = run_lines(b"".join(dropped), make_decoder("auto", DecodeOptions()))
    assert comparable(actual, JOURNAL) == reference(sample, JOURNAL)
