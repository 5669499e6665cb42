"""Diagnostics on stderr: counted, rate-limited, never on stdout, never stopping the stream."""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

# -v prints each malformed line, at most this many per second (then one "suppressed" count)
VERBOSE_PER_SECOND = 10
SHOWN_BYTES = 200
LIMITED_NOTICES = 10


class Diagnostics:
    """Counts damaged input by reason and prints notices; one summary line at exit."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = False) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self.verbose = verbose
        self.malformed_counts: Counter[str] = Counter()
        self.limited_counts: Counter[str] = Counter()
        # called before anything is written (e.g. to erase a progress line on the terminal)
        self.before_notice: Callable[[], None] | None = None
        self._window = 0.0
        self._shown = 0
        self._suppressed = 0

    def malformed(self, reason: str, raw: bytes) -> None:
        """A line that is damaged or not in the expected format (it is still used if it can be)."""
        self.malformed_counts[reason] += 1
        if not self.verbose:
            return
        now = time.monotonic()
        if now - self._window >= 1.0:
            if self._suppressed:
                self.notice(f"{self._suppressed} more malformed lines not shown")
            self._window, self._shown, self._suppressed = now, 0, 0
        if self._shown >= VERBOSE_PER_SECOND:
            self._suppressed += 1
            return
        self._shown += 1
        shown = raw[:SHOWN_BYTES].decode("utf-8", "backslashreplace")
        more = f" ... ({len(raw)} bytes)" if len(raw) > SHOWN_BYTES else ""
        self.notice(f"malformed line ({reason}): {shown!r}{more}")

    def overlong(self, size: int) -> None:
        self.malformed("line too long, cut", f"<{size} bytes>".encode())

    def notice(self, message: str) -> None:
        if self.before_notice is not None:
            self.before_notice()
        # stderr gone: diagnostics must never stop the stream
        with contextlib.suppress(OSError, ValueError):
            print(f"oom-input: {message}", file=self._stream, flush=True)

    def notice_limited(self, kind: str, message: str) -> None:
        """A notice that may repeat without bound (e.g. one per evicted log source): the first
        few are printed, the rest only counted in the summary."""
        self.limited_counts[kind] += 1
        if self.limited_counts[kind] <= LIMITED_NOTICES:
            self.notice(message)
            if self.limited_counts[kind] == LIMITED_NOTICES:
                self.notice(f"further '{kind}' notices are counted, not shown")

    def summary(self) -> None:
        """One line at exit: how many lines were malformed, by reason."""
        total = sum(self.malformed_counts.values())
        if total:
            reasons = ", ".join(f"{n} {why}" for why, n in self.malformed_counts.most_common())
            hint = "" if self.verbose else "; -v shows them"
            self.notice(f"{total} malformed input lines ({reasons}){hint}")
        for kind, n in self.limited_counts.items():
            if n > LIMITED_NOTICES:
                self.notice(f"{n} '{kind}' notices in all")
