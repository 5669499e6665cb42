"""The least CPU any Python reader spends on the report's evidence in a kmsg file, against a whole
oom-input run on the same file, in one run.

The floor reads each memcg statistics block and each task table by the cheapest C-level steps
found (``split``, ``partition``, one ``orjson.loads`` per block), trusting every line, and turns
the values into the dict and ints a record holds; nothing else (no search for the blocks, no
checks, no top-N, no output). Issue 14 allowed dense logs +10 % over the code
before the evidence: when the floor alone is more than that, no reader design meets it.

    .venv/bin/python bench/floor.py FILE.kmsg [--tree PATH ...]

``--tree``: a checkout whose ``oom_input`` is timed too (in-process CPU, best of 3, like the
floor); the checkout this script is in is always timed.

A second figure, the bare reader: a loop written for this one corpus shape and nothing else (no
state machine, no sources, times or checks) that finds each memcg report's lines with ``find``,
reads them with one regex each, builds a dict with the record's keys and values and writes it
with orjson. It is not a correct reader; it shows what a whole record costs at the least in CPython.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

# kmsg records: a memcg statistics block ("key value" records after its header, 5.0+) and a task
# table's rows (after its column header); the rows of the 6.x layout in the bench corpus
KMSG_PREFIX = rb"[0-9]+,[0-9]+,[0-9]+,[^;\n]*;"
STATS_BLOCK = re.compile(
    rb"Memory cgroup stats for [^\n]*\n((?:" + KMSG_PREFIX + rb"[a-z][a-z0-9_]* -?[0-9]+\n)+)"
)
STAT_PAIR = re.compile(rb";([a-z][a-z0-9_]*) (-?[0-9]{1,20})\n")
TASK_TABLE = re.compile(rb"\]   uid  tgid [^\n]*\n((?:" + KMSG_PREFIX + rb"\[[^\n]*\n)+)")
TASK_ROW = re.compile(
    rb";\[ *([0-9]+)\] +([0-9]+) +([0-9]+) +[0-9]+ +([0-9]+)(?: +[0-9]+){4} +([0-9]+) +(-?[0-9]+)"
    rb" ([^\n]*)\n"
)
# the bare reader's lines (6.x kmsg; the header, counters, summary and kill line of a memcg report)
BARE_HEADER = re.compile(
    rb"[0-9]+,([0-9]+),([0-9]+),[^;\n]*;(.*) invoked oom-killer: gfp_mask=([^,]*), order=(-?[0-9]+)"
)
BARE_USAGE = re.compile(rb";memory: usage ([0-9]+)kB, limit ([0-9]+)kB, failcnt ([0-9]+)\n")
BARE_SWAP = re.compile(rb";(?:memory\+)?swap: usage ([0-9]+)kB, limit ([0-9]+)kB")
BARE_SUMMARY = re.compile(
    rb";oom-kill:constraint=([^,]*),nodemask=[^,]*,cpuset=[^,]*,mems_allowed=[^,]*,"
    rb"oom_memcg=([^,]*),task_memcg=([^,]*),task=.*,pid=[0-9]+,uid=[0-9]+\n"
)
BARE_KILL = re.compile(
    rb";[^:]*: Killed process ([0-9]+) \((.*)\) total-vm:([0-9]+)kB, anon-rss:([0-9]+)kB, "
    rb"file-rss:([0-9]+)kB, shmem-rss:([0-9]+)kB, UID:([0-9]+) pgtables:([0-9]+)kB "
    rb"oom_score_adj:(-?[0-9]+)"
)
BARE_POD = re.compile(
    rb"pod([0-9a-f]{8})[_-]([0-9a-f]{4})[_-]([0-9a-f]{4})[_-]([0-9a-f]{4})[_-]([0-9a-f]{12})"
)
BARE_TASK_KEYS = ("pid", "uid", "tgid", "rss_kb", "swap_kb", "oom_score_adj", "name")
# the in-process run of one tree (min CPU seconds of 3 after a warm-up run)
RUN = """
import os, sys, time
from oom_input import cli
def run():
    out = sys.stdout; sys.stdout = open(os.devnull, "w")
    t = time.process_time()
    try: cli.main(["--input-format", "kmsg", sys.argv[1]])
    except SystemExit: pass
    sys.stdout = out
    return time.process_time() - t
run()
print(min(run() for _ in range(3)))
"""


def evidence_blocks(data: bytes) -> tuple[list[bytes], list[bytes]]:
    """The statistics blocks and task tables of ``data``: their records, the last newline off."""
    stats = [m.group(1)[:-1] for m in STATS_BLOCK.finditer(data)]
    tables = [m.group(1)[:-1] for m in TASK_TABLE.finditer(data)]
    return stats, tables


def read_evidence(stats: list[bytes], tables: list[bytes]) -> None:
    """The blocks read as a record holds them, by the cheapest C-level steps found (no checks
    at all: every line is trusted)."""
    for block in stats:
        # each record's text after its prefix, "key value" turned into one JSON object
        texts = [line.partition(b";")[2] for line in block.split(b"\n")]
        orjson.loads(b'{"' + b',"'.join(texts).replace(b" ", b'":') + b"}")
    for table in tables:
        # "[  pid]   uid  tgid total_vm rss ...": the pid, then the columns after it
        rows = [line.partition(b"]") for line in table.split(b"\n")]
        list(map(int, [row[0].rpartition(b"[")[2] for row in rows]))
        list(map(int, [row[2].split(None, 4)[3] for row in rows]))


def floor_seconds(data: bytes) -> float:
    """Best of 3: ``read_evidence`` of ``data``'s blocks (found before the clock starts)."""
    stats, tables = evidence_blocks(data)
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        read_evidence(stats, tables)
        best = min(best, time.process_time() - start)
    return best


