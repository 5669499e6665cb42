"""The msgpack outputs, decoded back with msgpack: bare maps and forward-protocol entries."""

from __future__ import annotations

import io
import struct

import msgpack
import pytest

from oom_input.sinks.msgpack import ForwardSink, MsgpackSink
from oom_input.types import RECORD_FIELDS, OomRecord
from schema_util import validate_record

RECORD = OomRecord(
    time_of_death="2025-11-26T18:19:54.840991Z",
    kernel_time_us=1194840991,
    host="node-a",
    boot_id="aae7e8d9-ea8a-4d39-9e7a-7bbce85930c1",
    pid=3171,
    process_name="str\ufffdss",
    container_name="/machine/demo",
    victim_container_name="/machine/demo",
    kind="memcg",
    complete=True,
    source_format="journal-json",
)
UNTIMED = OomRecord(pid=1, process_name="a")


def unpack_all(data: bytes) -> list:
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=True)
    unpacker.feed(data)
    return list(unpacker)


class FlushCounter(io.BytesIO):
    """A stream that counts flushes."""

    flushes = 0

    def flush(self) -> None:
        self.flushes += 1


class TestMsgpackSink:
    def test_round_trip(self) -> None:
        """Each record is one bare map holding the record, key for key."""
        stream = io.BytesIO()
        sink = MsgpackSink(stream)
        sink.write(RECORD)
        sink.write(UNTIMED)
        assert [RECORD.as_dict(), UNTIMED.as_dict()] == unpack_all(stream.getvalue())

    def test_maps_are_valid_records(self) -> None:
        """The decoded maps validate against the record schema, keys in schema order."""
        stream = io.BytesIO()
        MsgpackSink(stream).write(RECORD)
        [decoded] = unpack_all(stream.getvalue())
        validate_record(decoded)
        assert list(RECORD_FIELDS) == list(decoded)

    def test_flushed_per_record(self) -> None:
        """Every record is flushed at once (agents read record by record)."""
        stream = FlushCounter()
        sink = MsgpackSink(stream)
        sink.write(RECORD)
        sink.write(RECORD)
        assert stream.flushes == 2


class TestForwardSink:
    def test_message_mode_entry(self) -> None:
        """Each record is [tag, EventTime, record]."""
        stream = io.BytesIO()
        ForwardSink(stream, tag="k8s.oom").write(RECORD)
        [entry] = unpack_all(stream.getvalue())
        tag, _time, record = entry
        assert ("k8s.oom", RECORD.as_dict()) == (tag, record)

    def test_event_time_bytes(self) -> None:
        """EventTime is ext type 0 holding uint32 BE seconds and nanoseconds of time_of_death."""
        stream = io.BytesIO()
        ForwardSink(stream).write(RECORD)
        [[_, time, _]] = unpack_all(stream.getvalue())
        expected = msgpack.ExtType(0, struct.pack(">II", 1764181194, 840991000))
        assert expected == time

    def test_default_tag(self) -> None:
        """The tag is "oom" unless told."""
        stream = io.BytesIO()
        ForwardSink(stream).write(RECORD)
        assert unpack_all(stream.getvalue())[0][0] == "oom"

    def test_time_of_reading_without_time_of_death(self) -> None:
        """A record without time_of_death gets the current time."""
        stream = io.BytesIO()
        ForwardSink(stream, clock_ns=lambda: 1_700_000_000_123_456_789).write(UNTIMED)
        [[_, time, _]] = unpack_all(stream.getvalue())
        assert struct.pack(">II", 1700000000, 123456789) == time.data

    def test_empty_tag_rejected(self) -> None:
        """An empty tag fails at construction."""
        with pytest.raises(ValueError, match="tag"):
            ForwardSink(io.BytesIO(), tag="")

    def test_flushed_per_record(self) -> None:
        """Every entry is flushed at once."""
        stream = FlushCounter()
        ForwardSink(stream).write(RECORD)
        assert stream.flushes == 1
