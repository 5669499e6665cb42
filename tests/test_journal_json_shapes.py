"""journalctl's other JSON outputs (``-o json-pretty``, ``-o json-sse``, ``-o json-seq``, printed
by the real journalctl: tests/data/structured/README.md) and Vector's log namespace (an event
that is its message alone, a bare JSON string) give the records of the same entries as
``journalctl -o json`` prints them."""

from __future__ import annotations

import tracemalloc

import orjson
import pytest
from helpers import DATA, run_cli, run_pipeline

from oom_input.decoders import make_stream_decoder
from oom_input.decoders.json_pretty import MAX_OBJECT
from oom_input.types import DecodeOptions, KernelLine

STRUCTURED = DATA / "structured"
# what real journalctl printed of one journal: -o json-seq is -o json with RS before each entry
JSON_SEQ = STRUCTURED / "simple-memcg.journal-json-seq-real-journalctl"
# (the same entries printed in another output, the -o json printing of them)
SAME_ENTRIES = [
    ("simple-memcg.json-pretty-real-journalctl", "simple-memcg.journal-json-seq-real-journalctl"),
    ("simple-memcg.journal-json-sse-real-journalctl", "simple-memcg.journal-json"),
    ("odd-name.json-pretty-real-journalctl", "odd-name.journal-json-real-journalctl"),
]


def as_json_lines(data: bytes) -> bytes:
    """journalctl -o json-seq output as -o json prints it (the RS bytes removed)."""
    return data.replace(b"\x1e", b"")


def records(data: bytes, chunks: int | None = None, input_format: str = "auto") -> list[dict]:
    pieces = (
        [data] if chunks is None else [data[i : i + chunks] for i in range(0, len(data), chunks)]
    )
    return run_pipeline(pieces, input_format, streams=True)


@pytest.mark.parametrize(("shape", "json"), SAME_ENTRIES)
def test_journalctl_outputs_give_the_records_of_its_json(shape: str, json: str) -> None:
    """Every output, detected (in any chunking) and named, gives the records of -o json: the
    same fields, times, host and boot id, the report whole."""
    json_data = (STRUCTURED / json).read_bytes()
    want = run_cli("--input-format", "journal-json", "-", stdin=as_json_lines(json_data))
    assert want.returncode == 0  # (odd-name: its invalid UTF-8 reported)
    wanted = [orjson.loads(line) for line in want.stdout.splitlines()]
    assert [r["complete"] for r in wanted] == [True]
    assert wanted[0]["host"] == "node-a" and wanted[0]["memory_usage_kb"] == 40960
    path = STRUCTURED / shape
    named = "json-pretty" if "json-pretty" in shape else "journal-json"
    for argv in ([str(path)], ["--input-format", named, str(path)]):
        got = run_cli(*argv)
        assert (got.returncode, got.stdout, got.stderr) == (0, want.stdout, want.stderr)
    data = path.read_bytes()
    for size in (1, 2, 7, 4096):
        assert records(data, size) == wanted


def test_json_pretty_spreads_an_entry_over_many_lines() -> None:
    """The real output is what the decoder is built for: a brace on a line of its own, a field
    per line, a byte-array MESSAGE an element per line."""
    data = (STRUCTURED / "odd-name.json-pretty-real-journalctl").read_bytes()
    assert data.startswith(b'{\n\t"') and b'\n}\n{\n\t"' in data
    assert b'\t"MESSAGE" : [\n\t\t115,\n\t\t116,\n' in data


def test_json_pretty_colours_are_removed() -> None:
    """journalctl -o json-pretty on a terminal (SYSTEMD_COLORS=1) puts each key and value
    between escapes; the objects are read without them: -o json's records."""
    colour = (STRUCTURED / "simple-memcg.json-pretty-colors-real-journalctl").read_bytes()
    assert colour.count(b'\t"\x1b[0;32m') > 500
    want = records(as_json_lines(JSON_SEQ.read_bytes()), input_format="journal-json")
    assert [r["complete"] for r in want] == [True]
    assert records(colour) == records(colour, 3) == want


def test_bare_strings_are_the_text_of_a_line() -> None:
    """Vector with schema.log_namespace = true and the json codec writes an event's value
    alone: its journald source's MESSAGE, its exec source's line (``cat /dev/kmsg``). Each is
    read as that text, the line decoders telling its format: the records of the capture."""
    capture = run_pipeline([(DATA / "real" / "simple-memcg.kmsg").read_bytes()])
    keys = ("pid", "process_name", "memory_usage_kb", "total_vm_kb", "complete", "top_tasks")
    want = [{k: r[k] for k in keys} for r in capture]
    for name, kernel_us in (("journald", None), ("exec", capture[0]["kernel_time_us"])):
        data = (STRUCTURED / f"simple-memcg.json-vector-{name}-log-namespace").read_bytes()
        assert data.startswith(b'"') and data.count(b"\n") == data.count(b'"\n')
        for input_format in ("auto", "json"):
            got = run_pipeline([data], input_format)
            assert [{k: r[k] for k in keys} for r in got] == want
            assert [r["kernel_time_us"] for r in got] == [kernel_us]
        result = run_cli("--input-format", "json", "-", stdin=data)
        assert (result.returncode, result.stderr) == (0, b"")


@pytest.mark.parametrize(
    "line",
    [b'"not closed', b'"quoted" prose "here"', b'"', b'"bad \\x escape"'],
)
def test_quoted_prose_is_plain_text_unreported(line: bytes) -> None:
    """A line in quotes that is no JSON string is plain text, not broken JSON."""
    result = run_cli("-v", "-", stdin=line + b"\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")


