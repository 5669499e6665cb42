"""RFC 5424 syslog lines (``<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA
MSG``): kernel lines when APP-NAME is ``kernel``, read by the syslog decoder and found by
auto-detection. tests/data/syslog/*-rfc5424 are the real rsyslog's output with
RSYSLOG_SyslogProtocol23Format (README.md there); tests/convert.py renders every report so."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest
from helpers import KMSG_CAPTURES, run_cli
from test_continuation_lines import read, report_fields
from test_syslog_quick_paths import as_syslog, assert_quick_text_is_decode, assert_runs_are_decode

from convert import Source, kernel_record, kernel_records, read_kmsg, rfc3339, rsyslog_rfc5424
from oom_input.decoders import make_decoder
from oom_input.decoders.syslog import SyslogDecoder
from oom_input.types import IGNORED, DecodeOptions, KernelLine

DATA = Path(__file__).parent / "data"
SYSLOG = DATA / "syslog"
FIXTURES = sorted(SYSLOG.glob("*.syslog-rsyslog-imjournal-rfc5424"))
CAPTURE = (DATA / "real" / "simple-memcg.kmsg").read_bytes()
WALL_US = int(datetime(2026, 11, 30, 1, tzinfo=timezone.utc).timestamp()) * 10**6


def decode(line: bytes, input_format: str = "auto") -> KernelLine:
    decoded = make_decoder(input_format, DecodeOptions()).decode(line)
    assert isinstance(decoded, KernelLine), line
    return decoded


def test_the_kernel_lines_of_the_brief_are_read() -> None:
    """Host, wall time (fraction and offset) and the kernel's text, found by auto-detection."""
    kill = decode(
        b"<6>1 2026-11-30T01:00:00.123456+00:00 node1 kernel - - - Memory cgroup out of memory: "
        b"Killed process 3171 (stress)"
    )
    assert kill.text == "Memory cgroup out of memory: Killed process 3171 (stress)"
    assert (kill.host, kill.wall_us, kill.kernel_us) == ("node1", WALL_US + 123456, None)
    assert kill.source_format == "syslog"
    stats = decode(
        b'<4>1 2026-11-30T02:00:00.5+01:00 node1 kernel - - [meta sequenceId="12"] '
        b"memory: usage 40960kB, limit 40960kB, failcnt 9"
    )
    assert stats.text == "memory: usage 40960kB, limit 40960kB, failcnt 9"
    assert (stats.host, stats.wall_us) == ("node1", WALL_US + 500000)


def test_nil_timestamp_and_host_give_none() -> None:
    """NILVALUE ``-`` for TIMESTAMP or HOSTNAME: no wall time, no host; a HOSTNAME that only
    starts with ``-`` is a host."""
    line = decode(b"<6>1 - - kernel - - - text")
    assert (line.text, line.wall_us, line.host) == ("text", None, None)
    assert decode(b"<6>1 - -node kernel - - - text").host == "-node"


def test_structured_data_with_escapes_is_passed_over() -> None:
    """SD elements, back to back, whose values hold escaped ``"``, ``\\`` and ``]`` (and an
    unescaped ``]``, which rsyslog lets through), and PROCID/MSGID values: the text is MSG."""
    line = decode(
        b'<6>1 2026-11-30T01:00:00Z node1 kernel 42 ID7 [exampleSDID@32473 iut="3" '
        b'eventSource="Appl\\"ication\\\\" note="a\\]b ] c"][examplePriority@32473 class="high"]'
        b"[none] Out of memory: Killed process 1 (x)"
    )
    assert line.text == "Out of memory: Killed process 1 (x)"
    assert line.host == "node1"


def test_a_byte_order_mark_before_msg_is_dropped() -> None:
    """RFC 5424 section 6.4: MSG may start with a UTF-8 BOM; a klogd stamp may follow it."""
    line = decode(b"<6>1 - node1 kernel - - - \xef\xbb\xbf[  12.345678] caf\xc3\xa9")
    assert (line.text, line.kernel_us) == ("café", 12_345_678)


