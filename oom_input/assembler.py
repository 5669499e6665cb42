"""The assembler: kernel lines in, one ``OomRecord`` per OOM kill out.

A state machine in the spirit of cAdvisor's ``utils/oomparser``: a report starts at
``invoked oom-killer:``, names its cgroups in the ``oom-kill:`` summary (or the legacy
``Task in X killed as a result of limit of Y``) and ends at ``Killed process``. Unlike cAdvisor it
closes every report through one path (``_close``) - on the kill line, on a new header, on a bound,
at end of input, when the caller says the stream went idle, or when its source is evicted - so a
report that never ends cannot swallow the next one, and a kill line that arrives alone still gives
a record.

Every kind of line it reads is one row of ``LINE_KINDS``: the bytes a fast reader looks for, the
test on the decoded text, the handler, and the line's role. Readers derive what they may skip
from that table and from ``wanted_markers()``, so that what they show the assembler never changes
its output: lines it is not shown are lines it would have ignored.

State is kept per stream source (host, boot id), and every bound counts that source's own lines
and times: interleaving the lines of many hosts gives each host the records it gives alone.
Pure: no I/O. ``assemble(["...", "..."])`` runs it over a list of strings.
"""

from __future__ import annotations

import enum
import functools
import itertools
import operator
import re
import typing
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import orjson

from oom_input.evidence import (
    DEFAULT_TOP_TASKS,
    INLINE_STATS_PART_RE,
    MEMCG_STATS_MARKER,
    MEMCG_STATS_PREFIX,
    TOP_TASK_KEYS,
    BlockReader,
    ReportEvidence,
    plain_stats_header_path,
    stats_header_inline,
)
from oom_input.evidence import LINE_KINDS as EVIDENCE_KINDS
from oom_input.evidence import reason as build_reason
from oom_input.identity import record_id
from oom_input.numbers import in_range, parse_int
from oom_input.timefmt import format_time
from oom_input.types import KernelLine, OomRecord, SourceKey, changed

# Process and cgroup names are chosen by users and may hold any byte, "\n" included (decoded
# from a kmsg "\x0a"): the patterns that capture names let "." match it too.
_NAMES = re.DOTALL

# --- line shapes ------------------------------------------------------------------------------
# all kernels: "<comm> invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0"
# (2.6 adds "oom_adj=N", 4.9-4.18 print ", nodemask=(null),  order=..." built with pr_cont)
# the header kind's marker (LINE_KINDS), in one printk on every kernel from 2.6 on
HEADER_MARKER_TEXT = "invoked oom-killer: gfp_mask="
# (read by _split_header: the line from its " invoked oom-killer: gfp_mask=" on, the name before)
HEADER_AFTER_NAME = " " + HEADER_MARKER_TEXT
HEADER_REST_RE = re.compile(
    re.escape(HEADER_AFTER_NAME) + r"(?P<gfp>0x[0-9a-fA-F]+(?:\([^)]*\))?)"
    r"(?:, nodemask=(?P<nodemask>.*?))?,\s+order=(?P<order>-?\d+)"
    r"(?:, oom_adj=-?\d+)?(?:, oom_score_adj=-?\d+)?\s*$",
    _NAMES,
)
# the same line cut short by pr_cont: take what is there
HEADER_PART_RE = re.compile(
    r"^(?P<comm>.*) invoked oom-killer:(?: gfp_mask=(?P<gfp>0x[0-9a-fA-F]+(?:\([^)]*\))?))?",
    _NAMES,
)
# the shortest name the rest allows (".*?") where the rest starts with a space or is the end
# (before a last newline, too): taken a run of other characters at a time (the same matches,
# without trying the rest after every character)
_UP_TO_SPACE = r"[^ \n]*+(?:[ \n][^ \n]*+)*?"
# 3.x and later: "CPU: 1 UID: 0 PID: 3173 Comm: python3 Not tainted 6.18.44 #1" (UID: since 6.x)
# (RHEL 7 may print " Kdump: loaded" before "Not tainted")
TRIGGER_RE = re.compile(
    rf"^CPU: \d+ (?:UID: \d+ )?PID: (?P<pid>\d+) Comm: (?P<comm>{_UP_TO_SPACE})"
    r"(?: Kdump: \S+)?(?: (?:Not )?[Tt]ainted|$)",
    _NAMES,
)
# 2.6: "Pid: 1234, comm: foo Not tainted 2.6.32-431.el6.x86_64 #1"
TRIGGER_LEGACY_RE = re.compile(
    r"^Pid: (?P<pid>\d+), comm: (?P<comm>.*?)(?: (?:Not )?[Tt]ainted|$)", _NAMES
)
# ".*?" where a comma must follow: the shortest run the rest allows, taken a comma-free stretch
# at a time (the same matches, without trying the rest after every character; each stretch
# taken whole, "*+": what follows starts with a comma, so a shorter one never lets it match)
_UP_TO_COMMA = r"[^,]*+(?:,[^,]*+)*?"
# ".*?" where a colon must follow, a colon-free stretch at a time (as _UP_TO_COMMA)
_UP_TO_COLON = r"[^:]*+(?::[^:]*+)*?"
# 4.19 and later (RHEL 8's 4.18 too), one line built with pr_cont; names may hold commas, so
# anchor on ",pid=N,uid=N" at the end: "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),
# cpuset=/,mems_allowed=0,oom_memcg=/a,task_memcg=/a/b,task=stress,pid=3171,uid=0"
SUMMARY_RE = re.compile(
    r"^oom-kill:constraint=(?P<constraint>[A-Z_]+)"
    rf"(?:,nodemask=(?P<nodemask>{_UP_TO_COMMA}))?"
    rf"(?:,cpuset=(?P<cpuset>{_UP_TO_COMMA}),mems_allowed=(?P<mems>[-0-9,]*?))?"
    rf"(?:,oom_memcg=(?P<oom_memcg>{_UP_TO_COMMA})|,(?P<global_oom>global_oom))?"
    rf"(?:,task_memcg=(?P<task_memcg>{_UP_TO_COMMA}))?"
    r",task=(?P<task>.*),pid=(?P<pid>\d+),uid=(?P<uid>\d+)\s*$",
    _NAMES,
)
SUMMARY_PREFIX = "oom-kill:constraint="
# the summary cut short by pr_cont: the constraint at least, when it is whole (a comma follows)
SUMMARY_CONSTRAINT_RE = re.compile(r"^oom-kill:constraint=(?P<constraint>CONSTRAINT_[A-Z_]+),")
# <= 4.19, memcg OOMs: "Task in /a/b killed as a result of limit of /a", in pieces: 3.1x-4.19
# "Task in ", the path, " killed as a result of limit of ", the path (pr_cont); 2.6.3x-3.1x
# "Task in /a/b killed", " as a result of limit of /a" (KERN_CONT). A piece that another task's
# line cut off is a line of its own, joined back without the space at its edge
TASK_IN_RE = re.compile(
    r"^Task in ?(?P<task>.*?) ?killed ?as a result of limit of ?(?P<limit>\S.*?)\s*$", _NAMES
)
# how the pieces after the first start, each at the start of a line cut off (a space before
# them, if any, taken off first; a string test: no regex to compile at start-up)
TASK_IN_PIECE_STARTS = ("/", "killed as a result of limit of", "as a result of limit of")
# memcg OOMs, v1 and v2: "memory: usage 73728kB, limit 73728kB, failcnt 124"
MEMCG_USAGE_RE = re.compile(r"^memory: usage (\d+)kB, limit (\d+)kB, failcnt (\d+)")
# memcg OOMs: "Memory cgroup stats for /machine/demo:" (first one = the OOM cgroup); <= 4.19
# print the stats on the same line: "Memory cgroup stats for /a: cache:0KB rss:1KB ..."
MEMCG_STATS_RE = re.compile(
    rf"^Memory cgroup stats for (?P<path>{_UP_TO_COLON}):(?:\s*$| \w+:)", _NAMES
)
# how its pr_cont pieces after "Memory cgroup stats for " start (3.x+: the path, then ":"), each
# at the start of a line when another CPU's line cut the line
MEMCG_STATS_PIECE_STARTS = ("/", ":")
# 3.x-4.19: the inline stats, " %s:%ldKB" pr_cont pieces, end with the last LRU list's,
# " unevictable:%luKB"; a line that ends otherwise was cut by another CPU's line, and its other
# pieces follow as a line of their own (evidence.INLINE_STATS_PART_RE)
INLINE_STATS_END_RE = re.compile(r"unevictable:\d+KB\s*$")
# <= 5.0: "Memory cgroup out of memory: Kill process 3173 (python3) score 1000 or sacrifice
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
#   5.3:              <reason>: Killed process 1234 (foo) total-vm:..kB, anon-rss:..kB,
#                     file-rss:..kB, shmem-rss:..kB, UID:0
#   5.4 and later:    <reason>: Killed process 1234 (foo) total-vm:..kB, anon-rss:..kB,
#                     file-rss:..kB, shmem-rss:..kB, UID:0 pgtables:200kB oom_score_adj:0
# (group comm_closed is the name and its ")": with the ")" right after ".*", the regex engine
# looks for the ")"s from the line's end by a scan; a group's end between them would make it try
# every character - a kill line's dearest part, three times over); the reason (5.x on) is the
# shortest start before ": Killed process", found a colon at a time (_UP_TO_COLON: ".*?" tries
# the rest after every character)
KILL_RE = re.compile(
    rf"^(?:(?P<reason>{_UP_TO_COLON}): )?Killed process (?P<pid>\d+)"
    r"(?:, UID (?P<uid_a>\d+),)? \((?P<comm_closed>.*\))(?:, UID (?P<uid_b>\d+),)? "
    r"(?:total-vm|vsz):(?P<total_vm>\d+)kB, anon-rss:(?P<anon>\d+)kB, file-rss:(?P<file>\d+)kB"
    r"(?:, shmem-rss:(?P<shmem>\d+)kB)?"
    r"(?:,? UID:(?P<uid_c>\d+)(?: pgtables:(?P<pgtables>\d+)kB oom_score_adj:(?P<adj>-?\d+))?)?"
    r"\s*$",
    _NAMES,
)
# very old kernels print no sizes: "Killed process 1234 (foo)"
KILL_BARE_RE = re.compile(
    rf"^(?:(?P<reason>{_UP_TO_COLON}): )?Killed process (?P<pid>\d+) \((?P<comm>.*)\)\s*$",
    _NAMES,
)
# the last resort for a kill line whose tail is damaged: the pid alone
KILL_PID_RE = re.compile(rf"^(?:(?P<reason>{_UP_TO_COLON}): )?Killed process (?P<pid>\d+)", _NAMES)
# 4.19 and later, memory.oom.group: "Tasks in /a are going to be killed due to memory.oom.group set"
# (pr_cont pieces "Tasks in ", the path, the rest: when another CPU's line cut the line, this is
# its last record, "/a are going ..." or " are going ...", whose path is then unknown)
GROUP_RE = re.compile(
    r"^(?:Tasks in ?)?(?P<path>.*?) ?are going to be killed due to memory\.oom\.group set",
    _NAMES,
)
# the same line cut before its last piece: "Tasks in /a" (or "Tasks in " alone), a line of its
# own, its last record " are going ..." then names no path; "Tasks in " is the kind's marker too
GROUP_HEAD_TEXT = "Tasks in"
# all kernels: a report that found nothing to kill
NO_VICTIM_PREFIX = "Out of memory and no killable processes"

