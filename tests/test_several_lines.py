"""An input line or record that holds several kernel lines hands them all to the assembler, in
order, on every path: a Fluent Bit ``format json`` array of a flush's events, an agent's record
whose text a multiline parser merged from several log lines (JSON and msgpack alike), and
--passthrough of both."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import msgpack
import orjson
import pytest
from helpers import KERNEL_LOG_FOLDERS, run_cli, run_pipeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convert import (
    LINE_FORMATS,
    STREAM_FORMATS,
    Record,
    Source,
    fluentbit_kmsg_record,
    kernel_records,
)
from oom_input.decoders import detect_stream, make_decoder
from oom_input.decoders._records import MAX_LINES_READ
from oom_input.decoders.json_records import JsonDecoder
from oom_input.decoders.msgpack_stream import MsgpackDecoder
from oom_input.pipeline import STREAM_HEAD_BYTES, Pipeline
from oom_input.sinks.jsonl import JsonLinesSink
from oom_input.types import IGNORED, DecodeOptions, KernelLine, KernelLines

DATA = Path(__file__).parent / "data"
SOURCE = Source()
# every real and legacy report, as kernel records
REPORTS = {
    p.name: recs
    for folder in ("real", "legacy")
    for p in sorted((DATA / folder).glob("*"))
    if (recs := kernel_records(p))
}
KILL_A, KILL_B = "Killed process 1 (a)", "Killed process 2 (b)"
RENDERINGS = {**LINE_FORMATS, **STREAM_FORMATS}


class Reports(list[str]):
    def __call__(self, reason: str, raw: bytes) -> None:
        self.append(reason)


def _kmsg_events(records: list[Record]) -> list[dict[str, Any]]:
    """Fluent Bit kmsg records with their ``date`` (wall time), as its JSON outputs write them."""
    return [{"date": r.wall_us(SOURCE) / 10**6, **fluentbit_kmsg_record(r)} for r in records]


def _lines(objects: list[Any]) -> bytes:
    return b"".join(orjson.dumps(obj) + b"\n" for obj in objects)


def _grouped(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- Fluent Bit's "json" format: arrays of events -----------------------------------------------
def test_fluent_bit_json_format_array_gives_each_record_with_its_time() -> None:
    """Fluent Bit's "json" format (a flush's records as one array on one line): each record is
    a kernel line of its own, in order, with its own time; nothing is reported."""
    reports = Reports()
    raw = orjson.dumps([{"date": 1.5, "log": KILL_A}, {"date": 2.5, "log": KILL_B}])
    lines = JsonDecoder(DecodeOptions(report=reports)).decode(raw)
    assert isinstance(lines, KernelLines)
    assert [(line.text, line.wall_us) for line in lines] == [
        (KILL_A, 1_500_000),
        (KILL_B, 2_500_000),
    ]
    assert reports == []


def test_array_of_fluent_bit_events_gives_each_event_with_its_time() -> None:
    """An array of Fluent Bit events (``[ts, {..}]``, ``[[ts, {meta}], {..}]``): each its own
    kernel line with its envelope's time."""
    raw = orjson.dumps([[1.5, {"log": KILL_A}], [[2.5, {"m": 1}], {"log": KILL_B}]])
    lines = JsonDecoder(DecodeOptions()).decode(raw)
    assert isinstance(lines, KernelLines)
    assert [(line.text, line.wall_us) for line in lines] == [
        (KILL_A, 1_500_000),
        (KILL_B, 2_500_000),
    ]


@pytest.mark.parametrize("size", [2, 3, 7, 1000])
@pytest.mark.parametrize("name", sorted(REPORTS))
def test_events_in_arrays_give_the_records_of_the_events_on_lines_of_their_own(
    name: str, size: int
) -> None:
    """Every report's Fluent Bit kmsg records in arrays of ``size`` on a line give the records
    of the same records one per line (``json_lines``)."""
    events = _kmsg_events(REPORTS[name])
    apart = run_pipeline([_lines(events)])
    assert apart
    assert run_pipeline([_lines(_grouped(events, size))]) == apart
    assert run_pipeline([_lines(_grouped(events, size))], "json") == apart