def test_rsyslog_escapes_and_leading_spaces_are_read_as_the_kernel_wrote_them() -> None:
    """``#012`` in a kernel line is a newline (imjournal's multi-line records); MSG's leading
    space is the kernel's (a pr_cont fragment, a call trace line)."""
    line = decode(b"<6>1 - node1 kernel - - -  anon 1#012file 2#011x")
    assert line.text == " anon 1\nfile 2\tx"


def test_an_octet_count_before_the_line_is_passed_over() -> None:
    """RFC 6587 octet counting (fluent-plugin-syslog_rfc5424's default, a TCP stream written
    to a file): ``123 <6>1 ...``."""
    line = decode(b"71 <6>1 2026-11-30T01:00:00Z node1 kernel - - - text")
    assert (line.text, line.host, line.wall_us) == ("text", "node1", WALL_US)


def test_other_programs_lines_are_ignored() -> None:
    """APP-NAME decides (the PRI's facility does not, as for BSD lines: Fluent Bit and Vector
    write kernel lines as facility user): another program's line, OOM-shaped or not, is
    IGNORED, and a report among them gives the capture's records only."""
    decoder = SyslogDecoder(DecodeOptions())
    for line in (
        b"<14>1 2026-11-30T01:00:00Z node1 sshd 812 - - Accepted publickey",
        b"<3>1 2026-11-30T01:00:00Z node1 kernelx - - - Killed process 9 (evil)",
        b"<6>1 2026-11-30T01:00:00Z node1 - - - - Out of memory: Killed process 9 (evil)",
    ):
        assert decoder.decode(line) is IGNORED, line
    user = decoder.decode(b"<14>1 2026-11-30T01:00:00Z node1 kernel - - - text")
    assert isinstance(user, KernelLine) and user.text == "text"
    records = read_kmsg(CAPTURE)
    lines = rsyslog_rfc5424(records, Source()).splitlines(keepends=True)
    evil = (
        b"<11>1 2025-11-26T18:00:01Z node-a myapp 4242 - - stress invoked oom-killer: "
        b"gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\n"
        b"<11>1 2025-11-26T18:00:01Z node-a myapp 4242 - - Memory cgroup out of memory: "
        b"Killed process 4242 (evil) total-vm:1kB, anon-rss:1kB, file-rss:0kB, "
        b"shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0\n"
    )
    mixed = b"".join(line + (evil if n % 5 == 0 else b"") for n, line in enumerate(lines))
    for input_format in ("auto", "syslog"):
        got, reports = read(mixed, input_format)
        assert reports == []
        assert report_fields(got) == report_fields(read(CAPTURE)[0])
        assert all(r["pid"] != 4242 for r in got)


def test_malformed_lines_are_reported_and_the_stream_goes_on() -> None:
    """A line that starts as RFC 5424 does but whose header is damaged (structured data cut,
    a field missing, an empty SD-ID) is reported on stderr and read as plain text; an
    impossible date is reported and gives no time; the records around them are all there.
    (The reader decodes the lines that can matter: these hold a kill line's marker.)"""
    records = read_kmsg(CAPTURE)
    broken = [
        b'<6>1 2025-11-26T18:00:01Z node-a kernel - - [meta x="1 Killed process',
        b"<6>1 2025-11-26T18:00:01Z node-a kernel Killed process",
        b"<6>1 - node-a kernel - - [] Killed process",
    ]
    lines = rsyslog_rfc5424(records, Source()).splitlines(keepends=True)
    stream = b"".join(broken[n % 3] + b"\n" + line for n, line in enumerate(lines))
    stream += b"<6>1 2025-02-30T18:00:01Z node-a kernel - - - Killed process\n"
    result = run_cli("-v", "--input-format", "auto", stdin=stream)
    assert result.returncode == 0, result.stderr
    want = [orjson.dumps(r) for r in report_fields(read(CAPTURE)[0])]
    got = [
        orjson.dumps(r) for r in report_fields(list(map(orjson.loads, result.stdout.splitlines())))
    ]
    assert got == want
    assert b" malformed input lines (" in result.stderr
    assert b"(broken RFC 5424 syslog header): " in result.stderr
    for input_format in ("auto", "syslog"):
        got_records, _ = read(stream, input_format)
        assert report_fields(got_records) == report_fields(read(CAPTURE)[0])
    reports: list[str] = []
    decoder = SyslogDecoder(DecodeOptions(report=lambda reason, raw: reports.append(reason)))
    assert [decoder.decode(line) for line in broken] == [None] * 3
    impossible = decoder.decode(stream.splitlines()[-1])
    assert isinstance(impossible, KernelLine) and impossible.wall_us is None
    assert reports == ["broken RFC 5424 syslog header"] * 3 + ["impossible timestamp"]


