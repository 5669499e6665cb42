"""Golden files: every fixture with a ``<name>.expected.json`` beside it, through the whole
pipeline (auto-detected format, Kubernetes attribution), gives exactly the expected records.

The expected values were written from the kernel's print formats (legacy/) or from the capture
itself (real/), not by running this parser; each file lists only the keys it is sure of.
"""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from oom_input.assembler import Assembler
from oom_input.decoders import make_decoder
from oom_input.enrich import kubernetes_enricher
from oom_input.pipeline import Pipeline
from oom_input.sinks.jsonl import JsonLinesSink
from oom_input.types import DecodeOptions
from schema_util import validate_record

DATA = Path(__file__).parent / "data"
CASES = sorted(DATA.glob("*/*.expected.json"))


def run_pipeline(path: Path, input_format: str = "auto") -> list[dict]:
    out = io.BytesIO()
    pipeline = Pipeline(
        decoder=make_decoder(input_format, DecodeOptions()),
        sink=JsonLinesSink(out),
        enrichers=(kubernetes_enricher,),
        assembler=Assembler(),
    )
    pipeline.run([path.read_bytes()])
    pipeline.finish()
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("expected_path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_fixture(expected_path: Path) -> None:
    """The fixture's records match its expected file, key for key, and the schema."""
    name = expected_path.name.removesuffix(".expected.json")
    (fixture,) = [p for p in expected_path.parent.glob(name + ".*") if p != expected_path]
    expected = orjson.loads(expected_path.read_bytes())
    got = run_pipeline(fixture)
    for record in got:
        validate_record(record)
    assert len(got) == len(expected), [r["pid"] for r in got]
    for want, have in zip(expected, got, strict=True):
        assert {key: have[key] for key in want} == want


def test_there_are_golden_fixtures_of_every_kind() -> None:
    """Real captures and legacy kernels are both covered."""
    assert {p.parent.name for p in CASES} >= {"real", "legacy"}
    assert len(CASES) >= 15