# a legacy kernel's report (<= 4.19): the chosen victim's line right before the kill line; a
# second kill; another report whose chosen line came before its header (another CPU's)
HEADER = "4,1,1000000,-;x invoked oom-killer: gfp_mask=0x24201ca, order=0, oom_score_adj=0"
CHOSEN = "3,2,2000000,-;Out of memory: Kill process 5 (x) score 900 or sacrifice child"
KILL = "3,3,2000100,-;Killed process 5 (x) total-vm:1000kB, anon-rss:500kB, file-rss:0kB"
KILL_2 = "3,4,2000200,-;Killed process 6 (y) total-vm:1000kB, anon-rss:500kB, file-rss:0kB"
CHOSEN_3 = "3,5,3000000,-;Out of memory: Kill process 7 (z) score 900 or sacrifice child"
HEADER_3 = "4,6,3000100,-;z invoked oom-killer: gfp_mask=0x24201ca, order=0, oom_score_adj=0"
KILL_3 = "3,7,3000200,-;Killed process 7 (z) total-vm:1000kB, anon-rss:500kB, file-rss:0kB"


@pytest.mark.parametrize(
    "groups",
    [
        [[HEADER, CHOSEN], [KILL]],
        [[HEADER, CHOSEN, KILL], [KILL_2]],
        [[CHOSEN, KILL], [KILL_2]],
        [[HEADER, CHOSEN, KILL], [CHOSEN_3, HEADER_3], [KILL_3]],
        [[HEADER], [CHOSEN], [KILL, CHOSEN_3], [HEADER_3, KILL_3]],
    ],
)
def test_context_lines_in_arrays_are_read_once_in_order(groups: list[list[str]]) -> None:
    """A kill line's look-back feeds only the CONTEXT lines of an array line it finds (not its
    header again), and none of an array line that held a kill line or a header (they were fed
    in order with it): the records are those of the lines one per line."""
    apart = run_pipeline([_lines([{"log": line} for group in groups for line in group])])
    assert apart
    grouped = [[{"log": line} for line in group] for group in groups]
    assert run_pipeline([_lines(grouped)]) == apart
    merged = [{"log": "\n".join(group)} for group in groups]
    assert run_pipeline([_lines(merged)]) == apart


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(REPORTS)), st.lists(st.integers(1, 9), min_size=1), st.booleans())
def test_any_grouping_gives_the_records_of_the_lines_apart(
    name: str, sizes: list[int], merge: bool
) -> None:
    """Any report's kmsg lines, cut into arrays (or merged records) of any sizes, give the
    records of the lines one per line."""
    lines = [r.line.decode("utf-8") for r in REPORTS[name]]
    groups: list[list[str]] = []
    while len(lines) > sum(map(len, groups)):
        at = sum(map(len, groups))
        groups.append(lines[at : at + sizes[len(groups) % len(sizes)]])
    apart = run_pipeline([_lines([{"log": line} for line in lines])])
    if merge:
        objects: list[Any] = [{"log": "\n".join(group)} for group in groups]
    else:
        objects = [[{"log": line} for line in group] for group in groups]
    assert run_pipeline([_lines(objects)]) == apart


def test_array_line_and_event_forms_give_the_same_records() -> None:
    """The same events as an array of ``[ts, {..}]`` events on a line, and one per line."""
    records = REPORTS["simple-memcg.kmsg"]
    events = [[r.wall_us(SOURCE) / 10**6, fluentbit_kmsg_record(r)] for r in records]
    assert run_pipeline([_lines(_grouped(events, 5))]) == run_pipeline([_lines(events)])


def test_array_of_no_events_is_reported() -> None:
    """Items of an array that are no events are left out and reported; an array of nothing
    else is IGNORED (and reported)."""
    reports = Reports()
    decoder = JsonDecoder(DecodeOptions(report=reports))
    assert decoder.decode(b'[1, "x", null]') is IGNORED
    line = decoder.decode(orjson.dumps([{"log": KILL_A}, 5, [1, 2]]))
    assert isinstance(line, KernelLine) and line.text == KILL_A
    assert reports == ["JSON array items that are no events left out"] * 2


