"""The assembler: kernel lines in, one ``OomRecord`` per OOM kill out.

A state machine in the spirit of cAdvisor's ``utils/oomparser``: a report starts at
``invoked oom-killer:``, names its cgroups in the ``oom-kill:`` summary (or the legacy
``Task in X killed as a result of limit of Y``) and ends at ``Killed process``. Unlike cAdvisor it
closes every report through one path (``_close``) - on the kill line, on a new header, on a line
bound, at end of input or when the caller says the stream went idle - so a report that never ends
cannot swallow the next one, and a kill line that arrives alone still gives a record.

Pure: no I/O. ``assemble(["...", "..."])`` runs it over a list of strings.

It keeps state per stream source (host, boot id) and never stores report lines, only the fields
read from them, so memory does not grow with the input.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from oom_input.evidence import DEFAULT_TOP_TASKS, ReportEvidence
from oom_input.evidence import reason as build_reason
from oom_input.types import KernelLine, OomRecord, SourceKey

# Process and cgroup names are chosen by users and may hold any byte, "\n" included (decoded
# from a kmsg "\x0a"): the patterns that capture names let "." match it too.
_NAMES = re.DOTALL

# --- line shapes ------------------------------------------------------------------------------
# all kernels: "<comm> invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"
# (2.6 adds "oom_adj=N", 4.9-4.18 print ", nodemask=(null),  order=..." built with pr_cont)
HEADER_RE = re.compile(
    r"^(?P<comm>.*) invoked oom-killer: gfp_mask=(?P<gfp>0x[0-9a-fA-F]+(?:\([^)]*\))?)"
    r"(?:, nodemask=(?P<nodemask>.*?))?,\s+order=(?P<order>-?\d+)"
    r"(?:, oom_adj=-?\d+)?(?:, oom_score_adj=-?\d+)?\s*$",
    _NAMES,
)
# the same line cut short by pr_cont: take what is there
HEADER_PART_RE = re.compile(
    r"^(?P<comm>.*) invoked oom-killer:(?: gfp_mask=(?P<gfp>0x[0-9a-fA-F]+(?:\([^)]*\))?))?",
    _NAMES,
)
# 3.x and later: "CPU: 1 UID: 0 PID: 3173 Comm: python3 Not tainted 6.18.44 #1" (UID: since 6.x)
# (RHEL 7 may print " Kdump: loaded" before "Not tainted")
TRIGGER_RE = re.compile(
    r"^CPU: \d+ (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>.*?)"
    r"(?: Kdump: \S+)?(?: (?:Not )?[Tt]ainted|$)",
    _NAMES,
)
# 2.6: "Pid: 1234, comm: foo Not tainted 2.6.32-431.el6.x86_64 #1"
TRIGGER_LEGACY_RE = re.compile(
    r"^Pid: (?P<pid>\d+), comm: (?P<comm>.*?)(?: (?:Not )?[Tt]ainted|$)", _NAMES
)
# 4.19 and later (RHEL 8's 4.18 too), one line built with pr_cont; names may hold commas, so
# anchor on ",pid=N,uid=N" at the end: "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),
# cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,task=stress,pid=3171,uid=0"
SUMMARY_RE = re.compile(
    r"^oom-kill:constraint=(?P<constraint>[A-Z_]+)"
    r"(?:,nodemask=(?P<nodemask>.*?))?"
    r"(?:,cpuset=(?P<cpuset>.*?),mems_allowed=(?P<mems>[-0-9,]*?))?"
    r"(?:,oom_memcg=(?P<oom_memcg>.*?)|,(?P<global_oom>global_oom))?"
    r"(?:,task_memcg=(?P<task_memcg>.*?))?"
    r",task=(?P<task>.*),pid=(?P<pid>\d+),uid=(?P<uid>\d+)\s*$",
    _NAMES,
)
SUMMARY_PREFIX = "oom-kill:constraint="
SUMMARY_CONSTRAINT_RE = re.compile(r"^oom-kill:constraint=(?P<constraint>[A-Z_]+)")
# <= 4.19, memcg OOMs: "Task in /a/b killed as a result of limit of /a"
TASK_IN_RE = re.compile(
    r"^Task in (?P<task>.*) killed as a result of limit of (?P<limit>.+?)\s*$", _NAMES
)
# memcg OOMs, v1 and v2: "memory: usage 73728kB, limit 73728kB, failcnt 124"
MEMCG_USAGE_RE = re.compile(r"^memory: usage (\d+)kB, limit (\d+)kB, failcnt (\d+)")
# memcg OOMs: "Memory cgroup stats for /machine/demo:" (first one = the OOM cgroup); <= 4.19
# print the stats on the same line: "Memory cgroup stats for /a: cache:0KB rss:1KB ..."
MEMCG_STATS_RE = re.compile(r"^Memory cgroup stats for (?P<path>.*?):(?:\s*$| \w+:)", _NAMES)
# <= 4.19: "Memory cgroup out of memory: Kill process 3173 (python3) score 1000 or sacrifice
# child"; 2.6.3x: "Out of memory: kill process 1234 (foo) score 5 or a child"
CHOSEN_RE = re.compile(
    r"^(?P<reason>.*?): [Kk]ill process (?P<pid>\d+) \((?P<comm>.*)\) score -?\d+ "
    r"or (?:sacrifice child|a child)\s*$",
    _NAMES,
)
# The kill line, every kernel; the comm may hold spaces, commas, colons and parentheses, so the
# pattern is anchored at both ends and the name is whatever lies between "(" and ") total-vm:".
#   2.6.32 (RHEL 6):  Killed process 1234, UID 0, (foo) total-vm:1kB, anon-rss:1kB, file-rss:0kB
#   3.10 (RHEL 7):    Killed process 1234 (foo), UID 0, total-vm:1kB, anon-rss:1kB, file-rss:0kB
#   2.6.3x-4.x:       Killed process 1234 (foo) total-vm:1kB, anon-rss:1kB, file-rss:0kB
#                     [, shmem-rss:0kB]
#   5.x and later:    <reason>: Killed process 1234 (foo) total-vm:..kB, anon-rss:..kB,
#                     file-rss:..kB, shmem-rss:..kB, UID:0 pgtables:200kB oom_score_adj:0
KILL_RE = re.compile(
    r"^(?:(?P<reason>.*?): )?Killed process (?P<pid>\d+)"
    r"(?:, UID (?P<uid_a>\d+),)? \((?P<comm>.*)\)(?:, UID (?P<uid_b>\d+),)? "
    r"(?:total-vm|vsz):(?P<total_vm>\d+)kB, anon-rss:(?P<anon>\d+)kB, file-rss:(?P<file>\d+)kB"
    r"(?:, shmem-rss:(?P<shmem>\d+)kB)?"
    r"(?:,? UID:(?P<uid_c>\d+) pgtables:(?P<pgtables>\d+)kB oom_score_adj:(?P<adj>-?\d+))?\s*$",
    _NAMES,
)
# very old kernels print no sizes: "Killed process 1234 (foo)"
KILL_BARE_RE = re.compile(
    r"^(?:(?P<reason>.*?): )?Killed process (?P<pid>\d+) \((?P<comm>.*)\)\s*$",
    _NAMES,
)
# the last resort for a kill line whose tail is damaged: the pid alone
KILL_PID_RE = re.compile(r"^(?:(?P<reason>.*?): )?Killed process (?P<pid>\d+)", _NAMES)
# 4.19 and later, memory.oom.group: "Tasks in /a are going to be killed due to memory.oom.group set"
GROUP_RE = re.compile(
    r"^Tasks in (?P<path>.*) are going to be killed due to memory\.oom\.group set",
    _NAMES,
)
# all kernels: a report that found nothing to kill
NO_VICTIM_PREFIX = "Out of memory and no killable processes"

# Byte strings of the lines that can open a report (or complete one whose start was lost: a
# lone kill line, a lone summary). While no report is open a reader may skip every line that
# holds none of these; feed() ignores such lines anyway. Few and long on purpose: each costs
# one pass over the input, and bytes.find skips faster over a longer needle. (The legacy
# chosen-victim line "Kill process", which the kernel prints right before the kill line even
# when it rate-limits the header, is what a reader finds by looking at the line before a kill
# line: see LEGACY_CHOSEN_MARKER.)
KILL_MARKER = b"Killed process "
OPEN_MARKERS: tuple[bytes, ...] = (
    b"invoked oom-killer:",
    KILL_MARKER,
    SUMMARY_PREFIX.encode(),
)
LEGACY_CHOSEN_MARKER = b"ill process"  # <= 4.19 "Kill process", 2.6.3x "kill process"
# Lines that matter only inside an open report (a header always comes first); every other
# report line (stack, stats, task table) is only counted.
INNER_MARKERS: tuple[bytes, ...] = (
    b"CPU: ",
    b"Pid: ",
    b"Task in ",
    b"memory: usage",
    b"Memory cgroup stats for",
    b"no killable processes",
    b"memory.oom.group",
)
GROUP_MARKER = b"memory.oom.group"
REPORT_MARKERS = (*OPEN_MARKERS, *INNER_MARKERS, LEGACY_CHOSEN_MARKER)
# above this many open reports, readers are told every inner marker (working out the exact
# set would cost more than it saves)
MAX_TRACKED_WANTS = 8
_RELEVANT_RE = re.compile("|".join(re.escape(m.decode()) for m in REPORT_MARKERS))

# How long to wait, in lines, before an open report is closed as incomplete. A global OOM's task
# table has one line per process, so the header bound is generous; the kill line follows the
# summary at once, and pr_cont fragments follow their line at once.
MAX_REPORT_LINES = 20_000
MAX_LINES_AFTER_SUMMARY = 200
MAX_PENDING_LINES = 8
# memory.oom.group: the group line follows the first victim's kill line at once, and the other
# members' kill lines follow it within milliseconds
GROUP_WINDOW_US = 5_000_000
MAX_LINES_BEFORE_GROUP = 8
MAX_GROUP_LINES = 1_000
MAX_SOURCES = 1024

# Scanner modes: what a reader must show the assembler.
IDLE, OPEN, EVERY_LINE = 0, 1, 2

KIND_BY_CONSTRAINT = {
    "CONSTRAINT_NONE": "system",
    "CONSTRAINT_MEMCG": "memcg",
    "CONSTRAINT_CPUSET": "cpuset",
    "CONSTRAINT_MEMORY_POLICY": "mempolicy",
}
KIND_BY_REASON = {
    "Memory cgroup out of memory": "memcg",
    "Out of memory": "system",
    "Out of memory (oom_kill_allocating_task)": "system",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_VALUE_STARTS = frozenset("/(0123456789")


def format_time(wall_us: int | None) -> str | None:
    """RFC 3339 UTC with microseconds and ``Z``, from µs since the epoch."""
    if wall_us is None:
        return None
    try:
        return (_EPOCH + timedelta(microseconds=wall_us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    except OverflowError:
        return None


@dataclass(slots=True)
class _Report:
    """What has been read so far of one open report."""

    record: OomRecord
    deadline: int  # line counter past which it is closed as incomplete
    header: bool = False
    summary_pid: int | None = None
    task_memcg: str | None = None
    oom_memcg: str | None = None
    stats_memcg: str | None = None
    global_oom: bool = False
    task_in: bool = False
    reason: str | None = None
    killed: bool = False
    gap: bool = False  # lines of this report were lost
    mismatch: bool = False  # the kill line names another task than the summary
    # a line cut short by pr_cont, waiting for its fragments: (handler, text so far, deadline)
    pending: tuple[Callable[[_Report, str], bool], str, int] | None = None
    kill_time: tuple[int | None, int | None] | None = None
    summary_time: tuple[int | None, int | None] | None = None
    last_time: tuple[int | None, int | None] = (None, None)
    evidence: ReportEvidence = field(default_factory=ReportEvidence)  # issue 14
    in_block: bool = False  # evidence.in_block, as counted in Assembler._blocks


@dataclass(slots=True)
class _Group:
    """A report just closed by its kill line, whose kill may start a memory.oom.group kill."""

    first: OomRecord  # the first victim's record: its context is every member's
    deadline: int  # line counter past which later lines are not the group's
    template: OomRecord | None = None  # made from ``first`` once the group line was read
    path: str | None = None  # set once "Tasks in <path> are going to be killed" was read
    since_us: int | None = None
    # the kernel walks the whole group, the first victim too (printed again if it still has
    # its memory): one record per pid
    pids: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Source:
    report: _Report | None = None
    group: _Group | None = None


class Assembler:
    """Reassembles OOM reports; ``feed`` a line, get back the records it completed."""

    def __init__(
        self,
        *,
        max_sources: int = MAX_SOURCES,
        on_notice: Callable[[str, str], None] | None = None,
        top_tasks: int = DEFAULT_TOP_TASKS,
    ) -> None:
        if max_sources < 1:
            raise ValueError("max_sources must be >= 1")
        if top_tasks < 0:
            raise ValueError("top_tasks must be >= 0")
        self._top_tasks = top_tasks
        self._blocks = 0  # open reports inside an evidence block (every line matters)
        self._sources: OrderedDict[SourceKey, _Source] = OrderedDict()
        self._max_sources = max_sources
        # called as on_notice(kind, message); a stream of many sources may call it often
        self._notice = on_notice or (lambda kind, message: None)
        self._lines = 0
        self._open = 0
        self._groups = 0
        self._pending = 0
        self._wanted: tuple[bytes, ...] | None = None
        self._next_deadline: int | None = None

    # --- what a reader needs to know ---------------------------------------------------------
    @property
    def mode(self) -> int:
        """IDLE: only lines with OPEN_MARKERS matter; OPEN: lines with REPORT_MARKERS matter
        (count the rest with ``skip``); EVERY_LINE: feed every line (a pr_cont join is due)."""
        if self._pending or self._blocks:
            return EVERY_LINE
        return OPEN if self._open or self._groups else IDLE

    def lines_to_deadline(self) -> int | None:
        """How many more lines may pass before some open state times out (None: no bound)."""
        if self._next_deadline is None:
            return None
        return max(0, self._next_deadline - self._lines)

    @property
    def open_reports(self) -> int:
        return self._open

    def first_open_seq(self) -> int | None:
        """The lowest kmsg sequence number of any open report (where to resume after a stop)."""
        seqs = [
            src.report.record.seq_first
            for src in self._sources.values()
            if src.report is not None and src.report.record.seq_first is not None
        ]
        return min(seqs) if seqs else None

    # --- input -------------------------------------------------------------------------------
    def skip(self, n: int) -> list[OomRecord]:
        """Count ``n`` lines that were not fed (they held no marker)."""
        self._lines += n
        return self._expire() if self._next_deadline is not None else []

    def feed(self, line: KernelLine) -> list[OomRecord]:
        """Take one kernel line; return the records it (or a bound it crossed) completed."""
        self._lines += 1
        out = self._expire() if self._next_deadline is not None else []
        text = line.text
        key = (line.host, line.boot_id)
        src = self._sources.get(key)
        report = src.report if src is not None else None
        if report is not None and report.pending is not None and self._joins(report, line):
            handler, so_far, _ = report.pending
            self._set_pending(report, None)
            self._touch(report, line)
            if not handler(report, so_far + text):
                self._set_pending(report, (handler, so_far + text, self._lines + MAX_PENDING_LINES))
            return out
        if report is not None and report.summary_time is None and self._on_evidence(report, line):
            return out
        if _RELEVANT_RE.search(text) is None:
            return out
        text = text.rstrip()
        if src is None:
            src = self._source(key, out)
        if "invoked oom-killer:" in text:
            self._on_header(src, line, text, out)
        elif "Killed process" in text:
            self._on_kill(src, line, text, out)
        elif text.startswith(NO_VICTIM_PREFIX) and report is not None:
            # (its header always comes first: alone, it is an input cut mid-report)
            self._touch(report, line)
            self._close(src, out)
        elif report is not None:
            self._on_report_line(report, line, text)
        elif text.startswith(SUMMARY_PREFIX) or ("ill process" in text and CHOSEN_RE.match(text)):
            # the header was rate-limited away, or the input starts mid-report
            report = self._open_report(src, line, out)
            self._on_report_line(report, line, text)
        elif (m := GROUP_RE.match(text)) is not None and src.group is not None:
            self._wanted = None
            src.group.path = m.group("path")
            src.group.template = _group_template(src.group.first)
            src.group.since_us = line.kernel_us or line.wall_us
            src.group.deadline = self._lines + MAX_GROUP_LINES
            self._update_deadline(src.group.deadline)
        return out

    def note_gap(self, key: SourceKey) -> None:
        """The caller lost lines of this source (e.g. /dev/kmsg EPIPE): its open report is
        incomplete."""
        src = self._sources.get(key)
        if src is not None and src.report is not None:
            src.report.gap = True

    def flush(self) -> list[OomRecord]:
        """End of input, or the stream went idle: close every open report."""
        out: list[OomRecord] = []
        for src in self._sources.values():
            if src.report is not None:
                self._close(src, out)
            self._set_group(src, None)
        return out

    # --- line handlers -----------------------------------------------------------------------
    def _on_header(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        if src.report is not None:
            self._close(src, out)
        report = self._open_report(src, line, out)
        report.header = True
        self._touch(report, line)
        if not _header(report, text):
            self._set_pending(report, (_header, text, self._lines + MAX_PENDING_LINES))

    def _on_kill(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        m = KILL_RE.match(text) or KILL_BARE_RE.match(text)
        damaged = m is None
        if m is None:
            m = KILL_PID_RE.match(text)
            if m is None:  # "Killed process" in some other line
                return
        pid = int(m.group("pid"))
        group = src.group
        if src.report is None and group is not None and group.template is not None:
            if _group_expired(group, line):
                self._set_group(src, None)
                return self._on_kill(src, line, text, out)
            if pid in group.pids:
                return
            group.pids.add(pid)
            record = OomRecord(**group.template.as_dict())
            record.container_name = group.path or "/"
            _apply_kill(record, m)
            record.reason = build_reason(record)
            record.time_of_death = format_time(line.wall_us)
            record.kernel_time_us = line.kernel_us
            record.seq_first = record.seq_last = line.seq
            group.deadline = self._lines + MAX_GROUP_LINES
            self._update_deadline(group.deadline)
            out.append(record)
            return
        report = src.report or self._open_report(src, line, out)
        self._touch(report, line)
        report.kill_time = (line.wall_us, line.kernel_us)
        reason = m.group("reason")
        if reason:
            report.reason = reason
        if report.summary_pid is not None and report.summary_pid != pid:
            # the summary named another task: its cgroup and uid are not this victim's
            report.task_memcg = None
            report.record.uid = None
            report.mismatch = True
        _apply_kill(report.record, m)
        report.killed = True
        report.mismatch |= damaged
        self._close(src, out)

    def _on_evidence(self, report: _Report, line: KernelLine) -> bool:
        """Show the line to the report's evidence (issue 14); True: it was used up there."""
        evidence = report.evidence
        if evidence.feed(line.text):
            # a block line (stats, task row, ...): the block stays open; a long task table
            # keeps its report open
            if report.deadline < self._lines + MAX_LINES_AFTER_SUMMARY:
                report.deadline = self._lines + MAX_LINES_AFTER_SUMMARY
            return True
        self._wanted = None  # what the report can still use may have changed
        if evidence.in_block != report.in_block:
            report.in_block = not report.in_block
            self._blocks += 1 if report.in_block else -1
        return False

    def _on_report_line(self, report: _Report, line: KernelLine, text: str) -> None:
        # Each kind of line is read once, and only while it can still come (the order of a
        # report is fixed); _report_wants() tells a reader the same, so that it may skip them.
        record = report.record
        self._wanted = None
        if text.startswith(SUMMARY_PREFIX):
            self._touch(report, line)
            report.summary_time = (line.wall_us, line.kernel_us)
            report.deadline = min(report.deadline, self._lines + MAX_LINES_AFTER_SUMMARY)
            self._update_deadline(report.deadline)
            if not _summary(report, text):
                self._set_pending(report, (_summary, text, self._lines + MAX_PENDING_LINES))
        elif "ill process" in text and (m := CHOSEN_RE.match(text)) is not None:
            self._touch(report, line)
            report.reason = m.group("reason")
        elif report.summary_time is not None:
            return  # what follows the summary is the kill line (handled elsewhere)
        elif text.startswith("Task in "):
            if not report.task_in and record.memory_usage_kb is None:
                self._touch(report, line)
                if not _task_in(report, text):
                    self._set_pending(report, (_task_in, text, self._lines + MAX_PENDING_LINES))
        elif text.startswith("Memory cgroup stats for"):
            if report.stats_memcg is None:
                self._touch(report, line)
                if not _stats(report, text):
                    self._set_pending(report, (_stats, text, self._lines + MAX_PENDING_LINES))
        elif (m := MEMCG_USAGE_RE.match(text)) is not None:
            if record.memory_usage_kb is None:
                self._touch(report, line)
                record.memory_usage_kb = int(m.group(1))
                record.memory_limit_kb = int(m.group(2))
                record.memory_failcnt = int(m.group(3))
        elif record.trigger_pid is None and report.header:
            m = TRIGGER_RE.match(text) or TRIGGER_LEGACY_RE.match(text)
            if m is not None:
                self._touch(report, line)
                record.trigger_pid = int(m.group("pid"))
                if record.trigger_process_name is None:
                    record.trigger_process_name = m.group("comm")

    def wanted_markers(self) -> tuple[bytes, ...]:
        """The INNER_MARKERS whose lines open reports can still use (for a reader in OPEN
        mode: lines with none of these or OPEN_MARKERS may be skipped)."""
        if self._wanted is None:
            active = self._open + self._groups
            if active > MAX_TRACKED_WANTS:
                self._wanted = INNER_MARKERS
                return self._wanted
            want: tuple[bytes, ...] = ()
            for src in reversed(self._sources.values()):  # active sources are the newest
                if src.report is not None:
                    want += _report_wants(src.report)
                    active -= 1
                if src.group is not None:
                    if src.group.path is None:
                        want += (GROUP_MARKER,)
                    active -= 1
                if active <= 0:
                    break
            self._wanted = want if len(want) == len(set(want)) else tuple(dict.fromkeys(want))
        return self._wanted

    # --- the one way out -----------------------------------------------------------------------
    def _close(self, src: _Source, out: list[OomRecord]) -> None:
        report = src.report
        assert report is not None
        src.report = None
        self._open -= 1
        self._wanted = None
        if report.pending is not None:
            self._set_pending(report, None)
        if report.in_block:
            report.in_block = False
            self._blocks -= 1
        record = report.record
        if report.summary_pid is not None and record.pid is None:
            record.pid = (
                report.summary_pid
            )  # the kill line never came: the summary names the victim
        if report.oom_memcg is not None:
            record.victim_container_name = report.oom_memcg
        elif report.stats_memcg is not None:
            record.victim_container_name = report.stats_memcg
        if report.task_memcg is not None:
            record.container_name = report.task_memcg
        if record.constraint is not None:
            record.kind = KIND_BY_CONSTRAINT.get(record.constraint, "unknown")
        elif report.task_in or report.stats_memcg is not None:
            record.kind = "memcg"
        elif report.reason is not None:
            record.kind = KIND_BY_REASON.get(report.reason, "unknown")
        if report.global_oom or (record.kind == "system" and record.victim_container_name is None):
            record.victim_container_name = "/"
        wall, kern = report.kill_time or report.summary_time or report.last_time
        record.time_of_death = format_time(wall)
        record.kernel_time_us = kern
        record.complete = report.header and report.killed and not (report.gap or report.mismatch)
        _apply_evidence(record, report.evidence)
        if report.killed:
            group = _Group(record, deadline=self._lines + MAX_LINES_BEFORE_GROUP)
            if record.pid is not None:
                group.pids.add(record.pid)
            self._set_group(src, group)
        self._recompute_deadline()
        out.append(record)

    # --- bookkeeping -------------------------------------------------------------------------
    def _source(self, key: SourceKey, out: list[OomRecord]) -> _Source:
        src = _Source()
        self._sources[key] = src
        if len(self._sources) > self._max_sources:
            old_key, old = self._sources.popitem(last=False)
            if old.report is not None:
                self._notice(
                    "source evicted",
                    f"more than {self._max_sources} log sources: closing the open report of "
                    f"host={old_key[0]!r} boot={old_key[1]!r} early",
                )
                self._close(old, out)
            else:
                self._notice(
                    "source evicted",
                    f"more than {self._max_sources} log sources: forgetting "
                    f"host={old_key[0]!r} boot={old_key[1]!r}",
                )
        return src

    def _open_report(self, src: _Source, line: KernelLine, out: list[OomRecord]) -> _Report:
        key = (line.host, line.boot_id)
        self._sources.move_to_end(key)
        record = OomRecord(
            host=line.host,
            boot_id=line.boot_id,
            seq_first=line.seq,
            source_format=line.source_format,
        )
        report = _Report(
            record=record,
            deadline=self._lines + MAX_REPORT_LINES,
            evidence=ReportEvidence(self._top_tasks),
        )
        src.report = report
        self._set_group(src, None)
        self._open += 1
        self._wanted = None
        self._update_deadline(report.deadline)
        return report

    def _touch(self, report: _Report, line: KernelLine) -> None:
        report.last_time = (line.wall_us, line.kernel_us)
        if line.seq is not None:
            report.record.seq_last = line.seq

    def _joins(self, report: _Report, line: KernelLine) -> bool:
        """Is this line a pr_cont fragment of the report's pending line?"""
        text = line.text
        if "invoked oom-killer:" in text or "Killed process" in text:
            return False  # a new line, even if flagged (3.x-4.9 flag a line's first fragment)
        if line.cont is not None:
            return line.cont
        assert report.pending is not None
        # formats that lost the kmsg flags (dmesg, journal): the kernel's fragments of these
        # lines start with "," or are the value (a cgroup path, a node mask) a "key=" waits for
        return text.startswith(",") or (
            report.pending[1].endswith("=") and text[:1] in _VALUE_STARTS
        )

    def _set_pending(self, report: _Report, pending: tuple | None) -> None:
        if (report.pending is None) != (pending is None):
            self._pending += 1 if pending is not None else -1
        report.pending = pending
        if pending is not None:
            self._update_deadline(pending[2])

    def _set_group(self, src: _Source, group: _Group | None) -> None:
        self._wanted = None
        if (src.group is None) != (group is None):
            self._groups += 1 if group is not None else -1
        src.group = group
        if group is not None:
            self._update_deadline(group.deadline)

    def _update_deadline(self, deadline: int) -> None:
        if self._next_deadline is None or deadline < self._next_deadline:
            self._next_deadline = deadline

    def _recompute_deadline(self) -> None:
        deadlines = []
        for src in self._sources.values():
            report = src.report
            if report is not None:
                deadlines.append(report.deadline)
                if report.pending is not None:
                    deadlines.append(report.pending[2])
            if src.group is not None:
                deadlines.append(src.group.deadline)
        self._next_deadline = min(deadlines) if deadlines else None

    def _expire(self) -> list[OomRecord]:
        assert self._next_deadline is not None
        if self._lines <= self._next_deadline:
            return []
        out: list[OomRecord] = []
        for src in list(self._sources.values()):
            if src.group is not None and self._lines > src.group.deadline:
                self._set_group(src, None)
            report = src.report
            if report is None:
                continue
            if report.pending is not None and self._lines > report.pending[2]:
                self._set_pending(report, None)  # the fragments never came: keep what was read
            if self._lines > report.deadline:
                self._close(src, out)
        self._recompute_deadline()
        return out


