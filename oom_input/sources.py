"""Sources: bytes in. Files and stdin are read in large chunks, returned as soon as they are
available (a pipe from ``journalctl -f`` is not held back until a chunk fills). Compressed
input (gzip, bzip2, xz, zstd when available) is recognised by its first bytes and decompressed
as it streams (``oom_input.compression``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from oom_input.compression import decompress_chunks

CHUNK_BYTES = 1 << 20


def read_chunks(
    path: str,
    chunk_bytes: int = CHUNK_BYTES,
    *,
    on_read: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Yield the bytes of ``path`` (``-`` = stdin) chunk by chunk, decompressed if they are
    compressed. ``on_read`` is called with the size of every chunk read from the file (before
    decompression: what progress against the file size counts). Raises OSError if the file
    cannot be opened or read, and ``CompressedDataError`` (an OSError) after the readable part
    of a damaged compressed file."""
    name = "stdin" if path == "-" else path
    yield from decompress_chunks(_read_path(path, chunk_bytes, on_read), name)


def _read_path(
    path: str, chunk_bytes: int, on_read: Callable[[int], None] | None
) -> Iterator[bytes]:
    if path == "-":
        yield from _read_fd(0, chunk_bytes, on_read)
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        yield from _read_fd(fd, chunk_bytes, on_read)
    finally:
        os.close(fd)


def _read_fd(fd: int, chunk_bytes: int, on_read: Callable[[int], None] | None) -> Iterator[bytes]:
    while True:
        try:
            data = os.read(fd, chunk_bytes)
        except InterruptedError:  # pragma: no cover - PEP 475 retries for us
            continue
        if not data:
            return
        if on_read is not None:
            on_read(len(data))
        yield data