# --- bounds, all per source ---------------------------------------------------------------------
# A report is closed as incomplete once its source has sent this many of its lines, or once a line
# of its source is this much later (kernel time, else wall time). A global OOM's task table has a
# line per process, hence the generous line bound; the kernel stamps a whole report within a
# second or so, hence the time bound.
MAX_REPORT_LINES = 20_000
MAX_REPORT_US = 30_000_000
# the kill line follows the summary at once (4.19-5.0: after the chosen-victim line)
MAX_US_AFTER_SUMMARY = 1_000_000
# a pr_cont fragment follows its line within a few lines of its source
MAX_PENDING_LINES = 8
# memory.oom.group: the group line follows the first victim's kill line at once, the members'
# kill lines follow it within milliseconds; a legacy chosen-victim line precedes its kill line
MAX_US_BEFORE_GROUP = 1_000_000
GROUP_WINDOW_US = 5_000_000
MAX_GROUP_LINES = 1_000
MAX_US_CHOSEN_TO_KILL = 1_000_000
# sources with something open (a report, a fragment, a group, a chosen line), ~2.6 KB each; a
# source with nothing open is only counted as seen lately, which sizes the readers' look-back
# (that needs to count only up to scanner.MAX_LOOKBACK_BYTES / LOOKBACK_BYTES_PER_SOURCE)
MAX_SOURCES = 10_240
MAX_SEEN_SOURCES = 256
CLOCK_SLACK_US = 1_000_000
# above this many open reports, readers are told every inner marker (working out the exact set
# would cost more than it saves)
MAX_TRACKED_WANTS = 8


class Mode(enum.IntEnum):
    """What a reader must show the assembler."""

    IDLE = 0  # only lines with an OPEN_MARKERS entry (and the look-back of kill lines)
    OPEN = 1  # also lines with one of ``wanted_markers()``
    EVERY_LINE = 2  # every line (a pr_cont fragment is due)


class Role(enum.Enum):
    """How a line kind takes part in a report."""

    OPENS = "opens"  # may open a report, or complete one whose start was lost
    INNER = "inner"  # matters only inside an open report of its source, while wanted
    CONTEXT = "context"  # printed right before a kill line; readers find it by looking back


