"""SIGKILL at every step between reading a real kill line and saving the state, then a restart:
no kill is lost, and a kill written twice is written twice identically (same ``id``, same
``time_of_death``, same everything), so a sink deduplicating on ``id`` sees it once.

The kill is injected by strace (``-e inject=SYSCALL:signal=KILL:when=N``, delivered on entry to
the N-th such system call after attaching), so each run stops at an exact point of the path
``read(kill line) -> write(stdout) -> lstat -> openat(temp) -> write(temp) -> fsync -> close ->
rename`` (and, for comparison, in the middle of reading the report). Needs root, /dev/kmsg and strace (real kernel, as tests/test_live.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from test_live import OomInput

from kernel_oom import trigger_oom

# (system call, which one after attaching, what the process was about to do)
POINTS = [
    ("read", 5, "read a record early in the report"),
    ("read", 40, "read a record late in the report"),
    ("write", 1, "write the record to stdout"),
    ("newfstatat", 1, "check the state path"),
    ("openat", 1, "create the temp file"),
    ("write", 2, "write the temp file"),
    ("fsync", 1, "fsync the temp file"),
    ("close", 1, "close the temp file"),
    ("rename", 1, "rename it over the state file"),
]


def _strace() -> str:
    found = shutil.which("strace")
    if found is None:
        if os.environ.get("OOM_INPUT_REQUIRE_REAL_KERNEL") == "1":
            pytest.fail("strace is needed to inject SIGKILL at exact points (apt install strace)")
        pytest.skip("strace is not installed (it injects SIGKILL at exact points)")
    return found


def _wait_traced(pid: int, tracer: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        tracer_pid = next(line for line in status.splitlines() if line.startswith("TracerPid:"))
        if tracer_pid.split()[1] != "0":
            return
        assert tracer.poll() is None, "strace could not attach"
        time.sleep(0.01)
    raise AssertionError("strace did not attach")


@pytest.mark.real_kernel
def test_sigkill_anywhere_after_the_kill_line_loses_nothing_and_repeats_identically(
    tmp_path: Path,
) -> None:
    strace = _strace()
    outcome: dict[str, tuple[int, int]] = {}  # point -> (copies before the kill, after restart)
    for syscall, when, what in POINTS:
        state = tmp_path / f"state-{syscall}-{when}"
        first = OomInput("--state-file", str(state))
        tracer = None
        try:
            first.wait_started()
            assert state.exists()  # saved at start: a restart resumes here, not at the end
            inject = f"inject={syscall}:signal=KILL:when={when}"
            argv = [strace, "-q", "-o", "/dev/null", "-e", f"trace={syscall}", "-e", inject]
            tracer = subprocess.Popen(
                [*argv, "-p", str(first.proc.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            _wait_traced(first.proc.pid, tracer)
            kill = trigger_oom(f"fault-{syscall}-{when}", comm="fault-victim")
            assert first.proc.wait(timeout=30) == -9, f"not killed at {what}"
        finally:
            if first.proc.poll() is None:
                first.proc.kill()
                first.proc.wait()
            if tracer is not None:
                tracer.wait(timeout=10)
        before = [r for r in first.records(timeout=5) if r["pid"] == kill.pid]
        second = OomInput("--state-file", str(state))
        try:
            after = [r for r in second.records(pid=kill.pid, timeout=10) if r["pid"] == kill.pid]
            after += [r for r in second.records(timeout=0.5) if r["pid"] == kill.pid]
        finally:
            code, err = second.stop()
        assert code == 0, err
        copies = before + after
        assert copies, f"killed before '{what}': the kill was lost"
        assert len(before) <= 1 and len(after) <= 1, copies
        assert all(copy == copies[0] for copy in copies), f"'{what}': copies differ"
        assert copies[0]["complete"] is True
        outcome[what] = (len(before), len(after))
    # before the record reached stdout: written once, by the restart; after it and before the
    # rename: the duplicate window (the same record again); the order of the path is fixed
    assert outcome["write the record to stdout"] == (0, 1)
    assert outcome["rename it over the state file"] == (1, 1)
    print("SIGKILL point -> (copies before, copies after restart):", outcome)
