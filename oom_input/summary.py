"""A summary for people: the kills as a table, grouped, and kills per hour as text bars.

``Summary`` takes records (``OomRecord`` or dicts read back from oom-input's JSON output; it is
also a ``Sink``) and groups them by host, namespace and workload, container, process name and
kind. ``render()``
gives, for example (``tests/data/real/two-kills-with-noise.kmsg`` and
``simple-memcg.kmsg`` read with ``--boot-time 1795722748.146912 --host node-a``)::

    3 OOM kills in 3 groups, 1 host (times in UTC, 2026)

    COUNT  HOST    WORKLOAD   CONTAINER      PROCESS   KIND   FIRST           LAST      MAX ANON   LIMIT
        1  node-a  07e53718…  eb718b8f6813   worker-1  memcg  11-26 19:58:34  19:58:34    55 MiB  48 MiB
        1  node-a  cbc9034c…  3a7f79a54825   worker-2  memcg  11-26 19:58:35  19:58:35    55 MiB  48 MiB
        1  node-a  -          /machine/demo  stress    memcg  11-26 20:12:22  20:12:22    40 MiB  40 MiB

    kills per hour (UTC)
    node-a  2026-11-26 19h  ██████████████████████████████████████████████████ 2
    node-a  2026-11-26 20h  █████████████████████████ 1

- WORKLOAD: with the record's ``kubernetes`` object, ``<namespace>/<owner kind>/<owner name>``
  (``shop/Deployment/web``: all pods of a Deployment in one row), or ``<namespace>/<pod>`` for a
  pod without owner; else the pod UID; ``-`` outside Kubernetes.
- CONTAINER: the Kubernetes container name when known, else the container ID's first 12 hex
  digits, else the killed task's memory cgroup.
- FIRST / LAST: the earliest and latest ``time_of_death`` (LAST without the date when it is the
  same day); ``-`` when no record of the group has a time. MAX ANON: the largest ``anon-rss``
  of a victim; LIMIT: the memory limit of the cgroup that hit it (the last one seen).
- Rows are sorted by count (most first). Memory stays bounded: at most ``max_groups`` groups and
  ``max_hours`` (host, hour) histogram cells are kept; later kills of new groups are counted in
  an ``(other groups)`` row, and of new cells in an ``(other hours)`` line.

``summarize_jsonl`` reads oom-input's JSON lines (``oom-input summary records.jsonl``);
``is_record_stream`` tells such a file from a kernel log by its first line.
"""  # noqa: E501 - the example table above is as wide as render() makes it

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any

import orjson

from oom_input.peek import has_first_line, peek
from oom_input.timefilter import record_value, stamp_us
from oom_input.types import OomRecord

MAX_GROUPS = 10_000
MAX_HOURS = 10_000
MAX_LINE_BYTES = 1 << 20  # a longer line in a JSON-lines input is skipped
MAX_BAR = 50  # longest histogram bar
HEAD_BYTES = 1 << 16  # what peek_head reads at most to tell records from a kernel log
OTHER_GROUPS = "(other groups)"
NO_TIME = "(no time)"

# key: host, workload (namespace/kind/name), container, process name, kind
GroupKey = tuple[str, str, str, str, str]
_HEADERS = (
    "COUNT",
    "HOST",
    "WORKLOAD",
    "CONTAINER",
    "PROCESS",
    "KIND",
    "FIRST",
    "LAST",
    "MAX ANON",
    "LIMIT",
)
# columns that may be cut to fit the width: index -> (narrowest, keep the end rather than the
# start); cgroup paths say the most at their end
_SHRINKABLE = {1: (8, False), 2: (9, False), 3: (12, True), 4: (8, False)}
_RIGHT = {0, 8, 9}  # right-aligned columns


@dataclass(slots=True)
class _Group:
    count: int = 0
    first_us: int | None = None
    last_us: int | None = None
    max_anon_kb: int | None = None
    limit_kb: int | None = None

    def add(self, when_us: int | None, anon_kb: int | None, limit_kb: int | None) -> None:
        self.count += 1
        if when_us is not None:
            if self.first_us is None or when_us < self.first_us:
                self.first_us = when_us
            if self.last_us is None or when_us > self.last_us:
                self.last_us = when_us
        if anon_kb is not None and (self.max_anon_kb is None or anon_kb > self.max_anon_kb):
            self.max_anon_kb = anon_kb
        if limit_kb is not None:
            self.limit_kb = limit_kb


