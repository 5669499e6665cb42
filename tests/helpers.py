"""Shared test helpers: run the CLI as users do, or the whole pipeline in-process."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import orjson

from oom_input.assembler import Assembler
from oom_input.decoders import detect_stream, make_decoder, make_stream_decoder
from oom_input.enrich import kubernetes_enricher
from oom_input.pipeline import Pipeline
from oom_input.scanner import LineScanner
from oom_input.sinks.jsonl import JsonLinesSink
from oom_input.types import DecodeOptions, OomRecord, StreamDecoder
from schema_util import validate_record

DATA = Path(__file__).parent / "data"
NOT_KERNEL_LOGS = {"pods"}  # tests/data/pods: kubectl output for the pod metadata tests
# every folder of tests/data that holds kernel logs: what a fixture glob must reach
KERNEL_LOG_FOLDERS = frozenset(
    d.name for d in DATA.iterdir() if d.is_dir() and d.name not in NOT_KERNEL_LOGS
)
# every raw /dev/kmsg capture in tests/data (a new one joins the property tests by existing)
KMSG_CAPTURES = [p.read_bytes() for p in sorted(DATA.glob("*/*.kmsg"))]


def run_cli(
    *args: str, stdin: bytes = b"", timeout: float = 120
) -> subprocess.CompletedProcess[bytes]:
    """``oom-input ARGS`` as a subprocess (``python -m oom_input``), stdin given, output kept."""
    return subprocess.run(
        [sys.executable, "-m", "oom_input", *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def run_pipeline(
    chunks: Iterable[bytes], input_format: str = "auto", *, streams: bool = False
) -> list[dict]:
    """The whole offline pipeline in-process (with ``streams``, a stream format detected from
    the first bytes, as the CLI does); every output line must be one valid record."""
    out = io.BytesIO()
    options = DecodeOptions()

    def choose_stream(head: bytes) -> StreamDecoder | None:
        name = detect_stream(head)
        return None if name is None else make_stream_decoder(name, options)

    pipeline = Pipeline(
        decoder=make_decoder(input_format, options),
        choose_stream=choose_stream if streams and input_format == "auto" else None,
        sink=JsonLinesSink(out),
        enrichers=(kubernetes_enricher,),
        assembler=Assembler(),
    )
    pipeline.run(chunks)
    pipeline.finish()
    records = [orjson.loads(line) for line in out.getvalue().splitlines()]
    for record in records:
        validate_record(record)
    return records


def scan_kmsg(data: bytes, cuts: list[int] | None = None) -> list[dict]:
    """The records the reader makes of raw /dev/kmsg bytes: fed in pieces cut at ``cuts``, or
    with ``cuts`` None line by line through ``feed_line`` (the live path)."""
    return scan_as("kmsg", data, cuts)


def scan_as(name: str, data: bytes, cuts: list[int] | None = None) -> list[dict]:
    """``scan_kmsg`` for the lines of format ``name``."""
    out: list[OomRecord] = []
    scanner = LineScanner(make_decoder(name, DecodeOptions()), Assembler(), out.append)
    if cuts is None:
        for raw in data.split(b"\n"):
            if raw:
                scanner.feed_line(raw)
    else:
        prev = 0
        for cut in sorted(set(cuts)):
            scanner.feed(data[prev:cut])
            prev = cut
        scanner.feed(data[prev:])
    scanner.finish()
    return [r.as_dict() for r in out]
