"""The report's own evidence (issue 14): task table, memcg statistics, system memory, reason.

Unit tests feed ``ReportEvidence`` the kernel's lines (shapes from the printk formats named in
oom_input/evidence.py and tests/data/legacy/README.md); end-to-end tests run the pipeline and
the chunked reader over the fixtures; the golden files (test_golden.py) hold the full records.
"""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import msgpack
import pytest
from helpers import KMSG_CAPTURES, run_cli, run_pipeline, scan_kmsg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oom_input.assembler import Assembler, assemble
from oom_input.decoders import make_decoder
from oom_input.evidence import (
    LINE_KINDS,
    ReportEvidence,
    TopTasks,
    human_kb,
    page_size_kb,
    reason,
)
from oom_input.scanner import LineScanner
from oom_input.sinks.msgpack import ForwardSink, MsgpackSink
from oom_input.types import DecodeOptions, KernelLine, OomRecord
from schema_util import validate_record

LEGACY = Path(__file__).parent / "data" / "legacy"
REAL = Path(__file__).parent / "data" / "real"

# dump_tasks() headers of each kernel layout
HEADER_2_6 = "[ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name"
HEADER_3_10 = "[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name"
HEADER_4_14 = "[ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name"
HEADER_5 = "[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name"
HEADER_6 = (
    "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes "
    "swapents oom_score_adj name"
)


def row_6(pid: int, uid: int, rss: int, swap: int, adj: int, name: str) -> str:
    """A 6.x row: [%7d] %5d %5d %8lu %8lu %8lu %8lu %9lu %8ld %8lu         %5hd %s"""
    return (
        f"[{pid:>7}] {uid:>5} {pid:>5} {rss * 2:>8} {rss:>8} {rss:>8} {0:>8} {0:>9} "
        f"{65536:>8} {swap:>8}         {adj:>5} {name}"
    )


def table(header: str, rows: list[str], victim: int | None = None, kill_kb: int | None = None):
    evidence = ReportEvidence()
    evidence.feed(header)
    for row in rows:
        assert evidence.feed(row), row
    return finished(evidence, victim, kill_kb)


def finished(
    evidence: ReportEvidence, victim: int | None = None, kill_kb: int | None = None
) -> OomRecord:
    """The record the evidence finishes, for a victim with this pid and kill-line RSS."""
    record = OomRecord(pid=victim, anon_rss_kb=kill_kb, id="-")
    evidence.finish(record)
    return record


