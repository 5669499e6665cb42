"""Start-up of an offline run: only what reading a kernel log needs is imported.

Most of a sparse log's run time is start-up (issue 14), so the code that only an option needs
(Events, the API, pods files, --summary, --since, live sources, a compressed input) is imported
when that option asks for it, and the pod metadata code at the first record of a pod. Each run
is ``cli.main`` in a fresh interpreter, which reports the modules it imported; its records must
equal those of the whole pipeline run in-process.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from helpers import run_pipeline

ROOT = Path(__file__).parent.parent
REAL = ROOT / "tests" / "data" / "real"

# imported only when an option asks for them
OPTION_ONLY = (
    "oom_input.events.bodies",  # --events, --events-dry-run
    "oom_input.events.config",  # the same, --k8s-metadata
    "oom_input.events.correlator",
    "oom_input.events.sink",
    "oom_input.events.state",
    "oom_input.kube",  # --events, --k8s-metadata
    "oom_input.pods.api",  # the same
    "oom_input.pods.pods_file",  # --pods-file
    "oom_input.summary",  # --summary, `oom-input summary`
    "oom_input.timefilter",  # --summary, --since, --until
    "oom_input.live",  # --kmsg, --journal
    "gzip",  # a gzip input
    "shutil",  # --summary's table and help (the terminal's width; it brings bz2 and lzma)
    "_hashlib",  # OpenSSL: the record ids' BLAKE2b is Python's own (_blake2)
)
# imported at the first record of a pod
POD_CODE = ("oom_input.pods.model", "oom_input.pods.enricher", "oom_input.pods.kubelet_logs")

# cli.main, then the names of the imported modules into the file named by argv[1]
RUN_MAIN = """\
import sys
from oom_input.cli import main
status = main(sys.argv[2:])
sys.stdout.flush()
with open(sys.argv[1], "w") as out:
    out.write("\\n".join(sorted(sys.modules)))
sys.exit(status)
"""


def run_main(tmp_path: Path, *args: str) -> tuple[list[dict[str, object]], set[str]]:
    """The records of ``oom-input ARGS`` run by a fresh interpreter, and the modules it imported."""
    modules = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", RUN_MAIN, str(modules), *args],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    records = [orjson.loads(line) for line in proc.stdout.splitlines()]
    return records, set(modules.read_text().split("\n"))


@pytest.mark.parametrize(
    ("fixture", "pods"),
    [("simple-memcg.kmsg", False), ("two-kills-with-noise.kmsg", True)],
)
def test_offline_run_imports_no_option_only_code(tmp_path: Path, fixture: str, pods: bool) -> None:
    """A plain kmsg file without options: the same records as the in-process pipeline, none of
    the option-only modules imported; the pod code only for a log with a kill in a pod."""
    kubelet_logs = tmp_path / "kubelet"  # (no pods known: the records stay as decoded)
    kubelet_logs.mkdir()
    path = REAL / fixture
    records, modules = run_main(
        tmp_path, "--input-format", "kmsg", "--kubelet-log-dir", str(kubelet_logs), str(path)
    )
    assert records == run_pipeline([path.read_bytes()], "kmsg")
    assert any(r["pod_uid"] for r in records) is pods
    assert sorted(modules.intersection(OPTION_ONLY)) == []
    assert modules.issuperset(POD_CODE) is pods, sorted(modules.intersection(POD_CODE))


def test_an_option_imports_its_code(tmp_path: Path) -> None:
    """The check above can fail: the same run with --since and --summary imports their code."""
    _, modules = run_main(
        tmp_path, "--since", "2000-01-01", "--summary", str(REAL / "simple-memcg.kmsg")
    )
    assert {"oom_input.timefilter", "oom_input.summary"} <= modules


def test_record_ids_use_hashlibs_blake2b() -> None:
    """The id's BLAKE2b, taken without loading hashlib, is hashlib's own (the same function)."""
    import hashlib

    from oom_input import identity

    assert identity.blake2b is hashlib.blake2b


def test_help_still_fits_the_terminal() -> None:
    """Options are checked with a formatter of a fixed width (no terminal query at start-up);
    --help itself is wrapped at the terminal's width."""

    def help_lines(columns: int) -> list[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "oom_input", "--help"],
            cwd=ROOT,
            env={**os.environ, "COLUMNS": str(columns)},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return proc.stdout.splitlines()

    narrow, wide = help_lines(60), help_lines(250)
    sentence = "when the kernel booted (Unix time, may have decimals): turns kernel timestamps into"
    assert any(sentence in line for line in wide)
    assert not any(sentence in line for line in narrow)
    assert len(narrow) > len(wide) + 20
