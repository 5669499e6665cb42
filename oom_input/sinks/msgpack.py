"""msgpack outputs for Fluentd and Fluent Bit, flushed per record (agents read as records come).

- ``MsgpackSink``: one bare map per record, back to back: what Fluentd ``exec_filter`` reads with
  ``<parse> @type msgpack``.
- ``ForwardSink``: the Fluentd forward protocol in Message mode, ``[tag, EventTime, record]`` per
  record, so that ``oom-input ... | socat - TCP:host:24224`` feeds a ``forward`` input. EventTime
  is msgpack ext type 0 (uint32 BE seconds, uint32 BE nanoseconds) from the record's
  ``time_of_death``, else the current time.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, BinaryIO

import msgpack

from oom_input.sinks.jsonl import writable
from oom_input.types import OomRecord, OutputOptions

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)
_UINT32_END = 1 << 32


def event_time(seconds: int, nanoseconds: int) -> msgpack.ExtType:
    """Fluent EventTime: ext type 0, ``struct.pack(">II", seconds, nanoseconds)``."""
    return msgpack.ExtType(0, struct.pack(">II", seconds, nanoseconds))


def death_time_ns(record: OomRecord) -> int | None:
    """Epoch nanoseconds of ``time_of_death`` (RFC 3339, ``...Z``), None when it has none."""
    stamp = record.time_of_death
    if stamp is None:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment - _EPOCH) // _ONE_US * 1000


def packed(obj: Any) -> bytes:
    """``obj`` packed, never an error: invalid UTF-8 text read from msgpack input is written back
    as it came; nesting deeper than msgpack writes is written as ``writable`` makes it."""
    try:
        data: bytes = msgpack.packb(obj, unicode_errors="surrogateescape")
    except (ValueError, UnicodeEncodeError):
        data = msgpack.packb(writable(obj))
    return data


class MsgpackSink:
    """One msgpack map per record (the record's keys, in schema order)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    @classmethod
    def from_options(cls, stream: BinaryIO, options: OutputOptions) -> MsgpackSink:
        return cls(stream)

    def write(self, record: OomRecord) -> None:
        self.write_object(record.as_dict())

    def write_object(self, obj: Any) -> None:
        """Any map (``--passthrough`` re-encodes each input record with this)."""
        self._stream.write(packed(obj))
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()


class ForwardSink:
    """``[tag, EventTime, record]`` per record (forward protocol, Message mode)."""

    def __init__(
        self, stream: BinaryIO, tag: str = "oom", clock_ns: Callable[[], int] = time.time_ns
    ) -> None:
        if not tag:
            raise ValueError("the forward tag must not be empty")
        self._stream = stream
        self._tag = tag
        self._clock_ns = clock_ns

    @classmethod
    def from_options(cls, stream: BinaryIO, options: OutputOptions) -> ForwardSink:
        return cls(stream, tag=options.tag)

    def write(self, record: OomRecord) -> None:
        self._entry(death_time_ns(record), record.as_dict())

    def write_object(self, obj: Any) -> None:
        """Any map, stamped with the current time (``--passthrough``)."""
        self._entry(None, obj)

    def _entry(self, nanos: int | None, obj: Any) -> None:
        if nanos is None or not 0 <= nanos < _UINT32_END * 10**9:  # EventTime holds uint32 s
            nanos = self._clock_ns()
        seconds, nanoseconds = divmod(nanos, 10**9)
        self._stream.write(packed([self._tag, event_time(seconds, nanoseconds), obj]))
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()