def test_other_versions_and_shapes_are_not_rfc5424() -> None:
    """VERSION 2, a dmesg -r line and a BSD line with a PRI are not read as RFC 5424 (nor
    reported as broken)."""
    reports: list[str] = []
    decoder = SyslogDecoder(DecodeOptions(report=lambda reason, raw: reports.append(reason)))
    assert decoder.decode(b"<6>2 2026-11-30T01:00:00Z node1 kernel - - - x") is None
    assert decoder.decode(b"<6>[    1.000000] x") is None
    bsd = decoder.decode(b"<6>Nov 30 01:00:00 node1 kernel: x")
    assert isinstance(bsd, KernelLine) and bsd.text == "x"
    assert reports == []


def test_the_fixtures_are_what_the_renderer_writes() -> None:
    """The real rsyslog's RSYSLOG_SyslogProtocol23Format output is byte for byte what
    convert.rsyslog_rfc5424 renders for the same records: the rendering every report is drawn
    in (test_stream_properties, test_golden) is rsyslog's."""
    assert len(FIXTURES) == 9
    for path in FIXTURES:
        name = path.name.split(".syslog-", 1)[0]
        if name == "control-characters":
            records = [kernel_record(6, 1, 1_000_000, _control_probe())]
        elif name == "newline-name":
            records = read_kmsg(CAPTURE.replace(b"stress", b"str\\x0ass"))
        else:
            (report,) = [p for p in (DATA / "legacy").glob(name + ".*") if p.suffix != ".json"]
            found = kernel_records(report)
            assert found is not None
            records = found
        assert rsyslog_rfc5424(records, Source()) == path.read_bytes(), path.name


def _control_probe() -> bytes:
    from data.syslog.capture import CONTROL_PROBE  # (the fixture's own record)

    return CONTROL_PROBE


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixtures_give_the_records_of_their_reports_by_name_and_auto(path: Path) -> None:
    """Each real rsyslog file gives its report's records, the same with ``syslog`` and
    ``auto``, with no report."""
    by_name, reports = read(path.read_bytes(), "syslog")
    auto, auto_reports = read(path.read_bytes())
    assert reports == auto_reports == []
    assert report_fields(by_name) == report_fields(auto)
    assert all(r["host"] == "node-a" for r in auto)


@pytest.mark.parametrize("host", [b"node-a", None])
@pytest.mark.parametrize("extras", [False, True])
def test_the_quick_paths_take_rfc5424_lines_as_decode(host: bytes | None, extras: bool) -> None:
    """quick_text and quick_run give decode's texts and sources for RFC 5424 lines (rsyslog's
    files; the captures with a nil or a named host, with or without an octet count,
    structured data and a BOM), and take most of them: runs of task rows and statistics."""
    lines = [line for path in FIXTURES for line in path.read_bytes().splitlines()]
    for capture in KMSG_CAPTURES:
        style = {"iso": True, "pri": extras, "klogd": False, "caller": False, "host": host}
        records = [line for line in capture.splitlines() if not line.startswith(b" ")]
        lines += [as_syslog(line, **style, rfc5424=True) for line in records]
    assert all(re.match(rb"(\d+ )?<\d+>1 ", line) for line in lines)
    assert assert_quick_text_is_decode(lines, year=2025) >= len(lines) * 9 // 10
    assert assert_runs_are_decode(lines) >= 200