class Summary:
    """Kills grouped for a table and counted per host and hour; bounded in memory."""

    def __init__(
        self,
        *,
        max_groups: int = MAX_GROUPS,
        max_hours: int = MAX_HOURS,
        tz: tzinfo = timezone.utc,
    ) -> None:
        if max_groups < 1 or max_hours < 1:
            raise ValueError("max_groups and max_hours must be >= 1")
        self.max_groups = max_groups
        self.max_hours = max_hours
        self.tz = tz
        self.groups: dict[GroupKey, _Group] = {}
        self.other = _Group()  # kills of groups beyond max_groups
        self.hours: dict[str, Counter[str]] = {}  # host -> "YYYY-MM-DD HHh" (or NO_TIME) -> n
        self._cells = 0
        self.other_hours = 0  # kills of histogram cells beyond max_hours
        self.total = 0
        self.skipped = 0  # input lines that were not records (summarize_jsonl)
        self.holders = _Holders()  # issue 14: the largest tasks next to the victims

    def add(self, record: OomRecord | Mapping[str, Any]) -> None:
        """Count one kill."""
        self.total += 1
        when_us = stamp_us(_text(record_value(record, "time_of_death")))
        key = _group_key(record)
        group = self.groups.get(key)
        if group is None:
            if len(self.groups) < self.max_groups:
                group = self.groups[key] = _Group()
            else:
                group = self.other
        group.add(
            when_us,
            _int(record_value(record, "anon_rss_kb")),
            _int(record_value(record, "memory_limit_kb")),
        )
        self._count_hour(key[0], when_us)
        self.holders.add(record)

    # a Summary is also a Sink
    def write(self, record: OomRecord) -> None:
        self.add(record)

    def close(self) -> None:
        pass

    def _count_hour(self, host: str, when_us: int | None) -> None:
        hour = NO_TIME if when_us is None else self._local(when_us).strftime("%Y-%m-%d %Hh")
        counts = self.hours.get(host)
        if counts is not None and hour in counts:
            counts[hour] += 1
        elif self._cells < self.max_hours:
            self.hours.setdefault(host, Counter())[hour] = 1
            self._cells += 1
        else:
            self.other_hours += 1

    def _local(self, us: int) -> datetime:
        return datetime.fromtimestamp(us / 1_000_000, self.tz)

    def render(self, width: int = 100) -> str:
        """The table and the per-hour histogram, as text lines fitting ``width`` where they can."""
        zone = self._zone_name()
        hosts = len({key[0] for key in self.groups})
        years = {
            self._local(us).year
            for group in (*self.groups.values(), self.other)
            for us in (group.first_us, group.last_us)
            if us is not None
        }
        # one year for every time shown: say it once, leave it out of the table
        year = years.pop() if len(years) == 1 else None
        when = f"times in {zone}" if year is None else f"times in {zone}, {year}"
        lines = [
            f"{_plural(self.total, 'OOM kill')} in {_plural(len(self.groups), 'group')}, "
            f"{_plural(hosts, 'host')} ({when})"
        ]
        if self.skipped:
            lines.append(f"{_plural(self.skipped, 'input line')} skipped: not oom-input records")
        if not self.total:
            return "\n".join(lines) + "\n"
        date = "%Y-%m-%d" if year is None else "%m-%d"
        rows = [self._row(key, group, date) for key, group in self._sorted_groups()]
        if self.other.count:
            rows.append(self._row((OTHER_GROUPS, "", "", "", ""), self.other, date))
        lines += ["", *_table(rows, width), "", *self.holders.render(width)]
        lines.append(f"kills per hour ({zone})")
        lines += self._histogram(width)
        return "\n".join(lines) + "\n"

    def _sorted_groups(self) -> list[tuple[GroupKey, _Group]]:
        def order(item: tuple[GroupKey, _Group]) -> tuple[int, bool, int, GroupKey]:
            key, group = item
            first = group.first_us
            return (-group.count, first is None, first or 0, key)

        return sorted(self.groups.items(), key=order)

    def _row(self, key: GroupKey, group: _Group, date: str) -> list[str]:
        first = last = "-"
        if group.first_us is not None and group.last_us is not None:
            first_dt, last_dt = self._local(group.first_us), self._local(group.last_us)
            first = first_dt.strftime(f"{date} %H:%M:%S")
            same_day = first_dt.date() == last_dt.date()
            last = last_dt.strftime("%H:%M:%S" if same_day else f"{date} %H:%M:%S")
        return [
            str(group.count),
            *key,
            first,
            last,
            _mib(group.max_anon_kb),
            _mib(group.limit_kb),
        ]

    def _histogram(self, width: int) -> list[str]:
        cells = [
            (host, hour, n)
            for host in sorted(self.hours)
            for hour, n in sorted(self.hours[host].items(), key=lambda item: _hour_order(item[0]))
        ]
        if self.other_hours:
            cells.append((OTHER_GROUPS.replace("groups", "hours"), "", self.other_hours))
        host_w = min(max(len(_clean(host)) for host, _, _ in cells), 24)
        hour_w = max(len(hour) for _, hour, _ in cells)
        top = max(n for _, _, n in cells)
        room = min(MAX_BAR, max(10, width - host_w - hour_w - len(str(top)) - 5))
        out = []
        for host, hour, n in cells:
            bar = "█" * max(1, round(n * room / top))
            label = _fit(_clean(host), host_w, keep_end=False).ljust(host_w)
            out.append(f"{label}  {hour.ljust(hour_w)}  {bar} {n}")
        return out

    def _zone_name(self) -> str:
        if self.tz is timezone.utc:
            return "UTC"
        return str(getattr(self.tz, "key", None) or self.tz)


