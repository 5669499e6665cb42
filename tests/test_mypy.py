"""The package's types are checked: `mypy --strict oom_input` finds nothing (configuration in
pyproject.toml, [tool.mypy])."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def mypy() -> list[str]:
    exe = Path(sys.executable).with_name("mypy")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("mypy")
    if found is None:
        pytest.skip("mypy is not installed (it comes with the test extra)")
    return [found]


def test_mypy_strict_is_clean() -> None:
    """`mypy --strict oom_input` reports no error."""
    proc = subprocess.run(
        [*mypy(), "--strict", "oom_input"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
