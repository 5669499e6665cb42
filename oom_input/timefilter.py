"""``--since`` / ``--until``: wall-time bounds and the record filter.

Accepted bounds (``parse_time_bound``), all turned into microseconds since the Unix epoch::

    2026-11-26T09:00:00Z, 2026-11-26T10:00:00+01:00   RFC 3339 (fraction optional, any digits)
    2026-11-26T09:00, 2026-11-26 09:00[:00]           no zone: the local zone (or ``tz``)
    2026-11-26                                        midnight at the start of that day
    -2h, -30m, -1d, -90s, -1w, -1h30m                 that long before now
    now
    @1764147600.5                                     Unix time in seconds

Both bounds are inclusive (like journalctl's): a record is kept when
``since <= time_of_death <= until``.

Records whose ``time_of_death`` is null (raw kmsg or dmesg read without ``--boot-time``) are
**kept**: a filter must not hide a kill it cannot place in time; the record itself shows the
unknown time, and ``WindowFilter.unknown_time`` counts them so the CLI can say so (and suggest
``--boot-time``).
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from oom_input.types import OomRecord, RecordSink

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_US = timedelta(microseconds=1)

# RFC 3339 and its friendlier forms: date, optional time (T or space), optional fraction
# (any number of digits, "." or ","), optional zone (Z, +hh:mm, +hhmm)
_STAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*([Zz]|[+-]\d{2}:?\d{2})?)?"
)
_RELATIVE = re.compile(r"-((?:\d+[smhdw])+)")
_RELATIVE_PART = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_EXPECTED = (
    "expected RFC 3339 (2026-11-26T09:00:00Z), YYYY-MM-DD, 'YYYY-MM-DD HH:MM[:SS]', "
    "a relative time like -2h, -30m or -1d, now, or @UNIX_SECONDS"
)


def parse_time_bound(text: str, *, now_us: int | None = None, tz: tzinfo | None = None) -> int:
    """``text`` as microseconds since the Unix epoch. A stamp without zone is in ``tz`` (None:
    the local zone); relative times count back from ``now_us`` (None: the clock).
    Raises ValueError with a message that says what is accepted."""
    s = text.strip()
    if now_us is None:
        now_us = time.time_ns() // 1000
    if s.lower() == "now":
        return now_us
    if (m := _RELATIVE.fullmatch(s)) is not None:
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _RELATIVE_PART.findall(m.group(1)))
        return now_us - seconds * 1_000_000
    if s.startswith("@"):
        try:
            return round(float(s[1:]) * 1_000_000)
        except ValueError:
            raise ValueError(f"invalid time {text!r}: {_EXPECTED}") from None
    us = _stamp_us(s, tz)
    if us is None:
        raise ValueError(f"invalid time {text!r}: {_EXPECTED}")
    return us


def time_bound_argument(text: str) -> int:
    """``parse_time_bound`` for argparse's ``type=``: its message reaches the user."""
    try:
        return parse_time_bound(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _stamp_us(s: str, tz: tzinfo | None) -> int | None:
    m = _STAMP.fullmatch(s)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    micro = int((frac + "000000")[:6]) if frac else 0
    if zone is None:
        zone_info = tz
    elif zone in "Zz":
        zone_info = timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        zone_info = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        dt = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
            tzinfo=zone_info,
        )
    except ValueError as exc:
        raise ValueError(f"invalid time {s!r}: {exc}") from None
    if dt.tzinfo is None:
        dt = dt.astimezone()  # naive: the local zone
    return (dt - _EPOCH) // _US


def stamp_us(value: str | None) -> int | None:
    """A record's ``time_of_death`` (RFC 3339) as microseconds since the epoch; None when it is
    null or not a stamp."""
    if not value:
        return None
    try:
        return _stamp_us(value, timezone.utc)
    except ValueError:
        return None


def record_value(record: OomRecord | Mapping[str, Any], name: str) -> Any:
    """One key of a record, whether an ``OomRecord`` or a dict read back from JSON."""
    if isinstance(record, Mapping):
        return record.get(name)
    return getattr(record, name, None)


def record_in_window(
    record: OomRecord | Mapping[str, Any], since_us: int | None, until_us: int | None
) -> bool:
    """Whether ``record`` lies in ``[since_us, until_us]`` (None: unbounded). A record whose
    time is unknown is kept (see the module docstring)."""
    us = stamp_us(record_value(record, "time_of_death"))
    if us is None:
        return True
    if since_us is not None and us < since_us:
        return False
    return until_us is None or us <= until_us


class WindowFilter:
    """A sink that passes the records inside the window on to ``sinks`` (in order) and counts
    the others; ``unknown_time`` counts the records passed on without a time."""

    def __init__(
        self, *sinks: RecordSink, since_us: int | None = None, until_us: int | None = None
    ):
        if since_us is not None and until_us is not None and since_us > until_us:
            raise ValueError("--since is later than --until: no record can match")
        self.sinks = sinks
        self.since_us = since_us
        self.until_us = until_us
        self.dropped = 0
        self.unknown_time = 0

    def write(self, record: OomRecord) -> None:
        if not record_in_window(record, self.since_us, self.until_us):
            self.dropped += 1
            return
        if (self.since_us is not None or self.until_us is not None) and stamp_us(
            record.time_of_death
        ) is None:
            self.unknown_time += 1
        for sink in self.sinks:
            sink.write(record)

    def write_object(self, obj: Any) -> None:
        """--passthrough input records are not filtered: they go to the sinks that take them."""
        for sink in self.sinks:
            write_object = getattr(sink, "write_object", None)
            if write_object is not None:
                write_object(obj)

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
