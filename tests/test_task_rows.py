"""Task rows read in runs (a decoder's ``quick_run`` with a layout's row shape, then
``ReportEvidence.on_task_run``) give the records of reading every row on its own.

The rows generated here hold what a comm may hold (spaces, brackets, digits, backslashes,
quotes, colons, non-ASCII, control bytes, nothing) and numbers of any size (beyond 64 bits and
beyond the shape's 18/20 digits too); they go into the real captures' task tables, printed as
each format prints them (/dev/kmsg escapes bytes < 0x20, >= 0x7f and the backslash as \\xNN;
dmesg and journalctl print the text as it is), with other lines among them, and the streams are
read whole, a byte at a time and a line at a time.
"""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
from helpers import KMSG_CAPTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scanner import NOISE_LINES, FullDecoder, as_format

from oom_input import evidence as evidence_module
from oom_input.assembler import Assembler
from oom_input.decoders import detect_stream, make_decoder
from oom_input.decoders._terminal import colored
from oom_input.evidence import TASK_HEADER_RE, ReportEvidence
from oom_input.pipeline import make_normaliser
from oom_input.registry import STREAM_HEAD_BYTES
from oom_input.scanner import LineScanner
from oom_input.types import DecodeOptions, OomRecord

DATA = Path(__file__).parent / "data"
HEADER_MARK = b"]   uid  tgid "
# the real captures with a task table
TABLE_CAPTURES = [capture for capture in KMSG_CAPTURES if HEADER_MARK in capture]
RUN_FORMATS = ["kmsg", "dmesg", "journal"]  # the line formats whose decoder has quick_run
# every line-based fixture with a task table, and the format that reads it (auto: detected)
FIXTURES = sorted(
    path
    for path in DATA.glob("*/*")
    if path.suffix not in {".md", ".json", ".py"}
    and not path.name.startswith("README")
    and detect_stream(path.read_bytes()[:STREAM_HEAD_BYTES]) is None  # (stream formats)
    and "template" not in path.suffix
    and not colored(path.read_bytes())  # (the file reader removes colours, not the scanner)
    and HEADER_MARK in path.read_bytes()
)
NAME_CHARS = "az AZ09[]()/:,.-_\\\"'=é中\t\n\x01\x7f"
PLAIN_NAME_CHARS = "az AZ09[]()/:,.-_\"'=~"  # printable ASCII without a backslash
ODD_NAMES = ["", " ", "a  b ", "w [1] (x) 2 y", "12 34", "x\\y", 'q"uote', "ünï", "k:1", "[", "]"]
INTERESTING_NUMBERS = [
    0,
    -1,
    -1000,
    32767,
    32768,
    -32769,
    10**4,
    -(10**4),
    10**18 - 1,
    10**18,
    2**63 - 1,
    2**63,
    -(2**63) + 1,
    -(2**63),
    2**64,
    10**20 - 1,
    10**20,
    10**25,
]
numbers = st.one_of(
    st.integers(0, 300_000),
    st.integers(-1000, 1000),
    st.sampled_from(INTERESTING_NUMBERS),
    st.integers(-(10**22), 10**22),
)


def kmsg_escape(text: str) -> bytes:
    """The text as /dev/kmsg prints it: bytes < 0x20, >= 0x7f and the backslash as \\xNN."""
    return b"".join(
        b"\\x%02x" % byte if byte < 0x20 or byte >= 0x7F or byte == 0x5C else bytes((byte,))
        for byte in text.encode()
    )


def printed(name: str, text: str, seq: int) -> bytes:
    """A kernel line of this text in format ``name`` (dmesg, journalctl: as it is, but a
    newline, which would end the line, as dmesg escapes it)."""
    if name == "kmsg":
        return b"6,%d,%d,-;%s" % (seq, 5_000_000 + seq, kmsg_escape(text))
    data = text.replace("\n", "\\x0a").encode()
    if name == "dmesg":
        return b"[%5d.%06d] %s" % (5, seq, data)
    return b"Nov 25 19:47:05.%06d node-a kernel: %s" % (seq, data)