# --- pure field extraction ---------------------------------------------------------------------
# Each returns False when the line is cut short (a pr_cont fragment should follow).


def _header(report: _Report, text: str) -> bool:
    record = report.record
    m = HEADER_RE.match(text)
    if m is None:
        part = HEADER_PART_RE.match(text)
        if part is not None:
            record.trigger_process_name = part.group("comm")
            record.gfp_mask = part.group("gfp")
        return False
    record.trigger_process_name = m.group("comm")
    record.gfp_mask = m.group("gfp")
    record.order = int(m.group("order"))
    return True


def _summary(report: _Report, text: str) -> bool:
    record = report.record
    m = SUMMARY_RE.match(text)
    if m is None:
        part = SUMMARY_CONSTRAINT_RE.match(text)
        if part is not None:
            record.constraint = part.group("constraint")
        return False
    record.constraint = m.group("constraint")
    report.oom_memcg = m.group("oom_memcg")
    report.global_oom = m.group("global_oom") is not None
    report.task_memcg = m.group("task_memcg")
    report.summary_pid = int(m.group("pid"))
    if record.pid is None:
        record.process_name = m.group("task")
        record.uid = int(m.group("uid"))
    return True


def _task_in(report: _Report, text: str) -> bool:
    m = TASK_IN_RE.match(text)
    if m is None:
        return False
    report.task_in = True
    report.task_memcg = m.group("task")
    report.oom_memcg = m.group("limit")
    return True


