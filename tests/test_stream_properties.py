"""How the bytes arrive changes nothing: the properties that gate the core.

Drawn from every fixture in tests/data (a new fixture joins by existing) and from every input
format each report can be written in (tests/convert.py renders the kernel records of each real or
legacy capture as journal JSON, agent records, msgpack, journal export):

(a) any chunking of the bytes, down to one byte and one line per read, gives the records of the
    whole file;
(b) a report interleaved line by line with the streams of N other hosts (N up to 10^4) gives its
    host the records it gives alone, and the other hosts theirs;
(c) the live per-line path (``LineScanner.feed_line``) gives the records of the offline path;
(d) one record per kill whatever the format; flushing again adds nothing.
"""

from __future__ import annotations

import io
import itertools
import random
import re
from functools import cache
from pathlib import Path

import orjson
import pytest
from helpers import KERNEL_LOG_FOLDERS, NOT_KERNEL_LOGS, run_pipeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convert import (
    LINE_FORMATS,
    RENDERING_LIMITS,
    STREAM_FORMATS,
    Record,
    Source,
    kernel_record,
    kernel_records,
)
from oom_input.assembler import Assembler
from oom_input.decoders import detect_stream, make_decoder
from oom_input.decoders._terminal import colored
from oom_input.pipeline import STREAM_HEAD_BYTES, Pipeline
from oom_input.scanner import LineScanner
from oom_input.sinks.jsonl import JsonLinesSink
from oom_input.types import DecodeOptions, OomRecord

DATA = Path(__file__).parent / "data"
NOT_FIXTURES = {".md", ".py", ".json"}
FIXTURES = sorted(
    p
    for p in DATA.rglob("*")
    if p.is_file() and p.suffix not in NOT_FIXTURES and p.parent.name not in NOT_KERNEL_LOGS
)
# the fields a report gives whatever format carried it (host, boot, times and seq depend on it)
REPORT_KEYS = (
    "pid",
    "process_name",
    "container_name",
    "victim_container_name",
    "constraint",
    "kind",
    "total_vm_kb",
    "anon_rss_kb",
    "file_rss_kb",
    "shmem_rss_kb",
    "memory_usage_kb",
    "memory_limit_kb",
    "trigger_process_name",
    "pod_uid",
    "container_id",
    "complete",
    "task_count",
    "tasks_rss_kb",
    "top_tasks",
    "memcg_stats",
    "swap_usage_kb",
    "swap_limit_kb",
    "kmem_usage_kb",
    "system_memory",
    "reason",
)


def test_every_kind_of_fixture_is_drawn() -> None:
    """The fixture glob finds every directory's files (a renamed folder cannot drop out)."""
    assert {p.parent.name for p in FIXTURES} == KERNEL_LOG_FOLDERS
    assert len(FIXTURES) >= 50


# --- the variants: every fixture as it is, every report in every format -------------------------
REPORTS = {
    p.relative_to(DATA).as_posix(): recs
    for p in FIXTURES
    if p.parent.name in ("real", "legacy") and (recs := kernel_records(p))
}
RENDERINGS = {**LINE_FORMATS, **STREAM_FORMATS}
HOST_FORMATS = sorted(name for name, (_, carries) in LINE_FORMATS.items() if "host" in carries)


@cache
def variant(name: str) -> bytes:
    """``path`` (a fixture as it is) or ``path@format`` (its report rendered)."""
    path, _, rendering = name.partition("@")
    if not rendering:
        return (DATA / path).read_bytes()
    render, _ = RENDERINGS[rendering]
    return render(REPORTS[path], Source())


VARIANTS = [p.relative_to(DATA).as_posix() for p in FIXTURES] + [
    f"{path}@{fmt}" for path in REPORTS for fmt in sorted(RENDERINGS)
]


def is_stream(name: str) -> bool:
    return detect_stream(variant(name)[:STREAM_HEAD_BYTES]) is not None


def records_of(chunks: list[bytes]) -> list[dict]:
    return run_pipeline(chunks, streams=True)


@cache
def whole(name: str) -> tuple[bytes, ...]:
    """The records of the variant read in one piece, as JSON (hashable, comparable)."""
    return tuple(orjson.dumps(r) for r in records_of([variant(name)]))


def lines_of(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = [0, *sorted(set(cuts)), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points) if b > a]


# --- (a) chunking -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", [p.relative_to(DATA).as_posix() for p in FIXTURES])
def test_one_byte_per_read_gives_the_records_of_the_whole_file(name: str) -> None:
    """Every fixture fed one byte at a time gives the records of reading it whole."""
    data = variant(name)
    got = records_of([data[i : i + 1] for i in range(len(data))])
    assert tuple(orjson.dumps(r) for r in got) == whole(name)


@pytest.mark.parametrize("name", VARIANTS)
def test_one_line_per_read_gives_the_records_of_the_whole_file(name: str) -> None:
    """Every fixture and rendering fed one line per read (what ``dmesg -w |`` and ``tail -F |``
    deliver) gives the records of reading it whole."""
    got = records_of(lines_of(variant(name)))
    assert tuple(orjson.dumps(r) for r in got) == whole(name)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VARIANTS), st.data())