RELAYED = sorted(SYSLOG.glob("simple-memcg.syslog-rsyslog-*"))


def test_the_central_servers_files_hold_what_they_test() -> None:
    """rsyslog as a central server (capture.py RELAY_CONF) kept what the senders wrote:
    structured data with escaped quote, backslash and bracket, BOMs, another program's
    OOM-shaped messages; forwarded with each line's octet count (its newline counted)."""
    assert [p.name.split(".", 1)[1] for p in RELAYED] == [
        "syslog-rsyslog-imtcp-rfc5424",
        "syslog-rsyslog-omfwd-octet-counted",
    ]
    for path in RELAYED:
        data = path.read_bytes()
        assert b'note="a\\"b\\\\c\\]d"]' in data
        assert b" \xef\xbb\xbfstress invoked oom-killer" in data
        assert data.count(b" myapp 4242 - - ") >= 10
    forwarded = RELAYED[1].read_bytes().splitlines(keepends=True)
    for line in forwarded:
        count, _, message = line.partition(b" ")
        assert int(count) == len(message)


@pytest.mark.parametrize("path", RELAYED, ids=lambda p: p.name)
@pytest.mark.parametrize("input_format", ["auto", "syslog"])
def test_the_central_servers_files_give_the_captures_records(path: Path, input_format: str) -> None:
    """The kernel's lines give the capture's records (host and wall time from each line), the
    other program's OOM-shaped lines none, and nothing is reported."""
    got, reports = read(path.read_bytes(), input_format)
    assert reports == []
    assert report_fields(got) == report_fields(read(CAPTURE)[0])
    (kill,) = [r for r in read_kmsg(CAPTURE) if b"Killed process" in r.text]
    assert [(r["host"], r["pid"], r["time_of_death"]) for r in got] == [
        ("node-a", 3171, rfc3339(kill.wall_us(Source())))
    ]


# what util-linux logger 2.38 (``--octet-count -T --rfc5424``) sent over TCP for two messages,
# as a raw capture of the stream holds them: frames back to back, no newline
LOGGER_STREAM = (
    b'166 <12>1 2026-11-30T02:22:14.143840+00:00 vm kernel - - [timeQuality tzKnown="1" '
    b'isSynced="0"][meta@1 a="q\\"b\\]c\\\\\\\\d"] Memory cgroup out of memory: Killed process 1 '
    b'(x)98 <13>1 2026-11-30T02:22:14.145738+00:00 vm sshd - - [timeQuality tzKnown="1" '
    b'isSynced="0"] Accepted'
)


def test_frames_back_to_back_on_one_line_give_the_first_and_a_report() -> None:
    """A line of several octet-counted frames (a raw capture of ``logger --octet-count``): the
    first frame is read, its count deciding where it ends, and the line is reported; a count
    that ends nowhere near another frame is passed over (the line is one message)."""
    reports: list[str] = []
    decoder = SyslogDecoder(DecodeOptions(report=lambda reason, raw: reports.append(reason)))
    first = decoder.decode(LOGGER_STREAM)
    assert isinstance(first, KernelLine)
    assert (first.text, first.host) == ("Memory cgroup out of memory: Killed process 1 (x)", "vm")
    assert reports == ["several RFC 6587 frames on one line: only the first is read"]
    assert decoder.quick_text(LOGGER_STREAM) is None
    for count in (b"5", b"30", b"999"):  # wrong counts: the whole line is the message
        line = decoder.decode(count + b" <6>1 - node1 kernel - - - text <6>1 more")
        assert isinstance(line, KernelLine) and line.text == "text <6>1 more"
    assert len(reports) == 1
