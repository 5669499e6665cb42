"""The syslog decoder's quick paths (``quick_text``, ``quick_run``) give what ``decode`` gives:
every line of every syslog fixture in tests/data (rsyslog's own output, #012-joined records
among them), syslog lines of odd kinds (other programs, ``<PRI>``, rsyslog's escapes, klogd
stamps and caller ids, damaged stamps, other hosts) and damaged lines; and the scanner's
records with the quick paths are those of decoding every line it reads (``FullDecoder``), read
whole, a byte at a time and a line at a time, with ``--input-format syslog`` and ``auto``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import pytest
from helpers import KMSG_CAPTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_scanner import NOISE_LINES, ODD_LINES
from test_task_rows import HEADERS, records
from test_text_fast_paths import DAMAGE as TEXT_DAMAGE
from test_text_fast_paths import damaged

from oom_input import evidence
from oom_input.decoders import _common, syslog
from oom_input.decoders._common import KERNEL_STAMP_IN_MESSAGE
from oom_input.decoders.syslog import SyslogDecoder
from oom_input.evidence import STAT_LINE_SHAPE
from oom_input.types import DecodeOptions, KernelLine

DATA = Path(__file__).parent / "data"
FIXTURES = sorted(
    [p for p in (DATA / "syslog").glob("*.syslog-*")] + list(DATA.glob("decoders/*.syslog-*"))
)
NOW_US = 1764180000 * 10**6  # 2025-11-26: "now" for stamps without a year
ZONES: list[tzinfo | None] = [timezone.utc, timezone(timedelta(hours=-5)), None]
# the shapes of the blocks read in runs: memcg statistics, each kernel's task rows
SHAPES = [STAT_LINE_SHAPE] + [evidence._layout(header).shape for header in HEADERS]  # type: ignore[union-attr]
# syslog lines a quick path must leave to decode, or read as decode does
SYSLOG_ODD_LINES = [
    b"Feb 30 10:00:00 node-a kernel: odd_date 1",  # reported: no such day
    b"2025-13-25T19:47:26+00:00 node-a kernel: odd_iso_date 2",  # reported
    b"Nov 25 19:47:26 node-a systemd[1]: odd_other 3",
    b"Nov 25 19:47:26 node-a sshd[5]: anon 1",  # another program's stats-shaped line: IGNORED
    b"Nov 25 19:47:26 node-b kernel: odd_host 4",
    b"Nov 25 19:47:26 node-\xff kernel: odd_bad_host 5",
    b"<4>Nov 25 19:47:26 node-a kernel: odd_pri 6",
    b"<4>2025-11-25T19:47:26.000007+00:00 node-a kernel: odd_pri_iso 7",
    b"<1234>Nov 25 19:47:26 node-a kernel: odd_long_pri 8",
    b"Nov 25 19:47:26 node-a kernel: [ 1.000000] odd_klogd 9",
    b"Nov 25 19:47:26 node-a kernel: [ 1.000000] [  T12] odd_caller 10",
    b"Nov 25 19:47:26 node-a kernel: [ 1.000000][T12]odd_caller_tight 11",
    b"Nov 25 19:47:26 node-a kernel: [ 1.000000]",
    b"Nov 25 19:47:26 node-a kernel: [ 1.000000] [  T12]",
    b"Nov 25 19:47:26 node-a kernel: [ 1.000000] anon 5",
    b"2025-11-25T19:47:26.000008Z node-a kernel: odd_iso 12",
    b"2025-11-25T19:47:26-05:00 node-a kernel: odd_iso_zone 13",
    b"Nov 25 19:47:26 node-a kernel: odd#012escaped 14",
    b"Nov 25 19:47:26 node-a kernel: anon 1#012file 2",
    b"Nov 25 19:47:26 node-a kernel: [  101]     0   101     1000      200      0     0        "
    b"     0 sh#011x",  # a task row with an escaped tab in its name
    b"Nov 25 19:47:26 node-a kernel: odd_cr 15\r",
    b"Nov 25 19:47:26 node-a kernel: odd_bad \xff16",
    b"Nov 25 19:47:26 kernel: odd_no_host 17",
    b"Nov 25 19:47:26 kernel kernel: odd_kernel_host 18",
    b"Nov 25 19:47:26 node-a kernel[0]: odd_pid 19",
    b"Nov 25 19:47:26 node-a kernel:odd_no_space 20",
    b"Nov 25 19:47:26 node-a kernel:",
    b"Nov 25 19:47:26.123 node-a kernel: odd_fraction 21",
    b"Nov 25 19:47:26 node-a kernel: cache 0",
    # RFC 5424
    b"<6>1 2025-11-25T19:47:26.000022+00:00 node-a kernel - - - odd_rfc5424 22",
    b"<6>1 2025-11-25T19:47:26Z node-b kernel - - - anon 23",
    b"<6>1 - - kernel - - - odd_nil 24",
    b"<6>1 - node-a kernel - - - anon 25",
    b'<4>1 2025-11-25T19:47:26Z node-a kernel - - [meta sequenceId="1"] odd_sd 26',
    b'<4>1 2025-11-25T19:47:26Z node-a kernel 7 ID [a b="x\\"] y\\\\" c="]"][z] odd_sd_esc 27',
    b"<4>1 2025-11-25T19:47:26Z node-a kernel - - - \xef\xbb\xbfodd_bom 28",
    b"<4>1 2025-11-25T19:47:26Z node-a kernel - - - \xef\xbb\xbf[ 1.000000] anon 29",
    b"<4>1 2025-11-25T19:47:26Z node-a kernel - - - [ 1.000000] [  T12] odd_caller 30",
    b"123 <6>1 2025-11-25T19:47:26Z node-a kernel - - - odd_counted 31",
    b"<6>1 2025-11-25T19:47:26Z node-a kernel - - -  odd_leading_space 32",
    b"<6>1 2025-11-25T19:47:26Z node-a kernel - - - anon 1#012file 2",
    b"<6>1 2025-11-25T19:47:26Z node-a kernel - - -",
    b"<14>1 2025-11-25T19:47:26Z node-a sshd 5 - - anon 1",  # another program: IGNORED
    b"<6>1 2025-02-30T19:47:26Z node-a kernel - - - odd_rfc5424_date 33",  # reported
    b"<6>1 2025-11-25T19:47:26Z node-a kernel - - [broken odd_sd 34",  # reported
    b"<6>1 2025-11-25T19:47:26Z node-\xff kernel - - - odd_bad_host 35",
    b"<6>2 2025-11-25T19:47:26Z node-a kernel - - - odd_version 36",  # not RFC 5424: plain
    b"58 <6>1 2025-11-25T19:47:26Z node-a kernel - - - odd_frame 37"
    b"58 <6>1 2025-11-25T19:47:26Z node-a kernel - - - odd_second_frame 38",  # reported
    b"7 <6>1 2025-11-25T19:47:26Z node-a kernel - - - odd_wrong_count 39",
]
# what damages a line: the text formats' damage, and bytes that change how a syslog line reads
DAMAGE = [*TEXT_DAMAGE, b"<4>", b"Z", b"+00:00", b"#0"]
_KMSG_RECORD = re.compile(rb"\d+,\d+,(\d+),[^;]*;(.*)")
_KMSG_ESCAPE = re.compile(rb"\\x([0-9a-f]{2})")
_STAT = re.compile(rb"[a-z][a-z0-9_]* -?\d+")


def _rsyslog_escaped(match: re.Match[bytes]) -> bytes:
    """A /dev/kmsg escape as rsyslog writes the byte: a control character as #ooo."""
    code = int(match[1], 16)
    return b"#%03o" % code if code < 0x20 else bytes([code])


