"""Hostile input: nothing escapes, memory stays flat, the next good report is still found."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import orjson
from helpers import run_pipeline
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REAL = Path(__file__).parent / "data" / "real"
REPORT = (REAL / "simple-memcg.kmsg").read_bytes()
PACKAGE = Path(__file__).parent.parent / "oom_input"
RSS_BOUND_MIB = 60


run_bytes = run_pipeline


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), max_size=8), st.sampled_from(["auto", "kmsg", "dmesg"]))
def test_arbitrary_bytes_never_escape(chunks: list[bytes], input_format: str) -> None:
    """Any bytes in any split give only valid records, and never an exception."""
    run_bytes(chunks, input_format)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.integers(0, len(REPORT)))
def test_garbage_inside_a_report_never_hides_the_next_one(junk: bytes, cut: int) -> None:
    """Junk spliced into one report: the report after it is still read complete."""
    records = run_bytes([REPORT[:cut] + junk + b"\n" + REPORT])
    assert records and records[-1]["pid"] == 3171 and records[-1]["complete"] is True


def measured_run(script: str, stdin_script: str) -> tuple[list[dict], str, int]:
    """Run the CLI fed by a generator script through a pipe; return records, stderr and the
    CLI's peak RSS in KiB (getrusage of the finished child)."""
    driver = textwrap.dedent(
        f"""
        import resource, subprocess, sys
        feeder = subprocess.Popen([sys.executable, "-c", {stdin_script!r}], stdout=subprocess.PIPE)
        proc = subprocess.run({script!r}.split(), stdin=feeder.stdout, capture_output=True)
        feeder.wait()
        sys.stdout.buffer.write(proc.stdout)
        sys.stderr.buffer.write(proc.stderr)
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", driver], capture_output=True, timeout=300, check=True
    )
    *err, rss = proc.stderr.decode().rstrip("\n").split("\n")
    records = [orjson.loads(line) for line in proc.stdout.splitlines()]
    return records, "\n".join(err), int(rss)


CLI = f"{sys.executable} -m oom_input"


def test_single_100mb_line_keeps_memory_flat() -> None:
    """A 100 MB line without newline: cut and reported, RSS bounded, next report found."""
    feeder = (
        "import sys\n"
        "w = sys.stdout.buffer\n"
        "for _ in range(100): w.write(b'x' * (1 << 20))\n"
        f"w.write(b'\\n' + {REPORT!r})\n"
    )
    records, err, rss = measured_run(CLI, feeder)
    assert [r["pid"] for r in records] == [3171]
    assert "line too long" in err
    assert rss < RSS_BOUND_MIB * 1024, rss


def test_report_that_never_ends_keeps_memory_flat() -> None:
    """A header followed by two million report-like lines: one bounded incomplete record,
    flat memory, and the real report after it."""
    header = REPORT.split(b"\n")[0]
    feeder = (
        "import sys\n"
        "w = sys.stdout.buffer\n"
        f"w.write({header!r} + b'\\n')\n"
        "line = b'4,1,1,-;CPU: 1 PID: 5 Comm: x Not tainted\\n4,1,1,-; dump_stack+0x1/0x2\\n'\n"
        "for _ in range(10000): w.write(line * 100)\n"
        f"w.write({REPORT!r})\n"
    )
    records, _err, rss = measured_run(CLI, feeder)
    assert [(r["pid"], r["complete"]) for r in records] == [(None, False), (3171, True)]
    assert rss < RSS_BOUND_MIB * 1024, rss


def test_hundred_thousand_hosts_keep_memory_flat() -> None:
    """10^5 distinct hosts each opening a report: sources bounded (LRU), notices rate-limited,
    memory flat, and every opened report still gives a record."""
    feeder = (
        "import sys\n"
        "w = sys.stdout.buffer\n"
        "for i in range(100000):\n"
        "    w.write(b'Nov 26 18:37:34.798531 host-%d kernel: x invoked oom-killer: "
        "gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0\\n' % i)\n"
    )
    records, err, rss = measured_run(CLI, feeder)
    assert len(records) == 100000
    assert len({r["host"] for r in records}) == 100000
    assert err.count("\n") < 20 and "notices in all" in err
    assert rss < RSS_BOUND_MIB * 1024, rss


def test_slow_reader_slows_the_input() -> None:
    """Backpressure: with stdout not drained, oom-input stops reading its input (no queue)."""
    report = REPORT * 2000  # ~8 MB of dense reports: more records than pipes buffer
    proc = subprocess.Popen(
        [sys.executable, "-m", "oom_input"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdin is not None and proc.stdout is not None
    written = 0
    stdin = proc.stdin

    def feed() -> None:
        nonlocal written
        try:
            for i in range(0, len(report), 65536):
                stdin.write(report[i : i + 65536])
                stdin.flush()
                written += len(report[i : i + 65536])
            stdin.close()
        except (BrokenPipeError, ValueError):
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    time.sleep(3)  # stdout is not read meanwhile
    stalled_at = written
    assert stalled_at < len(report) / 2, stalled_at
    out = proc.stdout.read()
    proc.wait(timeout=60)
    writer.join(timeout=60)
    assert out.count(b"\n") == 2000


def test_crafted_names_in_a_real_capture() -> None:
    """A kmsg capture whose name holds an escaped newline, bad UTF-8 and fake fields is read
    right: the pid is the kernel's, the name as decoded, no surrogates in the JSON."""
    crafted = rb"x\x0ay\xff,pid=1"
    data = REPORT.replace(b"(stress)", b"(" + crafted + b")").replace(
        b"task=stress,", b"task=" + crafted + b","
    )
    (record,) = run_bytes([data], "kmsg")
    assert record["pid"] == 3171 and record["complete"] is True
    assert record["process_name"] == "x\ny\ufffd,pid=1"


def test_no_shell_is_ever_used() -> None:
    """No module runs a command through a shell (shell=True, os.system, os.popen)."""
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "shell":
                assert isinstance(node.value, ast.Constant) and node.value.value is False, path
            if isinstance(node, ast.Attribute) and node.attr in {"system", "popen"}:
                raise AssertionError(f"{path}:{node.lineno} uses os.{node.attr}")


def test_msgpack_item_declaring_4gb_string_keeps_memory_flat() -> None:
    """A msgpack map whose string says it is 4 GB long: no allocation, the next item is read."""
    import msgpack

    good = b"".join(
        msgpack.packb({"message": raw.partition(b";")[2].decode(), "host": "mp"})
        for raw in REPORT.splitlines()
    )
    feeder = (
        "import struct, sys\n"
        "w = sys.stdout.buffer\n"
        "w.write(b'\\x81\\xa7message\\xdb' + struct.pack('>I', 0xFFFFFFFF) + b'x' * 100000)\n"
        f"w.write({good!r})\n"
    )
    records, err, rss = measured_run(CLI + " --input-format msgpack", feeder)
    assert [r["pid"] for r in records] == [3171]
    assert "msgpack" in err
    assert rss < RSS_BOUND_MIB * 1024, rss


def test_deeply_nested_json_keeps_memory_flat() -> None:
    """JSON nested a million levels deep is reported, not a crash; the report after it is read."""
    feeder = (
        "import sys\n"
        "w = sys.stdout.buffer\n"
        "w.write(b'[' * 1000000 + b']' * 1000000 + b'\\n')\n"
        "w.write(b'{\"a\":' * 100000 + b'1' + b'}' * 100000 + b'\\n')\n"
        f"w.write({REPORT!r})\n"
    )
    records, err, rss = measured_run(CLI, feeder)
    assert [r["pid"] for r in records] == [3171]
    assert "malformed" in err
    assert rss < RSS_BOUND_MIB * 1024, rss