def test_any_chunking_gives_the_records_of_the_whole_file(name: str, data: st.DataObject) -> None:
    """Random cut points anywhere, a line split across any number of reads."""
    raw = variant(name)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=40))
    got = records_of(cut(raw, cuts))
    assert tuple(orjson.dumps(r) for r in got) == whole(name)


# --- (c) the live per-line path -------------------------------------------------------------------
def per_line(data: bytes, input_format: str = "auto") -> list[dict]:
    """As a live follower feeds: one record (line) per call, then the end of input."""
    out = io.BytesIO()
    pipeline = Pipeline(
        decoder=make_decoder(input_format, DecodeOptions()), sink=JsonLinesSink(out)
    )
    for raw in data.split(b"\n"):
        if raw:
            pipeline.scanner.feed_line(raw)
    pipeline.finish()
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize(
    "name",
    [v for v in VARIANTS if not is_stream(v) and not colored(variant(v))],
)
def test_live_per_line_path_gives_the_offline_records(name: str) -> None:
    """``feed_line`` per record (every line format) gives what the offline reader gives for the
    whole file (but a terminal capture's colours, which a file's reader removes: the live
    sources, /dev/kmsg and the journal, never hold them)."""
    data = variant(name)
    offline = [orjson.loads(r) for r in whole(name)]
    strip = ("pod_uid", "container_id", "qos_class", "container_runtime")  # enrichment
    assert [{k: v for k, v in r.items() if k not in strip} for r in per_line(data)] == [
        {k: v for k, v in r.items() if k not in strip} for r in offline
    ]


# --- (d) one record per kill, whatever the format; flush idempotent -------------------------------
@pytest.mark.parametrize("name", [v for v in VARIANTS if "@" in v])
def test_every_format_gives_the_records_of_the_capture(
    name: str, request: pytest.FixtureRequest
) -> None:
    """A report rendered in any input format gives the records of the capture itself: one per
    kill, with the same report fields (but where convert.RENDERING_LIMITS says it cannot)."""
    path, _, rendering = name.partition("@")
    limit = RENDERING_LIMITS.get((Path(path).stem, rendering))
    if limit is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=limit))
    want = [{k: orjson.loads(r)[k] for k in REPORT_KEYS} for r in whole(path)]
    got = [{k: orjson.loads(r)[k] for k in REPORT_KEYS} for r in whole(name)]
    assert got == want


def test_flush_is_idempotent() -> None:
    """After the end of input, flushing again gives nothing, for every real and legacy report."""
    for path in REPORTS:
        out: list[OomRecord] = []
        assembler = Assembler()
        scanner = LineScanner(make_decoder("auto", DecodeOptions()), assembler, out.append)
        scanner.feed(variant(path))
        scanner.finish()
        n = len(out)
        scanner.finish()
        assert assembler.flush() == [] and len(out) == n > 0, path


