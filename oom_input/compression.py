"""Compressed inputs, recognised by content: ``oom-input /var/log/kern.log.2.gz`` just works.

The first bytes of a stream decide (never the file name, so a gzip file called ``kern.log`` or
gzip on stdin work too)::

    1f 8b               gzip (also several members in a row, as ``cat a.gz b.gz`` makes)
    42 5a 68 ("BZh")    bzip2 (also several streams, as pbzip2 writes)
    fd 37 7a 58 5a 00   xz (also several streams)
    28 b5 2f fd         zstd: with Python 3.14's ``compression.zstd`` or the optional
                        ``zstandard`` package; without either, a clear error

Anything else passes through untouched, chunk for chunk (a plain stream is never held back:
sniffing stops at the first byte that matches no magic). Decompression is streamed: at most
``max_output`` bytes come out per step, so a small, highly compressed file never expands in
memory. A stream that is cut short or damaged raises ``CompressedDataError`` (an ``OSError``)
naming the input, after everything that could be decompressed has been yielded.
"""

from __future__ import annotations

import bz2
import errno
import lzma
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Protocol

OUTPUT_BYTES = 1 << 20  # largest piece yielded at once

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class CompressedDataError(OSError):
    """A compressed input is truncated or damaged (or its format cannot be read here)."""

    def __init__(self, name: str, message: str) -> None:
        # strerror is the message alone (the CLI prints "cannot read NAME: strerror");
        # str() names the input for everyone else
        super().__init__(errno.EIO, message, name)

    def __str__(self) -> str:
        return f"{self.filename}: {self.strerror}"


class _Decompressor(Protocol):
    """The shape of ``bz2.BZ2Decompressor`` / ``lzma.LZMADecompressor``: one stream each."""

    @property
    def eof(self) -> bool: ...

    @property
    def needs_input(self) -> bool: ...

    @property
    def unused_data(self) -> bytes: ...

    def decompress(self, data: bytes, max_length: int = -1) -> bytes: ...


class _Gzip:
    """zlib's gzip decompressor behind the bz2/lzma interface (it keeps the input that did not
    fit ``max_length`` in ``unconsumed_tail`` instead of buffering it itself)."""

    def __init__(self) -> None:
        self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)

    @property
    def eof(self) -> bool:
        return self._d.eof

    @property
    def needs_input(self) -> bool:
        return not self._d.unconsumed_tail

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        tail = self._d.unconsumed_tail
        return self._d.decompress(tail + data if tail else data, max(max_length, 0))

    def drain(self) -> bytes:
        """End of input: what zlib still holds (small: at most its window)."""
        return self._d.flush()


class _ZstandardPackage:
    """The optional ``zstandard`` package's decompressobj behind the same interface (it takes
    no output limit: a chunk of input gives all its output at once)."""

    def __init__(self, module: object) -> None:
        self._d = module.ZstdDecompressor().decompressobj()  # type: ignore[attr-defined]
        self.needs_input = True

    @property
    def eof(self) -> bool:
        return bool(getattr(self._d, "eof", False))

    @property
    def unused_data(self) -> bytes:
        return bytes(getattr(self._d, "unused_data", b""))

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        return bytes(self._d.decompress(data))


def _zstd_factory() -> Callable[[], _Decompressor] | None:
    try:  # Python >= 3.14
        from compression import zstd  # type: ignore[import-not-found]

        return zstd.ZstdDecompressor  # type: ignore[no-any-return]
    except ImportError:
        pass
    try:
        import zstandard  # type: ignore[import-not-found]
    except ImportError:
        return None
    return lambda: _ZstandardPackage(zstandard)


# (magic, format name, factory or None when this Python cannot read it)
_FORMATS: tuple[tuple[bytes, str, Callable[[], Callable[[], _Decompressor] | None]], ...] = (
    (GZIP_MAGIC, "gzip", lambda: _Gzip),
    (BZIP2_MAGIC, "bzip2", lambda: bz2.BZ2Decompressor),
    (XZ_MAGIC, "xz", lambda: lzma.LZMADecompressor),
    (ZSTD_MAGIC, "zstd", _zstd_factory),
)
_SNIFF_BYTES = max(len(magic) for magic, _, _ in _FORMATS)

# the errors the decompressors raise on damaged data
_DATA_ERRORS = (zlib.error, lzma.LZMAError, OSError, EOFError, ValueError)


def sniff(head: bytes) -> str | None:
    """The compression format whose magic ``head`` starts with, or None."""
    for magic, fmt, _ in _FORMATS:
        if head.startswith(magic):
            return fmt
    return None


def _could_become_magic(head: bytes) -> bool:
    return any(magic.startswith(head) for magic, _, _ in _FORMATS)


def decompress_chunks(
    chunks: Iterable[bytes], name: str, *, max_output: int = OUTPUT_BYTES
) -> Iterator[bytes]:
    """Yield the bytes of ``chunks``, decompressed when they start with a known magic.
    ``name`` (a path, or ``stdin``) is only used in error messages."""
    it = iter(chunks)
    head = b""
    for chunk in it:
        head += chunk
        if len(head) >= _SNIFF_BYTES or not _could_become_magic(head):
            break
    fmt = sniff(head)
    if fmt is None:
        if head:
            yield head
        yield from it
        return
    factory = next(make for magic, f, make in _FORMATS if f == fmt)()
    if factory is None:
        raise CompressedDataError(
            name, f"{fmt} data, but this Python cannot read it (install the zstandard package)"
        )
    yield from _decompress(_prepend(head, it), factory, fmt, name, max_output)


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


def _decompress(
    chunks: Iterator[bytes],
    factory: Callable[[], _Decompressor],
    fmt: str,
    name: str,
    max_output: int,
) -> Iterator[bytes]:
    magic = _magic(fmt)
    d = factory()
    streams = 1
    padding = False  # zero bytes seen after the last stream: only more zeros may follow
    for chunk in chunks:
        data = chunk
        while True:
            if d.eof:
                if not data:
                    break
                if padding or not data.startswith(magic[: len(data)]):
                    if data.strip(b"\0"):
                        raise CompressedDataError(
                            name, f"{fmt} data followed by other bytes after stream {streams}"
                        )
                    padding = True  # as tape and block writers add
                    break
                d = factory()  # another member/stream follows (cat a.gz b.gz, pbzip2)
                streams += 1
            try:
                out = d.decompress(data, max_output)
            except _DATA_ERRORS as exc:
                raise CompressedDataError(name, f"damaged {fmt} data ({exc})") from exc
            if out:
                yield out
            if d.eof:
                data = d.unused_data
            elif d.needs_input:
                break
            else:
                data = b""
    if isinstance(d, _Gzip) and not d.eof:
        try:
            out = d.drain()
        except zlib.error as exc:
            raise CompressedDataError(name, f"damaged {fmt} data ({exc})") from exc
        if out:
            yield out
    if not d.eof:
        raise CompressedDataError(
            name, f"{fmt} data is truncated (the stream ends before its end marker)"
        )


def _magic(fmt: str) -> bytes:
    return next(magic for magic, f, _ in _FORMATS if f == fmt)
