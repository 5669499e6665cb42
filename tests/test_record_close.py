"""The close path's fast forms (kill line to record written) give what their plain forms give.

- ``_apply_kill``: the victim's fields read from a kill line of every kernel's shape (and the
  bare and damaged ones) with ``KILL_RE`` are those the plain ``groupdict`` loop reads with the
  plain form of ``KILL_RE`` (the name's group closed before its ")");
- ``_bound_numbers``: the numbers a record keeps (nulls, statistics left out, task rows dropped,
  ``complete``) are those of testing every number with ``in_range``;
- ``format_time``: the stamp ``datetime.strftime`` writes, over the whole range a record allows;
- ``changed``: a copy made field by field is what ``dataclasses.replace`` makes (an empty id
  is the copy's own, before the changes), and shares nothing with its record but the values;
- the JSON sink writes a record (a dataclass without slots, from its ``__dict__``) with the
  record's keys in their order and nothing else, also after the enrichers copied it.
"""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import timedelta
from typing import Any

import orjson
import pytest
from helpers import KMSG_CAPTURES, run_pipeline
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oom_input.assembler import (
    KILL_BARE_RE,
    KILL_PID_RE,
    KILL_RE,
    _apply_kill,
    _bound_numbers,
)
from oom_input.enrich import kubernetes_enricher
from oom_input.evidence import SYSTEM_MEMORY_KEYS, TOP_TASK_KEYS
from oom_input.numbers import MAX_NUMBER, in_range, parse_int
from oom_input.sinks.jsonl import JsonLinesSink
from oom_input.timefmt import EPOCH, MAX_WALL_US, format_time
from oom_input.types import RECORD_FIELDS, OomRecord, changed

# --- _apply_kill --------------------------------------------------------------------------------
_KILL_FIELDS = (
    ("total_vm_kb", "total_vm"),
    ("anon_rss_kb", "anon"),
    ("file_rss_kb", "file"),
    ("shmem_rss_kb", "shmem"),
    ("pgtables_kb", "pgtables"),
    ("oom_score_adj", "adj"),
)


def plain_apply_kill(record: OomRecord, m: re.Match[str]) -> None:
    """Every group by name, set when the line has it."""
    groups = m.groupdict()
    record.pid = parse_int(groups["pid"])
    if groups.get("comm") is not None:
        record.process_name = groups["comm"]
    uid = groups.get("uid_a") or groups.get("uid_b") or groups.get("uid_c")
    if uid is not None:
        record.uid = parse_int(uid)
    for name, key in _KILL_FIELDS:
        value = groups.get(key)
        if value is not None:
            setattr(record, name, parse_int(value))


# KILL_RE as first written: its name group ends before the ")"
PLAIN_KILL_RE = re.compile(
    KILL_RE.pattern.replace(r"(?P<comm_closed>.*\))", r"(?P<comm>.*)\)"), KILL_RE.flags
)
assert PLAIN_KILL_RE.pattern != KILL_RE.pattern


numbers = st.one_of(
    st.integers(0, 10**6).map(str),
    st.integers(0, 10**25).map(str),
    st.integers(60, 80).map(lambda n: "9" * n),  # past parse_int's plain digits
)
names = st.one_of(
    st.text(alphabet="ab (),:-_0123456789\n", max_size=12),
    # names that hold a kill line's own tail: the name ends at the last ")" the rest allows
    st.sampled_from(
        [
            "a) total-vm:1kB, anon-rss:2kB, file-rss:3kB",
            "x) total-vm:1kB, anon-rss:2kB, file-rss:3kB) (y",
            "b), UID 5, total-vm:1kB, anon-rss:2kB, file-rss:3kB, shmem-rss:0kB",
            ")",
            "((",
        ]
    ),
)


