"""The per-record work's fast paths give what their plain forms give.

- Mem-Info: once a report read every counter it keeps, it no longer wants the counters'
  markers, so readers skip the zone lines ("Node 0 DMA free:15360kB ...") of a system OOM. The
  records are those of wanting them until the task table (the plain rule), over every fixture in
  tests/data with a Mem-Info block, as it is and in every input format, with odd lines anywhere.
- ``reason``, ``human_kb``, ``page_size_kb`` and the victim's row against their plain forms.
"""

from __future__ import annotations

import dataclasses
from array import array
from pathlib import Path
from types import SimpleNamespace

import pytest
from helpers import run_pipeline
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import oom_input.evidence as evidence_module
from convert import LINE_FORMATS, STREAM_FORMATS, Record, Source, kernel_records
from oom_input.evidence import (
    MEMINFO_HEADERS,
    PAGE_RATIO_TOLERANCE,
    PAGE_SIZES_KB,
    TASK_HEADER_RE,
    ReportEvidence,
    human_kb,
    page_size_kb,
    reason,
)
from oom_input.types import OomRecord

DATA = Path(__file__).parent / "data"
# the Mem-Info block's first line, in each spelling (lib/show_mem.c's, an architecture's own)
HEADER_BYTES = tuple(h.encode() for h in MEMINFO_HEADERS)
# every fixture with a Mem-Info block (a system OOM's memory state)
MEMINFO_FIXTURES = sorted(
    p
    for p in DATA.rglob("*")
    if p.is_file()
    and p.suffix not in {".md", ".py", ".json"}
    and any(h in p.read_bytes() for h in HEADER_BYTES)
)
# the real and legacy ones read back into kernel records (rendered in every input format)
MEMINFO_REPORTS = {p.name: recs for p in MEMINFO_FIXTURES if (recs := kernel_records(p))}


def dmesg(recs: list[Record], source: Source) -> bytes:
    """As ``dmesg`` prints them: a record's further lines indented (the Mem-Info counters on
    lines of their own, read apart)."""
    return b"".join(
        b"[%5d.%06d] %s\n" % (r.usec // 10**6, r.usec % 10**6, r.text.replace(b"\n", b"\n  "))
        for r in recs
    )


RENDERINGS = {
    "kmsg": lambda recs, source: b"".join(r.line + b"\n" for r in recs),
    "dmesg": dmesg,
    **{name: render for name, (render, _) in {**LINE_FORMATS, **STREAM_FORMATS}.items()},
}
# lines that hold a Mem-Info counter's marker (or look like one of the lines that follow it)
ODD_TEXTS = [
    b"Node 0 DMA free:15360kB boost:0kB min:132kB low:164kB high:196kB",
    b"Node 0 active_anon:5841724kB inactive_anon:2116680kB shmem:0kB",
    b"free:1 slab_reclaimable:2 slab_unreclaimable:3",
    b" mapped:1 shmem:2 pagetables:3 bounce:0",
    b"active_anon:1 inactive_anon:2 isolated_anon:0\n slab_reclaimable:9 slab_unreclaimable:8",
    b"Mem-Info: free:9",
    b"Free swap  = 4096kB shmem:1",
    b"Free swap  = 2048kB",
    b"Total swap = 8192kB free:2",
    b"12345 pages RAM",
    b"memory: usage 1024kB, limit 2048kB, failcnt 3 free:1",
    b"memory+swap: usage 1kB, limit 2kB, failcnt 0",
    b"Memory cgroup stats for /a: cache:0KB rss:4KB shmem:0KB",
    b"[ pid ]  uid tgid total_vm rss free: name",
    b"[  pid  ]   uid  tgid total_vm      rss swapents oom_score_adj name free:",
    b"[  123]     0   123     1000      500        0             0 free: x",
]


def test_meminfo_fixtures_are_found() -> None:
    """The glob finds the system OOM captures of each layout (2.6.32, 4.14, 5.10, 6.12 arm64,
    journalctl, 32-bit ARM's own "Mem-info:")."""
    names = {p.name for p in MEMINFO_FIXTURES}
    assert len(names) >= 6
    assert {
        "rhel6-2.6.32-global-oom.dmesg",
        "v6.12-arm64-16k-global-oom.kmsg",
        "arm32-3.10-highmem-global-oom.dmesg",
    } <= names
    assert len(MEMINFO_REPORTS) >= 4


def _plain_records(data: bytes) -> list[dict]:
    """The records of the plain rule: a report wants every counter marker until its table."""
    wanted = evidence_module._wanted
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            evidence_module,
            "_wanted",
            lambda table, meminfo, ram: wanted(
                table, min(meminfo, evidence_module._SOME_COUNTERS), ram
            ),
        )
        return run_pipeline([data], streams=True)


