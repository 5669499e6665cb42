"""Auto-detection: every fixture gives the records of its own format, and captures of several
formats in one stream (``cat dmesg.txt journal.txt``) keep what each part tells.

The reader decodes only the lines that can matter, so the detector learns late that journalctl's
output began; journalctl's boot separators (``-- Boot <id> --``) before the first journal line it
decoded must still give the journal's lines their boot id. Each stream's records are those of
decoding every line with the detector (what the reader must match), however the bytes are cut
and with --passthrough, and its journal part's boot ids those of ``--input-format journal`` on
the part alone. Drawn from every journalctl fixture in tests/data, each joined after every
dmesg and kmsg fixture.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson
import pytest
from helpers import DATA, KERNEL_LOG_FOLDERS, run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_formats import WITHOUT_REPORT, ListSink, Reports, format_of, read_fixture

from oom_input.assembler import Assembler
from oom_input.decoders import (
    SAMPLE_BYTES,
    AutoDecoder,
    detect_stream,
    make_decoder,
    make_stream_decoder,
)
from oom_input.pipeline import Pipeline
from oom_input.scanner import LineScanner
from oom_input.types import DecodeOptions, KernelLine, OomRecord

# journalctl's short styles (the journal decoder's), each fixture as the real tool printed it
JOURNALS = sorted(
    p
    for p in DATA.rglob("*.journal-*")
    if p.suffix != ".md" and "json" not in p.name and "export" not in p.name
)
# what comes before them: raw /dev/kmsg records and dmesg's styles
OTHERS = sorted(
    p
    for p in DATA.rglob("*")
    if p.suffix == ".kmsg" or (p.suffix.startswith(".dmesg") and p.suffix != ".md")
)
BOOT_ID = "0123456789abcdef0123456789abcdef"
SEPARATOR = b"-- Boot %s --" % BOOT_ID.encode()
# journalctl's other notes: the head of older versions' output, an empty result, and older
# versions' boot change (which ends the boot id)
NOTES = [
    b"-- Logs begin at Tue 2025-11-25 19:00:01 UTC, end at Wed 2025-11-26 18:40:00 UTC. --",
    b"-- Journal begins at Tue 2025-11-25 19:00:01 UTC, ends at Wed 2025-11-26 18:40:00 UTC. --",
    b"-- No entries --",
    b"-- Reboot --",
    SEPARATOR,
]


def test_every_journal_and_other_fixture_is_drawn() -> None:
    assert len(JOURNALS) >= 15 and {p.parent.name for p in JOURNALS} >= {"decoders", "journalctl"}
    assert len(OTHERS) >= 20 and {p.parent.name for p in OTHERS} >= {"decoders", "legacy", "real"}


# every fixture named by its format (tests/data/<dir>/<sample>.<format>[-<variant>])
NAMED = sorted(
    p
    for p in DATA.rglob("*")
    if p.is_file() and p.suffix not in (".md", ".py", ".json") and format_of(p) is not None
)


def test_every_fixture_directory_is_drawn() -> None:
    """Every folder of kernel logs but the template's (its file names no input format)."""
    assert {p.parent.name for p in NAMED} == KERNEL_LOG_FOLDERS - {"template"}