@st.composite
def kill_lines(draw: st.DrawFn) -> str:
    """A kill line of one of the kernels' shapes (assembler.KILL_RE's comment), or a bare or
    damaged one."""
    pid, uid, vm, anon, file, shmem, pgt = (draw(numbers) for _ in range(7))
    adj = draw(st.sampled_from(["0", "-1000", "999", "-" + "9" * 70]))
    name = draw(names)
    reason = draw(st.sampled_from(["", "Memory cgroup out of memory: ", "Out of memory: "]))
    sizes = f"total-vm:{vm}kB, anon-rss:{anon}kB, file-rss:{file}kB"
    shape = draw(st.integers(0, 7))
    if shape == 0:  # 2.6.32 (RHEL 6)
        return f"Killed process {pid}, UID {uid}, ({name}) {sizes}"
    if shape == 1:  # 3.10 (RHEL 7)
        return f"Killed process {pid} ({name}), UID {uid}, {sizes}"
    if shape == 2:  # 2.6.3x-4.x
        tail = draw(st.sampled_from(["", f", shmem-rss:{shmem}kB"]))
        return f"{reason}Killed process {pid} ({name}) {sizes}{tail}"
    if shape == 3:  # 5.x and later
        return (
            f"{reason}Killed process {pid} ({name}) {sizes}, shmem-rss:{shmem}kB, "
            f"UID:{uid} pgtables:{pgt}kB oom_score_adj:{adj}"
        )
    if shape == 7:  # 5.3: the uid alone
        return f"{reason}Killed process {pid} ({name}) {sizes}, shmem-rss:{shmem}kB, UID:{uid}"
    if shape == 4:  # very old kernels: no sizes
        return f"{reason}Killed process {pid} ({name})"
    if shape == 5:  # a damaged tail
        return f"{reason}Killed process {pid} ({name}) total-vm:{vm}"
    return f"Killed process {pid}{draw(names)}"


@settings(max_examples=300, deadline=None)  # (the machine may be loaded: no timing)
@given(kill_lines(), st.booleans())
@example("Killed process 1 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB", True)
@example("Out of memory: Killed process 7 (x y)", True)
@example("Killed process 9 (x", True)
@example(
    "Killed process 1 (a) total-vm:1kB, anon-rss:2kB, file-rss:3kB) total-vm:4kB, anon-rss:5kB, file-rss:6kB",
    False,
)
def test_apply_kill_reads_what_the_plain_loop_reads(text: str, filled: bool) -> None:
    """Over a record that already holds values (the summary's name and uid, say) or none."""
    m = KILL_RE.match(text) or KILL_BARE_RE.match(text) or KILL_PID_RE.match(text)
    plain_m = PLAIN_KILL_RE.match(text) or KILL_BARE_RE.match(text) or KILL_PID_RE.match(text)
    assert m is not None and plain_m is not None
    assert (m.re is KILL_RE) == (plain_m.re is PLAIN_KILL_RE)
    assert m.group("reason", "pid") == plain_m.group("reason", "pid")  # (what _on_kill reads)
    before = OomRecord(id="-")
    if filled:
        before = OomRecord(id="-", process_name="summary", uid=5, shmem_rss_kb=7, oom_score_adj=3)
    fast, plain = dataclasses.replace(before), dataclasses.replace(before)
    _apply_kill(fast, m, parse_int(m.group("pid")))
    plain_apply_kill(plain, plain_m)
    assert fast == plain


# --- _bound_numbers -----------------------------------------------------------------------------
_NUMBER_FIELDS = [f.name for f in dataclasses.fields(OomRecord) if f.type == "int | None"]


def plain_bound_numbers(record: OomRecord) -> None:
    """Every number tested on its own."""
    if any(getattr(record, name) is not None for name in _NUMBER_FIELDS) and not all(
        in_range(getattr(record, name))
        for name in _NUMBER_FIELDS
        if getattr(record, name) is not None
    ):
        for name in _NUMBER_FIELDS:
            value = getattr(record, name)
            if value is not None and not in_range(value):
                setattr(record, name, None)
        record.complete = False
    if record.memcg_stats and not all(in_range(v) for v in record.memcg_stats.values()):
        record.memcg_stats = {k: v for k, v in record.memcg_stats.items() if in_range(v)}
    if record.system_memory is not None:
        record.system_memory = {
            k: v if v is None or in_range(v) else None for k, v in record.system_memory.items()
        }
    if record.top_tasks:
        record.top_tasks = [
            task
            for task in record.top_tasks
            if all(in_range(v) for v in task.values() if isinstance(v, int))
        ]


# numbers at and around the 64-bit bounds, small ones, and None
values = st.one_of(
    st.none(),
    st.integers(-1000, 10**6),
    st.sampled_from([MAX_NUMBER, -MAX_NUMBER, MAX_NUMBER + 1, -MAX_NUMBER - 1, 0, 1 << 64]),
    st.integers(-(2**80), 2**80),
)
# a task's name is text; its swap and oom_score_adj may be unknown (layouts without them)
tasks = st.fixed_dictionaries(
    {
        key: st.text(max_size=5)
        if key == "name"
        else values
        if key in ("swap_kb", "oom_score_adj")
        else values.filter(lambda v: v is not None)
        for key in TOP_TASK_KEYS
    }
)


