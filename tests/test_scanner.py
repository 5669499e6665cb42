"""The chunked reader: skipping lines at byte level never changes the records."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from helpers import DATA, KMSG_CAPTURES, scan_as, scan_kmsg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convert import kernel_records
from oom_input.assembler import HEADER_MARKERS, KILL_MARKERS, REPORT_MARKERS, Assembler
from oom_input.decoders import make_decoder
from oom_input.decoders._terminal import CSI
from oom_input.pipeline import STREAM_HEAD_BYTES, make_normaliser
from oom_input.registry import detect_stream
from oom_input.scanner import (
    FIND_COST,
    HIT_COST,
    PROBE_COST,
    PROBE_MIN_BYTES,
    LineScanner,
    MarkerSearch,
)
from oom_input.sources import CHUNK_BYTES
from oom_input.types import DecodeOptions, KernelLine, OomRecord

REAL = Path(__file__).parent / "data" / "real"
REPORTS = [
    (REAL / name).read_bytes()
    for name in (
        "simple-memcg.kmsg",
        "cgroupfs-guaranteed-pod-limit.kmsg",
        "systemd-besteffort-container-limit.kmsg",
    )
]
NOISE_LINES = [
    b"6,100,5000,-;eth0: link becomes ready",
    b" SUBSYSTEM=net",
    b" DEVICE=n2",
    b"4,101,5001,-;WARNING: CPU: 0 PID: 1 at kernel/foo.c:12 bar+0x1/0x2",
    b"4,102,5002,-; dump_stack_lvl+0x57/0x80",
    b"6,103,5003,-;cache 0",
    b"6,104,5004,-;Task in progress: not an oom line",
    b"3,105,5005,c;fragment of something",
    b"6,106,5006,-;memory: usage of swap is fine",
]


@st.composite
def noisy_stream(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    parts: list[bytes] = []
    for _ in range(draw(st.integers(1, 4))):
        parts += draw(st.lists(st.sampled_from(NOISE_LINES), max_size=30))
        report = draw(st.sampled_from(KMSG_CAPTURES)).rstrip(b"\n").split(b"\n")
        if draw(st.booleans()):  # truncate some reports: they must still give a record
            report = report[: draw(st.integers(1, len(report)))]
        parts += report
    parts += draw(st.lists(st.sampled_from(NOISE_LINES), max_size=10))
    data = b"\n".join(parts) + b"\n"
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=20))
    return data, cuts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(noisy_stream())
def test_chunk_boundaries_and_skipping_never_change_records(case: tuple[bytes, list[int]]) -> None:
    """Random report positions in noise and random chunk cuts give the per-line records."""
    data, cuts = case
    expected = scan_kmsg(data)
    assert scan_kmsg(data, cuts) == expected
    assert scan_kmsg(data, []) == expected
    assert len(expected) >= data.count(b"invoked oom-killer")


def test_every_report_found_in_one_big_buffer() -> None:
    """Three real reports in noise, one chunk: three complete records."""
    data = b"".join(b"\n".join(NOISE_LINES) + b"\n" + report for report in REPORTS)
    records = scan_kmsg(data, [])
    assert [(r["pid"], r["complete"]) for r in records] == [
        (3171, True),
        (3173, True),
        (3172, True),
    ]


def test_last_line_without_newline_is_read() -> None:
    """A file whose last line (the kill line) lacks a newline still gives a complete record."""
    records = scan_kmsg(REPORTS[0].rstrip(b"\n"), [])
    assert [(r["pid"], r["complete"]) for r in records] == [(3171, True)]


def test_overlong_line_is_cut_and_the_stream_goes_on() -> None:
    """A line longer than the bound is cut, reported, and the next report is still found."""
    sizes: list[int] = []
    out: list[OomRecord] = []
    scanner = LineScanner(
        make_decoder("kmsg", DecodeOptions()),
        Assembler(),
        out.append,
        on_overlong=sizes.append,
        max_line_bytes=1024,
    )
    junk = b"6,1,1,-;" + b"x" * 5000
    for i in range(0, len(junk), 700):
        scanner.feed(junk[i : i + 700])
    scanner.feed(b"\n" + REPORTS[0])
    scanner.finish()
    assert sizes and [r.pid for r in out] == [3171]


def test_byte_array_message_in_auto_mode_is_found() -> None:
    """Auto mode learns journal JSON from the first line, then finds a kill line whose MESSAGE
    is an array of bytes (the marker text is invisible in it)."""
    import orjson

    lines = [line.partition(b";")[2] for line in REPORTS[0].splitlines()]
    entries = [{"MESSAGE": "eth0: up", "_TRANSPORT": "kernel", "_HOSTNAME": "a"}]
    for text in lines:
        message: object = text.decode()
        if b"Killed process" in text:
            message = list(text.replace(b"(stress)", b"(str\\xffss)"))
        entries.append({"MESSAGE": message, "_TRANSPORT": "kernel", "_HOSTNAME": "a"})
    data = b"".join(orjson.dumps(e) + b"\n" for e in entries)
    out: list[OomRecord] = []
    scanner = LineScanner(make_decoder("auto", DecodeOptions()), Assembler(), out.append)
    scanner.feed(data)
    scanner.finish()
    assert [(r.pid, r.complete, r.host) for r in out] == [(3171, True, "a")]


def test_legacy_chosen_line_before_a_lone_kill_line_gives_the_kind() -> None:
    """4.x rate-limits the header but prints "Kill process ... sacrifice child" right before
    the kill line: the reader looks back one line, so the lone record still gets its kind."""
    data = (
        b"\n".join(NOISE_LINES)
        + (
            b"\n3,200,6000,-;Memory cgroup out of memory: Kill process 812 (java) score 990 or "
            b"sacrifice child\n3,201,6001,-;Killed process 812 (java) total-vm:1kB, anon-rss:1kB, "
            b"file-rss:0kB, shmem-rss:0kB\n"
        )
        + b"\n".join(NOISE_LINES)
        + b"\n"
    )
    records = scan_kmsg(data, [])
    assert records == scan_kmsg(data)
    assert [(r["pid"], r["kind"], r["complete"]) for r in records] == [(812, "memcg", False)]


# lines a fast path must hand back to the full decoder: written by a process, escaped, with a
# carriage return, not UTF-8, or a kernel line that is no block line; and lines it may take
ODD_LINES = [
    b"14,200,6000,-;odd_user 1",  # a process's record shaped like a stats line: IGNORED
    b"6,201,6001,-;odd\\x5fescaped 2",  # "odd_escaped 2"
    b"6,202,6002,-;odd_cr 3\r",
    b"6,203,6003,-;odd_bad \xff4",
    b"6,204,6004,c;odd_cont 5",
    b"6,205,6005,-;[ 9999]     0  9999     1000      200      0     0             0 sh",
    b"6,206,6006,-;kmem: usage 180kB, limit 9007199254740988kB, failcnt 0",
    b"6,207,6007,-;odd_plain 6",
    b"6,208,6008,-;Killed process 1 (init) in a stats line",
    # stats lines whose values a run's JSON reader refuses (a leading zero), reads as int()
    # does only within its digits ("-0", 19 digits), or leaves to the line path (20 digits),
    # and a key the block already has
    b"6,209,6009,-;odd_zeros 007",
    b"6,210,6010,-;odd_minus_zero -0",
    b"6,211,6011,-;odd_big 9999999999999999999",
    b"6,212,6012,-;odd_bigger 18446744073709551616",
    b"6,213,6013,-;odd_low -999999999999999999",
    b"6,214,6014,-;anon 5",
]


# the same for dmesg's default style, with its own odd lines
DMESG_ODD_LINES = [
    b"<14>[ 7000.000001] odd_prefixed 1",
    b"[ 7000.000002] node-a kernel: odd 2",  # journalctl -o short-monotonic: not dmesg
    b"[ 7000.000003] [T12] odd_caller 3",
    b"[ 7000.000004 <    0.000016>] odd_delta 4",
    b"[ 7000.000005] odd_cr 5\r",
    b"[ 7000.000006] odd_bad \xff6",
    b"[ 7000.000007]  odd_spaced 7",
    b"odd_unstamped 8",
]
JOURNAL_ODD_LINES = [
    b"Feb 30 10:00:00.000001 node-a kernel: odd_date 1",  # reported: no such day
    b"Nov 25 19:47:26.000002 node-a systemd[1]: odd_other 2",
    b"Nov 25 19:47:26.000003 node-b kernel: odd_host 3",
    b"Nov 25 19:47:26.000004 node-\xff kernel: odd_bad_host 4",
    b"-- Boot 0123456789abcdef0123456789abcdef --",
    b"Nov 25 19:47:26.000005 node-a kernel: [ 1.000000] odd_klogd 5",
    b"[ 7000.000006] node-a kernel: odd_monotonic 6",
    b"2025-11-25T19:47:26.000007+0000 node-a kernel: odd_iso 7",
]
_KMSG_RECORD = re.compile(rb"\d+,\d+,(\d+),[^;]*;(.*)")


def as_format(name: str, line: bytes) -> bytes:
    """A kmsg record as dmesg or journalctl prints it (odd records as they are)."""
    record = _KMSG_RECORD.fullmatch(line)
    if record is None or name == "kmsg":
        return line
    usec = int(record[1])
    if name == "dmesg":
        return b"[%5d.%06d] %s" % (usec // 10**6, usec % 10**6, record[2])
    clock = b"Nov 25 19:%02d:%02d.%06d" % (
        usec // 60_000_000 % 60,
        usec // 10**6 % 60,
        usec % 10**6,
    )
    return b"%s node-a kernel: %s" % (clock, record[2])


class FullDecoder:
    """A decoder without its quick paths (``quick_text``, ``quick_run``): the scanner decodes
    every line it reads (continuation lines with the line they continue, as the decoder does)."""

    def __init__(self, name: str, options: DecodeOptions) -> None:
        self.name = name
        self._decoder = make_decoder(name, options)
        self.continues = getattr(self._decoder, "continues", None)
        self.continuation = getattr(self._decoder, "continuation", None)

    @property
    def extra_markers(self) -> tuple[bytes, ...]:
        return self._decoder.extra_markers  # grows as auto-detection sees formats

    def __getattr__(self, name: str) -> object:
        """A format detector's asks (sample_bytes, formats_learned, decode_again): the reader
        shows it the same lines as the decoder with its quick paths."""
        if name in ("sample_bytes", "formats_learned", "decode_again"):
            return getattr(self._decoder, name)
        raise AttributeError(name)

    def decode(self, raw: bytes) -> object:
        return self._decoder.decode(raw)


def run_decoder(name: str, full: bool, data: bytes, host: str | None) -> tuple[list[dict], list]:
    """The records and the reported lines of ``data`` in format ``name``: decoding every line
    the scanner reads (``full``), or with the decoder's fast path."""
    reports: list[tuple[str, bytes]] = []
    options = DecodeOptions(year=2025, report=lambda reason, raw: reports.append((reason, raw)))
    decoder = FullDecoder(name, options) if full else make_decoder(name, options)
    out: list[OomRecord] = []
    normalise = make_normaliser(host=host)
    scanner = LineScanner(decoder, Assembler(), out.append, normalise=normalise)  # type: ignore[arg-type]
    scanner.feed(data)
    scanner.finish()
    return [r.as_dict() for r in out], reports


