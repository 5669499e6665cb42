"""JSON lines on a binary stream: one record per line, flushed per record (agents read line by
line and must not wait for a buffer to fill)."""

from __future__ import annotations

from typing import Any, BinaryIO

import orjson

from oom_input.types import OutputOptions


class JsonLinesSink:
    """Writes each record as one JSON object and a newline (orjson: UTF-8, no surrogates)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    @classmethod
    def from_options(cls, stream: BinaryIO, options: OutputOptions) -> JsonLinesSink:
        return cls(stream)

    def write_object(self, obj: Any) -> None:
        """Any JSON value (``--passthrough`` re-encodes each input record with this)."""
        self._stream.write(orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE))
        self._stream.flush()

    # a record is a JSON value of its own (orjson writes a dataclass's fields in order): one call
    # less per record
    write = write_object

    def close(self) -> None:
        self._stream.flush()
