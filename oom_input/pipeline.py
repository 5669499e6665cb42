"""The pipeline in one pass: source bytes -> decoder -> assembler -> enrichers -> sink."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from oom_input.assembler import Assembler
from oom_input.scanner import LineScanner
from oom_input.types import Decoder, Enricher, KernelLine, OomRecord, Sink


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


@dataclass
class Pipeline:
    """One stream's worth of stages; ``emit`` is what the assembler's records go through."""

    decoder: Decoder
    sink: Sink
    enrichers: Sequence[Enricher] = ()
    assembler: Assembler = field(default_factory=Assembler)
    normalise: Callable[[KernelLine], None] | None = None
    on_overlong: Callable[[int], None] | None = None
    records: int = 0

    def __post_init__(self) -> None:
        self.scanner = LineScanner(
            self.decoder,
            self.assembler,
            self.emit,
            normalise=self.normalise,
            on_overlong=self.on_overlong,
        )

    def emit(self, record: OomRecord) -> None:
        for enrich in self.enrichers:
            enrich(record)
        self.records += 1
        self.sink.write(record)

    def run(self, chunks: Iterable[bytes]) -> None:
        """Feed one file's bytes. Reports may go on in the next file: ``finish`` ends all input."""
        feed = self.scanner.feed
        try:
            for chunk in chunks:
                feed(chunk)
        finally:
            self.scanner.end_of_file()

    def finish(self) -> None:
        """End of all input: close open reports."""
        self.scanner.finish()