@st.composite
def records(draw: st.DrawFn) -> OomRecord:
    fields: dict[str, Any] = {name: draw(values) for name in _NUMBER_FIELDS}
    if draw(st.booleans()):
        fields["memcg_stats"] = draw(
            st.dictionaries(st.text("abc_", min_size=1, max_size=4), values.filter(bool))
        )
    if draw(st.booleans()):
        fields["system_memory"] = {key: draw(values) for key in SYSTEM_MEMORY_KEYS}
    if draw(st.booleans()):
        fields["top_tasks"] = draw(st.lists(tasks, max_size=5))
    return OomRecord(id="-", complete=draw(st.booleans()), **fields)


@settings(max_examples=300, deadline=None)
@given(records())
@example(OomRecord(id="-", pid=MAX_NUMBER + 1, complete=True))
# past orjson's 53-bit screen, within 64 bits: kept, the record stays complete
@example(OomRecord(id="-", memory_limit_kb=2**60, memcg_stats={"a": 2**62}, complete=True))
@example(OomRecord(id="-", uid=-MAX_NUMBER - 1, complete=True))
@example(OomRecord(id="-", memcg_stats={"a": -(MAX_NUMBER + 1), "b": 0, "c": 1}))
@example(OomRecord(id="-", system_memory={"free_kb": 1 << 64, "ram_kb": None}))
def test_bound_numbers_keeps_what_testing_each_number_keeps(record: OomRecord) -> None:
    fast, plain = dataclasses.replace(record), dataclasses.replace(record)
    _bound_numbers(fast)
    plain_bound_numbers(plain)
    assert fast == plain


# --- format_time --------------------------------------------------------------------------------
US_PER_DAY = 86_400_000_000


def plain_format_time(wall_us: int | None) -> str | None:
    if wall_us is None or not 0 <= wall_us <= MAX_WALL_US:
        return None
    return (EPOCH + timedelta(microseconds=wall_us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@settings(max_examples=1000, deadline=None)
@given(
    st.one_of(
        st.none(),
        st.integers(-(10**6), MAX_WALL_US + 10**6),
        # midnights and the µs before them, leap days, the ends of the range
        st.integers(0, MAX_WALL_US // US_PER_DAY).map(lambda day: day * US_PER_DAY),
        st.integers(1, MAX_WALL_US // US_PER_DAY + 1).map(lambda day: day * US_PER_DAY - 1),
        st.sampled_from([0, 1, 951_782_400_000_000, 4_107_542_399_999_999, MAX_WALL_US]),
    )
)
def test_format_time_writes_what_strftime_writes(wall_us: int | None) -> None:
    assert format_time(wall_us) == plain_format_time(wall_us)


# --- the JSON sink ------------------------------------------------------------------------------


def test_records_are_written_with_their_keys_in_order() -> None:
    """Every record of every kmsg capture (through the pipeline, enrichers included), and a
    record copied and changed field by field, holds exactly RECORD_FIELDS, in order."""
    records = [r for capture in KMSG_CAPTURES for r in run_pipeline([capture])]
    assert len(records) >= 3
    for record in records:
        assert list(record) == list(RECORD_FIELDS)
    copy = changed(OomRecord(**records[0]), kubernetes={"pod_name": "a"}, pid=1)
    copy.container_name = "/kubepods/besteffort/pod0b5e6c2a-3b24-4a2b-9c0e-123456789abc"
    out = io.BytesIO()
    JsonLinesSink(out).write(kubernetes_enricher(copy))
    written = orjson.loads(out.getvalue())
    assert list(written) == list(RECORD_FIELDS)
    assert (written["pid"], written["qos_class"]) == (1, "besteffort")


# --- changed -------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    records(),
    st.sampled_from(["", "-", "abc"]),
    st.dictionaries(
        st.sampled_from(RECORD_FIELDS),
        st.one_of(st.none(), st.integers(), st.text(max_size=3)),
        max_size=4,
    ),
)
def test_changed_copies_what_replace_copies(
    record: OomRecord, record_id: str, changes: dict[str, Any]
) -> None:
    record.id = record_id  # (an empty id: made again by the copy, as __init__ does)
    before = [getattr(record, name) for name in RECORD_FIELDS]
    try:
        plain = dataclasses.replace(record)
    except TypeError:  # (record_id of a number beyond 64 bits: so for the copy too)
        with pytest.raises(TypeError):
            changed(record, **changes)
        return
    for name, value in changes.items():
        setattr(plain, name, value)
    copy = changed(record, **changes)
    assert copy == plain
    assert copy is not record
    assert [getattr(record, name) for name in RECORD_FIELDS] == before  # (never changed)
