"""The text decoders, one class per format, on literal lines and the fixtures of
tests/data/decoders (see its README for how each was captured)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from oom_input.decoders import DECODER_NAMES, AutoDecoder, _common, make_decoder
from oom_input.decoders.dmesg import DmesgDecoder
from oom_input.decoders.journal import JournalDecoder
from oom_input.decoders.kmsg import KmsgDecoder
from oom_input.decoders.plain import PlainDecoder
from oom_input.decoders.syslog import SyslogDecoder
from oom_input.registry import LINE_FORMATS
from oom_input.types import IGNORED, DecodeOptions, KernelLine

FIXTURES = Path(__file__).parent / "data" / "decoders"
UTC = timezone.utc
EST = timezone(timedelta(hours=-5))
BOOT_A = "1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"
BOOT_B = "aae7e8d9-ea8a-4d39-9e7a-7bbce85930c1"
BOOT_B_US = 1764180000 * 10**6  # boot time of the journal and syslog fixtures' second boot
DMESG_BOOT_US = 1795722748 * 10**6  # boot time of the machine that printed the dmesg fixtures


class Reports(list):
    """A DecodeOptions.report that keeps what it is told."""

    def __call__(self, reason: str, raw: bytes) -> None:
        self.append((reason, raw))


def fixture_lines(name: str) -> list[bytes]:
    return (FIXTURES / name).read_bytes().split(b"\n")[:-1]


def escaped_record() -> bytes:
    """The fixture's record escaped by the kernel, with the kernel's facility (it was written
    into /dev/kmsg by a process, PRI 12, which the decoder ignores; the escapes are the same)."""
    record = fixture_lines("dictionary-escapes.kmsg")[-1]
    assert record.startswith(b"12,")
    return b"4," + record[3:]


def decode_all(decoder, lines: list[bytes]) -> list:
    return [decoder.decode(line) for line in lines]


def kernel_lines(decoded: list) -> list[KernelLine]:
    return [line for line in decoded if isinstance(line, KernelLine)]


def kmsg_lines(name: str) -> list[KernelLine]:
    return decode_all(KmsgDecoder(DecodeOptions()), fixture_lines(name))


# the reference every text format is compared with: the report as /dev/kmsg gave it
REPORT = kmsg_lines("simple-memcg.kmsg")
REPORT_TEXTS = [line.text for line in REPORT]
REPORT_KERNEL_US = [line.kernel_us for line in REPORT]
# the journal fixtures first hold the last two records of another report (boot A)...
BOOT_A_TEXTS = [
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
    "oom_memcg=/machine/kubepods/pod99887766-5544-3322-1100-ffeeddccbbaa,"
    "task_memcg=/machine/kubepods/pod99887766-5544-3322-1100-ffeeddccbbaa/" + "12ab" * 16 + ","
    "task=python3,pid=3173,uid=0",
    "Memory cgroup out of memory: Killed process 3173 (python3) total-vm:90332kB, "
    "anon-rss:73472kB, file-rss:6672kB, shmem-rss:0kB, UID:0 pgtables:200kB oom_score_adj:0",
]
# ... and end with a line systemd wrote
SYSTEMD_TEXT = "demo.service: A process of this unit has been killed by the OOM killer."


@pytest.fixture
def pinned_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clock of stamps without a year reads 2026-01-01T00:30:00Z."""
    monkeypatch.setattr(_common, "now_us", lambda: utc_us(2026, 1, 1, 0, 30))


