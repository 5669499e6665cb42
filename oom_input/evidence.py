"""The report's own evidence of why: the task table, the memory cgroup's statistics and, for a
system OOM, the machine's memory state, read into record fields.

Pure and per report: ``ReportEvidence`` takes the lines of one open report (one method per line
kind, or ``feed`` to dispatch), keeps only the top N tasks by RSS and a compact per-row index to
find the victim's row, and ``finish`` turns what it read into the record's fields once the
victim is known. ``reason`` builds a one-line explanation from a finished record alone.

``LINE_KINDS`` lists the lines read here: the marker bytes a scanner may look for, and the
*block* lines (stats lines, task rows, ...) that carry no marker and follow an opening line at
once, so that a reader must show every line to the report while a block is open
(``ReportEvidence.in_block``). Every kind matters only inside an open report.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import operator
import re
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import orjson

from oom_input.numbers import INT_SAFE_CHARS, MAX_NUMBER, parse_int
from oom_input.types import OomRecord

_NAMES = re.DOTALL  # a comm may hold any byte, "\n" included

# --- line shapes ------------------------------------------------------------------------------
# dump_tasks() header, every kernel; "[ pid ]" up to 4.18, "[  pid  ]" from 4.19, then the column
# names of the kernel's layout (the numeric columns, then "name"):
#   2.6.32:     [ pid ]   uid  tgid total_vm      rss cpu oom_adj oom_score_adj name
#               (RHEL 6; vanilla 2.6.3x before oom_score_adj: ... cpu oom_adj name)
#   3.x-4.10:   [ pid ]   uid  tgid total_vm      rss nr_ptes swapents oom_score_adj name
#   4.11-4.14:  [ pid ]   uid  tgid total_vm      rss nr_ptes nr_pmds swapents oom_score_adj name
#   4.15-6.x:   [  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name
#   6.x (2024): [  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem
#               pgtables_bytes swapents oom_score_adj name
TASK_HEADER_RE = re.compile(r"^\[\s*pid\s*\]\s+(?P<columns>uid\s+tgid\s.*?)\s+name\s*$")
TASK_HEADER_MARKER = b"]   uid  tgid "
_TASK_HEADER_TEXT: Final = TASK_HEADER_MARKER.decode()
# dump_tasks() rows: "[%5d]" (<= 4.18) / "[%7d]" (4.19+), the numbers, one space, the comm
# (which may hold spaces, brackets and digits: only the column count tells where it starts)
TASK_ROW_PREFIX = "["
# the same rows in bytes for readers that take a run of them at once (``BlockReader.shape``,
# one per layout: ``_row_shape``): spaces, ASCII digits and a comm of printable ASCII without a
# backslash (text no decoder escapes or takes for its own framing); the numbers read short
# enough that orjson reads them as int() does (|n| < 10^18: 64 bits) and that the victim index
# needs no range check (pid, uid, rss) and no clamp (oom_score_adj: |adj| < 10^4); groups: the
# pid, the columns read (these, in the kernel's column order), the name. Other rows take the
# per-line path.
TASK_ROW_PID_SHAPE: Final = rb"\[ *([0-9]{1,18})\]"
TASK_ROW_COLUMN_SHAPES: Final = {
    "uid": rb" +(-?[0-9]{1,18})",
    "tgid": rb" +(-?[0-9]{1,18})",
    "rss": rb" +(-?[0-9]{1,18})",
    "swapents": rb" +(-?[0-9]{1,18})",
    "oom_score_adj": rb" +(-?[0-9]{1,4})",
}
TASK_ROW_OTHER_COLUMN_SHAPE: Final = rb" +-?[0-9]{1,20}"
TASK_ROW_NAME_SHAPE: Final = rb"(?: ([ -\[\]-~]*))?"
# mem_cgroup_print_oom_info() / _meminfo(), every kernel with memcg:
# "memory: usage 40960kB, limit 40960kB, failcnt 66"
MEMCG_USAGE_PREFIX = "memory: usage"
# cgroup v1 (3.x-6.x): "memory+swap: usage 40960kB, limit 9007199254740988kB, failcnt 0";
# cgroup v2 (4.19+): "swap: usage 0kB, limit 0kB, failcnt 0"
SWAP_USAGE_RE = re.compile(
    r"^(?:memory\+)?swap: usage (?P<usage>\d+)kB, limit (?P<limit>\d+)kB, failcnt \d+"
)
# cgroup v1 (3.x-6.x): "kmem: usage 180kB, limit 9007199254740988kB, failcnt 0"
KMEM_USAGE_RE = re.compile(r"^kmem: usage (?P<usage>\d+)kB, limit \d+kB, failcnt \d+")
# "Memory cgroup stats for /a/b:" every kernel; up to 4.19 the stats follow on the same line as
# " name:NKB" pr_cont pieces (3.x-4.19; one such line per cgroup of the OOM subtree, the first
# one is the cgroup that hit its limit); from 5.0 one "key value" per line (5.0-6.3: one record
# with embedded newlines; 6.4+: one record per line), v2 names (and v1 names on v1 from 6.4)
MEMCG_STATS_RE = re.compile(r"^Memory cgroup stats for (?P<path>.*?):(?P<inline>(?: \w+:\d+.*)?)$")
MEMCG_STATS_MARKER = b"Memory cgroup stats for"
MEMCG_STATS_PREFIX: Final = MEMCG_STATS_MARKER.decode()
# 3.x-4.19 inline stats: " cache:0KB rss:1047948KB ..." (sizes in KB; counters bare)
INLINE_STAT_RE = re.compile(r"(?:^|\s)(?P<key>\w+):(?P<value>\d+)(?P<kb>KB)?(?=\s|$)")
# the same pieces split off into records of their own (4.x with extended consoles)
INLINE_STATS_PART_RE = re.compile(r"(?:\s*\w+:\d+(?:KB)?)+\s*")
# 5.0+ memory.stat lines: "anon 2133430272" (sizes in bytes, event counters as counted)
STAT_LINE_RE = re.compile(r"^(?P<key>[a-z][a-z0-9_]*) (?P<value>-?\d+)$")
# the same lines in bytes, ASCII only and the value's digits capped so that orjson reads them as
# int() does (to 64 bits: below 10^19, above -10^18), for readers that take a run of them at
# once (``BlockReader.shape``): one group, the line
STAT_LINE_SHAPE: Final = rb"([a-z][a-z0-9_]* (?:[0-9]{1,19}|-[0-9]{1,18}))"
# 5.0-6.3 print the whole memory.stat as ONE printk, pr_info("%s", buf): printk keeps at most
# LOG_LINE_MAX - 1 bytes of a record's text (vscnprintf into LOG_LINE_MAX = 1024 - PREFIX_MAX,
# PREFIX_MAX 32, or 48 with CONFIG_PRINTK_CALLER, 5.1+), and drops the rest silently; a whole
# memory.stat ends with "\n", which printk strips, so a record this long was cut, maybe inside
# its last line ("key 12" of "key 12345")
STATS_RECORD_CUT_LENGTHS: Final = (1024 - 48 - 1, 1024 - 32 - 1)  # (text bytes)
# a stats line holding a key alone: a line the record limit cut in its key (or before its value)
STAT_KEY_PIECE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# show_mem() / show_free_areas(), system OOMs, every kernel: "Mem-Info:" (lib/show_mem.c) or, from
# an architecture's own show_mem(), "Mem-info:" (32-bit ARM 3.x: arch/arm/mm/init.c, read in
# 3.10), then the counters in pages, one printk with embedded newlines (2.6.32 stamps each line):
#   active_anon:1460431 inactive_anon:529170 isolated_anon:0
#    ... slab_reclaimable:6781 slab_unreclaimable:11204
#    mapped:251 shmem:1103 pagetables:5102 bounce:0   (2.6-6.x; 6.x: sec_pagetables on its own)
#    free:25401 free_pcp:66 free_cma:0                (2.6.32: "free:21343 slab_reclaimable:...")
MEMINFO_HEADERS: Final = ("Mem-Info:", "Mem-info:")
# their marker: one search for both spellings, as cheap as one for either
MEMINFO_HEADER_MARKERS: Final = (b"Mem-",)
MEMINFO_PAIR_RE = re.compile(r"(?P<key>[a-z_]+):(?P<value>\d+)(?=\s|$)")
# the counter lines start with one of these (zone lines "Node 0 DMA free:15360kB" do not)
MEMINFO_LINE_STARTS: Final = (
    "active_anon:",
    "active_file:",
    "unevictable:",
    "slab_reclaimable:",
    "mapped:",
    "free:",
    "sec_pagetables:",
    "kernel_misc_reclaimable:",
)
MEMINFO_MARKERS: Final = (b"slab_reclaimable:", b"shmem:", b"free:")
# The counters are one printk with embedded newlines (show_free_areas): a reader of whole records
# (msgpack, journal) finds them all in the record holding the first; only text formats (dmesg)
# print its lines apart.
MEMINFO_RECORD_MARKERS: Final = MEMINFO_MARKERS[:1]
# show_swap_cache_info() / show_mem(), system OOMs, every kernel, on consecutive lines:
# "Free swap  = 0kB", "Total swap = 0kB", "2097151 pages RAM" (32-bit ARM 3.x's own show_mem():
# "524288 pages of RAM")
FREE_SWAP_PREFIX = "Free swap"
FREE_SWAP_RE = re.compile(r"^Free swap\s*=\s*(?P<kb>\d+)kB")
TOTAL_SWAP_RE = re.compile(r"^Total swap\s*=\s*(?P<kb>\d+)kB")
RAM_PAGES_RE = re.compile(r"^(?P<pages>\d+) pages (?:of )?RAM")

# --- bounds and defaults ----------------------------------------------------------------------
DEFAULT_TOP_TASKS = 5
# rows whose pid and sizes are kept to find the victim's row once the kill line names it (32
# bytes each); later rows still count for task_count and top_tasks
MAX_INDEXED_ROWS = 131_072
MAX_STATS = 512  # memory.stat has ~100 keys; more would be a damaged report
DEFAULT_PAGE_KB = 4
PAGE_SIZES_KB: Final = (4, 8, 16, 32, 64, 128, 256)  # every Linux architecture's choices
# the victim's row and its kill line are read moments apart: allow this much drift
PAGE_RATIO_TOLERANCE = 0.25

# the Mem-Info counters kept, in pages -> the system_memory key (kB)
_MEMINFO_KEYS: Final = {
    "free": "free_kb",
    "slab_reclaimable": "slab_reclaimable_kb",
    "slab_unreclaimable": "slab_unreclaimable_kb",
    "shmem": "shmem_kb",
    "pagetables": "pagetables_kb",
}
SYSTEM_MEMORY_KEYS: Final = (
    *_MEMINFO_KEYS.values(),
    "swap_free_kb",
    "swap_total_kb",
    "ram_kb",
)
TOP_TASK_KEYS: Final = ("pid", "tgid", "uid", "name", "rss_kb", "swap_kb", "oom_score_adj")


@dataclass(frozen=True, slots=True)
class LineKind:
    """One kind of line read here. ``markers``: bytes that identify it (empty for a block line,
    which has none and follows its ``opened_by`` line at once); all are inner lines (they
    matter only inside an open report)."""

    name: str
    markers: tuple[bytes, ...]
    handler: str  # the ReportEvidence method
    opened_by: str | None = None  # block lines: the kind whose line opens the block
    note: str = ""


LINE_KINDS: Final = (
    LineKind("task_header", (TASK_HEADER_MARKER,), "on_task_header", note="opens task_row"),
    LineKind("task_row", (), "on_task_row", opened_by="task_header"),
    LineKind(
        "memcg_usage",
        (MEMCG_USAGE_PREFIX.encode(),),
        "on_memcg_usage",
        note="the assembler reads it too; opens memcg_counter",
    ),
    LineKind("memcg_counter", (), "on_memcg_counter", opened_by="memcg_usage"),
    LineKind(
        "memcg_stats_header",
        (MEMCG_STATS_MARKER,),
        "on_memcg_stats_header",
        note="the assembler reads it too; opens memcg_stat",
    ),
    LineKind("memcg_stat", (), "on_memcg_stat", opened_by="memcg_stats_header"),
    LineKind("meminfo_header", MEMINFO_HEADER_MARKERS, "on_meminfo_header"),
    LineKind(
        "meminfo_counters",
        MEMINFO_MARKERS,
        "on_meminfo_counters",
        note="after meminfo_header, until every counter kept is read",
    ),
    LineKind("free_swap", (FREE_SWAP_PREFIX.encode(),), "on_free_swap", note="opens swap_ram"),
    LineKind("swap_ram", (), "on_swap_ram", opened_by="free_swap"),
)


class BlockReader(Protocol):
    """How an open block takes its lines (``ReportEvidence.block_reader``). ``line(text)``:
    True when the line is one of the block's, used up (what ``ReportEvidence.feed`` does with
    it); False: the block ended there and ``feed`` must see the line next (nothing else
    changed). ``shape``: when set, a bytes pattern of lines the block uses up, and ``run``
    takes the groups of consecutive such lines at once, as ``line`` would one by one. A shape
    (STAT_LINE_SHAPE, a layout's task row) matches printable ASCII without a backslash only
    (nothing a decoder escapes), and never text a decoder reads as framing: no "[  1.5]" stamp
    or "[T1]" caller id at its start, no "<host> kernel:" (its second word, if any, is a number
    followed by a space, or has no colon). So decoders may frame a shape with their line
    prefixes without other checks."""

    shape: bytes | None
    run: Callable[[list[Any]], None] | None  # the groups of each line

    def line(self, text: str) -> bool: ...


def _refuse(text: str) -> bool:
    """No block's line (the reader of no block)."""
    return False


_first: Final = operator.itemgetter(0)

# block states
_NO_BLOCK, _ROWS, _COUNTERS, _STATS, _SWAP_RAM = 0, 1, 2, 3, 4


# the columns a row's numbers are read from (the others are matched, not read)
_READ_COLUMNS: Final = tuple(TASK_ROW_COLUMN_SHAPES)


@functools.cache
def _row_re(columns: tuple[str, ...]) -> re.Pattern[str]:
    """A task row of a layout with these numeric columns after the pid: groups pid, each
    column of _READ_COLUMNS it has, name."""
    numbers = "".join(
        r"\s+(-?\d+)" if column in _READ_COLUMNS else r"\s+-?\d+" for column in columns
    )
    return re.compile(r"^\[\s*(\d+)\]" + numbers + r"(?: (.*))?$", _NAMES)


@functools.cache
def _row_shape(columns: tuple[str, ...]) -> bytes:
    """The TASK_ROW shape of a layout with these numeric columns: groups as ``_row_re``'s."""
    numbers = b"".join(
        TASK_ROW_COLUMN_SHAPES.get(column, TASK_ROW_OTHER_COLUMN_SHAPE) for column in columns
    )
    return TASK_ROW_PID_SHAPE + numbers + TASK_ROW_NAME_SHAPE


@dataclass(frozen=True, slots=True)
class _Layout:
    row_re: re.Pattern[str]
    shape: bytes
    # where each column is in a row's groups (``_row_re``'s and the shape's; the pid at 0,
    # the name last), or 0 when the layout lacks it
    uid: int
    tgid: int
    rss: int
    swap: int
    adj: int


@functools.lru_cache(maxsize=64)
def _layout(header: str) -> _Layout | None:
    """The layout of a task table header (one per kernel: a few in any stream), or None."""
    m = TASK_HEADER_RE.match(header)
    if m is None:
        return None
    names = tuple(m.group("columns").split())
    read = [name for name in names if name in _READ_COLUMNS]
    group = {name: i + 1 for i, name in enumerate(read)}  # the pid is group 0
    return _Layout(
        _row_re(names),
        _row_shape(names),
        uid=group.get("uid", 0),
        tgid=group.get("tgid", 0),
        rss=group.get("rss", 0),
        swap=group.get("swapents", 0),
        adj=group.get("oom_score_adj", 0),
    )


# a kept row: RSS (pages), -sequence number (ties: the earlier row is the larger), then the
# row's (pid, tgid, uid, swap, oom_score_adj, name)
_Row = tuple[int, int, int, int | None, int | None, str]
_Kept = tuple[int, int, _Row]


class TopTasks:
    """The N largest rows by RSS, kept as rows come (a heap of N): memory does not grow with
    the table. Ties keep the earlier row."""

    __slots__ = ("_heap", "_n", "_seq")

    def __init__(self, n: int) -> None:
        if n < 0:
            raise ValueError("the number of top tasks must be >= 0")
        self._n = n
        self._heap: list[_Kept] = []
        self._seq = 0

    def keeps(self, rss: int) -> bool:
        """Would a row of this RSS (pages) be kept? (Cheap: asked before a row is built.)"""
        heap = self._heap
        return len(heap) < self._n or (self._n > 0 and rss > heap[0][0])

    @property
    def enabled(self) -> bool:
        return self._n > 0

    def offer(
        self,
        rss: int,
        pid: int,
        tgid: int,
        uid: int,
        swap: int | None,
        adj: int | None,
        name: str,
    ) -> None:
        """One row (sizes in pages)."""
        self._seq += 1
        heap = self._heap
        if len(heap) < self._n:
            heapq.heappush(heap, (rss, -self._seq, (pid, tgid, uid, swap, adj, name)))
        elif heap and rss > heap[0][0]:
            heapq.heapreplace(heap, (rss, -self._seq, (pid, tgid, uid, swap, adj, name)))

    def offer_run(
        self, rss: list[int], numbers: list[list[int]], names: tuple[bytes, ...], layout: _Layout
    ) -> None:
        """Consecutive rows of a run, their columns read (``_column_ints``: the pid, then the
        layout's columns read; the names as the shape's groups): ``offer`` of each."""
        n, heap, seq = self._n, self._heap, self._seq
        count = len(rss)
        # only the run's own N largest can be kept (a stable sort: ties keep the earlier row),
        # offered in table order
        picks = (
            range(count)
            if count <= n
            else sorted(sorted(range(count), key=rss.__getitem__, reverse=True)[:n])
        )
        pids = numbers[0]
        tgids = numbers[layout.tgid] if layout.tgid else pids
        uids = numbers[layout.uid] if layout.uid else None
        swaps = numbers[layout.swap] if layout.swap else None
        adjs = numbers[layout.adj] if layout.adj else None
        for i in picks:
            size = rss[i]
            seq += 1
            if len(heap) < n or size > heap[0][0]:
                row = (
                    pids[i],
                    tgids[i],
                    -1 if uids is None else uids[i],
                    None if swaps is None else swaps[i],
                    None if adjs is None else adjs[i],
                    (names[i] or b"").decode(),  # None: no name (a decoder's match.groups())
                )
                if len(heap) < n:
                    heapq.heappush(heap, (size, -seq, row))
                else:
                    heapq.heapreplace(heap, (size, -seq, row))
        self._seq = seq

    def largest(self, page_kb: int) -> list[dict[str, Any]]:
        """The kept rows, largest first, sizes in kB."""
        return [
            {
                "pid": pid,
                "tgid": tgid,
                "uid": uid,
                "name": name,
                "rss_kb": rss * page_kb,
                "swap_kb": None if swap is None else swap * page_kb,
                "oom_score_adj": adj,
            }
            for rss, _, (pid, tgid, uid, swap, adj, name) in sorted(self._heap, reverse=True)
        ]


def _column_ints(columns: list[tuple[bytes, ...]], count: int) -> list[list[int]]:
    """Columns of ``count`` numbers each, as a run's groups give them (digits within +-10^18,
    which orjson reads as int() does), as ints: read by orjson in one C pass, or by int() when
    one has a leading zero (which JSON refuses)."""
    try:
        flat = orjson.loads(b"[" + b",".join(itertools.chain.from_iterable(columns)) + b"]")
    except orjson.JSONDecodeError:
        flat = list(map(int, itertools.chain.from_iterable(columns)))
    return [flat[at : at + count] for at in range(0, len(flat), count)]


class ReportEvidence:
    """The evidence lines of one report. ``feed`` dispatches a line of the report (before its
    summary and kill line) and says whether it was a block line, used up here; the ``on_*``
    methods read one kind each."""

    __slots__ = (
        "_block",
        "_index",
        "_layout",
        "_line",
        "_meminfo",
        "_ram_pages",
        "_rows",
        "_rss_pages",
        "_stats",
        "_stats_done",
        "_stats_head",
        "_stats_last",
        "_stats_piece",
        "_swap_free_kb",
        "_swap_total_kb",
        "_top",
        "kmem_usage_kb",
        "run",
        "shape",
        "swap_limit_kb",
        "swap_usage_kb",
    )

    def __init__(self, top_tasks: int = DEFAULT_TOP_TASKS) -> None:
        self._top = TopTasks(top_tasks)
        self._block = _NO_BLOCK
        self._layout: _Layout | None = None
        self._rows = 0
        # the open block's reader (task rows, stats, memcg counters): see _open_block
        self._line: Callable[[str], bool] = _refuse
        self.shape: bytes | None = None
        self.run: Callable[[list[Any]], None] | None = None
        self._rss_pages = 0
        # pid, rss, uid, oom_score_adj (clamped to 16 bits) of each row indexed
        self._index = (array("q"), array("q"), array("q"), array("q"))
        self._stats: dict[str, int] | None = None
        self._stats_done = False
        # the stats block's last text read as "key value" line(s) (a record, or a line of one;
        # bytes from a run), and the characters of its record before it (``feed_continuing``);
        # the last text that ended in a key piece (a key without value)
        self._stats_last: str | bytes | None = None
        self._stats_head = 0
        self._stats_piece: str | None = None
        self._meminfo: dict[str, int] | None = None
        self._swap_free_kb: int | None = None
        self._swap_total_kb: int | None = None
        self._ram_pages: int | None = None
        self.swap_usage_kb: int | None = None
        self.swap_limit_kb: int | None = None
        self.kmem_usage_kb: int | None = None

    @property
    def in_block(self) -> bool:
        """A block is open: the next line may be one of its unmarked lines."""
        return self._block != _NO_BLOCK

    def wanted_markers(self) -> tuple[bytes, ...]:
        """The marker bytes of the kinds this report can still use (a report prints them in a
        fixed order): a reader may skip other lines while no block is open."""
        meminfo = self._meminfo
        return _wanted(
            self._layout is None,
            _NO_MEMINFO
            if meminfo is None
            else _ALL_COUNTERS
            if len(meminfo) == _COUNTERS_KEPT
            else _SOME_COUNTERS,
            self._ram_pages is None,
        )

    # --- dispatch ----------------------------------------------------------------------------
    def feed(self, text: str) -> bool:
        """One line of the report (before its summary); True: a block line, used up here (the
        assembler need not look at it)."""
        block = self._block
        if block:
            if self._line(text):
                return True
            if block == _SWAP_RAM and self.on_swap_ram(text):
                return True
            if not text or text.isspace():  # a blank line carries nothing: the block goes on
                return True
            self._close_block()
        meminfo = self._meminfo
        if meminfo is not None and len(meminfo) == _COUNTERS_KEPT:
            # every counter read: only the kinds still wanted, by their markers (_wanted)
            if text.startswith(TASK_ROW_PREFIX) and _TASK_HEADER_TEXT in text:
                self.on_task_header(text)
            elif self._ram_pages is None and text.startswith(FREE_SWAP_PREFIX):
                self.on_free_swap(text)
            return False
        if text.startswith(TASK_ROW_PREFIX):
            self.on_task_header(text)
        elif text.startswith(MEMCG_USAGE_PREFIX):
            self.on_memcg_usage(text)
        elif text.startswith(MEMCG_STATS_PREFIX):
            self.on_memcg_stats_header(text)
        elif text.startswith(MEMINFO_HEADERS):
            self.on_meminfo_header(text)
        elif text.startswith(FREE_SWAP_PREFIX):
            self.on_free_swap(text)
        elif self._meminfo is not None:
            self.on_meminfo_counters(text)
        return False

    def block_reader(self) -> BlockReader | None:
        """The reader of the open block of task rows, stats or memcg counters, or None (no block,
        or the swap/RAM block, whose last line is read without being used up): this evidence
        itself, its ``line``, ``shape`` and ``run`` the block's (no reader object is made per
        block). It stays the reader while it uses lines up; the first line it does not use ends
        the block (``feed`` then reads that line as the first after the block)."""
        return None if self._line is _refuse else self

    def line(self, text: str) -> bool:
        """The open block's line reader (``BlockReader.line``): True when ``text`` is one of
        its lines, used up; False: the block ended there (``feed`` would try the line
        again)."""
        if self._line(text) or not text or text.isspace():  # (a blank line: as in ``feed``)
            return True
        self._close_block()
        return False

    def _open_block(
        self,
        block: int,
        line: Callable[[str], bool],
        shape: bytes | None = None,
        run: Callable[[list[Any]], None] | None = None,
    ) -> None:
        """Open a block of lines without markers; ``line``, ``shape``, ``run``: its reader's."""
        self._block, self._line, self.shape, self.run = block, line, shape, run

    def _close_block(self) -> None:
        self._block, self._line, self.shape, self.run = _NO_BLOCK, _refuse, None, None

    # --- task table --------------------------------------------------------------------------
    def on_task_header(self, text: str) -> bool:
        layout = _layout(text)
        if layout is None:
            return False
        if self._layout is None:  # a second table would be another report's
            self._layout = layout
            self._open_block(_ROWS, self.on_task_row, layout.shape, self.on_task_run)
        return True

    def on_task_row(self, text: str) -> bool:
        layout = self._layout
        if layout is None:
            return False
        m = layout.row_re.match(text)
        if m is None:
            return False
        groups = m.groups()
        # a line too short to hold a number int() refuses needs no parse_int per column
        number = int if len(text) <= INT_SAFE_CHARS else parse_int
        pid = number(groups[0])
        rss = number(groups[layout.rss]) if layout.rss else 0
        uid = number(groups[layout.uid]) if layout.uid else -1
        adj = number(groups[layout.adj]) if layout.adj else None
        self._rows += 1
        self._rss_pages += rss
        top = self._top
        if top.keeps(rss):
            top.offer(
                rss,
                pid,
                number(groups[layout.tgid]) if layout.tgid else pid,
                uid,
                number(groups[layout.swap]) if layout.swap else None,
                adj,
                groups[-1] or "",
            )
        pids, sizes, uids, adjs = self._index
        # the index holds 64-bit numbers: a row with larger ones cannot be the victim's
        if (
            len(pids) < MAX_INDEXED_ROWS
            and pid <= MAX_NUMBER
            and -MAX_NUMBER <= rss <= MAX_NUMBER
            and -MAX_NUMBER <= uid <= MAX_NUMBER
        ):
            pids.append(pid)
            sizes.append(rss)
            uids.append(uid)
            adjs.append(0 if adj is None else -32768 if adj < -32768 else min(adj, 32767))
        return True

    def on_task_run(self, rows: list[tuple[bytes, ...]]) -> None:
        """Consecutive task rows of the layout's shape, as their groups: what ``on_task_row``
        does with each row, a column at a time (the shape's numbers need no parse_int, no
        range check and no clamp)."""
        layout = self._layout
        assert layout is not None
        count = len(rows)
        if not count:
            return
        columns = list(zip(*rows, strict=True))
        numbers = _column_ints(columns[:-1], count)  # the pid, then the columns read
        rss = numbers[layout.rss] if layout.rss else [0] * count
        self._rows += count
        self._rss_pages += sum(rss)
        if self._top.enabled:
            self._top.offer_run(rss, numbers, columns[-1], layout)
        pids, sizes, uids, adjs = self._index
        room = MAX_INDEXED_ROWS - len(pids)
        if room <= 0:
            return
        if count > room:
            numbers = [column[:room] for column in numbers]
            rss, count = rss[:room], room
        pids.fromlist(numbers[0])  # (fromlist: half the work of extend)
        sizes.fromlist(rss)
        uids.fromlist(numbers[layout.uid] if layout.uid else [-1] * count)
        adjs.fromlist(numbers[layout.adj] if layout.adj else [0] * count)

    # --- memory cgroup -----------------------------------------------------------------------
    def on_memcg_usage(self, text: str) -> bool:
        """The "memory: usage" line (read by the assembler): its swap and kmem lines follow."""
        self._open_block(_COUNTERS, self.on_memcg_counter)
        return True

    def on_memcg_counter(self, text: str) -> bool:
        if (m := SWAP_USAGE_RE.match(text)) is not None:
            if self.swap_usage_kb is None:
                self.swap_usage_kb = parse_int(m.group("usage"))
                self.swap_limit_kb = parse_int(m.group("limit"))
            return True
        if (m := KMEM_USAGE_RE.match(text)) is not None:
            if self.kmem_usage_kb is None:
                self.kmem_usage_kb = parse_int(m.group("usage"))
            return True
        return False

    def on_memcg_stats_header(self, text: str) -> bool:
        inline = stats_header_inline(text)
        if inline is None:
            return False
        if self._stats is not None:
            # 3.x-4.19 print one line per cgroup of the OOM subtree: the first one hit the limit
            self._stats_done = True
            return True
        self._stats = {}
        if inline:
            self._inline_stats(inline)
        self._open_block(_STATS, self.on_memcg_stat, STAT_LINE_SHAPE, self.on_memcg_stat_run)
        return True

    def on_memcg_stat(self, text: str) -> bool:
        """A stats line: "key value" (5.0+), a record of several such lines, or an inline
        " key:NKB" piece that a console split off (4.x with extended consoles)."""
        if self._stats_done or self._stats is None:
            return False
        stats = self._stats
        if "\n" not in text:  # the common case (6.4+): one "key value" line
            key, _, value = text.partition(" ")
            if value.isdigit() and key.isidentifier() and key.islower():
                if len(stats) < MAX_STATS:
                    stats[key] = parse_int(value)
                self._stats_last = text
                return True
        matched = False
        for part in text.split("\n") if "\n" in text else (text,):
            part = part.strip()
            if not part:
                continue
            m = STAT_LINE_RE.match(part)
            if m is not None:
                if len(stats) < MAX_STATS:
                    stats[m.group("key")] = parse_int(m.group("value"))
                self._stats_last = text
                matched = True
            elif INLINE_STATS_PART_RE.fullmatch(part):
                self._inline_stats(part)
                self._stats_last = None
                matched = True
            elif STAT_KEY_PIECE_RE.match(part):
                # memory.stat prints no key without its value: printk's record limit cut here
                # if the record is that long (else the input was cut), never a key to keep
                self._stats_last = self._stats_piece = text
                matched = True
            else:
                break
        return matched

    def on_memcg_stat_run(self, lines: list[tuple[bytes]]) -> None:
        """Consecutive stats lines of STAT_LINE_SHAPE, as their groups: what ``on_memcg_stat``
        does with each line, the lines read as one JSON object by orjson (a C pass, no call per
        line; a later key's value replaces an earlier one's in its place, as in a dict)."""
        stats = self._stats
        assert stats is not None and not self._stats_done
        if len(stats) + len(lines) <= MAX_STATS:
            pairs = b',"'.join(map(_first, lines)).replace(b" ", b'":')
            try:
                read = orjson.loads(b'{"' + pairs + b"}")
            except orjson.JSONDecodeError:  # a value with a leading zero, which int() reads
                pass
            else:
                if stats:
                    stats.update(read)
                else:
                    self._stats = read
                self._stats_last = lines[-1][0]
                return
        for (line,) in lines:
            if len(stats) < MAX_STATS:
                key, _, value = line.partition(b" ")
                stats[key.decode()] = int(value)  # <= 19 digits (the shape's)
        self._stats_last = lines[-1][0]  # (a run's lines are records, or stamped lines)

    def feed_continuing(self, text: str) -> bool:
        """``feed`` of a line that continues the record of the line before (a text format's
        unstamped line: dmesg and journalctl print a record's later lines so): a stats line
        adds to its record's length."""
        last = self._stats_last
        head = self._stats_head + len(last) + 1 if last is not None else 0
        used = self.feed(text)
        if self._stats_last is text:
            self._stats_head = head
        return used

    @property
    def stats_cut(self) -> bool:
        """Did printk's record limit cut the memory.stat record (5.0-6.3)? (Its last key, maybe
        cut in its value, is then left out: ``finish``.)"""
        last = self._stats_last
        return last is not None and self._stats_head + len(last) in STATS_RECORD_CUT_LENGTHS

    def _stats_last_key(self) -> str | None:
        """The key of the stats block's last line when its record is as long as printk lets a
        record be (that line read whole as "key value", maybe cut), else None. (Lines of a
        format that stamps none are taken as one record: 6.4+ one-line records that long in
        all, by chance, lose their last key there: a key lost, never a wrong value.)"""
        last = self._stats_last
        if last is self._stats_piece or not self.stats_cut:
            return None  # (a record cut in a key: its last key piece was not kept)
        assert last is not None
        text = last.decode() if isinstance(last, bytes) else last
        return text.rpartition("\n")[2].strip().partition(" ")[0]

    def _inline_stats(self, text: str) -> None:
        stats = self._stats
        assert stats is not None
        for m in INLINE_STAT_RE.finditer(text):
            if len(stats) < MAX_STATS:
                value = parse_int(m.group("value"))
                stats[m.group("key")] = value * 1024 if m.group("kb") else value

    # --- system memory -----------------------------------------------------------------------
    def on_meminfo_header(self, text: str) -> bool:
        if self._meminfo is None:
            self._meminfo = {}
        return True

    def on_meminfo_counters(self, text: str) -> bool:
        meminfo = self._meminfo
        if meminfo is None or len(meminfo) == _COUNTERS_KEPT:
            return False  # (each key keeps its first value)
        found = False
        for part in text.split("\n") if "\n" in text else (text,):
            part = part.strip()
            if not part.startswith(MEMINFO_LINE_STARTS):
                continue
            for key, value in MEMINFO_PAIR_RE.findall(part):
                if key in _MEMINFO_KEYS and key not in meminfo:
                    meminfo[key] = parse_int(value)
                    found = True
        return found

    def on_free_swap(self, text: str) -> bool:
        m = FREE_SWAP_RE.match(text)
        if m is None:
            return False
        self._swap_free_kb = parse_int(m.group("kb"))
        self._close_block()
        self._block = _SWAP_RAM  # (its last line is not used up: no reader)
        return True

    def on_swap_ram(self, text: str) -> bool:
        if (m := TOTAL_SWAP_RE.match(text)) is not None:
            self._swap_total_kb = parse_int(m.group("kb"))
            return True
        if (m := RAM_PAGES_RE.match(text)) is not None:
            self._ram_pages = parse_int(m.group("pages"))
            return False  # the last line of the block
        return False

    # --- the end -----------------------------------------------------------------------------
    def finish(self, record: OomRecord) -> None:
        """Write the evidence into the report's record (not yet emitted) once its kill line named
        the victim: the victim's RSS there against its task row gives the page size, and the row
        gives the uid and oom_score_adj the kill line lacks (2.6-5.2)."""
        anon = record.anon_rss_kb
        row = self._victim_row(record.pid)
        page_kb = (
            DEFAULT_PAGE_KB
            if row is None or anon is None
            else page_size_kb(row[0], anon + (record.file_rss_kb or 0) + (record.shmem_rss_kb or 0))
        )
        if self._layout is not None:
            record.task_count = self._rows
            record.tasks_rss_kb = self._rss_pages * page_kb
            record.top_tasks = self._top.largest(page_kb) if self._top.enabled else None
        stats = self._stats
        cut_key = self._stats_last_key()
        if stats and cut_key is not None:
            stats.pop(cut_key, None)  # (a guess is never recorded)
        record.memcg_stats = stats
        record.swap_usage_kb = self.swap_usage_kb
        record.swap_limit_kb = self.swap_limit_kb
        record.kmem_usage_kb = self.kmem_usage_kb
        record.system_memory = self._system_memory(page_kb)
        if row is not None:
            if record.uid is None and row[1] >= 0:
                record.uid = row[1]
            if record.oom_score_adj is None and self._layout and self._layout.adj:
                record.oom_score_adj = row[2]

    def _victim_row(self, pid: int | None) -> tuple[int, int, int] | None:
        if pid is None:
            return None
        pids, sizes, uids, adjs = self._index
        try:
            at = pids.index(pid)
        except ValueError:
            return None
        return sizes[at], uids[at], adjs[at]

    def _system_memory(self, page_kb: int) -> dict[str, int | None] | None:
        meminfo = self._meminfo
        if meminfo is None:
            return None
        out: dict[str, int | None] = {}
        for key, name in _MEMINFO_KEYS.items():
            pages = meminfo.get(key)
            out[name] = None if pages is None else pages * page_kb
        out["swap_free_kb"] = self._swap_free_kb
        out["swap_total_kb"] = self._swap_total_kb
        out["ram_kb"] = None if self._ram_pages is None else self._ram_pages * page_kb
        return out


# what a report has read of the Mem-Info counters (``wanted_markers``)
_NO_MEMINFO, _SOME_COUNTERS, _ALL_COUNTERS = 0, 1, 2
_COUNTERS_KEPT: Final = len(_MEMINFO_KEYS)


@functools.cache
def _wanted(table: bool, meminfo: int, ram: bool) -> tuple[bytes, ...]:
    """The markers a report wants (see ``ReportEvidence.wanted_markers``). Once every counter
    kept is read, the counters' markers are wanted no more: the zone lines of every system OOM
    ("Node 0 DMA free:15360kB ...") hold them. A reader that skips a line holding one of them
    then changes nothing, as ``feed`` reads only the kinds still wanted, by their markers."""
    if not table:
        return ()
    if meminfo == _NO_MEMINFO:
        return (TASK_HEADER_MARKER, *MEMINFO_HEADER_MARKERS)
    markers = MEMINFO_MARKERS if meminfo == _SOME_COUNTERS else ()
    return (TASK_HEADER_MARKER, *markers, *((FREE_SWAP_PREFIX.encode(),) if ram else ()))


def stats_header_inline(text: str) -> str | None:
    """MEMCG_STATS_RE's ``inline`` group of a stats header, None for another line. The 5.0+
    header, whose only colon ends it, without the regex (its lazy path costs a step a byte)."""
    if plain_stats_header_path(text) is not None:
        return ""
    m = MEMCG_STATS_RE.match(text)
    return None if m is None else m.group("inline")


def plain_stats_header_path(text: str) -> str | None:
    """PATH of a 5.0+ stats header "Memory cgroup stats for PATH:" (one line, its only colon
    the last character), None for any other line."""
    if (
        text.endswith(":")
        and text.count(":") == 1
        and "\n" not in text
        and text.startswith(_STATS_HEADER_START)
    ):
        return text[len(_STATS_HEADER_START) : -1]
    return None


_STATS_HEADER_START: Final = MEMCG_STATS_PREFIX + " "


def page_size_kb(row_rss_pages: int | None, kill_rss_kb: int | None) -> int:
    """The page size the report implies: the victim's RSS in pages (its task row) against its
    RSS in kB (its kill line); DEFAULT_PAGE_KB when they do not tell."""
    if not row_rss_pages or not kill_rss_kb:
        return DEFAULT_PAGE_KB
    ratio = kill_rss_kb / row_rss_pages
    best = PAGE_SIZES_KB[0]
    for size in PAGE_SIZES_KB[1:]:  # ascending: the nearest (the first of a tie), then farther
        if abs(ratio - size) >= abs(ratio - best):
            break
        best = size
    return best if abs(ratio - best) <= best * PAGE_RATIO_TOLERANCE else DEFAULT_PAGE_KB


# --- the one-line reason ----------------------------------------------------------------------
# (cached: a stream's kills repeat their limits and usages, and a float's formatting is the
# reason's dearest part)
@functools.lru_cache(maxsize=4096)
def human_kb(kb: int) -> str:
    """1536 -> "1.5 MiB"; a decimal only below 10."""
    value = float(kb)
    if value < 1024:
        return f"{value:.0f} KiB"
    value, unit = value / 1024, "MiB"
    if value >= 1024:
        value, unit = value / 1024, "GiB"
        if value >= 1024:
            value, unit = value / 1024, "TiB"
    return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"


_KIND_WORDS: Final = {
    "memcg": "memcg out of memory",
    "system": "system out of memory",
    "cpuset": "cpuset out of memory",
    "mempolicy": "memory policy out of memory",
}
# the fields ``reason`` reads, in the order ``_reason`` takes them
_REASON_FIELDS: Final = (
    "kind",
    "memory_limit_kb",
    "memory_usage_kb",
    "memory_failcnt",
    "system_memory",
    "process_name",
    "pid",
    "anon_rss_kb",
    "file_rss_kb",
    "shmem_rss_kb",
    "top_tasks",
    "tasks_rss_kb",
)
_reason_fields = operator.attrgetter(*_REASON_FIELDS)


def reason(record: Any) -> str:
    """One line a person can read in a log viewer, from the record's own fields (an OomRecord
    or a dict of one); parts whose fields are null are left out."""
    if type(record) is OomRecord:  # the assembler's, once per record: no per-key calls
        return _reason(*_reason_fields(record))
    if isinstance(record, Mapping):
        return _reason(*map(record.get, _REASON_FIELDS))
    return _reason(*(getattr(record, key, None) for key in _REASON_FIELDS))


def _reason(
    kind: Any,
    limit: Any,
    usage: Any,
    failcnt: Any,
    system: Any,
    name: Any,
    pid: Any,
    anon: Any,
    file: Any,
    shmem: Any,
    top: Any,
    tasks_rss: Any,
) -> str:
    if kind == "memcg" and limit is not None:
        head = f"memcg limit {human_kb(limit)} reached"
        if usage is not None:
            if failcnt is not None:
                head += f" (usage {human_kb(usage)}, failcnt {failcnt})"
            else:
                head += f" (usage {human_kb(usage)})"
        elif failcnt is not None:
            head += f" (failcnt {failcnt})"
    else:
        head = _KIND_WORDS.get(kind or "", "out of memory")
    if system is not None and (type(system) is dict or isinstance(system, Mapping)):
        head += _system_part(system)
    if pid is None:
        victim = "no victim"
    else:
        victim = f'victim "{name}"' if name is not None else f"victim pid {pid}"
        if anon is not None or file is not None or shmem is not None:
            victim += f" held {human_kb((anon or 0) + (file or 0) + (shmem or 0))}"
            if kind == "memcg" and tasks_rss:
                victim += f" of the cgroup's {human_kb(tasks_rss)} task RSS"
    if not top:
        return f"{head}; {victim}"
    largest = top[0]
    if largest.get("pid") == pid:
        return f"{head}; {victim}, the largest task"
    return (
        f'{head}; {victim}; largest task "{largest.get("name")}" '
        f"{human_kb(largest.get('rss_kb') or 0)}"
    )


def _system_part(system: Mapping[str, Any]) -> str:
    """The system memory part: ": 97 MiB free of 7.8 GiB, no swap", or "" (none known)."""
    free, ram = system.get("free_kb"), system.get("ram_kb")
    facts = []
    if free is not None:
        facts.append(
            f"{human_kb(free)} free of {human_kb(ram)}" if ram else f"{human_kb(free)} free"
        )
    swap_total, swap_free = system.get("swap_total_kb"), system.get("swap_free_kb")
    if swap_total == 0:
        facts.append("no swap")
    elif swap_total is not None and swap_free is not None:
        facts.append(f"swap {human_kb(swap_free)} free of {human_kb(swap_total)}")
    return ": " + ", ".join(facts) if facts else ""


__all__ = [
    "DEFAULT_TOP_TASKS",
    "LINE_KINDS",
    "MEMCG_STATS_MARKER",
    "MEMCG_STATS_PREFIX",
    "STAT_LINE_SHAPE",
    "SYSTEM_MEMORY_KEYS",
    "TOP_TASK_KEYS",
    "BlockReader",
    "LineKind",
    "ReportEvidence",
    "TopTasks",
    "human_kb",
    "page_size_kb",
    "plain_stats_header_path",
    "reason",
    "stats_header_inline",
]
