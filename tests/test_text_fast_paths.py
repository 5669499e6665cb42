"""The text decoders' fast paths give what their general paths give: dmesg's default style read
at once (``DEFAULT_STAMP``), journalctl's short kernel lines read at once (``SHORT_KERNEL``),
and the stamp seconds a decoder remembers (``StampSeconds``). Each fast path is compared with
the general one (the fast pattern replaced by one that never matches) over every line of every
fixture of its format in tests/data, damaged lines and merged hosts among them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scanner import (
    DMESG_ODD_LINES,
    JOURNAL_ODD_LINES,
    NOISE_LINES,
    ODD_LINES,
    as_format,
    reports_with_odd_lines,
)

from oom_input.assembler import Assembler
from oom_input.decoders import _common, decoder_class, dmesg, journal, make_decoder
from oom_input.decoders._common import StampSeconds, civil_wall_us
from oom_input.scanner import LineScanner
from oom_input.types import DecodeOptions, OomRecord

DATA = Path(__file__).parent / "data"
FIXTURES = {
    "dmesg": sorted(DATA.glob("*/*.dmesg*")),
    "journal": sorted(DATA.glob("*/*.journal-short*")),
}
ODD = {"dmesg": DMESG_ODD_LINES, "journal": JOURNAL_ODD_LINES}
NEVER = re.compile(rb"(?!)")  # a fast pattern that never matches: the general path
NOW_US = 1764180000 * 10**6  # 2025-11-26: "now" for stamps without a year
ZONES: list[tzinfo | None] = [
    timezone.utc,
    timezone(timedelta(hours=-5)),
    timezone(timedelta(hours=5, minutes=45)),
    ZoneInfo("Europe/Berlin"),
    ZoneInfo("Australia/Lord_Howe"),  # a half-hour DST shift
    None,  # the local zone
]
# what damages a line: bytes that change how a stamp, a host or a message reads
DAMAGE = [
    b"\r",
    b"\xff",
    b" ",
    b"\t",
    b"[",
    b"]",
    b":",
    b".",
    b"0",
    b" kernel",
    b" kernel:",
    b" kernel[12]: ",
    b"[ 12.345678] ",
    b"[  T12] ",
    b"Feb 29 ",
    b"-- Boot 0123456789abcdef0123456789abcdef --",
    b"-- Reboot --",
    b"#012",  # rsyslog's escape of a newline: such a line is no journalctl line
    b"#011",
]


def _lines(name: str) -> list[bytes]:
    """Every line of every fixture of format ``name``, then the odd lines the scanner tests
    use, in that format."""
    lines = [line for p in FIXTURES[name] for line in p.read_bytes().split(b"\n")]
    odd = [as_format(name, line) for line in NOISE_LINES + ODD_LINES] + ODD[name]
    return lines + odd


@contextmanager
def general_path(general: bool) -> Iterator[None]:
    """Within it, the decoders take their general paths (when ``general``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_common, "now_us", lambda: NOW_US)
        if general:
            patch.setattr(dmesg, "DEFAULT_STAMP", NEVER)
            patch.setattr(journal, "SHORT_KERNEL", NEVER)
        yield


def readings(name: str, lines: list[bytes], general: bool, **options: Any) -> list[Any]:
    """Per line in stream order, on one decoder: quick_text, decode and continuation (of the
    line before), each with what it reported."""
    reports: list[tuple[str, bytes]] = []

    def taken() -> list[tuple[str, bytes]]:
        out = list(reports)
        reports.clear()
        return out

    out: list[Any] = []
    with general_path(general):
        decoder: Any = decoder_class(name)(
            DecodeOptions(report=lambda *r: reports.append(r), **options)
        )
        head = None
        for raw in lines:
            quick = (decoder.quick_text(raw), taken())
            out.append(
                (quick, (decoder.decode(raw), taken()), (decoder.continuation(raw, head), taken()))
            )
            head = raw
    return out


def assert_same_readings(name: str, lines: list[bytes], **options: Any) -> int:
    """The general path's lines and reports; quick_text, where it answers, is the text and
    source of that line, which reports nothing. Returns how many lines quick_text answered."""
    answered = 0
    general = readings(name, lines, True, **options)
    for (quick, decoded, continued), (_, want, want_continued) in zip(
        readings(name, lines, False, **options), general, strict=True
    ):
        assert (decoded, continued) == (want, want_continued)
        assert quick[1] == []
        if quick[0] is not None:
            answered += 1
            line, reports = want
            assert reports == []
            assert quick[0] == (line.text, (line.host, line.boot_id))
    return answered


@pytest.mark.parametrize("name", sorted(FIXTURES))
@pytest.mark.parametrize("year", [2025, None])
@pytest.mark.parametrize("tz", ZONES, ids=str)
def test_fast_path_reads_every_fixture_line_as_the_general_path(
    name: str, year: int | None, tz: tzinfo | None
) -> None:
    """Every line of the format's fixtures (all its styles), and odd lines: the same lines,
    quick texts and reports, in any zone, with and without a configured year."""
    assert len(FIXTURES[name]) >= 8
    lines = _lines(name)
    assert assert_same_readings(name, lines, year=year, tz=tz) >= len(lines) // 4


