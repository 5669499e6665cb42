"""The assembler, one behaviour per test; the numbers refer to the rules in the core issue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oom_input.assembler import (
    _UP_TO_COMMA,
    MAX_REPORT_LINES,
    MAX_REPORT_US,
    MAX_US_AFTER_SUMMARY,
    SUMMARY_RE,
    Assembler,
    Mode,
    assemble,
)
from oom_input.types import KernelLine
from schema_util import validate_record

REAL = Path(__file__).parent / "data" / "real"


def kmsg_lines(name: str, host: str | None = None) -> list[KernelLine]:
    """A real capture as KernelLines (the text after the kmsg prefix, seq, µs, cont flag)."""
    out = []
    for raw in (REAL / name).read_text().splitlines():
        prefix, _, text = raw.partition(";")
        _pri, seq, usec, flags = prefix.split(",")[:4]
        out.append(
            KernelLine(text, kernel_us=int(usec), seq=int(seq), cont="c" in flags, host=host)
        )
    return out


HEADER = "stress invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"
SUMMARY = (
    "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
    "oom_memcg=/demo,task_memcg=/demo/inner,task=stress,pid=3171,uid=1000"
)
KILL = (
    "Memory cgroup out of memory: Killed process 3171 (stress) total-vm:57548kB, "
    "anon-rss:40704kB, file-rss:6636kB, shmem-rss:0kB, UID:1000 pgtables:140kB oom_score_adj:0"
)
NOISE = ["eth0: link up", " dump_stack_lvl+0x57/0x80", "cache 0", "random: crng init done"]


def cut_by_another_line(pieces: list[str], cuts: tuple[int, ...], edge: str) -> list[str]:
    """A line printed in pr_cont ``pieces``, cut before each piece of ``cuts`` by another
    CPU's line (which follows each part); with ``edge`` "lost", the parts after the first
    lose the spaces at their edges (as formats that strip a line's ends do)."""
    lines: list[str] = []
    at = 0
    for cut in (*cuts, len(pieces)):
        text = "".join(pieces[at:cut])
        lines.append(text.strip() if edge == "lost" and at else text)
        lines.append("IPVS: rr: TCP 10.96.0.10:53 - no destination available")
        at = cut
    return lines


def one(records: list) -> dict:
    assert len(records) == 1, records
    record = records[0].as_dict()
    validate_record(record)
    return record


class TestRealCaptures:
    def test_simple_memcg_gives_cadvisor_fields(self) -> None:
        """A real 6.18 memcg report gives pid, name, both cgroups and the constraint."""
        r = one(assemble(kmsg_lines("simple-memcg.kmsg")))
        assert (r["pid"], r["process_name"]) == (3171, "stress")
        assert (r["container_name"], r["victim_container_name"]) == (
            "/machine/demo",
            "/machine/demo",
        )
        assert (r["constraint"], r["kind"], r["complete"]) == ("CONSTRAINT_MEMCG", "memcg", True)

    def test_pod_limit_names_pod_as_victim_and_container_as_task(self) -> None:
        """Limit hit at the pod: victim cgroup is the pod, container cgroup the task's."""
        r = one(assemble(kmsg_lines("cgroupfs-guaranteed-pod-limit.kmsg")))
        pod = "/machine/kubepods/pod99887766-5544-3322-1100-ffeeddccbbaa"
        assert r["victim_container_name"] == pod
        assert r["container_name"] == pod + "/" + "12ab" * 16

    def test_all_numeric_fields_of_a_real_report(self) -> None:
        """Sizes, trigger, gfp mask, memcg usage and kmsg sequence numbers are read."""
        r = one(assemble(kmsg_lines("systemd-besteffort-container-limit.kmsg")))
        assert r["total_vm_kb"] == 73940 and r["anon_rss_kb"] == 57088
        assert (r["file_rss_kb"], r["shmem_rss_kb"], r["pgtables_kb"]) == (6616, 0, 176)
        assert (r["uid"], r["oom_score_adj"]) == (0, 0)
        assert (r["trigger_process_name"], r["trigger_pid"]) == ("node", 3172)
        assert (r["gfp_mask"], r["order"]) == ("0xcc0(GFP_KERNEL)", 0)
        assert (r["memory_usage_kb"], r["memory_limit_kb"], r["memory_failcnt"]) == (
            57344,
            57344,
            64,
        )
        assert (r["seq_first"], r["seq_last"], r["kernel_time_us"]) == (972, 1049, 1195453797)

    def test_two_reports_in_a_row_with_noise(self) -> None:
        """Two real reports with unrelated lines around them give two records, in order."""
        lines = [KernelLine(t) for t in NOISE]
        lines += kmsg_lines("simple-memcg.kmsg") + [KernelLine(t) for t in NOISE]
        lines += kmsg_lines("cgroupfs-guaranteed-pod-limit.kmsg") + [KernelLine(t) for t in NOISE]
        assert [r.pid for r in assemble(lines)] == [3171, 3173]


class TestKillLines:
    """Rule 1: every kill-line variant; names with spaces, commas, colons, parentheses."""

    @pytest.mark.parametrize(
        ("line", "pid", "comm", "uid"),
        [
            (
                "Killed process 2592, UID 27, (mysqld) total-vm:2124384kB, anon-rss:1029356kB, "
                "file-rss:208kB",
                2592,
                "mysqld",
                27,
            ),
            (
                "Killed process 1234 (java), UID 1001, total-vm:5000kB, anon-rss:4000kB, "
                "file-rss:10kB, shmem-rss:0kB",
                1234,
                "java",
                1001,
            ),
            (
                "Killed process 77 (a) b, c: d) total-vm:100kB, anon-rss:50kB, file-rss:1kB, "
                "shmem-rss:2kB",
                77,
                "a) b, c: d",
                None,
            ),
            (
                "Out of memory: Killed process 9 (x) total-vm:1kB) total-vm:10kB, anon-rss:5kB, "
                "file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:4kB oom_score_adj:-998",
                9,
                "x) total-vm:1kB",
                0,
            ),
            (  # 5.3: the uid without pgtables and oom_score_adj (those came in 5.4)
                "Out of memory: Killed process 2413 (java) total-vm:10481232kB, "
                "anon-rss:7321460kB, file-rss:0kB, shmem-rss:0kB, UID:1000",
                2413,
                "java",
                1000,
            ),
        ],
    )
    def test_kill_line_variant(self, line: str, pid: int, comm: str, uid: int | None) -> None:
        """Each kernel's kill line gives pid, name and uid, however odd the name."""
        r = one(assemble([HEADER, line]))
        assert (r["pid"], r["process_name"], r["uid"]) == (pid, comm, uid)
        assert r["complete"] is True

    @pytest.mark.parametrize(
        ("reason", "kind"),
        [
            ("Out of memory", "system"),
            ("Memory cgroup out of memory", "memcg"),
            ("Out of memory (oom_kill_allocating_task)", "system"),
        ],
    )
    def test_reason_prefix_gives_kind(self, reason: str, kind: str) -> None:
        """The 5.x reason prefix of the kill line gives the kind when nothing else does."""
        line = KILL.replace("Memory cgroup out of memory", reason)
        r = one(assemble([HEADER, line]))
        assert r["kind"] == kind
        assert r["victim_container_name"] == ("/" if kind == "system" else None)


class TestSummary:
    """Rule 2: the 5.x summary, memcg or global."""

    def test_global_oom_keeps_task_cgroup_and_constraint(self) -> None:
        """global_oom: victim "/", task cgroup and constraint kept (cAdvisor loses them)."""
        summary = (
            "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,"
            "global_oom,task_memcg=/kubepods/burstable/pod1/abc,task=stress,pid=3171,uid=1000"
        )
        r = one(assemble([HEADER, summary, KILL.replace("Memory cgroup out", "Out")]))
        assert (r["victim_container_name"], r["container_name"]) == (
            "/",
            "/kubepods/burstable/pod1/abc",
        )
        assert (r["constraint"], r["kind"]) == ("CONSTRAINT_NONE", "system")

    def test_name_with_fake_fields_is_anchored_at_the_end(self) -> None:
        """A task name holding ",pid=1,uid=0" does not change the pid read from the summary."""
        summary = SUMMARY.replace("task=stress", "task=x,pid=1,uid=0")
        r = one(assemble([HEADER, summary]))
        assert (r["pid"], r["process_name"], r["uid"]) == (3171, "x,pid=1,uid=0", 1000)

    def test_summary_without_kill_line_closes_at_next_header(self) -> None:
        """The kill line never comes: the next header closes the report, incomplete."""
        records = assemble([HEADER, SUMMARY, HEADER, SUMMARY, KILL])
        assert [(r.pid, r.complete) for r in records] == [(3171, False), (3171, True)]

    def test_summary_without_kill_line_closes_after_a_time_bound(self) -> None:
        """The kill line never comes: a later line of the same source past the bound closes the
        report (incomplete) before it is read."""
        late = MAX_US_AFTER_SUMMARY + 1
        records = assemble(
            [
                KernelLine(HEADER, kernel_us=1000),
                KernelLine(SUMMARY, kernel_us=1000),
                KernelLine(KILL.replace("3171", "4000"), kernel_us=1000 + late),
            ]
        )
        assert [(r.pid, r.complete, r.container_name) for r in records] == [
            (3171, False, "/demo/inner"),
            (4000, False, None),
        ]

    def test_kill_line_cut_short_keeps_the_summary_victim_only_when_it_can_be_it(self) -> None:
        """A kill line cut in its pid keeps the summary's pid when its digits begin it, and the
        summary's name when its own is cut off; another pid is another task: no name, no uid,
        no task cgroup from the summary, the record incomplete."""
        cut = "Memory cgroup out of memory: Killed process "
        assert [
            (r["pid"], r["process_name"], r["uid"], r["container_name"], r["complete"])
            for r in (
                one(assemble([HEADER, SUMMARY, cut + tail]))
                for tail in ("31", "3171 (str", "4000", "4000 (str")
            )
        ] == [
            (3171, "stress", 1000, "/demo/inner", False),
            (3171, "stress", 1000, "/demo/inner", False),
            (4000, None, None, None, False),
            (4000, None, None, None, False),
        ]
        other = one(assemble([HEADER, SUMMARY, cut + "4000"]))
        assert other["reason"] == "memcg out of memory; victim pid 4000"  # (not "None")

    def test_end_of_input_flushes_open_report(self) -> None:
        """End of input closes an open report as incomplete (rule 9)."""
        r = one(assemble([HEADER, "CPU: 1 UID: 0 PID: 3171 Comm: stress Not tainted 6.18.44 #1"]))
        assert (r["pid"], r["complete"], r["trigger_pid"]) == (None, False, 3171)


class TestClosing:
    """Rule 3: a new header closes the open report; no killable processes."""

    def test_new_header_closes_open_report(self) -> None:
        """cAdvisor merges two reports; here the first closes incomplete."""
        records = assemble(
            [HEADER, "memory: usage 1kB, limit 1kB, failcnt 1", HEADER, SUMMARY, KILL]
        )
        assert [(r.complete, r.memory_usage_kb) for r in records] == [(False, 1), (True, None)]

    def test_no_killable_processes_closes_without_victim(self) -> None:
        """ "Out of memory and no killable processes..." ends the report with no victim."""
        records = assemble([HEADER, "Out of memory and no killable processes...", KILL])
        assert [(x.pid, x.complete) for x in records] == [(None, False), (3171, False)]


class TestMissingBootId:
    """A forwarder that passes a journal record's boot id on only when it has it."""

    def test_lines_without_boot_id_are_their_hosts_report(self) -> None:
        """Lines of the host without a boot id (the summary's, or the kill line's) belong to
        the report of the host's boot open: one record, with that boot id."""
        for missing in (1, 2):
            lines = [
                KernelLine(text, host="node-a", boot_id=None if i == missing else "b1")
                for i, text in enumerate([HEADER, SUMMARY, KILL])
            ]
            r = one(assemble(lines))
            assert (r["boot_id"], r["complete"], r["container_name"]) == (
                "b1",
                True,
                "/demo/inner",
            )

    def test_a_line_of_another_boot_is_another_boots(self) -> None:
        """A line naming another boot id is another boot's, even of the same host: the report
        open is not merged with it (a line without boot id then belongs to the newest)."""
        lines = [
            KernelLine(HEADER, host="node-a", boot_id="b1"),
            KernelLine(HEADER, host="node-a", boot_id="b2"),
            KernelLine(SUMMARY, host="node-a", boot_id=None),
            KernelLine(KILL, host="node-a", boot_id="b2"),
            KernelLine(KILL.replace("3171", "4000"), host="node-a", boot_id="b1"),
        ]
        records = [(r.boot_id, r.pid, r.complete, r.container_name) for r in assemble(lines)]
        assert sorted(records, key=str) == sorted(
            [("b2", 3171, True, "/demo/inner"), ("b1", 4000, True, None)], key=str
        )

    def test_lines_with_a_boot_id_are_not_a_report_without_ones(self) -> None:
        """A report opened without boot id may be another boot's (journalctl names a boot
        after its "-- Boot <id> --" line): lines naming a boot id are not taken for its."""
        lines = [
            KernelLine(HEADER, host="node-a", boot_id=None),
            KernelLine(SUMMARY, host="node-a", boot_id="b1"),
            KernelLine(KILL, host="node-a", boot_id="b1"),
        ]
        records = [(r.boot_id, r.complete) for r in assemble(lines)]
        assert sorted(records, key=str) == [("b1", False), (None, False)]

    def test_other_hosts_are_not_merged(self) -> None:
        """Only lines of the same host are taken for the open report's."""
        lines = [
            KernelLine(HEADER, host="node-a", boot_id="b1"),
            KernelLine(SUMMARY, host="node-b", boot_id=None),
            KernelLine(KILL, host="node-a", boot_id="b1"),
        ]
        records = sorted(assemble(lines), key=lambda r: str(r.host))
        assert [(r.host, r.complete, r.container_name) for r in records] == [
            ("node-a", True, None),
            ("node-b", False, "/demo/inner"),
        ]


class TestLoneKill:
    """Rule 4: the header was rate-limited away."""

    def test_lone_kill_line_gives_incomplete_record(self) -> None:
        """A kill line with no open report still gives a record, kind from its reason."""
        r = one(assemble([*NOISE, KILL, *NOISE]))
        assert (r["pid"], r["kind"], r["complete"]) == (3171, "memcg", False)
        assert r["trigger_pid"] is None and r["container_name"] is None


class TestPrCont:
    """Rule 5: summary fragments split by pr_cont are joined."""

    def test_kmsg_cont_flag_joins_fragments(self) -> None:
        """Records flagged as continuations are joined to the line they continue."""
        cut = SUMMARY.index(",oom_memcg=")
        cut2 = SUMMARY.index(",task=")
        lines = [
            KernelLine(HEADER),
            KernelLine(SUMMARY[:cut]),
            KernelLine(SUMMARY[cut:cut2], cont=True),
            KernelLine(SUMMARY[cut2:], cont=True),
            KernelLine(KILL),
        ]
        r = one(assemble(lines))
        assert (r["victim_container_name"], r["container_name"]) == ("/demo", "/demo/inner")
        assert r["complete"] is True

    def test_text_fragments_starting_with_comma_are_joined(self) -> None:
        """Without kmsg flags, a fragment starting with "," or a path after "=" is joined."""
        a = SUMMARY.index("/demo,")
        b = SUMMARY.index(",task_memcg")
        r = one(assemble([HEADER, SUMMARY[:a], SUMMARY[a:b], SUMMARY[b:], KILL]))
        assert (r["victim_container_name"], r["container_name"]) == ("/demo", "/demo/inner")

    def test_summary_pieces_joined_in_kmsg_text_made_from_dmesg_text(self) -> None:
        """A kmsg text rebuilt from dmesg text (dmesg -r, -x) flags every record "-": the
        summary's pieces (another CPU's lines between them) are joined as in dmesg text."""
        a = SUMMARY.index("/demo,")
        b = SUMMARY.index(",task_memcg")
        other = "cni0: port 4(veth6a0b1c2d) entered forwarding state"
        lines = [HEADER, SUMMARY[:a], other, SUMMARY[a:b], other, SUMMARY[b:], KILL]
        r = one(assemble([KernelLine(text, cont=False) for text in lines]))
        assert (r["victim_container_name"], r["container_name"]) == ("/demo", "/demo/inner")
        assert r["complete"] is True

    def test_unflagged_line_is_no_piece_once_the_kernel_flagged_one(self) -> None:
        """Once the input flagged a fragment (its flags are the kernel's), a record flagged "a
        line of its own" is another CPU's line, even if it starts like the summary's piece."""
        a = SUMMARY.index("/demo,")
        first = [
            KernelLine(HEADER),
            KernelLine(SUMMARY[:a]),
            KernelLine(SUMMARY[a:], cont=True),
            KernelLine(KILL),
        ]
        second = [
            KernelLine(HEADER),
            KernelLine(SUMMARY[:a]),
            KernelLine("/dev/sdb1: Can't open blockdev", cont=False),
            KernelLine(SUMMARY[a:], cont=True),
            KernelLine(KILL),
        ]
        records = [r.as_dict() for r in assemble([*first, *second])]
        assert [(r["victim_container_name"], r["container_name"]) for r in records] == [
            ("/demo", "/demo/inner"),
            ("/demo", "/demo/inner"),
        ]

    def test_split_header_is_joined(self) -> None:
        """A 4.9-style header built with pr_cont (nodemask) is joined before it is read."""
        lines = [
            "stress invoked oom-killer: gfp_mask=0x24201ca(GFP_HIGHUSER_MOVABLE|__GFP_COLD), nodemask=",
            "(null)",
            ",  order=0, oom_score_adj=0",
            KILL,
        ]
        r = one(assemble(lines))
        assert (r["gfp_mask"], r["order"]) == ("0x24201ca(GFP_HIGHUSER_MOVABLE|__GFP_COLD)", 0)

    @pytest.mark.parametrize("cuts", [(1,), (2,), (3,), (1, 2), (2, 3), (1, 2, 3)])
    @pytest.mark.parametrize("edge", ["kept", "lost"])
    def test_task_in_pieces_are_joined(self, cuts: tuple[int, ...], edge: str) -> None:
        """3.x-4.19 print "Task in " + path + " killed as a result of limit of " + path with
        pr_cont: another task's line cuts it at a piece's end, and the rest is a line of its
        own (formats without kmsg flags; the space at a piece's edge may be lost, but for the
        first piece's: "Task in " is the marker its kind is found by)."""
        pieces = ["Task in ", "/a/b c", " killed as a result of limit of ", "/a"]
        lines = [HEADER, *cut_by_another_line(pieces, cuts, edge)]
        lines.append("Killed process 5 (a) total-vm:1kB, anon-rss:1kB, file-rss:0kB")
        r = one(assemble(lines))
        assert (r["container_name"], r["victim_container_name"], r["kind"]) == (
            "/a/b c",
            "/a",
            "memcg",
        )

    @pytest.mark.parametrize("edge", ["kept", "lost"])
    def test_old_task_in_pieces_are_joined(self, edge: str) -> None:
        """2.6.3x-3.1x print "Task in %s killed", then KERN_CONT " as a result of limit of %s"."""
        rest = " as a result of limit of /a"
        lines = [
            HEADER,
            "Task in /a/b killed",
            "IPVS: rr: TCP 10.96.0.10:53 - no destination available",
            rest.strip() if edge == "lost" else rest,
            "Killed process 5 (a) total-vm:1kB, anon-rss:1kB, file-rss:0kB",
        ]
        r = one(assemble(lines))
        assert (r["container_name"], r["victim_container_name"]) == ("/a/b", "/a")

    def test_task_in_pieces_are_joined_whatever_the_flag(self) -> None:
        """A kmsg text made from dmesg text flags no piece as a continuation: a "Task in" piece
        is joined all the same."""
        lines = [
            KernelLine(HEADER, cont=False),
            KernelLine("Task in /a/b killed as a result of limit of ", cont=False),
            KernelLine("IPVS: rr: TCP 10.96.0.10:53 - no destination available", cont=False),
            KernelLine("/a", cont=False),
            KernelLine("Killed process 5 (a) total-vm:1kB, anon-rss:1kB, file-rss:0kB", cont=False),
        ]
        r = one(assemble(lines))
        assert (r["container_name"], r["victim_container_name"]) == ("/a/b", "/a")

    @pytest.mark.parametrize(
        ("lines", "want"),
        [
            # the path piece of a "Task in" line lost (a console that keeps pr_cont pieces apart
            # and dropped one, or a reader that dropped it as malformed)
            (["Task in  killed as a result of limit of /a"], (None, "/a")),
            ([SUMMARY.replace("task_memcg=/demo/inner", "task_memcg=")], (None, "/demo")),
            (
                [
                    "Memory cgroup stats for /demo:",
                    SUMMARY.replace("oom_memcg=/demo", "oom_memcg=").replace("/demo/inner", ""),
                ],
                (None, "/demo"),
            ),
            (["Memory cgroup stats for :"], (None, None)),
        ],
    )
    def test_a_cgroup_path_whose_piece_was_lost_is_null_not_empty(
        self, lines: list[str], want: tuple[str | None, str | None]
    ) -> None:
        """A report whose cgroup path was lost gives null (unknown), never "" (which the
        schema refuses for container_name, and which names no cgroup)."""
        r = one(assemble([HEADER, *lines, KILL]))
        assert (r["container_name"], r["victim_container_name"]) == want
        assert r["kind"] == "memcg"

    @pytest.mark.parametrize("cont", [None, True, False])
    @pytest.mark.parametrize(
        ("pieces", "stats"),
        [
            (["Memory cgroup stats for ", "/a:"], ["anon 8192\nfile 0"]),  # 5.0-6.3
            (["Memory cgroup stats for /a", ":"], ["anon 8192", "file 0"]),  # 6.4+
            (["Memory cgroup stats for ", "/a: anon:8KB file:0KB"], []),  # 3.x-4.19
        ],
    )
    def test_stats_header_pieces_are_joined(
        self, pieces: list[str], stats: list[str], cont: bool | None
    ) -> None:
        """The stats header ("Memory cgroup stats for " + path + ":") is built with pr_cont:
        when another CPU's line cuts it, the pieces are joined and the evidence reads the stats
        after them."""
        other = KernelLine("IPVS: rr: TCP 10.96.0.10:53 - no destination available", cont=False)
        lines = [
            KernelLine(HEADER),
            KernelLine("memory: usage 8kB, limit 8kB, failcnt 1"),
            KernelLine(pieces[0]),
            other,
            KernelLine(pieces[1], cont=cont),
            *(KernelLine(text) for text in stats),
            KernelLine(KILL),
        ]
        r = one(assemble(lines))
        assert r["memcg_stats"] == {"anon": 8192, "file": 0}
        assert (r["victim_container_name"], r["kind"]) == ("/a", "memcg")

    @pytest.mark.parametrize("cuts", [(1,), (2,), (1, 2)])
    @pytest.mark.parametrize("edge", ["kept", "lost"])
    def test_inline_stats_pieces_are_joined(self, cuts: tuple[int, ...], edge: str) -> None:
        """3.x-4.19 print the stats inline, a " %s:%ldKB" pr_cont piece each: another CPU's
        line cuts the line between two pieces, and the rest is a line of its own; the stats
        after the cut are read too (the limited cgroup's: a later cgroup's line, cut or not,
        is not)."""
        pieces = [
            "Memory cgroup stats for /a: cache:4KB rss:8KB",
            " rss_huge:0KB swap:0KB inactive_anon:0KB",
            " active_anon:8KB inactive_file:4KB active_file:0KB unevictable:0KB",
        ]
        lines = [
            HEADER,
            "memory: usage 12kB, limit 12kB, failcnt 1",
            *cut_by_another_line(pieces, cuts, edge),
        ]
        lines += [
            "Memory cgroup stats for /a/b: cache:1KB rss:2KB",
            "IPVS: rr: TCP 10.96.0.10:53 - no destination available",
            " rss_huge:9KB unevictable:9KB",
            "Killed process 5 (a) total-vm:1kB, anon-rss:1kB, file-rss:0kB",
        ]
        r = one(assemble(lines))
        kb = {"cache": 4, "rss": 8, "rss_huge": 0, "swap": 0, "inactive_anon": 0}
        kb |= {"active_anon": 8, "inactive_file": 4, "active_file": 0, "unevictable": 0}
        assert r["memcg_stats"] == {key: value * 1024 for key, value in kb.items()}
        assert (r["victim_container_name"], r["kind"]) == ("/a", "memcg")

    def test_a_path_line_after_a_whole_task_in_line_is_not_joined(self) -> None:
        """Only a Task in line cut short waits for pieces."""
        lines = [HEADER, "Task in /a/b killed as a result of limit of /a", "/c", KILL]
        r = one(assemble(lines))
        assert (r["container_name"], r["victim_container_name"]) == ("/a/b", "/a")

    def test_flagged_header_is_a_new_line(self) -> None:
        """3.x-4.9 flag a line's first fragment too: a flagged header still opens a report."""
        lines = [
            KernelLine(HEADER),
            KernelLine(SUMMARY[:20]),
            KernelLine(HEADER, cont=True),
            KernelLine(KILL),
        ]
        assert [r.complete for r in assemble(lines)] == [False, True]

    def test_pending_join_asks_for_every_line(self) -> None:
        """While a fragment is due the reader must show every line; then it may skip again."""
        asm = Assembler()
        asm.feed(KernelLine(HEADER))
        assert asm.mode is Mode.OPEN
        asm.feed(KernelLine(SUMMARY[:30]))
        assert asm.mode is Mode.EVERY_LINE
        asm.feed(KernelLine(SUMMARY[30:], cont=True))
        assert asm.mode is Mode.OPEN


class TestOomGroup:
    """Rule 6: memory.oom.group gives one record per killed member."""

    def test_one_record_per_group_member(self) -> None:
        """Each Killed process line of the group is a record sharing the report's context."""
        kills = [KILL.replace("3171 (stress)", f"{pid} (worker)") for pid in (3172, 3173)]
        lines = [
            HEADER,
            "memory: usage 40960kB, limit 40960kB, failcnt 66",
            SUMMARY,
            KILL,
            "Tasks in /demo are going to be killed due to memory.oom.group set",
            *kills,
        ]
        records = [r.as_dict() for r in assemble(lines)]
        assert [r["pid"] for r in records] == [3171, 3172, 3173]
        assert [r["container_name"] for r in records] == ["/demo/inner", "/demo", "/demo"]
        assert {r["memory_limit_kb"] for r in records} == {40960}
        assert {r["victim_container_name"] for r in records} == {"/demo"}
        assert all(r["complete"] for r in records)

    @pytest.mark.parametrize(
        ("pieces", "path"),
        [
            (["Tasks in ", "/demo are going to be killed due to memory.oom.group set"], "/demo"),
            (["Tasks in /demo", " are going to be killed due to memory.oom.group set"], "/demo"),
        ],
    )
    def test_group_line_cut_by_another_line(self, pieces: list[str], path: str | None) -> None:
        """The group line is built with pr_cont ("Tasks in ", the path, the rest): cut by
        another CPU's line, its last piece still makes the kills after it the group's (the
        first victim, killed again, is not a record twice), and the path read, whichever piece
        holds it."""
        kills = [KILL.replace("3171 (stress)", f"{pid} (worker)") for pid in (3172, 3173)]
        lines = [
            HEADER,
            SUMMARY,
            KILL,
            pieces[0],
            "IPVS: rr: TCP 10.96.0.10:53 - no destination available",
            pieces[1],
            kills[0],
            KILL,
            kills[1],
        ]
        records = [r.as_dict() for r in assemble(lines)]
        assert [r["pid"] for r in records] == [3171, 3172, 3173]
        assert [r["container_name"] for r in records] == ["/demo/inner", path, path]
        assert {r["victim_container_name"] for r in records} == {"/demo"}

    def test_first_victim_killed_again_without_the_group_line(self) -> None:
        """The group line lost (or cut past reading), the first victim's kill line again right
        after its whole report is that kill printed once more, not a second record; another
        pid's kill line is still a record of its own, and so is the copy of a kill line that
        came alone (no header: nothing says it is the same kill)."""
        records = assemble([HEADER, SUMMARY, KILL, KILL, KILL.replace("3171", "3172")])
        assert [(r.pid, r.complete) for r in records] == [(3171, True), (3172, False)]
        assert [r.pid for r in assemble([KILL, KILL])] == [3171, 3171]

    def test_group_line_pieces_read_out_of_order(self) -> None:
        """A reader that showed every line (another source's block) shows the group line's last
        piece at once, and finds its first piece by looking back from the next kill line: the
        path is read all the same."""
        kill = KILL.replace("3171 (stress)", "3172 (worker)")
        lines = [
            HEADER,
            SUMMARY,
            KILL,
            " are going to be killed due to memory.oom.group set",
            "Tasks in /demo",
            " are going to be killed due to memory.oom.group set",
            kill,
        ]
        records = [r.as_dict() for r in assemble(lines)]
        assert [(r["pid"], r["container_name"]) for r in records] == [
            (3171, "/demo/inner"),
            (3172, "/demo"),
        ]

    def test_kill_line_long_after_a_report_is_not_a_group_member(self) -> None:
        """Without a group line, a later kill line is a lone record, not the report's."""
        records = assemble([HEADER, SUMMARY, KILL, *NOISE, KILL.replace("3171", "4000")])
        assert [(r.pid, r.complete, r.container_name) for r in records] == [
            (3171, True, "/demo/inner"),
            (4000, False, None),
        ]


class TestLegacy:
    """Rule 7: legacy "Kill process ... or sacrifice child" gives the reason."""

    def test_sacrificed_child_is_the_victim(self) -> None:
        """The chosen task's line gives the kind; the kill line gives the victim (a child)."""
        lines = [
            "java invoked oom-killer: gfp_mask=0x24000c0, order=0, oom_score_adj=0",
            "Task in /docker/abc killed as a result of limit of /docker/abc",
            "memory: usage 524288kB, limit 524288kB, failcnt 55",
            "Memory cgroup out of memory: Kill process 100 (java) score 990 or sacrifice child",
            "Killed process 101 (helper) total-vm:1000kB, anon-rss:500kB, file-rss:0kB, shmem-rss:0kB",
        ]
        r = one(assemble(lines))
        assert (r["pid"], r["process_name"], r["kind"]) == (101, "helper", "memcg")
        assert (r["container_name"], r["victim_container_name"]) == ("/docker/abc", "/docker/abc")
        assert r["constraint"] is None

    def test_legacy_global_reason(self) -> None:
        """A 2.6.32 global OOM: kind system from "Out of memory: Kill process", trigger from Pid:."""
        lines = [
            "mysqld invoked oom-killer: gfp_mask=0x201da, order=0, oom_adj=0, oom_score_adj=0",
            "Pid: 2592, comm: mysqld Not tainted 2.6.32-431.el6.x86_64 #1",
            "Out of memory: Kill process 2592 (mysqld) score 511 or sacrifice child",
            "Killed process 2592, UID 27, (mysqld) total-vm:2124384kB, anon-rss:1029356kB, file-rss:208kB",
        ]
        r = one(assemble(lines))
        assert (r["kind"], r["victim_container_name"], r["trigger_pid"]) == ("system", "/", 2592)
        assert (r["gfp_mask"], r["order"], r["uid"]) == ("0x201da", 0, 27)


class TestStatsAndTrigger:
    """Rule 8: the stats line names the OOM cgroup; trigger pid from CPU:/Pid: lines."""

    def test_stats_line_names_oom_cgroup(self) -> None:
        """With no summary or Task-in line, the first "Memory cgroup stats for" names it."""
        lines = [
            HEADER,
            "CPU: 3 PID: 812 Comm: stress Not tainted 4.4.0-21-generic #37-Ubuntu",
            "Memory cgroup stats for /a/b: cache:0KB rss:1KB",
            "Memory cgroup stats for /a/b/c: cache:0KB rss:1KB",
            "Memory cgroup out of memory: Kill process 812 (stress) score 1 or sacrifice child",
            "Killed process 812 (stress) total-vm:1kB, anon-rss:1kB, file-rss:0kB",
        ]
        r = one(assemble(lines))
        assert (r["victim_container_name"], r["kind"], r["trigger_pid"]) == ("/a/b", "memcg", 812)


class TestBounds:
    """Rule 9: bounded state."""

    def test_report_that_never_ends_is_closed_by_its_source_time_bound(self) -> None:
        """A header whose kill line never comes is closed by the next line of its source that
        is past the time bound; the line itself then opens its own report."""
        asm = Assembler()
        out = asm.feed(KernelLine(HEADER, kernel_us=0))
        out += asm.feed(KernelLine("unrelated", kernel_us=MAX_REPORT_US + 1))
        assert out == [] and asm.mode is Mode.OPEN  # lines of no kind change nothing
        out += asm.feed(KernelLine(HEADER, kernel_us=MAX_REPORT_US + 2))
        assert [(r.complete, r.trigger_process_name) for r in out] == [(False, "stress")]
        assert asm.open_reports == 1

    def test_other_sources_never_close_a_report(self) -> None:
        """Any number of other hosts' lines between a header and its kill line change nothing:
        every bound counts the report's own source."""
        asm = Assembler()
        out = asm.feed(KernelLine(HEADER, host="a", kernel_us=0))
        for i in range(MAX_REPORT_LINES + 10):
            out += asm.feed(KernelLine(f"CPU: 1 PID: {i} Comm: x", host=f"h{i % 500}"))
        out += asm.feed(KernelLine(SUMMARY, host="a", kernel_us=10))
        out += asm.feed(KernelLine(KILL, host="a", kernel_us=20))
        assert [(r.host, r.pid, r.complete) for r in out] == [("a", 3171, True)]

    def test_sources_are_bounded_lru(self) -> None:
        """More sources than the bound: the oldest is closed early with a notice."""
        notices: list[str] = []
        asm = Assembler(max_sources=2, on_notice=lambda kind, message: notices.append(message))
        out = []
        for host in ("a", "b", "c"):
            out += asm.feed(KernelLine(HEADER, host=host))
        assert [(r.host, r.complete) for r in out] == [("a", False)]
        assert len(notices) == 1 and "'a'" in notices[0]


class TestSources:
    """Rule 10: state per (host, boot id)."""

    def test_interleaved_hosts_do_not_mix(self) -> None:
        """Two hosts' real reports interleaved line by line give two right records."""
        a = kmsg_lines("simple-memcg.kmsg", host="a")
        b = kmsg_lines("cgroupfs-guaranteed-pod-limit.kmsg", host="b")
        mixed = (
            [line for pair in zip(a, b, strict=False) for line in pair] + a[len(b) :] + b[len(a) :]
        )
        records = {r.host: r for r in assemble(mixed)}
        assert (records["a"].pid, records["a"].container_name) == (3171, "/machine/demo")
        assert records["b"].pid == 3173 and records["b"].complete and records["a"].complete

    def test_gap_marks_record_incomplete(self) -> None:
        """Lost lines (e.g. kmsg EPIPE) inside an open report make it incomplete."""
        asm = Assembler()
        asm.feed(KernelLine(HEADER))
        asm.note_gap((None, None))
        (record,) = asm.feed(KernelLine(KILL))
        assert record.pid == 3171 and record.complete is False

    def test_summary_naming_another_task_is_not_trusted(self) -> None:
        """A kill line whose pid differs from the summary's never gets the summary's cgroup."""
        r = one(assemble([HEADER, SUMMARY, KILL.replace("3171", "4242")]))
        assert (r["pid"], r["container_name"], r["complete"]) == (4242, None, False)


class TestCraftedNames:
    """Names chosen to confuse the parser: right fields, or an incomplete record, never another
    task's pid or cgroup."""

    def test_newline_in_name_from_kmsg_escape(self) -> None:
        """A "\\x0a" in a kmsg name becomes a newline inside the line: still parsed."""
        kill = KILL.replace("(stress)", "(a\nb)")
        r = one(assemble([HEADER, SUMMARY.replace("task=stress", "task=a\nb"), kill]))
        assert (r["pid"], r["process_name"], r["complete"]) == (3171, "a\nb", True)

    def test_damaged_kill_line_keeps_pid_and_is_incomplete(self) -> None:
        """A kill line whose tail does not parse still gives the pid, marked incomplete."""
        r = one(
            assemble([HEADER, SUMMARY, "Memory cgroup out of memory: Killed process 3171 (str"])
        )
        assert (r["pid"], r["complete"], r["kind"]) == (3171, False, "memcg")

    def test_fake_total_vm_in_name_keeps_real_sizes(self) -> None:
        """ ") total-vm:1kB" inside a 15-byte name does not shift the sizes."""
        kill = KILL.replace("(stress)", "(x) total-vm:1kB)")
        r = one(assemble([HEADER, kill]))
        assert (r["process_name"], r["total_vm_kb"], r["anon_rss_kb"]) == (
            "x) total-vm:1kB",
            57548,
            40704,
        )

    def test_replacement_characters_in_name_are_kept(self) -> None:
        """A name that was not valid UTF-8 (replaced by U+FFFD) is kept as decoded."""
        kill = KILL.replace("(stress)", "(\ufffdbad\ufffd)")
        r = one(assemble([HEADER, kill]))
        assert r["process_name"] == "\ufffdbad\ufffd" and r["pid"] == 3171


class TestNumbers:
    """Numbers no 64-bit reader can hold (a damaged or crafted line) become unknown."""

    def test_huge_pid_and_statistic_are_unknown_and_the_record_serialises(self) -> None:
        """A 23-digit pid is null (record incomplete), a 30-digit statistic is left out; the
        record is valid JSON for orjson and the schema."""
        import orjson

        lines = [
            HEADER,
            "memory: usage 40960kB, limit 40960kB, failcnt 66",
            "Memory cgroup stats for /demo:",
            "rss 4096",
            "cache " + "9" * 30,
            SUMMARY,
            KILL.replace("Killed process 3171", "Killed process " + "9" * 23),
        ]
        r = one(assemble(lines))
        assert (r["pid"], r["complete"]) == (None, False)
        assert r["memcg_stats"] == {"rss": 4096}
        assert orjson.loads(orjson.dumps(r)) == r

    def test_lone_kill_line_with_huge_numbers(self) -> None:
        """Every number of a lone kill line too large: nulls, never an exception."""
        import orjson

        kill = (
            "Memory cgroup out of memory: Killed process "
            + "1" * 25
            + " (x) total-vm:"
            + "2" * 25
            + "kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB, UID:"
            + "3" * 25
            + " pgtables:1kB oom_score_adj:0"
        )
        r = one(assemble([kill]))
        assert (r["pid"], r["total_vm_kb"], r["uid"], r["anon_rss_kb"]) == (None, None, None, 1)
        assert orjson.loads(orjson.dumps(r)) == r


class TestSummaryPattern:
    """SUMMARY_RE takes its comma-holding fields a comma-free stretch at a time: it must match
    exactly what the plain ``.*?`` form matches, groups included."""

    PIECES = (
        "oom-kill:constraint=CONSTRAINT_MEMCG",
        ",nodemask=",
        "(null)",
        "0-1,3",
        ",cpuset=",
        ",mems_allowed=",
        "0",
        ",oom_memcg=",
        ",global_oom",
        ",task_memcg=",
        "/kubepods/a,b/c",
        ",task=",
        "my (app), v2",
        ",pid=",
        "3171",
        ",uid=",
        "0",
        ",",
        "\n",
        " ",
        "x",
    )

    @staticmethod
    def plain() -> re.Pattern[str]:
        return re.compile(SUMMARY_RE.pattern.replace(_UP_TO_COMMA, ".*?"), SUMMARY_RE.flags)

    @settings(max_examples=3000, deadline=None)
    @given(st.lists(st.sampled_from(PIECES), max_size=24))
    def test_same_matches_as_lazy_dot_star(self, pieces: list[str]) -> None:
        text = "".join(pieces)
        a, b = SUMMARY_RE.match(text), self.plain().match(text)
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            assert a.groupdict() == b.groupdict()

    def test_real_summaries_match_alike(self) -> None:
        """Every summary line of the real captures: the same groups both ways."""
        lines = [
            line.split(";", 1)[1]
            for path in sorted((Path(__file__).parent / "data" / "real").glob("*.kmsg"))
            for line in path.read_text(errors="replace").splitlines()
            if "oom-kill:constraint=" in line
        ]
        assert lines
        for text in lines:
            a, b = SUMMARY_RE.match(text), self.plain().match(text)
            assert a is not None and b is not None and a.groupdict() == b.groupdict()
