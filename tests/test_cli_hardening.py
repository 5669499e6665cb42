"""The command line as an operator having a bad day uses it: every option value checked at
start (exit 2), every option honoured or refused in every mode, stdout's failures named as
stdout's (exit 3), never a traceback, never a spin."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
from helpers import run_cli
from test_live import JOURNAL_JSON, fake_journalctl

from schema_util import validate_record

REAL = Path(__file__).parent / "data" / "real"
SAMPLE = REAL / "simple-memcg.kmsg"
KILL_AFTER_BOOT_S = 1194.840991  # the kill line's kernel time in SAMPLE

run = run_cli


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("--boot-time", "nan"), b"--boot-time"),
        (("--boot-time", "inf"), b"--boot-time"),
        (("--boot-time=-6e10",), b"--boot-time"),
        (("--boot-time", "1e13"), b"--boot-time"),
        (("--idle-timeout", "nan"), b"--idle-timeout"),
        (("--kmsg", "--idle-timeout", "inf"), b"--idle-timeout"),
        (("--kmsg", "--idle-timeout", "0"), b"--idle-timeout"),
        (("--events-flush-timeout", "nan"), b"--events-flush-timeout"),
        (("--events-timeout", "-inf"), b"--events-timeout"),
        (("--year", "0"), b"--year"),
        (("--year", "999"), b"--year"),
        (("--year", "10000"), b"--year"),
        (("--jobs", "0"), b"--jobs"),
    ],
)
def test_bad_option_values_exit_2_naming_the_option(args: tuple[str, ...], named: bytes) -> None:
    """Non-finite numbers, years outside 1970-9999 and boot times that would give stamps the
    schema refuses: exit 2 at start, the option named, no traceback."""
    proc = run(*args, str(SAMPLE))
    assert proc.returncode == 2, proc.stderr
    assert named in proc.stderr and b"Traceback" not in proc.stderr
    assert proc.stdout == b""


def test_edge_values_in_range_are_accepted() -> None:
    """The limits themselves are fine: year 1970 and 9999, boot time 0."""
    for args in (("--year", "1970"), ("--year", "9999"), ("--boot-time", "0")):
        proc = run(*args, str(SAMPLE))
        assert proc.returncode == 0, (args, proc.stderr)
        for line in proc.stdout.splitlines():
            validate_record(orjson.loads(line))


def test_since_and_until_take_relative_times_after_a_space() -> None:
    """`--since -2h` (the form README and --help show) works like `--since=-2h`."""
    boot = time.time() - KILL_AFTER_BOOT_S - 60  # the kill was a minute ago
    common = ("--boot-time", f"{boot:.6f}", str(SAMPLE))
    kept = run("--since", "-2h", *common)
    assert kept.returncode == 0, kept.stderr
    assert [orjson.loads(line)["pid"] for line in kept.stdout.splitlines()] == [3171]
    assert run("--since=-2h", *common).stdout == kept.stdout
    dropped = run("--until", "-2h", *common)
    assert (dropped.returncode, dropped.stdout) == (0, b"")


@pytest.mark.parametrize(
    "args", [("--state-file", "x"), ("--start", "begin"), ("--idle-timeout", "1")]
)
def test_live_options_are_refused_offline(args: tuple[str, ...]) -> None:
    """A live-only option given with FILEs would do nothing: refused (exit 2)."""
    proc = run(*args, str(SAMPLE))
    assert proc.returncode == 2 and b"live sources" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("-o", "msgpack"),
        ("--tag", "x"),
        ("--passthrough",),
        ("--events-dry-run",),
        ("--events",),
        ("-j", "2"),
        ("--state-file", "x"),
        ("--idle-timeout", "2"),
    ],
)
def test_summary_refuses_options_it_cannot_honour(args: tuple[str, ...]) -> None:
    """`oom-input summary` prints a table: record output, Events and live options refused."""
    proc = run("summary", *args, str(SAMPLE))
    assert proc.returncode == 2, proc.stderr
    assert b"Traceback" not in proc.stderr and proc.stdout == b""


@pytest.mark.parametrize(
    "args", [("--kmsg", "-f", "dmesg"), ("--journal", "-f", "syslog"), ("--kmsg", "-j", "2")]
)
def test_live_refuses_what_it_cannot_read(args: tuple[str, ...]) -> None:
    """A live source knows its format: another -f, or --jobs, is refused (exit 2)."""
    proc = run(*args)
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr


@pytest.mark.parametrize("kind", ["file", "devnull", "fifo"])
def test_kmsg_path_that_is_not_the_kernel_log_is_a_clear_error(tmp_path: Path, kind: str) -> None:
    """`--kmsg PATH` on a regular file, /dev/null or a FIFO: exit 1 at once with a message
    saying how to read a file instead; no spin, no traceback, no hang."""
    if kind == "file":
        path = str(tmp_path / "records.kmsg")
        Path(path).write_bytes(SAMPLE.read_bytes())
    elif kind == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    else:
        path = os.devnull
    started = time.monotonic()
    proc = run("--kmsg", path, timeout=30)
    assert proc.returncode == 1, proc.stderr
    assert b"not the kernel log device" in proc.stderr and b"-f kmsg" in proc.stderr
    assert b"Traceback" not in proc.stderr
    assert time.monotonic() - started < 20


# --- stdout -------------------------------------------------------------------------------


def run_to(stdout: int | None, *args: str, stdin: bytes = b"", close_stdout: bool = False):
    return subprocess.run(
        [sys.executable, "-m", "oom_input", *args],
        input=stdin,
        stdout=stdout,
        stderr=subprocess.PIPE,
        preexec_fn=(lambda: os.close(1)) if close_stdout else None,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "args", [(str(SAMPLE),), ("summary", str(SAMPLE)), ("-o", "msgpack", str(SAMPLE))]
)
def test_full_disk_on_stdout_is_named_as_stdout_exit_3(args: tuple[str, ...]) -> None:
    """stdout on a full disk (/dev/full): exit 3, the message names stdout, never the input."""
    with open("/dev/full", "wb") as full:
        proc = run_to(full.fileno(), *args)
    assert proc.returncode == 3, proc.stderr
    assert b"cannot write to stdout: No space left on device" in proc.stderr
    assert b"cannot read" not in proc.stderr and b"Traceback" not in proc.stderr


@pytest.mark.parametrize("args", [(str(SAMPLE),), ("summary", str(SAMPLE)), ("--kmsg",)])
def test_closed_stdout_is_exit_3_at_start(args: tuple[str, ...]) -> None:
    """Started with stdout closed (`>&-`): exit 3 at once with a message, in every mode."""
    proc = run_to(None, *args, close_stdout=True)
    assert proc.returncode == 3, proc.stderr
    assert b"stdout is closed" in proc.stderr and b"Traceback" not in proc.stderr


def journal_live(tmp_path: Path, stdout: int, *args: str) -> subprocess.Popen[bytes]:
    lines = [line + b"\n" for line in JOURNAL_JSON.read_bytes().splitlines()]
    fake_journalctl(tmp_path, tmp_path / "argv", lines)
    return subprocess.Popen(
        [sys.executable, "-m", "oom_input", "--journal", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
    )


def test_full_disk_on_stdout_in_live_mode_is_exit_3(tmp_path: Path) -> None:
    """Live (--journal, a stand-in journalctl): the first record hits the full disk: exit 3
    naming stdout, and the state file does not claim the record was written."""
    state = tmp_path / "state"
    with open("/dev/full", "wb") as full:
        proc = journal_live(tmp_path, full.fileno(), "--state-file", str(state))
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 3, err
    assert b"cannot write to stdout: No space left on device" in err and b"Traceback" not in err
    assert not state.exists()


def test_live_passthrough_and_summary_are_honoured(tmp_path: Path) -> None:
    """Live --passthrough writes every entry and the record; --summary prints the table at
    the stop (both went through the same pipeline as FILEs)."""
    proc = journal_live(tmp_path, subprocess.PIPE, "--passthrough", "--summary")
    assert proc.stdout is not None
    entries = len(JOURNAL_JSON.read_bytes().splitlines())
    got = [orjson.loads(proc.stdout.readline()) for _ in range(entries + 1)]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    records = [o for o in got if o.get("event") == "oom_kill"]
    assert [r["pid"] for r in records] == [3171]
    assert got[-1]["event"] == "oom_kill" and "__CURSOR" in got[0]
    assert b"1 OOM kill" in err


def test_live_broken_pipe_stops_with_a_message_exit_0(tmp_path: Path) -> None:
    """The reader of a live oom-input goes away: exit 0, one line saying so, no traceback."""
    r, w = os.pipe()
    os.close(r)
    proc = journal_live(tmp_path, w)
    os.close(w)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"stdout closed by the reader" in err and b"Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [("--tag", "x"), ("--events-timeout", "3"), ("--no-pod-events",), ("-o", "json", "--tag", "k")],
)
def test_options_that_would_do_nothing_are_refused(args: tuple[str, ...]) -> None:
    """--tag without -o forward, an Events option without --events: refused (exit 2)."""
    proc = run(*args, str(SAMPLE))
    assert proc.returncode == 2 and b"Traceback" not in proc.stderr
    assert run("-o", "forward", "--tag", "x", str(SAMPLE)).returncode == 0
    assert run("--events-dry-run", "--no-pod-events", str(SAMPLE)).returncode == 0


def test_journal_entries_written_by_processes_are_counted_not_assembled(tmp_path: Path) -> None:
    """--journal: a forged report (the same entries with SYSLOG_FACILITY 1, as journald
    stores records a process wrote into /dev/kmsg) gives no record and is counted; the real
    report after it gives its record."""
    real = JOURNAL_JSON.read_bytes().splitlines()
    forged = []
    for line in real:
        entry = orjson.loads(line)
        entry["SYSLOG_FACILITY"] = "1"
        entry["__CURSOR"] += "-forged"
        forged.append(orjson.dumps(entry))
    fake_journalctl(tmp_path, tmp_path / "argv", [line + b"\n" for line in [*forged, *real]])
    proc = subprocess.Popen(
        [sys.executable, "-m", "oom_input", "--journal"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
    )
    assert proc.stdout is not None
    record = orjson.loads(proc.stdout.readline())
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert record["pid"] == 3171 and out == b""
    # only lines that could belong to a report are decoded (and so counted): at least the
    # header, the summary and the kill line of the forged report
    m = re.search(rb"(\d+) records written into /dev/kmsg by processes ignored", err)
    assert m is not None and 3 <= int(m[1]) <= len(real), err
