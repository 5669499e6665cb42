"""The command line, run as users run it: a subprocess, bytes in, JSON lines out."""

from __future__ import annotations

import contextlib
import io
import struct
import subprocess
import sys
import threading
from pathlib import Path

import orjson
import pytest
from helpers import run_cli

from schema_util import validate_record

REAL = Path(__file__).parent / "data" / "real"
SAMPLE = REAL / "simple-memcg.kmsg"


run = run_cli


def records(stdout: bytes) -> list[dict]:
    out = [orjson.loads(line) for line in stdout.splitlines()]
    for record in out:
        validate_record(record)
    return out


def test_file_argument_gives_schema_valid_records() -> None:
    """A real capture given as FILE gives one valid record on stdout and nothing on stderr."""
    proc = run(str(SAMPLE))
    assert proc.returncode == 0
    assert [r["pid"] for r in records(proc.stdout)] == [3171]
    assert proc.stderr == b""


def test_stdin_and_dash_read_stdin() -> None:
    """No FILE and "-" both read stdin."""
    data = SAMPLE.read_bytes()
    assert records(run(stdin=data).stdout) == records(run("-", stdin=data).stdout)
    assert len(records(run(stdin=data).stdout)) == 1


def test_files_are_read_in_order() -> None:
    """Several FILEs are read in order, one record per kill."""
    other = REAL / "cgroupfs-guaranteed-pod-limit.kmsg"
    proc = run(str(other), str(SAMPLE))
    assert [r["pid"] for r in records(proc.stdout)] == [3173, 3171]


def test_boot_time_gives_wall_time() -> None:
    """--boot-time turns the kernel timestamp of the kill line into time_of_death."""
    proc = run("--boot-time", "1764180000.25", str(SAMPLE))
    (record,) = records(proc.stdout)
    # kill line at 1194.840991 s after boot
    assert record["time_of_death"] == "2025-11-26T18:19:55.090991Z"
    (without,) = records(run(str(SAMPLE)).stdout)
    assert without["time_of_death"] is None


def test_host_option_sets_host() -> None:
    """--host names the host where the input carries none."""
    (record,) = records(run("--host", "node-a", str(SAMPLE)).stdout)
    assert record["host"] == "node-a"


def test_kubernetes_attribution_is_on_the_record() -> None:
    """Records carry the pod and container read from the cgroup path."""
    (record,) = records(run(str(REAL / "cgroupfs-guaranteed-pod-limit.kmsg")).stdout)
    assert record["pod_uid"] == "99887766-5544-3322-1100-ffeeddccbbaa"
    assert record["container_id"] == "12ab" * 16
    assert record["qos_class"] == "guaranteed"


def test_missing_file_exits_1_naming_it_and_reads_the_rest() -> None:
    """An unreadable FILE: message naming it, exit 1, the other files still read."""
    proc = run("/nonexistent/kern.log", str(SAMPLE))
    assert proc.returncode == 1
    assert b"/nonexistent/kern.log" in proc.stderr
    assert len(records(proc.stdout)) == 1


def test_usage_error_exits_2() -> None:
    """An unknown option or format is a usage error."""
    assert run("--input-format", "nope").returncode == 2
    assert run("--timezone", "Mars/Olympus").returncode == 2


def test_help_shows_examples() -> None:
    """--help shows real examples and the exit codes."""
    out = run("--help").stdout.decode()
    assert "journalctl -k -o short-precise | oom-input" in out
    assert "oom-input /var/log/kern.log" in out
    assert "exit codes" in out


def test_malformed_input_is_counted_on_stderr_never_stdout() -> None:
    """Binary garbage and bad UTF-8 around a report: record kept, one summary line on stderr."""
    garbage = b"\x00\xff\xfe garbage Killed process \xff\n" + b"\xc3\x28 Killed process x\n"
    proc = run("-f", "kmsg", stdin=garbage + SAMPLE.read_bytes() + garbage)
    assert proc.returncode == 0
    assert [r["pid"] for r in records(proc.stdout)] == [3171]
    assert proc.stderr.count(b"\n") == 1 and b"malformed" in proc.stderr


@pytest.mark.parametrize("input_format", ["auto", "kmsg"])
def test_blank_lines_are_no_malformed_lines(input_format: str) -> None:
    """Blank lines (whitespace alone) of a named format are nothing to report, nor a line to
    read: the records of the file without them, stderr empty."""
    spaced = b"\n \n".join(SAMPLE.read_bytes().splitlines()) + b"\n\r\n"
    proc = run("-f", input_format, stdin=spaced)
    plain = run("-f", input_format, str(SAMPLE))
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert records(proc.stdout) == records(plain.stdout) != []