def as_syslog(
    line: bytes,
    *,
    iso: bool,
    pri: bool,
    klogd: bool,
    caller: bool,
    host: bytes | None,
    rfc5424: bool = False,
) -> bytes:
    """A kmsg record as rsyslog writes it in a style (other lines as they are); ``rfc5424``: an
    RFC 5424 line (``iso`` False: a nil stamp; ``pri``: an octet count, structured data and a
    byte order mark)."""
    record = _KMSG_RECORD.fullmatch(line)
    if record is None:
        return line
    usec = int(record[1])
    minute, second, micros = usec // 60_000_000 % 60, usec // 10**6 % 60, usec % 10**6
    if iso:
        stamp = b"2025-11-25T19:%02d:%02d.%06d+00:00" % (minute, second, micros)
    else:
        stamp = b"Nov 25 19:%02d:%02d" % (minute, second)
    text = _KMSG_ESCAPE.sub(_rsyslog_escaped, record[2])
    if klogd:
        kernel = b"[%5d.%06d] " % (usec // 10**6, micros)
        text = kernel + (b"[  T%d] " % (usec % 97) if caller else b"") + text
    if rfc5424:
        return b"%s<6>1 %s %s kernel - - %s %s%s" % (
            b"%d " % (len(line) + 40) if pri else b"",
            stamp if iso else b"-",
            host or b"-",
            b'[meta sequenceId="%d" x="a\\"\\]"]' % usec if pri else b"-",
            b"\xef\xbb\xbf" if pri else b"",
            text,
        )
    return b"%s%s%s kernel: %s" % (
        b"<4>" if pri else b"",
        stamp,
        b"" if host is None else b" " + host,
        text,
    )


def joined_stats(lines: list[bytes]) -> list[bytes]:
    """The lines with each memcg statistics block as one #012-joined line (RHEL's imjournal)."""
    out: list[bytes] = []
    at = 0
    while at < len(lines):
        out.append(lines[at])
        at += 1
        if b"Memory cgroup stats for" not in out[-1]:
            continue
        parts: list[bytes] = []
        while at < len(lines):
            prefix, sep, text = lines[at].rpartition(b" kernel: ")
            if not sep:  # an RFC 5424 line (with no structured data or BOM)
                prefix, sep, text = lines[at].partition(b" kernel - - - ")
            klogd = KERNEL_STAMP_IN_MESSAGE.match(text)  # (the record's first line has it)
            bare = text if klogd is None else text[klogd.end() :]
            if not sep or not _STAT.fullmatch(bare):
                break
            if not parts:
                head = prefix + sep + (b"" if klogd is None else klogd[0])
            parts.append(bare)
            at += 1
        if parts:
            out.append(head + b"#012".join(parts))
    return out


def _fixture_lines() -> list[bytes]:
    """Every line of every syslog fixture, then the odd lines in one style and as they are."""
    lines = [line for p in FIXTURES for line in p.read_bytes().split(b"\n")]
    odd = [
        as_syslog(line, iso=False, pri=False, klogd=False, caller=False, host=b"node-a")
        for line in NOISE_LINES + ODD_LINES
    ]
    return lines + odd + SYSLOG_ODD_LINES


@contextmanager
def pinned_now() -> Iterator[None]:
    """Within it, "now" (which decides the year of a stamp without one) is NOW_US."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_common, "now_us", lambda: NOW_US)
        yield


def assert_quick_text_is_decode(lines: list[bytes], **options: Any) -> int:
    """quick_text of each line, where it answers, is the text and source ``decode`` gives,
    and neither reports anything; returns how many lines it answered."""
    reports: list[tuple[str, bytes]] = []
    answered = 0
    with pinned_now():
        decoder = SyslogDecoder(DecodeOptions(report=lambda *r: reports.append(r), **options))
        for raw in lines:
            quick = decoder.quick_text(raw)
            assert reports == []
            decoded = decoder.decode(raw)
            if quick is None:
                reports.clear()
                continue
            answered += 1
            assert reports == [], raw
            assert isinstance(decoded, KernelLine), raw
            assert quick == (decoded.text, (decoded.host, decoded.boot_id)), raw
    return answered


@pytest.mark.parametrize("year", [2025, None])
@pytest.mark.parametrize("tz", ZONES, ids=str)
def test_quick_text_reads_every_fixture_line_as_decode(year: int | None, tz: tzinfo | None) -> None:
    """Every line of the syslog fixtures (#012-joined records among them) and the odd lines:
    quick_text gives decode's text and source, and answers for most lines."""
    assert len(FIXTURES) >= 20
    lines = _fixture_lines()
    assert sum(b"#012" in line for line in lines) >= 10
    assert assert_quick_text_is_decode(lines, year=year, tz=tz) >= len(lines) * 3 // 4


def test_quick_text_takes_the_kinds_of_syslog_lines() -> None:
    """The quick path answers for every style of kernel line (else the comparisons would
    compare decode with nothing), and leaves the lines decode reports or ignores."""
    decoder = SyslogDecoder(DecodeOptions(year=2025))
    taken = {
        b"<4>Nov 25 19:47:26 node-a kernel: odd_pri 6": ("odd_pri 6", ("node-a", None)),
        b"Nov 25 19:47:26 node-a kernel: [ 1.000000] [  T12] odd_caller 10": (
            "odd_caller 10",
            ("node-a", None),
        ),
        b"2025-11-25T19:47:26-05:00 node-a kernel: odd_iso_zone 13": (
            "odd_iso_zone 13",
            ("node-a", None),
        ),
        b"Nov 25 19:47:26 node-a kernel: anon 1#012file 2": ("anon 1\nfile 2", ("node-a", None)),
        b"Nov 25 19:47:26 kernel: odd_no_host 17": ("odd_no_host 17", (None, None)),
        b"<6>1 - - kernel - - - odd_nil 24": ("odd_nil 24", (None, None)),
        b'<4>1 2025-11-25T19:47:26Z node-a kernel 7 ID [a b="x\\"] y\\\\" c="]"][z] odd_sd_esc 27': (
            "odd_sd_esc 27",
            ("node-a", None),
        ),
        b"<4>1 2025-11-25T19:47:26Z node-a kernel - - - \xef\xbb\xbf[ 1.000000] anon 29": (
            "anon 29",
            ("node-a", None),
        ),
        b"123 <6>1 2025-11-25T19:47:26Z node-a kernel - - - odd_counted 31": (
            "odd_counted 31",
            ("node-a", None),
        ),
        b"<6>1 2025-11-25T19:47:26Z node-a kernel - - -  odd_leading_space 32": (
            " odd_leading_space 32",
            ("node-a", None),
        ),
    }
    for raw, want in taken.items():
        assert decoder.quick_text(raw) == want
    left = [line for line in SYSLOG_ODD_LINES if b"_date " in line or b" kernel" not in line]
    assert len(left) == 6
    for raw in left:  # impossible dates, other programs
        assert decoder.quick_text(raw) is None, raw


@st.composite
def damaged_lines(draw: st.DrawFn) -> list[bytes]:
    """Lines of the fixtures and odd lines, cut, with bytes of DAMAGE inserted, of other
    hosts."""
    return damaged(draw, _fixture_lines(), DAMAGE)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged_lines(), st.sampled_from([2025, None]), st.sampled_from(ZONES))
def test_quick_text_reads_damaged_lines_as_decode(
    lines: list[bytes], year: int | None, tz: tzinfo | None
) -> None:
    assert_quick_text_is_decode(lines, year=year, tz=tz)


def assert_runs_are_decode(lines: list[bytes]) -> int:
    """From each line quick_text reads, quick_run of every block shape gives the lines that
    decode reads as text of the shape (its groups), of quick_text's source, with no report;
    returns how many lines the runs held."""
    reports: list[tuple[str, bytes]] = []
    buf = b"".join(line + b"\n" for line in lines)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    held = 0
    with pinned_now():
        decoder = SyslogDecoder(DecodeOptions(year=2025, report=lambda *r: reports.append(r)))
        for at, raw in enumerate(lines):
            for shape in SHAPES:
                found = decoder.quick_text(raw)
                if found is None:
                    break
                groups, end, source = decoder.quick_run(buf, starts[at], len(buf), shape)
                assert source == found[1]
                assert end in starts[at:]
                run = lines[at : starts.index(end)]
                assert len(run) == len(groups)
                held += len(run)
                for line, line_groups in zip(run, groups, strict=True):
                    decoded = decoder.decode(line)
                    assert isinstance(decoded, KernelLine), line
                    assert (decoded.host, decoded.boot_id) == source
                    text = re.fullmatch(shape, decoded.text.encode())
                    assert text is not None, line
                    assert list(text.groups()) == list(line_groups)
            assert reports == [], raw
    return held


def test_runs_of_the_fixtures_are_decode() -> None:
    """quick_run on the fixtures: the lines it takes are the shape's as decode reads them, and
    it takes the task tables of the fixtures."""
    assert assert_runs_are_decode(_fixture_lines()) >= 100


STYLES = st.fixed_dictionaries(
    {
        "iso": st.booleans(),
        "pri": st.booleans(),
        "klogd": st.booleans(),
        "caller": st.booleans(),
        "host": st.sampled_from([b"node-a", None]),
        "rfc5424": st.booleans(),
    }
)


@st.composite
def syslog_reports(draw: st.DrawFn) -> bytes:
    """Reports of the real captures in a syslog style (statistics blocks #012-joined or not),
    with noise, odd lines and damaged lines anywhere, inside their evidence blocks too."""
    style = draw(STYLES)
    lines: list[bytes] = []
    for _ in range(draw(st.integers(1, 2))):
        capture = draw(st.sampled_from(KMSG_CAPTURES)).rstrip(b"\n").split(b"\n")
        lines += [as_syslog(line, **style) for line in capture]
    if draw(st.booleans()):
        lines = joined_stats(lines)
    odd = [as_syslog(line, **style) for line in NOISE_LINES + ODD_LINES] + SYSLOG_ODD_LINES
    for _ in range(draw(st.integers(0, 12))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(odd)))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        cut = draw(st.integers(0, len(lines[at])))
        lines[at] = lines[at][:cut] + draw(st.sampled_from(DAMAGE)) + lines[at][cut:]
    return b"\n".join(lines) + b"\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(syslog_reports())
