"""Memory cgroup statistics read in runs (a decoder's ``quick_run`` with STAT_LINE_SHAPE, then
``ReportEvidence.on_memcg_stat_run``, which reads a run as one JSON object) give the statistics
of reading every line on its own (``on_memcg_stat``, int() of each value).

The lines generated here hold what a damaged or crafted report may print: keys repeated,
values with leading zeros ("007", which JSON refuses), "-0", numbers up to and past the shape's
digits and past 64 bits, lines the shape refuses among them; a header with the inline (<= 4.19)
stats before them, and the MAX_STATS bound lowered so that a run crosses it.
"""

from __future__ import annotations

import re
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from oom_input import assembler as assembler_module
from oom_input import evidence as evidence_module
from oom_input.evidence import (
    MEMCG_STATS_RE,
    STAT_LINE_SHAPE,
    ReportEvidence,
    plain_stats_header_path,
    stats_header_inline,
)

SHAPE = re.compile(STAT_LINE_SHAPE)
KEYS = ["anon", "file", "kernel_stack", "pgfault", "thp_fault_alloc", "x1"]
HEADERS = ["Memory cgroup stats for /a:", "Memory cgroup stats for /a: cache:4KB rss:8KB anon:0"]


@st.composite
def stat_value(draw: st.DrawFn) -> str:
    """A value as a report may print it: digits of any count (leading zeros too), a sign."""
    digits = draw(
        st.one_of(
            st.integers(0, 2**70).map(str),
            st.text("0123456789", min_size=1, max_size=24),
            st.sampled_from(["0", "00", "007", "9" * 18, "9" * 19, "9" * 20, str(2**64)]),
        )
    )
    return ("-" if draw(st.booleans()) else "") + digits


@st.composite
def stat_line(draw: st.DrawFn) -> str:
    key = draw(
        st.one_of(st.sampled_from(KEYS), st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True))
    )
    return f"{key} {draw(stat_value())}"


def one_by_one(header: str, lines: list[str]) -> dict[str, int] | None:
    evidence = ReportEvidence()
    evidence.feed(header)
    for line in lines:
        assert evidence.feed(line), line
    return evidence._stats


def in_runs(header: str, lines: list[str]) -> tuple[dict[str, int] | None, int]:
    """The lines of the shape as runs (their groups), the others one by one; and how many
    lines the runs held."""
    evidence = ReportEvidence()
    evidence.feed(header)
    reader = evidence.block_reader()
    assert reader is not None and reader.shape == STAT_LINE_SHAPE and reader.run is not None
    run: list[tuple[bytes, ...]] = []
    held = 0
    for line in lines:
        fits = SHAPE.fullmatch(line.encode())
        if fits is not None:
            run.append(fits.groups())
            continue
        if run:
            reader.run(run)
            held += len(run)
            run = []
        assert reader.line(line), line
    if run:
        reader.run(run)
        held += len(run)
    return evidence._stats, held


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(HEADERS),
    st.lists(stat_line(), max_size=30),
    st.sampled_from([None, 3, 8]),
)
def test_a_run_gives_the_stats_of_its_lines_one_by_one(
    header: str, lines: list[str], max_stats: int | None
) -> None:
    """The same statistics, the same values (ints, never floats) in the same key order."""
    limit = evidence_module.MAX_STATS if max_stats is None else max_stats
    with mock.patch.object(evidence_module, "MAX_STATS", limit):
        expected = one_by_one(header, lines)
        found, _ = in_runs(header, lines)
    assert expected is not None and found is not None
    assert list(found.items()) == list(expected.items())
    assert all(type(value) is int for value in found.values())


def test_runs_take_the_plain_lines_and_leave_the_odd_ones() -> None:
    """Leading zeros, "-0", a key twice and 19 digits go through runs (the JSON reader's
    refusal of "007" taken back to int()); 20 digits and a 19-digit negative are left to the
    line path, which reads them as int() does."""
    lines = [
        "anon 5",
        "file 007",
        "anon -0",
        "big 9999999999999999999",
        "low -999999999999999999",
        "bigger 18446744073709551616",
        "lower -9223372036854775809",
        "file 8",
    ]
    expected = one_by_one(HEADERS[0], lines)
    found, held = in_runs(HEADERS[0], lines)
    assert found == {
        "anon": 0,
        "file": 8,
        "big": 9999999999999999999,
        "low": -999999999999999999,
        "bigger": 18446744073709551616,
        "lower": -9223372036854775809,
    }
    assert expected is not None and list(found.items()) == list(expected.items())
    assert held == 6


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["Memory cgroup stats for", " ", "/", "a", ":", "\n", " cache:4KB", "rss:8", "x"]
        ),
        max_size=8,
    )
)
def test_the_stats_header_without_the_regex_reads_as_the_regex(pieces: list[str]) -> None:
    """stats_header_inline (a 5.0+ header by its colon, others by MEMCG_STATS_RE) gives the
    regex's inline group, or None where it does not match; plain_stats_header_path gives the
    path the assembler's MEMCG_STATS_RE reads (its ``_stats`` reads it without the regex)."""
    for text in ("".join(pieces), "Memory cgroup stats for " + "".join(pieces)):
        m = MEMCG_STATS_RE.match(text)
        assert stats_header_inline(text) == (None if m is None else m.group("inline"))
        path = plain_stats_header_path(text)
        if path is not None:
            read = assembler_module.MEMCG_STATS_RE.match(text)
            assert read is not None and read.group("path") == path
