"""The reader between bytes and the assembler: decode only the lines that can matter.

Almost every kernel log line belongs to no OOM report. Instead of decoding each line, the
scanner searches whole chunks for the few byte strings that can open or complete a report
(``assembler.OPEN_MARKERS``), and decodes lines only inside report windows. What the assembler
needs is told by its ``mode``: IDLE (only lines with an opening marker), OPEN (lines with any
report marker; the rest are only counted) or EVERY_LINE (a pr_cont fragment is due). The
assembler ignores marker-less lines itself, so the output is the same as feeding every line,
whatever the chunk boundaries (a property test checks that).
"""

from __future__ import annotations

from collections.abc import Callable

from oom_input.assembler import EVERY_LINE, IDLE, OPEN_MARKERS, REPORT_MARKERS, Assembler
from oom_input.types import IGNORED, Decoder, KernelLine, OomRecord

# The kernel's own lines are at most ~1 KiB (8 KiB with the kmsg dictionary); agents' JSON
# records are larger but far below this. A longer line is cut to this length.
MAX_LINE_BYTES = 256 * 1024


class LineScanner:
    """Feed it bytes; it feeds the assembler and hands finished records to ``emit``."""

    def __init__(
        self,
        decoder: Decoder,
        assembler: Assembler,
        emit: Callable[[OomRecord], None],
        *,
        normalise: Callable[[KernelLine], None] | None = None,
        on_overlong: Callable[[int], None] | None = None,
        max_line_bytes: int = MAX_LINE_BYTES,
        passthrough: Callable[[bytes], None] | None = None,
    ) -> None:
        self._decoder = decoder
        self._assembler = assembler
        self._emit = emit
        self._normalise = normalise
        self._on_overlong = on_overlong or (lambda size: None)
        self._max_line = max_line_bytes
        extra = tuple(decoder.extra_markers)
        self._open_markers = OPEN_MARKERS + extra
        self._report_markers = REPORT_MARKERS + extra
        self._tail = b""
        self._discarding = False  # inside the rest of an over-long line
        # --passthrough: every line is handed on (and so decoded), none is skipped
        self._passthrough = passthrough

    # --- input -------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Take the next bytes of the stream (any split: lines may straddle calls)."""
        if self._discarding:
            nl = data.find(b"\n")
            if nl < 0:
                return
            self._discarding = False
            data = data[nl + 1 :]
        last = data.rfind(b"\n")
        if last < 0:
            self._tail += data
            if len(self._tail) > self._max_line:
                self._cut_overlong()
            return
        if self._tail:
            head_end = data.find(b"\n")
            first = self._tail + data[: head_end + 1]
            self._tail = b""
            if len(first) > self._max_line + 1:
                self._on_overlong(len(first))
                first = first[: self._max_line] + b"\n"
            self._scan(first)
            if head_end == last:
                self._tail = data[last + 1 :]
                self._check_tail()
                return
            self._scan(memoryview(data)[head_end + 1 : last + 1].tobytes())
        else:
            self._scan(data if last == len(data) - 1 else data[: last + 1])
        self._tail = data[last + 1 :]
        self._check_tail()

    def feed_line(self, raw: bytes) -> None:
        """Take one whole line (without its newline), e.g. one /dev/kmsg record."""
        self._line(raw)

    def end_of_file(self) -> None:
        """One file ended: its last line may lack a newline, and must not join the next file's
        first line. Open reports stay open (a report may go on in the next file)."""
        if self._tail:
            tail, self._tail = self._tail, b""
            self._scan(tail + b"\n")
        self._discarding = False

    def finish(self) -> None:
        """End of all input: close open reports."""
        self.end_of_file()
        for record in self._assembler.flush():
            self._emit(record)

    # --- work --------------------------------------------------------------------------------
    def _check_tail(self) -> None:
        if len(self._tail) > self._max_line:
            self._cut_overlong()

    def _cut_overlong(self) -> None:
        # keep the line's head (the kernel's text is there), drop the rest up to its newline
        self._on_overlong(len(self._tail))
        head, self._tail = self._tail[: self._max_line], b""
        self._discarding = True
        self._scan(head + b"\n")

    def _scan(self, buf: bytes) -> None:
        """Process ``buf``, which holds whole lines and ends with a newline."""
        assembler = self._assembler
        emit = self._emit
        end = len(buf)
        pos = 0
        # next known position of each marker at or after pos (-1: none left in buf)
        found: dict[bytes, int] = {}
        while pos < end:
            mode = assembler.mode
            if mode == EVERY_LINE or self._passthrough is not None:
                nl = buf.index(b"\n", pos)
                self._line(buf[pos:nl])
                pos = nl + 1
                continue
            hit = -1
            for marker in self._open_markers if mode == IDLE else self._report_markers:
                at = found.get(marker, -2)
                if -1 < at < pos or at == -2:
                    at = buf.find(marker, pos)
                    found[marker] = at
                if at >= 0 and (hit < 0 or at < hit):
                    hit = at
            if hit < 0:
                if mode != IDLE:
                    for record in assembler.skip(buf.count(b"\n", pos, end)):
                        emit(record)
                return
            start = buf.rfind(b"\n", pos, hit) + 1 or pos
            if mode != IDLE and start > pos:
                for record in assembler.skip(buf.count(b"\n", pos, start)):
                    emit(record)
            nl = buf.index(b"\n", hit)
            self._line(buf[start:nl])
            pos = nl + 1

    def _line(self, raw: bytes) -> None:
        if self._passthrough is not None:
            self._passthrough(raw)
        decoded = self._decoder.decode(raw)
        if decoded is None or decoded is IGNORED:
            records = self._assembler.skip(1)
        else:
            assert isinstance(decoded, KernelLine)
            if self._normalise is not None:
                self._normalise(decoded)
            records = self._assembler.feed(decoded)
        for record in records:
            self._emit(record)
