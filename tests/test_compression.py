"""Compressed inputs: recognised by content, streamed, damage reported after what was readable."""

from __future__ import annotations

import bz2
import gzip
import lzma
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import run_cli

from oom_input.compression import CompressedDataError, decompress_chunks, sniff
from oom_input.sources import read_chunks

REAL = Path(__file__).parent / "data" / "real"
CAPTURE = REAL / "two-kills-with-noise.kmsg"

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
}


cli = run_cli


@pytest.mark.parametrize("fmt", sorted(COMPRESSORS))
def test_read_chunks_decompresses_to_the_same_bytes(fmt: str, tmp_path: Path) -> None:
    """gzip, bzip2 and xz files of a real capture read back as the capture's bytes."""
    path = tmp_path / f"capture.{fmt}"
    path.write_bytes(COMPRESSORS[fmt](CAPTURE.read_bytes()))
    assert b"".join(read_chunks(str(path))) == CAPTURE.read_bytes()


@pytest.mark.parametrize("fmt", sorted(COMPRESSORS))
def test_cli_gives_the_same_records_for_a_compressed_file(fmt: str, tmp_path: Path) -> None:
    """`oom-input FILE.gz` (and .bz2, .xz) writes the same records as for the plain file."""
    path = tmp_path / f"kern.log.2.{fmt}"
    path.write_bytes(COMPRESSORS[fmt](CAPTURE.read_bytes()))
    plain, packed = cli(str(CAPTURE)), cli(str(path))
    assert packed.returncode == 0, packed.stderr
    assert packed.stdout == plain.stdout
    assert packed.stdout.count(b"\n") == 2


def test_detection_is_by_content_not_name(tmp_path: Path) -> None:
    """A gzip file named `.log` is decompressed."""
    path = tmp_path / "kern.log"
    path.write_bytes(gzip.compress(CAPTURE.read_bytes()))
    assert b"".join(read_chunks(str(path))) == CAPTURE.read_bytes()


def test_compressed_stdin_is_decompressed() -> None:
    """xz data on stdin gives the records of the plain capture."""
    proc = cli(stdin=lzma.compress(CAPTURE.read_bytes()))
    assert proc.stdout == cli(str(CAPTURE)).stdout


def test_plain_input_passes_through_unchanged() -> None:
    """Uncompressed chunks come out as they went in, chunk for chunk."""
    chunks = [b"\x1f", b"not gzip\n", b"more\n"]
    assert list(decompress_chunks(chunks, "x")) == chunks


def test_a_plain_stream_is_not_held_back_for_sniffing() -> None:
    """The first chunk of a plain stream is yielded before a second one is read."""

    def source() -> object:
        yield b"6,1,2,-;text\n"
        raise AssertionError("read past the first chunk")

    assert next(decompress_chunks(source(), "pipe")) == b"6,1,2,-;text\n"  # type: ignore[arg-type]


def test_input_shorter_than_a_magic_passes_through() -> None:
    """A one-byte input that starts like gzip is passed through as it is."""
    assert list(decompress_chunks([b"\x1f"], "x")) == [b"\x1f"]


def test_magic_split_across_chunks_is_recognised() -> None:
    """An xz magic cut over several one-byte chunks is still recognised."""
    data = lzma.compress(b"hello\n")
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert b"".join(decompress_chunks(chunks, "x")) == b"hello\n"


def test_concatenated_gzip_members_are_all_read() -> None:
    """`cat a.gz b.gz` reads as a then b."""
    data = gzip.compress(b"a\n") + gzip.compress(b"b\n")
    assert b"".join(decompress_chunks([data], "x")) == b"a\nb\n"


def test_zero_padding_after_the_stream_is_ignored() -> None:
    """Zero bytes after the last gzip member (block padding) are not an error."""
    data = gzip.compress(b"a\n") + b"\0" * 100
    assert b"".join(decompress_chunks([data[:30], data[30:]], "x")) == b"a\n"


def test_garbage_after_the_stream_is_an_error() -> None:
    """Other bytes after the last gzip member raise, after the member's data."""
    out: list[bytes] = []
    with pytest.raises(CompressedDataError, match="followed by other bytes"):
        out.extend(decompress_chunks([gzip.compress(b"a\n") + b"garbage"], "x.gz"))
    assert out == [b"a\n"]


