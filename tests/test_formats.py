"""Every registered plug-in, checked from the registry (oom_input/registry.py) and the fixture
files: a new format or output is covered here without editing this file.

A fixture is a file ``tests/data/{decoders,structured,syslog}/<sample>.<format>[-<variant>]``: it
is read with ``--input-format <format>``."""

from __future__ import annotations

import importlib
import io
from pathlib import Path
from typing import Any

import pytest

from oom_input.decoders import make_decoder, make_stream_decoder
from oom_input.pipeline import Pipeline
from oom_input.registry import (
    LINE_FORMATS,
    OUTPUT_FORMATS,
    STREAM_FORMATS,
    detect_stream,
)
from oom_input.types import IGNORED, DecodeOptions, KernelLine, OomRecord, OutputOptions

DATA = Path(__file__).parent / "data"
FIXTURE_DIRS = (DATA / "decoders", DATA / "structured", DATA / "syslog")
FORMAT_NAMES = tuple(fmt.name for fmt in LINE_FORMATS + STREAM_FORMATS)
STREAM_NAMES = tuple(fmt.name for fmt in STREAM_FORMATS)


def format_of(path: Path) -> str | None:
    """The registered format a fixture's name gives (the longest that fits), None if none."""
    suffix = path.name.rsplit(".", 1)[1]  # a sample name may hold dots ("v5.10-global-oom")
    fits = [name for name in FORMAT_NAMES if suffix == name or suffix.startswith(name + "-")]
    return max(fits, key=len, default=None)


# fixtures without a complete OOM report: single records, reports that kill nothing
WITHOUT_REPORT = (
    "dictionary-escapes.kmsg",
    "control-characters.syslog-rsyslog-imjournal",
    "control-characters.syslog-rsyslog-imjournal-rfc3339",
    "control-characters.syslog-rsyslog-imjournal-rfc5424",
    "v5.10-memcg-no-killable.syslog-rsyslog-imjournal",
    "v5.10-memcg-no-killable.syslog-rsyslog-imjournal-rfc3339",
    "v5.10-memcg-no-killable.syslog-rsyslog-imjournal-rfc5424",
)
FIXTURES = sorted(
    path
    for directory in FIXTURE_DIRS
    for path in directory.glob("*.*")
    if path.suffix not in (".md", ".py", ".json")
)


class Reports(list[str]):
    def __call__(self, reason: str, raw: bytes) -> None:
        self.append(reason)


class ListSink:
    def __init__(self) -> None:
        self.records: list[OomRecord] = []

    def write(self, record: OomRecord) -> None:
        self.records.append(record)

    def write_object(self, obj: Any) -> None:
        pass

    def close(self) -> None:
        pass


def read_fixture(path: Path, name: str, reports: Reports) -> list[OomRecord]:
    """The records of a fixture read with --input-format NAME (offline pipeline)."""
    options = DecodeOptions(year=2025, report=reports)
    sink = ListSink()
    is_stream = name in STREAM_NAMES
    pipeline = Pipeline(
        decoder=make_decoder("auto" if is_stream else name, options),
        sink=sink,
        choose_stream=(lambda head: make_stream_decoder(name, options)) if is_stream else None,
    )
    pipeline.run([path.read_bytes()])
    pipeline.finish()
    return sink.records


@pytest.mark.parametrize("fmt", LINE_FORMATS + STREAM_FORMATS, ids=lambda f: f.name)
class TestEveryInputFormat:
    def test_class_loads_and_names_itself(self, fmt: Any) -> None:
        """The registry's entry loads a class of the same name, documented by its module."""
        cls = fmt.load()
        module = importlib.import_module(cls.__module__)
        assert (cls.name, bool(module.__doc__ and module.__doc__.strip())) == (fmt.name, True)

    def test_has_a_fixture(self, fmt: Any) -> None:
        """At least one fixture is in the format (one is part of adding a format)."""
        assert [path for path in FIXTURES if format_of(path) == fmt.name]

    @pytest.mark.parametrize("data", [b"", b"\xff\xfe garbage \xc1\x00", b"{[", b"\n\n"])
    def test_no_data_and_garbage_are_survived(self, fmt: Any, data: bytes) -> None:
        """No data and data of no format give no kernel line and no exception."""
        options = DecodeOptions(report=Reports())
        if fmt in STREAM_FORMATS:
            decoder = make_stream_decoder(fmt.name, options)
            assert decoder.feed(data) + decoder.finish() == []
        else:
            result = fmt.load()(options).decode(data.rstrip(b"\n"))
            assert result is None or result is IGNORED or isinstance(result, KernelLine)


def test_every_fixture_names_a_registered_format() -> None:
    """No fixture name is misspelled: each starts with a registered format's name."""
    assert [path.name for path in FIXTURES if format_of(path) is None] == []


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_reads_with_its_format(path: Path) -> None:
    """A fixture read with --input-format <its format> gives a complete record, and no line is
    rejected as not being of that format."""
    name = format_of(path)
    assert name is not None
    reports = Reports()
    records = read_fixture(path, name, reports)
    assert [r for r in reports if r.startswith("not a ")] == []
    assert any(record.complete for record in records) != (path.name in WITHOUT_REPORT)


@pytest.mark.parametrize("fmt", STREAM_FORMATS, ids=lambda f: f.name)
def test_stream_magic_is_detected(fmt: Any) -> None:
    """Each stream format's magic bytes are detected as that format."""
    assert {detect_stream(magic + b"\x00") for magic in fmt.magic} == {fmt.name}


@pytest.mark.parametrize("fmt", OUTPUT_FORMATS, ids=lambda f: f.name)
class TestEveryOutputFormat:
    def test_writes_records_and_passed_through_objects(self, fmt: Any) -> None:
        """A sink made by from_options writes a record and a passed-through object, and
        flushes both at once (agents read as records come)."""
        out = io.BytesIO()
        sink = fmt.load().from_options(out, OutputOptions(tag="t"))
        sink.write(OomRecord(time_of_death="2025-11-26T18:19:54.840991Z", pid=1))
        after_record = out.getvalue()
        sink.write_object({"message": "x"})
        sink.close()
        assert after_record and len(out.getvalue()) > len(after_record)