def test_the_fast_paths_take_the_common_lines() -> None:
    """The fast patterns match the default-style lines of the fixtures (else the comparisons
    above would compare the general path with itself)."""
    for name, pattern in (("dmesg", dmesg.DEFAULT_STAMP), ("journal", journal.SHORT_KERNEL)):
        lines = _lines(name)
        assert sum(pattern.match(line) is not None for line in lines) >= len(lines) // 4


@st.composite
def damaged_lines(draw: st.DrawFn, name: str) -> list[bytes]:
    """Lines of the format's fixtures, cut, with bytes of DAMAGE inserted, and of other hosts."""
    return damaged(draw, _lines(name), DAMAGE)


def damaged(draw: st.DrawFn, pool: list[bytes], damage: list[bytes]) -> list[bytes]:
    """Lines of ``pool``, cut, with bytes of ``damage`` inserted, and of other hosts."""
    out = []
    for _ in range(draw(st.integers(1, 30))):
        line = draw(st.sampled_from(pool))
        if draw(st.booleans()):
            line = line.replace(b"node-a", draw(st.sampled_from([b"node-b", b"n", b"h\xff"])))
        for _ in range(draw(st.integers(0, 3))):
            at = draw(st.integers(0, len(line)))
            if draw(st.booleans()):
                line = line[:at] + draw(st.sampled_from(damage)) + line[at:]
            else:
                line = line[:at] + line[at + draw(st.integers(1, 4)) :]
        out.append(line)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.data(),
    st.sampled_from(sorted(FIXTURES)),
    st.sampled_from([2025, None]),
    st.sampled_from(ZONES),
)
def test_fast_path_reads_damaged_lines_as_the_general_path(
    data: st.DataObject, name: str, year: int | None, tz: tzinfo | None
) -> None:
    """Damaged lines of the fixtures, of merged hosts: the same readings as the general path."""
    assert_same_readings(name, data.draw(damaged_lines(name)), year=year, tz=tz)


def scan(
    name: str, data: bytes, cuts: list[int], general: bool
) -> tuple[list[dict[str, Any]], list[tuple[str, bytes]]]:
    """The records and reports of ``data`` read by the scanner in pieces cut at ``cuts``."""
    reports: list[tuple[str, bytes]] = []
    out: list[OomRecord] = []
    with general_path(general):
        options = DecodeOptions(year=2025, report=lambda *r: reports.append(r))
        scanner = LineScanner(make_decoder(name, options), Assembler(), out.append)
        for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
            scanner.feed(data[start:end])
        scanner.finish()
    return [r.as_dict() for r in out], reports


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(sorted(FIXTURES)))
def test_fast_path_gives_the_records_of_the_general_path(data: st.DataObject, name: str) -> None:
    """Reports with odd lines anywhere, read in any pieces: the records and reports of the
    general path."""
    stream = data.draw(reports_with_odd_lines(name))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    expected = scan(name, stream, cuts, True)
    assert scan(name, stream, cuts, False) == expected
    assert len(expected[0]) >= stream.count(b"Killed process")


def _civil(
    convert: Callable[[int, int, int, bytes, int], int],
    year: int,
    month: int,
    day: int,
    clock: bytes,
    micros: int,
) -> object:
    try:
        return convert(year, month, day, clock, micros)
    except (ValueError, OverflowError) as error:
        return type(error)


# days of DST changes (a gap or a fold in the small hours) in the zones of ZONES and LOCAL_ZONES
DST_DAYS = [(2025, 3, 30), (2025, 10, 26), (2025, 4, 6), (2025, 10, 5), (2025, 3, 9), (2025, 11, 2)]
# local zones (TZ) with DST: the local zone's offset is the C library's, not zoneinfo's
LOCAL_ZONES = [None, "Europe/Berlin", "Australia/Lord_Howe", "America/St_Johns"]


@contextmanager
def local_zone(name: str | None) -> Iterator[None]:
    """Within it, the process's local zone is ``name`` (None: as it is)."""
    if name is None:
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", name)
        time.tzset()
        try:
            yield
        finally:
            patch.undo()
            time.tzset()


STAMPS = st.lists(
    st.tuples(
        st.one_of(
            st.tuples(
                st.sampled_from([1, 1970, 2024, 2025, 9999]), st.integers(1, 12), st.integers(1, 31)
            ),
            st.sampled_from(DST_DAYS),
        ),
        st.sampled_from([0, 1, 2, 3, 23]),
        st.integers(0, 59),
        st.integers(0, 59),
        st.integers(0, 999_999),
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), st.sampled_from(LOCAL_ZONES), STAMPS)
def test_remembered_seconds_are_civil_wall_us(
    tz: tzinfo | None,
    local: str | None,
    stamps: list[tuple[tuple[int, int, int], int, int, int, int]],
) -> None:
    """StampSeconds.civil_us, asked again and again (each second's µs remembered), is
    civil_wall_us: in any zone, the local one too (DST gaps and folds included), on impossible
    days and at the ends of the calendar."""
    with local_zone(local):
        seconds = StampSeconds(DecodeOptions(tz=tz))
        for (year, month, day), hour, minute, second, micros in stamps * 2:
            clock = b"%02d:%02d:%02d" % (hour, minute, second)
            plain = _civil(
                lambda y, m, d, c, us: civil_wall_us(y, m, d, c, us, tz),
                year,
                month,
                day,
                clock,
                micros,
            )
            assert _civil(seconds.civil_us, year, month, day, clock, micros) == plain