@st.composite
def task_row(draw: st.DrawFn, columns: int) -> str:
    """A row of a layout with this many numeric columns after the pid: the kernel's spacing or
    another, any name and any numbers, or (half of them) a row a run can take, but for one
    column or the name, maybe."""
    plain = draw(st.booleans())
    pid = draw(st.integers(1, 5_000_000) if plain else numbers.map(abs))
    values = [draw(st.integers(-1000, 300_000) if plain else numbers) for _ in range(columns)]
    if plain and draw(st.booleans()):  # one number out of the shape's bounds, or at them
        values[draw(st.integers(0, columns - 1))] = draw(st.sampled_from(INTERESTING_NUMBERS))
    texts = [str(value) for value in [pid, *values]]
    if plain and draw(st.booleans()):  # a number with leading zeros, or "-0" (JSON refuses
        at = draw(st.integers(0, columns))  # the first, reads the second as int() does)
        sign, digits = ("-", texts[at][1:]) if texts[at].startswith("-") else ("", texts[at])
        zeros = "0" * draw(st.integers(1, 3))
        texts[at] = draw(st.sampled_from([sign + zeros + digits, "-0" if at else "0"]))
    pad = " " * draw(st.integers(0, 3))
    gaps = [" " * draw(st.integers(1, 3)) for _ in range(columns)]
    row = f"[{pad}{texts[0]}]" + "".join(
        gap + text for gap, text in zip(gaps, texts[1:], strict=True)
    )
    names = st.text(PLAIN_NAME_CHARS if plain else NAME_CHARS, max_size=16)
    name = draw(st.one_of(st.sampled_from(ODD_NAMES), names))
    return row + ("" if draw(st.booleans()) and not name else " " + name)


def header_columns(capture: bytes) -> int:
    """The number of numeric columns of the capture's task table."""
    line = next(line for line in capture.split(b"\n") if HEADER_MARK in line)
    m = TASK_HEADER_RE.match(line.partition(b";")[2].decode())
    assert m is not None
    return len(m.group("columns").split())


@st.composite
def tables_with_odd_rows(draw: st.DrawFn, name: str) -> bytes:
    """One or two real captures whose task tables gain generated rows (before, among and after
    the real ones), with other lines cutting some runs."""
    out: list[bytes] = []
    seq = 0
    for capture in draw(st.lists(st.sampled_from(TABLE_CAPTURES), min_size=1, max_size=2)):
        lines = capture.rstrip(b"\n").split(b"\n")
        at = next(i for i, line in enumerate(lines) if HEADER_MARK in line) + 1
        end = at
        while end < len(lines) and lines[end].partition(b";")[2].startswith(b"["):
            end += 1
        rows: list[bytes] = [as_format(name, line) for line in lines[at:end]]
        for _ in range(draw(st.integers(0, 12))):
            seq += 1
            row = draw(task_row(header_columns(capture)))
            rows.insert(draw(st.integers(0, len(rows))), printed(name, row, seq))
        cutters = [as_format(name, line) for line in NOISE_LINES[:2]]
        if name == "journal":  # another host's row, and one of no kernel
            cutters += [
                b"Nov 25 19:47:05.000001 node-b kernel: [ 77]     0    77  1  1  1  0  0 x",
                b"Nov 25 19:47:05.000002 node-a systemd[1]: [ 78]     0    78  1  1  1 y",
            ]
        for _ in range(draw(st.integers(0, 2))):
            rows.insert(draw(st.integers(0, len(rows))), draw(st.sampled_from(cutters)))
        out += [as_format(name, line) for line in lines[:at]] + rows
        out += [as_format(name, line) for line in lines[end:]]
    return b"\n".join(out) + b"\n"


