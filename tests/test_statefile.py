"""The state file and the atomic writes under it: nothing at the path but a regular file of ours
is ever written, renamed over, or opened in a way that blocks; bad contents start afresh."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from oom_input.atomicfile import TargetError, atomic_write, remove_stale_temps, temp_path
from oom_input.statefile import Position, StateFile, StateFileError


@pytest.fixture
def alarm() -> Iterator[None]:
    """Fail instead of hanging: a blocking open() would never return."""

    def timed_out(signum: int, frame: object) -> None:
        raise AssertionError("blocked (e.g. opening a FIFO)")

    previous = signal.signal(signal.SIGALRM, timed_out)
    signal.alarm(5)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def warnings_of(path: Path) -> tuple[StateFile, list[str]]:
    warnings: list[str] = []
    return StateFile(str(path), warnings.append), warnings


def test_absent_file_is_a_fresh_start_and_is_written_0600(tmp_path: Path) -> None:
    """No file: no position, no message; the first save creates it, mode 0600."""
    state, warnings = warnings_of(tmp_path / "state")
    assert state.open() is None and warnings == []
    state.save(Position("b", 3), 1_764_180_000_250_113)
    assert (tmp_path / "state").stat().st_mode & 0o777 == 0o600
    again, _ = warnings_of(tmp_path / "state")
    assert again.open() == Position("b", 3)
    assert again.boot_time_us == 1_764_180_000_250_113


def test_fifo_is_refused_without_blocking(tmp_path: Path, alarm: None) -> None:
    """A FIFO at the path: an error at start, never an open() that waits for a writer."""
    fifo = tmp_path / "state"
    os.mkfifo(fifo)
    state, _ = warnings_of(fifo)
    with pytest.raises(StateFileError, match="FIFO"):
        state.open()
    state.save(Position("b", 1))
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_directory_is_refused(tmp_path: Path) -> None:
    """A directory at the path: an error at start, left as it is."""
    (tmp_path / "state").mkdir()
    with pytest.raises(StateFileError, match="directory"):
        warnings_of(tmp_path / "state")[0].open()
    assert (tmp_path / "state").is_dir()


@pytest.mark.real_kernel  # mknod needs root (CAP_MKNOD), as the real-kernel tests do
def test_device_node_is_refused_and_never_replaced(tmp_path: Path) -> None:
    """A copy of /dev/null at the path: an error at start, and a later save (the path became
    a device after start) still leaves the node a device."""
    node = tmp_path / "null"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    state, warnings = warnings_of(node)
    with pytest.raises(StateFileError, match="character device"):
        state.open()
    state.save(Position("b", 1))
    assert stat.S_ISCHR(node.lstat().st_mode) and node.lstat().st_rdev == os.makedev(1, 3)
    assert warnings and "not saved" in warnings[-1]


@pytest.mark.parametrize(
    "contents", [b"null", b"0", b'"s"', b"[1,2]", b"\x00not json", b"# my notes\n", b"{}"]
)
def test_someone_elses_file_is_refused_and_kept(tmp_path: Path, contents: bytes) -> None:
    """A regular file that is not a state document of ours: an error at start (no traceback,
    no overwrite after a warning)."""
    path = tmp_path / "state"
    path.write_bytes(contents)
    with pytest.raises(StateFileError, match="not an oom-input state file"):
        warnings_of(path)[0].open()
    assert path.read_bytes() == contents


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        (b'{"version":1,"boot_id":"b","next_seq":', "damaged"),
        (b'{"version":2,"boot_id":"b","next_seq":1}', "version 2"),
        (b'{"version":1,"boot_id":"b","next_seq":-1}', "negative"),
        (b'{"version":1,"boot_id":"b","next_seq":"x"}', "not an integer"),
        (b'{"version":1,"boot_id":7,"next_seq":1}', "not a string"),
        (b'{"version":1,"boot_id":"b","next_seq":null,"cursor":null}', "no position"),
        (b"", "empty"),
    ],
)
def test_bad_contents_of_ours_start_afresh_with_one_message(
    tmp_path: Path, contents: bytes, message: str
) -> None:
    """A document of ours that cannot be used: exactly one message, no position."""
    path = tmp_path / "state"
    path.write_bytes(contents)
    state, warnings = warnings_of(path)
    assert state.open() is None
    assert len(warnings) == 1 and message in warnings[0], warnings


def test_missing_directory_fails_at_start(tmp_path: Path) -> None:
    """A state file in a directory that does not exist: an error at start, not at each save."""
    with pytest.raises(StateFileError, match="cannot write in"):
        warnings_of(tmp_path / "nowhere" / "state")[0].open()


def test_unwritable_directory_fails_at_start() -> None:
    """A directory where no file can be created (sysfs refuses even root): error at start."""
    if not os.path.isdir("/sys/kernel"):
        pytest.skip("no /sys/kernel here")
    with pytest.raises(StateFileError, match="cannot write in /sys/kernel"):
        warnings_of(Path("/sys/kernel/oom-input-state"))[0].open()


def test_stale_temp_files_of_dead_processes_are_removed(tmp_path: Path) -> None:
    """A temp file left by a process that died between create and rename is removed at start;
    one of a live process is kept."""
    path = tmp_path / "state"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    dead_tmp = Path(temp_path(str(path), int(dead.stdout)))
    alive_tmp = Path(temp_path(str(path), os.getppid()))
    dead_tmp.write_bytes(b"{")
    alive_tmp.write_bytes(b"{")
    state, warnings = warnings_of(path)
    assert state.open() is None
    assert not dead_tmp.exists() and alive_tmp.exists()
    assert any(str(dead_tmp) in w for w in warnings)
    assert remove_stale_temps(str(path)) == []


def test_atomic_write_replaces_only_regular_files(tmp_path: Path) -> None:
    """atomic_write writes through no symlink and over no FIFO; the old file survives a
    failed write."""
    path = tmp_path / "f"
    atomic_write(str(path), b"one")
    atomic_write(str(path), b"two")
    assert path.read_bytes() == b"two" and path.stat().st_mode & 0o777 == 0o600
    link = tmp_path / "link"
    link.symlink_to(path)
    with pytest.raises(TargetError, match="symbolic link"):
        atomic_write(str(link), b"three")
    assert path.read_bytes() == b"two" and link.is_symlink()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_saved_document_starts_with_our_prefix(tmp_path: Path) -> None:
    """What we write is recognised as ours even when damaged later (the prefix rule)."""
    path = tmp_path / "state"
    StateFile(str(path), print).save(Position("b", 1, None), 5)
    data = path.read_bytes()
    assert data.startswith(b'{"version":')
    assert orjson.loads(data) == {
        "version": 1,
        "boot_id": "b",
        "next_seq": 1,
        "cursor": None,
        "boot_time_us": 5,
    }


@pytest.mark.real_kernel  # reads /dev/kmsg
def test_cli_refuses_a_state_path_that_is_not_ours(tmp_path: Path) -> None:
    """`oom-input --kmsg --state-file X` with X someone else's file: exit 1 at once, a message
    naming it, no traceback, the file unchanged."""
    path = tmp_path / "notes"
    path.write_bytes(b"[1,2]")
    proc = subprocess.run(
        [sys.executable, "-m", "oom_input", "--kmsg", "--state-file", str(path)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert str(path).encode() in proc.stderr and b"Traceback" not in proc.stderr
    assert path.read_bytes() == b"[1,2]"