class TestTaskTableLayouts:
    def test_2_6_cpu_oom_adj(self) -> None:
        """2.6.32 rows (cpu, oom_adj columns; no swapents) give rss and oom_score_adj."""
        found = table(
            HEADER_2_6,
            [
                "[  512]     0   512     2774      131   1     -17         -1000 udevd",
                "[ 1893]    27  1893  1572864   912527   1       0             0 mysqld",
            ],
            victim=1893,
            kill_kb=3650108,
        )
        assert found.task_count == 2
        assert found.top_tasks == [
            {
                "pid": 1893,
                "tgid": 1893,
                "uid": 27,
                "name": "mysqld",
                "rss_kb": 3650108,
                "swap_kb": None,
                "oom_score_adj": 0,
            },
            {
                "pid": 512,
                "tgid": 512,
                "uid": 0,
                "name": "udevd",
                "rss_kb": 524,
                "swap_kb": None,
                "oom_score_adj": -1000,
            },
        ]
        assert (found.uid, found.oom_score_adj) == (27, 0)

    def test_3_10_nr_ptes(self) -> None:
        """3.10 rows (nr_ptes swapents) give swap and the victim's uid."""
        found = table(
            HEADER_3_10,
            ["[23145]  1000 23145  1239811   262308     636       25           982 java"],
            victim=23145,
        )
        assert found.top_tasks is not None
        assert (found.top_tasks[0]["swap_kb"], found.uid) == (100, 1000)
        assert found.oom_score_adj == 982

    def test_4_14_nr_ptes_nr_pmds(self) -> None:
        """4.11-4.14 rows (nr_ptes nr_pmds swapents) are read column by name."""
        found = table(
            HEADER_4_14,
            ["[ 4188]  1000  4188   358877   103264     412       4        7           968 chrome"],
        )
        assert found.top_tasks is not None
        top = found.top_tasks[0]
        assert (top["rss_kb"], top["swap_kb"], top["oom_score_adj"]) == (413056, 28, 968)

    def test_5_pgtables_bytes(self) -> None:
        """4.15+ rows ([%7d], pgtables_bytes) are read."""
        found = table(
            HEADER_5,
            ["[  31337]   998 31337  2134801  1986317 16146432        3             0 python3"],
        )
        assert found.top_tasks is not None
        assert (found.top_tasks[0]["pid"], found.top_tasks[0]["swap_kb"]) == (31337, 12)

    def test_6_rss_breakdown(self) -> None:
        """6.x rows (rss_anon rss_file rss_shmem): rss is the total column, not rss_anon."""
        found = table(
            HEADER_6,
            ["[   3171]     0  3171    14387    11835    10176     1659         0   143360"
             "        0             0 stress"],
        )  # fmt: skip
        assert found.top_tasks is not None
        assert found.top_tasks[0]["rss_kb"] == 11835 * 4

    def test_name_with_spaces_brackets_and_digits(self) -> None:
        """The comm is everything after the last numeric column, whatever it holds."""
        names = ["w [1] (x) 2 y", "12 34", "[kworker] 5", "a  b ", ""]
        rows = [row_6(100 + i, 0, 1000 - i, 0, 0, name) for i, name in enumerate(names)]
        found = table(HEADER_6, rows)
        assert found.top_tasks is not None
        assert [t["name"] for t in found.top_tasks] == names

    def test_no_table_gives_nulls(self) -> None:
        """Without a task table: task_count, tasks_rss_kb and top_tasks are null, not 0."""
        found = finished(ReportEvidence(), 1, 100)
        assert (found.task_count, found.tasks_rss_kb, found.top_tasks) == (None, None, None)
        assert (found.uid, found.oom_score_adj) == (None, None)

    def test_table_ends_at_the_first_other_line(self) -> None:
        """A line that is not a row closes the table: later "[...]" lines are not rows."""
        evidence = ReportEvidence()
        evidence.feed(HEADER_5)
        evidence.feed("[  1]     0     1     100      10       0        0             0 a")
        assert evidence.in_block
        evidence.feed("oom-kill:constraint=CONSTRAINT_MEMCG,...")
        assert not evidence.in_block
        assert not evidence.feed("[  2]     0     2     100      99       0        0       0 b")
        assert finished(evidence).task_count == 1


class TestTopTasks:
    def test_keeps_the_n_largest_ties_in_table_order(self) -> None:
        """Only N rows are kept; equal RSS keeps the earlier row."""
        top = TopTasks(2)
        for pid, rss in ((1, 5), (2, 9), (3, 9), (4, 1), (5, 9)):
            top.offer(rss, pid, pid, 0, 0, 0, f"p{pid}")
        assert [t["pid"] for t in top.largest(4)] == [2, 3]

    def test_zero_turns_it_off(self) -> None:
        """--top-tasks 0: no rows kept, top_tasks null, the count still made."""
        found = ReportEvidence(0)
        found.feed(HEADER_5)
        found.feed("[  1]     0     1     100      10       0        0             0 a")
        result = finished(found)
        assert (result.top_tasks, result.task_count) == (None, 1)

    def test_a_table_of_100000_rows_stays_small(self) -> None:
        """10^5 rows: the right top 5 and count, and memory of a few MB at most."""
        rows = [
            row_6(pid, 0, (pid * 7919) % 100_003, 0, 0, f"task-{pid}") for pid in range(100_000)
        ]
        tracemalloc.start()
        evidence = ReportEvidence(5)
        evidence.feed(HEADER_6)
        for row in rows:
            evidence.feed(row)
        found = finished(evidence)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert found.task_count == 100_000
        expected = sorted(range(100_000), key=lambda pid: -((pid * 7919) % 100_003))[:5]
        assert found.top_tasks is not None
        assert [t["pid"] for t in found.top_tasks] == expected
        # the rows' text alone is ~11 MB; kept: 5 rows and a 26-bytes-per-row victim index
        assert peak < 4_000_000, peak

    def test_100000_rows_through_the_assembler_keep_the_report_open(self) -> None:
        """A table longer than the report line bound still ends in one complete record."""
        lines = [
            "big invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
            "Tasks state (memory values in pages):",
            HEADER_6,
            *(row_6(pid, 0, 10 + pid % 50, 0, 0, "w") for pid in range(1, 100_001)),
            "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
            "global_oom,task_memcg=/,task=w,pid=49,uid=0",
            "Out of memory: Killed process 49 (w) total-vm:472kB, anon-rss:236kB, "
            "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:64kB oom_score_adj:0",
        ]
        [record] = assemble(lines)
        assert (record.complete, record.task_count, record.pid) == (True, 100_000, 49)


