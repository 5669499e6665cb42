"""``dmesg -T`` in the language of another locale (LC_TIME): the same records as in C's."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from helpers import DATA, run_pipeline

from oom_input.decoders.dmesg import LOCAL_MONTH_UNREAD, DmesgDecoder
from oom_input.types import DecodeOptions, KernelLine

DECODERS = DATA / "decoders"
# util-linux dmesg 2.38.1 -T of one capture in one run, LC_TIME=C and other locales: the month
# names these print are read (German and Spanish "Nov"/"nov", French "nov.", Japanese "11月")
READ = ["de", "es", "fr", "ja"]
UNREAD = ["ru"]  # "ноя": no time


def lines(suffix: str) -> list[bytes]:
    return (DECODERS / f"simple-memcg.dmesg-ctime-{suffix}").read_bytes().splitlines()


def test_the_fixtures_are_one_capture_in_other_languages() -> None:
    """Each fixture is C's line for line but for the weekday and month names."""
    c = lines("c")
    for suffix in READ + UNREAD:
        other = lines(suffix)
        assert len(other) == len(c) > 50
        assert [x.partition(b"] ")[2] for x in other] == [x.partition(b"] ")[2] for x in c]
        assert other[0][:4] != c[0][:4]


def decoded_with_c(suffix: str) -> tuple[list[tuple[KernelLine, KernelLine]], list[str]]:
    """Each line of the capture in that language and the same line of C's, decoded; and what
    the first decoder reported."""
    reports: list[str] = []
    decoder = DmesgDecoder(DecodeOptions(report=lambda reason, raw: reports.append(reason)))
    c = DmesgDecoder(DecodeOptions())
    pairs = []
    for line, c_line in zip(lines(suffix), lines("c"), strict=True):
        got, want = decoder.decode(line), c.decode(c_line)
        assert isinstance(got, KernelLine) and isinstance(want, KernelLine)
        pairs.append((got, want))
    return pairs, reports


@pytest.mark.parametrize("suffix", READ)
def test_a_month_read_in_another_language_gives_cs_lines_and_records(suffix: str) -> None:
    """Every line decodes to C's text and time, and the records (format named and detected)
    are C's."""
    pairs, reports = decoded_with_c(suffix)
    for got, want in pairs:
        assert (got.text, got.wall_us, got.kernel_us) == (want.text, want.wall_us, want.kernel_us)
        assert want.wall_us is not None
    assert reports == []
    data = (DECODERS / f"simple-memcg.dmesg-ctime-{suffix}").read_bytes()
    want_records = run_pipeline([(DECODERS / "simple-memcg.dmesg-ctime-c").read_bytes()], "dmesg")
    assert want_records and want_records[0]["time_of_death"] is not None
    assert run_pipeline([data], "dmesg") == run_pipeline([data]) == want_records


@pytest.mark.parametrize("suffix", UNREAD)
def test_a_month_not_read_gives_lines_without_time_reported(suffix: str) -> None:
    """A month name that is neither English nor a number: the line is still dmesg's, its text
    C's, with no time, and reported (so the user learns to set LC_TIME=C)."""
    pairs, reports = decoded_with_c(suffix)
    for got, want in pairs:
        assert (got.text, got.wall_us, got.kernel_us) == (want.text, None, None)
    assert reports == [LOCAL_MONTH_UNREAD] * len(lines(suffix))
    records = run_pipeline([(DECODERS / f"simple-memcg.dmesg-ctime-{suffix}").read_bytes()])
    want = run_pipeline([(DECODERS / "simple-memcg.dmesg-ctime-c").read_bytes()])
    timeless = {"time_of_death", "id"}
    assert [{k: v for k, v in r.items() if k not in timeless} for r in records] == [
        {k: v for k, v in r.items() if k not in timeless} for r in want
    ]
    assert [r["time_of_death"] for r in records] == [None]


@pytest.mark.parametrize(
    "line",
    [
        b"[Sun Nov 29 14:46:14 2026] text",  # C
        b"[So Dez 29 14:46:14 2026] text",  # German December: not English
        b"[mar. 13. 29 14:46:14 2026] text",  # a number with no unit after it: not a month
        b"[x 13\xe6\x9c\x88 29 14:46:14 2026] text",  # "13月": no such month
    ],
)
def test_only_english_names_and_month_numbers_are_read(line: bytes) -> None:
    """What is no month the decoder knows is not guessed: no time, reported."""
    reports: list[str] = []
    decoded = DmesgDecoder(DecodeOptions(report=lambda reason, raw: reports.append(reason))).decode(
        line
    )
    assert isinstance(decoded, KernelLine) and decoded.text == "text"
    if line.startswith(b"[Sun "):
        assert decoded.wall_us is not None and reports == []
    else:
        assert decoded.wall_us is None and reports == [LOCAL_MONTH_UNREAD]


@pytest.mark.parametrize(
    "stamp",
    [
        "[月  1月  5 14:46:14 2026]",  # ja_JP (the fixture's)
        "[월  1월  5 14:46:14 2026]",  # ko_KR
        "[一  1月  5 14:46:14 2026]",  # zh_TW
    ],
)
def test_a_month_padded_to_two_columns_is_read(stamp: str) -> None:
    """glibc's ja_JP, ko_KR and zh_TW pad the month number of January to September to two
    columns (strftime's %b: " 1月", as ``date`` prints them): such a line is still dmesg -T's,
    read with its time."""
    line = stamp.encode() + b" stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0"
    decoded = DmesgDecoder(DecodeOptions(tz=timezone.utc)).decode(line)
    assert isinstance(decoded, KernelLine)
    assert decoded.text.startswith("stress invoked oom-killer: ")
    assert (
        decoded.wall_us
        == int(datetime(2026, 1, 5, 14, 46, 14, tzinfo=timezone.utc).timestamp()) * 10**6
    )


def test_a_january_capture_gives_the_records_of_november() -> None:
    """The ja capture with January's padded stamps: the report's records, with a time."""
    january = (DECODERS / "simple-memcg.dmesg-ctime-ja-january").read_bytes()
    assert january.startswith("[月  1月  5 14:46:14 2026] ".encode())
    november = run_pipeline([(DECODERS / "simple-memcg.dmesg-ctime-ja").read_bytes()], "dmesg")
    got = run_pipeline([january], "dmesg")
    assert run_pipeline([january]) == got
    timed = {"time_of_death", "id"}
    assert [{k: v for k, v in r.items() if k not in timed} for r in got] == [
        {k: v for k, v in r.items() if k not in timed} for r in november
    ]
    assert [r["time_of_death"][:9] for r in got] == ["2026-01-0"]  # (the 4th-6th: any zone)