# (the members as module names: a member read through its enum class costs several times a
# global's, and these are read for every line)
IDLE_MODE, OPEN_MODE, EVERY_LINE_MODE = Mode.IDLE, Mode.OPEN, Mode.EVERY_LINE
_INNER = Role.INNER


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
_VALUE_STARTS = frozenset("/(0123456789")
_flat = itertools.chain.from_iterable
_Time = tuple["int | None", "int | None"]  # (wall µs, kernel µs) of a line
_ID_AT_CLOSE = "-"  # an open report's record: _close sets its id from the final fields
_FRESH_EVIDENCE_WANTS = ReportEvidence().wanted_markers()


@dataclass(slots=True)
class _Report:
    """What has been read so far of one open report."""

    record: OomRecord
    opened_at: int | None  # kernel (else wall) µs of its first line
    lines: int = 0  # lines of its source read while it is open
    header: bool = False
    summary_pid: int | None = None
    summary_us: int | None = None
    task_memcg: str | None = None
    oom_memcg: str | None = None
    stats_memcg: str | None = None
    global_oom: bool = False
    task_in: bool = False
    reason: str | None = None
    killed: bool = False
    gap: bool = False  # lines of this report were lost
    mismatch: bool = False  # the kill line names another task than the summary
    kill_time: _Time | None = None
    summary_time: _Time | None = None
    last_time: _Time = (None, None)
    # the evidence of why (task table, memcg stats, Mem-Info: oom_input/evidence.py), made at
    # its first line; in_block: an evidence block (lines without markers) is open
    evidence: ReportEvidence | None = None
    in_block: bool = False
    # the last line of a block given to the evidence that started a record had a kernel time
    kernel_stamped: bool = False
    # ``evidence.wanted_markers()`` as of the last line its evidence read (a fresh evidence's
    # before its first)
    evidence_wants: tuple[bytes, ...] = _FRESH_EVIDENCE_WANTS
    # the markers of the lines it can still use (bytes, text), as of Assembler._wants_epoch
    # wants_epoch
    wants: tuple[tuple[bytes, ...], tuple[str, ...]] = ((), ())
    wants_epoch: int = -1


@dataclass(slots=True)
class _Pending:
    """A line cut short by pr_cont, waiting for its fragments."""

    handler: Callable[[_Report, str], bool]
    text: str
    lines_left: int


@dataclass(slots=True)
class _Group:
    """A report just closed by its kill line, whose kill may start a memory.oom.group kill."""

    first: OomRecord  # the first victim's record: its context is every member's
    since_us: int | None  # µs of the first victim's kill line, then of the group line
    headed: bool  # the first victim's report had its header (not a kill line alone)
    template: OomRecord | None = None  # made from ``first`` once the group line was read
    path: str | None = None
    head: str | None = None  # the path of a group line's first record, cut before its rest
    lines: int = 0
    # the kernel walks the whole group, the first victim too (printed again if it still has
    # its memory): one record per pid
    pids: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Chosen:
    """A legacy chosen-victim line read while no report was open: the reason of the next kill."""

    reason: str
    at_us: int | None