class TestPageSize:
    def test_inferred_from_the_victims_row(self) -> None:
        """The victim's pages against its kill line's kB give 4, 16 or 64 KiB pages."""
        assert page_size_kb(230_000, 3_680_000) == 16
        assert page_size_kb(1000, 64_100) == 64
        assert page_size_kb(11835, 47340) == 4

    def test_default_when_it_cannot_tell(self) -> None:
        """No row, no kill sizes, or a ratio far from any page size: 4 KiB."""
        assert page_size_kb(None, 100) == 4
        assert page_size_kb(100, None) == 4
        assert page_size_kb(100, 1100) == 4  # 11 kB per page: no architecture has that

    def test_16k_fixture_converts_every_page_count(self) -> None:
        """Rows, Mem-Info counters and RAM pages all use the inferred 16 KiB."""
        [record] = run_pipeline([(LEGACY / "v6.12-arm64-16k-global-oom.kmsg").read_bytes()])
        assert record["top_tasks"][0]["rss_kb"] == 230_000 * 16
        assert record["system_memory"]["ram_kb"] == 524_288 * 16
        assert record["system_memory"]["free_kb"] == 5120 * 16


class TestMemcgStats:
    def test_one_key_per_line_6_4(self) -> None:
        """6.4+: one "key value" record per line, values as printed."""
        evidence = ReportEvidence()
        evidence.feed("Memory cgroup stats for /machine/demo:")
        for line in ("cache 0", "rss 41758720", "pgfault 10413"):
            assert evidence.feed(line)
        evidence.feed("Tasks state (memory values in pages):")
        found = finished(evidence)
        assert found.memcg_stats == {"cache": 0, "rss": 41758720, "pgfault": 10413}

    def test_one_record_with_newlines_5_x(self) -> None:
        """5.0-6.3: the whole memory.stat in one record (kmsg \\x0a decoded to newlines)."""
        evidence = ReportEvidence()
        evidence.feed("Memory cgroup stats for /a:")
        assert evidence.feed("anon 2133430272\nfile 4096\npgmajfault 31")
        assert finished(evidence).memcg_stats == {
            "anon": 2133430272,
            "file": 4096,
            "pgmajfault": 31,
        }

    def test_dmesg_continuation_lines_5_x(self) -> None:
        """dmesg prints such a record's later lines indented, without a stamp."""
        evidence = ReportEvidence()
        evidence.feed("Memory cgroup stats for /a:")
        evidence.feed("anon 10")
        evidence.feed("                 file 20")
        assert finished(evidence).memcg_stats == {"anon": 10, "file": 20}

    def test_old_inline_kb_form_only_the_limited_cgroup(self) -> None:
        """<= 4.19: one line per cgroup of the subtree; the first (the limited one) counts, KB
        become bytes."""
        evidence = ReportEvidence()
        evidence.feed("Memory cgroup stats for /pod: cache:0KB rss:8KB swap:0KB")
        evidence.feed("Memory cgroup stats for /pod/ctr: cache:384KB rss:1047948KB swap:0KB")
        assert finished(evidence).memcg_stats == {"cache": 0, "rss": 8192, "swap": 0}

    def test_old_inline_form_split_by_an_extended_console(self) -> None:
        """4.x with netconsole: each " key:NKB" pr_cont piece a record of its own."""
        evidence = ReportEvidence()
        evidence.feed("Memory cgroup stats for /a:")
        evidence.feed(" cache:4KB")
        evidence.feed(" rss:8KB")
        evidence.feed("[ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name")
        assert finished(evidence).memcg_stats == {"cache": 4096, "rss": 8192}

    def test_swap_and_kmem_lines(self) -> None:
        """v1 memory+swap: and kmem:, v2 swap: follow the memory: usage line."""
        v1 = ReportEvidence()
        v1.feed("memory: usage 40960kB, limit 40960kB, failcnt 66")
        v1.feed("memory+swap: usage 40968kB, limit 9007199254740988kB, failcnt 0")
        v1.feed("kmem: usage 180kB, limit 9007199254740988kB, failcnt 0")
        found = finished(v1)
        assert (found.swap_usage_kb, found.swap_limit_kb, found.kmem_usage_kb) == (
            40968,
            9007199254740988,
            180,
        )
        v2 = ReportEvidence()
        v2.feed("memory: usage 2097152kB, limit 2097152kB, failcnt 1882")
        v2.feed("swap: usage 1024kB, limit 4096kB, failcnt 0")
        found = finished(v2)
        assert (found.swap_usage_kb, found.swap_limit_kb, found.kmem_usage_kb) == (1024, 4096, None)

    @staticmethod
    def _memory_stat(length: int) -> tuple[str, dict[str, int]]:
        """A memory.stat text of exactly ``length`` characters, its last line
        "thp_collapse_alloc <digits>", and its keys."""
        tail = "thp_collapse_alloc "
        lines = (length - len(tail) - 3) // 22  # "counter_NN 10000000NN\n": 22 characters
        head = "".join(f"counter_{i:02d} {10**9 + i}\n" for i in range(lines))
        digits = length - len(head) - len(tail)
        text = head + tail + "7" * digits
        return text, {
            **{f"counter_{i:02d}": 10**9 + i for i in range(lines)},
            "thp_collapse_alloc": int("7" * digits),
        }

    @pytest.mark.parametrize("limit", [975, 991])
    @pytest.mark.parametrize("shape", ["record", "dmesg lines"])
    def test_record_cut_at_printk_limit_loses_its_last_key(self, limit: int, shape: str) -> None:
        """5.0-6.3 print memory.stat as one printk record, which printk cuts at LOG_LINE_MAX - 1
        bytes (1024 - 32 - 1; 1024 - 48 - 1 with CONFIG_PRINTK_CALLER): the last line may be
        cut in its value ("thp_collapse_alloc 77" of 77777), so it is left out, never recorded
        as a smaller number; the keys before it stay."""
        text, keys = self._memory_stat(limit)
        evidence = ReportEvidence()
        evidence.feed("Memory cgroup stats for /a:")
        for i, part in enumerate([text] if shape == "record" else text.split("\n")):
            # (the assembler's call for an unstamped dmesg line)
            assert (evidence.feed_continuing if i else evidence.feed)(part)
        evidence.feed("Tasks state (memory values in pages):")
        assert evidence.stats_cut
        del keys["thp_collapse_alloc"]
        assert finished(evidence).memcg_stats == keys

    @pytest.mark.parametrize("shape", ["record", "dmesg lines"])
    def test_record_cut_in_a_key_keeps_the_key_before(self, shape: str) -> None:
        """A cut inside the last line's key leaves a key without value: that piece is dropped,
        the whole line before it kept."""
        head = "".join(f"counter_{i:02d} {10**9 + i}\n" for i in range(44))  # 968 characters
        text = head + "pgfault 1234567890\n" + "thp_"  # 991: printk's cut, in a key
        keys = {**{f"counter_{i:02d}": 10**9 + i for i in range(44)}, "pgfault": 1234567890}
        evidence = ReportEvidence()
        evidence.feed("Memory cgroup stats for /a:")
        for i, part in enumerate([text] if shape == "record" else text.split("\n")):
            # (the assembler's call for an unstamped dmesg line)
            assert (evidence.feed_continuing if i else evidence.feed)(part)
        assert len(text) == 991 and evidence.stats_cut
        assert finished(evidence).memcg_stats == keys

    def test_key_piece_of_a_short_record_is_no_printk_cut(self) -> None:
        """A key without value in a record short of the limit (an input cut off in a line) is
        not kept, and is no cut of printk's: the keys before it stay, nothing is said."""
        evidence = ReportEvidence()
        evidence.feed("Memory cgroup stats for /a:")
        for line in ("anon 10", "file 20", "shmem"):
            assert evidence.feed(line)
        assert not evidence.stats_cut
        assert finished(evidence).memcg_stats == {"anon": 10, "file": 20}

    @pytest.mark.parametrize("length", [974, 976, 990])
    def test_record_short_of_the_limit_is_whole(self, length: int) -> None:
        """A record shorter than the limit (printk stripped its last newline) is whole."""
        text, keys = self._memory_stat(length)
        evidence = ReportEvidence()
        evidence.feed("Memory cgroup stats for /a:")
        assert evidence.feed(text)
        assert not evidence.stats_cut
        assert finished(evidence).memcg_stats == keys

    def test_one_line_records_as_long_in_all_are_whole(self) -> None:
        """6.4+ print a record per line: lines as long in all as a cut record are no cut."""
        text, keys = self._memory_stat(991)
        evidence = ReportEvidence()
        evidence.feed("Memory cgroup stats for /a:")
        for part in text.split("\n"):
            assert evidence.feed(part)
        assert not evidence.stats_cut
        assert finished(evidence).memcg_stats == keys

    def test_cut_record_is_told_on_stderr(self) -> None:
        """The assembler says which report's statistics the kernel cut (a notice)."""
        text, _ = self._memory_stat(991)
        notices: list[tuple[str, str]] = []
        assembler = Assembler(on_notice=lambda kind, message: notices.append((kind, message)))
        lines = [
            "a invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",
            "memory: usage 8kB, limit 8kB, failcnt 1",
            "Memory cgroup stats for /a:",
            text,
            "Memory cgroup out of memory: Killed process 5 (a) total-vm:1kB, anon-rss:1kB, "
            "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1kB oom_score_adj:0",
        ]
        records = [r for line in lines for r in assembler.feed(KernelLine(line))]
        assert [r.pid for r in records] == [5]
        assert "thp_collapse_alloc" not in (records[0].memcg_stats or {})
        assert [kind for kind, _ in notices] == ["memcg stats cut"]
        assert "pid 5" in notices[0][1]

    def test_stray_swap_line_outside_the_block_is_ignored(self) -> None:
        """A "swap: usage" line not right after "memory: usage" is no cgroup's."""
        evidence = ReportEvidence()
        evidence.feed("swap: usage 1kB, limit 2kB, failcnt 0")
        assert finished(evidence).swap_usage_kb is None


