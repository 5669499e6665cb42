"""Hostile input costs time linear in its size, for every decoder (issue 16): nested msgpack
headers, huge declared lengths, deep nesting, JSON nested past every limit, journal export
fields and json-pretty objects that never end. Each shape is read at a size where it takes some milliseconds and at 8
times that size: the time per byte must stay flat (a quadratic decoder is 8 times slower per
byte; the factor allowed is 3, generous for a shared machine). No absolute times are asserted."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable

import pytest

from oom_input.decoders import make_decoder, make_stream_decoder
from oom_input.pipeline import Pipeline
from oom_input.types import DecodeOptions, OomRecord

CHUNK = 64 * 1024
GROWTH = 8
ALLOWED_FACTOR = 3.0
TIMER_SLACK_S = 0.002  # scheduling noise on runs of a few milliseconds
MIN_SMALL_RUN_S = 0.02
MAX_SMALL_SIZE = 1 << 20


class NullSink:
    """Records go nowhere: only the decoders' time is measured."""

    def write(self, record: OomRecord) -> None:
        pass

    def write_object(self, obj: object) -> None:
        pass

    def close(self) -> None:
        pass


def repeated(piece: bytes, size: int) -> bytes:
    return (piece * (size // len(piece) + 1))[:size]


def read_stream(name: str) -> Callable[[bytes], None]:
    def read(data: bytes) -> None:
        decoder = make_stream_decoder(name, DecodeOptions())
        for start in range(0, len(data), CHUNK):
            decoder.feed(data[start : start + CHUNK])
        decoder.finish()

    return read


def read_lines(data: bytes) -> None:
    """Through the whole offline pipeline (auto-detected line formats)."""
    pipeline = Pipeline(decoder=make_decoder("auto", DecodeOptions()), sink=NullSink())
    pipeline.run(data[start : start + CHUNK] for start in range(0, len(data), CHUNK))
    pipeline.finish()


DMESG_STATS_HEAD = (
    b"[    1.000000] x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0\n"
    b"[    1.000001] memory: usage 1kB, limit 1kB, failcnt 1\n"
    b"[    1.000002] Memory cgroup stats for /x:\n"
)
# name -> (reader, the input of a given size)
HOSTILE: dict[str, tuple[Callable[[bytes], None], Callable[[int], bytes]]] = {
    # issue 16's case: array16 headers declaring 65535 items, nested
    "msgpack array16 headers": (read_stream("msgpack"), lambda n: repeated(b"\xdc\xff\xff", n)),
    "msgpack fixmap chain": (read_stream("msgpack"), lambda n: repeated(b"\x81\xa1k", n)),
    "msgpack map16 headers": (read_stream("msgpack"), lambda n: repeated(b"\xde\x0f\xff", n)),
    "msgpack nested fixarrays": (read_stream("msgpack"), lambda n: repeated(b"\x94", n)),
    "msgpack 4 GB strings": (
        read_stream("msgpack"),
        lambda n: repeated(b"\x81\xa7message\xdb\xff\xff\xff\xff", n),
    ),
    "msgpack maps nested as values": (
        read_stream("msgpack"),
        lambda n: repeated(b"\x82\xa1k\xc0\xa1v", n),
    ),
    "journal export huge binary lengths": (
        read_stream("journal-export"),
        lambda n: repeated(b"MESSAGE\n\xff\xff\xff\xff\xff\xff\xff\x7f", n),
    ),
    "journal export endless entry": (
        read_stream("journal-export"),
        lambda n: repeated(b"A=1\n", n),
    ),
    "journal export endless line": (
        read_stream("journal-export"),
        lambda n: b"MESSAGE=" + b"x" * n,
    ),
    "json-pretty endless object": (
        read_stream("json-pretty"),
        lambda n: b"{\n" + repeated(b'\t"A" : "1",\n', n),
    ),
    "json-pretty endless line": (
        read_stream("json-pretty"),
        lambda n: b'{\n\t"MESSAGE" : "' + b"x" * n,
    ),
    "json-pretty objects cut by the next": (
        read_stream("json-pretty"),
        lambda n: repeated(b'{\n\t"MESSAGE" : "a",\n', n),
    ),
    "json-pretty stray lines": (read_stream("json-pretty"), lambda n: repeated(b"}\n", n)),
    "json nested arrays, one line": (read_lines, lambda n: b"[" * n),
    "json nested arrays, many lines": (read_lines, lambda n: repeated(b"[" * 2000 + b"\n", n)),
    "json nested objects": (read_lines, lambda n: repeated(b'{"a":', n)),
    "text markers without newline": (read_lines, lambda n: repeated(b"invoked oom-killer: ", n)),
    # lines of several kernel lines, more than are read of one (MAX_LINES_READ)
    "json arrays of many events": (
        read_lines,
        lambda n: repeated(
            b'[{"log":"Killed process 1 (x)"}' + b',{"log":"a 1"}' * 9000 + b"]\n", n
        ),
    ),
    "json records merged from many lines": (
        read_lines,
        lambda n: repeated(b'{"log":"Killed process 1 (x)' + b"\\na 1" * 20000 + b'"}\n', n),
    ),
    "text lone kill lines": (read_lines, lambda n: repeated(b"Killed process 1 (x)\n", n)),
    # continuation lines are read with the line they continue (found once, then remembered)
    "dmesg continuation lines in a stats block": (
        read_lines,
        lambda n: DMESG_STATS_HEAD + repeated(b"                anon 1\n", n),
    ),
    "dmesg continuation kill lines": (
        read_lines,
        lambda n: b"[    1.000000] x\n" + repeated(b"   Killed process 1 (x)\n", n),
    ),
}


def best_time(read: Callable[[bytes], None], data: bytes, runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        read(data)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("shape", sorted(HOSTILE))
def test_time_per_byte_stays_flat(shape: str) -> None:
    """Reading 8 times the bytes of a hostile shape takes at most ~8 times as long."""
    read, make = HOSTILE[shape]
    size = 16 * 1024
    small = best_time(read, make(size))
    while small < MIN_SMALL_RUN_S and size < MAX_SMALL_SIZE:
        size *= 2
        small = best_time(read, make(size))
    large = best_time(read, make(size * GROWTH))
    assert large <= ALLOWED_FACTOR * GROWTH * small + TIMER_SLACK_S, (size, small, large)


MEMORY_INPUT = 2 << 20
MEMORY_BOUND = 6 << 20  # the decoders keep at most a few MiB (msgpack: MAX_ITEM) whatever comes
# shapes that cost the decoders time but no memory (the assembler's memory over many reports is
# test_robustness.py's)
NOT_FOR_MEMORY = ("text lone kill lines",)


@pytest.mark.parametrize("shape", sorted(set(HOSTILE) - set(NOT_FOR_MEMORY)))
def test_memory_stays_bounded(shape: str) -> None:
    """2 MiB of a hostile shape are read with a few MiB of memory at most (the input aside,
    whatever the size: a decoder that kept it would need more)."""
    read, make = HOSTILE[shape]
    data = make(MEMORY_INPUT)
    tracemalloc.start()
    try:
        read(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, peak