@pytest.fixture
def local_zone_est(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone is UTC-5 (POSIX TZ EST5)."""
    monkeypatch.setenv("TZ", "EST5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def utc_us(*fields: int) -> int:
    """Epoch µs of a UTC date and time given to the second."""
    return int(datetime(*fields, tzinfo=UTC).timestamp()) * 10**6


class TestKmsg:
    def decode(self, raw: bytes, reports: Reports | None = None):
        options = DecodeOptions(report=reports if reports is not None else Reports())
        return KmsgDecoder(options).decode(raw)

    def test_empty_line_is_not_kmsg(self) -> None:
        """An empty line is not a kmsg record."""
        assert self.decode(b"") is None

    def test_other_text_is_not_kmsg(self) -> None:
        """Text without a record prefix is rejected without a report."""
        reports = Reports()
        result = self.decode(b"[  499.798531] text", reports)
        expected = (None, [])
        assert expected == (result, reports)

    def test_broken_prefix_is_reported(self) -> None:
        """A record prefix with a non-numeric SEQ is reported and rejected."""
        reports = Reports()
        result = self.decode(b"6,abc,123,-;text", reports)
        expected = (None, [("broken /dev/kmsg record prefix", b"6,abc,123,-;text")])
        assert expected == (result, reports)

    def test_real_record(self) -> None:
        """A record gives text, seq and kernel time."""
        expected = KernelLine(
            text="stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
            kernel_us=1194840714,
            seq=894,
            cont=False,
            source_format="kmsg",
        )
        assert expected == REPORT[0]

    def test_real_sample_sequence_numbers(self) -> None:
        """Every record of the real capture decodes, in sequence."""
        expected = list(range(894, 972))
        assert expected == [line.seq for line in REPORT]

    def test_leading_space_of_text_kept(self) -> None:
        """The indentation of stack trace lines is part of the text."""
        expected = " <TASK>"
        assert expected == REPORT[3].text

    def test_extra_prefix_fields_ignored(self) -> None:
        """Fields after FLAGS, such as caller=, are skipped."""
        expected = KernelLine(
            text="text", kernel_us=51234, seq=12, cont=False, source_format="kmsg"
        )
        assert expected == self.decode(b"4,12,51234,-,caller=T42;text")

    def test_semicolon_in_text_kept(self) -> None:
        """Only the first semicolon ends the prefix."""
        expected = "a;b"
        assert expected == self.decode(b"6,1,2,-;a;b").text

    def test_dictionary_lines_ignored(self) -> None:
        """Dictionary lines of real records are IGNORED, the records are kept."""
        decoded = decode_all(KmsgDecoder(DecodeOptions()), fixture_lines("dictionary-escapes.kmsg"))
        kinds = [IGNORED if line is IGNORED else line.seq for line in decoded]
        # the last record was written by a process (PRI 12: facility user): IGNORED too
        expected = [193, IGNORED, IGNORED, 194, IGNORED, IGNORED, IGNORED]
        assert expected == kinds

    def test_escapes_decoded(self) -> None:
        """\\xNN escapes become bytes, UTF-8 decoded, the invalid byte replaced."""
        record = escaped_record()
        expected = "oomtest: café tab\there back\\slash bad\ufffd end"
        assert expected == self.decode(record).text

    def test_invalid_utf8_reported(self) -> None:
        """An escaped invalid UTF-8 byte is reported once."""
        record = escaped_record()
        reports = Reports()
        self.decode(record, reports)
        expected = [("invalid UTF-8", record)]
        assert expected == reports

    def test_invalid_utf8_text_serialisable(self) -> None:
        """Replaced text holds no lone surrogate: orjson encodes it."""
        record = escaped_record()
        text = self.decode(record).text
        assert orjson.loads(orjson.dumps(text)) == text

    @pytest.mark.parametrize("flags", [b"c", b"+"])
    def test_continuation_flags_set_cont(self, flags: bytes) -> None:
        """FLAGS c (>= 4.10 continuation, 3.5-4.9 first fragment) and + set cont."""
        assert self.decode(b"4,7,100," + flags + b";,uid=0").cont is True

    def test_dash_flag_is_not_cont(self) -> None:
        """FLAGS - says the record is a whole line (False, not unknown)."""
        assert REPORT[0].cont is False

    def test_carriage_return_stripped(self) -> None:
        """A trailing CR is not text."""
        expected = "text"
        assert expected == self.decode(b"6,1,2,-;text\r").text


class TestDmesg:
    def decode(self, raw: bytes, options: DecodeOptions | None = None):
        return DmesgDecoder(options or DecodeOptions(year=2026, tz=UTC)).decode(raw)

    def test_empty_line_is_not_dmesg(self) -> None:
        """An empty line is not a dmesg line."""
        assert self.decode(b"") is None

    def test_other_text_is_not_dmesg(self) -> None:
        """Unstamped text and a bracket without a time are rejected."""
        expected = [None, None, None]
        assert expected == [
            self.decode(b"Call Trace:"),
            self.decode(b"[   3171]     0  3171    14387 stress"),
            self.decode(b"<4>text without a stamp"),
        ]

    @pytest.mark.parametrize(
        "fixture",
        [
            "simple-memcg.dmesg",
            "simple-memcg.dmesg-r",
            "simple-memcg.dmesg-x",
            "simple-memcg.dmesg-iso",
            "simple-memcg.dmesg-ctime",
            "simple-memcg.dmesg-reltime",
            "simple-memcg.dmesg-delta",
            "simple-memcg.dmesg-show-delta",
        ],
    )
    def test_real_sample_texts(self, fixture: str) -> None:
        """Every dmesg style yields the texts of the original kmsg records."""
        decoded = decode_all(DmesgDecoder(DecodeOptions(tz=UTC)), fixture_lines(fixture))
        expected = REPORT_TEXTS
        assert expected == [line.text for line in decoded]

    @pytest.mark.parametrize(
        "fixture",
        [
            "simple-memcg.dmesg",
            "simple-memcg.dmesg-r",
            "simple-memcg.dmesg-x",
            "simple-memcg.dmesg-show-delta",
        ],
    )
    def test_real_sample_kernel_times(self, fixture: str) -> None:
        """Bracketed printk times give the records' kernel times."""
        decoded = decode_all(DmesgDecoder(DecodeOptions()), fixture_lines(fixture))
        expected = REPORT_KERNEL_US
        assert expected == [line.kernel_us for line in decoded]

    def test_iso_gives_wall_time(self) -> None:
        """--time-format iso gives µs wall times: boot time + kernel time."""
        decoded = decode_all(DmesgDecoder(DecodeOptions()), fixture_lines("simple-memcg.dmesg-iso"))
        expected = [DMESG_BOOT_US + us for us in REPORT_KERNEL_US]
        assert expected == [line.wall_us for line in decoded]

    def test_ctime_gives_wall_seconds(self) -> None:
        """-T gives the wall time to the second, in the configured zone."""
        line = fixture_lines("simple-memcg.dmesg-ctime")[0]
        expected = utc_us(2026, 11, 26, 20, 12, 22)
        assert expected == self.decode(line).wall_us

    def test_ctime_uses_timezone_option(self) -> None:
        """-T stamps are read in DecodeOptions.tz."""
        line = b"[Thu Nov 26 15:12:22 2026] text"
        expected = utc_us(2026, 11, 26, 20, 12, 22)
        assert expected == self.decode(line, DecodeOptions(tz=EST)).wall_us

    def test_ctime_space_padded_day(self) -> None:
        """-T pads a one-digit day with a space."""
        expected = utc_us(2026, 11, 6, 8, 0, 1)
        assert expected == self.decode(b"[Fri Nov  6 08:00:01 2026] x").wall_us

    def test_reltime_minute_stamp(self) -> None:
        """reltime's minute stamp gives a wall time to the minute."""
        line = fixture_lines("simple-memcg.dmesg-reltime")[0]
        expected = utc_us(2026, 11, 26, 20, 12)
        assert expected == self.decode(line).wall_us

    def test_reltime_delta_has_no_time(self) -> None:
        """reltime's deltas between minute stamps give no time."""
        line = fixture_lines("simple-memcg.dmesg-reltime")[1]
        expected = KernelLine(
            text="CPU: 1 UID: 0 PID: 3171 Comm: stress Not tainted 6.18.44-fc-v657 #1 "
            "PREEMPT(none) ",
            source_format="dmesg",
        )
        assert expected == self.decode(line)

    def test_delta_has_no_time(self) -> None:
        """--time-format delta gives no time."""
        decoded = decode_all(
            DmesgDecoder(DecodeOptions()), fixture_lines("simple-memcg.dmesg-delta")
        )
        expected = {(None, None)}
        assert expected == {(line.kernel_us, line.wall_us) for line in decoded}

    def test_x_without_time(self) -> None:
        """dmesg -x -t lines are dmesg lines without a time."""
        expected = KernelLine(text="Call Trace:", source_format="dmesg")
        assert expected == self.decode(b"kern  :warn  : Call Trace:")

    def test_console_priority_prefix(self) -> None:
        """A console priority <N> before the stamp is dropped."""
        expected = KernelLine(text="text", kernel_us=39261111880124, source_format="dmesg")
        assert expected == self.decode(b"<4>[39261111.880124] text")

    def test_console_priority_before_iso(self) -> None:
        """A console priority is allowed before any stamp."""
        line = self.decode(b"<6>2026-11-26T18:29:15,798531+00:00 text")
        expected = (utc_us(2026, 11, 26, 18, 29, 15) + 798531, "text")
        assert expected == (line.wall_us, line.text)

    def test_iso_offset_applied(self) -> None:
        """An iso stamp's own offset wins over DecodeOptions.tz."""
        line = self.decode(b"2026-11-26T13:29:15,000001-05:00 x", DecodeOptions(tz=UTC))
        expected = utc_us(2026, 11, 26, 18, 29, 15) + 1
        assert expected == line.wall_us

    @pytest.mark.parametrize(
        "raw",
        [
            b"[    0.000000] [    T0] Linux version 6.18.44",
            b"[    0.000000][    T0] Linux version 6.18.44",
            b"[    0.000000] [     C1] Linux version 6.18.44",
            b"2026-11-26T18:29:15,798531+00:00 [  T123] Linux version 6.18.44",
        ],
    )
    def test_caller_id_stripped(self, raw: bytes) -> None:
        """A printk caller id after the stamp is not text."""
        expected = "Linux version 6.18.44"
        assert expected == self.decode(raw).text

    def test_task_table_row_kept(self) -> None:
        """A task table row's bracketed pid is text, not a caller id."""
        line = b"[ 1194.840968] [   3171]     0  3171    14387 stress"
        expected = "[   3171]     0  3171    14387 stress"
        assert expected == self.decode(line).text

    def test_journal_monotonic_line_rejected(self) -> None:
        """'[ts] <host> kernel: text' is left to the journal decoder."""
        assert self.decode(b"[ 1194.840991] node-a kernel: Memory cgroup out of memory") is None

    def test_text_looking_like_host_ident_kept(self) -> None:
        """'[ts] word word: text' that does not name the kernel is dmesg."""
        line = self.decode(b"[    2.100000] usb 1-1: new high-speed USB device number 2")
        expected = "usb 1-1: new high-speed USB device number 2"
        assert expected == line.text

    def test_empty_text(self) -> None:
        """A stamp with no text gives an empty message."""
        expected = ""
        assert expected == self.decode(b"[    2.100000]").text

    def test_impossible_date_reported(self) -> None:
        """A ctime stamp naming Feb 30 is reported and gives no time."""
        reports = Reports()
        line = self.decode(b"[Mon Feb 30 10:00:00 2026] x", DecodeOptions(report=reports))
        expected = (None, [("impossible timestamp", b"[Mon Feb 30 10:00:00 2026] x")])
        assert expected == (
            line.wall_us,
            reports,
        )


class TestJournal:
    def decode_fixture(self, name: str, options: DecodeOptions | None = None) -> list:
        decoder = JournalDecoder(options or DecodeOptions(year=2025, tz=UTC))
        return decode_all(decoder, fixture_lines(name))

    def decode(self, raw: bytes, options: DecodeOptions | None = None):
        return JournalDecoder(options or DecodeOptions(year=2025, tz=UTC)).decode(raw)

    def test_empty_line_is_not_journal(self) -> None:
        """An empty line is not a journalctl line."""
        assert self.decode(b"") is None

    def test_other_text_is_not_journal(self) -> None:
        """Unstamped text, a stamp without 'ident:' and other '-- x --' lines are rejected."""
        expected = [None, None, None]
        assert expected == [
            self.decode(b"Memory cgroup out of memory: Killed process 3171"),
            self.decode(b"Nov 26 18:19:54 node-a"),
            self.decode(b"-- cut here --"),
        ]

    @pytest.mark.parametrize(
        "fixture",
        [
            "simple-memcg.journal-short",
            "simple-memcg.journal-short-precise",
            "simple-memcg.journal-short-iso",
            "simple-memcg.journal-short-iso-precise",
            "simple-memcg.journal-short-full",
            "simple-memcg.journal-short-monotonic",
            "simple-memcg.journal-short-delta",
            "simple-memcg.journal-short-unix",
        ],
    )
    def test_real_sample_texts(self, fixture: str) -> None:
        """Every short style yields the kernel texts of both boots."""
        decoded = kernel_lines(self.decode_fixture(fixture))
        expected = BOOT_A_TEXTS + REPORT_TEXTS
        assert expected == [line.text for line in decoded]

    @pytest.mark.parametrize(
        "fixture",
        [
            "simple-memcg.journal-short-precise",
            "simple-memcg.journal-short-iso-precise",
            "simple-memcg.journal-short-unix",
        ],
    )
    def test_real_sample_wall_times(self, fixture: str) -> None:
        """Precise styles give µs wall times (boot time + kernel time here)."""
        decoded = kernel_lines(self.decode_fixture(fixture))[2:]
        expected = [BOOT_B_US + us for us in REPORT_KERNEL_US]
        assert expected == [line.wall_us for line in decoded]

    @pytest.mark.parametrize(
        "fixture",
        [
            "simple-memcg.journal-short",
            "simple-memcg.journal-short-iso",
            "simple-memcg.journal-short-full",
        ],
    )
    def test_real_sample_wall_seconds(self, fixture: str) -> None:
        """Second styles give the wall time to the second."""
        decoded = kernel_lines(self.decode_fixture(fixture))[2:]
        expected = [(BOOT_B_US + us) // 10**6 * 10**6 for us in REPORT_KERNEL_US]
        assert expected == [line.wall_us for line in decoded]

    @pytest.mark.parametrize(
        "fixture", ["simple-memcg.journal-short-monotonic", "simple-memcg.journal-short-delta"]
    )
    def test_real_monotonic_kernel_times(self, fixture: str) -> None:
        """short-monotonic and short-delta give kernel times and no wall time."""
        decoded = kernel_lines(self.decode_fixture(fixture))[2:]
        expected = [(us, None) for us in REPORT_KERNEL_US]
        assert expected == [(line.kernel_us, line.wall_us) for line in decoded]

    def test_real_line(self) -> None:
        """A short-precise kernel line gives text, wall time, host and boot id."""
        expected = KernelLine(
            text="Memory cgroup out of memory: Killed process 3171 (stress) total-vm:57548kB, "
            "anon-rss:40704kB, file-rss:6636kB, shmem-rss:0kB, UID:0 pgtables:140kB "
            "oom_score_adj:0",
            wall_us=BOOT_B_US + 1194840991,
            host="node-a",
            boot_id=BOOT_B,
            source_format="journal",
        )
        assert expected == self.decode_fixture("simple-memcg.journal-short-precise")[-2]

    def test_boot_separator_sets_boot_id(self) -> None:
        """Lines after '-- Boot <id> --' carry the dashed boot id, lines before none."""
        decoded = self.decode_fixture("simple-memcg.journal-short")
        boot_ids = [line.boot_id if isinstance(line, KernelLine) else line for line in decoded]
        expected = [None, None, IGNORED] + [BOOT_B] * 78 + [IGNORED]
        assert expected == boot_ids

    def test_reboot_forgets_boot_id(self) -> None:
        """'-- Reboot --' of older journalctl ends the known boot."""
        decoder = JournalDecoder(DecodeOptions(year=2025, tz=UTC))
        decoder.decode(b"-- Boot 1a2b3c4d5e6f708192a3b4c5d6e7f809 --")
        assert decoder.decode(b"-- Reboot --") is IGNORED
        assert decoder.decode(b"Nov 26 18:19:54 node-a kernel: x").boot_id is None

    def test_uppercase_boot_id_lowered(self) -> None:
        """Boot ids are given in lower case, like /proc/sys/kernel/random/boot_id."""
        decoder = JournalDecoder(DecodeOptions(year=2025, tz=UTC))
        decoder.decode(b"-- Boot 1A2B3C4D5E6F708192A3B4C5D6E7F809 --")
        expected = BOOT_A
        assert expected == decoder.decode(b"Nov 26 18:19:54 node-a kernel: x").boot_id

    @pytest.mark.parametrize(
        "note",
        [
            b"-- No entries --",
            b"-- Logs begin at Mon 2025-11-24 10:00:00 UTC, end at Wed 2025-11-26 18:20:00 UTC. --",
            b"-- Journal begins at Mon 2025-11-24 10:00:00 UTC,"
            b" ends at Wed 2025-11-26 18:20:00 UTC. --",
        ],
    )
    def test_notes_ignored(self, note: bytes) -> None:
        """journalctl's notes are not kernel lines."""
        assert self.decode(note) is IGNORED

    def test_other_program_ignored(self) -> None:
        """A systemd line of the real journal is IGNORED."""
        expected = IGNORED
        assert expected == self.decode_fixture("simple-memcg.journal-short")[-1]

    def test_monotonic_other_program_of_same_host_ignored(self) -> None:
        """After '[ts] host kernel:' lines, '[ts] host systemd[1]:' is the journal's."""
        expected = IGNORED
        assert expected == self.decode_fixture("simple-memcg.journal-short-monotonic")[-1]

    def test_monotonic_other_program_alone_rejected(self) -> None:
        """Without a kernel line of that host first, '[ts] host ident: text' is dmesg's."""
        assert self.decode(b"[    2.100000] usb 1-1: new high-speed USB device") is None

    def test_monotonic_without_host_rejected(self) -> None:
        """'[ts] kernel: text' (no host) is dmesg's."""
        assert self.decode(b"[    2.100000] kernel: text") is None

    def test_short_full_abbreviation_uses_timezone_option(self) -> None:
        """short-full with EST stamps, read with tz=UTC-5, gives the UTC file's times."""
        est = kernel_lines(
            self.decode_fixture("simple-memcg.journal-short-full-est", DecodeOptions(tz=EST))
        )
        utc = kernel_lines(self.decode_fixture("simple-memcg.journal-short-full"))
        expected = [line.wall_us for line in utc]
        assert expected == [line.wall_us for line in est]

    def test_short_full_gmt_is_utc(self) -> None:
        """The GMT abbreviation is UTC whatever the configured zone."""
        line = self.decode(b"Wed 2025-11-26 18:19:54 GMT node-a kernel: x", DecodeOptions(tz=EST))
        expected = utc_us(2025, 11, 26, 18, 19, 54)
        assert expected == line.wall_us

    def test_short_full_numeric_zone(self) -> None:
        """A numeric zone (zones without an abbreviation) is applied."""
        line = self.decode(b"Wed 2025-11-26 21:19:54 +03 node-a kernel: x")
        expected = utc_us(2025, 11, 26, 18, 19, 54)
        assert expected == line.wall_us

    def test_short_precise_uses_timezone_option(self) -> None:
        """short-precise printed in EST, read with tz=UTC-5, gives the UTC file's times."""
        options = DecodeOptions(year=2025, tz=EST)
        est = kernel_lines(self.decode_fixture("simple-memcg.journal-short-precise-est", options))
        utc = kernel_lines(self.decode_fixture("simple-memcg.journal-short-precise"))
        expected = [line.wall_us for line in utc]
        assert expected == [line.wall_us for line in est]

    def test_local_zone_without_timezone_option(self, local_zone_est: None) -> None:
        """Without DecodeOptions.tz, zoneless stamps are local time."""
        line = self.decode(b"Nov 26 13:19:54 node-a kernel: x", DecodeOptions(year=2025))
        expected = utc_us(2025, 11, 26, 18, 19, 54)
        assert expected == line.wall_us

    def test_year_option(self) -> None:
        """DecodeOptions.year is the year of yearless stamps."""
        line = self.decode(b"Nov 26 18:19:54 node-a kernel: x", DecodeOptions(year=2019, tz=UTC))
        expected = utc_us(2019, 11, 26, 18, 19, 54)
        assert expected == line.wall_us

    def test_current_year_by_default(self, pinned_now: None) -> None:
        """Without DecodeOptions.year, a past date is in the current year."""
        line = self.decode(b"Jan  1 00:10:00 node-a kernel: x", DecodeOptions(tz=UTC))
        expected = utc_us(2026, 1, 1, 0, 10)
        assert expected == line.wall_us

    def test_year_rollover(self, pinned_now: None) -> None:
        """Read in January, December's lines are last year's."""
        line = self.decode(b"Dec 31 23:59:59 node-a kernel: x", DecodeOptions(tz=UTC))
        expected = utc_us(2025, 12, 31, 23, 59, 59)
        assert expected == line.wall_us

    def test_up_to_a_day_ahead_stays_in_current_year(self, pinned_now: None) -> None:
        """A stamp less than a day ahead (clock skew, zones) keeps the current year."""
        line = self.decode(b"Jan  1 20:00:00 node-a kernel: x", DecodeOptions(tz=UTC))
        expected = utc_us(2026, 1, 1, 20)
        assert expected == line.wall_us

    def test_missing_host(self) -> None:
        """An entry without hostname has no host column."""
        expected = KernelLine(
            text="oom-kill:x", wall_us=utc_us(2025, 11, 26, 18, 19, 54), source_format="journal"
        )
        assert expected == self.decode(b"Nov 26 18:19:54 kernel: oom-kill:x")

    def test_empty_message(self) -> None:
        """'kernel:' with nothing after it is an empty message."""
        expected = ""
        assert expected == self.decode(b"Nov 26 18:19:54 node-a kernel:").text

    def test_kernel_stamp_in_message_stripped(self) -> None:
        """A printk stamp and caller id at the start of the message set kernel_us."""
        line = self.decode(b"Nov 26 18:19:54 node-a kernel: [ 1194.840991] [  T3171] x")
        expected = (1194840991, "x")
        assert expected == (line.kernel_us, line.text)


class TestSyslog:
    def decode(self, raw: bytes, options: DecodeOptions | None = None):
        return SyslogDecoder(options or DecodeOptions(year=2025, tz=UTC)).decode(raw)

    def decode_fixture(self, name: str) -> list:
        return decode_all(SyslogDecoder(DecodeOptions(year=2025, tz=UTC)), fixture_lines(name))

    def test_empty_line_is_not_syslog(self) -> None:
        """An empty line is not a syslog line."""
        assert self.decode(b"") is None

    def test_other_text_is_not_syslog(self) -> None:
        """Unstamped text and journalctl-only stamps are rejected."""
        expected = [None, None]
        assert expected == [
            self.decode(b"Memory cgroup out of memory: Killed process 3171"),
            self.decode(b"1764181194.840991 node-a kernel: x"),
        ]

    def test_kern_log_texts(self) -> None:
        """kern.log lines yield the kmsg texts without the printk stamp."""
        decoded = kernel_lines(self.decode_fixture("simple-memcg.syslog-kern-log"))
        expected = REPORT_TEXTS
        assert expected == [line.text for line in decoded]

    def test_kern_log_kernel_times(self) -> None:
        """kern.log's printk stamps give the kernel times."""
        decoded = kernel_lines(self.decode_fixture("simple-memcg.syslog-kern-log"))
        expected = REPORT_KERNEL_US
        assert expected == [line.kernel_us for line in decoded]

    def test_kern_log_line(self) -> None:
        """A kern.log line gives text, kernel time, wall seconds and host."""
        expected = KernelLine(
            text="Memory cgroup stats for /machine/demo:",
            kernel_us=1194840879,
            wall_us=utc_us(2025, 11, 26, 18, 19, 54),
            host="node-a",
            source_format="syslog",
        )
        assert expected == self.decode_fixture("simple-memcg.syslog-kern-log")[30]

    def test_rfc3339_wall_times(self) -> None:
        """rsyslog RFC 3339 stamps give µs wall times."""
        decoded = kernel_lines(self.decode_fixture("simple-memcg.syslog-rfc3339"))
        expected = [BOOT_B_US + us for us in REPORT_KERNEL_US]
        assert expected == [line.wall_us for line in decoded]

    def test_rfc3339_texts(self) -> None:
        """rsyslog RFC 3339 lines yield the kmsg texts."""
        decoded = kernel_lines(self.decode_fixture("simple-memcg.syslog-rfc3339"))
        expected = REPORT_TEXTS
        assert expected == [line.text for line in decoded]

    def test_other_program_ignored(self) -> None:
        """The systemd line of the real file is IGNORED."""
        expected = IGNORED
        assert expected == self.decode_fixture("simple-memcg.syslog-kern-log")[-1]

    def test_priority_prefix(self) -> None:
        """A forwarded line's <PRI> is dropped."""
        expected = KernelLine(
            text="x", wall_us=utc_us(2025, 12, 7, 0, 20, 58), host="node1", source_format="syslog"
        )
        assert expected == self.decode(b"<4>Dec  7 00:20:58 node1 kernel: x")

    def test_caller_id_stripped(self) -> None:
        """A caller id after the printk stamp is not text."""
        line = self.decode(b"Dec  7 00:20:58 node1 kernel: [  123.456789] [    C1] x")
        expected = (123456789, "x")
        assert expected == (line.kernel_us, line.text)

    def test_timezone_option(self) -> None:
        """BSD stamps are read in DecodeOptions.tz."""
        line = self.decode(b"Dec  7 00:20:58 node1 kernel: x", DecodeOptions(year=2025, tz=EST))
        expected = utc_us(2025, 12, 7, 5, 20, 58)
        assert expected == line.wall_us

    def test_year_rollover(self, pinned_now: None) -> None:
        """Read in January, December's lines are last year's."""
        line = self.decode(b"Dec 31 23:00:00 node1 kernel: x", DecodeOptions(tz=UTC))
        expected = utc_us(2025, 12, 31, 23)
        assert expected == line.wall_us


class TestPlain:
    def decode(self, raw: bytes, reports: Reports | None = None) -> KernelLine:
        options = DecodeOptions(report=reports if reports is not None else Reports())
        return PlainDecoder(options).decode(raw)

    def test_empty_line(self) -> None:
        """An empty line is an empty message."""
        expected = KernelLine(text="", source_format="plain")
        assert expected == self.decode(b"")

    def test_anything_accepted(self) -> None:
        """Lines of any shape are kept as they are."""
        expected = "6,abc;[x] -- y --"
        assert expected == self.decode(b"6,abc;[x] -- y --").text

    def test_real_dmesg_notime_texts(self) -> None:
        """dmesg -t lines are the kmsg texts."""
        decoded = decode_all(
            PlainDecoder(DecodeOptions()), fixture_lines("simple-memcg.plain-dmesg-t")
        )
        expected = REPORT_TEXTS
        assert expected == [line.text for line in decoded]

    def test_real_journal_cat_texts(self) -> None:
        """journalctl -o cat lines are the messages of every program, kernel or not."""
        decoded = decode_all(
            PlainDecoder(DecodeOptions()), fixture_lines("simple-memcg.plain-journal-cat")
        )
        expected = [*BOOT_A_TEXTS, *REPORT_TEXTS, SYSTEMD_TEXT]
        assert expected == [line.text for line in decoded]

    def test_invalid_utf8_replaced_and_reported(self) -> None:
        """Invalid UTF-8 becomes U+FFFD, serialisable, and is reported."""
        reports = Reports()
        text = self.decode(b"oom \xff\xfe (a)", reports).text
        expected = ("oom \ufffd\ufffd (a)", [("invalid UTF-8", b"oom \xff\xfe (a)")])
        assert expected == (text, reports)
        assert orjson.loads(orjson.dumps(text)) == text

    def test_carriage_return_stripped(self) -> None:
        """A trailing CR is not text."""
        expected = "text"
        assert expected == self.decode(b"text\r").text


# one line of each format, as auto-detection should name it
MIXED = [
    (b"4,894,1194840714,-;stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)", "kmsg"),
    (b" SUBSYSTEM=acpi", IGNORED),
    (b"[ 1194.840714] stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL)", "dmesg"),
    (b" dump_stack_lvl+0x57/0x80", "plain"),
    (b"kern  :warn  : [ 1194.840714] stress invoked oom-killer", "dmesg"),
    (b"[ 1194.840714] node-a kernel: stress invoked oom-killer", "journal"),
    (b"[ 1194.840714] node-a systemd[1]: Started x.", IGNORED),
    (b"-- Boot aae7e8d9ea8a4d399e7a7bbce85930c1 --", IGNORED),
    (b"Nov 26 18:19:54 node-a kernel: stress invoked oom-killer", "journal"),
    (b"<4>Nov 26 18:19:54 node-a kernel: stress invoked oom-killer", "syslog"),
    (b"<4>1 2026-11-26T18:19:54.840714Z node-a kernel - - - stress invoked oom-killer", "syslog"),
    (b"<30>1 2026-11-26T18:19:54Z node-a systemd 1 - - Started x.", IGNORED),
    (b'212 <4>1 - node-a kernel - - [a b="]"] stress invoked oom-killer', "syslog"),
    (b"2026-11-26T20:12:22,840714+00:00 stress invoked oom-killer", "dmesg"),
    (b"Call Trace:", "plain"),
]


def format_of(result: KernelLine | object) -> str | object:
    return result.source_format if isinstance(result, KernelLine) else result


class TestRegistry:
    def test_plain_is_the_last_format_detected(self) -> None:
        """plain claims every line: every format auto-detection tries comes before it."""
        detected = [fmt.name for fmt in LINE_FORMATS if fmt.detected]
        assert detected[-1] == "plain"

    def test_kmsg_is_tried_before_dmesg(self) -> None:
        """A kmsg record is never taken for another format's line (kmsg is tried first)."""
        assert DECODER_NAMES.index("kmsg") < DECODER_NAMES.index("dmesg")

    @pytest.mark.parametrize("name", [*DECODER_NAMES, "auto"])
    def test_make_decoder_names(self, name: str) -> None:
        """make_decoder gives a decoder of the requested name."""
        expected = name
        assert expected == make_decoder(name, DecodeOptions()).name

    def test_unknown_format_rejected(self) -> None:
        """An unknown format name fails with the valid choices."""
        with pytest.raises(ValueError, match="choose one of auto, kmsg, dmesg"):
            make_decoder("msgpack", DecodeOptions())

    def test_auto_extra_markers_are_those_of_the_formats_seen(self) -> None:
        """Auto-detection asks for a format's prefilter markers (the journal's boot lines,
        journal JSON's byte-array messages) once it has seen a line of that format, not before:
        each marker costs the reader a pass over the input."""
        auto = make_decoder("auto", DecodeOptions())
        assert auto.extra_markers == ()
        auto.decode(b"[  1.000000] plain dmesg line")
        assert auto.extra_markers == ()
        auto.decode(b"Nov 26 18:37:34.798531 node-a kernel: hello")
        assert auto.extra_markers == (b"-- Boot ",)  # "-- Reboot --": once a boot id is known
        auto.decode(b"-- Boot 1a2b3c4d5e6f708192a3b4c5d6e7f809 --")
        assert auto.extra_markers == (b"-- Boot ", b"-- Reboot --")
        auto.decode(b'{"MESSAGE":"x","_TRANSPORT":"kernel"}')
        expected = (b"-- Boot ", b"-- Reboot --", b'"MESSAGE":[', b'"MESSAGE" : [')
        assert auto.extra_markers == expected

    def test_explicit_format_keeps_its_extra_markers(self) -> None:
        """A named format brings its own prefilter markers, as they grow."""
        decoder = make_decoder("journal", DecodeOptions())
        assert decoder.extra_markers == JournalDecoder.extra_markers == (b"-- Boot ",)
        decoder.decode(b"-- Boot 1a2b3c4d5e6f708192a3b4c5d6e7f809 --")
        assert decoder.extra_markers == (b"-- Boot ", b"-- Reboot --")

    def test_explicit_format_falls_back_to_plain(self) -> None:
        """A line the chosen format rejects is reported and kept as plain text."""
        reports = Reports()
        line = make_decoder("dmesg", DecodeOptions(report=reports)).decode(b"Call Trace:")
        expected = (KernelLine(text="Call Trace:"), [("not a dmesg line", b"Call Trace:")])
        assert expected == (line, reports)

    def test_explicit_format_decodes(self) -> None:
        """A line of the chosen format is decoded by it, without a report."""
        reports = Reports()
        line = make_decoder("kmsg", DecodeOptions(report=reports)).decode(b"6,1,2,-;x")
        expected = (KernelLine(text="x", kernel_us=2, seq=1, cont=False, source_format="kmsg"), [])
        assert expected == (line, reports)

    def test_explicit_format_passes_ignored(self) -> None:
        """IGNORED of the chosen format is not a rejection."""
        reports = Reports()
        result = make_decoder("journal", DecodeOptions(report=reports)).decode(b"-- No entries --")
        expected = (IGNORED, [])
        assert expected == (result, reports)

    def test_text_formats_leave_cont_unknown(self) -> None:
        """Only /dev/kmsg carries the pr_cont flag: every other format leaves cont None."""
        decoder = AutoDecoder(DecodeOptions(year=2025, tz=UTC))
        decoded = kernel_lines(decode_all(decoder, [raw for raw, _ in MIXED]))
        expected = {None}
        assert expected == {line.cont for line in decoded if line.source_format != "kmsg"}

    def test_auto_detects_each_line(self) -> None:
        """Auto-detection names every line of a mixed input."""
        decoder = AutoDecoder(DecodeOptions(year=2025, tz=UTC))
        expected = [kind for _, kind in MIXED]
        assert expected == [format_of(decoder.decode(raw)) for raw, _ in MIXED]

    def test_auto_does_not_report_plain_lines(self) -> None:
        """Falling back to plain text is not a damage report in auto mode."""
        reports = Reports()
        decode_all(
            AutoDecoder(DecodeOptions(year=2025, tz=UTC, report=reports)), [m for m, _ in MIXED]
        )
        expected = []
        assert expected == reports

    def test_auto_prefers_previous_format(self) -> None:
        """A line two formats accept goes to the format of the line before it."""
        decoder = AutoDecoder(DecodeOptions(year=2025, tz=UTC))
        decoder.decode(b"<4>Nov 26 18:19:54 node-a kernel: first")
        expected = "syslog"
        assert expected == decoder.decode(b"Nov 26 18:19:54 node-a kernel: second").source_format

    def test_auto_names_bsd_syslog_journal(self) -> None:
        """Alone, a BSD syslog line is named by the journal decoder, tried first."""
        decoder = AutoDecoder(DecodeOptions(year=2025, tz=UTC))
        expected = "journal"
        assert expected == decoder.decode(b"Nov 26 18:19:54 node-a kernel: x").source_format

    def test_auto_dmesg_after_journal_monotonic(self) -> None:
        """After a short-monotonic line, a dmesg line is still dmesg."""
        decoder = AutoDecoder(DecodeOptions())
        decoder.decode(b"[ 1194.840714] node-a kernel: x")
        expected = "dmesg"
        assert expected == decoder.decode(b"[    2.100000] usb 1-1: new device").source_format

    @pytest.mark.parametrize(
        ("fixture", "expected"),
        [
            ("simple-memcg.kmsg", {"kmsg"}),
            ("dictionary-escapes.kmsg", {"kmsg", IGNORED}),
            ("simple-memcg.dmesg", {"dmesg"}),
            ("simple-memcg.dmesg-r", {"dmesg"}),
            ("simple-memcg.dmesg-x", {"dmesg"}),
            ("simple-memcg.dmesg-iso", {"dmesg"}),
            ("simple-memcg.dmesg-ctime", {"dmesg"}),
            ("simple-memcg.dmesg-reltime", {"dmesg"}),
            ("simple-memcg.dmesg-delta", {"dmesg"}),
            ("simple-memcg.dmesg-show-delta", {"dmesg"}),
            ("simple-memcg.plain-dmesg-t", {"plain"}),
            ("simple-memcg.journal-short", {"journal", IGNORED}),
            ("simple-memcg.journal-short-precise", {"journal", IGNORED}),
            ("simple-memcg.journal-short-iso", {"journal", IGNORED}),
            ("simple-memcg.journal-short-iso-precise", {"journal", IGNORED}),
            ("simple-memcg.journal-short-full", {"journal", IGNORED}),
            ("simple-memcg.journal-short-monotonic", {"journal", IGNORED}),
            ("simple-memcg.journal-short-delta", {"journal", IGNORED}),
            ("simple-memcg.journal-short-unix", {"journal", IGNORED}),
            ("simple-memcg.plain-journal-cat", {"plain"}),
            ("simple-memcg.syslog-kern-log", {"journal", IGNORED}),
            ("simple-memcg.syslog-rfc3339", {"journal", IGNORED}),
        ],
    )
    def test_auto_detects_real_samples(self, fixture: str, expected: set) -> None:
        """Every fixture is detected as its format, whole."""
        decoder = AutoDecoder(DecodeOptions(year=2025, tz=UTC))
        assert expected == {format_of(decoder.decode(raw)) for raw in fixture_lines(fixture)}

    def test_auto_dmesg_with_continuation_lines(self) -> None:
        """dmesg lines mixed with unprefixed lines keep their own formats."""
        decoder = AutoDecoder(DecodeOptions())
        lines = [b"[ 1194.840762] Call Trace:", b" <TASK>", b"[ 1194.840769]  dump_stack_lvl"]
        expected = ["dmesg", "plain", "dmesg"]
        assert expected == [format_of(decoder.decode(raw)) for raw in lines]


# pieces of every format, so that random lines get deep into the decoders
LINE_PIECES = [
    b"<4>",
    b"6,894,1194840714,c,caller=T1;",
    b" SUBSYSTEM=",
    b"[ 1194.840714]",
    b"[    T1]",
    b"kern  :warn  : ",
    b"Nov 26 18:19:54",
    b"Feb 29 00:00:00",
    b"2026-02-30T18:29:15,798531+99:00",
    b"2025-11-26T18:37:34.798531+0000",
    b"Wed 2025-11-26 18:37:34 CET",
    b"1764182254.798531",
    b" node-a kernel: ",
    b" systemd[1]: ",
    b"-- Boot 1a2b3c4d5e6f708192a3b4c5d6e7f809 --",
    b"\\xff",
    b"\xc3",
    b" ",
    b"9" * 5000,
]


@given(st.lists(st.one_of(st.sampled_from(LINE_PIECES), st.binary(max_size=8)), max_size=8))
def test_any_line_decodes_to_serialisable_text(pieces: list[bytes]) -> None:
    """No line makes a decoder fail; every text is valid for orjson."""
    raw = b"".join(pieces).replace(b"\n", b"")
    decoders = [make_decoder(name, DecodeOptions(report=Reports())) for name in DECODER_NAMES]
    for decoder in [*decoders, AutoDecoder(DecodeOptions(report=Reports()))]:
        result = decoder.decode(raw)
        if result is not IGNORED:
            orjson.dumps(result.text)


# --- kmsg: the prefix read at once is what reading it field by field gives ---------------------
_KMSG_LINES = [
    line
    for path in sorted((Path(__file__).parent / "data").rglob("*.kmsg"))
    for line in path.read_bytes().split(b"\n")
]
# pieces of record prefixes: digits (too many of them too), commas, flags, caller fields,
# semicolons, escapes, carriage returns, invalid UTF-8
_KMSG_PIECES = st.sampled_from(
    [
        b"0",
        b"6",
        b"12",
        b"9" * 5,
        b"1" * 21,
        b"007",
        b"\xd9\xa1",
        b",",
        b";",
        b"-",
        b"c",
        b"+",
        b"caller=T42",
        b" SUBSYSTEM=acpi",
        b"\\x0a",
        b"\\\\",
        b"\r",
        b"\xff",
        b"text",
        b" ",
        b"x",
    ]
)


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.sampled_from(_KMSG_LINES),
        st.lists(_KMSG_PIECES, max_size=12).map(b"".join),
        st.tuples(st.sampled_from(_KMSG_LINES), st.lists(_KMSG_PIECES, max_size=4)).map(
            lambda pair: b"".join(pair[1]) + pair[0]
        ),
        # four fields (each a few pieces), maybe more, a ";", a text
        st.lists(
            st.lists(_KMSG_PIECES, min_size=1, max_size=2).map(b"".join), min_size=3, max_size=6
        )
        .map(b",".join)
        .flatmap(
            lambda head: st.lists(_KMSG_PIECES, max_size=5).map(
                lambda text: head + b";" + b"".join(text)
            )
        ),
        st.tuples(
            st.sampled_from([b"0", b"6", b"3", b"14", b"0006", b"00006"]),
            st.sampled_from([b"1", b"970", b"1" * 20, b"1" * 21]),
            st.sampled_from([b"-", b"c", b"+", b"", b"-,caller=T1", b"c,x;y"]),
            st.lists(_KMSG_PIECES, max_size=5).map(b"".join),
        ).map(lambda p: p[0] + b"," + p[1] + b",1194840973," + p[2] + b";" + p[3]),
    )
)
@example(b"4,12,51234,+;x")
@example(b"4,12,51234,c,caller=T42;x\r")
@example(b"6,1,2,-,caller=T1;a\\x0ab\xff")
@example(b"14,1,2,-;x")
def test_kmsg_decode_is_the_field_by_field_reading(raw: bytes) -> None:
    """``decode`` (RECORD_PREFIX at once) gives, reports and counts what ``decode_parts`` does,
    on every line of every kmsg fixture and on generated prefixes."""
    fast_reports, parts_reports = Reports(), Reports()
    fast = KmsgDecoder(DecodeOptions(report=fast_reports))
    parts = KmsgDecoder(DecodeOptions(report=parts_reports))
    assert fast.decode(raw) == parts.decode_parts(raw)
    assert fast_reports == parts_reports
    assert fast.userspace_records == parts.userspace_records
