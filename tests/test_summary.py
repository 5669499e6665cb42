"""The summary table and histogram, JSON-lines input, and the --since/--until helpers."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from datetime import timezone
from pathlib import Path
from typing import ClassVar
from zoneinfo import ZoneInfo

import orjson
import pytest

from oom_input.summary import (
    OTHER_GROUPS,
    Summary,
    is_record_stream,
    peek_head,
    summarize_jsonl,
)
from oom_input.timefilter import (
    WindowFilter,
    parse_time_bound,
    record_in_window,
    time_bound_argument,
)
from oom_input.types import OomRecord

REAL = Path(__file__).parent / "data" / "real"
TWO_KILLS = REAL / "two-kills-with-noise.kmsg"
POD_LIMIT = REAL / "cgroupfs-guaranteed-pod-limit.kmsg"
PLAIN_CGROUP = REAL / "simple-memcg.kmsg"
BOOT = 1795722748.146912  # boot time of the captures made here (tests/data/real/README.md)


def cli_output(path: Path, *, boot: float | None = BOOT, host: str | None = "node-a") -> bytes:
    """oom-input's JSON lines for ``path``, as the user gets them."""
    args = [str(path)]
    if boot is not None:
        args += ["--boot-time", str(boot)]
    if host is not None:
        args += ["--host", host]
    proc = subprocess.run(
        [sys.executable, "-m", "oom_input", *args], capture_output=True, timeout=60, check=True
    )
    return proc.stdout


def cli_records(path: Path, **kwargs: object) -> list[dict]:
    return [orjson.loads(line) for line in cli_output(path, **kwargs).splitlines()]  # type: ignore[arg-type]


