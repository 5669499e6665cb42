"""client-go's event correlator, the parts that matter (``tools/record/events_cache.go``).

- spam filter (``EventSourceObjectSpamFilter``): a token bucket per source and involved object,
  burst 25, one more token per 5 minutes;
- aggregation of identical Events (``eventLogger``): the same object, fieldPath, reason and
  message within 10 minutes is a PATCH of the first (``count`` + 1, ``lastTimestamp``).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from typing import Final

DEDUPE_WINDOW_S: Final = 600.0
DEDUPE_ENTRIES: Final = 4096  # client-go: maxLruCacheEntries
SPAM_BURST: Final = 25  # client-go EventSourceObjectSpamFilter: defaultSpamBurst
SPAM_REFILL_S: Final = 300.0  # ... and defaultSpamQPS = 1/300
SPAM_OBJECTS: Final = 4096
_OBJECT_FIELDS: Final = ("kind", "namespace", "name", "uid", "apiVersion")


class SpamFilter:
    """A token bucket per involved object (burst 25, one more token per 5 minutes)."""

    def __init__(self, burst: int = SPAM_BURST, refill_s: float = SPAM_REFILL_S) -> None:
        self.burst = burst
        self.refill_s = refill_s
        self._buckets: collections.OrderedDict[str, tuple[float, float]] = collections.OrderedDict()

    def allow(self, key: str, now: float) -> bool:
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) / self.refill_s)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > SPAM_OBJECTS:
            self._buckets.popitem(last=False)
        return allowed


@dataclass
class Posted:
    """An Event already posted: where it is, for the PATCH of an identical one."""

    name: str
    namespace: str
    count: int
    first: str
    last_mono: float


def object_key(component: str, node: str, involved: dict[str, str]) -> str:
    """client-go's getSpamKey: source and involved object, not the reason or message."""
    return "\x00".join([component, node, *(involved.get(f, "") for f in _OBJECT_FIELDS), "Warning"])


def event_key(spam_key: str, involved: dict[str, str], reason: str, message: str) -> str:
    """client-go's getEventKey: the spam key and fieldPath, reason and message."""
    return "\x00".join([spam_key, involved.get("fieldPath", ""), reason, message])


class Correlator:
    """Which Events to send, and which are a PATCH of an earlier identical one."""

    def __init__(self) -> None:
        self.spam = SpamFilter()
        self._posted: collections.OrderedDict[str, Posted] = collections.OrderedDict()

    def twin(self, key: str, mono: float) -> Posted | None:
        """The identical Event posted within the window, if any."""
        posted = self._posted.get(key)
        return posted if posted is not None and mono - posted.last_mono <= DEDUPE_WINDOW_S else None

    def remember(self, key: str, posted: Posted) -> None:
        self._posted.pop(key, None)
        self._posted[key] = posted
        if len(self._posted) > DEDUPE_ENTRIES:
            self._posted.popitem(last=False)


__all__ = ["Correlator", "Posted", "SpamFilter", "event_key", "object_key"]