def test_huge_array_is_cut_and_reported() -> None:
    """An array of more events than MAX_LINES_READ: the first ones are read, the cut reported."""
    reports = Reports()
    raw = orjson.dumps([{"log": f"Killed process {n} (x)"} for n in range(MAX_LINES_READ + 5)])
    lines = JsonDecoder(DecodeOptions(report=reports)).decode(raw)
    assert isinstance(lines, KernelLines) and len(lines) == MAX_LINES_READ
    assert lines[-1].text == f"Killed process {MAX_LINES_READ - 1} (x)"
    assert reports == [f"over {MAX_LINES_READ} events in one JSON line: the rest left out"]


def test_quick_text_leaves_lines_of_several_to_decode() -> None:
    """quick_text answers None for a line of several kernel lines (the reader decodes it)."""
    decoder = JsonDecoder(DecodeOptions())
    kmsg_a, kmsg_b = f"6,1,100,-;{KILL_A}", f"6,2,200,-;{KILL_B}"
    decoder.decode(orjson.dumps({"log": kmsg_a}))  # (the line format of agents' text known)
    assert decoder.quick_text(orjson.dumps([{"log": kmsg_a}, {"log": kmsg_b}])) is None
    assert decoder.quick_text(orjson.dumps({"log": f"{kmsg_a}\n{kmsg_b}"})) is None
    assert decoder.quick_text(orjson.dumps([{"log": kmsg_a}])) == (KILL_A, (None, None))


# --- records a multiline parser merged ----------------------------------------------------------
@pytest.mark.parametrize("size", [2, 5, 10_000])
@pytest.mark.parametrize("name", sorted(REPORTS))
def test_merged_json_record_gives_the_records_of_its_lines_fed_apart(name: str, size: int) -> None:
    """An agent's JSON records whose text holds ``size`` kmsg lines joined by newlines (a
    multiline parser's) give the records of the same lines one record each."""
    lines = [r.line.decode("utf-8") for r in REPORTS[name]]
    apart = run_pipeline([_lines([{"log": line} for line in lines])])
    assert apart
    merged = [{"log": "\n".join(group)} for group in _grouped(lines, size)]
    assert run_pipeline([_lines(merged)]) == apart


def test_json_and_msgpack_split_a_merged_record_alike() -> None:
    """A merged record gives the same kernel lines read from JSON and from msgpack (one reader
    splits both)."""
    text = "\n".join(r.line.decode() for r in REPORTS["simple-memcg.kmsg"][:6]) + "\n"
    record = {"message": text, "host": "node-a"}
    from_json = JsonDecoder(DecodeOptions()).decode(orjson.dumps(record))
    from_msgpack = MsgpackDecoder(DecodeOptions()).feed(msgpack.packb(record))
    assert isinstance(from_json, KernelLines) and len(from_json) == 6
    for line in from_msgpack:
        line.source_format = "json"
    assert list(from_json) == from_msgpack


def test_merged_record_of_too_many_lines_is_cut_and_reported() -> None:
    """A merged text of more lines than MAX_LINES_READ: the first ones are read, reported."""
    reports = Reports()
    text = "\n".join(f"Killed process {n} (x)" for n in range(MAX_LINES_READ + 1))
    lines = JsonDecoder(DecodeOptions(report=reports)).decode(orjson.dumps({"log": text}))
    assert isinstance(lines, KernelLines) and len(lines) == MAX_LINES_READ
    assert reports == [f"over {MAX_LINES_READ} lines in one record: the rest left out"]


def test_journal_entry_of_several_lines_stays_one_kernel_line() -> None:
    """A journal entry's MESSAGE of several lines is one kernel record, not merged lines."""
    raw = orjson.dumps({"MESSAGE": f"{KILL_A}\nmore", "_TRANSPORT": "kernel"})
    line = JsonDecoder(DecodeOptions()).decode(raw)
    assert isinstance(line, KernelLine) and line.text == f"{KILL_A}\nmore"


