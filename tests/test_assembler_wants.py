"""What the assembler remembers between lines gives the answers it would work out afresh: the
wanted markers readers skip lines by, and the kind of a line."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from convert import kernel_records
from oom_input.assembler import (
    INNER_KINDS,
    LINE_KINDS,
    Assembler,
    LineKind,
    _kind_of,
    _Report,
    _report_wants,
    _wants,
)
from oom_input.decoders import make_decoder
from oom_input.types import DecodeOptions, KernelLine

_DECODER = make_decoder("kmsg", DecodeOptions())
# every kmsg and dmesg fixture (real captures, legacy reports of older kernels' lines), as kmsg
CAPTURES = [
    b"\n".join(record.line for record in records)
    for path in sorted((Path(__file__).parent / "data").rglob("*"))
    if path.suffix in (".kmsg", ".dmesg") and (records := kernel_records(path))
]


def capture_lines(capture: bytes, host: str) -> list[KernelLine]:
    """A kmsg capture's kernel lines, as ``host``'s."""
    out = []
    for raw in capture.rstrip(b"\n").split(b"\n"):
        line = _DECODER.decode(raw)
        if isinstance(line, KernelLine):
            line.host = host
            out.append(line)
    return out


def wants_by_rows(report: _Report) -> tuple[tuple[bytes, ...], tuple[str, ...]]:
    """A report's wants by the rule of INNER_KINDS: the markers of each row whose wanted test
    holds, and its evidence's before its summary."""
    flags = tuple(kind.wanted(report) for kind in INNER_KINDS if kind.wanted is not None)
    return _wants(flags, report.evidence_wants if report.summary_time is None else ())


def fresh_wants(assembler: Assembler) -> set[bytes]:
    """The markers every open report can use, worked out now from the reports alone."""
    return {
        marker
        for src in assembler._sources.values()
        if src.report is not None
        for marker in _report_wants(src.report)[0]
    }


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(CAPTURES), min_size=1, max_size=3),
    st.data(),
)
def test_remembered_wants_are_those_worked_out_afresh_after_every_line(
    captures: list[bytes], data: st.DataObject
) -> None:
    """After every line of up to three interleaved captures (one report open per host, or
    several), each open report's remembered markers and ``wanted_markers()`` are what its state
    gives now: no change of a report or of its evidence is missed."""
    streams = [capture_lines(capture, f"h{i}") for i, capture in enumerate(captures)]
    assembler = Assembler()
    while any(streams):
        stream = data.draw(st.sampled_from([s for s in streams if s]))
        assembler.feed(stream.pop(0))
        for src in assembler._sources.values():
            if src.report is not None:
                assert assembler._wants_of(src.report) == _report_wants(src.report)
                assert _report_wants(src.report) == wants_by_rows(src.report)
        wanted = assembler.wanted_markers()
        assert len(wanted) == len(set(wanted))
        assert set(wanted) == fresh_wants(assembler)


def kind_by_rows(text: str) -> LineKind | None:
    """The rule of LINE_KINDS: the first row with a marker in the text whose prefix, if any,
    starts it."""
    for kind in LINE_KINDS:
        if any(m.decode() in text for m in kind.markers) and (
            kind.prefix is None or text.startswith(kind.prefix)
        ):
            return kind
    return None


_PIECES = [m.decode() for kind in LINE_KINDS for m in kind.markers] + [
    kind.prefix for kind in LINE_KINDS if kind.prefix is not None
]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*_PIECES, "x", " ", "Out of memory: "]), max_size=5))
def test_kind_of_a_line_follows_the_rows_in_order(pieces: list[str]) -> None:
    """A text holding any mix of markers and prefixes is of the kind the rows give in order, also
    when it or another was asked for just before."""
    text = "".join(pieces)
    assert _kind_of(text) is kind_by_rows(text)
    # the text read last is remembered: asked again (an equal text), or after another
    other = "".join(reversed(pieces))
    for again in ("".join(list(text)), other, text, other):
        assert _kind_of(again) is kind_by_rows(again)
