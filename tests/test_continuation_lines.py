"""Multi-line kernel records in text formats (issue 14's evidence lives in them on 5.x): util-linux
dmesg and journalctl print such a record as its first line, then the others indented without a
stamp. A continuation line is read with the line it continues: kernel text of that line's host,
or nothing when another program wrote the message (its lines are never kernel text). The
fixtures of tests/data/journalctl/ are the real journalctl's output (see the README there)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from helpers import run_pipeline
from test_stream_properties import REPORT_KEYS

from oom_input.assembler import Assembler
from oom_input.decoders import make_decoder
from oom_input.scanner import LineScanner
from oom_input.types import DecodeOptions, OomRecord

DATA = Path(__file__).parent / "data"
JOURNALCTL = sorted((DATA / "journalctl").glob("*.journal-*"))
DMESG = sorted(DATA.glob("*/*.dmesg"))
FROM_LEGACY = [
    p
    for p in JOURNALCTL
    if (DATA / "legacy" / (p.name.rsplit(".journal-", 1)[0] + ".dmesg")).exists()
]


def read(data: bytes, input_format: str = "auto") -> tuple[list[dict], list[tuple[str, bytes]]]:
    """The records and the reported lines of ``data`` in one read."""
    reports: list[tuple[str, bytes]] = []
    options = DecodeOptions(year=2025, report=lambda reason, raw: reports.append((reason, raw)))
    out: list[OomRecord] = []
    scanner = LineScanner(make_decoder(input_format, options), Assembler(), out.append)
    scanner.feed(data)
    scanner.finish()
    return [r.as_dict() for r in out], reports


def report_fields(records: list[dict]) -> list[dict]:
    return [{k: orjson.loads(orjson.dumps(r[k])) for k in REPORT_KEYS} for r in records]


def test_the_fixtures_hold_continuation_lines() -> None:
    """The journalctl and dmesg fixtures really print records on several lines."""
    assert len(FROM_LEGACY) >= 8
    for path in FROM_LEGACY:
        assert b"\n   " in path.read_bytes(), path.name
    assert sum(b"\n   " in p.read_bytes() for p in DMESG) >= 4


@pytest.mark.parametrize("path", FROM_LEGACY, ids=lambda p: p.name)
@pytest.mark.parametrize("input_format", ["auto", "journal"])
def test_journalctl_output_gives_the_records_of_the_report(path: Path, input_format: str) -> None:
    """journalctl's rendering of a legacy report gives that report's fields (the memcg statistics
    and Mem-Info counters on continuation lines included) and reports no line."""
    legacy = DATA / "legacy" / (path.name.rsplit(".journal-", 1)[0] + ".dmesg")
    want, _ = read(legacy.read_bytes())
    got, reports = read(path.read_bytes(), input_format)
    assert reports == []
    assert report_fields(got) == report_fields(want)
    assert all(r["host"] == "node-a" for r in got)


@pytest.mark.parametrize("path", DMESG, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_dmesg_continuation_lines_are_not_malformed(path: Path) -> None:
    """dmesg's indented continuation lines are read as the record's text, not reported."""
    for input_format in ("auto", "dmesg"):
        _, reports = read(path.read_bytes(), input_format)
        assert [raw for _, raw in reports if raw[:1] == b" "] == [], input_format


def test_a_programs_multi_line_message_is_never_kernel_text() -> None:
    """A program's message whose continuation lines read like a whole OOM report (header,
    summary, kill line) gives no record: the continuation lines are that program's."""
    path = DATA / "journalctl" / "app-multi-line-message.journal-short-precise"
    data = path.read_bytes()
    assert b"myapp[123]: panic" in data and b"Killed process 4242 (evil)" in data
    for input_format in ("auto", "journal"):
        records, reports = read(data, input_format)
        assert 4242 not in [r["pid"] for r in records]
        assert reports == []
    # the kernel's own report around it still gives its records
    legacy, _ = read((DATA / "legacy" / "v5.10-memcg-no-killable.dmesg").read_bytes())
    assert report_fields(records) == report_fields(legacy)
    assert [r["pid"] for r in run_pipeline([data])] == [r["pid"] for r in legacy]


def test_a_continuation_line_without_a_line_before_it_is_reported() -> None:
    """An indented line at the start of a file continues nothing: reported, never joined to the
    last line of the file before."""
    first = b"[  100.000001] Mem-Info:\n[  100.000002] active_anon:1 inactive_anon:2\n"
    second = b"                 slab_reclaimable:3 slab_unreclaimable:4\n"
    reports: list[tuple[str, bytes]] = []
    options = DecodeOptions(report=lambda reason, raw: reports.append((reason, raw)))
    scanner = LineScanner(make_decoder("dmesg", options), Assembler(), lambda r: None)
    scanner.feed(first)
    scanner.end_of_file()
    scanner.feed(second)
    scanner.finish()
    assert [raw for _, raw in reports] == [second.rstrip(b"\n")]


def test_continuation_lines_keep_their_line_whatever_the_reads() -> None:
    """Read one byte at a time or whole, the continuation lines of every journalctl fixture give
    the same records (the line they continue is found in the bytes kept, not in the last read)."""
    for path in JOURNALCTL:
        data = path.read_bytes()
        whole = run_pipeline([data])
        assert run_pipeline([data[i : i + 1] for i in range(len(data))]) == whole, path.name
