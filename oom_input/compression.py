"""Compressed inputs, recognised by content: ``oom-input /var/log/kern.log.2.gz`` just works.

The first bytes of a stream decide (never the file name, so a gzip file called ``kern.log`` or
gzip on stdin work too)::

    1f 8b               gzip (also several members in a row, as ``cat a.gz b.gz`` makes)
    42 5a 68 ("BZh")    bzip2 (also several streams, as pbzip2 writes)
    fd 37 7a 58 5a 00   xz (also several streams)
    28 b5 2f fd         zstd: with Python 3.14's ``compression.zstd`` or the optional
                        ``zstandard`` package; without either, a clear error

Anything else passes through untouched, chunk for chunk (a plain stream is never held back:
sniffing stops at the first byte that matches no magic). The standard library's readers
(``gzip.GzipFile``, ``bz2.BZ2File``, ``lzma.LZMAFile``) decompress, over a buffered reader of
the chunks: they read several members or streams in a row and stop at zero padding. At most
``max_output`` bytes come out per step, so a small, highly compressed file never expands in
memory. A stream that is cut short or damaged, or followed by bytes that are not another
stream, raises ``CompressedDataError`` (an ``OSError``) naming the input, after everything
that could be decompressed has been yielded. (Bytes after the last bzip2 or xz stream that the
standard library read together with its end are skipped unseen, as ``bzip2 -d`` does.)
"""

from __future__ import annotations

import errno
import io
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from oom_input.peek import peek

OUTPUT_BYTES = 1 << 20  # largest piece yielded at once

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

# the decompressing reader of a compressed file object
Opener = Callable[[BinaryIO], io.BufferedIOBase]


class CompressedDataError(OSError):
    """A compressed input is truncated or damaged (or its format cannot be read here)."""

    def __init__(self, name: str, message: str) -> None:
        # strerror is the message alone (the CLI prints "cannot read NAME: strerror");
        # str() names the input for everyone else
        super().__init__(errno.EIO, message, name)

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


class ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._chunk = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._chunk:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._chunk = memoryview(chunk)
        size = min(len(buffer), len(self._chunk))
        buffer[:size] = self._chunk[:size]
        self._chunk = self._chunk[size:]
        return size


def _zstd_opener() -> Opener | None:
    try:  # Python >= 3.14
        from compression import zstd

        return lambda raw: zstd.ZstdFile(raw)  # type: ignore[no-any-return,unused-ignore]
    except ImportError:
        pass
    try:
        import zstandard
    except ImportError:
        return None
    return lambda raw: zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)


def _gzip_opener() -> Opener:
    import gzip

    return lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")


def _bzip2_opener() -> Opener:
    import bz2

    return lambda raw: bz2.BZ2File(raw)


def _xz_opener() -> Opener:
    import lzma

    # FORMAT_XZ: stream padding (zero bytes) ends the input instead of looking truncated
    return lambda raw: lzma.LZMAFile(raw, format=lzma.FORMAT_XZ)


# (magic, format name, opener factory: it gives None when this Python cannot read the format).
# Each factory imports its module only for an input compressed so: a plain input does without
# gzip (~0.5 ms at start-up).
_FORMATS: tuple[tuple[bytes, str, Callable[[], Opener | None]], ...] = (
    (GZIP_MAGIC, "gzip", _gzip_opener),
    (BZIP2_MAGIC, "bzip2", _bzip2_opener),
    (XZ_MAGIC, "xz", _xz_opener),
    (ZSTD_MAGIC, "zstd", _zstd_opener),
)
_SNIFF_BYTES = max(len(magic) for magic, _, _ in _FORMATS)


def sniff(head: bytes) -> str | None:
    """The compression format whose magic ``head`` starts with, or None."""
    for magic, fmt, _ in _FORMATS:
        if head.startswith(magic):
            return fmt
    return None


def _matches_no_magic(head: bytes) -> bool:
    return not any(magic.startswith(head[: len(magic)]) for magic, _, _ in _FORMATS)


def decompress_chunks(
    chunks: Iterable[bytes], name: str, *, max_output: int = OUTPUT_BYTES
) -> Iterator[bytes]:
    """Yield the bytes of ``chunks``, decompressed when they start with a known magic.
    ``name`` (a path, or ``stdin``) is only used in error messages."""
    head, all_chunks = peek(chunks, _SNIFF_BYTES, _matches_no_magic)
    fmt = sniff(head)
    if fmt is None:
        yield from all_chunks
        return
    opener = next(make for _, f, make in _FORMATS if f == fmt)()
    if opener is None:
        raise CompressedDataError(
            name, f"{fmt} data, but this Python cannot read it (install the zstandard package)"
        )
    from gzip import BadGzipFile  # (the readers' errors: imported for a compressed input only)
    from lzma import LZMAError

    raw = io.BufferedReader(ChunkReader(all_chunks))
    try:
        with opener(raw) as reader:
            while out := reader.read1(max_output):
                yield out
    except EOFError as exc:
        raise CompressedDataError(
            name, f"{fmt} data is truncated (the stream ends before its end marker)"
        ) from exc
    except BadGzipFile as exc:
        if str(exc).startswith("Not a gzipped file"):  # what follows a member is no member
            raise CompressedDataError(
                name, f"{fmt} data followed by other bytes after its last member"
            ) from exc
        raise CompressedDataError(name, f"damaged {fmt} data ({exc})") from exc
    except (zlib.error, LZMAError, OSError, ValueError) as exc:
        raise CompressedDataError(name, f"damaged {fmt} data ({exc})") from exc
    rest = raw.read()  # what the reader left: after the last bzip2 / xz stream
    while rest:
        if rest.strip(b"\0"):
            raise CompressedDataError(
                name, f"{fmt} data followed by other bytes after its last stream"
            )
        rest = raw.read()
