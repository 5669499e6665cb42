"""End to end on the running kernel, with names: a genuine OOM kill in a memory cgroup laid out
as the kubelet lays out a pod's (cgroupfs driver), a matching kubelet log tree under a temporary
--kubelet-log-dir (kubelet_tree.py), and the CLI reading the captured /dev/kmsg records. Needs
root and cgroup v1 (see kernel_oom.py); skips elsewhere, fails instead under
OOM_INPUT_REQUIRE_REAL_KERNEL=1."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from kubelet_tree import add_pod

from kernel_oom import OomCapture, trigger_oom

pytestmark = pytest.mark.real_kernel

REPO = Path(__file__).resolve().parent.parent
COMM = "web-worker"


@pytest.fixture(scope="module")
def kill() -> tuple[str, str, OomCapture]:
    """One real kill in kubepods/burstable/pod<uid>/<container id>, the limit on the container."""
    uid, cid = str(uuid.uuid4()), uuid.uuid4().hex + uuid.uuid4().hex
    return uid, cid, trigger_oom(f"kubepods/burstable/pod{uid}/{cid}", comm=COMM)


def run_cli(cap: OomCapture, tmp_path: Path, *args: str) -> list[dict]:
    path = tmp_path / "capture.kmsg"
    path.write_bytes(b"".join(cap.records))
    argv = [sys.executable, "-m", "oom_input", "--input-format", "kmsg", str(path), *args]
    proc = subprocess.run(argv, cwd=REPO, capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return [orjson.loads(line) for line in proc.stdout.splitlines()]


def test_kill_in_a_pod_cgroup_gets_the_pods_names(
    kill: tuple[str, str, OomCapture], tmp_path: Path
) -> None:
    """The record of the real kill carries namespace, pod and container from the log tree."""
    from schema_util import validate_record

    uid, cid, cap = kill
    logs = tmp_path / "log"
    add_pod(logs, "shop", "web-7d9c5b8f6-x2k4q", uid, {"app": ["00" * 32, cid]})
    records = [r for r in run_cli(cap, tmp_path, "--kubelet-log-dir", str(logs),
                                  "--node-name", "node-a") if r["pid"] == cap.pid]  # fmt: skip
    assert len(records) == 1, records
    rec = records[0]
    validate_record(rec)
    assert (rec["pod_uid"], rec["container_id"]) == (uid, cid)
    assert rec["kubernetes"] == {
        "namespace_name": "shop",
        "pod_name": "web-7d9c5b8f6-x2k4q",
        "pod_id": uid,
        "container_name": "app",
        "docker_id": cid,
        "container_image": None,
        "host": "node-a",
        "owner": None,
    }


def test_kill_without_a_log_tree_has_no_names(
    kill: tuple[str, str, OomCapture], tmp_path: Path
) -> None:
    """The same kill read with an empty --kubelet-log-dir: pod_uid, but kubernetes null."""
    _, _, cap = kill
    records = [r for r in run_cli(cap, tmp_path, "--kubelet-log-dir", str(tmp_path))
               if r["pid"] == cap.pid]  # fmt: skip
    assert [r["kubernetes"] for r in records] == [None]


def test_live_record_gets_the_pods_names(tmp_path: Path) -> None:
    """oom-input --kmsg, following the ring buffer, names the pod of a real kill as it comes."""
    from test_live import OomInput

    uid, cid = str(uuid.uuid4()), uuid.uuid4().hex + uuid.uuid4().hex
    logs = tmp_path / "log"
    add_pod(logs, "batch", "report-29389020-7kq2m", uid, {"report": [cid]})
    oom = OomInput("--kubelet-log-dir", str(logs), "--node-name", "node-a")
    try:
        oom.wait_started()
        cap = trigger_oom(f"kubepods/besteffort/pod{uid}/{cid}", comm="report")
        records = [r for r in oom.records(pid=cap.pid, timeout=20) if r["pid"] == cap.pid]
    finally:
        code, stderr = oom.stop()
    assert code == 0, stderr
    assert len(records) == 1, records
    kube = records[0]["kubernetes"]
    assert (kube["namespace_name"], kube["pod_name"], kube["container_name"]) == (
        "batch",
        "report-29389020-7kq2m",
        "report",
    )
    assert (kube["docker_id"], kube["host"]) == (cid, "node-a")