@dataclass(slots=True)
class _Source:
    key: SourceKey
    report: _Report | None = None
    pending: _Pending | None = None
    group: _Group | None = None
    chosen: _Chosen | None = None

    def holds_nothing(self) -> bool:
        return (
            self.report is None
            and self.pending is None
            and self.group is None
            and self.chosen is None
        )


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
        # sources holding open state, least recently active first
        self._sources: OrderedDict[SourceKey, _Source] = OrderedDict()
        self._seen: OrderedDict[SourceKey, None] = OrderedDict()
        # set when source_count grew (a reader that sizes its look-back by it clears it)
        self.sources_changed = False
        self._max_sources = max_sources
        # called as on_notice(kind, message); a stream of many sources may call it often
        self._notice = on_notice or (lambda kind, message: None)
        # how many sources have an open report / a pending fragment (changed only by
        # _open_report/_close and _set_pending)
        self._open = 0
        self._pending = 0
        self._blocks = 0  # open reports inside an evidence block
        self._wanted: tuple[bytes, ...] | None = None
        # counts the changes of what open reports can use (_forget_wants): a report's own
        # markers are worked out again only after one
        self._wants_epoch = 0
        # the sources of which a line flagged as a pr_cont fragment was read: their kmsg flags
        # are the kernel's (cleared when MAX_SOURCES of them are known)
        self._flagged: set[SourceKey] = set()
        # host -> the key of its newest source with an open report and a boot id (for lines
        # whose boot id a forwarder left out: _same_host)
        self._hosts: dict[str, SourceKey] = {}

    # --- what a reader needs to know ---------------------------------------------------------
    @property
    def mode(self) -> Mode:
        if self._pending or self._blocks:
            return EVERY_LINE_MODE
        return OPEN_MODE if self._open else IDLE_MODE

    @property
    def open_reports(self) -> int:
        return self._open

    @property
    def source_count(self) -> int:
        """How many log sources were seen lately (at most MAX_SEEN_SOURCES)."""
        return max(len(self._seen), len(self._sources))

    def first_open_seq(self) -> int | None:
        """The lowest kmsg sequence number of any open report (where to resume after a stop)."""
        seqs = [
            src.report.record.seq_first
            for src in self._sources.values()
            if src.report is not None and src.report.record.seq_first is not None
        ]
        return min(seqs) if seqs else None

    def wanted_markers(self) -> tuple[bytes, ...]:
        """The markers of the INNER lines that open reports can still use (in OPEN mode a reader
        may skip lines holding none of these and no OPEN_MARKERS entry)."""
        wanted = self._wanted
        if wanted is None:
            if self._open > MAX_TRACKED_WANTS:
                wanted = INNER_MARKERS
            else:
                each: list[tuple[bytes, ...]] = []
                left = self._open
                for src in reversed(self._sources.values()):  # sources with reports are newest
                    if left <= 0:
                        break
                    if src.report is not None:
                        left -= 1
                        each.append(self._wants_of(src.report)[0])
                # (one open report, the common case: its markers, without duplicates already)
                wanted = each[0] if len(each) == 1 else tuple(dict.fromkeys(_flat(each)))
            self._wanted = wanted
        return wanted

    def _wants_of(self, report: _Report) -> tuple[tuple[bytes, ...], tuple[str, ...]]:
        """``_report_wants(report)``, worked out once per change of wants."""
        if report.wants_epoch != self._wants_epoch:
            report.wants = _report_wants(report)
            report.wants_epoch = self._wants_epoch
        return report.wants

    def _forget_wants(self) -> None:
        """What an open report can still use may have changed."""
        self._wanted = None
        self._wants_epoch += 1

    # --- input -------------------------------------------------------------------------------
    def feed(self, line: KernelLine) -> list[OomRecord]:
        """Take one kernel line; return the records it (or a bound it crossed) completed."""
        text = line.text
        key = (line.host, line.boot_id)
        src = self._sources.get(key)
        if self._hosts and (src is None or src.report is None):  # (of another boot key?)
            # (the bounds tested for a line of a kind only, which feed_text never takes)
            key, src = self._same_host(key, src, line if _kind_of(text) is not None else None)
        out: list[OomRecord] = []
        if src is not None and src.pending is not None:
            if self._joins(src.pending, line, key):
                self._continue_pending(src, line, out)
                return out
            src.pending.lines_left -= 1
            if src.pending.lines_left < 0:
                self._set_pending(src, None)  # the fragments never came: keep what was read
                if src.holds_nothing():
                    del self._sources[key]
        report = src.report if src is not None else None
        if (
            report is not None
            and report.summary_time is None
            and self._evidence(report, text, line)
        ):
            return out
        kind = _kind_of(text)
        if kind is None:
            return out
        seen = self._seen
        if key in seen:
            seen.move_to_end(key)
        else:
            seen[key] = None
            self.sources_changed = len(seen) <= MAX_SEEN_SOURCES
            if len(seen) > MAX_SEEN_SOURCES:
                seen.popitem(last=False)
        if src is None:
            src = self._source(key, out)
        else:
            self._sources.move_to_end(key)
        # (the handling of a line of its kind, written out: this runs for every such line)
        report = src.report
        if report is not None and self._expired(src, report, line):
            self._close(src, out)
            report = None
        if kind.role is not _INNER:
            kind.handle(self, src, line, text.rstrip(), out)
        elif report is not None and kind.wanted is not None and kind.wanted(report):
            report.lines += 1
            kind.handle(self, src, line, text.rstrip(), out)
        if src.holds_nothing():
            del self._sources[key]
        return out

    def block_reader(self, key: SourceKey) -> BlockReader | None:
        """A reader's fast path while ``mode`` is EVERY_LINE: the reader of the open evidence
        block of source ``key``'s report, or None. The lines of that source it uses up are used
        up as ``feed`` would (completing no record); a line it does not use ends the block,
        and must be fed next (``feed`` or ``feed_text``). It stays valid while it uses lines up
        and nothing else is fed."""
        if self._pending:
            return None
        src = self._sources.get(key)
        if self._hosts and (src is None or src.report is None):
            key, src = self._same_host(key, src)
        report = src.report if src is not None else None
        if report is None or not report.in_block or report.summary_time is not None:
            return None
        evidence = report.evidence
        return None if evidence is None else evidence.block_reader()

    def feed_text(self, key: SourceKey, text: str) -> bool:
        """``feed`` of a line of source ``key`` whose text is ``text``, when the text is all it
        needs: a line of no kind of LINE_KINDS (an evidence line, or nothing) while no pr_cont
        fragment is due. True: done so (it completes no record); False: ``feed`` the line."""
        if self._pending or _kind_of(text) is not None:
            return False
        src = self._sources.get(key)
        if self._hosts and (src is None or src.report is None):
            key, src = self._same_host(key, src)
        report = src.report if src is not None else None
        if report is not None and report.summary_time is None:
            self._evidence(report, text)
        return True

    def _evidence(self, report: _Report, text: str, line: KernelLine | None = None) -> bool:
        """Show a line of the report's source to its evidence, if the report can use it (the
        test a reader makes with ``wanted_markers()``, on the text); True: used up there. A
        ``line`` inside a block continues the record before it when it lacks the time a record's
        first line has: a text format's unstamped line (dmesg, journalctl), with an agent's
        read time at most (a text tailed line by line)."""
        evidence = report.evidence
        if not report.in_block:
            own = (
                report.wants if report.wants_epoch == self._wants_epoch else self._wants_of(report)
            )
            for marker in own[1]:
                if marker in text:
                    break
            else:
                return False
            if evidence is None:
                evidence = report.evidence = ReportEvidence(self._top_tasks)
        assert evidence is not None
        if line is None or not report.in_block:
            used = evidence.feed(text)
        elif line.kernel_us is None and (line.wall_us is None or report.kernel_stamped):
            used = evidence.feed_continuing(text)
        else:
            report.kernel_stamped = line.kernel_us is not None
            used = evidence.feed(text)
        if evidence.in_block != report.in_block:
            report.in_block = evidence.in_block
            self._blocks += 1 if report.in_block else -1
        if not used:  # (a block line changes nothing the report wants)
            wants = evidence.wanted_markers()
            if wants != report.evidence_wants:
                report.evidence_wants = wants
                self._forget_wants()
        return used

    def note_gap(self, key: SourceKey) -> None:
        """The caller lost lines of this source (e.g. /dev/kmsg EPIPE): its open report is
        incomplete."""
        src = self._sources.get(key)
        if self._hosts and (src is None or src.report is None):
            key, src = self._same_host(key, src)
        if src is not None and src.report is not None:
            src.report.gap = True

    def flush(self) -> list[OomRecord]:
        """End of input, or the stream went idle: close every open report."""
        out: list[OomRecord] = []
        for src in self._sources.values():
            if src.report is not None:
                self._close(src, out)
            self._set_pending(src, None)
        self._sources.clear()
        self._hosts.clear()
        self._forget_wants()
        return out

    # --- line handlers (one per row of LINE_KINDS) ---------------------------------------------
    def _on_header(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        if src.report is not None:
            self._close(src, out)
        report = self._open_report(src, line, out)
        report.header = True
        self._touch(report, line)
        if not _header(report, text):
            self._set_pending(src, _Pending(_header, text, MAX_PENDING_LINES))

    def _on_summary(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        report = src.report
        if report is not None and report.summary_time is not None:
            self._close(src, out)  # a second summary: the first report lost its kill line
            report = None
        if report is None:  # the header was rate-limited away, or the input starts mid-report
            report = self._open_report(src, line, out)
        self._touch(report, line)
        report.summary_time = (line.wall_us, line.kernel_us)
        report.summary_us = _us(line)
        self._forget_wants()
        if not _summary(report, text):
            self._set_pending(src, _Pending(_summary, text, MAX_PENDING_LINES))

    def _on_kill(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        m = KILL_RE.match(text) or KILL_BARE_RE.match(text)
        damaged = m is None
        if m is None:
            m = KILL_PID_RE.match(text)
            if m is None:  # "Killed process" inside some other line
                return
        pid = parse_int(m.group("pid"))
        chosen, src.chosen = src.chosen, None
        group = src.group
        if (
            src.report is None
            and group is not None
            and self._group_member(src, group, line, m, pid, out)
        ):
            return
        src.group = None
        report = src.report or self._open_report(src, line, out)
        self._touch(report, line)
        report.kill_time = (line.wall_us, line.kernel_us)
        reason = m.group("reason")
        if reason:
            report.reason = reason
        elif (
            report.reason is None
            and chosen is not None
            and _near(chosen.at_us, line, MAX_US_CHOSEN_TO_KILL)
        ):
            report.reason = chosen.reason
        summary_pid = report.summary_pid
        if summary_pid is not None and summary_pid != pid:
            if damaged and m.end() == len(text) and str(summary_pid).startswith(m.group("pid")):
                pid = summary_pid  # the line cut in its pid (a follower killed): the summary's
            else:
                # the summary named another task: its name, cgroup and uid are not this victim's
                report.task_memcg = None
                report.record.uid = None
                report.record.process_name = None
                report.mismatch = True
        _apply_kill(report.record, m, pid)
        report.killed = True
        report.mismatch |= damaged
        self._close(src, out)

    def _group_member(
        self,
        src: _Source,
        group: _Group,
        line: KernelLine,
        m: re.Match[str],
        pid: int,
        out: list[OomRecord],
    ) -> bool:
        """A kill line after a memory.oom.group line: a member's record (True), or not one."""
        group.lines += 1
        if group.template is None:
            # the first victim's kill line again, right after its whole report, with no group
            # line read between them (it was lost, or cut past reading): the group kill printing
            # the victim once more (a victim still exiting is never chosen again), used up
            # without a record (a kill line alone and its copy stay two records)
            return (
                group.headed
                and pid in group.pids
                and _near(group.since_us, line, MAX_US_BEFORE_GROUP)
            )
        if group.lines > MAX_GROUP_LINES:
            return False
        if not _near(group.since_us, line, GROUP_WINDOW_US):
            return False
        if pid not in group.pids:
            group.pids.add(pid)
            member = changed(
                group.template,
                container_name=group.path,
                time_of_death=format_time(line.wall_us),
                kernel_time_us=line.kernel_us,
                seq_first=line.seq,
                seq_last=line.seq,
            )
            _apply_kill(member, m, pid)
            _bound_numbers(member)
            member.reason = build_reason(member)
            member.id = record_id(member)  # not the first victim's: a kill of its own
            out.append(member)
        return True

    def _on_group(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        group = src.group
        if group is None or src.report is not None:
            return  # no kill just closed a report
        if not _near(group.since_us, line, MAX_US_BEFORE_GROUP):
            return
        m = GROUP_RE.match(text)
        if m is None:
            if text.startswith(GROUP_HEAD_TEXT):  # (another CPU's line cut it: the rest follows)
                group.head = text[len(GROUP_HEAD_TEXT) :].removeprefix(" ") or None
                if group.template is not None and group.path is None:
                    # (the rest was read first: shown while a reader showed every line, the
                    # first piece found by looking back from the next kill line)
                    group.path = group.head
            return
        if group.template is not None:
            return  # the line was read already
        group.path = m.group("path") or group.head
        group.template = _group_template(group.first)
        group.since_us = _us(line)

    def _on_chosen(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        m = CHOSEN_RE.match(text)
        if m is None:
            return
        if src.report is not None:
            self._touch(src.report, line)
            src.report.reason = m.group("reason")
            src.report.lines += 1
        else:
            src.chosen = _Chosen(m.group("reason"), _us(line))

    def _on_no_victim(
        self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]
    ) -> None:
        report = src.report
        assert report is not None
        if text.startswith(NO_VICTIM_PREFIX):
            self._touch(report, line)
            self._close(src, out)

    def _on_trigger(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        report = src.report
        assert report is not None
        m = TRIGGER_RE.match(text) or TRIGGER_LEGACY_RE.match(text)
        if m is not None:
            self._touch(report, line)
            report.record.trigger_pid = parse_int(m.group("pid"))
            if report.record.trigger_process_name is None:
                report.record.trigger_process_name = m.group("comm")
            self._forget_wants()

    def _on_task_in(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        report = src.report
        assert report is not None
        if text.startswith("Task in"):  # (the text is stripped: "Task in " may be all of it)
            self._touch(report, line)
            self._forget_wants()
            if not _task_in(report, text):
                self._set_pending(src, _Pending(_task_in, text, MAX_PENDING_LINES))

    def _on_usage(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        report = src.report
        assert report is not None
        m = MEMCG_USAGE_RE.match(text)
        if m is not None:
            self._touch(report, line)
            self._forget_wants()
            record = report.record
            record.memory_usage_kb = parse_int(m.group(1))
            record.memory_limit_kb = parse_int(m.group(2))
            record.memory_failcnt = parse_int(m.group(3))

    def _on_stats(self, src: _Source, line: KernelLine, text: str, out: list[OomRecord]) -> None:
        report = src.report
        assert report is not None
        if text.startswith(MEMCG_STATS_PREFIX):
            self._touch(report, line)
            self._forget_wants()
            if not _stats(report, text):  # (the pieces are joined to the line as printed)
                self._set_pending(src, _Pending(_stats, line.text, MAX_PENDING_LINES))
            elif _inline_stats_cut(text):
                self._set_pending(src, _Pending(_stats_rest, text, MAX_PENDING_LINES))

    # --- the one way out -----------------------------------------------------------------------
    def _close(self, src: _Source, out: list[OomRecord]) -> None:
        report = src.report
        assert report is not None
        src.report = None
        if src.key[0] is not None and self._hosts.get(src.key[0]) == src.key:
            del self._hosts[src.key[0]]
        self._open -= 1
        self._forget_wants()
        self._set_pending(src, None)
        if report.in_block:
            report.in_block = False
            self._blocks -= 1
        record = report.record
        if report.summary_pid is not None and record.pid is None:
            record.pid = report.summary_pid  # the kill line never came: the summary names it
        if report.oom_memcg is not None:
            record.victim_container_name = report.oom_memcg
        elif report.stats_memcg:  # ("" when its path's piece was lost)
            record.victim_container_name = report.stats_memcg
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
        if report.evidence is not None and report.evidence.stats_cut:
            self._notice(
                "memcg stats cut",
                f"the memcg statistics of the OOM kill of pid {record.pid} "
                f"(host={record.host!r} boot={record.boot_id!r}) were cut by the kernel at "
                "printk's record limit (5.0-6.3 print memory.stat as one record): the keys "
                "after the cut are lost, the last one read is left out",
            )
        pid = record.pid  # as printed, even when no reader can hold it
        _bound_numbers(record)
        record.id = record_id(record)
        if report.killed:
            src.group = _Group(record, kern if kern is not None else wall, report.header)
            if pid is not None:
                src.group.pids.add(pid)
        out.append(record)

    def _expired(self, src: _Source, report: _Report, line: KernelLine) -> bool:
        """Has a bound of the open report passed, by this line of its source?"""
        if report.lines >= MAX_REPORT_LINES:
            return True
        # (_near's test written out: it is made for every line of an open report)
        now = line.kernel_us if line.kernel_us is not None else line.wall_us
        if now is None:
            return False
        since = report.summary_us if report.summary_time is not None else None
        if since is not None and not -CLOCK_SLACK_US <= now - since <= MAX_US_AFTER_SUMMARY:
            return True
        since = report.opened_at
        return since is not None and not -CLOCK_SLACK_US <= now - since <= MAX_REPORT_US

    # --- bookkeeping -------------------------------------------------------------------------
    def _source(self, key: SourceKey, out: list[OomRecord]) -> _Source:
        if len(self._sources) >= self._max_sources:
            old_key, old = next(iter(self._sources.items()))
            what = "closing the open report of" if old.report is not None else "forgetting"
            self._notice(
                "source evicted",
                f"more than {self._max_sources} log sources: {what} "
                f"host={old_key[0]!r} boot={old_key[1]!r}",
            )
            if old.report is not None:
                self._close(old, out)
            self._set_pending(old, None)
            del self._sources[old_key]
        src = _Source(key)
        self._sources[key] = src
        return src

    def _same_host(
        self, key: SourceKey, own: _Source | None, line: KernelLine | None = None
    ) -> tuple[SourceKey, _Source | None]:
        """The source of a line of ``key`` whose own source ``own`` has no open report: a line
        without boot id (a forwarder that passes a journal record's boot id on only when it
        has it) is its host's open report's (a ``line`` given: while within its bounds).
        A line of another boot id than the report's is another boot's; lines without boot id
        once no report is open (journalctl's "-- Reboot --" ends a boot id), and lines with
        one while a report without is open (a boot journalctl names after its "-- Boot --"
        line), are a source of their own: two boots are never one source."""
        host, boot = key
        if host is None or boot is not None:
            return key, own
        other = self._hosts.get(host)
        if other is None:
            return key, own
        src = self._sources[other]
        report = src.report
        assert report is not None
        if line is not None and self._expired(src, report, line):
            return key, own
        return other, src

    def _open_report(self, src: _Source, line: KernelLine, out: list[OomRecord]) -> _Report:
        record = OomRecord(
            host=line.host,
            boot_id=line.boot_id or src.key[1],  # (its source's, when a forwarder left it out)
            seq_first=line.seq,
            source_format=line.source_format,
            id=_ID_AT_CLOSE,
        )
        report = _Report(record, _us(line))
        src.report = report
        if src.key[0] is not None and src.key[1] is not None:
            self._hosts[src.key[0]] = src.key
        src.group = None
        src.chosen = None
        self._open += 1
        self._forget_wants()
        return report

    def _touch(self, report: _Report, line: KernelLine) -> None:
        report.last_time = (line.wall_us, line.kernel_us)
        if line.seq is not None:
            report.record.seq_last = line.seq

    def _joins(self, pending: _Pending, line: KernelLine, key: SourceKey) -> bool:
        """Is this line a pr_cont fragment of the pending line of source ``key``?"""
        text = line.text
        if any(m in text for m in _NEW_LINE_TEXTS):
            return False  # a new line, even if flagged (3.x-4.9 flag a line's first fragment)
        if line.cont:
            if key not in self._flagged:
                if len(self._flagged) >= MAX_SOURCES:
                    self._flagged.clear()
                self._flagged.add(key)
            return True
        # formats that lost the kmsg flags (dmesg, journal): the kernel's fragments of these
        # lines start with "," or are the value (a cgroup path, a node mask) a "key=" waits for,
        # or are a piece of a "Task in" or a stats header line
        handler = pending.handler
        if handler is _task_in:
            return text.removeprefix(" ").startswith(TASK_IN_PIECE_STARTS)
        if handler is _stats:
            return text.startswith(MEMCG_STATS_PIECE_STARTS)
        if handler is _stats_rest:
            return INLINE_STATS_PART_RE.fullmatch(text) is not None
        piece = text.startswith(",") or (pending.text.endswith("=") and text[:1] in _VALUE_STARTS)
        # a kmsg flag saying "a line of its own" is believed for the 5.x summary, which other
        # CPUs' lines cut (they may start so too), once the source has flagged a fragment (a
        # kernel flags every piece another CPU's line cut off: 4.10+ "c", 3.5-4.9 "c"/"+"); a
        # kmsg text made from dmesg text (dmesg -r, -x) flags none, and its flags are not
        # believed (nor ever for the pieces of a 4.10-4.14 header, a "Task in" or a stats
        # header line, above)
        return piece and (line.cont is None or handler is _header or key not in self._flagged)

    def _continue_pending(self, src: _Source, line: KernelLine, out: list[OomRecord]) -> None:
        pending = src.pending
        report = src.report
        assert pending is not None and report is not None
        self._set_pending(src, None)
        self._touch(report, line)
        joined = pending.text + line.text
        handler = pending.handler
        evidence = report.evidence
        if handler is _stats and report.summary_time is None:
            self._evidence(report, joined)  # (the whole header opens the evidence's stats block)
        elif handler is _stats_rest and evidence is not None and report.summary_time is None:
            evidence.on_memcg_stat(line.text)  # (the stats of the cgroup whose line it ends)
        if not handler(report, joined):
            self._set_pending(src, _Pending(handler, joined, MAX_PENDING_LINES))
        elif handler is _stats and _inline_stats_cut(joined):
            self._set_pending(src, _Pending(_stats_rest, joined, MAX_PENDING_LINES))
        self._forget_wants()

    def _set_pending(self, src: _Source, pending: _Pending | None) -> None:
        if (src.pending is None) != (pending is None):
            self._pending += 1 if pending is not None else -1
        src.pending = pending


# --- the table of line kinds -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LineKind:
    """One kind of kernel line the assembler reads: everything else is derived from these rows."""

    name: str
    markers: tuple[bytes, ...]  # bytes a fast reader searches for; one of them is in every line
    role: Role
    handle: Callable[[Assembler, _Source, KernelLine, str, list[OomRecord]], None]
    # INNER kinds: does this open report still need a line of this kind (a report prints its
    # lines in a fixed order, so each kind is read once and only while it can still come)
    wanted: Callable[[_Report], bool] | None = None
    # the decoded text must also start with this (cheaper than the regex for unrelated lines)
    prefix: str | None = None


def _before_summary(report: _Report) -> bool:
    return report.summary_time is None


def _wants_trigger(report: _Report) -> bool:
    return report.header and report.record.trigger_pid is None and report.summary_time is None


def _wants_usage(report: _Report) -> bool:
    return report.record.memory_usage_kb is None and report.summary_time is None


def _wants_task_in(report: _Report) -> bool:
    return _wants_usage(report) and not report.task_in


def _wants_stats(report: _Report) -> bool:
    return report.stats_memcg is None and report.summary_time is None


def _wants_no_victim(report: _Report) -> bool:
    return True


# Order matters: the first row whose marker is in a line takes it (a name may hold another
# kind's words, but the header and kill lines are anchored by their own regexes).
LINE_KINDS: tuple[LineKind, ...] = (
    # every kernel from 2.6 on: "%s invoked oom-killer: gfp_mask=0x%x, order=%d, ..." (4.x on
    # "gfp_mask=%#x(%pGg)"), the marker in one printk; the whole of it, not just "invoked
    # oom-killer:", because readers search every byte for it and CPython's find skips by the
    # needle's length (~20 % less time)
    LineKind("header", (HEADER_MARKER_TEXT.encode(),), Role.OPENS, Assembler._on_header),
    LineKind("kill", (b"Killed process ",), Role.OPENS, Assembler._on_kill),
    LineKind(
        "summary",
        (SUMMARY_PREFIX.encode(),),
        Role.OPENS,
        Assembler._on_summary,
        None,
        SUMMARY_PREFIX,
    ),
    # <= 5.0 "Kill process", 2.6.3x "kill process": the chosen victim, right before its kill line
    LineKind("chosen", (b"ill process",), Role.CONTEXT, Assembler._on_chosen),
    # 4.19+ "Tasks in " + path + " are going to be killed due to memory.oom.group set", three
    # pr_cont pieces: the first record holds "Tasks in " when another CPU's line cut it
    LineKind(
        "oom_group",
        (b"memory.oom.group", (GROUP_HEAD_TEXT + " ").encode()),
        Role.CONTEXT,
        Assembler._on_group,
    ),
    LineKind(
        "no_victim",
        (b"no killable processes",),
        Role.INNER,
        Assembler._on_no_victim,
        _wants_no_victim,
        NO_VICTIM_PREFIX,
    ),
    LineKind("trigger", (b"CPU: ", b"Pid: "), Role.INNER, Assembler._on_trigger, _wants_trigger),
    LineKind("task_in", (b"Task in ",), Role.INNER, Assembler._on_task_in, _wants_task_in),
    LineKind("memcg_usage", (b"memory: usage",), Role.INNER, Assembler._on_usage, _wants_usage),
    LineKind(
        "memcg_stats",
        (MEMCG_STATS_MARKER,),
        Role.INNER,
        Assembler._on_stats,
        _wants_stats,
    ),
)
INNER_KINDS = tuple(kind for kind in LINE_KINDS if kind.role is Role.INNER)
OPEN_MARKERS = tuple(m for kind in LINE_KINDS if kind.role is Role.OPENS for m in kind.markers)
# the evidence's lines (oom_input/evidence.py LINE_KINDS) are inner lines too
EVIDENCE_MARKERS = tuple(dict.fromkeys(m for kind in EVIDENCE_KINDS for m in kind.markers))
INNER_MARKERS = tuple(
    dict.fromkeys((*(m for kind in INNER_KINDS for m in kind.markers), *EVIDENCE_MARKERS))
)
CONTEXT_MARKERS = tuple(m for kind in LINE_KINDS if kind.role is Role.CONTEXT for m in kind.markers)
# the markers of evidence lines that are of no kind of LINE_KINDS: such a line needs only its
# text (``feed_text``)
TEXT_ONLY_MARKERS = tuple(
    m for m in EVIDENCE_MARKERS if not any(m in kind.markers for kind in LINE_KINDS)
)
# every byte string a line of some kind holds (readers that skip records whole use it)
REPORT_MARKERS = tuple(dict.fromkeys((*OPEN_MARKERS, *INNER_MARKERS, *CONTEXT_MARKERS)))
# the kind whose lines make a reader look back for CONTEXT lines
KILL_MARKERS = next(kind.markers for kind in LINE_KINDS if kind.name == "kill")
# the kind whose lines open a report (closing its source's open one)
HEADER_MARKERS = next(kind.markers for kind in LINE_KINDS if kind.name == "header")
# the texts of the kinds whose lines are never a pr_cont fragment (``_joins``)
_NEW_LINE_TEXTS = tuple(m.decode() for m in (*HEADER_MARKERS, *KILL_MARKERS))
# (marker text, prefix, kind) of each marker of each row, in row order (a row's markers share
# its prefix, so one loop over these finds the first row, as a loop over the rows would); a
# marker its row's prefix holds is "" (every text holds it: a text that starts with the prefix
# holds the marker, and the text is not searched for it)
_TESTS = tuple(
    ("" if kind.prefix is not None and m.decode() in kind.prefix else m.decode(), kind.prefix, kind)
    for kind in LINE_KINDS
    for m in kind.markers
)


def opens_report(text: str) -> bool:
    """Does ``feed`` of a line of this text open a report? (A header: it closes its source's open
    report, and forgets the chosen victim and memory.oom.group kill the source's CONTEXT lines
    told of.)"""
    kind = _kind_of(text)
    return kind is not None and kind.name == "header"


def _report_wants(report: _Report) -> tuple[tuple[bytes, ...], tuple[str, ...]]:
    """The markers of the inner lines this report can still use (bytes, and as text): its own
    kinds' and, before its summary, its evidence's. (The wanted tests of INNER_KINDS, called one
    by one: a list comprehension over them costs three times as much, and this is worked out
    after nearly every line of a report; tests/test_assembler_wants.py checks they are all.)"""
    return _wants(
        (
            _wants_no_victim(report),
            _wants_trigger(report),
            _wants_task_in(report),
            _wants_usage(report),
            _wants_stats(report),
        ),
        report.evidence_wants if report.summary_time is None else (),
    )


@functools.cache
def _wants(
    flags: tuple[bool, ...], evidence: tuple[bytes, ...]
) -> tuple[tuple[bytes, ...], tuple[str, ...]]:
    kinds = (kind for kind in INNER_KINDS if kind.wanted is not None)
    own = (m for kind, wanted in zip(kinds, flags, strict=True) if wanted for m in kind.markers)
    markers = tuple(dict.fromkeys((*own, *evidence)))
    return markers, tuple(m.decode() for m in markers)


# the text _kind_of read last, and its kind: a line's kind is asked for again at once (a reader
# asks whether a header opens a report, or hands a line's text alone to ``feed_text``, then
# feeds the line); one immutable pair, so that threads never see one's text with another's kind
_last_kind: tuple[str, LineKind | None] = ("", None)


def _kind_of(text: str) -> LineKind | None:
    """The first row of LINE_KINDS that this decoded line belongs to."""
    global _last_kind
    last_text, kind = _last_kind
    if text == last_text:
        return kind
    for needle, prefix, kind in _TESTS:  # noqa: B007 (the row found is returned)
        if needle in text and (prefix is None or text.startswith(prefix)):
            break
    else:
        kind = None
    _last_kind = (text, kind)
    return kind


# --- pure field extraction ---------------------------------------------------------------------
# Each returns False when the line is cut short (a pr_cont fragment should follow).


def _split_header(text: str) -> tuple[str, re.Match[str]] | None:
    """A whole header line: its name, and HEADER_REST_RE's match of the rest. The name is the
    longest start of the line that the rest allows, as ``^(?P<comm>.*)`` before the rest
    would take it; the rest is tried only where it can start (a regex tries every character,
    ~1 us more)."""
    at = text.rfind(HEADER_AFTER_NAME)
    while at >= 0:
        rest = HEADER_REST_RE.match(text, at)
        if rest is not None:
            return text[:at], rest
        at = text.rfind(HEADER_AFTER_NAME, 0, at + len(HEADER_AFTER_NAME) - 1)
    return None


def _header(report: _Report, text: str) -> bool:
    record = report.record
    split = _split_header(text)
    if split is None:
        part = HEADER_PART_RE.match(text)
        if part is not None:
            record.trigger_process_name = part.group("comm")
            record.gfp_mask = part.group("gfp")
        return False
    record.trigger_process_name, m = split
    record.gfp_mask = m.group("gfp")
    record.order = parse_int(m.group("order"))
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
    report.oom_memcg = m.group("oom_memcg") or None  # (a path whose pieces were lost: unknown)
    report.global_oom = m.group("global_oom") is not None
    report.task_memcg = m.group("task_memcg") or None
    report.summary_pid = parse_int(m.group("pid"))
    if record.pid is None:
        record.process_name = m.group("task")
        record.uid = parse_int(m.group("uid"))
    return True


def _task_in(report: _Report, text: str) -> bool:
    m = TASK_IN_RE.match(text)
    if m is None:
        return False
    report.task_in = True
    report.task_memcg = m.group("task") or None  # (its piece lost: unknown, not "")
    report.oom_memcg = m.group("limit")
    return True


def _stats(report: _Report, text: str) -> bool:
    path = plain_stats_header_path(text)  # (5.0+: no regex, whose lazy path steps a byte)
    if path is not None:
        report.stats_memcg = path
        return True
    m = MEMCG_STATS_RE.match(text)
    if m is None:
        return False
    report.stats_memcg = m.group("path")
    return True


def _inline_stats_cut(text: str) -> bool:
    """Is this stats header line (3.x-4.19, the stats inline) cut before its last piece?"""
    inline = stats_header_inline(text)
    return bool(inline) and INLINE_STATS_END_RE.search(text) is None


def _stats_rest(report: _Report, text: str) -> bool:
    """A 3.x-4.19 stats line cut by another CPU's line, and the pieces read since (the
    evidence reads each piece): whole once it ends with the last piece."""
    return INLINE_STATS_END_RE.search(text) is not None


# the groups of a whole kill line (KILL_RE), in the order _apply_kill takes them
_KILL_GROUPS = (
    "comm_closed",
    "uid_a",
    "uid_b",
    "uid_c",
    "total_vm",
    "anon",
    "file",
    "shmem",
    "pgtables",
    "adj",
)


def _apply_kill(record: OomRecord, m: re.Match[str], pid: int) -> None:
    """Copy the victim's fields from a kill line match (``pid``: its pid, read) into a record not
    yet emitted."""
    record.pid = pid
    if m.re is not KILL_RE:  # KILL_BARE_RE, KILL_PID_RE: the name at most
        comm = m.groupdict().get("comm")
        if comm is not None:  # (else the summary's name of this pid, if any, stays)
            record.process_name = comm
        return
    comm_closed, uid_a, uid_b, uid_c, total_vm, anon, file, shmem, pgtables, adj = m.group(
        *_KILL_GROUPS
    )
    record.process_name = comm_closed[:-1]
    uid = uid_a or uid_b or uid_c
    if uid is not None:
        record.uid = parse_int(uid)
    record.total_vm_kb = parse_int(total_vm)
    record.anon_rss_kb = parse_int(anon)
    record.file_rss_kb = parse_int(file)
    if shmem is not None:
        record.shmem_rss_kb = parse_int(shmem)
    if pgtables is not None:  # (5.4+: with uid_c and adj)
        record.pgtables_kb = parse_int(pgtables)
        record.oom_score_adj = parse_int(adj)


def _apply_evidence(record: OomRecord, evidence: ReportEvidence | None) -> None:
    """The report's evidence into its record (not yet emitted), then the reason built from the
    record."""
    if evidence is not None:
        evidence.finish(record)
    record.reason = build_reason(record)


_NUMBER_FIELDS = tuple(
    name for name, hint in typing.get_type_hints(OomRecord).items() if hint == int | None
)
_record_numbers = operator.attrgetter(*_NUMBER_FIELDS)
# a top task's numbers (every key but its name)
_task_numbers = operator.itemgetter(*(key for key in TOP_TASK_KEYS if key != "name"))


def _bound_numbers(record: OomRecord) -> None:
    """A number no 64-bit reader can hold is unknown: null, a statistic left out, a task row
    dropped (the record is not emitted yet)."""
    numbers = _record_numbers(record)
    stats, memory, top = record.memcg_stats, record.system_memory, record.top_tasks
    try:
        # the common case at C speed: no number beyond 53 bits (orjson refuses one), none
        # beyond 64 then either
        orjson.dumps((numbers, stats, memory, top), option=orjson.OPT_STRICT_INTEGER)
        return
    except TypeError:  # (orjson.JSONEncodeError) a larger number: each part is tested
        pass
    if _beyond_range(numbers):
        for name in _NUMBER_FIELDS:
            value = getattr(record, name)
            if value is not None and not in_range(value):
                setattr(record, name, None)
        record.complete = False
    if stats and _beyond_range(stats.values()):
        record.memcg_stats = {k: v for k, v in stats.items() if in_range(v)}
    if memory is not None and _beyond_range(memory.values()):
        record.system_memory = {
            k: v if v is None or in_range(v) else None for k, v in memory.items()
        }
    if top and _beyond_range(tuple(chain.from_iterable(map(_task_numbers, top)))):
        record.top_tasks = [task for task in top if _task_in_range(task)]


def _beyond_range(numbers: Collection[int | None]) -> bool:
    """Is one of these numbers (None: unknown) beyond what every 64-bit reader can hold? (The
    test of ``in_range`` on each, in C: first on the sum of their sizes, which bounds each one
    and is cheap while it is small; past that, on the largest size.)"""
    if in_range(sum(map(abs, filter(None, numbers)))):
        return False
    return not in_range(max(map(abs, filter(None, numbers))))


def _task_in_range(task: dict[str, Any]) -> bool:
    return all(in_range(v) for v in task.values() if isinstance(v, int))


def _group_template(first: OomRecord) -> OomRecord:
    """What every member of a memory.oom.group kill shares: the first victim's record without
    its victim's own fields."""
    return changed(
        first,
        pid=None,
        process_name=None,
        uid=None,
        oom_score_adj=None,
        total_vm_kb=None,
        anon_rss_kb=None,
        file_rss_kb=None,
        shmem_rss_kb=None,
        pgtables_kb=None,
        pod_uid=None,
        container_id=None,
        qos_class=None,
        container_runtime=None,
    )


def _us(line: KernelLine) -> int | None:
    """The line's time on its source's own clock: kernel µs, else wall µs."""
    return line.kernel_us if line.kernel_us is not None else line.wall_us


def _near(since_us: int | None, line: KernelLine, window_us: int) -> bool:
    """Is the line at most ``window_us`` after ``since_us``? Without times on either side, yes:
    only line bounds apply then. (printk stamps of different CPUs may run a little backwards.)"""
    now = _us(line)
    if since_us is None or now is None:
        return True
    return -CLOCK_SLACK_US <= now - since_us <= window_us


def assemble(lines: Iterable[str | KernelLine]) -> list[OomRecord]:
    """Run the assembler over a whole list of lines (strings or KernelLines)."""
    assembler = Assembler()
    out: list[OomRecord] = []
    for line in lines:
        out += assembler.feed(KernelLine(line) if isinstance(line, str) else line)
    out += assembler.flush()
    return out