@pytest.mark.parametrize("path", NAMED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_auto_mode_gives_the_records_of_the_fixtures_format(path: Path) -> None:
    """Every fixture read without --input-format gives the records of reading it with its own
    format; a BSD syslog file's are named journal's (journalctl's short style is the same line,
    and the journal decoder is tried first), all else equal."""
    name = format_of(path)
    assert name is not None
    options = DecodeOptions(year=2025, report=Reports())
    sink = ListSink()
    pipeline = Pipeline(
        decoder=make_decoder("auto", options),
        sink=sink,
        choose_stream=lambda head: (
            None if (found := detect_stream(head)) is None else make_stream_decoder(found, options)
        ),
    )
    pipeline.run([path.read_bytes()])
    pipeline.finish()
    auto = [r.as_dict() for r in sink.records]
    named = [r.as_dict() for r in read_fixture(path, name, Reports())]
    assert auto or path.name in WITHOUT_REPORT
    assert len(auto) == len(named)
    pairs = zip(auto, named, strict=True)
    formats = [(a.pop("source_format"), n.pop("source_format")) for a, n in pairs]
    assert auto == named
    assert all(a == n or (a, n) == ("journal", "syslog") for a, n in formats)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().rstrip(b"\n").split(b"\n")


def journal_noise(journal: list[bytes], size: int) -> list[bytes]:
    """``size`` bytes of kernel lines in the journal's own style that no reader decodes."""
    kernel = next(line for line in journal if b" kernel: " in line)
    line = kernel[: kernel.index(b" kernel: ") + 9] + b"eth0: link becomes ready"
    return [line] * (size // (len(line) + 1))


def other_noise(other: list[bytes], size: int) -> list[bytes]:
    """``size`` bytes of lines in the other capture's style that no reader decodes (its first
    line with another text)."""
    first = other[0]
    for marker in (b";", b"] ", b" "):
        if marker in first:
            line = first[: first.index(marker) + len(marker)] + b"eth0: link becomes ready"
            return [line] * (size // (len(line) + 1))
    return []


def every_line_records(data: bytes) -> list[dict]:
    """The records of decoding every line with the detector, in order (no line skipped; a
    continuation line read with the line it continues)."""
    decoder = make_decoder("auto", DecodeOptions())
    assert isinstance(decoder, AutoDecoder)
    assembler = Assembler()
    out: list[OomRecord] = []
    head: bytes | None = None  # the last line that is no continuation line
    for raw in data.split(b"\n"):
        if raw:
            if decoder.continues(raw):
                line = decoder.continuation(raw, head)
            else:
                line, head = decoder.decode(raw), raw
            if isinstance(line, KernelLine):
                out += assembler.feed(line)
    out += assembler.flush()
    return [r.as_dict() for r in out]


def scan(data: bytes, cuts: list[int] | None, *, passthrough: bool = False) -> list[dict]:
    """The reader's records of ``data`` in auto mode: fed in pieces cut at ``cuts``, or line by
    line through ``feed_line`` (``cuts`` None)."""
    out: list[OomRecord] = []
    scanner = LineScanner(
        make_decoder("auto", DecodeOptions()),
        Assembler(),
        out.append,
        passthrough=(lambda raw: None) if passthrough else None,
    )
    if cuts is None:
        for raw in data.split(b"\n"):
            if raw:
                scanner.feed_line(raw)
    else:
        points = [0, *sorted(set(cuts)), len(data)]
        for a, b in itertools.pairwise(points):
            scanner.feed(data[a:b])
    scanner.finish()
    return [r.as_dict() for r in out]


def journal_boot_ids(journal: bytes) -> list[str | None]:
    """The boot id of each record of ``--input-format journal`` on the journal alone."""
    out: list[OomRecord] = []
    scanner = LineScanner(make_decoder("journal", DecodeOptions()), Assembler(), out.append)
    scanner.feed(journal)
    scanner.finish()
    return [r.boot_id for r in out]


def check(data: bytes, cuts: list[int]) -> list[dict]:
    """The reader's records in every way of reading are those of decoding every line."""
    expected = every_line_records(data)
    assert scan(data, []) == expected
    assert scan(data, cuts) == expected
    assert scan(data, cuts, passthrough=True) == expected
    assert scan(data, None) == expected  # one line per read (the live path)
    return expected


def joined(*parts: list[bytes]) -> bytes:
    return b"\n".join(line for part in parts for line in part) + b"\n"


def separated(journal: list[bytes], noise: int) -> list[bytes]:
    """The journal with a boot separator first (its lines all of that boot, as far as the next
    separator it has) and ``noise`` bytes of its own noise after it."""
    return [SEPARATOR, *journal_noise(journal, noise), *journal]


@pytest.mark.parametrize("journal_path", JOURNALS, ids=lambda p: p.name)
def test_a_journal_after_every_other_capture_keeps_its_boot_ids(journal_path: Path) -> None:
    """Every journalctl fixture, with a boot separator at its head, after every dmesg and kmsg
    fixture: the records of decoding every line, read whole, cut, byte and line by line; and the
    journal's records have the boot ids the journal alone gives with --input-format journal."""
    journal = separated(lines_of(journal_path), 0)
    journal_alone = journal_boot_ids(joined(journal))
    assert journal_alone and journal_alone[0] is not None
    for other_path in OTHERS:
        other = lines_of(other_path)
        data = joined(other, journal)
        records = check(data, [len(data) // 3, len(data) // 2])
        if other_path == OTHERS[0]:  # one byte per read
            assert scan(data, list(range(len(data)))) == records
        journal_records = [r for r in records if r["source_format"] == "journal"]
        assert [r["boot_id"] for r in journal_records] == journal_alone, other_path.name


@st.composite
def mixed_streams(draw: st.DrawFn) -> tuple[bytes, list[int], list[str | None] | None]:
    """Another capture in long noise, then a journal that begins with a separator or a note,
    with up to a few times SAMPLE_BYTES of its own noise before its first report, the notes
    anywhere in it; then maybe another capture and the journal again. Also the boot ids the
    journal part alone gives (None: it comes twice)."""
    other = lines_of(draw(st.sampled_from(OTHERS)))
    journal = lines_of(draw(st.sampled_from(JOURNALS)))
    part = [
        draw(st.sampled_from(NOTES)),
        *journal_noise(journal, draw(st.integers(0, 3 * SAMPLE_BYTES))),
        *journal,
    ]
    for _ in range(draw(st.integers(0, 3))):
        part.insert(draw(st.integers(0, len(part))), draw(st.sampled_from(NOTES)))
    head = other_noise(other, draw(st.integers(0, 2 * SAMPLE_BYTES)))
    parts = [head, other, part]
    alone: list[str | None] | None = journal_boot_ids(joined(part))
    if draw(st.booleans()):  # journal, dmesg, journal (the first's open reports close last)
        parts += [other, part]
        alone = None
    data = joined(*parts)
    cuts = draw(st.lists(st.integers(0, len(data)), max_size=6))
    return data, cuts, alone


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_streams())
def test_a_journal_after_long_noise_of_another_format_keeps_its_boot_ids(
    case: tuple[bytes, list[int], list[str | None] | None],
) -> None:
    """A journal part whose boot separators (and notes, "-- Reboot --" among them) lie up to a
    few sample intervals before its first report, after another format's long noise: the
    records of decoding every line, however the bytes are cut; a journal part's records have
    the boot ids it gives alone."""
    data, cuts, alone = case
    records = check(data, cuts)
    if alone is not None:
        assert [r["boot_id"] for r in records if r["source_format"] == "journal"] == alone


FILLER = b"6,1,1,-;" + b"x" * 100  # a kmsg line of 109 bytes with its newline


@pytest.mark.parametrize("start", [-1, 0, 1, len(FILLER), len(FILLER) + 1, 5000])
@pytest.mark.parametrize("intervals", [1, 2])
def test_a_journal_beginning_at_a_sample_point_keeps_its_boot_id(
    start: int, intervals: int
) -> None:
    """The journal part begins around the offset at which the detector is shown a line (at
    ``len(FILLER)``: right after that line, so the detector sees the journal only an interval
    later), its separator first, then more than the reader's look-back of its own noise before
    its first report: the separator still gives the report its boot id."""
    other = lines_of(DATA / "real" / "simple-memcg.kmsg")
    journal = lines_of(DATA / "decoders" / "simple-memcg.journal-short-precise")
    head = joined(other)
    size = intervals * SAMPLE_BYTES + start - len(head)  # filler lines ending at that offset
    count, pad = divmod(size, len(FILLER) + 1)
    lines = [b"6,1,1,-;" + b"y" * (pad - 9)] if pad > 8 else []
    data = head + joined([*lines, *[FILLER] * count], separated(journal, 3 * SAMPLE_BYTES))
    assert abs(data.index(SEPARATOR) - intervals * SAMPLE_BYTES - start) <= 8
    records = check(data, [SAMPLE_BYTES])
    boot = f"{BOOT_ID[:8]}-{BOOT_ID[8:12]}-{BOOT_ID[12:16]}-{BOOT_ID[16:20]}-{BOOT_ID[20:]}"
    journal_records = [r for r in records if r["source_format"] == "journal"]
    assert journal_records and journal_records[0]["boot_id"] == boot


def test_cat_of_dmesg_and_journal_gives_the_journal_its_boot_ids() -> None:
    """``cat dmesg.txt journal.txt | oom-input`` (no --input-format): the journal's records
    carry the boot ids of its separators, as ``oom-input --input-format journal journal.txt``
    gives them, with the separator more than the reader's look-back before the first report."""
    dmesg = lines_of(DATA / "decoders" / "simple-memcg.dmesg")
    journal = lines_of(DATA / "decoders" / "simple-memcg.journal-short")
    journal = journal[journal.index(next(x for x in journal if x.startswith(b"-- Boot "))) :]
    journal = [journal[0], *journal_noise(journal, 2 * SAMPLE_BYTES), *journal[1:]]
    alone = run_cli("--input-format", "journal", stdin=joined(journal))
    both = run_cli(stdin=joined(other_noise(dmesg, SAMPLE_BYTES), dmesg, journal))
    assert alone.returncode == both.returncode == 0, both.stderr
    want = [orjson.loads(line)["boot_id"] for line in alone.stdout.splitlines()]
    got = [orjson.loads(line) for line in both.stdout.splitlines()]
    assert want == ["aae7e8d9-ea8a-4d39-9e7a-7bbce85930c1"]
    assert [r["boot_id"] for r in got if r["source_format"] == "journal"] == want
    assert [r["source_format"] for r in got] == ["dmesg", "journal"]


def test_a_damaged_line_that_shows_the_journal_is_reported_once() -> None:
    """The first journal line the reader decodes is decoded again once it looked back for the
    separators: a damaged one (invalid UTF-8) is still reported once, as decoding every line
    reports it, and its record has the separator's boot id."""
    dmesg = lines_of(DATA / "decoders" / "simple-memcg.dmesg")
    journal = lines_of(DATA / "decoders" / "simple-memcg.journal-short-precise")
    header = next(i for i, line in enumerate(journal) if b"invoked oom-killer" in line)
    journal[header] = journal[header].replace(b"stress invoked", b"stre\xffss invoked")
    data = joined(dmesg, [SEPARATOR], journal_noise(journal, 4096), journal[header:])
    reports: list[str] = []
    out: list[OomRecord] = []
    options = DecodeOptions(report=lambda reason, raw: reports.append(reason))
    scanner = LineScanner(make_decoder("auto", options), Assembler(), out.append)
    scanner.feed(data)
    scanner.finish()
    every: list[str] = []
    decoder = make_decoder("auto", DecodeOptions(report=lambda reason, raw: every.append(reason)))
    for raw in data.split(b"\n"):
        decoder.decode(raw)
    assert reports == every == ["invalid UTF-8"]
    journal_records = [r for r in out if r.source_format == "journal"]
    assert [r.boot_id for r in journal_records] == ["01234567-89ab-cdef-0123-456789abcdef"]


@pytest.mark.parametrize("noise", [0, 3 * SAMPLE_BYTES])
def test_a_reboot_after_the_separator_before_the_first_report_ends_the_boot_id(
    noise: int,
) -> None:
    """After dmesg: a separator, then journalctl's older "-- Reboot --", both before the first
    journal line the reader decodes (near it, or sample intervals before it): the report has no
    boot id, as decoding every line gives; without the reboot line, the separator's."""
    dmesg = lines_of(DATA / "decoders" / "simple-memcg.dmesg")
    journal = lines_of(DATA / "decoders" / "simple-memcg.journal-short-precise")
    report = journal[next(i for i, x in enumerate(journal) if b"invoked oom-killer" in x) :]
    filler = journal_noise(journal, noise)
    boot = "01234567-89ab-cdef-0123-456789abcdef"
    for notes, want in ([SEPARATOR, b"-- Reboot --"], None), ([SEPARATOR], boot):
        data = joined(dmesg, [notes[0]], filler, notes[1:], filler, report)
        records = check(data, [len(data) // 2])
        assert [r["boot_id"] for r in records if r["source_format"] == "journal"] == [want]
