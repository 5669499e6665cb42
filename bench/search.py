"""What searching every byte of a file for each marker costs: ``bytes.find`` against the
scanner's ``MarkerSearch`` (by the marker's rarest byte where that byte is rare in the input),
for each marker a reader searches the whole input for (the opening markers and the format's
extra markers), and the cost model ``MarkerSearch`` chooses by, measured on this machine.

    .venv/bin/python bench/search.py FILE FORMAT [--mib N]

The file is read in the scanner's 1 MiB pieces (the first N MiB); each figure is the best of
three passes over them (CPU time).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from oom_input.assembler import OPEN_MARKERS
from oom_input.decoders import make_decoder
from oom_input.scanner import FIND_COST, HIT_COST, PROBE_COST, MarkerSearch
from oom_input.sources import CHUNK_BYTES
from oom_input.types import DecodeOptions


def best(run: Callable[[], object]) -> float:
    """Best of 3 CPU seconds."""
    times = []
    for _ in range(3):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times)


def find_all(chunks: list[bytes], marker: bytes) -> int:
    found = 0
    for chunk in chunks:
        at = chunk.find(marker)
        while at >= 0:
            found += 1
            at = chunk.find(marker, at + 1)
    return found


def search_all(chunks: list[bytes], search: MarkerSearch) -> int:
    found = 0
    for chunk in chunks:
        at = search.find(chunk, 0, len(chunk))
        while at >= 0:
            found += 1
            at = search.find(chunk, at + 1, len(chunk))
    return found


def probe_all(chunks: list[bytes], byte: bytes, marker: bytes) -> int:
    """Every occurrence of ``byte`` compared with ``marker`` (what MarkerSearch does per hit)."""
    hits = 0
    for chunk in chunks:
        at = chunk.find(byte)
        while at >= 0:
            hits += 1
            chunk.startswith(marker, at)
            at = chunk.find(byte, at + 1)
    return hits


def cost_model(chunks: list[bytes]) -> None:
    """FIND_COST, PROBE_COST and HIT_COST as measured on ``chunks`` (ns)."""
    size = sum(map(len, chunks))
    absent = next(bytes([b]) for b in range(256) if all(bytes([b]) not in c for c in chunks))
    needles = [b"invoked oom-killer: gfp_mask=", b"Killed process ", b"oom-kill:", b"-- Boot "]
    find = [best(lambda n=n: find_all(chunks, n)) * 1e9 / size * len(n) for n in needles]
    memchr = best(lambda: probe_all(chunks, absent, b"x")) * 1e9 / size
    common = max(b" e", key=lambda b: sum(c.count(bytes([b])) for c in chunks[:4]))
    hits = probe_all(chunks, bytes([common]), b"Killed process ")
    per_hit = (best(lambda: probe_all(chunks, bytes([common]), b"Killed process ")) * 1e9) / hits
    print(
        f"cost model, measured (ns): find x len(marker) {min(find):.1f}-{max(find):.1f} a byte "
        f"(FIND_COST {FIND_COST}), memchr {memchr:.3f} a byte (PROBE_COST {PROBE_COST}), "
        f"{per_hit:.0f} a hit (HIT_COST {HIT_COST})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("format")
    parser.add_argument("--mib", type=int, default=100, help="MiB of the file read (100)")
    args = parser.parse_args()
    with open(args.file, "rb") as f:
        data = f.read(args.mib << 20)
    chunks = [data[i : i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)]
    markers = OPEN_MARKERS + tuple(make_decoder(args.format, DecodeOptions()).extra_markers)
    print(f"{args.file} ({len(data) / 1e6:.0f} MB), {args.format}")
    print(f"{'marker':<32} {'find ms':>8} {'search ms':>9} {'found':>6}  byte")
    total = [0.0, 0.0]
    for marker in markers:
        found = find_all(chunks, marker)
        plain = best(lambda m=marker: find_all(chunks, m))
        searches = [MarkerSearch(marker) for _ in range(3)]  # a fresh one per pass
        fast = best(lambda s=searches: search_all(chunks, s.pop()))
        used = MarkerSearch(marker)
        assert search_all(chunks, used) == found
        byte = used.probe.decode() or "-"
        total[0] += plain
        total[1] += fast
        print(f"{marker.decode():<32} {plain * 1e3:8.1f} {fast * 1e3:9.1f} {found:6d}  {byte}")
    print(f"{'all':<32} {total[0] * 1e3:8.1f} {total[1] * 1e3:9.1f}")
    cost_model(chunks)


if __name__ == "__main__":
    main()