# --- every path: live per line, passthrough -----------------------------------------------------
def _holds_several(path: Path) -> bool:
    """A line fixture one of whose lines decodes to several kernel lines."""
    data = path.read_bytes()
    if detect_stream(data.lstrip()[:STREAM_HEAD_BYTES]) is not None:
        return False
    decoder = make_decoder("auto", DecodeOptions())
    return any(isinstance(decoder.decode(raw), KernelLines) for raw in data.splitlines())


# every fixture in tests/data with such a line (a new one joins by existing)
LINE_FIXTURES = [
    p
    for folder in sorted(KERNEL_LOG_FOLDERS)
    for p in sorted((DATA / folder).glob("*"))
    if p.suffix not in (".md", ".py", ".json") and _holds_several(p)
]


def test_line_fixtures_are_found() -> None:
    """The fixtures written for lines of several are among those drawn."""
    names = {p.name for p in LINE_FIXTURES}
    assert {
        "simple-memcg.json-fluentbit-kmsg-json-format",
        "simple-memcg.json-fluentbit-multiline",
    } <= names


@pytest.mark.parametrize("path", LINE_FIXTURES, ids=lambda p: p.name)
def test_live_per_line_path_feeds_every_kernel_line(path: Path) -> None:
    """feed_line of each line (a live source) gives the records of reading the file."""
    out = io.BytesIO()
    pipeline = Pipeline(decoder=make_decoder("auto", DecodeOptions()), sink=JsonLinesSink(out))
    for raw in path.read_bytes().splitlines():
        pipeline.feed_line(raw)
    pipeline.finish()
    live = [orjson.loads(line) for line in out.getvalue().splitlines()]
    offline = run_pipeline([path.read_bytes()])
    assert [r["complete"] for r in live] == [True]
    assert live == offline


def _split_output(out: bytes) -> tuple[list[Any], list[dict[str, Any]]]:
    """The passed-through objects and the records of a --passthrough run, and where each
    record came (the number of objects before it)."""
    objects: list[Any] = []
    records: list[dict[str, Any]] = []
    for line in out.splitlines():
        value = orjson.loads(line)
        if isinstance(value, dict) and value.get("event") == "oom_kill":
            records.append({**value, "after": len(objects)})
        else:
            objects.append(value)
    return objects, records


@pytest.mark.parametrize("capture", sorted(REPORTS))
@pytest.mark.parametrize(
    "rendering",
    ["json-fluentbit-kmsg-json-format", "json-fluentbit-multiline", "msgpack-fluentd-multiline"],
)
def test_passthrough_feeds_every_kernel_line_in_input_order(
    rendering: str, capture: str, tmp_path: Path
) -> None:
    """--passthrough: the records are those of reading without it, each written right after
    the input record that holds its kill line (a record's several lines are fed with it, in
    order, not after the records that follow it)."""
    render, _ = RENDERINGS[rendering]
    path = tmp_path / f"input.{rendering}"
    path.write_bytes(render(REPORTS[capture], SOURCE))
    plain = run_cli(str(path))
    passed = run_cli("--passthrough", str(path))
    assert plain.returncode == passed.returncode == 0, passed.stderr
    _, records = _split_output(passed.stdout)
    want = [orjson.loads(line) for line in plain.stdout.splitlines()]
    assert want
    assert [{k: v for k, v in r.items() if k != "after"} for r in records] == want
    if rendering.startswith("msgpack"):
        items = list(msgpack.Unpacker(io.BytesIO(path.read_bytes()), raw=False))
    else:
        items = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    for record in records:
        if record["pid"] is None:
            continue  # (a report without a kill line ends where a later line shows it ended)
        # its kill line (2.6.32: "Killed process 1893, UID 27, (mysqld)")
        kill = re.compile(rb"Killed process %d\b" % record["pid"])
        holds_kill = [n for n, item in enumerate(items) if kill.search(msgpack.packb(item))]
        assert record["after"] == holds_kill[0] + 1