def _with_odd_lines(recs: list[Record], odd: list[tuple[int, bytes]]) -> list[Record]:
    """The records with odd ones (the Mem-Info record's stamp, another text) inserted."""
    template = next(r for r in recs if r.text.startswith(HEADER_BYTES))
    header = next(h for h in HEADER_BYTES if template.text.startswith(h))
    out = list(recs)
    for at, text in sorted(odd, reverse=True):
        escaped = text.replace(b"\n", b"\\x0a")
        line = template.line.replace(header, escaped, 1)
        out.insert(at % (len(out) + 1), dataclasses.replace(template, line=line, text=text))
    return out


@pytest.mark.parametrize("path", MEMINFO_FIXTURES, ids=lambda p: p.name)
def test_every_meminfo_fixture_as_it_is(path: Path) -> None:
    """Each capture as it is: the records of the plain rule, system_memory read."""
    data = path.read_bytes()
    found = run_pipeline([data], streams=True)
    assert found == _plain_records(data)
    assert any(r["system_memory"] and r["system_memory"]["free_kb"] for r in found)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(MEMINFO_REPORTS)),
    st.sampled_from(sorted(RENDERINGS)),
    st.lists(st.tuples(st.integers(0, 10**6), st.sampled_from(ODD_TEXTS)), max_size=6),
)
@example(  # a task table header read before Mem-Info (after a stats line that opens a block)
    name="v5.10-global-oom.dmesg",
    rendering="dmesg",
    odd=[(73, ODD_TEXTS[13]), *[(209, ODD_TEXTS[0])] * 3, (209, ODD_TEXTS[12])],
)
def test_meminfo_fast_path_gives_the_records_of_the_plain_rule(
    name: str, rendering: str, odd: list[tuple[int, bytes]]
) -> None:
    """Every Mem-Info report in every input format, odd lines anywhere: the records of the
    plain rule."""
    data = RENDERINGS[rendering](_with_odd_lines(MEMINFO_REPORTS[name], odd), Source())
    found = run_pipeline([data], streams=True)
    assert found == _plain_records(data)
    if not any(TASK_HEADER_RE.match(text.decode()) for _, text in odd):
        # (the kernel prints Mem-Info before the task table: a report whose table header came
        # first, an odd line, reads no Mem-Info after it, in both rules)
        assert any(r["system_memory"] for r in found)


def _counters_read() -> ReportEvidence:
    evidence = ReportEvidence()
    evidence.feed("Mem-Info:")
    assert b"free:" in evidence.wanted_markers()
    evidence.feed("active_anon:1 inactive_anon:2 isolated_anon:0")
    evidence.feed(" slab_reclaimable:3 slab_unreclaimable:4")
    evidence.feed(" mapped:5 shmem:6 pagetables:7 bounce:0")
    assert b"free:" in evidence.wanted_markers()
    evidence.feed(" free:8 free_pcp:0 free_cma:0")
    return evidence


def test_zone_lines_are_not_wanted_once_the_counters_are_read() -> None:
    """What the fast path is: after the counters, the zone lines' markers are no longer wanted,
    and a zone line read all the same changes nothing."""
    evidence = _counters_read()
    assert set(evidence.wanted_markers()) == {b"]   uid  tgid ", b"Free swap"}
    evidence.feed("Node 0 DMA free:15360kB")
    evidence.feed("free:99 slab_reclaimable:99 shmem:99")
    evidence.feed("Free swap  = 1024kB")
    evidence.feed("Total swap = 2048kB")
    evidence.feed("100 pages RAM")
    assert evidence.wanted_markers() == (b"]   uid  tgid ",)
    record = OomRecord(id="-")
    evidence.finish(record)
    assert record.system_memory == {
        "free_kb": 32,
        "slab_reclaimable_kb": 12,
        "slab_unreclaimable_kb": 16,
        "shmem_kb": 24,
        "pagetables_kb": 28,
        "swap_free_kb": 1024,
        "swap_total_kb": 2048,
        "ram_kb": 400,
    }


