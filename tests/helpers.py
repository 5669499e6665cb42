"""Shared test helpers: run the CLI as users do, or the whole pipeline in-process."""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterable

import orjson

from oom_input.assembler import Assembler
from oom_input.decoders import make_decoder
from oom_input.enrich import kubernetes_enricher
from oom_input.pipeline import Pipeline
from oom_input.sinks.jsonl import JsonLinesSink
from oom_input.types import DecodeOptions
from schema_util import validate_record


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


def run_pipeline(chunks: Iterable[bytes], input_format: str = "auto") -> list[dict]:
    """The whole offline pipeline in-process; every output line must be one valid record."""
    out = io.BytesIO()
    pipeline = Pipeline(
        decoder=make_decoder(input_format, DecodeOptions()),
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
