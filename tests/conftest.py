"""Shared fixtures, and the `real_kernel` marker: such tests skip, with the reason, where this
process cannot make the kernel OOM-kill a child (see kernel_oom.py), and fail instead when
OOM_INPUT_REQUIRE_REAL_KERNEL=1 (CI sets it, so a skip can never pass unnoticed there)."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from events_server import Pki, make_pki

from kernel_oom import real_oom_unavailable_reason

DATA_DIR = Path(__file__).parent / "data"


@functools.cache
def _real_kernel_unavailable() -> str | None:
    return real_oom_unavailable_reason()


@pytest.hookimpl(tryfirst=True)  # before fixtures are set up (they would try the kill)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("real_kernel") is None:
        return
    reason = _real_kernel_unavailable()
    if reason is None:
        return
    if os.environ.get("OOM_INPUT_REQUIRE_REAL_KERNEL") == "1":
        pytest.fail(f"real kernel required (OOM_INPUT_REQUIRE_REAL_KERNEL=1): {reason}", False)
    pytest.skip(f"real kernel OOM unavailable: {reason}")


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates for the API server stand-in (events_server.py), made once per session."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """tests/data/real/: real /dev/kmsg captures (see its README.md)."""
    return DATA_DIR / "real"


@pytest.fixture(scope="session")
def read_sample(samples_dir: Path) -> Callable[[str], list[str]]:
    """read_sample(name) -> the file's lines, each with its "\\n" as in the file. ``name`` is
    relative to tests/data/real/, or to tests/data/ (e.g. "legacy/rhel6-global.dmesg")."""

    def read(name: str) -> list[str]:
        path = samples_dir / name
        if not path.exists():
            path = DATA_DIR / name
        # split on "\n" only (str.splitlines would also split on \x0b, \x1c, \u2028...)
        *lines, last = path.read_bytes().decode("utf-8").split("\n")  # no newline translation
        return [line + "\n" for line in lines] + ([last] if last else [])

    return read