def test_after_the_counters_only_wanted_kinds_are_read_by_their_markers() -> None:
    """After the counters a line is read only as a kind still wanted, by its marker: a header
    without the kernel's spacing, memcg lines and a second swap block change nothing (no
    reader's skipping of a line holding a counter's marker can matter)."""
    evidence = _counters_read()
    for text in (
        "[ pid ]  uid tgid total_vm rss free: name",
        "memory: usage 1024kB, limit 2048kB, failcnt 3 free:1",
        "Memory cgroup stats for /a: cache:0KB shmem:0KB",
    ):
        assert not evidence.feed(text)
        assert not evidence.in_block, text
    evidence.feed("Free swap  = 1kB")
    evidence.feed("5 pages RAM")
    evidence.feed("Free swap  = 7kB shmem:1")
    assert not evidence.in_block
    evidence.feed("[  pid  ]   uid  tgid total_vm      rss swapents oom_score_adj name")
    assert evidence.in_block
    record = OomRecord(id="-")
    evidence.finish(record)
    assert record.memcg_stats is None and record.swap_usage_kb is None
    assert record.system_memory is not None and record.system_memory["swap_free_kb"] == 1
    assert record.task_count == 0


# --- reason and its helpers against their plain forms ----------------------------------------
def plain_human_kb(kb: int) -> str:
    value, unit = float(kb), "KiB"
    for bigger in ("MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}" if value < 10 and unit != "KiB" else f"{value:.0f} {unit}"


def plain_page_size_kb(row_rss_pages: int | None, kill_rss_kb: int | None) -> int:
    if not row_rss_pages or not kill_rss_kb:
        return 4
    ratio = kill_rss_kb / row_rss_pages
    best = min(PAGE_SIZES_KB, key=lambda size: abs(ratio - size))
    return best if abs(ratio - best) <= best * PAGE_RATIO_TOLERANCE else 4


@given(
    st.one_of(
        st.integers(-(10**6), 10**20),
        st.sampled_from([1023, 1024, 10 * 1024 - 1, 10 * 1024, 1024**2, 1024**3, 1024**4 * 5]),
    )
)
def test_human_kb_is_the_plain_loop(kb: int) -> None:
    assert human_kb(kb) == plain_human_kb(kb)


@given(st.integers(-(10**7), 10**9) | st.none(), st.integers(-(10**9), 10**12) | st.none())
def test_page_size_kb_is_the_nearest_size(row: int | None, kill: int | None) -> None:
    assert page_size_kb(row, kill) == plain_page_size_kb(row, kill)


@given(st.lists(st.tuples(*[st.integers(0, 40)] * 4), max_size=30), st.integers(0, 40))
def test_victim_row_is_the_first_row_of_its_pid(rows: list[tuple[int, ...]], pid: int) -> None:
    """Pids equal to other columns' values (rss, uid, adj) do not mislead the search."""
    evidence = ReportEvidence()
    pids, sizes, uids, adjs = (array("q", [row[i] for row in rows]) for i in range(4))
    evidence._index = (pids, sizes, uids, adjs)  # the index's four columns
    expected = next((row[1:] for row in rows if row[0] == pid), None)
    assert evidence._victim_row(pid) == expected


def test_reason_of_every_fixture_record_whatever_holds_it() -> None:
    """The reason of each record of every Mem-Info fixture and real capture is the one built
    from its dict and from any object with its fields."""
    paths = [*MEMINFO_FIXTURES, *sorted((DATA / "real").glob("*.kmsg"))]
    records = [r for p in paths for r in run_pipeline([p.read_bytes()], streams=True)]
    assert len(records) >= 10
    for found in records:
        record = OomRecord(**found)
        assert reason(record) == found["reason"]
        assert reason(found) == found["reason"]
        assert reason(SimpleNamespace(**found)) == found["reason"]
