"""The record ``id``: the same kill, the same id (every run, every restart, every input format
that carries the kernel's sequence numbers); different kills, different ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_pipeline

from oom_input.identity import record_id
from oom_input.types import RECORD_FIELDS, OomRecord

DATA = Path(__file__).parent / "data"
FIXTURES = sorted(
    p
    for folder in ("real", "legacy", "decoders", "structured")
    for p in (DATA / folder).iterdir()
    if p.suffix not in (".json", ".md", ".py")
)


def _params() -> list[object]:
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in FIXTURES]


@pytest.mark.parametrize("fixture", _params())
def test_every_kill_has_its_own_id_and_every_run_the_same(fixture: Path) -> None:
    """In every fixture: ids are 32 hex digits, one per kill, equal in two runs, and equal to
    record_id of the record's own fields (a pure function)."""
    data = fixture.read_bytes()
    first = run_pipeline([data], streams=True)  # (as the CLI reads it: msgpack by its framing)
    if not first:
        pytest.skip("no record in this fixture")
    ids = [r["id"] for r in first]
    assert len(set(ids)) == len(ids), ids
    assert [r["id"] for r in run_pipeline([data], streams=True)] == ids
    for record in first:
        fields = {k: record[k] for k in RECORD_FIELDS if k != "id"}
        assert record_id(OomRecord(**fields)) == record["id"]


def test_same_kill_same_id_across_formats_with_sequence_numbers() -> None:
    """The kmsg capture, Fluent Bit's kmsg records of it and Fluent Bit exec `cat /dev/kmsg`
    of it: the same id (sequence number, kernel time and pid are the kernel's own)."""
    base = DATA / "real" / "simple-memcg.kmsg"
    ids = {
        name: [r["id"] for r in run_pipeline([path.read_bytes()])]
        for name, path in (
            ("kmsg", base),
            ("fluentbit-kmsg", DATA / "structured" / "simple-memcg.json-fluentbit-kmsg-json-lines"),
            ("fluentbit-exec", DATA / "structured" / "simple-memcg.json-fluentbit-exec"),
        )
    }
    assert len(ids["kmsg"]) == 1
    assert ids["fluentbit-kmsg"] == ids["kmsg"] == ids["fluentbit-exec"], ids


def test_id_does_not_depend_on_chunking_or_attribution() -> None:
    """One byte per read, or the whole file: the same id (and enrichment does not change it)."""
    data = (DATA / "real" / "two-kills-with-noise.kmsg").read_bytes()
    whole = run_pipeline([data])
    bytewise = run_pipeline([data[i : i + 1] for i in range(len(data))])
    assert [r["id"] for r in whole] == [r["id"] for r in bytewise]
    assert len({r["id"] for r in whole}) == len(whole) == 2


def test_without_sequence_numbers_host_boot_and_time_tell_kills_apart() -> None:
    """Fallback fields: the same pid at another time, or on another host, is another kill."""
    base = OomRecord(host="a", boot_id="b", kernel_time_us=10, pid=5, process_name="x")
    assert base.id == record_id(base)
    other_time = OomRecord(host="a", boot_id="b", kernel_time_us=11, pid=5, process_name="x")
    other_host = OomRecord(host="c", boot_id="b", kernel_time_us=10, pid=5, process_name="x")
    assert len({base.id, other_time.id, other_host.id}) == 3
