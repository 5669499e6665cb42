#!/usr/bin/env python3
"""Measure oom-input against ``grep -F -c`` on the same generated kernel logs, in one run.

Usage (from the repository root, with the package installed in .venv)::

    .venv/bin/python bench/run.py                  # 200 MB files, all formats and densities
    .venv/bin/python bench/run.py --size 20M       # a quick check
    .venv/bin/python bench/run.py --rss-check      # + peak RSS on 20 MB and 2 GB inputs
    .venv/bin/python bench/run.py --clean          # delete the generated files at the end

For each format x density it generates the corpus (``make_corpus.py``) into ``--dir`` unless it
is already there, warms the page cache, then runs, ``--repeats`` times in turn:

- ``oom-input --input-format <fmt> FILE > /dev/null``
- ``LC_ALL=C grep -F -c 'invoked oom-killer' FILE`` (the reference)
- ``cat FILE > /dev/null`` (the floor)

and keeps the best time of each. A first, untimed oom-input run writes its records to a file to
count them: the count must equal the number of kills the generator wrote (``MISMATCH`` otherwise).
Peak RSS is each command's own maximum resident set size as ``/usr/bin/time -f %M`` reports
it (the largest over the runs; without GNU time, an upper bound from ``os.wait4``). A format
oom-input does not accept (exit 2, "invalid choice") is marked unsupported.

``--rss-check`` also runs oom-input on a 20 MB file and on a 2 GB stream (the 200 MB file ten
times, piped through ``cat`` into stdin, so no 2 GB file is needed) of each kind, and
``oom-input --version`` is timed (median of ``--startup-runs``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_corpus import DENSITIES, FORMATS, make_corpus, parse_size  # noqa: E402

GREP_PATTERN = "invoked oom-killer"
# targets of issue 7 (MB/s; ratio to grep; MiB)
TEXT_FORMATS = ("kmsg", "dmesg", "journal", "syslog")
TARGET_SPARSE_TEXT = 700.0
TARGET_SPARSE_RATIO = 2.0
TARGET_DENSE_TEXT = 300.0
TARGET_JSON_SPARSE = 400.0
TARGET_RSS_MIB = 40.0
TARGET_STARTUP_MS = 150.0


@dataclass
class Run:
    seconds: float
    maxrss_kib: int
    status: int


@dataclass
class Case:
    fmt: str
    density: str
    size_mb: float
    expected: int
    records: int | None = None
    supported: bool = True
    oom_s: float | None = None
    grep_s: float | None = None
    cat_s: float | None = None
    rss_mib: float | None = None
    grep_count: int | None = None
    stderr: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.density} {self.fmt}"

    @property
    def mbps(self) -> float | None:
        return self.size_mb / self.oom_s if self.oom_s else None

    @property
    def ratio(self) -> float | None:
        return self.oom_s / self.grep_s if self.oom_s and self.grep_s else None

    @property
    def match(self) -> bool:
        return self.records == self.expected


# --- running one command ----------------------------------------------------------------------
def spawn(
    argv: list[str],
    *,
    stdin: str | int | None = None,
    stdout: str | int = os.devnull,
    stderr: str | int = os.devnull,
    env: dict[str, str] | None = None,
) -> int:
    """Start ``argv`` with the given files (paths, or fds to dup) as its standard streams."""
    actions: list[tuple] = []
    for fd, target, flags in (
        (0, stdin, os.O_RDONLY),
        (1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (2, stderr, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        if target is None:
            continue
        if isinstance(target, int):
            actions.append((os.POSIX_SPAWN_DUP2, target, fd))
        else:
            actions.append((os.POSIX_SPAWN_OPEN, fd, target, flags, 0o644))
    return os.posix_spawnp(
        argv[0], argv, env if env is not None else os.environ, file_actions=actions
    )


# GNU time reports the peak RSS of the command alone. Without it, the child's ru_maxrss from
# os.wait4 is used, which on Linux also counts the RSS of this Python process at the time of the
# spawn (exec keeps the pre-exec memory's high-water mark): an upper bound only.
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def measure(argv: list[str], **streams) -> Run:
    """Run ``argv`` to its end: wall time, its own peak RSS (KiB) and exit status."""
    rss_file = None
    if GNU_TIME is not None:
        fd, rss_file = tempfile.mkstemp(prefix="oom-bench-rss-")
        os.close(fd)
        argv = [GNU_TIME, "-f", "%M", "-o", rss_file, "--", *argv]
    started = time.perf_counter()
    pid = spawn(argv, **streams)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.perf_counter() - started
    maxrss = usage.ru_maxrss
    if rss_file is not None:
        # the command could not be run: keep wait4's figure
        with contextlib.suppress(ValueError, IndexError):
            maxrss = int(Path(rss_file).read_text().split()[-1])
        os.unlink(rss_file)
    return Run(elapsed, maxrss, os.waitstatus_to_exitcode(status))


def warm(path: Path) -> None:
    with open(path, "rb") as f:
        while f.read(8 << 20):
            pass


def count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            n += chunk.count(b"\n")
    return n


# --- the corpus -------------------------------------------------------------------------------
def corpus(directory: Path, size: str, density: str, fmt: str, seed: int) -> tuple[Path, int]:
    path = directory / f"corpus-{density}-{size}-s{seed}.{fmt}"
    sidecar = Path(str(path) + ".expected")
    if not (path.exists() and sidecar.exists()):
        started = time.perf_counter()
        make_corpus(path, parse_size(size), density, fmt, seed)
        log(
            f"generated {path.name} ({path.stat().st_size / 1e6:.0f} MB) in "
            f"{time.perf_counter() - started:.1f} s"
        )
    return path, int(sidecar.read_text().split()[0])


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the measurements -------------------------------------------------------------------------
def fmt_arg(fmt: str, json_name: str) -> str:
    return json_name if fmt == "journal-json" else fmt


def run_case(
    oom: str, path: Path, expected: int, fmt: str, density: str, args, scratch: Path
) -> Case:
    case = Case(fmt, density, path.stat().st_size / 1e6, expected)
    oom_argv = [oom, "--input-format", fmt_arg(fmt, args.json_format), str(path)]
    grep_argv = ["grep", "-F", "-c", GREP_PATTERN, str(path)]
    grep_env = {**os.environ, "LC_ALL": "C"}
    out, err = scratch / "records.jsonl", scratch / "stderr.txt"
    warm(path)
    first = measure(oom_argv, stdout=str(out), stderr=str(err))
    case.stderr = err.read_text(errors="replace").strip()
    if first.status == 2 and "invalid choice" in case.stderr:
        case.supported = False
        case.notes.append(f"--input-format {fmt_arg(fmt, args.json_format)} not accepted")
        return case
    if first.status != 0:
        case.notes.append(f"exit status {first.status}")
    case.records = count_lines(out)
    out.unlink()
    measure(grep_argv, stdout=str(out), env=grep_env)
    case.grep_count = int(out.read_text().strip() or 0)
    oom_times, grep_times, cat_times, rss = [], [], [], [first.maxrss_kib]
    for _ in range(args.repeats):
        run = measure(oom_argv, stderr=str(err))
        oom_times.append(run.seconds)
        rss.append(run.maxrss_kib)
        # not to /dev/null: GNU grep then stops at the first match
        g = measure(grep_argv, stdout=str(out), env=grep_env)
        grep_times.append(g.seconds)
        cat_times.append(measure(["cat", str(path)]).seconds)
    case.oom_s, case.grep_s, case.cat_s = min(oom_times), min(grep_times), min(cat_times)
    case.rss_mib = max(rss) / 1024
    return case


def rss_check(
    oom: str,
    directory: Path,
    fmt: str,
    density: str,
    big: Path,
    big_expected: int,
    args,
    scratch: Path,
) -> dict:
    small, small_expected = corpus(directory, "20M", density, fmt, args.seed)
    fmt_name = fmt_arg(fmt, args.json_format)
    out = scratch / "records.jsonl"
    warm(small)
    s = measure([oom, "--input-format", fmt_name, str(small)], stdout=str(out))
    small_records = count_lines(out)
    warm(big)
    read_end, write_end = os.pipe()
    cat_pid = spawn(["cat"] + [str(big)] * 10, stdout=write_end)
    os.close(write_end)
    try:
        b = measure([oom, "--input-format", fmt_name, "-"], stdin=read_end, stdout=str(out))
    finally:
        os.close(read_end)
        os.waitpid(cat_pid, 0)
    big_records = count_lines(out)
    out.unlink()
    return {
        "case": f"{density} {fmt}",
        "mib_20mb": s.maxrss_kib / 1024,
        "records_20mb": small_records,
        "expected_20mb": small_expected,
        "mib_2gb": b.maxrss_kib / 1024,
        "seconds_2gb": b.seconds,
        "mb_2gb": big.stat().st_size * 10 / 1e6,
        "records_2gb": big_records,
        "expected_2gb": big_expected * 10,
        "status": (s.status, b.status),
    }


def startup(oom: str, runs: int) -> float:
    times = [measure([oom, "--version"]).seconds for _ in range(runs)]
    return statistics.median(times) * 1000


# --- report -----------------------------------------------------------------------------------
def verdict(case: Case) -> str:
    if not case.supported:
        return "unsupported"
    if not case.match:
        return "MISMATCH"
    mbps, ratio = case.mbps or 0, case.ratio or 0
    checks = []
    if case.fmt in TEXT_FORMATS and case.density == "sparse":
        checks.append(mbps >= TARGET_SPARSE_TEXT and ratio <= TARGET_SPARSE_RATIO)
    elif case.fmt in TEXT_FORMATS:
        checks.append(mbps >= TARGET_DENSE_TEXT)
    elif case.density == "sparse":
        checks.append(mbps >= TARGET_JSON_SPARSE)
    checks.append((case.rss_mib or 0) <= TARGET_RSS_MIB)
    return "met" if all(checks) else "MISSED"


def table(cases: list[Case]) -> str:
    rows = [
        "| case | size MB | oom-input s | MB/s | grep -F -c s | ratio to grep | cat s | "
        "peak RSS MiB | records / expected | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for c in cases:
        if not c.supported:
            rows.append(
                f"| {c.name} | {c.size_mb:.0f} | - | - | - | - | - | - | "
                f"- / {c.expected} | unsupported |"
            )
            continue
        mark = "" if c.match else " **MISMATCH**"
        rows.append(
            f"| {c.name} | {c.size_mb:.0f} | {c.oom_s:.3f} | {c.mbps:.0f} | {c.grep_s:.3f} | "
            f"{c.ratio:.2f}x | {c.cat_s:.3f} | {c.rss_mib:.1f} | {c.records} / {c.expected}{mark} "
            f"| {verdict(c)} |"
        )
    return "\n".join(rows)


def rss_table(results: list[dict]) -> str:
    rows = [
        "| case | peak RSS 20 MB file | peak RSS 10x-file stdin stream | stream MB | "
        "stream s | stream MB/s | records 20 MB | records stream |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:

        def rec(n: int, e: int) -> str:
            return f"{n} / {e}" + ("" if n == e else " **MISMATCH**")

        rows.append(
            f"| {r['case']} | {r['mib_20mb']:.1f} MiB | {r['mib_2gb']:.1f} MiB | "
            f"{r['mb_2gb']:.0f} | {r['seconds_2gb']:.2f} | {r['mb_2gb'] / r['seconds_2gb']:.0f} | "
            f"{rec(r['records_20mb'], r['expected_20mb'])} | "
            f"{rec(r['records_2gb'], r['expected_2gb'])} |"
        )
    return "\n".join(rows)


def find_oom_input() -> str:
    beside = Path(sys.executable).parent / "oom-input"
    if beside.exists():
        return str(beside)
    found = shutil.which("oom-input")
    if found is None:
        sys.exit("oom-input not found: install the package (pip install -e .) or give --oom-input")
    return found


def main(argv: list[str] | None = None) -> int:
    # An installed package has its bytecode compiled at install time; with
    # PYTHONDONTWRITEBYTECODE set (as on these machines) an editable install would compile every
    # module on every run (~50 ms) and the figures would measure that instead.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="200M", help="corpus size (default 200M)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per command (best)")
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--densities", nargs="+", choices=tuple(DENSITIES), default=list(DENSITIES))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "oom-input-bench",
        help="where the corpora are made and kept (default %(default)s)",
    )
    parser.add_argument(
        "--oom-input",
        help="the oom-input executable (default: the one beside this Python, else on PATH)",
    )
    parser.add_argument(
        "--json-format",
        default="journal-json",
        help="--input-format name for journalctl -o json (default %(default)s)",
    )
    parser.add_argument(
        "--rss-check",
        action="store_true",
        help="also peak RSS on a 20 MB file and a 2 GB stdin stream per case",
    )
    parser.add_argument("--startup-runs", type=int, default=20)
    parser.add_argument("--json-out", type=Path, help="also write the results as JSON here")
    parser.add_argument("--clean", action="store_true", help="delete the corpora at the end")
    args = parser.parse_args(argv)

    oom = args.oom_input or find_oom_input()
    args.dir.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []
    rss_results: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="oom-bench-") as tmp:
        scratch = Path(tmp)
        for density in args.densities:
            for fmt in args.formats:
                path, expected = corpus(args.dir, args.size, density, fmt, args.seed)
                log(f"measuring {density} {fmt} ...")
                case = run_case(oom, path, expected, fmt, density, args, scratch)
                cases.append(case)
                if case.supported and not case.match:
                    log(
                        f"MISMATCH {case.name}: {case.records} records, {expected} expected; "
                        f"reproduce: {oom} --input-format {fmt_arg(fmt, args.json_format)} {path} "
                        "| wc -l"
                    )
                if args.rss_check and case.supported:
                    log(f"peak RSS check {density} {fmt} (20 MB file, 2 GB stream) ...")
                    rss_results.append(
                        rss_check(oom, args.dir, fmt, density, path, expected, args, scratch)
                    )
        start_ms = startup(oom, args.startup_runs)

    print(
        f"oom-input benchmark: {platform.node()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}, "
        f"best of {args.repeats}, corpus --size {args.size} --seed {args.seed}\n"
    )
    print(table(cases))
    for c in cases:
        for note in c.notes:
            print(f"- {c.name}: {note}")
    if rss_results:
        print()
        print(rss_table(rss_results))
    start_verdict = "met" if start_ms <= TARGET_STARTUP_MS else "MISSED"
    print(
        f"\nstart-up `oom-input --version`: median {start_ms:.0f} ms over {args.startup_runs} "
        f"runs (target <= {TARGET_STARTUP_MS:.0f} ms: {start_verdict})"
    )
    mismatches = [c for c in cases if c.supported and not c.match]
    mismatches += [
        r
        for r in rss_results
        if r["records_20mb"] != r["expected_20mb"] or r["records_2gb"] != r["expected_2gb"]
    ]
    if mismatches:
        print(
            f"\n*** MISMATCH: record count differs from the kills generated in "
            f"{len(mismatches)} case(s) - a correctness bug ***"
        )
    if args.json_out:
        args.json_out.write_text(
            json.dumps(
                {
                    "cases": [
                        {**asdict(c), "mbps": c.mbps, "ratio": c.ratio, "verdict": verdict(c)}
                        for c in cases
                    ],
                    "rss": rss_results,
                    "startup_ms": start_ms,
                },
                indent=1,
            )
        )
    if args.clean:
        for p in args.dir.glob("corpus-*"):
            p.unlink()
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
