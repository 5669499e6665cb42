"""Pod metadata: what the `kubernetes` object costs per record, and how long a lookup that misses
takes, per source. Not a test: figures in one run, printed as a table.

    .venv/bin/python bench/pod_metadata.py [--pods 110] [--records 20000]

- per record (µs): the enrichers a record goes through, from cgroup attribution alone to the
  kubernetes object from each source with its cache warm (the usual case: a node's pods are
  known before they get killed), and for a record without a pod (a system OOM of a host task).
- lookup that misses (ms): a pod not yet cached; files: listing <log dir>/pods and
  <log dir>/containers (readlink of each new link); API: one pod list of the node over local
  HTTPS (tests/events_server.py, real TLS), and one owner GET.
- PyYAML: import time and RSS of reading a kubeconfig (only --kubeconfig needs it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from events_server import FakeApiServer, make_pki  # noqa: E402
from kubelet_tree import add_pod  # noqa: E402

from oom_input.enrich import kubernetes_enricher  # noqa: E402
from oom_input.kube import ApiClient, in_cluster_config  # noqa: E402
from oom_input.pods.api import ApiPodIndex  # noqa: E402
from oom_input.pods.enricher import PodMetadataEnricher  # noqa: E402
from oom_input.pods.kubelet_logs import KubeletLogIndex  # noqa: E402
from oom_input.pods.pods_file import PodsFileIndex  # noqa: E402
from oom_input.types import OomRecord  # noqa: E402

TOKEN = "bench-token"


def make_pods(n: int) -> list[dict]:
    """n pods of node-a as the API lists them: two containers each, a Deployment's ReplicaSet."""
    pods = []
    for i in range(n):
        uid = str(uuid.UUID(int=i + 1))
        ids = [f"{i:08x}{j:056x}" for j in (1, 2)]
        rs = f"app{i}-7d9c5b8f6"
        owner = {"kind": "ReplicaSet", "name": rs, "controller": True}
        statuses = [
            {"name": name, "image": f"registry.example.com/{name}:1.0",
             "containerID": f"containerd://{cid}"}
            for name, cid in zip(("app", "sidecar"), ids, strict=True)
        ]  # fmt: skip
        pods.append({
            "metadata": {"name": f"{rs}-x{i:04d}", "namespace": f"team{i % 7}", "uid": uid,
                         "labels": {"app": f"app{i}", "pod-template-hash": "7d9c5b8f6"},
                         "ownerReferences": [owner]},
            "spec": {"nodeName": "node-a"},
            "status": {"containerStatuses": statuses},
        })  # fmt: skip
    return pods


def record_of(pod: dict) -> OomRecord:
    uid = pod["metadata"]["uid"]
    cid = pod["status"]["containerStatuses"][0]["containerID"].split("://")[1]
    path = f"/kubepods/burstable/pod{uid}/{cid}"
    return OomRecord(host="node-a", pid=4242, process_name="java", container_name=path,
                     victim_container_name=path, kind="memcg")  # fmt: skip


