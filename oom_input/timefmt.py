"""Times: integer microseconds since the Unix epoch inside, RFC 3339 UTC where written out."""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta, timezone

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# the largest stamp a record may carry (the schema's year range ends at 9999)
_LAST = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)
MAX_WALL_US = (_LAST - EPOCH) // timedelta(microseconds=1)
_EPOCH_ORDINAL = EPOCH.toordinal()
_US_PER_DAY = 86_400_000_000


def format_time(wall_us: int | None) -> str | None:
    """RFC 3339 UTC with microseconds and ``Z``, from µs since the epoch (None outside the years
    1970-9999, which the record's schema allows): what ``(EPOCH + timedelta(microseconds=
    wall_us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` gives, in arithmetic (once per record)."""
    if wall_us is None or not 0 <= wall_us <= MAX_WALL_US:
        return None
    day, us = divmod(wall_us, _US_PER_DAY)
    seconds, us = divmod(us, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    # printf formats these five a third faster than an f-string
    return "%sT%02d:%02d:%02d.%06dZ" % (_date(day), hours, minutes, seconds, us)  # noqa: UP031


@functools.lru_cache(maxsize=64)
def _date(day: int) -> str:
    """The date ("YYYY-MM-DD") ``day`` days after the epoch (a stream's kills share a few)."""
    return date.fromordinal(_EPOCH_ORDINAL + day).isoformat()
