"""Bounded-time fuzz run of the whole offline pipeline (decoders, assembler, enrichment, JSON).

    .venv/bin/python bench/fuzz.py --inputs 1000000 --seconds 600

Each input is a mutation of kernel output (the captures in tests/data/real/, the legacy dmesg
reports and the real journalctl output with continuation lines in tests/data/): a random
window of lines, with byte flips, insertions of hostile tokens, truncations and splices, fed in
random chunk splits through a random input format. It fails on the first exception or invalid
output line and prints the seed that reproduces it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import orjson

from oom_input.assembler import Assembler
from oom_input.decoders import DECODER_NAMES, make_decoder
from oom_input.enrich import kubernetes_enricher
from oom_input.pipeline import Pipeline
from oom_input.scanner import PROBE_MIN_BYTES
from oom_input.types import DecodeOptions, OomRecord

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SAMPLES = ("real/*.kmsg", "legacy/*.dmesg", "journalctl/*.journal-*")
TOKENS = [
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\n",
    b"\r",
    b"\\x0a",
    b"\\x",
    b";",
    b",",
    b"(",
    b")",
    b" total-vm:",
    b",pid=1,uid=0",
    b"Killed process ",
    b"invoked oom-killer:",
    b" invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0",  # a whole header
    b"\n-- Boot 0123456789abcdef0123456789abcdef --\n",  # journalctl's boot separators
    b"\n-- Reboot --\n",
    # long ranges, searched by a marker's rare byte (MarkerSearch): lines without the byte, then
    # a run that makes it frequent
    b"\n" + b"6,9,9,-;eth0: link is up\n" * (PROBE_MIN_BYTES // 20),
    b"K" * PROBE_MIN_BYTES,
    b"oom-kill:",
    b"c;",
    b"+;",
    b"=",
    b"\x1e",
    b"{",
    b"[",
    b"Tasks in / are going to be killed due to memory.oom.group set",
    b"\n    ",  # a continuation line (dmesg, journalctl)
    b"\n\t",
]


class CountingSink:
    def __init__(self) -> None:
        self.records = 0

    def write(self, record: OomRecord) -> None:
        orjson.dumps(record)  # raises on lone surrogates or bad types
        self.records += 1

    def write_object(self, obj: object) -> None:  # (--passthrough only: not used here)
        orjson.dumps(obj)

    def close(self) -> None:
        pass


def mutate(rng: random.Random, lines: list[bytes]) -> bytes:
    start = rng.randrange(len(lines))
    window = lines[start : start + rng.randint(1, 40)]
    data = bytearray(b"\n".join(window))
    for _ in range(rng.randint(0, 6)):
        if not data:
            break
        op = rng.random()
        at = rng.randrange(len(data))
        if op < 0.3:
            data[at] = rng.randrange(256)
        elif op < 0.7:
            data[at:at] = rng.choice(TOKENS)
        elif op < 0.85:
            del data[at : at + rng.randint(1, 50)]
        else:
            other = rng.choice(lines)
            data[at:at] = other[: rng.randint(0, len(other))]
    return bytes(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    paths = sorted(p for pattern in SAMPLES for p in DATA.glob(pattern))
    lines = [line for p in paths for line in p.read_bytes().split(b"\n")]
    formats = ("auto", *DECODER_NAMES)
    started = time.monotonic()
    done = records = 0
    for n in range(args.inputs):
        seed = args.seed * 1_000_003 + n
        rng = random.Random(seed)
        data = mutate(rng, lines)
        cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randint(0, 3)))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        sink = CountingSink()
        pipeline = Pipeline(
            decoder=make_decoder(rng.choice(formats), DecodeOptions()),
            sink=sink,
            enrichers=(kubernetes_enricher,),
            assembler=Assembler(),
        )
        try:
            pipeline.run(chunks)
            pipeline.finish()
        except Exception:
            print(f"FAILED on input {n} (seed {seed}): {data!r}", file=sys.stderr)
            raise
        done += 1
        records += sink.records
        if time.monotonic() - started > args.seconds:
            break
    elapsed = time.monotonic() - started
    print(f"{done} inputs in {elapsed:.0f} s, {records} records, no exception, all JSON valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