def bare_record(data: bytes, header: int, kill: int, end: int) -> dict[str, Any] | None:
    """The record of the memcg report from ``data[header]`` to its kill line, or None."""
    head = BARE_HEADER.match(data, data.rfind(b"\n", 0, header) + 1)
    usage = BARE_USAGE.match(data, data.find(b";memory: usage", header, kill))
    summary = BARE_SUMMARY.match(data, data.find(b";oom-kill:", header, kill))
    line = data.rfind(b"\n", 0, kill) + 1
    killed = BARE_KILL.match(data, data.find(b";", line), end)
    if head is None or usage is None or summary is None or killed is None:
        return None
    swap = BARE_SWAP.match(data, data.find(b"swap: usage", usage.end(), kill) - 1)
    stats = STATS_BLOCK.match(data, data.find(b"Memory cgroup stats for ", header, kill))
    table = TASK_TABLE.match(data, data.find(b"]   uid  tgid ", header, kill))
    rows = TASK_ROW.findall(table.group(1)) if table else []
    top = sorted(rows, key=lambda row: int(row[3]), reverse=True)[:5]
    memcg = summary.group(3).decode()
    pod = BARE_POD.search(summary.group(3))
    return {
        "event": "oom_kill",
        "kernel_time_us": int(data[line:kill].split(b",", 3)[2]),
        "pid": int(killed.group(1)),
        "process_name": killed.group(2).decode(),
        "container_name": memcg,
        "victim_container_name": summary.group(2).decode(),
        "constraint": summary.group(1).decode(),
        "uid": int(killed.group(7)),
        "oom_score_adj": int(killed.group(9)),
        "total_vm_kb": int(killed.group(3)),
        "anon_rss_kb": int(killed.group(4)),
        "file_rss_kb": int(killed.group(5)),
        "shmem_rss_kb": int(killed.group(6)),
        "pgtables_kb": int(killed.group(8)),
        "trigger_process_name": head.group(3).decode(),
        "gfp_mask": head.group(4).decode(),
        "order": int(head.group(5)),
        "memory_usage_kb": int(usage.group(1)),
        "memory_limit_kb": int(usage.group(2)),
        "memory_failcnt": int(usage.group(3)),
        "pod_uid": b"-".join(pod.groups()).decode() if pod else None,
        "seq_first": int(head.group(1)),
        "task_count": len(rows),
        "top_tasks": [
            dict(zip(BARE_TASK_KEYS, (*map(int, row[:6]), row[6].decode()), strict=True))
            for row in top
        ],
        "memcg_stats": (
            {key.decode(): int(value) for key, value in STAT_PAIR.findall(stats.group(1))}
            if stats
            else None
        ),
        "swap_usage_kb": int(swap.group(1)) if swap else None,
        "swap_limit_kb": int(swap.group(2)) if swap else None,
    }


def bare_seconds(data: bytes) -> tuple[float, int]:
    """Best of 3: the bare reader over ``data``, written to /dev/null; and its record count."""
    best, count = float("inf"), 0
    with open(os.devnull, "wb") as out:
        for _ in range(3):
            start = time.process_time()
            count, pos = 0, 0
            while (header := data.find(b" invoked oom-killer: gfp_mask=", pos)) >= 0:
                kill = data.find(b"Killed process ", header)
                if kill < 0:
                    break
                pos = data.index(b"\n", kill) + 1
                record = bare_record(data, header, kill, pos)
                if record is not None:
                    out.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
                    count += 1
            best = min(best, time.process_time() - start)
    return best, count


def tree_seconds(tree: Path, path: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(path)],
        cwd="/",
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--tree", type=Path, action="append", default=[])
    args = parser.parse_args()
    data = args.file.read_bytes()
    reports = data.count(b"invoked oom-killer")
    floor = floor_seconds(data)
    print(f"{args.file}: {len(data) / 1e6:.1f} MB, {reports} reports")
    per_report = floor / reports * 1e6
    print(f"floor (evidence lines only): {floor * 1e3:.1f} ms, {per_report:.1f} us/report")
    bare, records = bare_seconds(data)
    print(
        f"bare reader (memcg records only, {records} of them): {bare * 1e3:.1f} ms, "
        f"{bare / records * 1e6:.1f} us/record"
    )
    for tree in [Path(__file__).resolve().parent.parent, *args.tree]:
        seconds = tree_seconds(tree, args.file)
        print(
            f"{tree}: {seconds * 1e3:.0f} ms, {seconds / reports * 1e6:.0f} us/report; "
            f"floor = {floor / seconds * 100:.0f} % of it"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
