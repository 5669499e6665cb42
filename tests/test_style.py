"""The code base stays ruff clean (lint and format), as the project's rules ask."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def ruff() -> list[str]:
    exe = Path(sys.executable).with_name("ruff")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (it comes with the test extra)")
    return [found]


def test_ruff_check_is_clean() -> None:
    """`ruff check` finds nothing in the package, the tests and the benchmark."""
    proc = subprocess.run(
        [*ruff(), "check", "oom_input", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_is_clean() -> None:
    """`ruff format --check` would change nothing."""
    proc = subprocess.run(
        [*ruff(), "format", "--check", "oom_input", "tests", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
