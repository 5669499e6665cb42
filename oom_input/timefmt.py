"""Times: integer microseconds since the Unix epoch inside, RFC 3339 UTC where written out."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# the largest stamp a record may carry (the schema's year range ends at 9999)
_LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
MAX_WALL_US = (_LAST - EPOCH) // timedelta(microseconds=1)


def format_time(wall_us: int | None) -> str | None:
    """RFC 3339 UTC with microseconds and ``Z``, from µs since the epoch (None outside the years
    1970-9999, which the record's schema allows)."""
    if wall_us is None or not 0 <= wall_us <= MAX_WALL_US:
        return None
    return (EPOCH + timedelta(microseconds=wall_us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