def test_json_sse_empty_lines_are_no_rejected_lines() -> None:
    """json-sse's empty line after each event is part of the format (named: not reported)."""
    path = STRUCTURED / "simple-memcg.journal-json-sse-real-journalctl"
    for name in ("json", "journal-json"):
        result = run_cli("--input-format", name, str(path))
        assert (result.returncode, result.stderr) == (0, b"")
        assert len(result.stdout.splitlines()) == 1


# --- json-pretty's bad input: reported, skipped, memory bounded --------------------------------
def _pretty_entries() -> bytes:
    return (STRUCTURED / "simple-memcg.json-pretty-real-journalctl").read_bytes()


def _read_reporting(data: bytes, size: int) -> tuple[list[KernelLine], list[str]]:
    reports: list[str] = []
    decoder = make_stream_decoder(
        "json-pretty", DecodeOptions(report=lambda r, _: reports.append(r))
    )
    lines: list[KernelLine] = []
    for start in range(0, len(data), size):
        lines += decoder.feed(data[start : start + size])
    return lines + decoder.finish(), reports


@pytest.mark.parametrize("size", [1, 5, 4096, 1 << 16])
def test_json_pretty_resyncs_after_bad_objects(size: int) -> None:
    """Stray text, an object cut by the next, one that does not parse and one over the limit
    are each reported; every good object around them is read, in any chunking."""
    good = _pretty_entries()
    first, rest = good.split(b"\n}\n", 1)
    first += b"\n}\n"
    whole, _ = _read_reporting(good, len(good))
    huge = b'{\n\t"MESSAGE" : "' + b"x" * (MAX_OBJECT + 10) + b'",\n\t"_TRANSPORT" : "kernel"\n}\n'
    data = (
        b"-- No entries --\n"  # stray text
        + first
        + b'{\n\t"MESSAGE" : "cut off here\n'  # cut by the next object
        + b'{\n\t"MESSAGE" : oops\n}\n'  # no JSON
        + huge
        + rest
        + b'{\n\t"MESSAGE" : "the end was never written'
    )
    got, reports = _read_reporting(data, size)
    assert [line.text for line in got] == [line.text for line in whole]
    assert reports == [
        "text outside a json-pretty object",
        "json-pretty object cut by the next one",
        "invalid JSON",
        f"json-pretty object over {MAX_OBJECT} bytes dropped",
        "json-pretty object cut by the end of input",
    ]


def test_json_pretty_cli_reports_on_stderr_and_goes_on() -> None:
    """Through the CLI: the records of the good objects on stdout, the count on stderr."""
    good = _pretty_entries()
    head, tail = good.split(b"\n}\n", 1)
    data = head + b"\n}\n" + b'{\n\t"MESSAGE" : "' + b"y" * (MAX_OBJECT + 1) + b"\n" + tail
    got = run_cli("-", stdin=data)
    want = run_cli("-", stdin=good)
    assert (got.returncode, got.stdout) == (0, want.stdout)
    assert f"1 json-pretty object over {MAX_OBJECT} bytes dropped".encode() in got.stderr


@pytest.mark.parametrize(
    "endless",
    [
        b"{\n" + b'\t"A" : "1",\n' * 400_000,  # an object that never ends
        b'{\n\t"MESSAGE" : "' + b"x" * 5_000_000,  # one line that never ends
        b"x" * 5_000_000,  # stray text without a newline
    ],
    ids=["object", "line", "stray"],
)
def test_json_pretty_memory_is_bounded(endless: bytes) -> None:
    """~5 MB of an object (or text) that never ends are read with about the limit held, and
    the object after them is read."""
    after = _pretty_entries()
    data = endless + b"\n" + after
    tracemalloc.start()
    try:
        lines, reports = _read_reporting(data, 1 << 16)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_OBJECT, peak
    assert len(reports) == 1
    assert [line.text for line in lines] == [line.text for line in _read_reporting(after, 1)[0]]


def test_json_pretty_passthrough_writes_every_object() -> None:
    """--passthrough: every object re-encoded, in order, each record after its kill line."""
    data = _pretty_entries()
    result = run_cli("--passthrough", "-", stdin=data)
    assert result.returncode == 0
    out = [orjson.loads(line) for line in result.stdout.splitlines()]
    entries = [o for o in out if "__CURSOR" in o]
    assert len(entries) == data.count(b"\n}\n") == len(out) - 1
    assert [o.get("event") for o in out].count("oom_kill") == 1
    kill = [i for i, o in enumerate(out) if "Killed process" in str(o.get("MESSAGE"))]
    assert out[kill[0] + 1]["event"] == "oom_kill"


def test_vector_pretty_json_events_give_their_records() -> None:
    """Vector's json codec with ``json.pretty: true`` (serde_json's pretty printer: two spaces,
    ``"key": value``) writes an event over many lines: read as json-pretty, the records of the
    same events one per line."""
    lines = (STRUCTURED / "simple-memcg.json-vector-journald").read_bytes().splitlines()
    pretty = b"".join(
        orjson.dumps(orjson.loads(line), option=orjson.OPT_INDENT_2) + b"\n" for line in lines
    )
    assert pretty.startswith(b'{\n  "host": "node-a",\n')
    want = records(b"\n".join(lines) + b"\n")
    assert [r["complete"] for r in want] == [True]
    assert records(pretty) == records(pretty, 3) == want