def records(
    name: str, data: bytes, *, full: bool, chunks: str = "whole", host: str | None = None
) -> tuple[list[dict], list[tuple[str, bytes]]]:
    """The records and reported lines of ``data`` in format ``name``: decoding every line the
    scanner reads (``full``) or with the decoder's quick paths; fed whole, a byte at a time
    (``bytes``) or a line at a time (``lines``)."""
    reports: list[tuple[str, bytes]] = []
    options = DecodeOptions(year=2025, report=lambda reason, raw: reports.append((reason, raw)))
    decoder = FullDecoder(name, options) if full else make_decoder(name, options)
    out: list[OomRecord] = []
    scanner = LineScanner(
        decoder,  # type: ignore[arg-type]
        Assembler(),
        out.append,
        normalise=make_normaliser(host=host),
    )
    if chunks == "bytes":
        for i in range(len(data)):
            scanner.feed(data[i : i + 1])
    elif chunks == "lines":
        for line in data.split(b"\n")[:-1]:
            scanner.feed_line(line)
    else:
        scanner.feed(data)
    scanner.finish()
    return [record.as_dict() for record in out], reports


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(RUN_FORMATS), st.sampled_from(["whole", "lines", "bytes"]))
def test_rows_in_runs_give_the_records_of_reading_each_row(
    data: st.DataObject, name: str, chunks: str
) -> None:
    """Generated rows among a capture's rows, runs cut by other lines and by reads: the records
    (and reports) of decoding every line."""
    stream = data.draw(tables_with_odd_rows(name))
    expected = records(name, stream, full=True)
    assert records(name, stream, full=False, chunks=chunks) == expected
    assert len(expected[0]) >= stream.count(b"Killed process")
    assert all(record["task_count"] is not None for record in expected[0])


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.name)
@pytest.mark.parametrize("chunks", ["whole", "lines", "bytes"])
def test_every_fixture_with_a_task_table_reads_alike(path: Path, chunks: str) -> None:
    """Every fixture with a task table, in its format (detected) and, for the formats with
    quick_run, named: the quick paths give the records of decoding every line, however the
    bytes come."""
    data = path.read_bytes()
    names = ["auto", *_run_format_of(path)]
    for name in names:
        expected = records(name, data, full=True)
        assert expected[0], name
        assert records(name, data, full=False, chunks=chunks) == expected, name


def _run_format_of(path: Path) -> list[str]:
    """The format of quick_run a fixture is in, by its name: [] for other formats."""
    kind = path.suffix[1:]
    if kind == "kmsg" or kind == "dmesg" or kind.startswith("dmesg-"):
        return [kind.partition("-")[0]]
    return ["journal"] if kind.startswith("journal-short") else []


def _counting_runs(counts: list[int]) -> Callable[[ReportEvidence, list], None]:
    take = ReportEvidence.on_task_run

    def counted(self: ReportEvidence, rows: list) -> None:
        counts.append(len(rows))
        take(self, rows)

    return counted


@pytest.mark.parametrize("name", RUN_FORMATS)
def test_plain_rows_are_taken_in_runs(name: str) -> None:
    """The rows of the real captures (plain names) are read in runs, each table at once, not
    row by row: the fast path is the one taken."""
    for capture in TABLE_CAPTURES:
        lines = capture.split(b"\n")
        stream = b"\n".join(as_format(name, line) for line in lines)
        tables = []  # the number of rows of each table
        plain = 0  # rows without an escape
        for i, line in enumerate(lines):
            if HEADER_MARK in line:
                tables.append(0)
                while lines[i + 1 + tables[-1]].partition(b";")[2].startswith(b"["):
                    plain += b"\\x" not in lines[i + 1 + tables[-1]]
                    tables[-1] += 1
        counts: list[int] = []
        with mock.patch.object(ReportEvidence, "on_task_run", _counting_runs(counts)):
            records(name, stream, full=False)
        if b"\\x" not in capture:  # no escaped comm: every row fits the shape
            assert counts == tables, capture[:80]
        assert sum(counts) == plain  # runs go on after a row they cannot take


def test_100000_rows_in_one_read_stay_small() -> None:
    """A table of 10^5 rows fed in one piece: the right count and top 5, and memory of a few MB
    (runs are taken a bounded stretch at a time, not the whole table's groups at once)."""
    capture = (DATA / "real" / "simple-memcg.kmsg").read_bytes()
    lines = capture.rstrip(b"\n").split(b"\n")
    at = next(i for i, line in enumerate(lines) if HEADER_MARK in line) + 1
    sizes = {pid: (pid * 7919) % 100_003 for pid in range(10_000, 110_000)}
    rows = [
        b"6,968,1194840967,-;[%7d]  1000 %5d    90000 %8d %8d 0 0 65536 0 0 task-%d"
        % (pid, pid, rss, rss, pid)
        for pid, rss in sizes.items()
    ]
    data = b"\n".join([*lines[:at], *rows, *lines[at:]]) + b"\n"
    del rows
    out: list[OomRecord] = []
    tracemalloc.start()
    scanner = LineScanner(make_decoder("kmsg", DecodeOptions()), Assembler(), out.append)
    scanner.feed(data)
    scanner.finish()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    (record,) = out
    assert record.task_count is not None and record.task_count > 100_000
    largest = sorted(sizes, key=lambda pid: (-sizes[pid], pid))[:5]
    assert record.top_tasks is not None
    assert [task["pid"] for task in record.top_tasks] == largest
    assert peak < 12 * 2**20, peak