def table_rows(text: str) -> list[str]:
    """The table's data rows (between the header and the blank line before the histogram)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("COUNT"))
    end = lines.index("", start)
    return lines[start + 1 : end]


def histogram(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("kills per hour"))
    return lines[start + 1 :]


def summary_of(*record_lists: list[dict], **kwargs: object) -> Summary:
    summary = Summary(**kwargs)  # type: ignore[arg-type]
    for records in record_lists:
        for record in records:
            summary.add(record)
    return summary


class TestTable:
    def test_one_row_per_killed_container(self) -> None:
        """Two kills in two pods of a real capture give two rows with count 1, pod and container."""
        rows = table_rows(summary_of(cli_records(TWO_KILLS)).render(width=160))
        assert len(rows) == 2
        assert rows[0].split()[:6] == [
            "1",
            "node-a",
            "07e53718-1724-49ec-8eb1-ff4cc945461c",
            "eb718b8f6813",
            "worker-1",
            "memcg",
        ]
        assert "3a7f79a54825" in rows[1]
        assert "worker-2" in rows[1]

    def test_headline_counts_kills_groups_and_hosts(self) -> None:
        """The first line says how many kills, groups and hosts, and the zone of the times."""
        text = summary_of(cli_records(TWO_KILLS)).render()
        assert text.splitlines()[0] == "2 OOM kills in 2 groups, 1 host (times in UTC, 2026)"

    def test_same_group_is_counted_and_sorted_first(self) -> None:
        """A pod killed twice is one row with count 2, above a pod killed once."""
        once = cli_records(POD_LIMIT)
        twice = cli_records(TWO_KILLS)[:1]
        rows = table_rows(summary_of(once, twice, twice).render(width=160))
        assert [row.split()[0] for row in rows] == ["2", "1"]
        assert "worker-1" in rows[0]
        assert "python3" in rows[1]

    def test_first_and_last_time_of_a_group(self) -> None:
        """FIRST is the earliest kill and LAST the latest, dated when on another day."""
        early = cli_records(POD_LIMIT, boot=BOOT)
        late = cli_records(POD_LIMIT, boot=BOOT + 86400)
        row = table_rows(summary_of(late, early).render(width=160))[0]
        assert "11-26 20:12:24  11-27 20:12:24" in row

    def test_last_time_without_date_on_the_same_day(self) -> None:
        """LAST shows only the time when it is on FIRST's day."""
        early = cli_records(POD_LIMIT, boot=BOOT)
        later = cli_records(POD_LIMIT, boot=BOOT + 60)
        row = table_rows(summary_of(early, later).render(width=160))[0]
        assert "11-26 20:12:24  20:13:24" in row

    def test_memory_in_mib(self) -> None:
        """MAX ANON and LIMIT are the largest anon-rss and the limit, in MiB."""
        row = table_rows(summary_of(cli_records(POD_LIMIT)).render(width=160))[0]
        assert row.endswith("72 MiB  72 MiB")  # anon-rss 73472 kB, limit 73728 kB

    def test_plain_cgroup_stands_for_the_container(self) -> None:
        """Outside Kubernetes the container column is the memory cgroup and the pod is '-'."""
        row = table_rows(summary_of(cli_records(PLAIN_CGROUP)).render(width=160))[0]
        assert row.split()[2:5] == ["-", "/machine/demo", "stress"]

    def test_unknown_time_shows_dashes(self) -> None:
        """A kill without time_of_death (kmsg without --boot-time) has '-' as FIRST and LAST."""
        text = summary_of(cli_records(PLAIN_CGROUP, boot=None)).render(width=160)
        assert table_rows(text)[0].split()[6:8] == ["-", "-"]

    def test_kubernetes_names_group_by_workload_and_container(self) -> None:
        """Kills in two pods of one Deployment are one row: namespace/kind/name, container."""
        base = cli_records(POD_LIMIT)[0]
        records = [
            {**base, "pid": pid, "kubernetes": {"namespace_name": "shop", "pod_name": pod,
             "container_name": "app", "owner": {"kind": "Deployment", "name": "web"}}}
            for pid, pod in ((1, "web-7d9c5-aaaaa"), (2, "web-7d9c5-bbbbb"))
        ]  # fmt: skip
        rows = table_rows(summary_of(records).render(width=200))
        assert len(rows) == 1
        assert rows[0].split()[:4] == ["2", "node-a", "shop/Deployment/web", "app"]

    def test_pod_without_owner_is_namespace_and_pod(self) -> None:
        """A pod without owner is shown as namespace/pod."""
        record = {**cli_records(POD_LIMIT)[0], "kubernetes": {"namespace_name": "shop",
                  "pod_name": "debug", "container_name": None, "owner": None}}  # fmt: skip
        row = table_rows(summary_of([record]).render(width=200))[0]
        assert row.split()[2:4] == ["shop/debug", "12ab12ab12ab"]

    def test_table_fits_the_width(self) -> None:
        """Every line of a summary of all real captures fits 100 columns."""
        records = [r for path in sorted(REAL.glob("*.kmsg")) for r in cli_records(path)]
        text = summary_of(records).render(width=100)
        assert max(len(line) for line in text.splitlines()) <= 100
        assert len(table_rows(text)) == 8

    def test_oom_record_objects_are_accepted(self) -> None:
        """add() takes OomRecord objects as well as dicts."""
        record = OomRecord(host="node-b", process_name="java", kind="system", container_name="/")
        rows = table_rows(summary_of([record]).render())  # type: ignore[list-item]
        assert rows[0].split()[:6] == ["1", "node-b", "-", "/", "java", "system"]

    def test_empty_summary(self) -> None:
        """No record: one line saying so."""
        assert Summary().render() == "0 OOM kills in 0 groups, 0 hosts (times in UTC)\n"


class TestHistogram:
    def test_one_bar_per_host_and_hour(self) -> None:
        """Kills in two hours on one host give two lines with bars as long as their counts."""
        records = cli_records(TWO_KILLS) + cli_records(POD_LIMIT)
        lines = histogram(summary_of(records).render())
        assert [line.split()[:3] + line.split()[-1:] for line in lines] == [
            ["node-a", "2026-11-26", "19h", "2"],
            ["node-a", "2026-11-26", "20h", "1"],
        ]
        assert lines[0].count("█") == 2 * lines[1].count("█")

    def test_hours_in_the_given_zone(self) -> None:
        """With a zone, hours and the headline are in it."""
        text = summary_of(cli_records(POD_LIMIT), tz=ZoneInfo("Asia/Kolkata")).render()
        assert "times in Asia/Kolkata" in text.splitlines()[0]
        assert histogram(text)[0].startswith("node-a  2026-11-27 01h")

    def test_kills_without_time_get_their_own_line(self) -> None:
        """Kills of unknown time are counted on a '(no time)' line after the hours."""
        records = cli_records(POD_LIMIT) + cli_records(PLAIN_CGROUP, boot=None)
        lines = histogram(summary_of(records).render())
        assert lines[-1].startswith("node-a  (no time)")


