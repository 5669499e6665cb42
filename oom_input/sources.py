"""Sources: bytes in. Files and stdin are read in large chunks, returned as soon as they are
available (a pipe from ``journalctl -f`` is not held back until a chunk fills)."""

from __future__ import annotations

import os
from collections.abc import Iterator

CHUNK_BYTES = 1 << 20


def read_chunks(path: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Yield the bytes of ``path`` (``-`` = stdin) chunk by chunk. Raises OSError if the file
    cannot be opened or read."""
    if path == "-":
        yield from _read_fd(0, chunk_bytes)
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        yield from _read_fd(fd, chunk_bytes)
    finally:
        os.close(fd)


def _read_fd(fd: int, chunk_bytes: int) -> Iterator[bytes]:
    while True:
        try:
            data = os.read(fd, chunk_bytes)
        except InterruptedError:  # pragma: no cover - PEP 475 retries for us
            continue
        if not data:
            return
        yield data