# --- ReportEvidence alone: a run of rows against the same rows one by one ---------------------
HEADERS = [
    "[ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name",
    "[ pid ]   uid  tgid total_vm      rss cpu oom_adj name",
    "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name",
    "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
    "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes "
    "swapents oom_score_adj name",
]


def finish(evidence: ReportEvidence, victim: int, kill_kb: int | None) -> dict:
    record = OomRecord(pid=victim, anon_rss_kb=kill_kb, id="-")
    evidence.finish(record)
    return record.as_dict()


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(HEADERS),
    st.data(),
    st.integers(0, 6),
    st.sampled_from([None, 2, 5]),
)
def test_a_run_does_what_its_rows_do_one_by_one(
    header: str, data: st.DataObject, top: int, indexed: int | None
) -> None:
    """Rows of the layout's shape taken as runs (their groups), the others one by one, give the
    evidence of taking every row one by one: count, RSS, the top N with its ties, and the
    victim's row with the 64-bit rule (also when the index is full)."""
    m = TASK_HEADER_RE.match(header)
    assert m is not None
    columns = len(m.group("columns").split())
    rows = data.draw(st.lists(task_row(columns), max_size=25))
    rows = [row.replace("\n", " ") for row in rows]  # one printk line each
    if rows and data.draw(st.booleans()):  # equal RSS: ties
        rows += [rows[0].replace(rows[0][: rows[0].index("]") + 1], "[ 424242]")]
    victim = data.draw(st.sampled_from([*map(_pid_of, rows), 1]))
    kill_kb = data.draw(st.sampled_from([None, 4096, 16384]))
    limit = evidence_module.MAX_INDEXED_ROWS if indexed is None else indexed
    with mock.patch.object(evidence_module, "MAX_INDEXED_ROWS", limit):
        one_by_one = ReportEvidence(top)
        assert one_by_one.feed(header) is False
        for row in rows:
            assert one_by_one.feed(row), row
        in_runs = ReportEvidence(top)
        in_runs.feed(header)
        reader = in_runs.block_reader()
        assert reader is not None and reader.shape is not None and reader.run is not None
        shape = re.compile(reader.shape)
        run: list[tuple[bytes, ...]] = []
        for row in rows:
            fits = shape.fullmatch(row.encode()) if row.isascii() else None
            if fits is not None:
                run.append(fits.groups())
                continue
            if run:
                reader.run(run)
                run = []
            assert reader.line(row), row
        if run:
            reader.run(run)
        assert finish(in_runs, victim, kill_kb) == finish(one_by_one, victim, kill_kb)


def _pid_of(row: str) -> int:
    return int(row[1 : row.index("]")])


def test_shape_takes_only_rows_the_run_reads_as_they_are() -> None:
    """What the shape refuses (numbers past its digits, a backslash, non-ASCII, another
    column count) is left to the per-row path; a kernel row of any layout it takes."""
    header = HEADERS[3]
    evidence = ReportEvidence()
    evidence.feed(header)
    reader = evidence.block_reader()
    assert reader is not None and reader.shape is not None
    shape = re.compile(reader.shape)
    takes = [
        "[  31337]   998 31337  2134801  1986317 16146432        3             0 python3",
        "[      1]     0     1      100       10        0        0         -1000 ",
        "[      1]     0     1      100       10        0        0         -1000",
        "[      1]     0     1      100       10        0        0          9999 a: b [c] 1",
    ]
    refuses = [
        "[      1]     0     1      100       10        0        0         10000 big adj",
        "[      1]     0     1      100 1000000000000000000        0        0  0 big rss",
        "[1000000000000000000]     0     1      100       10        0        0  0 big pid",
        "[      1]     0     1      100       10        0        0             0 back\\slash",
        "[      1]     0     1      100       10        0        0             0 ünï",
        "[      1]     0     1      100       10        0             0 a column short",
        "[      1]     0     1      100       10        0        0             0 tab\tname",
    ]
    assert all(shape.fullmatch(row.encode()) for row in takes)
    assert not any(shape.fullmatch(row.encode()) for row in refuses)