class TestSystemMemory:
    def test_2_6_lines_each_stamped(self) -> None:
        """2.6.32: the counters on lines of their own, per-cpu lines before them."""
        evidence = ReportEvidence()
        for line in (
            "Mem-Info:",
            "Node 0 DMA per-cpu:",
            "CPU    0: hi:    0, btch:   1 usd:   0",
            " free:21343 slab_reclaimable:4131 slab_unreclaimable:9822",
            " mapped:309 shmem:215 pagetables:5430 bounce:0",
            "Node 0 DMA free:15700kB min:60kB shmem:0kB pagetables:0kB",
            "Free swap  = 0kB",
            "Total swap = 0kB",
            "2097151 pages RAM",
        ):
            evidence.feed(line)
        assert finished(evidence).system_memory == {
            "free_kb": 85372,
            "slab_reclaimable_kb": 16524,
            "slab_unreclaimable_kb": 39288,
            "shmem_kb": 860,
            "pagetables_kb": 21720,
            "swap_free_kb": 0,
            "swap_total_kb": 0,
            "ram_kb": 8388604,
        }

    def test_missing_lines_are_null_not_zero(self) -> None:
        """A report cut after Mem-Info: the keys it lacks are null."""
        evidence = ReportEvidence()
        evidence.feed("Mem-Info:")
        evidence.feed("active_anon:1 inactive_anon:2 isolated_anon:0\n free:7 free_pcp:1")
        memory = finished(evidence).system_memory
        assert memory is not None
        assert (memory["free_kb"], memory["shmem_kb"], memory["ram_kb"]) == (28, None, None)

    def test_memcg_oom_has_none(self) -> None:
        """No Mem-Info line: system_memory null."""
        [record] = run_pipeline([(REAL / "simple-memcg.kmsg").read_bytes()])
        assert record["system_memory"] is None


