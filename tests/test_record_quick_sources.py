"""JSON records' quick_text remembers the (host, boot id) of each pair of host and boot id values
(``RecordReader._own_source``): it gives what decoding the record gives, over every line of
every JSON record fixture in tests/data, with the values repeated, changed between records
(merged hosts) and damaged."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oom_input.decoders import make_decoder
from oom_input.decoders._records import BOOT_ID_KEYS, HOST_KEYS
from oom_input.types import DecodeOptions, KernelLine

STRUCTURED = Path(__file__).parent / "data" / "structured"
FIXTURES = sorted(STRUCTURED.glob("*.journal-json*")) + sorted(STRUCTURED.glob("*.json-*"))
LINES = [line for p in FIXTURES for line in p.read_bytes().split(b"\n") if line]
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


@st.composite
def records_of_merged_hosts(draw: st.DrawFn) -> list[bytes]:
    """Fixture lines whose host and boot id values are changed (to odd values too)."""
    out = []
    for _ in range(draw(st.integers(1, 30))):
        value = orjson.loads(draw(st.sampled_from(LINES)))
        record = _record_of(value)
        if record is not None:
            for key in [k for k in record if k in HOST_KEYS]:
                record[key] = draw(st.sampled_from(HOSTS))
            for key in [k for k in record if k in BOOT_ID_KEYS]:
                record[key] = draw(st.sampled_from(BOOT_IDS))
            if draw(st.booleans()):
                record[draw(st.sampled_from(["_HOSTNAME", "host"]))] = draw(st.sampled_from(HOSTS))
        out.append(orjson.dumps(value))
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records_of_merged_hosts(), st.sampled_from(["json", "journal-json", "auto"]))
def test_quick_sources_of_merged_and_odd_hosts(lines: list[bytes], decoder_name: str) -> None:
    """Records of changing hosts and boot ids, odd values among them: quick_text is decode's."""
    _readings(decoder_name, lines)