# --- the largest holders next to the victims (issue 14) ----------------------------------------
MAX_HOLDER_ROWS = 10
_HOLDER_HEADERS = ("VICTIM", "HELD", "LARGEST TASK", "HELD", "HOST")


class _Holders:
    """Kills whose record carries ``top_tasks``: the victim next to the task table's largest
    task, so that a sidecar holding the memory shows. Bounded: the ``max_rows`` kills where
    another task held the most (largest first), then those where the victim did."""

    def __init__(self, max_rows: int = MAX_HOLDER_ROWS) -> None:
        self.max_rows = max_rows
        self._heap: list[tuple[bool, int, int, list[str]]] = []
        self._seen = 0
        self.other_holder_kills = 0  # kills whose largest task was not the victim

    def add(self, record: OomRecord | Mapping[str, Any]) -> None:
        top = record_value(record, "top_tasks")
        if not isinstance(top, list) or not top or not isinstance(top[0], Mapping):
            return
        largest = top[0]
        pid = _int(record_value(record, "pid"))
        sizes = [
            _int(record_value(record, k)) for k in ("anon_rss_kb", "file_rss_kb", "shmem_rss_kb")
        ]
        held = sum(size or 0 for size in sizes) if any(s is not None for s in sizes) else None
        largest_kb = _int(largest.get("rss_kb")) or 0
        other = largest.get("pid") != pid
        self.other_holder_kills += other
        row = [
            f"{_text(record_value(record, 'process_name')) or '-'} ({'-' if pid is None else pid})",
            _mib(held),
            f"{_text(largest.get('name')) or '-'} ({largest.get('pid')})",
            _mib(largest_kb),
            _text(record_value(record, "host")) or "-",
        ]
        self._seen += 1
        entry = (other, largest_kb, -self._seen, [_clean(cell) for cell in row])
        if len(self._heap) < self.max_rows:
            heapq.heappush(self._heap, entry)
        elif entry[:3] > self._heap[0][:3]:
            heapq.heapreplace(self._heap, entry)

    def render(self, width: int) -> list[str]:
        """The section's lines (and a blank line after them), or none when no kill had a task
        table."""
        if not self._heap:
            return []
        rows = [entry[3] for entry in sorted(self._heap, reverse=True)]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(_HOLDER_HEADERS)]
        room = max(12, (width - widths[1] - widths[3] - widths[4] - 2 * 4) // 2)
        widths[0] = widths[2] = min(max(widths[0], widths[2]), room)
        title = (
            f"largest tasks at the kills (another task held the most in "
            f"{_plural(self.other_holder_kills, 'kill')} of {self._seen})"
        )
        out = [title]
        for row in [list(_HOLDER_HEADERS), *rows]:
            cells = [
                _fit(cell, widths[i], keep_end=False).rjust(widths[i])
                if i in (1, 3)
                else _fit(cell, widths[i], keep_end=False).ljust(widths[i])
                for i, cell in enumerate(row)
            ]
            out.append("  ".join(cells).rstrip())
        return [*out, ""]


def _hour_order(hour: str) -> tuple[bool, str]:
    return (hour == NO_TIME, hour)


def _group_key(record: OomRecord | Mapping[str, Any]) -> GroupKey:
    host = _text(record_value(record, "host")) or "-"
    kube = record_value(record, "kubernetes")
    kube = kube if isinstance(kube, Mapping) else {}
    owner = kube.get("owner")
    owner = owner if isinstance(owner, Mapping) else {}
    namespace = _text(kube.get("namespace_name"))
    if namespace and _text(owner.get("kind")) and _text(owner.get("name")):
        pod = f"{namespace}/{owner['kind']}/{owner['name']}"
    elif namespace and _text(kube.get("pod_name")):
        pod = f"{namespace}/{kube['pod_name']}"
    else:
        pod = _text(record_value(record, "pod_uid")) or "-"
    container_id = _text(record_value(record, "container_id"))
    container = (
        _text(kube.get("container_name"))
        or (container_id[:12] if container_id else None)
        or _text(record_value(record, "container_name"))
        or "-"
    )
    process = _text(record_value(record, "process_name")) or "-"
    kind = _text(record_value(record, "kind")) or "unknown"
    return (_clean(host), _clean(pod), _clean(container), _clean(process), _clean(kind))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _clean(text: str) -> str:
    """No control characters in a table cell (they would break the alignment)."""
    return text if text.isprintable() else "".join(c if c.isprintable() else "?" for c in text)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _mib(kb: int | None) -> str:
    if kb is None:
        return "-"
    for value, unit in ((kb / 1024, "MiB"), (kb / 1024 / 1024, "GiB")):
        if value < 1024 or unit == "GiB":
            # a decimal only where it matters: 9.5 MiB, 55 MiB, 1.5 GiB
            return f"{value:.1f} {unit}" if value < 10 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def _fit(text: str, width: int, *, keep_end: bool) -> str:
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    return "…" + text[-(width - 1) :] if keep_end else text[: width - 1] + "…"


def _table(rows: list[list[str]], width: int) -> list[str]:
    """Rows under the headers, columns two spaces apart; the shrinkable columns are cut (the one
    furthest above its narrowest first) until the table fits ``width`` or all are narrowest."""
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(_HEADERS)]
    total = sum(widths) + 2 * (len(widths) - 1)
    while total > width:
        candidates = [i for i, (low, _) in _SHRINKABLE.items() if widths[i] > low]
        if not candidates:
            break
        roomiest = max(candidates, key=lambda i: widths[i] - _SHRINKABLE[i][0])
        widths[roomiest] -= 1
        total -= 1
    out = []
    for row in [list(_HEADERS), *rows]:
        cells = []
        for i, cell in enumerate(row):
            keep_end = _SHRINKABLE.get(i, (0, False))[1]
            cell = _fit(cell, widths[i], keep_end=keep_end)
            cells.append(cell.rjust(widths[i]) if i in _RIGHT else cell.ljust(widths[i]))
        out.append("  ".join(cells).rstrip())
    return out