class TestReason:
    def test_memcg_example_of_the_issue(self) -> None:
        """The issue's memcg example, from a record's fields alone."""
        record = OomRecord(
            kind="memcg",
            pid=4608,
            process_name="my (app), v2",
            anon_rss_kb=52 * 1024,
            file_rss_kb=2 * 1024,
            shmem_rss_kb=0,
            memory_usage_kb=48 * 1024,
            memory_limit_kb=48 * 1024,
            memory_failcnt=66,
            tasks_rss_kb=55 * 1024,
        )
        assert reason(record) == (
            'memcg limit 48 MiB reached (usage 48 MiB, failcnt 66); victim "my (app), v2" held '
            "54 MiB of the cgroup's 55 MiB task RSS"
        )

    def test_system_with_a_larger_holder(self) -> None:
        """System OOM: free of RAM, swap, and the largest task when it is not the victim."""
        record = {
            "kind": "system",
            "pid": 7,
            "process_name": "java",
            "anon_rss_kb": 1024,
            "system_memory": {"free_kb": 97 * 1024, "ram_kb": 8178892, "swap_total_kb": 0},
            "top_tasks": [{"pid": 9, "name": "php-fpm", "rss_kb": 2831155}],
        }
        assert reason(record) == (
            'system out of memory: 97 MiB free of 7.8 GiB, no swap; victim "java" held 1.0 MiB; '
            'largest task "php-fpm" 2.7 GiB'
        )

    def test_sidecar_fixture_names_the_sidecar(self) -> None:
        """The v2 sidecar report: the reason says envoy held more than the victim."""
        [record] = run_pipeline([(LEGACY / "v6.12-cgroup-v2-sidecar.kmsg").read_bytes()])
        assert 'largest task "envoy" 308 MiB' in record["reason"]
        assert record["top_tasks"][0]["name"] == "envoy"
        assert record["pid"] == 41137

    def test_nothing_known(self) -> None:
        """A bare record gives a bare but true line."""
        assert reason(OomRecord()) == "out of memory; no victim"

    def test_human_sizes(self) -> None:
        """kB shown as KiB/MiB/GiB, a decimal only below 10."""
        assert [human_kb(n) for n in (512, 1536, 48 * 1024, 8178892)] == [
            "512 KiB",
            "1.5 MiB",
            "48 MiB",
            "7.8 GiB",
        ]


