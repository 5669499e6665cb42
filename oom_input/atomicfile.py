"""Small files of our own on disk, replaced atomically and never at the cost of what else lives
at their path (the live state file; later the events package's posted keys).

::

    check_target(path)            # at start: raises TargetError unless absent or a regular file
    check_directory(path)         # at start: raises TargetError unless a temp file can be made
    remove_stale_temps(path)      # at start: temp files of dead processes go
    atomic_write(path, data)      # temp file (0600) + fsync + rename, re-checking the path first
    data = read_small(path, n)    # None when absent; never blocks (O_NONBLOCK), never follows

A path holding a device node, a FIFO, a socket, a directory or a symlink is never opened for
writing, renamed over, or opened in a way that could block: ``/dev/null`` given as a state file
stays ``/dev/null``.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat

# temp file beside the target: ".<name>.<pid>.tmp" (the pid tells whether its writer is alive)
_TEMP_SUFFIX = ".tmp"
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC


class TargetError(Exception):
    """The path cannot be used for a file of ours; the message says why."""


def temp_path(path: str, pid: int | None = None) -> str:
    """Where ``atomic_write`` stages ``path`` (beside it: a rename stays on one file system)."""
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.{os.getpid() if pid is None else pid}{_TEMP_SUFFIX}")


def check_target(path: str) -> None:
    """Raise TargetError unless ``path`` does not exist or is a regular file (not a symlink)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise TargetError(f"{path}: {exc.strerror}") from exc
    if not stat.S_ISREG(st.st_mode):
        raise TargetError(f"{path} is {_kind(st.st_mode)}, not a regular file: it is left alone")


def check_directory(path: str) -> None:
    """Raise TargetError unless a temp file can be created (and removed) beside ``path``."""
    tmp = temp_path(path)
    try:
        fd = os.open(tmp, _CREATE | os.O_EXCL, 0o600)
    except FileExistsError:
        # our own pid's left-over (a previous life of this pid): remove it, or give up
        if not _unlink_if_regular(tmp):
            raise TargetError(f"{tmp} is in the way and is not a regular file") from None
        return check_directory(path)
    except OSError as exc:
        directory = os.path.dirname(os.path.abspath(path))
        raise TargetError(f"cannot write in {directory}: {exc.strerror}") from exc
    os.close(fd)
    os.unlink(tmp)


def remove_stale_temps(path: str) -> list[str]:
    """Remove the temp files of ``path`` whose writer is gone (a crash between create and
    rename leaves one); returns the names removed."""
    directory, name = os.path.split(os.path.abspath(path))
    pattern = re.compile(rf"\.{re.escape(name)}\.(\d{{1,10}}){re.escape(_TEMP_SUFFIX)}\Z")
    removed: list[str] = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for entry in entries:
        m = pattern.match(entry)
        if m is None or (int(m.group(1)) != os.getpid() and _alive(int(m.group(1)))):
            continue
        full = os.path.join(directory, entry)
        if _unlink_if_regular(full):
            removed.append(full)
    return removed


def read_small(path: str, limit: int) -> bytes | None:
    """Up to ``limit`` + 1 bytes of the regular file at ``path`` (None: it does not exist).
    Opened without following a symlink and without blocking; anything but a regular file
    raises TargetError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if os.path.islink(path):
            raise TargetError(f"{path} is a symbolic link, not a regular file") from exc
        raise TargetError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise TargetError(
                f"{path} is {_kind(st.st_mode)}, not a regular file: it is left alone"
            )
        chunks = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise TargetError(f"cannot read {path}: {exc.strerror}") from exc
    finally:
        os.close(fd)


def atomic_write(path: str, data: bytes) -> None:
    """Replace ``path`` by a file holding ``data`` (mode 0600): temp file, fsync, rename.
    Raises TargetError when the path has become something else than a regular file, OSError
    when the write fails (the old file is then untouched)."""
    check_target(path)
    tmp = temp_path(path)
    fd = os.open(tmp, _CREATE | os.O_TRUNC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unlink_if_regular(path: str) -> bool:
    try:
        if stat.S_ISREG(os.lstat(path).st_mode):
            os.unlink(path)
            return True
    except OSError:
        pass
    return False
