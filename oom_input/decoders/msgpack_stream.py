"""msgpack streams: records back to back, as Fluentd and Fluent Bit exchange them.

Accepted items (each a msgpack value, no framing between them)::

    {"message": "...", "host": "node-a", ...}         a bare map (Fluentd exec_filter with
                                                        <format> @type msgpack)
    [time, {..}]   [[time, {meta}], {..}]              Fluent Bit event formats
    [tag, time, {..}(, option)]                        Fluentd forward protocol: Message mode
    [tag, [[time, {..}], ...](, option)]               Forward mode
    [tag, <bin: items back to back>(, option)]         PackedForward mode (not compressed)

``time`` is an integer or float (epoch seconds), the Fluent EventTime (ext type 0: uint32 BE
seconds, uint32 BE nanoseconds) or a msgpack Timestamp (ext type -1). Each map is read with the
same field logic as JSON records (``oom_input/decoders/_records.py``); the envelope's time is the
wall time of a map that carries none. Yields ``KernelLine(..., source_format="msgpack")``.

Limits: no string or binary over 1 MiB, no array over 100 000 items, no map over 4096 pairs, no
ext over 1 KiB, no item over 2 MiB. A length prefix is checked against them as soon as it is
read, before its data arrives, so a hostile prefix (a "4 GB string") costs nothing.

Broken input (an invalid byte, a length over a limit, an item of no known shape): msgpack has no
framing to resynchronise on, so the decoder reports it once, skips the item's first byte and
tries again at the next byte that can start an item (a map or an array header), and so on
until an item of a known shape decodes; then it reports again on the next breakage. Garbage
that happens to look like an item may be read as one (it then has no message and is ignored).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

import msgpack

from oom_input.decoders._records import EventTime, RecordReader, envelope_entries
from oom_input.types import DecodeOptions, KernelLine

MAX_STR = MAX_BIN = 1 << 20
MAX_ARRAY = 100_000  # a Forward-mode chunk of events
MAX_MAP = 4096
MAX_EXT = 1024
MAX_ITEM = 2 << 20  # parsed, an item may take ~64 times its size (empty maps)
FEED_SLICE = 64 * 1024  # the Unpacker refuses a feed that would overflow its buffer: feed slices
# first bytes of the items this decoder reads: fixmap, fixarray, array16/32, map16/32
ITEM_START = frozenset((*range(0x80, 0xA0), 0xDC, 0xDD, 0xDE, 0xDF))
_ITEM_START_RE = re.compile(rb"[\x80-\x9f\xdc-\xdf]")

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


def ext_hook(code: int, data: bytes) -> Any:
    """Fluent EventTime (ext 0, 8 bytes) as ``EventTime``; other ext types as they are."""
    if code == 0 and len(data) == 8:
        return EventTime(int.from_bytes(data[:4], "big"), int.from_bytes(data[4:], "big"))
    return msgpack.ExtType(code, data)


def new_unpacker() -> msgpack.Unpacker:
    """An Unpacker with every size limit set (strings as text; invalid UTF-8 kept as
    surrogates, which the record reader turns back into bytes and reports)."""
    return msgpack.Unpacker(
        raw=False,
        unicode_errors="surrogateescape",
        ext_hook=ext_hook,
        max_buffer_size=MAX_ITEM,
        max_str_len=MAX_STR,
        max_bin_len=MAX_BIN,
        max_array_len=MAX_ARRAY,
        max_map_len=MAX_MAP,
        max_ext_len=MAX_EXT,
    )


def declares_too_much(buf: bytes | bytearray) -> bool:
    """Whether the (incomplete) item at the start of ``buf`` has a length prefix over the limits
    or a byte that msgpack never uses; walks the headers only, skipping the data."""
    pos, todo, end = 0, 1, len(buf)
    while todo and pos < end:
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
    """Items back to back; see the module docstring for the shapes and the resync."""

    name: ClassVar[str] = "msgpack"

    def __init__(self, options: DecodeOptions) -> None:
        self.options = options
        self._reader = RecordReader(options, self.name)
        self._unpacker = new_unpacker()
        self._pending = bytearray()  # bytes fed to the unpacker after its last whole item
        self._consumed = 0  # unpacker.tell() at the end of its last whole item
        self._checked = 0  # size of _pending when its length prefixes were last checked
        self._resyncing = False
        # --passthrough: called with each input record (a map) and its kernel line, if any,
        # in input order, instead of returning the lines from feed()
        self.passthrough: Callable[[Any, KernelLine | None], None] | None = None

    def feed(self, data: bytes) -> list[KernelLine]:
        """Take the next bytes (any split); return the kernel lines of the items they completed."""
        out: list[KernelLine] = []
        for start in range(0, len(data), FEED_SLICE):
            chunk = data[start : start + FEED_SLICE]
            try:
                self._unpacker.feed(chunk)
            except msgpack.BufferFull:  # an item over MAX_ITEM: drop it, go on with this chunk
                self._broken(f"msgpack item over {MAX_ITEM} bytes", bytes(self._pending[:64]))
                self._resume(chunk, 0)
                self._drain(out)
                continue
            self._pending += chunk
            self._drain(out)
        return out

    def finish(self) -> list[KernelLine]:
        """End of input: a last incomplete item is reported; items after its start are read."""
        out: list[KernelLine] = []
        while self._pending:
            self._broken("incomplete msgpack item at end of input", bytes(self._pending[:64]))
            self._resume(self._pending, 1)
            self._drain(out)
        return out

    def _drain(self, out: list[KernelLine]) -> None:
        while True:
            try:
                item = self._unpacker.unpack()
            except msgpack.OutOfData:
                if self._pending and len(self._pending) >= 2 * self._checked:
                    self._checked = len(self._pending)
                    if declares_too_much(self._pending):
                        self._broken("msgpack length over the limits", bytes(self._pending[:64]))
                        self._resume(self._pending, 1)
                        continue
                return
            except (ValueError, msgpack.UnpackException):  # FormatError, StackError, limits
                self._broken("broken msgpack", bytes(self._pending[:64]))
                self._resume(self._pending, 1)
                continue
            end = self._unpacker.tell()
            raw = bytes(self._pending[: end - self._consumed])
            del self._pending[: end - self._consumed]
            self._consumed, self._checked = end, 0
            self._item(item, raw, out)

    def _item(self, item: Any, raw: bytes, out: list[KernelLine]) -> None:
        entries = envelope_entries(item, self._unpack_packed)
        if entries is None:
            self._broken("msgpack item of no known shape", raw)
            return
        self._resyncing = False
        for record, wall_us in entries:
            line = self._reader.read(record, raw, wall_us)
            kernel_line = line if isinstance(line, KernelLine) else None
            if self.passthrough is not None:
                self.passthrough(record, kernel_line)
            elif kernel_line is not None:
                out.append(kernel_line)

    def _unpack_packed(self, data: bytes) -> list[Any]:
        unpacker = new_unpacker()
        unpacker.feed(data)
        try:
            return list(unpacker)
        except (ValueError, msgpack.UnpackException):
            self._broken("broken PackedForward entries", data[:64])
            return []

    def _broken(self, reason: str, raw: bytes) -> None:
        """Report a breakage, once until an item of a known shape decodes again."""
        if not self._resyncing:
            self.options.report(reason, raw)
        self._resyncing = True

    def _resume(self, data: bytes | bytearray, start: int) -> None:
        """A new Unpacker, fed ``data`` from the first possible item start at or after
        ``start`` (1: skip the first byte of a broken item)."""
        found = _ITEM_START_RE.search(data, start)
        rest = bytes(data[found.start() :]) if found else b""
        self._unpacker = new_unpacker()
        self._pending = bytearray(rest)
        self._consumed = self._checked = 0
        if rest:
            self._unpacker.feed(rest)
