"""TEMPLATE test of a line format: copy to tests/test_<format>.py with the decoder module
(``oom_input/decoders/_template.py``). What every format's test shows: no data, data that is
not the format, damaged data of the format, and a real sample whose records are those of the
original /dev/kmsg capture. (The registry-wide checks, e.g. that the fixture reads with
``--input-format``, are in tests/test_formats.py and need nothing from you.)"""

from __future__ import annotations

from pathlib import Path

from oom_input.assembler import Assembler
from oom_input.decoders._template import TemplateDecoder
from oom_input.decoders.kmsg import KmsgDecoder
from oom_input.types import DecodeOptions, KernelLine

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "template" / "simple-memcg.template"  # a new format: data/decoders/<...>
ORIGINAL = DATA / "decoders" / "simple-memcg.kmsg"  # what the fixture was rendered from


class Reports(list[tuple[str, bytes]]):
    """A DecodeOptions.report that keeps what it is told."""

    def __call__(self, reason: str, raw: bytes) -> None:
        self.append((reason, raw))


def decode(raw: bytes, reports: Reports | None = None) -> object:
    report = reports if reports is not None else Reports()
    return TemplateDecoder(DecodeOptions(report=report)).decode(raw)


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


class TestTemplate:
    def test_empty_line_is_not_this_format(self) -> None:
        """No data: an empty line is not a line of the format."""
        assert decode(b"") is None

    def test_other_text_is_not_this_format(self) -> None:
        """A line of another format is rejected without a report."""
        reports = Reports()
        assert (decode(b"[  499.798531] text", reports), reports) == (None, [])

    def test_damaged_line_is_reported(self) -> None:
        """A time too long to be one is reported and rejected."""
        reports = Reports()
        raw = b"9" * 30 + b" text"
        assert (decode(raw, reports), reports) == (None, [("broken template time", raw)])

    def test_one_line(self) -> None:
        """A line gives its text and kernel time."""
        expected = KernelLine(text="a b", kernel_us=12, source_format="template")
        assert expected == decode(b"12 a b")

    def test_real_sample_gives_the_original_texts_and_times(self) -> None:
        """The fixture decodes to the texts and kernel times of the kmsg capture."""
        original = [KmsgDecoder(DecodeOptions()).decode(raw) for raw in lines(ORIGINAL)]
        decoded = [decode(raw) for raw in lines(FIXTURE)]
        expected = [(line.text, line.kernel_us) for line in original]  # type: ignore[union-attr]
        assert expected == [(line.text, line.kernel_us) for line in decoded]  # type: ignore[union-attr]

    def test_real_sample_gives_the_record(self) -> None:
        """The fixture's lines make the capture's one complete record."""
        assembler = Assembler()
        records = []
        for raw in lines(FIXTURE):
            line = decode(raw)
            assert isinstance(line, KernelLine)
            records += assembler.feed(line)
        records += assembler.flush()
        assert [(r.pid, r.process_name, r.complete) for r in records] == [(3171, "stress", True)]
