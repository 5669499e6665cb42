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

from convert import LINE_FORMATS, RENDERING_LIMITS, STREAM_FORMATS, Source, kernel_records

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


# every legacy report as each agent and journal renders its kernel records (what its kernel's
# logs look like when they reach us by another way than dmesg)
LEGACY_CASES = [p for p in CASES if p.parent.name == "legacy"]
RENDERINGS = {
    **LINE_FORMATS,
    **STREAM_FORMATS,
    # /dev/kmsg's own text (cat /dev/kmsg)
    "kmsg": (lambda records, source: b"".join(r.line + b"\n" for r in records), frozenset()),
}


@pytest.mark.parametrize("rendering", sorted(RENDERINGS))
@pytest.mark.parametrize("expected_path", LEGACY_CASES, ids=lambda p: p.name)
def test_legacy_report_in_every_format(
    expected_path: Path, rendering: str, request: pytest.FixtureRequest
) -> None:
    """A legacy report rendered in each format an agent or journal gives its expected records, key for
    key (a kmsg text made from dmesg text flags no pr_cont fragment: pieces are joined all the
    same)."""
    limit = RENDERING_LIMITS.get((expected_path.name.removesuffix(".expected.json"), rendering))
    if limit is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=limit))
    name = expected_path.name.removesuffix(".expected.json")
    (fixture,) = [p for p in expected_path.parent.glob(name + ".*") if p != expected_path]
    records = kernel_records(fixture)
    assert records is not None
    render, _ = RENDERINGS[rendering]
    expected = orjson.loads(expected_path.read_bytes())
    got = run_pipeline([render(records, Source())], streams=True)
    assert len(got) == len(expected), [r["pid"] for r in got]
    for want, have in zip(expected, got, strict=True):
        assert {key: have[key] for key in want} == want