class TestBounds:
    def test_groups_beyond_the_cap_go_to_other(self) -> None:
        """With max_groups=1 the second and third group are counted in one '(other groups)' row."""
        records = cli_records(TWO_KILLS) + cli_records(POD_LIMIT)
        summary = summary_of(records, max_groups=1)
        rows = table_rows(summary.render(width=160))
        assert len(summary.groups) == 1
        assert rows[-1].split()[:3] == ["2", *OTHER_GROUPS.split()]
        assert summary.total == 3

    def test_hours_beyond_the_cap_go_to_other(self) -> None:
        """With max_hours=1 kills of another hour are counted on an '(other hours)' line."""
        records = cli_records(TWO_KILLS) + cli_records(POD_LIMIT)
        lines = histogram(summary_of(records, max_hours=1).render())
        assert lines[-1].startswith("(other hours)")
        assert lines[-1].endswith(" 1")


class TestJsonLines:
    def test_records_file_gives_the_same_summary(self) -> None:
        """summarize_jsonl over the CLI's output renders like adding the records directly."""
        data = cli_output(TWO_KILLS)
        assert summarize_jsonl([data]).render() == summary_of(cli_records(TWO_KILLS)).render()

    def test_chunk_boundaries_do_not_matter(self) -> None:
        """Records cut across 7-byte chunks give the same summary."""
        data = cli_output(TWO_KILLS)
        chunks = [data[i : i + 7] for i in range(0, len(data), 7)]
        assert summarize_jsonl(chunks).render() == summarize_jsonl([data]).render()

    def test_non_record_lines_are_skipped_and_counted(self) -> None:
        """Garbage, other JSON and blank lines are not records; the first two are counted."""
        data = b"garbage\n" + cli_output(TWO_KILLS) + b'\n{"event":"other"}\n\n'
        summary = summarize_jsonl([data])
        assert (summary.total, summary.skipped) == (2, 2)
        assert "2 input lines skipped: not oom-input records" in summary.render()

    def test_overlong_line_is_skipped(self) -> None:
        """A line longer than max_line is skipped once, and the next record still counts."""
        data = b"x" * 5000 + b"\n" + cli_output(POD_LIMIT)
        chunks = [data[i : i + 1000] for i in range(0, len(data), 1000)]
        summary = summarize_jsonl(chunks, max_line=4096)
        assert (summary.total, summary.skipped) == (1, 1)

    def test_several_files_add_up(self) -> None:
        """Passing the same Summary adds the records of several files."""
        summary = summarize_jsonl([cli_output(TWO_KILLS)])
        summarize_jsonl([cli_output(POD_LIMIT)], summary)
        assert summary.total == 3

    def test_record_stream_is_recognised(self) -> None:
        """oom-input's output is a record stream, even with its first line cut off."""
        data = cli_output(TWO_KILLS)
        assert is_record_stream(data)
        assert is_record_stream(data[:100])

    def test_kernel_logs_and_other_json_are_not_record_streams(self) -> None:
        """A kmsg capture, journal JSON and an empty input are not record streams."""
        journal = (Path(__file__).parent / "data/structured/simple-memcg.journal-json").read_bytes()
        assert not is_record_stream(TWO_KILLS.read_bytes()[:65536])
        assert not is_record_stream(journal[:65536])
        assert not is_record_stream(b"")

    def test_peek_head_stops_after_the_first_line_and_loses_nothing(self) -> None:
        """peek_head reads up to the first complete line; the iterator still gives every byte."""
        chunks = [b"\n", b'{"event":', b'"oom_kill"}\n{', b"rest}\n", b"never read"]
        consumed: list[bytes] = []

        def source() -> Iterator[bytes]:
            for chunk in chunks:
                consumed.append(chunk)
                yield chunk

        head, everything = peek_head(source())
        assert head == b'\n{"event":"oom_kill"}\n{'
        assert len(consumed) == 3
        assert is_record_stream(head)
        assert b"".join(everything) == b"".join(chunks)


NOW = 1_795_800_000_000_000  # 2026-11-27T17:20:00Z


