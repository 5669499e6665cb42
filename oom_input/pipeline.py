"""The pipeline in one pass: source bytes -> decoder -> assembler -> enrichers -> sink."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from oom_input.assembler import Assembler, Mode
from oom_input.decoders._common import UTF8_BOM
from oom_input.decoders._terminal import colored, without_escapes
from oom_input.peek import has_first_line, peek
from oom_input.registry import STREAM_HEAD_BYTES
from oom_input.scanner import MAX_LINE_BYTES, LineScanner
from oom_input.types import Decoder, Enricher, KernelLine, OomRecord, Sink, StreamDecoder


def make_normaliser(
    *, boot_time_us: int | None = None, host: str | None = None
) -> Callable[[KernelLine], None] | None:
    """What every decoded line gets: wall time from the kernel timestamp when the input has only
    that (and the boot time is known), and a host where the input names none."""
    if boot_time_us is None and host is None:
        return None

    def normalise(line: KernelLine) -> None:
        if line.wall_us is None and line.kernel_us is not None and boot_time_us is not None:
            line.wall_us = boot_time_us + line.kernel_us
        if line.host is None:
            line.host = host

    return normalise


def passthrough_object(raw: bytes) -> Any:
    """An input line as an object for ``--passthrough``: a JSON object or array as it is, any
    other line as ``{"message": line}``."""
    body = raw[1:] if raw[:1] == b"\x1e" else raw  # json-seq record separator
    if body[:1] in (b"{", b"["):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    return {"message": raw.decode("utf-8", "replace")}


@dataclass
class Pipeline:
    """One stream's worth of stages; ``emit`` is what the assembler's records go through."""

    decoder: Decoder
    sink: Sink
    enrichers: Sequence[Enricher] = ()
    assembler: Assembler = field(default_factory=Assembler)
    normalise: Callable[[KernelLine], None] | None = None
    on_overlong: Callable[[int], None] | None = None
    # per file: given its first bytes, a decoder for a format that is not one record per line
    # (msgpack, journal export), or None to read the file line by line
    choose_stream: Callable[[bytes], StreamDecoder | None] | None = None
    # every input line also goes to the sink (re-encoded), each record right after its line
    passthrough: bool = False
    records_written: int = field(default=0, init=False)  # (live sources save state by it)

    def __post_init__(self) -> None:
        passthrough: Callable[[bytes], None] | None = None
        if self.passthrough:
            write_object = self.sink.write_object

            def passthrough(raw: bytes) -> None:
                write_object(passthrough_object(raw))

        self.scanner = LineScanner(
            self.decoder,
            self.assembler,
            self.emit,
            normalise=self.normalise,
            on_overlong=self.on_overlong,
            passthrough=passthrough,
        )

    def emit(self, record: OomRecord) -> None:
        for enrich in self.enrichers:
            record = enrich(record)
        self.sink.write(record)
        self.records_written += 1

    def run(self, chunks: Iterable[bytes]) -> None:
        """Feed one file's bytes. Reports may go on in the next file: ``finish`` ends all input."""
        head, chunks = peek(chunks, len(UTF8_BOM))
        if head.startswith(UTF8_BOM):  # (a file an editor saved: not the log's)
            chunks = _dropped(chunks, len(UTF8_BOM))
        if self.choose_stream is not None:
            head, chunks = peek(chunks, MAX_LINE_BYTES, _has_stream_head)
            # (blank lines before a stream, e.g. an `echo` before it, are not its framing)
            blank = len(head) - len(head.lstrip())
            stream = self.choose_stream(head[blank:])
            if stream is not None:
                self._run_stream(stream, _dropped(chunks, blank))
                return
        head, chunks = peek(chunks, MAX_LINE_BYTES, has_first_line)
        if colored(head):  # dmesg --color=always
            chunks = without_escapes(chunks)
        feed = self.scanner.feed
        try:
            for chunk in chunks:
                feed(chunk)
        finally:
            self.scanner.end_of_file()

    def _run_stream(self, stream: StreamDecoder, chunks: Iterator[bytes]) -> None:
        # no byte prefilter here: the framing has to be decoded item by item anyway
        if self.passthrough:
            write_object = self.sink.write_object

            def each(obj: Any, lines: list[KernelLine]) -> None:
                write_object(obj)
                for line in lines:  # (a merged record's several, in order)
                    self._feed(line)

            stream.passthrough = each
        else:
            stream.on_line = self._feed
        assembler = self.assembler
        stream.every_record = lambda: assembler.mode is Mode.EVERY_LINE
        for chunk in _with_end(chunks):
            for line in stream.finish() if chunk is None else stream.feed(chunk):
                self._feed(line)

    def _feed(self, line: KernelLine) -> None:
        if self.normalise is not None:
            self.normalise(line)
        for record in self.assembler.feed(line):
            self.emit(record)

    def finish(self) -> None:
        """End of all input: close open reports."""
        self.scanner.finish()

    # --- live sources (live.py): one whole line per call, and a flush when the source idles ----
    def feed_line(self, raw: bytes) -> int:
        """Feed one whole line (a /dev/kmsg record, a journal entry; no newline); return how
        many records it completed (they are written)."""
        before = self.records_written
        self.scanner.feed_line(raw)
        return self.records_written - before

    def flush(self) -> int:
        """The source went idle (or stops): close the open reports; return how many records
        that wrote."""
        before = self.records_written
        self.scanner.finish()
        return self.records_written - before


def _has_stream_head(head: bytes) -> bool:
    """``enough`` to tell a stream's format: its magic's length after blank lines, or a line."""
    return len(head.lstrip()) >= STREAM_HEAD_BYTES or has_first_line(head)


def _dropped(chunks: Iterator[bytes], count: int) -> Iterator[bytes]:
    """``chunks`` without their first ``count`` bytes."""
    for chunk in chunks:
        if count >= len(chunk):
            count -= len(chunk)
            continue
        yield chunk[count:] if count else chunk
        count = 0


def _with_end(chunks: Iterator[bytes]) -> Iterator[bytes | None]:
    yield from chunks
    yield None
