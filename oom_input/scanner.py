"""The reader between bytes and the assembler: decode only the lines that can matter.

Almost every kernel log line belongs to no OOM report. Instead of decoding each line, the
scanner searches whole chunks for the byte strings of the assembler's line kinds
(``assembler.LINE_KINDS``) and decodes only the lines holding one:

- always the lines with an ``OPEN_MARKERS`` entry (they may open or complete a report);
- while a report is open (``Mode.OPEN``), also the lines with one of ``wanted_markers()``;
- while a pr_cont fragment or an evidence block (lines without markers: memcg statistics, task
  rows) is due (``Mode.EVERY_LINE``), every line; a block's lines through the decoder's quick
  paths (``quick_text``, ``quick_run``) when it has them;
- before each kill line and each header, the CONTEXT lines (legacy chosen victim,
  memory.oom.group) in the bytes since the last such line, at most ``lookback_bytes()`` back
  (64 KiB per source seen): the kernel prints them right before a kill line, but other hosts'
  lines may lie between in a merged stream, and a report cut short before its kill line keeps
  its own; in a stream of one source (``one_source`` formats: kmsg, dmesg) with no report open,
  a header makes the source forget what they told, so the bytes between reports are not searched;
- a line of no kind of its own (an evidence line) by its text alone (``Assembler.feed_text``);
- a line that holds several kernel lines (``KernelLines``: an agent's array of events, a record a
  multiline parser merged) as each of them, in order; a look-back that finds such a line feeds
  only its CONTEXT lines (its others were fed when it was read);
- a continuation line of a text format (dmesg, journalctl print a multi-line record as its first
  line and indented lines) together with the line it continues, found in the bytes kept;
- with a format detector (``AutoDecoder``) that asks for it (``sample_bytes``), a line every so
  many bytes, for the detector alone: a format whose lines hold markers of its own (journalctl's
  boot separators) is then known a bounded distance after it begins, and when the detector
  learns one (``formats_learned``), the lines before that hold its markers, as far back as it
  may have begun, are decoded for it before the line that showed it (a boot separator before
  the first journalctl line the reader decoded gives that line its boot id).

A long range is searched for a marker by the marker's rarest byte where that byte is rare in
the input (``MarkerSearch``: the "K" of "Killed process " in kernel logs, the "[" of JSON's
byte-array messages), which finds what ``bytes.find`` finds at a fraction of its cost.

Which lines are fed depends only on the bytes and on the assembler's state, never on how the
bytes were cut into chunks: ``feed_line`` is ``feed`` of one line, and the last lines read stay
available to the look-back across calls. The assembler ignores the lines it is not shown, so the
records are those of feeding every line (property tests check all three). With --passthrough
every line is also handed on as it is, but the same lines are decoded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import AnyStr, Protocol, cast

from oom_input.assembler import (
    CONTEXT_MARKERS,
    EVERY_LINE_MODE,
    HEADER_MARKERS,
    KILL_MARKERS,
    OPEN_MARKERS,
    OPEN_MODE,
    TEXT_ONLY_MARKERS,
    Assembler,
    opens_report,
)
from oom_input.evidence import BlockReader
from oom_input.types import (
    Decoder,
    Ignored,
    KernelLine,
    KernelLines,
    OomRecord,
    QuickRun,
    QuickText,
    SourceKey,
)

# The kernel's own lines are at most ~1 KiB (8 KiB with the kmsg dictionary); agents' JSON
# records are larger but far below this. A longer line is cut to this length.
MAX_LINE_BYTES = 256 * 1024
# How far back from a kill line CONTEXT lines are looked for: per log source seen (a merged
# stream of N hosts puts about N lines between two lines of one host), within a cap.
LOOKBACK_BYTES_PER_SOURCE = 64 * 1024
MAX_LOOKBACK_BYTES = 8 * 1024 * 1024
# how far back the line a continuation line continues is looked for (a multi-line kernel record,
# memory.stat's ~100 lines included, is a few KiB); the bytes kept always reach this far
MAX_CONTINUED_BYTES = LOOKBACK_BYTES_PER_SOURCE
_PIECE_BYTES = 64 * 1024
_MAX_KEYS = 4096  # source keys remembered for the fast path (a merged stream of many hosts)
# bytes of block lines taken as one run at most (its groups are held at once: ~4x the bytes)
MAX_RUN_BYTES = 64 * 1024
# the CONTEXT lines' markers in a decoded line's text
CONTEXT_TEXTS = tuple(marker.decode() for marker in CONTEXT_MARKERS)
# a decoder's continuation(raw, head): a continuation line read with the line it continues
Continuation = Callable[[bytes, "bytes | None"], "KernelLine | Ignored | None"]
# Long searches (MarkerSearch): bytes.find costs about FIND_COST / len(marker) a byte (CPython's
# two-way search skips by about the needle's length); finding one byte of the marker (memchr)
# and comparing the marker where it is costs about PROBE_COST a byte plus HIT_COST a hit (ns,
# CPython 3.11 on x86-64 as bench/search.py measures them: only their ratios matter)
FIND_COST = 4.0
PROBE_COST = 0.04
HIT_COST = 180.0
# a byte is searched for only if it is this many times rarer in the sample than the rate at
# which it would cost as much as find (the sample is small, the costs vary)
PROBE_MARGIN = 1.5
# ranges shorter than this are searched with find alone
PROBE_MIN_BYTES = 64 * 1024
# the sample a byte is chosen by (counting a byte costs ~0.3 ns a byte)
SAMPLE_BYTES = 16 * 1024
# bytes searched with find after which a marker's byte is looked for again (the input may
# change); twice as many after each time none was rare enough
CHOOSE_AGAIN_BYTES = 64 * 1024 * 1024


class MarkerSearch:
    """``buf.find(marker, start, end)`` of one marker in ranges of PROBE_MIN_BYTES or more: by
    the marker's rarest byte where that costs less (every occurrence of the byte is compared
    with the marker), else by find. The byte is chosen by counting each of the marker's bytes in
    a sample of the input, and again after CHOOSE_AGAIN_BYTES searched with find; a byte
    that turns out frequent is dropped at once (the comparisons of one search are bounded by its
    length), so a search costs at most about twice find's."""

    __slots__ = ("_again", "_due", "_max_rate", "_offset", "_probe", "marker")

    def __init__(self, marker: bytes) -> None:
        self.marker = marker
        # occurrences of the byte per byte searched above which find costs less
        self._max_rate = max(0.0, (FIND_COST / len(marker) - PROBE_COST) / HIT_COST)
        self._probe = b""  # the byte searched for (b"": find the marker)
        self._offset = 0  # where it is in the marker
        self._due = 0  # bytes to search with find before a byte is looked for again
        self._again = CHOOSE_AGAIN_BYTES  # the next such interval

    @property
    def probe(self) -> bytes:
        """The byte searched for now (b"": the marker is found with find)."""
        return self._probe

    def find(self, buf: bytes | bytearray, start: int, end: int) -> int:
        """``buf.find(self.marker, start, end)``."""
        marker = self.marker
        probe = self._probe
        if not probe:
            if self._due <= 0:
                probe = self._choose(buf, start, end)
            if not probe:
                at = buf.find(marker, start, end)
                self._due -= (end if at < 0 else at) - start
                return at
        if end - start < len(marker):
            return -1  # (and ``last`` below is no negative index)
        offset = self._offset
        last = end - len(marker) + offset + 1  # a probe from here on: the marker ends after end
        budget = int((end - start) * self._max_rate) + 16
        find, starts = buf.find, buf.startswith
        at = find(probe, start + offset, last)
        while at >= 0:
            if starts(marker, at - offset):
                return at - offset
            budget -= 1
            if budget < 0:  # the byte is frequent here: find the marker from this one on
                self._probe = b""
                self._wait()
                return find(marker, at - offset + 1, end)
            at = find(probe, at + 1, last)
        return -1

    def _choose(self, buf: bytes | bytearray, start: int, end: int) -> bytes:
        """Take the marker's byte that is rarest in a sample of ``buf[start:end]`` if it is rare
        enough to cost less than find; return it (b"": none)."""
        stop = min(end, start + SAMPLE_BYTES)
        marker = self.marker
        fewest = -1
        for offset in range(len(marker)):
            byte = marker[offset : offset + 1]
            if marker.index(byte) != offset:
                continue  # counted already
            count = buf.count(byte, start, stop)
            if fewest < 0 or count < fewest:
                fewest, self._probe, self._offset = count, byte, offset
        if fewest * PROBE_MARGIN > (stop - start) * self._max_rate:
            self._probe = b""
            self._wait()
        return self._probe

    def _wait(self) -> None:
        """Search with find for a while before looking for a rare byte again."""
        self._due = self._again
        self._again *= 2


