"""JSON lines on a binary stream: one record per line, flushed per record (agents read line by
line and must not wait for a buffer to fill)."""

from __future__ import annotations

from typing import Any, BinaryIO

import orjson

from oom_input.types import OomRecord, OutputOptions

# nesting orjson writes (its limit is 254); deeper values are written as NESTED_TOO_DEEP
MAX_DEPTH = 200
NESTED_TOO_DEEP = "[nested too deep]"


def writable(obj: Any, depth: int = 0) -> Any:
    """``obj`` as JSON can hold it: what a msgpack input carries beyond JSON (bytes, invalid
    UTF-8 text, keys that are no text, extension types) as text, invalid bytes replaced, and
    nesting beyond MAX_DEPTH as NESTED_TOO_DEEP."""
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
        except UnicodeEncodeError:  # (msgpack's invalid UTF-8, read with surrogateescape)
            try:
                raw = obj.encode("utf-8", "surrogateescape")
            except UnicodeEncodeError:
                raw = obj.encode("utf-8", "surrogatepass")
            return raw.decode("utf-8", "replace")
        return obj
    if obj is None or isinstance(obj, (bool, int, float)):
        return obj
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "replace")
    if depth >= MAX_DEPTH:
        return NESTED_TOO_DEEP
    if isinstance(obj, dict):
        return {
            writable(key if isinstance(key, (str, bytes)) else str(key), depth + 1): writable(
                value, depth + 1
            )
            for key, value in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [writable(item, depth + 1) for item in obj]
    return str(obj)


class JsonLinesSink:
    """Writes each record as one JSON object and a newline (orjson: UTF-8, no surrogates)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    @classmethod
    def from_options(cls, stream: BinaryIO, options: OutputOptions) -> JsonLinesSink:
        return cls(stream)

    def write_object(self, obj: Any) -> None:
        """Any value (``--passthrough`` re-encodes each input record with this): what JSON has
        no form for is written as ``writable`` makes it, never an error."""
        try:
            line = orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
        except orjson.JSONEncodeError:
            line = orjson.dumps(writable(obj), option=orjson.OPT_APPEND_NEWLINE)
        self._stream.write(line)
        self._stream.flush()

    def write(self, record: OomRecord) -> None:
        """A record (orjson writes a dataclass's fields in order)."""
        self._stream.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()