@pytest.mark.parametrize("digits", [25, 5000])
@pytest.mark.parametrize("path", sorted(REPORTS))
def test_every_number_too_long_never_stops_the_stream(path: str, digits: int) -> None:
    """Every number of every line of a report made 25 digits long (beyond 64 bits) or 5,000
    (beyond what int() reads), each still its own (nines put in front): the same number of records, valid, no exception; in kmsg, dmesg
    and journal JSON, whole and line by line (quick paths cap digits, the full path reads them)."""
    records = REPORTS[path]
    longer = [
        kernel_record(
            r.pri, r.seq, r.usec, re.sub(rb"\d+", lambda m: m[0].rjust(digits, b"9"), r.text)
        )
        for r in records
    ]
    want = len(whole(path))
    renderings = {
        "kmsg": b"".join(r.line + b"\n" for r in longer),
        "dmesg": b"".join(
            b"[%5d.%06d] %s\n" % (r.usec // 10**6, r.usec % 10**6, part)
            for r in longer
            for part in r.text.split(b"\n")
        ),
        "journal-json": RENDERINGS["journal-json"][0](longer, Source()),
    }
    for fmt, data in renderings.items():
        assert len(records_of([data])) == want, fmt
        assert len(records_of(lines_of(data))) == want, fmt


# blank lines a file or pipe may hold (an `echo` before a stream, files joined with a blank line
# between them, a log agent's empty line): whitespace alone, each a line of its own
BLANK_LINES = (b"\n", b" \n", b"\r\n", b"\t \n")


@pytest.mark.parametrize(
    "name", [v for v in VARIANTS if not is_stream(v) and not v.endswith("journal-export")]
)
def test_blank_lines_between_lines_change_nothing(name: str) -> None:
    """Blank lines before a file's first line and between any two of its lines (not inside a
    message continued on indented lines) give the records of the file without them: a blank
    line neither ends an evidence block nor hides a file's format from the detector. (In
    journalctl's export format a blank line is the framing.)"""
    data = variant(name)
    blank = BLANK_LINES[VARIANTS.index(name) % len(BLANK_LINES)]
    lines = lines_of(data)
    spaced = blank * 3 + b"".join(line if line[:1] in b" \t" else blank + line for line in lines)
    got = records_of([spaced])
    assert tuple(orjson.dumps(r) for r in got) == whole(name), blank


@pytest.mark.parametrize("name", [v for v in VARIANTS if is_stream(v)])
def test_blank_lines_before_a_stream_change_nothing(name: str) -> None:
    """A msgpack or journal export stream after blank lines is still told by its first bytes."""
    data = variant(name)
    for blank in BLANK_LINES:
        got = records_of([blank * 2, data[:1], data[1:]])
        assert tuple(orjson.dumps(r) for r in got) == whole(name), blank


@pytest.mark.parametrize("name", VARIANTS)
def test_a_byte_order_mark_changes_nothing(name: str) -> None:
    """A UTF-8 byte order mark before a file (an editor saved it, PowerShell wrote it), cut
    across reads, gives the records of the file without it."""
    data = variant(name)
    got = records_of([b"\xef", b"\xbb\xbf" + data[:2], data[2:]])
    assert tuple(orjson.dumps(r) for r in got) == whole(name)


# --- (b) many hosts interleaved -------------------------------------------------------------------
NOISE = [
    b"eth0: link becomes ready",
    b"CPU: 0 PID: 1 Comm: systemd Not tainted 6.18.44 #1",
    b"Memory cgroup stats for /x: not in a report",
    b"audit: type=1400 audit(1764182254.798:42): apparmor=DENIED",
]


def host_stream(
    host: str, fmt: str, records: list[Record] | None, rng: random.Random
) -> list[bytes]:
    """One host's lines in ``fmt``: a report (if given) between some noise lines, times rising."""
    source = Source(host=host, boot_hex=f"{rng.getrandbits(128):032x}")
    noise = [Record(6, 0, 0, t, t) for t in rng.sample(NOISE, rng.randint(1, len(NOISE)))]
    start = rng.randint(10**6, 10**9)
    report = [Record(r.pri, 0, r.usec + start, r.line, r.text) for r in records or ()]
    end = report[-1].usec if report else start
    before = [Record(r.pri, 0, start - 1000 + i, r.line, r.text) for i, r in enumerate(noise[:1])]
    after = [Record(r.pri, 0, end + 1000 + i, r.line, r.text) for i, r in enumerate(noise[1:])]
    body = [
        Record(r.pri, i + 1, r.usec, r.line, r.text) for i, r in enumerate(before + report + after)
    ]
    render, _ = LINE_FORMATS[fmt]
    return lines_of(render(body, source))


def by_host(records: list[dict]) -> dict[str, list[dict]]:
    hosts: dict[str, list[dict]] = {}
    for r in records:
        hosts.setdefault(r["host"], []).append(r)
    return hosts


def interleave(streams: list[list[bytes]]) -> bytes:
    """Round robin, one line of each host in turn, as an aggregator receives them."""
    out: list[bytes] = []
    depth = max(len(s) for s in streams)
    for i in range(depth):
        out += [s[i] for s in streams if i < len(s)]
    return b"".join(out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(REPORTS)),
    st.sampled_from(HOST_FORMATS),
    st.sampled_from([1, 7, 100, 1000]),
    st.randoms(use_true_random=False),
)
def test_interleaved_hosts_each_get_their_own_records(
    path: str, fmt: str, n_others: int, rng: random.Random
) -> None:
    """A report interleaved line by line with N other hosts (some with reports of their own)
    gives every host the records it gives alone."""
    reports = sorted(REPORTS)
    streams = [host_stream("target", fmt, REPORTS[path], rng)]
    for i in range(n_others):
        other = REPORTS[rng.choice(reports)] if i < 12 else None
        streams.append(host_stream(f"other-{i}", fmt, other, rng))
    alone: dict[str, list[dict]] = {}
    for stream in streams:
        alone |= by_host(records_of([b"".join(stream)]))
    mixed = by_host(records_of([interleave(streams)]))
    assert mixed == alone
    assert "target" in alone


def test_ten_thousand_hosts_interleaved_keep_every_report() -> None:
    """10^4 other hosts, 40 of them with reports, interleaved line by line with every real
    and legacy report: each host gets the records it gets alone."""
    rng = random.Random(12)
    fmt = "json-vector-journald"
    streams = [host_stream(f"target-{i}", fmt, REPORTS[p], rng) for i, p in enumerate(REPORTS)]
    reports = sorted(REPORTS)
    for i in range(10_000):
        other = REPORTS[reports[i % len(reports)]] if i % 250 == 0 else None
        streams.append(host_stream(f"other-{i}", fmt, other, rng))
    want: dict[str, list[dict]] = {}
    for stream in streams:
        if any(b"Killed process" in line or b"oom-killer" in line for line in stream):
            want |= by_host(records_of([b"".join(stream)]))
    mixed = by_host(records_of([interleave(streams)]))
    assert mixed == want
    assert len(want) == len(REPORTS) + 40