def _stats(report: _Report, text: str) -> bool:
    m = MEMCG_STATS_RE.match(text)
    if m is None:
        return False
    report.stats_memcg = m.group("path")
    return True


def _apply_kill(record: OomRecord, m: re.Match[str]) -> None:
    """Copy the victim's fields from a kill line match into the record."""
    groups = m.groupdict()
    record.pid = int(groups["pid"])
    record.process_name = groups.get("comm")
    uid = groups.get("uid_a") or groups.get("uid_b") or groups.get("uid_c")
    if uid is not None:
        record.uid = int(uid)
    for name, key in (
        ("total_vm_kb", "total_vm"),
        ("anon_rss_kb", "anon"),
        ("file_rss_kb", "file"),
        ("shmem_rss_kb", "shmem"),
        ("pgtables_kb", "pgtables"),
        ("oom_score_adj", "adj"),
    ):
        value = groups.get(key)
        if value is not None:
            setattr(record, name, int(value))


def _apply_evidence(record: OomRecord, evidence: ReportEvidence) -> None:
    """The report's evidence into its record (issue 14), then the reason built from it."""
    sizes = (record.anon_rss_kb, record.file_rss_kb, record.shmem_rss_kb)
    kill_rss = None if record.anon_rss_kb is None else sum(size or 0 for size in sizes)
    found = evidence.finish(record.pid, kill_rss)
    for name, value in found.record_fields().items():
        setattr(record, name, value)
    if record.uid is None:
        record.uid = found.victim_uid
    if record.oom_score_adj is None:
        record.oom_score_adj = found.victim_oom_score_adj
    record.reason = build_reason(record)