class TestParseTimeBound:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("2026-11-26T09:00:00Z", 1_795_683_600_000_000),
            ("2026-11-26T10:00:00+01:00", 1_795_683_600_000_000),
            ("2026-11-26t09:00:00.5z", 1_795_683_600_500_000),
            ("2026-11-26T09:00:00.123456789Z", 1_795_683_600_123_456),
            ("2026-11-26 09:00Z", 1_795_683_600_000_000),
        ],
    )
    def test_rfc3339_with_zone(self, text: str, expected: int) -> None:
        """RFC 3339 stamps with a zone give exact microseconds."""
        assert parse_time_bound(text) == expected

    def test_no_zone_is_the_given_zone(self) -> None:
        """A stamp without zone is read in tz (the local zone by default)."""
        berlin = ZoneInfo("Europe/Berlin")
        assert parse_time_bound("2026-11-26 10:00", tz=berlin) == 1_795_683_600_000_000
        assert parse_time_bound("2026-11-26T10:00:00", tz=berlin) == 1_795_683_600_000_000

    def test_date_alone_is_midnight(self) -> None:
        """YYYY-MM-DD is the start of that day."""
        assert parse_time_bound("2026-11-26", tz=timezone.utc) == 1_795_651_200_000_000

    @pytest.mark.parametrize(
        ("text", "seconds"),
        [("-2h", 7200), ("-30m", 1800), ("-1d", 86400), ("-90s", 90), ("-1h30m", 5400)],
    )
    def test_relative_counts_back_from_now(self, text: str, seconds: int) -> None:
        """-2h, -30m, -1d, ... are that long before now."""
        assert parse_time_bound(text, now_us=NOW) == NOW - seconds * 1_000_000

    def test_now_and_unix_seconds(self) -> None:
        """'now' is now, '@SECONDS' is Unix time."""
        assert parse_time_bound("now", now_us=NOW) == NOW
        assert parse_time_bound("@1795683600.25") == 1_795_683_600_250_000

    @pytest.mark.parametrize("text", ["yesterday", "2h", "-2x", "26/11/2026", "", "@x"])
    def test_unreadable_text_says_what_is_accepted(self, text: str) -> None:
        """Anything else raises ValueError naming the input and the accepted forms."""
        with pytest.raises(ValueError, match=r"invalid time .*RFC 3339.*-2h"):
            parse_time_bound(text)

    def test_impossible_date_is_an_error(self) -> None:
        """A month 13 raises ValueError saying what is wrong."""
        with pytest.raises(ValueError, match=r"month must be in 1\.\.12"):
            parse_time_bound("2026-13-01")

    def test_argparse_type_shows_the_message(self) -> None:
        """time_bound_argument raises ArgumentTypeError carrying the message."""
        with pytest.raises(argparse.ArgumentTypeError, match="invalid time 'soon'"):
            time_bound_argument("soon")


class TestWindow:
    RECORD: ClassVar[dict[str, str]] = {"time_of_death": "2026-11-26T09:00:00Z"}
    AT = 1_795_683_600_000_000

    def test_bounds_are_inclusive(self) -> None:
        """A record exactly at since or until is inside."""
        assert record_in_window(self.RECORD, self.AT, self.AT)

    def test_outside_is_dropped(self) -> None:
        """A record before since or after until is outside."""
        assert not record_in_window(self.RECORD, self.AT + 1, None)
        assert not record_in_window(self.RECORD, None, self.AT - 1)

    def test_unknown_time_is_kept(self) -> None:
        """A record without time_of_death passes any window."""
        assert record_in_window({"time_of_death": None}, self.AT, self.AT)
        assert record_in_window(OomRecord(), self.AT, self.AT)

    def test_filter_passes_window_records_to_every_sink(self) -> None:
        """WindowFilter writes kept records to all its sinks and counts the rest."""
        records = cli_records(TWO_KILLS) + cli_records(PLAIN_CGROUP, boot=None)
        first, second = Summary(), Summary()
        since = parse_time_bound("2026-11-26T19:58:35Z")
        window = WindowFilter(first, second, since_us=since)
        for record in records:
            window.write(OomRecord(**record))
        assert (first.total, second.total) == (2, 2)  # worker-2 and the kill of unknown time
        assert (window.dropped, window.unknown_time) == (1, 1)

    def test_since_after_until_is_refused(self) -> None:
        """A window that ends before it starts is a ValueError."""
        with pytest.raises(ValueError, match="later than --until"):
            WindowFilter(since_us=2, until_us=1)
