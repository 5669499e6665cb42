"""Fan-in benchmark: one stream holding many hosts' kernel logs, interleaved line by line as an
aggregator (Fluentd, Vector, a Fluent Bit forwarder) receives them.

The same kernel lines (a ``make_corpus.py`` kmsg corpus: LINES lines, one report per DENSITY
lines) are split into N hosts' streams of consecutive lines, each line a Fluent Bit ``kmsg``
record with a ``host`` field, and the streams are interleaved round robin. Every N gives the
same lines and the same kills; a stream-true reader gives every host the records it gives alone
(``complete`` included) in about the time of one host. Rendered as JSON lines and as msgpack
maps back to back (Fluentd ``exec_filter``); one run, best of ``--repeats``.

    python bench/fanin.py                      # 600,000 lines, 300 kills, N = 1, 20, 1000, 10000
    python bench/fanin.py --hosts 1 10000 --lines 200000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import orjson

HERE = Path(__file__).resolve().parent


def corpus(lines: int, per_report: int, workdir: Path) -> list[bytes]:
    """kmsg lines from make_corpus (deterministic), dictionary lines dropped."""
    path = workdir / "fanin.kmsg"
    size = lines * 120
    subprocess.run(
        [
            sys.executable,
            str(HERE / "make_corpus.py"),
            "--size",
            str(size),
            "--density",
            "dense",
            "--format",
            "kmsg",
            "-o",
            str(path),
        ],
        check=True,
        capture_output=True,
    )
    records = [line for line in path.read_bytes().split(b"\n") if line and line[:1] != b" "]
    return records[:lines]


def fluentbit_record(raw: bytes, host: str) -> dict[str, object]:
    prefix, _, msg = raw.partition(b";")
    pri, seq, usec = (int(x) for x in prefix.split(b",")[:3])
    return {
        "priority": pri & 7,
        "sequence": seq,
        "sec": usec // 10**6,
        "usec": usec % 10**6,
        "msg": msg.decode("utf-8", "replace"),
        "host": host,
    }


def pieces(lines: list[bytes], hosts: int) -> list[list[bytes]]:
    """The corpus cut into pieces that a host's stream can be made of: every report (header to
    kill line, with what the kernel printed between) whole, the runs of lines between reports
    halved until there are at least ``hosts`` pieces."""
    out: list[tuple[list[bytes], bool]] = []  # (lines, is a report)
    start = 0
    for i, line in enumerate(lines):
        if b"Killed process " in line:
            head = next(
                (j for j in range(i, start - 1, -1) if b"invoked oom-killer:" in lines[j]), i
            )
            out += [(lines[start:head], False), (lines[head : i + 1], True)]
            start = i + 1
    out.append((lines[start:], False))
    out = [p for p in out if p[0]]
    while len(out) < hosts:
        # halve every run between reports once, in order (a run of one line stays whole)
        halved: list[tuple[list[bytes], bool]] = []
        for piece, report in out:
            if report or len(piece) < 2 or len(halved) + len(out) >= 2 * hosts:
                halved.append((piece, report))
            else:
                half = len(piece) // 2
                halved += [(piece[:half], False), (piece[half:], False)]
        if len(halved) == len(out):
            break
        out = halved
    return [piece for piece, _ in out]


def interleaved(lines: list[bytes], hosts: int) -> list[dict[str, object]]:
    """Deal the pieces round robin to ``hosts`` hosts (each host's stream keeps its pieces in
    order), then interleave the hosts' streams one line of each in turn."""
    streams: list[list[bytes]] = [[] for _ in range(hosts)]
    for n, piece in enumerate(pieces(lines, hosts)):
        streams[n % hosts] += piece
    out: list[dict[str, object]] = []
    for i in range(max(len(s) for s in streams)):
        for h, stream in enumerate(streams):
            if i < len(stream):
                out.append(fluentbit_record(stream[i], f"host-{h}"))
    return out


def run(path: Path, fmt: str, repeats: int) -> tuple[float, list[dict[str, object]]]:
    best = float("inf")
    out = b""
    for _ in range(repeats):
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "oom_input", "--input-format", fmt, str(path)],
            check=True,
            capture_output=True,
        ).stdout
        best = min(best, time.perf_counter() - start)
    return best, [orjson.loads(line) for line in out.splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=600_000)
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 20, 1000, 10_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lines = corpus(args.lines, 300, work)
        kills = sum(1 for line in lines if b"Killed process " in line)
        print(f"{len(lines)} lines, {kills} kill lines; best of {args.repeats}", flush=True)
        print("| hosts | format | MB | s | time vs 1 host | records | complete |")
        print("|---:|---|---:|---:|---:|---:|---:|")
        base: dict[str, float] = {}
        for hosts in args.hosts:
            items = interleaved(lines, hosts)
            files = {
                "json": (work / "in.json", b"".join(orjson.dumps(i) + b"\n" for i in items)),
                "msgpack": (work / "in.msgpack", b"".join(msgpack.packb(i) for i in items)),
            }
            for fmt, (path, data) in files.items():
                path.write_bytes(data)
                seconds, records = run(path, fmt, args.repeats)
                base.setdefault(fmt, seconds)
                complete = sum(1 for r in records if r["complete"])
                print(
                    f"| {hosts} | {fmt} | {len(data) / 1e6:.0f} | {seconds:.2f} | "
                    f"{seconds / base[fmt]:.2f}x | {len(records)} | {complete} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