# what a memory.oom.group member's record must not inherit from the first victim's
_VICTIM_FIELDS = (
    "pid",
    "process_name",
    "uid",
    "oom_score_adj",
    "total_vm_kb",
    "anon_rss_kb",
    "file_rss_kb",
    "shmem_rss_kb",
    "pgtables_kb",
    "pod_uid",
    "container_id",
    "qos_class",
    "container_runtime",
)


_NO_VICTIM_MARKER = b"no killable processes"


@functools.cache
def _wants(trigger: bool, usage: bool, task_in: bool, stats: bool) -> tuple[bytes, ...]:
    return (
        *((b"CPU: ", b"Pid: ") if trigger else ()),
        *((b"memory: usage",) if usage else ()),
        *((b"Task in ",) if task_in else ()),
        *((b"Memory cgroup stats for",) if stats else ()),
        _NO_VICTIM_MARKER,
    )


def _report_wants(report: _Report) -> tuple[bytes, ...]:
    """The inner lines this report can still use (a report prints them in a fixed order)."""
    if report.summary_time is not None:
        return (_NO_VICTIM_MARKER,)
    record = report.record
    usage = record.memory_usage_kb is None
    return (
        _wants(
            record.trigger_pid is None and report.header,
            usage,
            usage and not report.task_in,
            report.stats_memcg is None,
        )
        + report.evidence.wanted_markers()
    )


def _group_template(first: OomRecord) -> OomRecord:
    template = OomRecord(**first.as_dict())
    for name in _VICTIM_FIELDS:
        setattr(template, name, None)
    return template


def _group_expired(group: _Group, line: KernelLine) -> bool:
    now = line.kernel_us or line.wall_us
    return group.since_us is not None and now is not None and now - group.since_us > GROUP_WINDOW_US


def assemble(lines: Iterable[str | KernelLine]) -> list[OomRecord]:
    """Run the assembler over a whole list of lines (strings or KernelLines)."""
    assembler = Assembler()
    out: list[OomRecord] = []
    for line in lines:
        out += assembler.feed(KernelLine(line) if isinstance(line, str) else line)
    out += assembler.flush()
    return out
