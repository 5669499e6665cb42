"""Look at the head of a stream of chunks without losing it: the one helper for every reader
that decides by a stream's first bytes (compression magic, stream formats, oom-input's own
records)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator


def peek(
    chunks: Iterable[bytes], size: int, enough: Callable[[bytes], bool] | None = None
) -> tuple[bytes, Iterator[bytes]]:
    """The first bytes of ``chunks``, and an iterator that still yields every chunk (those
    read included, unchanged). Reading stops at the first chunk that makes the head ``size``
    bytes long or for which ``enough(head)`` is true, or at the end: a live pipe is never held
    up for more than it must give. The head may be longer than ``size`` (whole chunks)."""
    it = iter(chunks)
    taken: list[bytes] = []
    head = b""
    for chunk in it:
        taken.append(chunk)
        head += chunk
        if len(head) >= size or (enough is not None and enough(head)):
            break
    return head, itertools.chain(taken, it)


def first_line(head: bytes) -> tuple[int, int] | None:
    """Where the first line of ``head`` holding more than whitespace starts and ends (its
    newline, or the end of ``head``), or None: ``head`` is all whitespace (blank lines before a
    file's first line tell nothing of its format)."""
    content = len(head) - len(head.lstrip())
    if content == len(head):
        return None
    end = head.find(b"\n", content)
    return head.rfind(b"\n", 0, content) + 1, len(head) if end < 0 else end


def has_first_line(head: bytes) -> bool:
    """``enough`` for a head that must hold its first line with content whole."""
    line = first_line(head)
    return line is not None and line[1] < len(head)


__all__ = ["first_line", "has_first_line", "peek"]