@pytest.mark.parametrize("fmt", ["bzip2", "xz"])
def test_garbage_after_the_last_stream_is_an_error(fmt: str) -> None:
    """Other bytes after the last bzip2 / xz stream (beyond the block read with its end)
    raise, after the stream's data."""
    out: list[bytes] = []
    data = COMPRESSORS[fmt](b"a\n") + b"garbage" * 10_000
    with pytest.raises(CompressedDataError, match="after its last stream"):
        out.extend(decompress_chunks([data[:10], data[10:]], "x"))
    assert out == [b"a\n"]


@pytest.mark.parametrize("fmt", sorted(COMPRESSORS))
def test_concatenated_streams_then_zero_padding(fmt: str) -> None:
    """Two streams in a row, then zero padding, in one-byte chunks: both streams' bytes."""
    data = COMPRESSORS[fmt](b"a\n") + COMPRESSORS[fmt](b"b\n") + b"\0" * 4096
    assert b"".join(decompress_chunks([data[i : i + 1] for i in range(len(data))], "x")) == (
        b"a\nb\n"
    )


@pytest.mark.parametrize("fmt", sorted(COMPRESSORS))
def test_truncated_stream_is_reported_as_truncated(fmt: str) -> None:
    """A stream of any format cut short raises 'truncated', naming the input."""
    data = COMPRESSORS[fmt](CAPTURE.read_bytes())
    with pytest.raises(CompressedDataError, match=r"^in\.x: .* is truncated"):
        b"".join(decompress_chunks([data[: len(data) // 2]], "in.x"))


def test_truncated_gzip_yields_what_it_could_then_a_clear_error(tmp_path: Path) -> None:
    """A .gz cut short gives its readable start, then an OSError naming the file."""
    data = CAPTURE.read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(data)[:-200])
    out: list[bytes] = []
    with pytest.raises(OSError, match="truncated") as info:
        out.extend(read_chunks(str(path)))
    assert str(path) in str(info.value)
    got = b"".join(out)
    assert len(got) > len(data) // 2
    assert data.startswith(got)


def test_damaged_xz_is_a_clear_error() -> None:
    """Flipped bytes inside an xz stream raise CompressedDataError naming the input."""
    data = bytearray(lzma.compress(CAPTURE.read_bytes()))
    data[100:110] = b"\xff" * 10
    with pytest.raises(CompressedDataError, match=r"^stdin: damaged xz data"):
        b"".join(decompress_chunks([bytes(data)], "stdin"))


def test_cli_reports_a_truncated_file_and_keeps_its_records(tmp_path: Path) -> None:
    """The CLI writes the records of a cut .gz, names it on stderr and exits 1."""
    path = tmp_path / "kern.log.gz"
    path.write_bytes(gzip.compress(CAPTURE.read_bytes())[:-50])
    proc = cli(str(path))
    assert proc.returncode == 1
    assert proc.stdout.count(b"\n") == 2
    assert f"cannot read {path}: gzip data is truncated".encode() in proc.stderr


def test_sniff_names_the_formats() -> None:
    """sniff tells the four magics apart and says None for text."""
    assert [sniff(m) for m in (b"\x1f\x8b\x08", b"BZh9", b"\xfd7zXZ\x00", b"(\xb5/\xfd")] == [
        "gzip",
        "bzip2",
        "xz",
        "zstd",
    ]
    assert sniff(b"6,1,2,-;x") is None


def test_memory_stays_bounded_for_a_highly_compressed_file(tmp_path: Path) -> None:
    """200 MiB from a small .gz are read in chunks: peak RSS grows by far less than that."""
    path = tmp_path / "big.gz"
    line = b"6,1,2,-;eth0: link is up, nothing to see here, " + b"x" * 60 + b"\n"
    block = line * ((1 << 20) // len(line) + 1)
    with gzip.open(path, "wb", compresslevel=1) as out:
        for _ in range(200):
            out.write(block[: 1 << 20])
    assert path.stat().st_size < 5 << 20
    script = textwrap.dedent(
        f"""
        import resource
        from oom_input.sources import read_chunks
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        total = biggest = 0
        for chunk in read_chunks({str(path)!r}):
            total += len(chunk)
            biggest = max(biggest, len(chunk))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(total, biggest, (after - before) // 1024)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=120, check=True
    )
    total, biggest, grown_mib = map(int, proc.stdout.split())
    assert total == 200 << 20
    assert biggest <= 1 << 20
    assert grown_mib < 60