def test_closed_stdout_exits_quietly() -> None:
    """Downstream closing the pipe ends the process with exit 0 and no traceback."""
    data = SAMPLE.read_bytes() * 2000
    proc = subprocess.Popen(
        [sys.executable, "-m", "oom_input"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdin is not None
    stdin = proc.stdin

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError):
            stdin.write(data)
            stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    assert proc.stdout.readline().startswith(b'{"event":"oom_kill"')
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    writer.join(timeout=60)
    assert proc.stderr is not None
    assert b"Traceback" not in proc.stderr.read()


def test_version_is_fast_path() -> None:
    """--version prints the version."""
    assert run("--version").stdout.startswith(b"oom-input ")


def test_input_formats_match_the_decoder_registry() -> None:
    """Every decoder can be named with --input-format, and nothing else can."""
    from oom_input.cli import INPUT_FORMATS
    from oom_input.decoders import DECODER_NAMES, STREAM_DECODER_NAMES

    expected = {"auto", *DECODER_NAMES, *STREAM_DECODER_NAMES}
    assert set(INPUT_FORMATS) == expected


def test_msgpack_output_round_trips() -> None:
    """-o msgpack writes one map per record, equal to the JSON record."""
    import msgpack

    (expected,) = records(run(str(SAMPLE)).stdout)
    out = run("-o", "msgpack", str(SAMPLE)).stdout
    assert list(msgpack.Unpacker(io.BytesIO(out), raw=False)) == [expected]


def test_forward_output_has_tag_and_event_time() -> None:
    """-o forward writes [tag, EventTime ext 0, record]; EventTime from time_of_death."""
    import msgpack

    out = run("-o", "forward", "--tag", "k8s.oom", "--boot-time", "1764180000.25", str(SAMPLE))
    (entry,) = list(msgpack.Unpacker(io.BytesIO(out.stdout), raw=False))
    tag, when, record = entry
    assert tag == "k8s.oom" and record["pid"] == 3171
    assert when.code == 0 and when.data == struct.pack(">II", 1764181195, 90991000)


def test_msgpack_input_is_detected_from_its_first_byte() -> None:
    """A msgpack stream of journal-like maps on stdin is detected and read."""
    import msgpack

    data = b""
    for raw in SAMPLE.read_bytes().splitlines():
        prefix, _, text = raw.decode().partition(";")
        usec = int(prefix.split(",")[2])
        data += msgpack.packb(
            {
                "MESSAGE": text,
                "_TRANSPORT": "kernel",
                "_SOURCE_MONOTONIC_TIMESTAMP": str(usec),
                "_HOSTNAME": "mp",
            }
        )
    (record,) = records(run(stdin=data).stdout)
    assert (record["pid"], record["host"], record["source_format"]) == (3171, "mp", "msgpack")


def test_passthrough_keeps_every_line_in_order_with_the_record_after_its_kill_line() -> None:
    """--passthrough: input lines come back in order, the record right after the kill line."""
    lines = SAMPLE.read_bytes().splitlines()
    out = [orjson.loads(line) for line in run("--passthrough", str(SAMPLE)).stdout.splitlines()]
    assert [o["message"].encode() for o in out[:-1]] == lines
    assert out[-1]["event"] == "oom_kill" and out[-1]["pid"] == 3171
    json_in = b'{"MESSAGE":"hello","_TRANSPORT":"kernel"}\n'
    assert orjson.loads(run("--passthrough", stdin=json_in).stdout) == orjson.loads(json_in)


@pytest.mark.parametrize("output", ["json", "msgpack", "forward"])
def test_passthrough_writes_what_its_output_cannot_hold_as_is(output: str) -> None:
    """--passthrough of maps JSON or msgpack has no form for (bytes, invalid UTF-8 text,
    extension types, nesting deeper than the writers go): every map written, exit 0, then the
    record; msgpack output gives invalid text back as it came. (Keys that are no text make a
    broken item: the decoder reports it.)"""
    import msgpack

    deep = b"\x81\xa1a" * 800 + b"\xc0"  # 800 levels: msgpack reads it, writes up to 511
    odd = [
        msgpack.packb({"msg": b"bin\xff"}),
        b"\x81\xa3msg\xa3\xff\xfeA",  # a str of invalid UTF-8
        msgpack.packb({"k": "v", "t": msgpack.ExtType(5, b"12345678")}),
        deep,
    ]
    kill = {"message": "Killed process 4 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB"}
    data = b"".join(odd) + msgpack.packb(kill)
    result = run("--passthrough", "-f", "msgpack", "-o", output, stdin=data)
    assert result.returncode == 0, result.stderr
    if output == "json":
        items = [orjson.loads(line) for line in result.stdout.splitlines()]
        assert items[0] == {"msg": "bin\ufffd"} and items[1] == {"msg": "\ufffd\ufffdA"}
        assert items[2] == {"k": "v", "t": [5, "12345678"]}
        assert '"[nested too deep]"' in orjson.dumps(items[3]).decode()
    else:
        unpacked = list(msgpack.Unpacker(io.BytesIO(result.stdout), raw=True))
        items = unpacked if output == "msgpack" else [entry[2] for entry in unpacked]
        assert items[0] == {b"msg": b"bin\xff"} and items[1] == {b"msg": b"\xff\xfeA"}
    assert len(items) == 6
    if output != "json":
        items = [{k.decode(): v for k, v in item.items()} for item in items[4:]]
        items = [{**item, "message": item["message"].decode()} for item in items[:1]] + items[1:]
    assert items[-2] == kill and items[-1]["event"] in ("oom_kill", b"oom_kill")


def test_passthrough_of_json_nested_deeper_than_json_output_goes() -> None:
    """A JSON input line nested deeper than orjson writes: written, its depth cut, exit 0."""
    result = run("--passthrough", stdin=b"[" * 500 + b"]" * 500 + b"\n")
    assert result.returncode == 0, result.stderr
    assert b"nested too deep" in result.stdout


def test_passthrough_of_msgpack_input_keeps_maps_in_order() -> None:
    """--passthrough -f msgpack -o msgpack (Fluentd exec_filter): every input map comes back
    unchanged and in order, the OOM record right after the kill line's map."""
    import msgpack

    maps = [
        {"message": raw.decode().partition(";")[2], "host": "mp"}
        for raw in SAMPLE.read_bytes().splitlines()
    ]
    data = b"".join(msgpack.packb(m) for m in maps)
    out = run("--passthrough", "-f", "msgpack", "-o", "msgpack", stdin=data).stdout
    items = list(msgpack.Unpacker(io.BytesIO(out), raw=False))
    assert items[:-1] == maps
    assert items[-1]["event"] == "oom_kill" and items[-1]["pid"] == 3171