class TestOutputs:
    def test_msgpack_and_forward_carry_the_keys(self) -> None:
        """The msgpack map and the forward entry hold top_tasks, memcg_stats and reason."""
        records: list[OomRecord] = []
        scanner = LineScanner(make_decoder("kmsg", DecodeOptions()), Assembler(), records.append)
        scanner.feed((LEGACY / "v6.12-cgroup-v2-sidecar.kmsg").read_bytes())
        scanner.finish()
        [record] = records
        stream = io.BytesIO()
        MsgpackSink(stream).write(record)
        ForwardSink(stream).write(record)
        unpacker = msgpack.Unpacker(raw=False)
        unpacker.feed(stream.getvalue())
        bare, (_, _, entry) = list(unpacker)
        for decoded in (bare, entry):
            validate_record(decoded)
            assert decoded["top_tasks"][0]["name"] == "envoy"
            assert decoded["memcg_stats"]["anon"] == 522440704
            assert decoded["reason"] == record.reason

    def test_cli_top_tasks_option(self) -> None:
        """--top-tasks 1 keeps one row; 0 leaves top_tasks null; a negative N is refused."""
        data = (LEGACY / "v4.14-memcg-child-sacrificed.dmesg").read_bytes()
        one = run_cli("--top-tasks", "1", stdin=data)
        assert one.returncode == 0, one.stderr
        assert b'"top_tasks":[{"pid":4101,' in one.stdout
        assert b'"task_count":4' in one.stdout
        off = run_cli("--top-tasks", "0", stdin=data)
        assert b'"top_tasks":null' in off.stdout
        bad = run_cli("--top-tasks", "-1", stdin=data)
        assert bad.returncode == 2
        assert b"--top-tasks" in bad.stderr


