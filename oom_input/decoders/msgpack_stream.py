"""msgpack streams: records back to back, as Fluentd and Fluent Bit exchange them.

Accepted items (each a msgpack value, no framing between them)::

    {"message": "...", "host": "node-a", ...}         a bare map (Fluentd exec_filter with
                                                        <format> @type msgpack)
    [time, {..}]   [[time, {meta}], {..}]              Fluent Bit event formats
    [tag, time, {..}(, option)]                        Fluentd forward protocol: Message mode
    [tag, [[time, {..}], ...](, option)]               Forward mode
    [tag, <bin: items back to back>(, option)]         PackedForward mode (entries also as str,
                                                        as Fluentd's out_forward sends them)
    [tag, <bin: gzip members>, {"compressed": "gzip"}] CompressedPackedForward mode

``time`` is an integer or float (epoch seconds), the Fluent EventTime (ext type 0: uint32 BE
seconds, uint32 BE nanoseconds) or a msgpack Timestamp (ext type -1). Each map is read with the
same field logic as JSON records (``oom_input/decoders/_records.py``); the envelope's time is the
wall time of a map that carries none. An agent's text that a multiline parser merged from several
log lines gives a line for each (``RecordReader.read``); with ``--passthrough`` each map is
handed on with its lines, which are fed right after it, in order. Yields
``KernelLine(..., source_format="msgpack")``.

Limits: no string or binary over 1 MiB, no array over 100 000 items, no map over 4096 pairs, no
ext over 1 KiB, no item over 2 MiB, no compressed entries over 8 MiB once decompressed (the
rest is cut and reported). A length prefix is checked against them as soon as it is
read, before its data arrives, so a hostile prefix (a "4 GB string") costs nothing.

Speed: an item whose bytes hold none of the markers of a report line (the assembler's
``REPORT_MARKERS``, the line formats' extra markers, a ``MESSAGE`` given as a byte array,
the ``compressed`` option of compressed entries) cannot
matter, and is skipped by the unpacker without building its objects, unless it is one of the
``CONTEXT_ITEMS`` items right after an item that held a marker (pr_cont fragments follow their
line at once) or ``--passthrough`` wants every record. ``skipped`` counts the items skipped.

Broken input (an invalid byte, a length over a limit, an item of no known shape): msgpack has no
framing to resynchronise on, so the decoder reports it once, skips the item's first byte and
tries again at the next byte that can start an item of a known shape (a map header, or a
2-4 item array header: the registry's magic bytes of ``msgpack``), and so on until an item of a
known shape decodes; then it reports again on the next breakage. Garbage that happens to look
like an item may be read as one (it then has no message and is ignored). Every attempt is fed
to a fresh unpacker a window at a time and its headers are checked at most ``CHECKED_HEADERS``
deep, so that an attempt costs no more than the bytes it parses (at most ``MAX_ITEM``, or the
unpacker's 1024 levels of nesting): hostile input costs time linear in its size.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from typing import Any, ClassVar

import msgpack

from oom_input.assembler import CONTEXT_MARKERS, INNER_MARKERS, KILL_MARKERS, OPEN_MARKERS
from oom_input.decoders._records import (
    EventTime,
    RecordReader,
    envelope_entries,
    no_record_needed,
    text_keys,
)
from oom_input.evidence import MEMINFO_MARKERS, MEMINFO_RECORD_MARKERS
from oom_input.registry import stream_format
from oom_input.scanner import PROBE_MIN_BYTES, MarkerSearches
from oom_input.types import DecodeOptions, KernelLine

MAX_STR = MAX_BIN = 1 << 20
MAX_ARRAY = 100_000  # a Forward-mode chunk of events
MAX_MAP = 4096
MAX_EXT = 1024
MAX_ITEM = 2 << 20  # parsed, an item may take ~64 times its size (empty maps)
MAX_UNPACKED = 4 * MAX_ITEM  # CompressedPackedForward entries, decompressed
FEED_SLICE = 64 * 1024  # the Unpacker refuses a feed that would overflow its buffer: feed slices
FIRST_WINDOW = 1024  # what a resync attempt is fed first (doubled while it needs more)
# resync work (bytes fed to attempts) allowed per byte resynced past, and at the start
RESYNC_WORK_FACTOR, RESYNC_WORK_FREE = 16, 256 * 1024
CHECKED_HEADERS = 64  # headers of an incomplete item checked against the limits, at most
CONTEXT_ITEMS = 8  # items decoded in full after one that held a marker (pr_cont fragments)
REPORT_WINDOW = 256 * 1024  # bytes after a marker in which the inner markers are searched too
# first bytes of the items this decoder reads (the registry's magic: maps, arrays of 2-4 items)
ITEM_START = frozenset(magic[0] for magic in stream_format("msgpack").magic)
_ITEM_START_RE = re.compile(b"[%s]" % b"".join(re.escape(bytes((b,))) for b in sorted(ITEM_START)))
# the option of CompressedPackedForward (fixstrs): its compressed entries hide every marker
COMPRESSED_KEY = b"\xaacompressed\xa4gzip"
# an item with none of these cannot open a report: the assembler's opening markers, a MESSAGE
# key whose value is an array (journal byte arrays hide the marker text), and the extra markers
# of the line formats seen in the records' text (journal boot lines), once seen (literal byte
# strings: bytes.find is faster than a regex)
OPEN_PATTERNS: tuple[bytes | re.Pattern[bytes], ...] = (
    *OPEN_MARKERS,
    re.compile(rb"\xa7MESSAGE[\x90-\x9f\xdc\xdd]"),
    COMPRESSED_KEY,
)
# ... and, within REPORT_WINDOW bytes of an item that held a marker, none of these either
INNER_PATTERNS: tuple[bytes | re.Pattern[bytes], ...] = (
    *(m for m in INNER_MARKERS if m not in MEMINFO_MARKERS or m in MEMINFO_RECORD_MARKERS),
    *CONTEXT_MARKERS,
)
_OVERLAP = 32  # longer than every pattern's match: a match may straddle two feeds

# header byte -> (bytes of the length that follows, limit, kind) for lengths the Unpacker only
# checks once the data is there; kind: 0 a body of that length, 1 array items, 2 map pairs
_LENGTHS = {
    0xC4: (1, MAX_BIN, 0),
    0xC5: (2, MAX_BIN, 0),
    0xC6: (4, MAX_BIN, 0),
    0xC7: (1, MAX_EXT, 0),
    0xC8: (2, MAX_EXT, 0),
    0xC9: (4, MAX_EXT, 0),
    0xD9: (1, MAX_STR, 0),
    0xDA: (2, MAX_STR, 0),
    0xDB: (4, MAX_STR, 0),
    0xDC: (2, MAX_ARRAY, 1),
    0xDD: (4, MAX_ARRAY, 1),
    0xDE: (2, MAX_MAP, 2),
    0xDF: (4, MAX_MAP, 2),
}
# header byte -> bytes of fixed-size data after it (numbers, fixext incl. the type byte)
_FIXED = {0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4}
_FIXED |= {0xD3: 8, 0xD4: 2, 0xD5: 3, 0xD6: 5, 0xD7: 9, 0xD8: 17}
_EXT_HEADERS = (0xC7, 0xC8, 0xC9)  # their body is preceded by a type byte
_UNPACK_ERRORS = (ValueError, msgpack.UnpackException)  # FormatError, StackError, limits


def _find(
    pattern: bytes | re.Pattern[bytes],
    buf: bytearray,
    start: int,
    end: int,
    searches: MarkerSearches,
) -> int:
    """Where ``pattern`` first occurs in ``buf[start:end]``, -1 nowhere (a marker searched over
    a long range by its rarest byte where that costs less: ``searches``)."""
    if isinstance(pattern, bytes):
        if end - start < PROBE_MIN_BYTES:
            return buf.find(pattern, start, end)
        return searches[pattern].find(buf, start, end)
    found = pattern.search(buf, start, end)
    return -1 if found is None else found.start()


def gunzip(data: bytes, limit: int) -> tuple[bytes, bool]:
    """The bytes of gzip members back to back, at most ``limit`` of them, and whether there
    were more (raises zlib.error on a broken member, EOFError on a cut one)."""
    out = bytearray()
    while data and len(out) < limit:
        member = zlib.decompressobj(wbits=31)
        out += member.decompress(data, limit - len(out))
        if member.unconsumed_tail:  # the limit was reached inside this member
            return bytes(out), True
        if not member.eof:
            raise EOFError("gzip member cut short")
        data = member.unused_data
    return bytes(out), bool(data)


def ext_hook(code: int, data: bytes) -> Any:
    """Fluent EventTime (ext 0, 8 bytes) as ``EventTime``; other ext types as they are."""
    if code == 0 and len(data) == 8:
        return EventTime(int.from_bytes(data[:4], "big"), int.from_bytes(data[4:], "big"))
    return msgpack.ExtType(code, data)


_UNPACK_OPTIONS: dict[str, Any] = {
    "raw": False,
    "unicode_errors": "surrogateescape",
    "ext_hook": ext_hook,
    "max_str_len": MAX_STR,
    "max_bin_len": MAX_BIN,
    "max_array_len": MAX_ARRAY,
    "max_map_len": MAX_MAP,
    "max_ext_len": MAX_EXT,
}


def new_unpacker() -> msgpack.Unpacker:
    """An Unpacker with every size limit set (strings as text; invalid UTF-8 kept as
    surrogates, which the record reader turns back into bytes and reports)."""
    return msgpack.Unpacker(max_buffer_size=MAX_ITEM + FEED_SLICE, **_UNPACK_OPTIONS)


def unpack_item(data: bytes) -> Any:
    """The one whole item ``data`` holds (raises like the Unpacker)."""
    return msgpack.unpackb(data, **_UNPACK_OPTIONS)


def declares_too_much(buf: bytes | bytearray, start: int = 0) -> bool:
    """Whether the (incomplete) item at ``buf[start:]`` has a length prefix over the limits or a
    byte that msgpack never uses, in its first ``CHECKED_HEADERS`` headers; walks the headers
    only, skipping the data."""
    pos, todo, end = start, 1, len(buf)
    for _ in range(CHECKED_HEADERS):
        if not todo or pos >= end:
            break
        todo -= 1
        byte = buf[pos]
        pos += 1
        if byte < 0x80 or byte >= 0xE0 or byte in (0xC0, 0xC2, 0xC3):
            continue  # fixint, nil, booleans
        if byte < 0x90:
            todo += 2 * (byte & 0x0F)
        elif byte < 0xA0:
            todo += byte & 0x0F
        elif byte < 0xC0:
            pos += byte & 0x1F
        elif byte in _FIXED:
            pos += _FIXED[byte]
        elif byte in _LENGTHS:
            size, limit, kind = _LENGTHS[byte]
            if pos + size > end:
                return False
            length = int.from_bytes(buf[pos : pos + size], "big")
            if length > limit:
                return True
            pos += size
            if kind == 0:
                pos += length + (byte in _EXT_HEADERS)
            else:
                todo += kind * length
        else:
            return True  # 0xc1: never used
    return False


class MsgpackDecoder:
    """Items back to back; see the module docstring for the shapes, the skipping and the
    resync."""

    name: ClassVar[str] = "msgpack"

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options
        self._reader = RecordReader(options, self.name)
        self._unpacker = new_unpacker()
        # bytes not yet consumed as whole items (and the item skipped before them): _buf[0] is
        # at stream offset _base, the next item starts at _pos; the current unpacker started
        # at offset _origin and was fed up to offset _fed
        self._buf = bytearray()
        self._base = self._pos = self._origin = self._fed = 0
        self._checked = 0  # size of the current item's bytes when its prefixes were checked
        self._resyncing = False
        self._resync_from = 0  # stream offset of the breakage the resync started at
        self._resync_work = 0  # bytes fed to attempts since then
        self._hit = -1  # stream offset of the next marker found (-1: none in _buf)
        self._hit_in_window = False  # _hit counts the inner markers too
        self._open_hit = -1  # the next opening marker found with _hit
        self._clear_to = 0  # when _hit is -1: no marker before this stream offset
        self._window_end = 0  # stream offset up to which the inner markers are searched
        self._extra: tuple[bytes, ...] = ()  # the line formats' extra markers seen so far
        self._open = OPEN_PATTERNS  # and them
        self._patterns = OPEN_PATTERNS + INNER_PATTERNS
        self._next = [-1] * len(self._patterns)  # per pattern: its next occurrence, -1 none up
        self._upto = [0] * len(self._patterns)  # to this offset
        self._searches = MarkerSearches()  # how each marker is searched in long ranges
        self._prev = (0, 0)  # stream offsets of the last item skipped
        # items still to decode in full after one that held a marker; the first item is read
        # in full too, so that the formats of its text are learned
        self._context = 1
        self.skipped = 0  # items skipped without decoding (no marker)
        # --passthrough: called with each input record (a map) and its kernel lines, in input
        # order, instead of returning the lines from feed()
        self.passthrough: Callable[[Any, list[KernelLine]], None] | None = None
        self.on_line: Callable[[KernelLine], None] | None = None
        self.every_record: Callable[[], bool] = no_record_needed

    def feed(self, data: bytes) -> list[KernelLine]:
        """Take the next bytes (any split); return the kernel lines of the items they completed."""
        out: list[KernelLine] = []
        self._buf += data
        self._drain(out)
        return out

    def finish(self) -> list[KernelLine]:
        """End of input: a last incomplete item is reported; items after its start are read."""
        out: list[KernelLine] = []
        while self._pos < self._base + len(self._buf):
            self._drain(out)
            offset = self._pos - self._base
            if offset < len(self._buf):
                self._broken(
                    "incomplete msgpack item at end of input", bytes(self._buf[offset:][:64])
                )
                self._pos = self._restart_at(self._pos, 1)
        return out

    # --- the item loop -----------------------------------------------------------------------
    def _drain(self, out: list[KernelLine]) -> None:
        """Read every whole item of _buf; leave an incomplete one at its start. The unpacker
        only skips items (it builds no objects, so an item that never completes costs no
        memory); the items that can matter are unpacked from their bytes."""
        unpacker = self._unpacker
        buf = self._buf
        start = self._pos
        try:
            while True:
                offset = start - self._base
                if offset < len(buf) and buf[offset] not in ITEM_START:
                    self._broken("msgpack item of no known shape", bytes(buf[offset : offset + 64]))
                    start = self._restart_at(start, 1)
                    unpacker = self._unpacker
                    continue
                try:
                    if self._context or self.passthrough is not None or self.every_record():
                        unpacker.skip()
                        end = self._origin + unpacker.tell()
                        if self._context:
                            self._context -= 1
                        self._relevant(start, end)  # a marker here prolongs the context
                    else:
                        # the hot loop: skip the items that end before the next known marker
                        safe = self._safe_until(start)
                        skip, tell, origin = unpacker.skip, unpacker.tell, self._origin
                        while True:
                            skip()
                            end = origin + tell()
                            if end > safe:
                                break
                            self._resyncing = False
                            self.skipped += 1
                            self._prev = (start, end)
                            start = end
                            offset = start - self._base
                            if offset >= len(buf) or buf[offset] not in ITEM_START:
                                break
                        if end <= safe:  # stopped before an item: the outer loop goes on
                            continue
                        if not self._relevant(start, end):
                            self.skipped += 1
                            self._resyncing = False
                            self._prev = (start, end)
                            start = end
                            continue
                        prev = self._prev
                        if self._legacy_chosen_before(start, end, prev):
                            raw = bytes(buf[prev[0] - self._base : offset])
                            self.skipped -= 1
                            self._item(raw, out)
                except msgpack.OutOfData:
                    if self._fed - start > MAX_ITEM:
                        self._broken(f"msgpack item over {MAX_ITEM} bytes", bytes(buf[:64]))
                        start = self._restart_at(start, 1)
                        unpacker = self._unpacker
                        continue
                    if self._fed < self._base + len(buf):  # feed the unpacker more
                        self._feed_unpacker(start)
                        continue
                    if self._declares_too_much(start):
                        self._broken("msgpack length over the limits", bytes(buf[offset:][:64]))
                        start = self._restart_at(start, 1)
                        unpacker = self._unpacker
                        continue
                    return
                except _UNPACK_ERRORS:
                    self._broken("broken msgpack", bytes(buf[offset : offset + 64]))
                    start = self._restart_at(start, 1)
                    unpacker = self._unpacker
                    continue
                raw = bytes(buf[offset : end - self._base])
                start = end
                self._checked = 0
                self._item(raw, out)
        finally:
            self._pos = start
            keep = self._prev[0] if self._prev[1] == start else start  # for the look-back
            del buf[: keep - self._base]
            self._base = keep

    def _safe_until(self, start: int) -> int:
        """Up to which stream offset no marker lies, as far as the last search knows (``start``
        or less: search again)."""
        hit = self._hit
        if (start < self._window_end) != self._hit_in_window:
            return start
        return hit if hit >= start else (self._clear_to if hit < 0 else start)

    def _relevant(self, start: int, end: int) -> bool:
        """Whether the item at stream offsets [start, end) holds a marker; then the next
        CONTEXT_ITEMS items are decoded in full, and the inner markers are searched for up to
        REPORT_WINDOW bytes further."""
        in_window = start < self._window_end
        if in_window != self._hit_in_window or (
            self._hit < start and (self._hit >= 0 or end > self._clear_to)
        ):
            self._search(start, in_window)
        if 0 <= self._hit < end:
            self._context = CONTEXT_ITEMS
            if start <= self._open_hit < end:  # only a line that can open a report opens the
                self._window_end = end + REPORT_WINDOW  # window (inner lines come after one)
            return True
        return False

    def _search(self, start: int, in_window: bool) -> None:
        """The first marker at or after stream offset ``start`` in what _buf holds (the inner
        ones only up to the window's end). Each pattern's next occurrence is remembered, so
        that no byte is searched twice for it."""
        buf, base = self._buf, self._base
        end = base + len(buf)
        best = best_open = -1
        clear_to = end
        opening = len(self._open)
        for index, pattern in enumerate(self._patterns if in_window else self._open):
            limit = end if index < opening else min(end, self._window_end)
            at = self._next[index]
            if at < start:  # passed, or not found up to _upto[index]
                since = max(start, self._upto[index] - _OVERLAP) - base
                at = _find(pattern, buf, since, max(since, limit - base), self._searches)
                at = at if at < 0 else base + at
                self._next[index] = at
                self._upto[index] = limit if at < 0 else at
            if at < 0:
                clear_to = min(clear_to, self._upto[index])
                continue
            if best < 0 or at < best:
                best = at
            if index < opening and (best_open < 0 or at < best_open):
                best_open = at
        self._hit, self._hit_in_window, self._clear_to = best, in_window, clear_to
        self._open_hit = best_open

    def _legacy_chosen_before(self, start: int, end: int, prev: tuple[int, int]) -> bool:
        """Whether the item at [start, end) holds a kill line and the skipped item right before
        it the legacy chosen-victim line, which the kernel prints right before (<= 4.19)."""
        base = self._base
        return (
            prev[1] == start
            and prev[0] >= base
            and any(self._buf.find(m, start - base, end - base) >= 0 for m in KILL_MARKERS)
            and any(self._buf.find(m, prev[0] - base, start - base) >= 0 for m in CONTEXT_MARKERS)
        )

    def _feed_unpacker(self, start: int) -> None:
        """Feed the unpacker the next window of _buf: FIRST_WINDOW bytes past what it has, or
        as many as it has already been fed for the current item (doubling), at most
        FEED_SLICE."""
        window = FEED_SLICE
        if self._resyncing:
            window = min(FEED_SLICE, max(FIRST_WINDOW, self._fed - start))
        at = self._fed - self._base
        piece = bytes(self._buf[at : at + window])
        self._unpacker.feed(piece)
        self._fed += len(piece)
        if self._resyncing:
            self._resync_work += len(piece)

    def _declares_too_much(self, start: int) -> bool:
        offset = start - self._base
        size = len(self._buf) - offset
        if size < 2 * self._checked:
            return False
        self._checked = size
        return declares_too_much(self._buf, offset)

    def _restart_at(self, start: int, skip: int) -> int:
        """A fresh unpacker at the first possible item start at or after ``start + skip``
        (where the next attempt begins; the end of _buf when there is none). When the attempts
        since the breakage cost more than RESYNC_WORK_FACTOR times the bytes passed, the next
        one starts after all that the failed attempt was fed instead, so that resync work stays
        linear in the input."""
        allowed = RESYNC_WORK_FACTOR * (start - self._resync_from) + RESYNC_WORK_FREE
        if self._resync_work > allowed:
            skip = max(skip, self._fed - start)
        offset = start - self._base
        found = _ITEM_START_RE.search(self._buf, offset + skip)
        at = self._base + (found.start() if found is not None else len(self._buf))
        self._unpacker = new_unpacker()
        self._origin = self._fed = at
        self._checked = 0
        return at

    def _item(self, raw: bytes, out: list[KernelLine]) -> None:
        """Unpack one whole item and hand on its records."""
        try:
            item = unpack_item(raw)
        except _UNPACK_ERRORS:  # over a limit that skipping does not check
            self._broken("broken msgpack", raw[:64])
            return
        entries = envelope_entries(item, self._unpack_packed)
        if entries is None:
            self._broken("msgpack item of no known shape", raw[:64])
            return
        self._resyncing = False
        for record, wall_us in entries:
            lines = self._reader.read_lines(text_keys(record), raw, wall_us)
            if self.passthrough is not None:
                self.passthrough(record, lines)
                continue
            for kernel_line in lines:
                if self.on_line is not None:
                    self.on_line(kernel_line)
                else:
                    out.append(kernel_line)
        if self._reader.extra_markers is not self._extra:
            self._learn(self._reader.extra_markers)

    def _learn(self, extra: tuple[bytes, ...]) -> None:
        """Search the extra markers of the formats now seen in the records' text too."""
        self._extra = extra
        self._open = OPEN_PATTERNS + tuple(m for m in extra if m not in OPEN_PATTERNS)
        self._patterns = self._open + INNER_PATTERNS
        self._next = [-1] * len(self._patterns)
        self._upto = [0] * len(self._patterns)
        self._hit, self._clear_to = -1, 0

    def _unpack_packed(self, data: bytes, compression: Any) -> list[Any]:
        """The items of PackedForward entries (gzip members back to back when ``compression``
        is "gzip": Fluentd compresses each piece of a chunk on its own), at most
        MAX_UNPACKED bytes of them."""
        # any other value is no compression, as Fluentd's in_forward reads it (its out_forward
        # sends "compressed": "text" unless it compresses)
        if compression == "gzip":
            try:
                data, cut = gunzip(data, MAX_UNPACKED)
            except (zlib.error, EOFError):
                self._broken("broken gzip PackedForward entries", data[:64])
                return []
            if cut:
                self.options.report(f"PackedForward entries over {MAX_UNPACKED} bytes", data[:64])
        unpacker = new_unpacker()
        items: list[Any] = []
        try:
            for at in range(0, len(data), FEED_SLICE):
                unpacker.feed(data[at : at + FEED_SLICE])
                items.extend(unpacker)
        except _UNPACK_ERRORS:
            self._broken("broken PackedForward entries", data[:64])
            return []
        return items

    def _broken(self, reason: str, raw: bytes) -> None:
        """Report a breakage, once until an item of a known shape decodes again."""
        if not self._resyncing:
            self.options.report(reason, raw)
            self._resync_from = self._pos
            self._resync_work = 0
        self._resyncing = True
