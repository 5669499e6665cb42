"""The reader between bytes and the assembler: decode only the lines that can matter.

Almost every kernel log line belongs to no OOM report. Instead of decoding each line, the
scanner searches whole chunks for the few byte strings that can open or complete a report
(``assembler.OPEN_MARKERS``), and decodes lines only inside report windows. What the assembler
needs is told by its ``mode``: IDLE (only lines with an opening marker), OPEN (lines with an
opening marker or one of ``wanted_markers()``, the inner lines open reports can still use; the
rest are only counted) or EVERY_LINE (a pr_cont fragment is due, or --passthrough). The line
right before a found line is looked at too: the legacy chosen-victim line comes right before
its kill line. The assembler ignores the lines it is not shown, so the output is the same as
feeding every line, whatever the chunk boundaries (a property test checks that).
"""

from __future__ import annotations

from collections.abc import Callable

from oom_input.assembler import (
    EVERY_LINE,
    IDLE,
    KILL_MARKER,
    LEGACY_CHOSEN_MARKER,
    OPEN_MARKERS,
    Assembler,
)
from oom_input.types import IGNORED, Decoder, KernelLine, OomRecord

# The kernel's own lines are at most ~1 KiB (8 KiB with the kmsg dictionary); agents' JSON
# records are larger but far below this. A longer line is cut to this length.
MAX_LINE_BYTES = 256 * 1024
# a bound this few lines away is walked to, line by line, to search no further than it
DEADLINE_WALK_LINES = 32


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
        self._extra = decoder.extra_markers  # may grow as formats are seen (AutoDecoder)
        self._open_markers = OPEN_MARKERS + tuple(self._extra)
        self._file_start = True  # a file's first line is always decoded (formats are learned)
        self._tail = b""
        self._discarding = False  # inside the rest of an over-long line
        # --passthrough: every line is handed on (and so decoded), none is skipped
        self._passthrough = passthrough

    # --- input -------------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Take the next bytes of the stream (any split: lines may straddle calls)."""
        start = 0
        if self._discarding:
            nl = data.find(b"\n")
            if nl < 0:
                return
            self._discarding = False
            start = nl + 1
        last = data.rfind(b"\n", start)
        if last < 0:
            self._tail += data[start:]
            self._check_tail()
            return
        if self._tail:
            head_end = data.find(b"\n", start)
            first = self._tail + data[start : head_end + 1]
            self._tail = b""
            if len(first) > self._max_line + 1:
                self._on_overlong(len(first))
                first = first[: self._max_line] + b"\n"
            self._scan(first, 0, len(first))
            start = head_end + 1
        self._scan(data, start, last + 1)  # whole lines only, scanned in place (no copy)
        self._tail = data[last + 1 :]
        self._check_tail()

    def feed_line(self, raw: bytes) -> None:
        """Take one whole line (without its newline), e.g. one /dev/kmsg record."""
        self._line(raw)

    def end_of_file(self) -> None:
        """One file ended: its last line may lack a newline, and must not join the next file's
        first line. Open reports stay open (a report may go on in the next file)."""
        if self._tail:
            tail, self._tail = self._tail + b"\n", b""
            self._scan(tail, 0, len(tail))
        self._discarding = False
        self._file_start = True

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
        head = self._tail[: self._max_line] + b"\n"
        self._tail = b""
        self._discarding = True
        self._scan(head, 0, len(head))

    def _scan(self, buf: bytes, pos: int, end: int) -> None:
        """Process ``buf[pos:end]``: whole lines, the last one ending at ``end - 1``."""
        assembler = self._assembler
        emit = self._emit
        every = self._passthrough is not None
        # per marker: (searched from, first hit or -1, searched up to)
        cache: dict[bytes, tuple[int, int, int]] = {}
        while pos < end:
            if self._decoder.extra_markers is not self._extra:
                self._extra = self._decoder.extra_markers
                self._open_markers = OPEN_MARKERS + tuple(self._extra)
            mode = assembler.mode
            if mode == EVERY_LINE or every or self._file_start:
                self._file_start = False
                nl = buf.index(b"\n", pos, end)
                self._line(buf[pos:nl])
                pos = nl + 1
                continue
            hit = _first(buf, self._open_markers, cache, pos, end)
            if mode != IDLE:
                # lines that matter only inside a report: look no further than the next line
                # that can open or close one, nor past the next bound (after it the open
                # state changes: e.g. the few lines a closed report waits for a
                # memory.oom.group line), where the lines skipped so far are counted at once
                limit = end if hit < 0 else hit
                bound = self._bound(buf, pos, limit)
                inner = _first(buf, assembler.wanted_markers(), cache, pos, bound or limit)
                if inner >= 0:
                    hit = inner
                elif bound:
                    for record in assembler.skip(assembler.lines_to_deadline() + 1):
                        emit(record)
                    pos = bound
                    continue
                elif hit < 0:
                    for record in assembler.skip(buf.count(b"\n", pos, end)):
                        emit(record)
                    return
            elif hit < 0:
                return
            start = buf.rfind(b"\n", pos, hit) + 1 or pos
            nl = buf.index(b"\n", hit, end)
            if start > pos:
                before = start
                if buf.find(KILL_MARKER, start, nl) >= 0:
                    # the legacy chosen-victim line ("Kill process ... or sacrifice child"),
                    # which names the reason, comes right before the kill line, header or not
                    previous = buf.rfind(b"\n", pos, start - 1) + 1 or pos
                    if buf.find(LEGACY_CHOSEN_MARKER, previous, start) >= 0:
                        before = previous
                if mode != IDLE and before > pos:
                    for record in assembler.skip(buf.count(b"\n", pos, before)):
                        emit(record)
                if before < start:
                    self._line(buf[before : start - 1])
            self._line(buf[start:nl])
            pos = nl + 1

    def _bound(self, buf: bytes, pos: int, limit: int) -> int:
        """Where the line on which the assembler's next bound falls ends, if that is near and
        before ``limit``; else 0."""
        due = self._assembler.lines_to_deadline()
        if due is None or due >= DEADLINE_WALK_LINES:
            return 0
        at = pos
        for _ in range(due + 1):
            at = buf.find(b"\n", at, limit) + 1
            if at == 0:
                return 0
        return at

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


def _first(
    buf: bytes,
    markers: tuple[bytes, ...],
    cache: dict[bytes, tuple[int, int, int]],
    pos: int,
    limit: int,
) -> int:
    """Where the first of ``markers`` occurs in ``buf[pos:limit]`` (-1: nowhere). Every marker's
    last search is remembered, so that no byte is searched twice for the same marker."""
    best = -1
    for marker in markers:
        known = cache.get(marker)
        if known is not None and known[0] <= pos:
            _, at, upto = known
            if at >= pos:
                if at < limit and (best < 0 or at < best):
                    best = at
                continue
            if at < 0 and upto >= limit:
                continue
            # a marker may straddle the end of the last search: overlap by its length
            since = max(pos, upto - len(marker) + 1) if at < 0 else pos
        else:
            since = pos
        at = buf.find(marker, since, limit)
        cache[marker] = (pos, at, limit)
        if at >= 0 and (best < 0 or at < best):
            best = at
    return best