class TestLineKinds:
    def test_every_kind_names_a_handler(self) -> None:
        """The declarative list matches the class: each handler exists; block lines have no
        markers and name the kind that opens them."""
        names = {kind.name for kind in LINE_KINDS}
        for kind in LINE_KINDS:
            assert callable(getattr(ReportEvidence, kind.handler))
            if kind.opened_by is not None:
                assert kind.markers == ()
                assert kind.opened_by in names
            else:
                assert kind.markers


NOISE = [
    b"6,100,5000,-;eth0: link becomes ready",
    b"6,103,5003,-;cache 0",
    b"6,104,5004,-;[   12] not a row",
    b"4,105,5005,-;Free swap is low",
    b"6,106,5006,-;Mem-Info: not a report",
]


@st.composite
def _stream(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    parts: list[bytes] = []
    for _ in range(draw(st.integers(1, 3))):
        parts += draw(st.lists(st.sampled_from(NOISE), max_size=10))
        parts += draw(st.sampled_from(KMSG_CAPTURES)).rstrip(b"\n").split(b"\n")
    data = b"\n".join(parts) + b"\n"
    return data, draw(st.lists(st.integers(0, len(data)), max_size=12))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_stream())
def test_skipping_reader_gives_the_same_evidence(case: tuple[bytes, list[int]]) -> None:
    """The chunked, skipping reader finds the same evidence as feeding every line."""
    data, cuts = case
    expected = scan_kmsg(data, None)
    assert scan_kmsg(data, cuts) == expected
    assert all(r["task_count"] is not None for r in expected)


class TestSummaryHolders:
    def test_largest_holders_next_to_the_victims(self) -> None:
        """`--summary` shows each kill's victim next to its largest task, the kills where
        another task held the most first."""
        data = b"".join(
            path.read_bytes()
            for path in (
                REAL / "simple-memcg.kmsg",
                LEGACY / "v6.12-cgroup-v2-sidecar.kmsg",
            )
        )
        proc = run_cli("--summary", "--host", "node-a", stdin=data)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stderr.decode().splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith("largest tasks"))
        assert "another task held the most in 1 kill of 2" in lines[start]
        assert lines[start + 1].split() == ["VICTIM", "HELD", "LARGEST", "TASK", "HELD", "HOST"]
        first, second = lines[start + 2], lines[start + 3]
        assert first.split()[-5:] == ["envoy", "(41088)", "308", "MiB", "node-a"]
        assert "152 MiB" in first
        assert first.startswith("w [1] (x) 2 y (41137)")
        assert second.startswith("stress (3171)")

    def test_records_without_a_task_table_add_no_section(self) -> None:
        """Lone kill lines (no top_tasks): no holders section."""
        proc = run_cli("--summary", stdin=(LEGACY / "v5.15-lone-kill-lines.dmesg").read_bytes())
        assert b"largest tasks" not in proc.stderr


def test_vanilla_2_6_table_without_oom_score_adj_gives_null_not_zero() -> None:
    """Vanilla 2.6.3x tables have no oom_score_adj column: the value is null, not a guessed 0."""
    found = table(
        "[ pid ]   uid  tgid total_vm      rss cpu oom_adj name",
        ["[ 1893]    27  1893  1572864   912527   1       0 mysqld"],
        victim=1893,
    )
    assert found.top_tasks is not None
    assert (found.top_tasks[0]["oom_score_adj"], found.top_tasks[0]["name"]) == (None, "mysqld")
    assert (found.uid, found.oom_score_adj) == (27, None)
