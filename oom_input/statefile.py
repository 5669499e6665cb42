"""The live sources' state file: where to resume, and the boot-time estimate of the boot.

A document of ours is a JSON object that starts with ``{"version":``::

    {"version":1,"boot_id":"6c1f...","next_seq":1234,"cursor":null,"boot_time_us":1764180000250113}

The path is used only when it does not exist or is a regular file holding such a document;
anything else (a device node, a FIFO, a symlink, someone else's file) is refused at start
(``StateFileError``), never overwritten and never opened in a way that could block. A document
of ours whose contents cannot be used (damaged, another version) gives one message and a fresh
start. The boot-time estimate is kept so that ``time_of_death`` is the same, to the µs, when a
restart reads a report again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson

from oom_input.atomicfile import (
    TargetError,
    atomic_write,
    check_directory,
    check_target,
    read_small,
    remove_stale_temps,
)

STATE_VERSION = 1
MAX_STATE_BYTES = 65536
# what every document we write starts with (orjson keeps the key order)
OUR_PREFIX = b'{"version":'


class StateFileError(Exception):
    """The state path cannot be used; the message says why (exit 1 at start)."""


@dataclass(frozen=True)
class Position:
    """Where to resume: in /dev/kmsg the boot and the first sequence number not yet fully
    handled; in the journal the cursor of the last entry before anything unhandled."""

    boot_id: str | None = None
    next_seq: int | None = None
    cursor: str | None = None


class StateFile:
    """The resume position (and boot-time estimate) on disk, written atomically, mode 0600."""

    def __init__(self, path: str, warn: Callable[[str], None]) -> None:
        self.path = path
        self._warn = warn
        self._saved: tuple[Position, int | None] | None = None
        self.boot_time_us: int | None = None  # as loaded (for the boot the position names)

    def open(self) -> Position | None:
        """At start: check the path and its directory, remove stale temp files, and load the
        position (None: start afresh). Raises StateFileError when the path cannot be used."""
        try:
            check_target(self.path)
            for name in remove_stale_temps(self.path):
                self._warn(f"state file {self.path}: removed {name}, left by a stopped process")
            check_directory(self.path)
        except TargetError as exc:
            raise StateFileError(f"state file {exc}") from exc
        return self.load()

    def load(self) -> Position | None:
        """The saved position; None when there is none or it cannot be used (one message)."""
        try:
            data = read_small(self.path, MAX_STATE_BYTES)
        except TargetError as exc:
            raise StateFileError(f"state file {exc}") from exc
        if data is None:
            return None
        if not data.strip():
            self._warn(f"state file {self.path}: empty; starting afresh")
            return None
        if len(data) > MAX_STATE_BYTES:
            raise StateFileError(self._not_ours("larger than any state file"))
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            document = None
        if not (isinstance(document, dict) and "version" in document):
            if data.lstrip().startswith(OUR_PREFIX):
                self._warn(f"state file {self.path}: damaged; starting afresh")
                return None
            raise StateFileError(self._not_ours('not a JSON object with a "version"'))
        try:
            position, boot_time_us = _parse(document)
        except ValueError as exc:
            self._warn(f"state file {self.path}: {exc}; starting afresh")
            return None
        self._saved = (position, boot_time_us)
        self.boot_time_us = boot_time_us
        return position

    def save(self, position: Position, boot_time_us: int | None = None) -> None:
        """Write the position (only when it changed); a failure is a warning, the old file
        stays (a restart then reads a little again: records repeat, none is lost)."""
        if self._saved == (position, boot_time_us):
            return
        data = orjson.dumps(
            {
                "version": STATE_VERSION,
                "boot_id": position.boot_id,
                "next_seq": position.next_seq,
                "cursor": position.cursor,
                "boot_time_us": boot_time_us,
            }
        )
        try:
            atomic_write(self.path, data)
        except TargetError as exc:
            self._warn(f"state file {exc}; not saved")
            return
        except OSError as exc:
            self._warn(f"state file {self.path}: cannot write ({exc.strerror})")
            return
        self._saved = (position, boot_time_us)

    def _not_ours(self, why: str) -> str:
        return (
            f"state file {self.path} is not an oom-input state file ({why}): it is left alone; "
            "remove it or name another path"
        )


def _parse(document: dict[str, object]) -> tuple[Position, int | None]:
    if document.get("version") != STATE_VERSION:
        raise ValueError(f"version {document.get('version')!r} is not {STATE_VERSION}")
    boot_id = _optional_str(document, "boot_id")
    next_seq = _optional_int(document, "next_seq")
    cursor = _optional_str(document, "cursor")
    boot_time_us = _optional_int(document, "boot_time_us")
    if next_seq is not None and next_seq < 0:
        raise ValueError("negative next_seq")
    if next_seq is None and cursor is None:
        raise ValueError("no position in it")
    return Position(boot_id, next_seq, cursor), boot_time_us


def _optional_str(document: dict[str, object], key: str) -> str | None:
    value = document.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"{key} is not a string")


def _optional_int(document: dict[str, object], key: str) -> int | None:
    value = document.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ValueError(f"{key} is not an integer")