class MarkerSearches(dict[bytes, MarkerSearch]):
    """The MarkerSearch of each marker, made when first needed."""

    def __missing__(self, marker: bytes) -> MarkerSearch:
        search = self[marker] = MarkerSearch(marker)
        return search


class Detector(Protocol):
    """A decoder that detects formats (``AutoDecoder``): see the module's docstring."""

    sample_bytes: int  # a line is decoded at least this often (bytes) for it; 0: none needed
    formats_learned: int  # formats with markers of their own it has seen

    def decode_again(self, raw: bytes) -> KernelLine | KernelLines | Ignored:
        """``decode`` of the line decoded last, not reported again."""
        ...


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
        # --passthrough: every line is handed on, decoded or not
        self._passthrough = passthrough
        # the look-back: the whole-line regions scanned lately, as (buffer, start, end, stream
        # offset of start); and how far the CONTEXT lines have been looked for
        self._history: deque[tuple[bytes, int, int, int]] = deque()
        self._small = bytearray()  # the newest small regions, not yet one piece of the history
        self._small_at = 0
        self._stream_pos = 0  # stream offset of the region being scanned
        self._context_upto = 0
        self._looking_back = False  # feeding the CONTEXT lines found before a line (_look_back)
        self._floor = 0  # see _window_start
        self._sources_seen = 0
        # lines of open evidence blocks: the decoder's text alone, handed to the assembler's
        # fast path (``Assembler.feed_block_line``); the source key of each (host, boot id) the
        # decoder gives, as normalising makes it
        self._quick: Callable[[bytes], QuickText | None] | None = getattr(
            decoder, "quick_text", None
        )
        self._keys: dict[SourceKey, SourceKey] = {}
        self._quick_run: Callable[[bytes, int, int, bytes], QuickRun] | None = getattr(
            decoder, "quick_run", None
        )
        # text formats that print a multi-line record as a line and indented continuation
        # lines (dmesg, journalctl): such a line is decoded with the line it continues
        continues = getattr(decoder, "continues", None)
        continuation = getattr(decoder, "continuation", None)
        self._continuing: tuple[Callable[[bytes], bool], Continuation] | None = (
            None if continues is None or continuation is None else (continues, continuation)
        )
        self._current: tuple[bytes, int] = (b"", 0)  # the buffer being scanned, its offset
        # (stream offset, line or None): the lines before that offset back to this line are it
        # and its continuation lines, or there is no such line (see _continued)
        self._continued_known: tuple[int, bytes | None] | None = None
        self._file_at = 0  # stream offset of the current file's first line
        # formats whose lines are all of one source: a header bounds the look-back (_before_header)
        self._one_source: bool = getattr(decoder, "one_source", False)
        self._searches = MarkerSearches()  # how each marker is searched in long ranges
        # a format detector's: the next line it is shown starts at or after stream offset
        # _sample_at; how far back a format it learns may have begun (the bytes kept reach it)
        self._detector = cast(Detector, decoder) if hasattr(decoder, "formats_learned") else None
        self._formats_learned = 0
        self._sample_bytes = self._sample_at = self._learn_bytes = 0
        self._sampling()

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
            self._region(first, 0, len(first))
            start = head_end + 1
        if start <= last:
            self._region(data, start, last + 1)  # whole lines, scanned in place (no copy)
        self._tail = data[last + 1 :]
        self._check_tail()

    def feed_line(self, raw: bytes) -> None:
        """Take one whole line (without its newline), e.g. one /dev/kmsg record: the same as
        ``feed(raw + b"\\n")``."""
        self.feed(raw + b"\n")

    def end_of_file(self) -> None:
        """One file ended: its last line may lack a newline, and must not join the next file's
        first line. Open reports stay open (a report may go on in the next file)."""
        if self._tail:
            tail, self._tail = self._tail + b"\n", b""
            self._region(tail, 0, len(tail))
        self._discarding = False
        self._file_start = True
        self._file_at = self._stream_pos

    def finish(self) -> None:
        """End of all input (or the live source went idle): close open reports, once the
        CONTEXT lines read since the last look-back are fed to them (their kill line never
        came)."""
        self.end_of_file()
        if self._assembler.open_reports:
            buf, base = self._current
            self._look_back(buf, self._stream_pos - base, base)
        for record in self._assembler.flush():
            self._emit(record)

    # --- work --------------------------------------------------------------------------------
    def _check_tail(self) -> None:
        if len(self._tail) > self._max_line:
            # keep the line's head (the kernel's text is there), drop the rest up to its newline
            self._on_overlong(len(self._tail))
            head = self._tail[: self._max_line] + b"\n"
            self._tail = b""
            self._discarding = True
            self._region(head, 0, len(head))

    def _region(self, buf: bytes, start: int, end: int) -> None:
        """Scan ``buf[start:end]`` (whole lines) and keep it for the look-back."""
        self._scan(buf, start, end)
        size = end - start
        if size >= _PIECE_BYTES:
            self._keep_small()
            self._history.append((buf, start, end, self._stream_pos))
        else:  # one line per read (live): gather small regions into one piece
            if not self._small:
                self._small_at = self._stream_pos
            self._small += buf[start:end]
            if len(self._small) >= _PIECE_BYTES:
                self._keep_small()
        self._stream_pos += size
        # nothing before it is looked at again
        floor = min(self._window_start(self._stream_pos), self._stream_pos - self._learn_bytes)
        history = self._history
        while history and history[0][3] + history[0][2] - history[0][1] <= floor:
            history.popleft()

    def _keep_small(self) -> None:
        if self._small:
            piece = bytes(self._small)
            self._history.append((piece, 0, len(piece), self._small_at))
            self._small.clear()

    def lookback_bytes(self, sources: int | None = None) -> int:
        """How far back from a kill line CONTEXT lines are looked for: it grows with the
        number of log sources seen."""
        count = self._assembler.source_count if sources is None else sources
        return min(MAX_LOOKBACK_BYTES, LOOKBACK_BYTES_PER_SOURCE * max(1, count))

    def _window_start(self, at: int) -> int:
        """The oldest stream offset a look-back from ``at`` reaches. It never moves backwards:
        when the window grows (a new source), it grows from where the stream is then, so the
        bytes a look-back needs are the same however the stream was cut into reads."""
        return max(self._floor, at - self.lookback_bytes())

    def _count_sources(self, line_end: int) -> None:
        count = self._assembler.source_count
        if count != self._sources_seen:
            self._floor = max(self._floor, line_end - self.lookback_bytes(self._sources_seen))
            self._sources_seen = count

    def _scan(self, buf: bytes, pos: int, end: int) -> None:
        """Process ``buf[pos:end]``: whole lines, the last one ending at ``end - 1``."""
        assembler = self._assembler
        base = self._stream_pos - pos  # stream offset of buf[0]
        self._current = (buf, base)
        if self._passthrough is not None:
            self._scan_passthrough(buf, pos, end, base)
            return
        # per marker: (searched from, first hit or -1, searched up to)
        cache: dict[bytes, tuple[int, int, int]] = {}
        while pos < end:
            if self._decoder.extra_markers is not self._extra:
                self._extra = self._decoder.extra_markers
                self._open_markers = OPEN_MARKERS + tuple(self._extra)
            mode = assembler.mode
            if mode is EVERY_LINE_MODE or self._file_start:
                if self._quick is not None and not self._file_start:
                    pos = self._block_lines(buf, pos, end, cache)
                    if pos >= end:
                        return
                    if assembler.mode is not EVERY_LINE_MODE:
                        continue  # the block ended at a line it took
                nl = buf.index(b"\n", pos, end)
                # (blank lines before a file's first line tell the detector nothing)
                self._file_start = not buf[pos:nl].strip()
                if _holds(buf, KILL_MARKERS, pos, nl):
                    self._look_back(buf, pos, base)
                self._line(buf[pos:nl], base + nl + 1)
                pos = nl + 1
                continue
            hit = _first_marker(buf, self._open_markers, cache, self._searches, pos, end)
            read = self._line  # (_take's text-only path is for evidence lines: inner markers)
            if mode is OPEN_MODE:
                # lines that matter only inside a report: look no further than the next line
                # that can open or close one
                inner = _first_marker(
                    buf,
                    assembler.wanted_markers(),
                    cache,
                    self._searches,
                    pos,
                    end if hit < 0 else hit,
                )
                if inner >= 0:
                    hit = inner
                    read = self._take
            if self._sample_bytes and self._sample_at < base + (end if hit < 0 else hit):
                sample = self._sample_line(buf, pos, end, hit, base)
                if sample >= 0:
                    pos = self._sample(buf, sample, end, base)
                    continue
            if hit < 0:
                return
            start = buf.rfind(b"\n", pos, hit) + 1 or pos
            nl = buf.index(b"\n", hit, end)
            if _holds(buf, KILL_MARKERS, start, nl):
                self._look_back(buf, start, base)
                self._line(buf[start:nl], base + nl + 1)
            else:
                read(buf[start:nl], base + nl + 1)
            pos = nl + 1

    def _block_lines(
        self, buf: bytes, pos: int, end: int, cache: dict[bytes, tuple[int, int, int]]
    ) -> int:
        """Hand the lines from ``pos`` on to the assembler's fast path for as long as it uses
        them up (lines of an open evidence block), runs of plain block lines at once where the
        decoder can; return where the first other line starts. A kill line is left to
        ``_line`` (its look-back comes first)."""
        assert self._quick is not None
        quick = self._quick
        kill = _first_marker(buf, KILL_MARKERS, cache, self._searches, pos, end)
        if kill >= 0:
            end = buf.rfind(b"\n", pos, kill) + 1 or pos  # up to the kill line's start
        assembler = self._assembler
        reader: BlockReader | None = None
        source: SourceKey | None = None  # the decoder's source of the lines ``reader`` takes
        key: SourceKey = (None, None)  # its key once normalised
        run_stop = -1  # where the last run stopped (the line there is none of its shape)
        while pos < end:
            nl = buf.index(b"\n", pos, end)
            found = quick(buf[pos:nl])
            if found is None:
                return pos
            text, line_source = found
            if line_source is not source:
                key = self._source_key(line_source)
                reader = assembler.block_reader(key)
                source = line_source
            if (
                reader is not None
                and reader.run is not None
                and self._quick_run is not None
                and pos != run_stop
            ):
                # a run of the block's plain lines from this one on (quick_text read it last:
                # a decoder that keeps its source between the two calls has it right)
                assert reader.shape is not None
                run_to = min(end, pos + MAX_RUN_BYTES)  # a line across it: on its own
                lines, run_end, run_source = self._quick_run(buf, pos, run_to, reader.shape)
                if lines and run_source == source:
                    reader.run(lines)
                    pos = run_stop = run_end
                    continue
                run_stop = pos
            if reader is None or not reader.line(text):
                # not a line of the open block: the text alone may still be all ``feed`` needs
                if not assembler.feed_text(key, text):
                    # a line of a kind (the summary, a stats header): decoded and fed here if
                    # ``_scan`` would feed it (its test, which reading the text again cannot
                    # change), not read a second time there
                    if not self._scan_feeds(buf, pos, nl):
                        return pos
                    self._line(buf[pos:nl], self._current[1] + nl + 1)
                    pos = nl + 1
                    if assembler.mode is not EVERY_LINE_MODE:
                        return pos
                    source = None  # a block may have begun: its reader is asked for next
                    continue
                pos = nl + 1
                if assembler.mode is not EVERY_LINE_MODE:
                    return pos
                reader = assembler.block_reader(key)  # a block may have ended or begun
                continue
            pos = nl + 1
        return pos

    def _source_key(self, source: SourceKey) -> SourceKey:
        """The source key of a line the decoder gives this (host, boot id), once normalised (a
        normaliser sets a line's host and boot id from those alone)."""
        if self._normalise is None:
            return source
        key = self._keys.get(source)
        if key is None:
            probe = KernelLine("", host=source[0], boot_id=source[1])
            self._normalise(probe)
            key = (probe.host, probe.boot_id)
            if len(self._keys) >= _MAX_KEYS:
                self._keys.clear()
            self._keys[source] = key
        return key

    def _scan_passthrough(self, buf: bytes, pos: int, end: int, base: int) -> None:
        """``_scan`` for --passthrough: every line is handed on, and the lines ``_scan`` would
        decode are decoded (the same test, line by line)."""
        assert self._passthrough is not None
        while pos < end:
            nl = buf.index(b"\n", pos, end)
            self._passthrough(buf[pos:nl])
            if self._file_start or self._scan_feeds(buf, pos, nl):
                self._file_start = not buf[pos:nl].strip()  # (as in _scan)
                if _holds(buf, KILL_MARKERS, pos, nl):
                    self._look_back(buf, pos, base)
                self._line(buf[pos:nl], base + nl + 1)
            elif self._sample_bytes and base + pos >= self._sample_at:
                self._sample(buf, pos, end, base)
            pos = nl + 1

    def _scan_feeds(self, buf: bytes, pos: int, nl: int) -> bool:
        """Whether ``_scan`` decodes the line ``buf[pos:nl]`` (not a file's first line) in the
        assembler's state: every line while it wants every line, else a line that holds an
        OPEN_MARKERS entry, or while a report is open one of ``wanted_markers()``."""
        if self._decoder.extra_markers is not self._extra:
            self._extra = self._decoder.extra_markers
            self._open_markers = OPEN_MARKERS + tuple(self._extra)
        assembler = self._assembler
        mode = assembler.mode
        return (
            mode is EVERY_LINE_MODE
            or _holds(buf, self._open_markers, pos, nl)
            or (mode is OPEN_MODE and _holds(buf, assembler.wanted_markers(), pos, nl))
        )

    def _look_back(self, buf: bytes, line_start: int, base: int) -> None:
        """Before the kill line at ``buf[line_start]``, feed the CONTEXT lines not looked at yet
        within the look-back window, in stream order."""
        at = base + line_start
        since = max(self._context_upto, self._window_start(at))
        self._context_upto = at
        if since >= at:
            return
        found: dict[int, tuple[bytes, int, int]] = {}  # stream offset -> (buffer, start, end)
        for piece, start, end, piece_at in self._segments(buf, line_start, base):
            lo = start + max(0, since - piece_at)
            hi = start + min(end - start, at - piece_at)
            if lo >= hi:
                continue
            if lo > start and piece[lo - 1 : lo] != b"\n":
                lo = piece.find(b"\n", lo, hi) + 1  # the window cuts this line: not whole
                if lo == 0:
                    continue
            for marker in CONTEXT_MARKERS:
                hit = piece.find(marker, lo, hi)
                while hit >= 0:
                    first = piece.rfind(b"\n", lo, hit) + 1 or lo
                    nl = piece.index(b"\n", hit, end)
                    found[piece_at + first - start] = (piece, first, nl)
                    hit = piece.find(marker, nl, hi)
        looking_back, self._looking_back = self._looking_back, True
        try:
            for line_at in sorted(found):
                piece, first, nl = found[line_at]
                self._line(piece[first:nl], line_at + nl + 1 - first)
        finally:
            self._looking_back = looking_back  # (a look-back may run inside one: a header's)

    def _before_header(self, at: int) -> None:
        """Before a header at stream offset ``at``: the CONTEXT lines before it, fed first (as
        before a kill line), so that a report the header closes gets its own (a chosen-victim
        line whose kill line was lost) and the report it opens none. In a stream of one source
        with no report open they can matter to nothing (the header makes the source forget the
        chosen victim and group kill they told of): they are not looked for, and the bytes
        between reports are not searched."""
        if at <= self._context_upto:
            return  # (a context line that holds a header's words, fed by a look-back)
        if self._one_source and not self._assembler.open_reports:
            self._context_upto = at
        else:
            buf, base = self._current
            self._look_back(buf, at - base, base)

    def _segments(
        self, buf: bytes, line_start: int, base: int
    ) -> list[tuple[bytes, int, int, int]]:
        """The kept whole-line regions, oldest first, then the current one up to the kill line:
        (buffer, start, end, stream offset of start)."""
        out = list(self._history)
        if self._small:
            out.append((bytes(self._small), 0, len(self._small), self._small_at))
        out.append((buf, self._stream_pos - base, line_start, self._stream_pos))
        return out

    def _take(self, raw: bytes, line_end: int) -> None:
        """``_line``, by the decoder's text alone when that is all the assembler needs (an
        evidence line: no KernelLine is built)."""
        if self._quick is not None and _contains(raw, TEXT_ONLY_MARKERS):
            found = self._quick(raw)
            if found is not None and self._assembler.feed_text(
                self._source_key(found[1]), found[0]
            ):
                return
        self._line(raw, line_end)

    def _line(self, raw: bytes, line_end: int) -> None:
        """Decode and feed one line (``line_end``: the stream offset after its newline)."""
        continuing = self._continuing
        decoded: KernelLine | KernelLines | Ignored | None
        if continuing is not None and continuing[0](raw):
            decoded = continuing[1](raw, self._continued(line_end - len(raw) - 1, continuing[0]))
        else:
            decoded = self._decoder.decode(raw)
            detector = self._detector
            if detector is not None and detector.formats_learned != self._formats_learned:
                decoded = self._learned(raw, line_end - len(raw) - 1)
        if type(decoded) is not KernelLine:  # (one test: None, IGNORED or several lines)
            if isinstance(decoded, KernelLines):
                self._several(decoded, raw, line_end)
            return
        if self._normalise is not None:
            self._normalise(decoded)
        if _contains(raw, HEADER_MARKERS) and opens_report(decoded.text):
            self._before_header(line_end - len(raw) - 1)
        assembler = self._assembler
        for record in assembler.feed(decoded):
            self._emit(record)
        if assembler.sources_changed:
            assembler.sources_changed = False
            self._count_sources(line_end)

    def _several(self, lines: KernelLines, raw: bytes, line_end: int) -> None:
        """``_line``'s feeding of a line that holds several kernel lines: each in order (the
        single line's is kept in ``_line``: it runs for every line decoded). In a look-back,
        only its CONTEXT lines, as the look-back of lines of their own feeds them (the line's
        others were fed, in order, when it was read). The line's CONTEXT lines are
        fed in order with the others, so once it holds a kill line or a header (whose look-back,
        up to the line's start, came first) no later look-back reads the line again: a CONTEXT
        line before the header in it would be fed again after it."""
        line_at = line_end - len(raw) - 1
        looking_back = self._looking_back
        header = _contains(raw, HEADER_MARKERS)
        looked_back = not looking_back and _contains(raw, KILL_MARKERS)
        assembler = self._assembler
        for line in lines:
            if looking_back and not _contains(line.text, CONTEXT_TEXTS):
                continue
            if self._normalise is not None:
                self._normalise(line)
            if header and opens_report(line.text):
                self._before_header(line_at)
                looked_back = not looking_back
            for record in assembler.feed(line):
                self._emit(record)
        if looked_back:
            self._context_upto = max(self._context_upto, line_end)
        if assembler.sources_changed:
            assembler.sources_changed = False
            self._count_sources(line_end)

    def _sampling(self) -> None:
        """Take the detector's interval (it stops asking once it knows every format it asks
        for). A format it learns began at most an interval and a line before the line it was
        shown, two intervals if that line was none of the format's (a continuation line): the
        bytes kept reach that far back."""
        if self._detector is not None:
            self._formats_learned = self._detector.formats_learned
            interval = self._detector.sample_bytes
            if interval and not self._sample_bytes:
                self._sample_at = self._stream_pos + interval
            self._sample_bytes = interval
            self._learn_bytes = 2 * interval + self._max_line + 1 if interval else 0

    def _sample_line(self, buf: bytes, pos: int, end: int, hit: int, base: int) -> int:
        """Where the line the detector is to be shown next starts in ``buf[pos:end]``, if it
        comes before the line of ``hit`` (which is decoded anyway), else -1: the first line
        that starts at or after stream offset ``_sample_at``."""
        at = self._sample_at - base
        start = pos if at <= pos else buf.find(b"\n", at - 1, end) + 1
        if not pos <= start < end:
            return -1  # (no line starts after ``at`` in this buffer)
        if hit >= 0 and start > buf.rfind(b"\n", pos, hit):
            return -1
        return start

    def _sample(self, buf: bytes, start: int, end: int, base: int) -> int:
        """Show the line at ``buf[start]`` to the detector (it holds nothing _scan feeds: it is
        decoded, not fed); return where the next line starts."""
        nl = buf.index(b"\n", start, end)
        self._sample_at = base + start + self._sample_bytes
        raw = buf[start:nl]
        self._decoder.decode(raw)
        assert self._detector is not None
        if self._detector.formats_learned != self._formats_learned:
            self._learned(raw, base + start)
        return nl + 1

    def _learned(self, raw: bytes, line_at: int) -> KernelLine | KernelLines | Ignored | None:
        """Decoding the line at stream offset ``line_at`` showed the detector a format with
        markers of its own: the lines before it that hold those markers, as far back as the
        format may have begun, are decoded first, in order, for what they tell the decoder
        (journalctl's boot separators), not fed; then the line is decoded again."""
        decoder = self._decoder
        searched = self._extra
        since = max(0, line_at - self._learn_bytes)
        self._sampling()
        buf, base = self._current
        for piece, start, end, piece_at in self._segments(buf, line_at - base, base):
            lo = start + max(0, since - piece_at)
            hi = start + min(end - start, line_at - piece_at)
            if lo > start and piece[lo - 1 : lo] != b"\n":
                lo = piece.find(b"\n", lo, hi) + 1 or hi  # the range cuts this line: not whole
            while lo < hi:
                # (the markers grow as it reads: journalctl's "-- Reboot --" once a boot is known)
                new = [marker for marker in decoder.extra_markers if marker not in searched]
                hit = min(
                    (at for marker in new if (at := piece.find(marker, lo, hi)) >= 0), default=-1
                )
                if hit < 0:
                    break
                nl = piece.index(b"\n", hit, end)
                decoder.decode(piece[piece.rfind(b"\n", lo, hit) + 1 or lo : nl])
                lo = nl + 1
        self._extra = decoder.extra_markers
        self._open_markers = OPEN_MARKERS + tuple(self._extra)
        assert self._detector is not None
        return self._detector.decode_again(raw)

    def _continued(self, line_at: int, continues: Callable[[bytes], bool]) -> bytes | None:
        """The line that the continuation line at stream offset ``line_at`` continues: the
        nearest line before it in its file that is no continuation line (None: none within
        MAX_CONTINUED_BYTES). The regions read lately are kept whole, so this does not depend
        on how the stream was cut into reads; the last answer is remembered, so a record's
        continuation lines cost linear time, found or not."""
        known = self._continued_known
        floor = max(self._file_at, line_at - MAX_CONTINUED_BYTES)
        buf, base = self._current
        head: bytes | None = None
        for piece, start, end, piece_at in reversed(self._segments(buf, line_at - base, base)):
            low = start + max(0, floor - piece_at)
            end = min(end, start + line_at - piece_at)  # the start of the line after
            while end > low:
                if known is not None and piece_at + end - start == known[0]:
                    head = known[1]  # the lines from here back to it were read before
                    break
                first = piece.rfind(b"\n", low, end - 1) + 1 or low
                if first == low and low > start and piece[low - 1 : low] != b"\n":
                    break  # the window cuts this line
                line = piece[first : end - 1]
                if not continues(line):
                    head = line
                    break
                end = first
            else:
                continue
            break
        self._continued_known = (line_at, head)
        return head


