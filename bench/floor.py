"""The least CPU any Python reader spends on the report's evidence in a kmsg file, against a whole
oom-input run on the same file, in one run.

The floor reads each memcg statistics block and each task table with one C regex pass
(``findall``), and turns the values into the dict and ints a record holds; nothing else (no
search for the blocks, no top-N, no output). Issue 14 allowed dense logs +10 % over the code
before the evidence: when the floor alone is more than that, no reader design meets it.

    .venv/bin/python bench/floor.py FILE.kmsg [--tree PATH ...]

``--tree``: a checkout whose ``oom_input`` is timed too (in-process CPU, best of 3, like the
floor); the checkout this script is in is always timed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

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


def floor_seconds(data: bytes) -> float:
    """Best of 3: the stats blocks and task tables of ``data`` read as a record holds them."""
    stats = [m.group(1) for m in STATS_BLOCK.finditer(data)]
    tables = [m.group(1) for m in TASK_TABLE.finditer(data)]
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for block in stats:
            keys, values = zip(*STAT_PAIR.findall(block), strict=True)
            dict(zip(map(bytes.decode, keys), map(int, values), strict=True))
        for table in tables:
            columns = list(zip(*TASK_ROW.findall(table), strict=True))
            if columns:
                list(map(int, columns[0])), list(map(int, columns[3]))
        best = min(best, time.process_time() - start)
    return best


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
    for tree in [Path(__file__).resolve().parent.parent, *args.tree]:
        seconds = tree_seconds(tree, args.file)
        print(
            f"{tree}: {seconds * 1e3:.0f} ms, {seconds / reports * 1e6:.0f} us/report; "
            f"floor = {floor / seconds * 100:.0f} % of it"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