def summarize_jsonl(
    chunks: Iterable[bytes], summary: Summary | None = None, *, max_line: int = MAX_LINE_BYTES
) -> Summary:
    """Add the records of oom-input's JSON-lines output (bytes, any split) to ``summary`` (a new
    one when None) and return it. Lines that are not records (not JSON, not an object with
    ``"event": "oom_kill"``, longer than ``max_line``) are counted in ``summary.skipped``;
    blank lines are ignored."""
    summary = summary if summary is not None else Summary()
    pending = b""
    discarding = False  # in the rest of an over-long line
    for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            if discarding:
                discarding = False
                continue
            _add_line(summary, line, max_line)
        if len(pending) > max_line:
            if not discarding:
                summary.skipped += 1
            discarding = True
            pending = b""
    if pending and not discarding:
        _add_line(summary, pending, max_line)
    return summary


def _add_line(summary: Summary, line: bytes, max_line: int) -> None:
    if not line.strip():
        return
    if len(line) > max_line:
        summary.skipped += 1
        return
    record = _parse_record(line)
    if record is None:
        summary.skipped += 1
    else:
        summary.add(record)


def _parse_record(line: bytes) -> dict[str, Any] | None:
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if isinstance(value, dict) and value.get("event") == "oom_kill":
        return value
    return None


def peek_head(chunks: Iterable[bytes], size: int = HEAD_BYTES) -> tuple[bytes, Iterator[bytes]]:
    """The first bytes of ``chunks`` (up to the first complete line, or ``size`` bytes) for
    ``is_record_stream``, and an iterator over all of the bytes, those included. Reads no
    further than needed, so a live pipe is not held up."""
    return peek(chunks, size, has_first_line)


def is_record_stream(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of an input, e.g. 64 KiB) looks like oom-input's own
    JSON output: its first non-blank line is a JSON object with ``"event": "oom_kill"``. A first
    line cut off by the end of ``head`` counts when it starts the way oom-input writes it."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    line, newline, _ = text.partition(b"\n")
    if _parse_record(line) is not None:
        return True
    return not newline and line.startswith(b'{"event":"oom_kill"')