def test_runs_of_generated_reports_are_decode(stream: bytes) -> None:
    assert_runs_are_decode(stream.rstrip(b"\n").split(b"\n"))


@pytest.mark.parametrize("chunks", ["whole", "bytes", "lines"])
@pytest.mark.parametrize("name", ["syslog", "auto"])
def test_fixtures_give_the_records_of_decoding_every_line(name: str, chunks: str) -> None:
    """Each syslog fixture, read whole, a byte at a time or a line at a time: the records and
    reports of decoding every line the scanner reads."""
    for path in FIXTURES:
        data = path.read_bytes()
        expected = records(name, data, full=True, chunks=chunks)
        assert records(name, data, full=False, chunks=chunks) == expected, path.name
        assert expected[0] or b"Killed process" not in data, path.name


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(syslog_reports(), st.sampled_from(["syslog", "auto"]), st.sampled_from(["whole", "lines"]))
def test_generated_reports_give_the_records_of_decoding_every_line(
    stream: bytes, name: str, chunks: str
) -> None:
    """Reports in any syslog style with odd and damaged lines: the records and reports of
    decoding every line the scanner reads."""
    expected = records(name, stream, full=True, chunks=chunks)
    assert records(name, stream, full=False, chunks=chunks) == expected


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(syslog_reports(), st.sampled_from(["syslog", "auto"]))
def test_generated_reports_read_a_byte_at_a_time(stream: bytes, name: str) -> None:
    expected = records(name, stream, full=True)
    assert records(name, stream, full=False, chunks="bytes") == expected


