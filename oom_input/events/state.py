"""The keys of records whose Events were posted, kept across restarts (``--state-file``'s
directory): JSON, written atomically (temp file, fsync, rename), mode 0600, never through a
symlink."""

from __future__ import annotations

import collections
import os
from collections.abc import Callable
from typing import Final

import orjson

from oom_input.atomicfile import TargetError, atomic_write

POSTED_KEYS: Final = 1024  # record keys kept in the state file (the newest)
STATE_FILE_NAME: Final = "oom-input-events.json"


class PostedKeys:
    """The keys of records already posted, in memory and (with a directory) on disk: JSON,
    written atomically (temp file, fsync, rename), mode 0600, never through a symlink."""

    def __init__(self, directory: str | None, warn: Callable[[str], None]) -> None:
        self.path = None if directory is None else os.path.join(directory, STATE_FILE_NAME)
        self._warn = warn
        self._keys: collections.OrderedDict[str, None] = collections.OrderedDict()
        if self.path is not None:
            self._load()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        self._keys[key] = None
        while len(self._keys) > POSTED_KEYS:
            self._keys.popitem(last=False)
        self._save()

    def _load(self) -> None:
        assert self.path is not None
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        except OSError as exc:
            self._warn(f"events state {self.path}: cannot read ({exc.strerror})")
            return
        try:
            with os.fdopen(fd, "rb") as f:
                data = orjson.loads(f.read(4 * 1024 * 1024))
            keys = data["posted"]
            if data.get("version") != 1 or not isinstance(keys, list):
                raise ValueError("unknown format")
            for key in keys[-POSTED_KEYS:]:
                self._keys[str(key)] = None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._warn(f"events state {self.path}: unreadable ({exc}); starting afresh")

    def _save(self) -> None:
        if self.path is None:
            return
        data = orjson.dumps({"version": 1, "posted": list(self._keys)})
        try:
            atomic_write(self.path, data)  # the state file's own rules: see oom_input.atomicfile
        except TargetError as exc:
            self._warn(f"events state {self.path}: {exc}")
        except OSError as exc:
            self._warn(f"events state {self.path}: cannot write ({exc.strerror})")


__all__ = ["POSTED_KEYS", "STATE_FILE_NAME", "PostedKeys"]
