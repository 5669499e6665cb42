"""rsyslog's control-character escapes (issue 14's evidence on RHEL 7/8/9): imjournal hands rsyslog
a multi-line kernel record whole, and rsyslog writes its newlines as ``#012``, so the record is one
line of /var/log/messages. The fixtures of tests/data/syslog/ are the real rsyslog's output for
the legacy reports with such records (see the README there)."""

from __future__ import annotations

from datetime import timezone
from pathlib import Path

import pytest
from helpers import run_pipeline
from test_continuation_lines import read, report_fields

from convert import Source, kernel_records
from oom_input.decoders import make_decoder
from oom_input.decoders.journal import JournalDecoder
from oom_input.decoders.syslog import SyslogDecoder, escaped_by_rsyslog, unescape_controls
from oom_input.types import IGNORED, DecodeOptions, KernelLine

DATA = Path(__file__).parent / "data"
SYSLOG = DATA / "syslog"
FIXTURES = sorted(SYSLOG.glob("v*.syslog-*"))
FORMATS = ("syslog", "auto")


def report_of(path: Path) -> Path:
    """The legacy report a fixture was made from."""
    name = path.name.split(".syslog-", 1)[0]
    (found,) = [p for p in (DATA / "legacy").glob(name + ".*") if p.suffix != ".json"]
    return found


def test_the_fixtures_hold_escaped_multi_line_records() -> None:
    """rsyslog wrote every multi-line record on one line, its newlines as ``#012``, in the three
    file formats of every report."""
    assert len(FIXTURES) == 21
    for path in FIXTURES:
        data = path.read_bytes()
        assert b"#012" in data, path.name
        assert not any(line.startswith((b" ", b"\t")) for line in data.splitlines()), path.name


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_each_line_is_a_kernel_record_as_kmsg_has_it(path: Path) -> None:
    """Every line rsyslog wrote decodes to one kernel record: its text exactly the record's
    (newlines and the indent of Mem-Info's lines included), its wall time the journal's (to the
    second in the traditional format). rsyslog puts a space after ``kernel:`` only when the
    message has none (``sp-if-no-1st-sp``), so a pr_cont fragment's leading space is that one;
    RFC 5424's MSG keeps it."""
    records = kernel_records(report_of(path))
    assert records is not None
    decoder = SyslogDecoder(DecodeOptions(year=2025, tz=timezone.utc))
    lines = [decoder.decode(raw) for raw in path.read_bytes().splitlines()]
    assert all(isinstance(line, KernelLine) for line in lines)
    got = [(line.text, line.wall_us) for line in lines if isinstance(line, KernelLine)]
    precise = path.name.endswith(("-rfc3339", "-rfc5424"))
    rfc5424 = path.name.endswith("-rfc5424")
    want = [
        (
            r.text.decode() if rfc5424 else r.text.decode().removeprefix(" "),
            r.wall_us(Source()) // step * step,
        )
        for r in records
        for step in [1 if precise else 10**6]
    ]
    assert got == want
    assert any("\n" in text for text, _ in got)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("input_format", FORMATS)
def test_rsyslog_output_gives_the_records_of_the_report(path: Path, input_format: str) -> None:
    """/var/log/messages of a report gives that report's fields, memcg statistics and Mem-Info
    counters included, and reports no line."""
    want, _ = read(report_of(path).read_bytes())
    got, reports = read(path.read_bytes(), input_format)
    assert reports == []
    assert report_fields(got) == report_fields(want)
    assert all(r["host"] == "node-a" for r in got)


def test_the_evidence_is_there_to_lose() -> None:
    """The reports carry memcg statistics and system memory (what the escapes used to hide)."""
    fields = [r for path in FIXTURES for r in read(path.read_bytes(), "syslog")[0]]
    assert sum(r["memcg_stats"] is not None for r in fields) >= 6
    assert sum(r["system_memory"] is not None for r in fields) >= 3
    assert all(r["system_memory"] is None or r["system_memory"]["free_kb"] for r in fields)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_auto_and_syslog_give_the_same_records(path: Path) -> None:
    """Auto-detection (the journal decoder leaves escaped kernel lines to the syslog decoder)
    gives the records of ``--input-format syslog`` but for the format that opened each."""
    skip = ("source_format", "id")
    syslog, _ = read(path.read_bytes(), "syslog")
    auto, _ = read(path.read_bytes())
    assert [{k: v for k, v in r.items() if k not in skip} for r in auto] == [
        {k: v for k, v in r.items() if k not in skip} for r in syslog
    ]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("input_format", FORMATS)
def test_any_reads_give_the_records_of_the_whole_file(path: Path, input_format: str) -> None:
    """Whole, one line per read and one byte per read give the same records."""
    data = path.read_bytes()
    whole = run_pipeline([data], input_format)
    assert whole
    assert run_pipeline(data.splitlines(keepends=True), input_format) == whole
    assert run_pipeline([data[i : i + 1] for i in range(len(data))], input_format) == whole


@pytest.mark.parametrize("path", sorted(SYSLOG.glob("control-characters.*")), ids=lambda p: p.name)
def test_every_control_character_rsyslog_escaped_is_read_back(path: Path) -> None:
    """The real rsyslog's escapes of 0x01-0x1f read back as those characters; what it kept
    (DEL, UTF-8, the kernel's own ``\\x0a``) stays; a ``#012`` that was text reads as a newline
    (rsyslog does not escape ``#``: the documented choice)."""
    (line,) = path.read_bytes().splitlines()
    decoded = SyslogDecoder(DecodeOptions(year=2025)).decode(line)
    assert isinstance(decoded, KernelLine)
    probe = "".join(map(chr, range(1, 32))) + " DEL\x7f \n \\x0a café end"
    assert decoded.text == probe