@pytest.mark.parametrize("joined", [False, True])
def test_the_quick_paths_take_the_evidence_lines(joined: bool) -> None:
    """The real captures in kern.log's style (klogd stamps), their statistics blocks one line
    each or #012-joined: quick_run takes the blocks' lines in runs (the fast path is the one
    taken), and the records are those of decoding every line."""
    style = {"iso": False, "pri": False, "klogd": True, "caller": False, "host": b"node-a"}
    lines = [
        as_syslog(line, **style)  # type: ignore[arg-type]
        for capture in KMSG_CAPTURES
        for line in capture.rstrip(b"\n").split(b"\n")
    ]
    escaped = sum(b"#012" in line for line in lines)
    if joined:
        lines = joined_stats(lines)
        assert sum(b"#012" in line for line in lines) >= escaped + 10
    calls: list[int] = []
    run = SyslogDecoder.quick_run

    def counted(self: SyslogDecoder, *args: Any) -> Any:
        found = run(self, *args)
        calls.append(len(found[0]))
        return found

    data = b"\n".join(lines) + b"\n"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(syslog.SyslogDecoder, "quick_run", counted)
        got = records("syslog", data, full=False)
    assert got == records("syslog", data, full=True)
    assert len(got[0]) >= len(KMSG_CAPTURES)
    assert max(calls) >= (3 if joined else 30)  # task rows; statistics lines
