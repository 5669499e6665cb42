"""Offline analysis through the CLI: summary table, time window, --jobs, progress, .gz input."""

from __future__ import annotations

import gzip
import os
import pty
import subprocess
import sys
from pathlib import Path

import orjson
from helpers import run_cli

REAL = Path(__file__).parent / "data" / "real"
FILES = sorted(str(p) for p in REAL.glob("*.kmsg"))
BOOT = "1764180000"


run = run_cli


def pids(stdout: bytes) -> list[int]:
    return [orjson.loads(line)["pid"] for line in stdout.splitlines()]


def test_summary_subcommand_tables_kernel_logs_and_own_output(tmp_path: Path) -> None:
    """`oom-input summary` gives the same table from kernel logs and from oom-input's JSON."""
    from_logs = run("summary", "--boot-time", BOOT, "--host", "node-a", *FILES)
    records = tmp_path / "records.jsonl"
    records.write_bytes(run("--boot-time", BOOT, "--host", "node-a", *FILES).stdout)
    from_json = run("summary", str(records))
    assert from_logs.returncode == from_json.returncode == 0
    assert from_logs.stdout == from_json.stdout
    table = from_logs.stdout.decode()
    assert f"{len(FILES) + 1} OOM kills" in table  # two-kills-with-noise holds two
    assert "node-a  2025-11-26 18h" in table and "python3" in table


def test_summary_flag_writes_table_to_stderr_and_records_to_stdout() -> None:
    """--summary keeps stdout for records and puts the table on stderr."""
    proc = run("--summary", "--boot-time", BOOT, str(REAL / "simple-memcg.kmsg"))
    assert pids(proc.stdout) == [3171]
    assert b"1 OOM kill" in proc.stderr and b"stress" in proc.stderr


def test_since_and_until_filter_records_by_wall_time() -> None:
    """--since/--until keep the records inside the window, and those of unknown time."""
    sample = str(REAL / "simple-memcg.kmsg")  # kill at boot + 1194.84 s = 18:19:54.84 UTC
    inside = run(
        "--boot-time",
        BOOT,
        "--since",
        "2025-11-26T18:19:54Z",
        "--until",
        "2025-11-26T18:19:55Z",
        sample,
    )
    after = run("--boot-time", BOOT, "--since", "2025-11-26T18:19:55Z", sample)
    unknown = run("--since", "2025-11-26T18:19:55Z", sample)  # no --boot-time: no time
    assert (pids(inside.stdout), pids(after.stdout), pids(unknown.stdout)) == ([3171], [], [3171])
    assert run("--since", "2025-11-27", "--until", "2025-11-26", sample).returncode == 2


def test_jobs_gives_the_same_records_in_file_order() -> None:
    """--jobs 2 writes the same records as one process, in FILE order."""
    assert run("-j", "2", *FILES).stdout == run(*FILES).stdout
    assert run("-j", "2", "/nonexistent", FILES[0]).returncode == 1


def test_gzip_input_is_read_by_content(tmp_path: Path) -> None:
    """A gzip file (named .log) gives the records of the plain file."""
    packed = tmp_path / "kern.log"
    packed.write_bytes(gzip.compress((REAL / "two-kills-with-noise.kmsg").read_bytes()))
    assert run(str(packed)).stdout == run(str(REAL / "two-kills-with-noise.kmsg")).stdout


def test_progress_shows_on_a_terminal_only() -> None:
    """Progress goes to stderr when it is a terminal, never when it is not, never to stdout."""
    big = REAL / "two-kills-with-noise.kmsg"
    master, slave = pty.openpty()
    proc = subprocess.run(
        [sys.executable, "-m", "oom_input", str(big)],
        stdout=subprocess.PIPE,
        stderr=slave,
        timeout=60,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    os.close(slave)
    shown = b""
    try:
        while chunk := os.read(master, 65536):
            shown += chunk
    except OSError:
        pass
    os.close(master)
    assert b"kills" in shown and b"\r" in shown
    assert pids(proc.stdout) == [4609, 4610]
    assert run(str(big)).stderr == b""


def test_passthrough_works_with_window_and_summary() -> None:
    """--passthrough with --since and --summary: every line comes back, records are filtered."""
    sample = REAL / "simple-memcg.kmsg"
    lines = sample.read_bytes().count(b"\n")
    kept = run(
        "--passthrough", "--summary", "--boot-time", BOOT, "--since", "2000-01-01", str(sample)
    )
    dropped = run("--passthrough", "--boot-time", BOOT, "--since", "2099-01-01", str(sample))
    assert kept.stdout.count(b"\n") == lines + 1 and b"1 OOM kill" in kept.stderr
    assert dropped.stdout.count(b"\n") == lines
