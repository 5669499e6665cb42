"""Terminal captures: ``dmesg --color=always`` output gives the records of plain dmesg output."""

from __future__ import annotations

import itertools

import orjson
import pytest
from helpers import DATA, run_cli, run_pipeline

from oom_input.decoders._terminal import CSI, colored, without_escapes

DECODERS = DATA / "decoders"
# (coloured capture, the same records printed without colours), both by util-linux dmesg 2.38.1
PAIRS = [
    ("simple-memcg.dmesg-color", "simple-memcg.dmesg"),
    ("simple-memcg.dmesg-x-color", "simple-memcg.dmesg-x"),
]


@pytest.mark.parametrize(("colour", "plain"), PAIRS)
def test_a_coloured_capture_is_the_plain_one_without_its_escapes(colour: str, plain: str) -> None:
    """What the reader removes is exactly what --color added: the plain capture is left."""
    data = (DECODERS / colour).read_bytes()
    assert colored(data) and data.count(b"\x1b[") > 100
    assert CSI.sub(b"", data) == (DECODERS / plain).read_bytes()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 4096])
def test_escapes_cut_by_reads_are_removed_whole(size: int) -> None:
    """Read in pieces of any size, a control sequence cut by a read is still removed."""
    data = (DECODERS / "simple-memcg.dmesg-x-color").read_bytes()
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    assert b"".join(without_escapes(chunks)) == CSI.sub(b"", data)


def test_an_escape_at_the_very_end_is_kept() -> None:
    """A lone ESC (or an unfinished sequence) at the end of the input is text, kept as it is."""
    for tail in (b"\x1b", b"\x1b[", b"\x1b[0;1"):
        assert b"".join(without_escapes([b"a\x1b[1mb", tail])) == b"ab" + tail


def test_only_the_first_line_decides() -> None:
    """A file is read without escapes when its first line holds one (dmesg colours every line's
    stamp), never from what comes later: the same for any way the bytes were read."""
    assert colored(b"\x1b[32m[    1.000000] \x1b[0mx\n[    2.0] y\n")
    assert colored(b"kern  :info  : \x1b[32m[    1.000000] \x1b[0mx")
    assert not colored(b"[    1.000000] x\n\x1b[32m[    2.000000] \x1b[0my\n")
    assert not colored(b"[    1.000000] ESC [32m is no escape\n")
    # blank lines before it are not the first line
    assert colored(b"\n \r\n\x1b[32m[    1.000000] \x1b[0mx\n")
    assert not colored(b"\n\n[    1.000000] x\n\x1b[32m[    2.000000] \x1b[0my\n")
    assert not colored(b"\n\n")


@pytest.mark.parametrize(("colour", "plain"), PAIRS)
def test_coloured_capture_gives_the_plain_captures_records(colour: str, plain: str) -> None:
    """Through the CLI, with the format detected and named, and read in pieces of every size
    in-process: the records of the capture without colours."""
    want = run_cli("--input-format", "dmesg", str(DECODERS / plain))
    assert want.returncode == 0 and want.stdout
    records = [orjson.loads(line) for line in want.stdout.splitlines()]
    assert records[0]["complete"] and records[0]["kind"] == "memcg"
    for argv in ([], ["--input-format", "dmesg"]):
        got = run_cli(*argv, str(DECODERS / colour))
        assert (got.returncode, got.stdout, got.stderr) == (0, want.stdout, b"")
    data = (DECODERS / colour).read_bytes()
    for size in (1, 13, 1000):
        chunks = [data[i : i + size] for i in range(0, len(data), size)]
        assert run_pipeline(chunks) == records
    assert run_pipeline(itertools.repeat(data, 1), "dmesg") == records


# journalctl's styles captured with SYSTEMD_COLORS=1 (systemd 252): each the plain style's output
# with colours around the boot separator and every message of a priority but info
JOURNAL_STYLES = ["short", "short-precise", "short-iso", "short-iso-precise"]


@pytest.mark.parametrize("style", JOURNAL_STYLES)
def test_journalctls_colours_give_the_plain_outputs_records(style: str) -> None:
    """journalctl -o STYLE with SYSTEMD_COLORS=1 (its first line plain, so the file reader keeps
    the colours): the boot separator in bold and the messages in their priority's colour (the
    kill line err, the report's header and stack warning) give the plain output's records,
    boot id included, detected and named, however the bytes come."""
    path = DECODERS / f"simple-memcg.journal-{style}-colors"
    colour = path.read_bytes()
    plain = (DECODERS / f"simple-memcg.journal-{style}").read_bytes()
    assert not colored(colour) and colour.count(b"\x1b[") >= 30
    assert CSI.sub(b"", colour) == plain
    want = run_pipeline([plain], "journal")
    assert [r["boot_id"] for r in want] == [None, "aae7e8d9-ea8a-4d39-9e7a-7bbce85930c1"]
    assert want[1]["complete"] and want[1]["trigger_pid"] == 3171
    for size in (len(colour), 1, 7):
        chunks = [colour[i : i + size] for i in range(0, len(colour), size)]
        assert run_pipeline(chunks) == run_pipeline(chunks, "journal") == want
    result = run_cli("--input-format", "journal", str(path))
    assert (result.returncode, result.stderr) == (0, b"")
    assert (
        result.stdout
        == run_cli(
            "--input-format", "journal", str(path.with_name(f"simple-memcg.journal-{style}"))
        ).stdout
    )


def test_a_coloured_message_is_read_without_its_colours() -> None:
    """A short-precise kernel line whose message journalctl coloured (the fast path's shape
    but for the escape) decodes to the plain line's text, by decode and by quick_text."""
    from oom_input.decoders.journal import JournalDecoder
    from oom_input.types import DecodeOptions, KernelLine

    plain = b"Nov 26 18:19:54.840991 node-a kernel: Memory cgroup out of memory: Killed"
    colour = plain.replace(b"kernel: ", b"kernel: \x1b[0;1;31m\x1b[0;1;39m\x1b[0;1;31m") + (
        b"\x1b[0m"
    )
    decoder = JournalDecoder(DecodeOptions(year=2025))
    got, want = decoder.decode(colour), decoder.decode(plain)
    assert isinstance(got, KernelLine) and got == want
    assert decoder.quick_text(colour) is None  # (decoded instead)
    assert decoder.quick_text(plain) == (want.text, ("node-a", None))
