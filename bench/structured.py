#!/usr/bin/env python3
"""Structured inputs against their library floor, in one run (targets of issue 12).

Usage (from the repository root, with the package installed in .venv)::

    .venv/bin/python bench/structured.py                # 100 MB of journal JSON (~170,000 lines)
    .venv/bin/python bench/structured.py --size 20M     # a quick check

From one generated ``journalctl -o json`` corpus (``make_corpus.py``, sparse: one OOM report per
10,000 lines) it writes the same records as msgpack maps back to back (what Fluentd
``exec_filter`` sends with ``<format> @type msgpack``), then runs, ``--repeats`` times in turn,
each a fresh process reading the file with output to /dev/null, and keeps the best time of each:

- msgpack: ``oom-input --input-format msgpack FILE`` against a bare ``msgpack.Unpacker`` loop
  over the same file (``for _ in Unpacker(file): pass``); target <= 2x;
- passthrough: ``oom-input --passthrough --input-format json FILE`` against an
  ``orjson.loads`` + ``orjson.dumps`` loop over the same lines, written to /dev/null; target
  <= 3x;
- json-pretty: ``oom-input FILE`` (detected) of the same records as ``journalctl -o
  json-pretty`` prints them (an object over many lines; every object is decoded, none is left
  out by a byte prefilter) against an ``orjson.loads`` loop over the objects framed by their
  closing lines; target <= 3x.

Both floors are Python processes too, so interpreter start-up is on both sides. The record
counts of oom-input's runs must equal the kills the generator wrote (``MISMATCH`` otherwise:
exit 1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import msgpack
import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_corpus import make_corpus, parse_size  # noqa: E402

TARGET_MSGPACK = 2.0
TARGET_PASSTHROUGH = 3.0
TARGET_JSON_PRETTY = 3.0

UNPACKER_LOOP = """
import sys, msgpack
with open(sys.argv[1], "rb") as f:
    for _ in msgpack.Unpacker(f, raw=False):
        pass
"""
PRETTY_LOOP = """
import sys, orjson
with open(sys.argv[1], "rb") as f:
    for body in f.read().split(b"\\n}\\n"):
        if body.strip():
            orjson.loads(body + b"}")
"""
ORJSON_LOOP = """
import sys, orjson
with open(sys.argv[1], "rb") as f, open("/dev/null", "wb") as out:
    for line in f:
        out.write(orjson.dumps(orjson.loads(line), option=orjson.OPT_APPEND_NEWLINE))
"""


def best_time(argv: list[str], repeats: int) -> float:
    """The best wall time of ``argv`` over ``repeats`` runs, output to /dev/null."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def count_records(argv: list[str]) -> int:
    """How many OOM records ``argv`` writes (JSON lines; with --passthrough, among the input)."""
    out = subprocess.run(argv, capture_output=True, check=True).stdout
    return sum(1 for line in out.splitlines() if line.startswith(b'{"event":"oom_kill"'))


def to_msgpack(json_path: Path, msgpack_path: Path) -> None:
    """Each JSON line as a msgpack map, back to back."""
    with open(json_path, "rb") as src, open(msgpack_path, "wb") as out:
        packer = msgpack.Packer()
        for line in src:
            out.write(packer.pack(orjson.loads(line)))


def to_json_pretty(json_path: Path, pretty_path: Path) -> None:
    """Each JSON line as systemd's printer writes it for ``-o json-pretty``: ``{``, a field per
    line after a tab as ``"KEY" : value`` (a byte array an element per line), ``}``."""
    with open(json_path, "rb") as src, open(pretty_path, "wb") as out:
        for line in src:
            fields = []
            for key, value in orjson.loads(line).items():
                if isinstance(value, list):
                    rendered = b"[\n" + b",\n".join(b"\t\t%d" % v for v in value) + b"\n\t]"
                else:
                    rendered = orjson.dumps(value)
                fields.append(b"\t" + orjson.dumps(key) + b" : " + rendered)
            out.write(b"{\n" + b",\n".join(fields) + b"\n}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100M", help="corpus size (default 100M)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/oom-input-bench"))
    parser.add_argument("--oom-input", default=str(Path(sys.executable).with_name("oom-input")))
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    json_path = args.dir / f"structured-{args.size}.journal-json"
    msgpack_path = json_path.with_suffix(".msgpack")
    pretty_path = json_path.with_suffix(".json-pretty")
    if not json_path.exists():
        make_corpus(json_path, parse_size(args.size), "sparse", "journal-json")
    if not msgpack_path.exists():
        to_msgpack(json_path, msgpack_path)
    if not pretty_path.exists():
        to_json_pretty(json_path, pretty_path)
    kills = int(Path(str(json_path) + ".expected").read_text())
    lines = json_path.read_bytes().count(b"\n")
    python = sys.executable
    cases = [
        (
            "msgpack",
            [args.oom_input, "--input-format", "msgpack", str(msgpack_path)],
            [python, "-c", UNPACKER_LOOP, str(msgpack_path)],
            TARGET_MSGPACK,
        ),
        (
            "passthrough json",
            [args.oom_input, "--passthrough", "--input-format", "json", str(json_path)],
            [python, "-c", ORJSON_LOOP, str(json_path)],
            TARGET_PASSTHROUGH,
        ),
        (
            "json-pretty",
            [args.oom_input, str(pretty_path)],
            [python, "-c", PRETTY_LOOP, str(pretty_path)],
            TARGET_JSON_PRETTY,
        ),
    ]
    print(f"{lines} records, {kills} OOM kills; best of {args.repeats}")
    print("| case | oom-input s | floor s | ratio | target | records |")
    print("|---|---:|---:|---:|---:|---|")
    status = 0
    for name, ours, floor, target in cases:
        records = count_records(ours)
        ours_s = best_time(ours, args.repeats)
        floor_s = best_time(floor, args.repeats)
        ratio = ours_s / floor_s
        verdict = "met" if ratio <= target else "MISSED"
        if records != kills:
            verdict, status = "MISMATCH", 1
        print(
            f"| {name} | {ours_s:.3f} | {floor_s:.3f} | {ratio:.2f}x | <= {target:g}x "
            f"({verdict}) | {records} / {kills} |"
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