@st.composite
def reports_with_odd_lines(draw: st.DrawFn, name: str) -> bytes:
    """Reports with noise and odd lines anywhere, inside their evidence blocks too."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(1, 3))):
        lines += draw(st.sampled_from(KMSG_CAPTURES)).rstrip(b"\n").split(b"\n")
    odd = ODD_LINES + NOISE_LINES
    odd += {"dmesg": DMESG_ODD_LINES, "journal": JOURNAL_ODD_LINES}.get(name, [])
    for _ in range(draw(st.integers(0, 12))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(odd)))
    return b"\n".join(as_format(name, line) for line in lines) + b"\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(["kmsg", "dmesg", "journal"]), st.sampled_from([None, "h"]))
def test_evidence_fast_path_gives_the_records_of_decoding_every_line(
    data: st.DataObject, name: str, host: str | None
) -> None:
    """Lines of evidence blocks taken by the decoder's quick_text and quick_run give the
    records of decoding them, whatever lines lie among them, with and without a host set by
    normalising."""
    stream = data.draw(reports_with_odd_lines(name))
    expected = run_decoder(name, True, stream, host)
    assert run_decoder(name, False, stream, host) == expected
    assert len(expected[0]) >= stream.count(b"Killed process")


@pytest.mark.parametrize(
    ("name", "odd"),
    [("kmsg", line) for line in ODD_LINES]
    + [("dmesg", line) for line in DMESG_ODD_LINES]
    + [("journal", line) for line in JOURNAL_ODD_LINES],
)
def test_odd_line_inside_the_stats_block_is_read_as_decoding_gives_it(
    name: str, odd: bytes
) -> None:
    """Each odd line in the middle of a memcg stats block (and of the task table), in every
    capture that has both: the records of decoding every line, which see it."""
    captures = [
        data
        for data in KMSG_CAPTURES
        if b"Memory cgroup stats" in data and b"]   uid  tgid " in data
    ]
    assert len(captures) >= 3
    for capture in captures:
        report = capture.rstrip(b"\n").split(b"\n")
        stats = next(i for i, line in enumerate(report) if b"Memory cgroup stats" in line)
        rows = next(i for i, line in enumerate(report) if b"]   uid  tgid " in line)
        lines = [*report[: rows + 1], odd, *report[rows + 1 :]]
        lines = [*lines[: stats + 5], odd, *lines[stats + 5 :]]
        stream = b"\n".join(as_format(name, line) for line in lines) + b"\n"
        expected = run_decoder(name, True, stream, None)
        assert run_decoder(name, False, stream, None) == expected
        assert expected[0]


# CONTEXT lines (legacy chosen victim, memory.oom.group) as a kernel prints them: the chosen
# victim right before its kill line (<= 5.0), the group line right after the first kill (4.19+)
CHOSEN_TEXTS = [
    b"Memory cgroup out of memory: Kill process 812 (java) score 990 or sacrifice child",
    b"Out of memory: kill process 813 (php) score 5 or a child",
]
GROUP_TEXT = b"Tasks in /kubepods/pod1 are going to be killed due to memory.oom.group set"


def record_like(before: list[bytes], text: bytes) -> bytes:
    """A kmsg record of ``text`` with the sequence number and time of the last record in
    ``before`` (the kernel's times only grow)."""
    last = next((line for line in reversed(before) if _KMSG_RECORD.fullmatch(line)), b"6,1,1,-;")
    return b"%s;%s" % (last.partition(b";")[0], text)


def every_line_records(name: str, data: bytes) -> list[dict]:
    """The records of decoding every line and feeding each to the assembler, in order (no
    reader skips a line or looks back)."""
    decoder = make_decoder(name, DecodeOptions())
    assembler = Assembler()
    out: list[OomRecord] = []
    for raw in data.split(b"\n"):
        if raw:
            line = decoder.decode(raw)
            if isinstance(line, KernelLine):
                out += assembler.feed(line)
    out += assembler.flush()
    return [r.as_dict() for r in out]


# noise without any line kind's marker: a reader feeds a CONTEXT line at the next kill line or
# header (or at the end), after any line of its report that lies between; only a damaged report
# has such a line after its chosen victim, and it would move the record's last line
PLAIN_NOISE_LINES = [
    line for line in NOISE_LINES if not any(marker in line for marker in REPORT_MARKERS)
]
# every kmsg and dmesg fixture (real captures, legacy reports with their own chosen-victim
# lines), as kmsg records
CAPTURE_RECORDS = [
    [record.line for record in records]
    for path in sorted(DATA.rglob("*"))
    if path.suffix in (".kmsg", ".dmesg") and (records := kernel_records(path))
]


@st.composite
def reports_with_context_lines(draw: st.DrawFn) -> list[bytes]:
    """Real reports among noise, some cut short (the next header closes them), with chosen-victim
    lines right before kill lines, group lines right after them, and either in the noise
    between reports."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(1, 3))):
        noise = draw(st.lists(st.sampled_from(PLAIN_NOISE_LINES), max_size=4))
        texts = draw(st.lists(st.sampled_from([*CHOSEN_TEXTS, GROUP_TEXT]), max_size=2))
        for text in texts:  # (as kmsg records, any text: made below with the times before)
            noise.insert(draw(st.integers(0, len(noise))), b"6,1,1,-;" + text)
        for i, line in enumerate(noise):  # the kernel's times only grow
            record = _KMSG_RECORD.fullmatch(line)
            if record is not None and (lines or i):
                noise[i] = record_like(lines + noise[:i], record[2])
        report: list[bytes] = []
        for line in draw(st.sampled_from(CAPTURE_RECORDS)):
            if b"Killed process" in line and draw(st.booleans()):
                report.append(record_like([line], draw(st.sampled_from(CHOSEN_TEXTS))))
            report.append(line)
            if b"Killed process" in line and draw(st.booleans()):
                report.append(record_like([line], GROUP_TEXT))
        if draw(st.booleans()):
            report = report[: draw(st.integers(1, len(report)))]
        lines += noise + report
    return monotonic(lines)


def monotonic(lines: list[bytes]) -> list[bytes]:
    """The kmsg records with their times made to grow (one source's clock: a capture that is
    only noise has earlier times than a report before it)."""
    out, latest = [], 0
    for line in lines:
        record = re.fullmatch(rb"(\d+,\d+,)(\d+)(,.*)", line, re.DOTALL)
        if record is not None:
            latest = max(latest, int(record[2]))
            line = b"%s%d%s" % (record[1], latest, record[3])
        out.append(line)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports_with_context_lines(), st.sampled_from(["kmsg", "dmesg", "journal"]), st.data())
def test_context_lines_give_the_records_of_every_line(
    lines: list[bytes], name: str, data: st.DataObject
) -> None:
    """The reader feeds CONTEXT lines before each kill line and each header (in kmsg and dmesg,
    formats of one source, only while a report is open): the records are those of feeding every
    line, with chosen-victim and group lines where the kernel prints them, in reports cut short
    and between reports (journalctl's lines name their host: a format of many sources)."""
    stream, expected = _as_stream_and_records(name, lines)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    assert scan_as(name, stream, cuts) == expected
    assert scan_as(name, stream, None) == expected


def _as_stream_and_records(name: str, lines: list[bytes]) -> tuple[bytes, list[dict]]:
    """kmsg ``lines`` in format ``name`` as one stream, and the records of feeding its every
    line."""
    if name != "kmsg":  # (kmsg's dictionary lines would be continuation lines in text formats)
        lines = [line for line in lines if not line.startswith(b" ")]
    stream = b"\n".join(as_format(name, line) for line in lines) + b"\n"
    return stream, every_line_records(name, stream)


def test_a_report_cut_short_after_its_chosen_line_keeps_its_reason() -> None:
    """A report that lost its lines after the trigger's CPU line, then a legacy chosen-victim
    line: whether the stream ends there or another report's header follows, the line is read
    into its own report (the kind, from its reason) and not into the next, as feeding every line
    gives (the reader used to look for such a line only before a kill line)."""
    report = REPORTS[0].rstrip(b"\n").split(b"\n")
    cut = next(i for i, line in enumerate(report) if b"Call Trace" in line)
    chosen = record_like(report[:cut], CHOSEN_TEXTS[0])
    for name in ("kmsg", "dmesg", "journal"):
        for rest in ([], NOISE_LINES[:2] + report):
            lines = [*report[:cut], chosen, *rest]
            stream = b"\n".join(as_format(name, line) for line in lines) + b"\n"
            expected = every_line_records(name, stream)
            assert [r["kind"] for r in expected] == ["memcg"] * (1 + bool(rest))
            assert scan_as(name, stream, []) == expected
            assert scan_as(name, stream, None) == expected


# --- long searches: a marker found by its rarest byte (MarkerSearch) ----------------------------
SEARCHED = [b"Killed process ", b"invoked oom-killer:", b'"MESSAGE":[', b"-- Boot ", b"K", b"KaK"]
# pieces of haystacks: the markers, their heads and tails (near misses), bytes they hold
PIECES = [b"a", b" ", b"\n", b"K", b"[", b"B", b"Kill", b"Killed", b"ed process ", b"-- Boo"]


@st.composite
def haystacks(draw: st.DrawFn) -> bytes:
    """Bytes of up to a few times PROBE_MIN_BYTES: runs of pieces, a byte of a marker rare in
    some runs and frequent in others, markers anywhere."""
    runs = draw(
        st.lists(
            st.tuples(st.sampled_from(PIECES + SEARCHED), st.integers(1, 40_000)),
            min_size=1,
            max_size=8,
        )
    )
    return b"".join(piece * (count // len(piece) + 1) for piece, count in runs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEARCHED), st.lists(haystacks(), min_size=1, max_size=3), st.data())
def test_marker_search_finds_what_find_finds(
    marker: bytes, bufs: list[bytes], data: st.DataObject
) -> None:
    """One MarkerSearch (its byte chosen, dropped and chosen again as it goes) finds in any
    range what ``bytes.find`` finds: the first whole marker in the range (in bytes, and in
    the bytearray the msgpack decoder searches)."""
    search = MarkerSearch(marker)
    for buf in bufs:
        for _ in range(4):
            start = data.draw(st.integers(0, len(buf)))
            end = data.draw(st.integers(start, len(buf)))
            assert search.find(buf, start, end) == buf.find(marker, start, end)
            assert search.find(bytearray(buf), start, end) == buf.find(marker, start, end)


@pytest.mark.parametrize("marker", SEARCHED)
def test_marker_search_finds_a_marker_at_either_end_of_the_range(marker: bytes) -> None:
    """A marker that starts where the range starts or ends where it ends is found by its rare
    byte (the edges of the probe's range), and one byte less of the range misses it."""
    filler = b"eth0: link is up\n" * (PROBE_MIN_BYTES // 16)
    at_end = filler + marker
    search = MarkerSearch(marker)
    assert search.find(at_end, 0, len(at_end)) == len(filler)
    assert search.probe  # (found by its byte, not by find)
    assert search.find(at_end, 0, len(at_end) - 1) == -1
    assert search.find(at_end, len(filler), len(at_end)) == len(filler)
    at_start = marker + filler
    assert search.find(at_start, 0, len(at_start)) == 0
    assert search.find(at_start, 1, len(at_start)) == at_start.find(marker, 1)
    assert search.probe


class CountingBytes(bytes):
    """Bytes that count the comparisons made with them (``startswith``)."""

    compared = 0

    def startswith(self, *args: object, **kwargs: object) -> bool:
        type(self).compared += 1
        return super().startswith(*args, **kwargs)  # type: ignore[arg-type]


def test_marker_search_compares_only_where_its_rare_byte_is() -> None:
    """In log text where one of the marker's bytes is rare, the marker is compared only where
    that byte is, and found."""
    marker = b"Killed process "
    text = b"6,1,1,-;eth0: link is up, speed 1000 Mbps\n" * 3000 + b"6,2,2,-;OK\n"
    buf = CountingBytes(text * 2 + marker)
    CountingBytes.compared = 0
    assert MarkerSearch(marker).find(buf, 0, len(buf)) == len(buf) - len(marker)
    assert CountingBytes.compared == buf.count(b"K")
    assert len(buf) >= PROBE_MIN_BYTES


def test_marker_search_of_a_frequent_byte_compares_a_bounded_number_of_times() -> None:
    """A byte rare in the sample that turns frequent (a long run of it) costs a bounded number
    of comparisons before the marker is searched for as a whole, and the marker is found."""
    marker = b"Killed process "
    buf = CountingBytes(b"a" * PROBE_MIN_BYTES + b"K" * 10 * PROBE_MIN_BYTES + marker)
    search = MarkerSearch(marker)
    CountingBytes.compared = 0
    assert search.find(buf, 0, len(buf)) == len(buf) - len(marker)
    rate = (FIND_COST / len(marker) - PROBE_COST) / HIT_COST
    assert 0 < CountingBytes.compared <= len(buf) * rate + 17
    CountingBytes.compared = 0  # the next search does not try the byte again
    assert search.find(buf, 1, len(buf)) == len(buf) - len(marker)
    assert CountingBytes.compared == 0


# noise with the bytes the markers are found by (K, [, B), near misses of the markers, a run
# that makes one of those bytes frequent
PROBED_NOISE_LINES = [
    *PLAIN_NOISE_LINES,
    b"6,110,5010,-;KASLR disabled: Kill switch set",
    b"6,111,5011,-;Killed proces 1 (near miss)",
    b"6,112,5012,-;usb 1-1: [Boot] -- Boo -- Reboot",
    b"6,113,5013,-;" + b"K" * 3000,
    # journalctl's boot separators (other formats: plain lines)
    b"-- Boot 0123456789abcdef0123456789abcdef --",
    b"-- Reboot --",
]


@st.composite
def reports_in_long_noise(draw: st.DrawFn) -> list[bytes]:
    """Real reports, some cut short, with noise of up to a few times PROBE_MIN_BYTES between."""
    lines: list[bytes] = []
    for _ in range(draw(st.integers(1, 3))):
        noise = draw(st.lists(st.sampled_from(PROBED_NOISE_LINES), min_size=1, max_size=6))
        lines += noise * draw(st.integers(0, 3000 // len(noise)))
        report = draw(st.sampled_from(CAPTURE_RECORDS))
        if draw(st.booleans()):
            report = report[: draw(st.integers(1, len(report)))]
        lines += report
    return monotonic(lines)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports_in_long_noise(), st.sampled_from(["kmsg", "dmesg", "journal"]), st.data())
def test_reports_in_long_noise_give_the_records_of_every_line(
    lines: list[bytes], name: str, data: st.DataObject
) -> None:
    """Markers searched for by a rare byte over long stretches of noise (read in large pieces)
    give the records of feeding every line."""
    stream, expected = _as_stream_and_records(name, lines)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=4))
    assert scan_as(name, stream, cuts) == expected


def test_every_header_of_the_fixtures_holds_the_whole_header_marker() -> None:
    """The header's marker is longer than "invoked oom-killer:" (a faster search): every kernel's
    header holds all of it, as every header in the real and legacy fixtures does."""
    headers = [
        line
        for path in DATA.rglob("*")
        if path.is_file() and path.suffix != ".md"
        for line in CSI.sub(b"", path.read_bytes()).split(b"\n")  # (colours: as the reader)
        if b"invoked oom-killer:" in line
    ]
    assert len(headers) >= 50
    assert all(any(marker in line for marker in HEADER_MARKERS) for line in headers)


@pytest.mark.parametrize("name", ["journal", "auto"])
def test_a_reboot_line_after_a_boot_id_ends_it_in_long_noise(name: str) -> None:
    """journalctl's "-- Reboot --" (before systemd 24x) ends the boot id a "-- Boot <id> --"
    gave: the reader searches for it once a boot id is known (before, it changes nothing), and
    the records are those of feeding every line, with long noise between; with the format
    detected too (the detector learns the markers the format adds as it reads)."""
    noise = [line for line in PLAIN_NOISE_LINES if not line.startswith(b" ")] * 1000
    boot = b"-- Boot 0123456789abcdef0123456789abcdef --"
    lines = [
        *noise,
        b"-- Reboot --",  # no boot id yet: nothing to end
        *CAPTURE_RECORDS[1],
        *noise,
        boot,
        *noise,
        *CAPTURE_RECORDS[3],
        *noise,
        b"-- Reboot --",
        *noise,
        *CAPTURE_RECORDS[4],
    ]
    stream = b"\n".join(as_format("journal", line) for line in monotonic(lines)) + b"\n"
    assert len(stream) > 6 * PROBE_MIN_BYTES
    expected = every_line_records(name, stream)
    boot_id = "01234567-89ab-cdef-0123-456789abcdef"
    assert [r["boot_id"] for r in expected] == [None, boot_id, None]
    for cuts in ([], None, list(range(0, len(stream), 100_000))):
        assert scan_as(name, stream, cuts) == expected


@pytest.mark.parametrize("name", ["kmsg", "journal"])
@pytest.mark.parametrize("boundary", [PROBE_MIN_BYTES, CHUNK_BYTES])
def test_a_marker_cut_by_a_read_boundary_gives_the_records_of_every_line(
    name: str, boundary: int
) -> None:
    """The header's and the kill line's markers, each cut by a read (the sources' CHUNK_BYTES,
    the PROBE_MIN_BYTES from which MarkerSearch searches) at its first, inner and last bytes,
    after noise that makes the range searched long: the records of feeding every line."""
    noise = [line for line in PROBED_NOISE_LINES if not line.startswith(b" ")]
    report = [line for line in CAPTURE_RECORDS[2] if name == "kmsg" or not line.startswith(b" ")]
    body = b"\n".join(as_format(name, line) for line in monotonic(noise + report)) + b"\n"
    filler = as_format(name, b"6,1,1,-;eth0: link is up [K]") + b"\n"
    for marker in (*HEADER_MARKERS, *KILL_MARKERS):
        for inside in (0, 1, len(marker) // 2, len(marker) - 1):
            # the marker at boundary - inside: filler lines, then one line of the length left
            room = boundary - inside - body.index(marker)
            lines = room // len(filler) - 1
            last = room - lines * len(filler) - len(as_format(name, b"6,1,1,-;")) - 1
            pad = filler * lines + as_format(name, b"6,1,1,-;" + b"x" * last) + b"\n"
            stream = pad + body
            assert stream.index(marker) == boundary - inside
            expected = every_line_records(name, stream)
            assert expected
            assert scan_as(name, stream, [boundary]) == expected


# --- evidence blocks read in runs (LineScanner._block_lines) -------------------------------------
def _line_variants() -> list[str]:
    """Every fixture of tests/data and every report rendering read line by line (not a stream
    format such as msgpack or the journal export)."""
    from test_stream_properties import VARIANTS, variant

    return [
        name
        for name in VARIANTS
        if detect_stream(variant(name)[:STREAM_HEAD_BYTES]) is None and b"\n" in variant(name)
    ]


LINE_VARIANTS = _line_variants()


def _host_rendering(name: str, host: str) -> bytes | None:
    """The report of variant ``path@format`` rendered for another host (None: a fixture as it
    is, or a format that carries no host)."""
    from test_stream_properties import REPORTS

    from convert import LINE_FORMATS, Source

    path, _, rendering = name.partition("@")
    if rendering not in LINE_FORMATS or "host" not in LINE_FORMATS[rendering][1]:
        return None
    render, _ = LINE_FORMATS[rendering]
    return render(REPORTS[path], Source(host=host, boot_hex="b" * 32))


@st.composite
def block_streams(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    """A variant with copies of its own lines put anywhere (a counter, stats line or task row
    right after the line that opens its block, inside runs, after them), maybe interleaved line
    by line with the same report of another host, cut into reads anywhere."""
    from test_stream_properties import variant

    name = draw(st.sampled_from(LINE_VARIANTS))
    lines = variant(name).splitlines(keepends=True)
    # odd lines of the variant's own format where the scanner's own odd lines have it
    suffix = "" if "@" in name else name.rsplit(".", 1)[-1]
    odd = {"kmsg": ODD_LINES, "dmesg": DMESG_ODD_LINES}.get(suffix, [])
    for _ in range(draw(st.integers(0, 8))):
        copy = lines[draw(st.integers(0, len(lines) - 1))]
        if odd and draw(st.booleans()):
            copy = draw(st.sampled_from(odd)) + b"\n"
        lines.insert(draw(st.integers(0, len(lines))), copy)
    other = _host_rendering(name, "node-b") if draw(st.booleans()) else None
    if other is not None:
        theirs = other.splitlines(keepends=True)
        skew = draw(st.integers(0, 4))
        theirs = [b""] * skew + theirs
        merged: list[bytes] = []
        for i in range(max(len(lines), len(theirs))):
            merged += [part[i] for part in (lines, theirs) if i < len(part)]
        lines = merged
    data = b"".join(lines)
    if not data.endswith(b"\n"):
        data += b"\n"
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=6))
    return data, cuts


def _records_in_reads(full: bool, data: bytes, cuts: list[int]) -> tuple[list[dict], list]:
    reports: list[tuple[str, bytes]] = []
    options = DecodeOptions(year=2025, report=lambda reason, raw: reports.append((reason, raw)))
    decoder = FullDecoder("auto", options) if full else make_decoder("auto", options)
    out: list[OomRecord] = []
    scanner = LineScanner(decoder, Assembler(), out.append)  # type: ignore[arg-type]
    points = [0, *sorted(set(cuts)), len(data)]
    for start, stop in itertools.pairwise(points):
        if stop > start:
            scanner.feed(data[start:stop])
    scanner.finish()
    return [r.as_dict() for r in out], reports


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(block_streams())
def test_blocks_read_in_runs_give_the_records_of_decoding_every_line(
    case: tuple[bytes, list[int]],
) -> None:
    """Blocks read in runs (and the lines after them) give the records (and reports) of
    decoding every line, from every fixture and rendering, with the variant's own and odd lines
    put anywhere, in any reads, among another host's lines."""
    data, cuts = case
    expected = _records_in_reads(True, data, cuts)
    assert _records_in_reads(False, data, cuts) == expected