# (loops, not any() of a generator: these run for every line found, and a generator costs more
# than the searches on a short line)
def _holds(buf: bytes, markers: tuple[bytes, ...], start: int, end: int) -> bool:
    for marker in markers:  # noqa: SIM110
        if buf.find(marker, start, end) >= 0:
            return True
    return False


def _contains(raw: AnyStr, markers: tuple[AnyStr, ...]) -> bool:
    for marker in markers:  # noqa: SIM110
        # (not ``marker in raw``: CPython's bytes.__contains__ first tries the needle as an int,
        # raising and clearing a TypeError with its message formatted, each time)
        if raw.find(marker) >= 0:
            return True
    return False


def _first_marker(
    buf: bytes,
    markers: tuple[bytes, ...],
    cache: dict[bytes, tuple[int, int, int]],
    searches: MarkerSearches,
    pos: int,
    limit: int,
) -> int:
    """Where the first of ``markers`` occurs in ``buf[pos:limit]`` (-1: nowhere). Every marker's
    last search is remembered, so that no byte is searched twice for the same marker; long
    searches go through ``searches``."""
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
        if limit - since < PROBE_MIN_BYTES:
            at = buf.find(marker, since, limit)
        else:
            at = searches[marker].find(buf, since, limit)
        cache[marker] = (pos, at, limit)
        if at >= 0 and (best < 0 or at < best):
            best = at
    return best
