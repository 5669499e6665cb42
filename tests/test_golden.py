"""Golden files: every fixture with a ``<name>.expected.json`` beside it, through the whole
pipeline (auto-detected format, Kubernetes attribution), gives exactly the expected records.

The expected values were written from the kernel's print formats (legacy/) or from the capture
itself (real/), not by running this parser; each file lists only the keys it is sure of.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from helpers import run_pipeline

DATA = Path(__file__).parent / "data"
CASES = sorted(DATA.glob("*/*.expected.json"))


@pytest.mark.parametrize("expected_path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_fixture(expected_path: Path) -> None:
    """The fixture's records match its expected file, key for key, and the schema."""
    name = expected_path.name.removesuffix(".expected.json")
    (fixture,) = [p for p in expected_path.parent.glob(name + ".*") if p != expected_path]
    expected = orjson.loads(expected_path.read_bytes())
    got = run_pipeline([fixture.read_bytes()])
    assert len(got) == len(expected), [r["pid"] for r in got]
    for want, have in zip(expected, got, strict=True):
        assert {key: have[key] for key in want} == want


def test_there_are_golden_fixtures_of_every_kind() -> None:
    """Real captures and legacy kernels are both covered."""
    assert {p.parent.name for p in CASES} >= {"real", "legacy"}
    assert len(CASES) >= 15