def test_escapes_outside_the_control_range_stay_text() -> None:
    """Only ``#000``-``#037`` are rsyslog's escapes: ``#040``, ``#1``, ``#01``, ``#101`` (a build
    number: ``5.15.0-91-generic #101-Ubuntu``) and ``#0`` at the end are text."""
    for text in ("a #040 b", "#1 SMP", "#01", "x #101-Ubuntu", "end #0", "##", "#08"):
        assert unescape_controls(text) == text
        assert not escaped_by_rsyslog(text.encode())
    assert unescape_controls("a#012b#011c#000") == "a\nb\tc\x00"
    assert unescape_controls("#0120") == "\n0"


def test_only_kernel_lines_are_unescaped() -> None:
    """Another program's line stays IGNORED; a kernel line with a klogd stamp (imklog) keeps it
    out of the text and reads its escapes."""
    decoder = SyslogDecoder(DecodeOptions(year=2025))
    assert decoder.decode(b"Nov 26 18:00:01 node-a sshd[1]: a#012b") is IGNORED
    line = decoder.decode(b"Nov 26 18:00:01 node-a kernel: [  1.000001] a#011b#012c")
    assert isinstance(line, KernelLine)
    assert (line.text, line.kernel_us) == ("a\tb\nc", 1_000_001)


def test_the_journal_decoder_leaves_rsyslog_lines_to_syslog() -> None:
    """journalctl never escapes: a kernel line with rsyslog's escapes under a stamp both print is
    not the journal decoder's (decode and its quick path alike); journalctl's own stamps, other
    programs' lines and lines without escapes still are."""
    journal = JournalDecoder(DecodeOptions(year=2025))
    for line in (
        b"Nov 26 18:00:01 node-a kernel: anon 1#012file 0",
        b"2025-11-26T18:00:01.000000+00:00 node-a kernel: anon 1#012file 0",
    ):
        assert journal.decode(line) is None
        assert journal.quick_text(line) is None
        auto = make_decoder("auto", DecodeOptions(year=2025))
        decoded = auto.decode(line)
        assert isinstance(decoded, KernelLine)
        assert (decoded.text, decoded.source_format) == ("anon 1\nfile 0", "syslog")
    assert journal.decode(b"Nov 26 18:00:01 node-a myapp[1]: a#012b") is IGNORED
    plain = journal.decode(b"Nov 26 18:00:01 node-a kernel: CPU: 1 PID: 2 #101-Ubuntu")
    assert isinstance(plain, KernelLine) and plain.source_format == "journal"
    monotonic = journal.decode(b"[    1.000001] node-a kernel: a#012b")
    assert isinstance(monotonic, KernelLine) and monotonic.text == "a#012b"


def test_imklog_lines_are_read_as_before() -> None:
    """rsyslog's imklog path (one line per line of a record, printk time kept) is unchanged: the
    kern.log fixture gives the capture's records."""
    kern_log = (DATA / "decoders" / "simple-memcg.syslog-kern-log").read_bytes()
    kmsg = (DATA / "decoders" / "simple-memcg.kmsg").read_bytes()
    want = report_fields(read(kmsg)[0])
    for input_format in FORMATS:
        got, reports = read(kern_log, input_format)
        assert reports == [] and report_fields(got) == want


@pytest.mark.parametrize("input_format", FORMATS)
def test_hosts_interleaved_on_a_log_server_keep_their_records(input_format: str) -> None:
    """A log server's /var/log/messages: the reports of several hosts (escaped records among
    them) interleaved line by line give each host the records it gives alone."""
    streams = []
    for number, path in enumerate(p for p in FIXTURES if p.name.endswith("-imjournal")):
        data = path.read_bytes().replace(b" node-a kernel: ", b" node-%d kernel: " % number)
        streams.append(data.splitlines(keepends=True))
    alone = [read(b"".join(lines), input_format)[0] for lines in streams]
    mixed = b"".join(
        lines[i] for i in range(max(map(len, streams))) for lines in streams if i < len(lines)
    )
    got, reports = read(mixed, input_format)
    assert reports == []
    skip = ("source_format", "id")
    for number, want in enumerate(alone):
        mine = [r for r in got if r["host"] == f"node-{number}"]
        assert want and [{k: v for k, v in r.items() if k not in skip} for r in mine] == [
            {k: v for k, v in r.items() if k not in skip} for r in want
        ]


@pytest.mark.parametrize("path", sorted(SYSLOG.glob("newline-name.*")), ids=lambda p: p.name)
@pytest.mark.parametrize("input_format", FORMATS)
def test_a_newline_in_the_victims_name_gives_the_kmsg_record(path: Path, input_format: str) -> None:
    """A task that put a newline in its name: rsyslog escapes it in the kill line as in any
    record, and the record is the one /dev/kmsg gives (name included)."""
    kmsg = (DATA / "real" / "simple-memcg.kmsg").read_bytes().replace(b"stress", b"str\\x0ass")
    want, _ = read(kmsg)
    got, reports = read(path.read_bytes(), input_format)
    assert reports == [] and report_fields(got) == report_fields(want)
    assert [r["process_name"] for r in got] == ["str\nss"]