def per_record_us(enrichers: list[Callable[[OomRecord], OomRecord]], records: list[OomRecord],
                  rounds: int = 5) -> float:  # fmt: skip
    """Best of ``rounds``: µs per record through ``enrichers``."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for record in records:
            for enrich in enrichers:
                record = enrich(record)
        best = min(best, (time.perf_counter() - start) / len(records))
    return best * 1e6


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e3:.2f} ms (max {max(samples) * 1e3:.2f})"


def yaml_cost() -> str:
    """Import time and RSS of `import yaml` + safe_load of a kubeconfig, vs the modules without."""
    code = (
        "import time; import oom_input.kube as k\n"
        "def rss(): return int(next(l for l in open('/proc/self/status') "
        "if l.startswith('VmRSS')).split()[1])\n"
        "r0 = rss(); t = time.perf_counter(); {}\nprint(time.perf_counter() - t, rss() - r0)"
    )
    load = "k.load_kubeconfig_document(open('{}').read())"
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n"
            "  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: "
            + "QUJD"
            * 400
            + "\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n"
            "  user: {token: abc}\n"
        )
    runs = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", code.format(load.format(f.name))],
                             capture_output=True, text=True, check=True, cwd=ROOT)  # fmt: skip
        seconds, kib = out.stdout.split()
        runs.append((float(seconds), int(kib)))
    os.unlink(f.name)
    seconds = statistics.median(s for s, _ in runs)
    kib = statistics.median(k for _, k in runs)
    return f"{seconds * 1e3:.1f} ms, +{kib / 1024:.1f} MiB RSS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=110, help="pods on the node (kubelet max 110)")
    parser.add_argument("--records", type=int, default=20000)
    args = parser.parse_args()
    pods = make_pods(args.pods)
    records = [record_of(pods[i % len(pods)]) for i in range(args.records)]
    attributed = [kubernetes_enricher(r) for r in records]
    no_pod = [OomRecord(host="node-a", pid=1, container_name="/system.slice/x.service",
                        victim_container_name="/") for _ in range(args.records)]  # fmt: skip
    rows: list[tuple[str, str]] = []

    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp) / "log"
        for pod in pods:
            meta, statuses = pod["metadata"], pod["status"]["containerStatuses"]
            add_pod(logs, meta["namespace"], meta["name"], meta["uid"],
                    {s["name"]: [s["containerID"].split("://")[1]] for s in statuses})  # fmt: skip
        pods_file = Path(tmp) / "pods.json"
        pods_file.write_text(json.dumps({"kind": "List", "items": pods}))

        files = KubeletLogIndex(str(logs))
        file_index = PodsFileIndex([str(pods_file)], print)
        by_files = PodMetadataEnricher([files], node_name="node-a")
        by_file = PodMetadataEnricher([file_index], node_name="node-a")
        base = per_record_us([kubernetes_enricher], records)
        rows.append(("cgroup attribution only (kubernetes_enricher)", f"{base:.2f} µs/record"))
        for name, enricher in (("kubelet log files", by_files), ("--pods-file", by_file)):
            cost = per_record_us([enricher], attributed)
            rows.append((f"+ kubernetes object from {name} (warm)", f"+{cost:.2f} µs/record"))
        cost = per_record_us([by_files], no_pod)
        rows.append(("+ pod metadata on a record without pod", f"+{cost:.2f} µs/record"))

        misses = []
        for _ in range(20):
            cold = KubeletLogIndex(str(logs))
            start = time.perf_counter()
            assert cold.lookup(pods[-1]["metadata"]["uid"], None) is not None
            misses.append(time.perf_counter() - start)
        rows.append(
            (f"files: miss, list {args.pods} pods + {2 * args.pods} links", median_ms(misses))
        )

        with tempfile.TemporaryDirectory() as pki_dir:
            pki = make_pki(Path(pki_dir))
            with FakeApiServer(pki) as api:
                api.state.tokens.add(TOKEN)
                api.state.pods.extend(pods)
                for pod in pods:
                    rs = pod["metadata"]["ownerReferences"][0]["name"]
                    ns = pod["metadata"]["namespace"]
                    deployment = {"kind": "Deployment", "name": rs.rsplit("-", 1)[0]}
                    api.state.objects[f"/apis/apps/v1/namespaces/{ns}/replicasets/{rs}"] = {
                        "metadata": {"name": rs, "namespace": ns, "ownerReferences": [deployment]}
                    }
                sa = Path(pki_dir) / "sa"
                sa.mkdir()
                (sa / "token").write_text(TOKEN)
                (sa / "ca.crt").write_bytes(pki.ca.read_bytes())
                os.environ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1"
                os.environ["KUBERNETES_SERVICE_PORT"] = str(api.port)
                lists, owners = [], []
                for i in range(10):
                    index = ApiPodIndex(ApiClient(in_cluster_config(str(sa))), print)
                    start = time.perf_counter()
                    assert index.lookup("node-a", pods[i]["metadata"]["uid"], None, 10.0)
                    lists.append(time.perf_counter() - start)
                    meta = pods[i]["metadata"]
                    start = time.perf_counter()
                    known, _ = index.parent("ReplicaSet", meta["namespace"],
                                            meta["ownerReferences"][0]["name"], 10.0)  # fmt: skip
                    owners.append(time.perf_counter() - start)
                    assert known
                    index.close()
                first = f"API: miss, list {args.pods} pods (new TLS connection)"
                rows.append((first, median_ms(lists)))
                relists = []
                index = ApiPodIndex(ApiClient(in_cluster_config(str(sa))), print, relist_interval=0)
                index.lookup("node-a", pods[0]["metadata"]["uid"], None, 10.0)
                for _ in range(10):
                    start = time.perf_counter()
                    index.lookup("node-a", str(uuid.uuid4()), None, 10.0)  # not there: lists
                    relists.append(time.perf_counter() - start)
                index.close()
                again = f"API: miss, list {args.pods} pods again (kept-alive)"
                rows.append((again, median_ms(relists)))
                rows.append(("API: owner GET (ReplicaSet -> Deployment)", median_ms(owners)))
                index = ApiPodIndex(ApiClient(in_cluster_config(str(sa))), print)
                by_api = PodMetadataEnricher([], api=index, wait=10.0)
                for pod in pods:  # warm: every pod and owner cached
                    by_api(kubernetes_enricher(record_of(pod)))
                cost = per_record_us([by_api], attributed)
                rows.append(("+ kubernetes object from the API (warm)", f"+{cost:.2f} µs/record"))
                index.close()

    rows.append(("PyYAML: import + read a kubeconfig (--kubeconfig only)", yaml_cost()))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
