"""The records' ``kubernetes`` object (oom_input.pods): from a kubelet-style log tree built with
the kubelet's naming rules (kubelet_tree.py), from pods files in kubectl's shapes
(data/pods/), and from the API stand-in (events_server.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson
import pytest
from events_server import FakeApiServer, Pki
from helpers import run_cli
from kubelet_tree import add_container, add_pod, link_name

from oom_input.kube import ApiClient, in_cluster_config
from oom_input.pods import kubelet_logs
from oom_input.pods.api import RBAC_RULES, ApiPodIndex
from oom_input.pods.enricher import PodMetadataEnricher
from oom_input.pods.kubelet_logs import KubeletLogIndex
from oom_input.pods.model import PodInfo, workload
from oom_input.pods.pods_file import PodsFileError, PodsFileIndex
from oom_input.types import OomRecord
from schema_util import validate_record

PODS = Path(__file__).parent / "data" / "pods"
REAL = Path(__file__).parent / "data" / "real"
UID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
CID = "ab" * 32
STATIC_UID = "5f3b0c8a9d1e2f4a6b7c8d9e0f1a2b3c"
TOKEN = "tok-pods-3f9a1c7e"


def record(uid: str | None = UID, cid: str | None = CID, **kw: Any) -> OomRecord:
    return OomRecord(
        host="Node-A", pid=4242, process_name="java", pod_uid=uid, container_id=cid, **kw
    )


def enrich(*sources: Any, **kw: Any) -> dict[str, Any] | None:
    """The kubernetes object the enricher gives ``record(**kw["record"])``."""
    given = record(**kw.pop("record", {}))
    return PodMetadataEnricher(list(sources), **kw)(given).kubernetes


class TestKubeletLogTree:
    def test_dots_and_dashes(self, tmp_path: Path) -> None:
        """Names with dots and dashes split right at the underscores."""
        add_pod(tmp_path, "team-a1", "api.v2-7f9c-x1", UID, {"app-main": [CID]})
        pod = KubeletLogIndex(str(tmp_path)).lookup(UID, CID)
        assert pod is not None
        assert (pod.namespace, pod.name, pod.containers[CID].name) == (
            "team-a1",
            "api.v2-7f9c-x1",
            "app-main",
        )

    def test_kubernetes_object_from_files(self, tmp_path: Path) -> None:
        """The object carries the names, the container ID and the node; no image or owner."""
        add_pod(tmp_path, "shop", "web-0", UID, {"app": [CID]})
        assert enrich(KubeletLogIndex(str(tmp_path)), node_name="node-a") == {
            "namespace_name": "shop",
            "pod_name": "web-0",
            "pod_id": UID,
            "container_name": "app",
            "docker_id": CID,
            "container_image": None,
            "host": "node-a",
            "owner": None,
        }

    def test_longest_pod_name_with_cut_link(self, tmp_path: Path) -> None:
        """The longest pod name whose log directory fits 255 bytes (215 characters with
        namespace "ns"): the link name is cut at 255, losing the ID's end, and the container is
        still found. (A 253-character name has no log directory at all: see the pods file.)"""
        name = ("a" * 62 + ".") * 3 + "b" * 26
        assert len(f"ns_{name}_{UID}") == 255
        link = add_container(tmp_path, "ns", name, UID, "app", CID, 0)
        assert len(link.name) == 255 and CID not in link.name
        pod = KubeletLogIndex(str(tmp_path)).lookup(UID, CID)
        assert pod is not None and pod.name == name
        assert pod.containers[CID].name == "app"

    def test_cut_link_of_another_container_is_no_match(self, tmp_path: Path) -> None:
        """A cut link names the container only when the ID's kept part matches."""
        name = ("a" * 62 + ".") * 3 + "b" * 26
        add_container(tmp_path, "ns", name, UID, "app", CID, 0)
        pod = KubeletLogIndex(str(tmp_path)).lookup(UID, "cd" * 32)
        assert pod is not None and pod.containers == {}

    def test_two_restarts_leave_two_links(self, tmp_path: Path) -> None:
        """Both the current and the previous container ID name the container."""
        old, new = "01" * 32, "02" * 32
        add_pod(tmp_path, "shop", "web-0", UID, {"app": [old, new], "sidecar": ["03" * 32]})
        index = KubeletLogIndex(str(tmp_path))
        assert index.lookup(UID, old).containers[old].name == "app"  # type: ignore[union-attr]
        assert index.lookup(UID, new).containers[new].name == "app"  # type: ignore[union-attr]
        assert index.lookup(UID, "03" * 32).containers["03" * 32].name == "sidecar"  # type: ignore[union-attr]

    def test_link_whose_target_is_gone(self, tmp_path: Path) -> None:
        """A dangling link (pod directory removed) still names pod and container."""
        add_pod(tmp_path, "shop", "web-0", UID, {"app": [CID]})
        shutil.rmtree(tmp_path / "pods")
        pod = KubeletLogIndex(str(tmp_path)).lookup(UID, CID)
        assert pod is not None
        assert (pod.namespace, pod.name, pod.containers[CID].name) == ("shop", "web-0", "app")

    def test_static_pod_owner_is_the_node(self, tmp_path: Path) -> None:
        """A static pod (32-hex UID) is owned by its Node."""
        add_pod(tmp_path, "kube-system", "etcd-node-a", STATIC_UID, {"etcd": [CID]})
        obj = enrich(KubeletLogIndex(str(tmp_path)), node_name="node-a", record={"uid": STATIC_UID})
        assert obj is not None
        assert (obj["pod_name"], obj["pod_id"]) == ("etcd-node-a", STATIC_UID)
        assert obj["owner"] == {"kind": "Node", "name": "node-a"}

    def test_pod_level_cgroup_names_no_container(self, tmp_path: Path) -> None:
        """A kill in the pod's own cgroup (no container ID) gets the pod, no container."""
        add_pod(tmp_path, "shop", "web-0", UID, {"app": [CID]})
        obj = enrich(KubeletLogIndex(str(tmp_path)), record={"cid": None})
        assert obj is not None
        assert (obj["pod_name"], obj["container_name"], obj["docker_id"]) == ("web-0", None, None)

    def test_deleted_pod_keeps_its_names(self, tmp_path: Path) -> None:
        """Once seen, a pod is known after its files are removed (the kill may come late)."""
        clock = [0.0]
        index = KubeletLogIndex(str(tmp_path), clock=lambda: clock[0])
        add_pod(tmp_path, "shop", "web-0", UID, {"app": [CID]})
        assert index.lookup(UID, None) is not None
        shutil.rmtree(tmp_path / "pods")
        shutil.rmtree(tmp_path / "containers")
        clock[0] = 5.0
        pod = index.lookup(UID, CID)
        assert pod is not None and pod.name == "web-0"

    def test_rescan_at_most_once_per_second(self, tmp_path: Path) -> None:
        """Misses list the directories again at most once per second."""
        clock = [100.0]
        index = KubeletLogIndex(str(tmp_path), clock=lambda: clock[0])
        assert index.lookup(UID, CID) is None
        add_pod(tmp_path, "shop", "web-0", UID, {"app": [CID]})
        clock[0] = 100.9
        assert index.lookup(UID, CID) is None
        assert index.scans == 1
        clock[0] = 101.0
        assert index.lookup(UID, CID) is not None
        assert index.scans == 2
        index.lookup(UID, CID)
        assert index.scans == 2  # a hit does not list

    def test_cache_is_bounded(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Beyond MAX_PODS pods, the oldest seen is forgotten."""
        monkeypatch.setattr(kubelet_logs, "MAX_PODS", 3)
        uids = [f"0000000{i}-0000-0000-0000-000000000000" for i in range(5)]
        for i, uid in enumerate(uids):
            add_pod(tmp_path, "ns", f"p{i}", uid, {})
        index = KubeletLogIndex(str(tmp_path))
        index.lookup(uids[0], None)
        assert len(index._pods) == 3

    def test_no_log_directory(self, tmp_path: Path) -> None:
        """A directory without pods/ or containers/ knows nothing and raises nothing."""
        assert KubeletLogIndex(str(tmp_path / "absent")).lookup(UID, CID) is None


class TestHostileFiles:
    def test_bad_names_are_skipped(self, tmp_path: Path) -> None:
        """Newlines, quotes, upper case, extra underscores and non-UTF-8 in names never reach a
        record; a good pod beside them is found."""
        for bad in (f"sh\nop_web-0_{UID}", f'shop_"web"_{UID}', f"Shop_web-0_{UID}",
                    f"shop_web_0_{UID}", f"shop_web-0_{UID}\n"):  # fmt: skip
            (tmp_path / "pods" / bad).mkdir(parents=True)
        os.mkdir(os.path.join(os.fsencode(tmp_path / "pods"), b"shop_w\xffb_" + UID.encode()))
        links = tmp_path / "containers"
        links.mkdir()
        for bad in (f"web-0_shop_a\npp-{CID}.log", f'web-0_shop_"app"-{CID}.log'):
            (links / bad).symlink_to("/nonexistent")
        index = KubeletLogIndex(str(tmp_path))
        assert index.lookup(UID, CID) is None
        good = "12345678-1234-1234-1234-123456789abc"
        add_pod(tmp_path, "shop", "web-1", good, {"app": ["ee" * 32]})
        pod = KubeletLogIndex(str(tmp_path)).lookup(good, "ee" * 32)
        assert pod is not None and pod.containers["ee" * 32].name == "app"

    def test_symlink_loops(self, tmp_path: Path) -> None:
        """A link pointing at itself, and a pod directory that is a looping link, cost one
        readlink and give what the names say."""
        (tmp_path / "pods").mkdir()
        pod_dir = tmp_path / "pods" / f"shop_web-0_{UID}"
        pod_dir.symlink_to(pod_dir)
        links = tmp_path / "containers"
        links.mkdir()
        name = link_name("web-0", "shop", "app", CID)
        (links / name).symlink_to(links / name)
        pod = KubeletLogIndex(str(tmp_path)).lookup(UID, CID)
        assert pod is not None and pod.containers[CID].name == "app"
        cut = ("a" * 62 + ".") * 3 + "b" * 26
        other = UID.replace("0", "1")
        (tmp_path / "pods" / f"ns_{cut}_{other}").symlink_to("loop")
        (links / link_name(cut, "ns", "app", CID)).symlink_to("loop")
        pod = KubeletLogIndex(str(tmp_path)).lookup(other, CID)
        assert pod is not None and pod.containers == {}

    def test_long_link_target(self, tmp_path: Path) -> None:
        """A 4 KB link target is read as text only and gives no UID."""
        links = tmp_path / "containers"
        links.mkdir()
        (links / link_name("web-0", "shop", "app", CID)).symlink_to("/x" * 2000)
        pod = KubeletLogIndex(str(tmp_path)).lookup(UID, CID)
        assert pod is not None and pod.name == "web-0"

    def test_link_of_another_pod_uid_is_not_trusted(self, tmp_path: Path) -> None:
        """A link whose target names another UID does not name this pod's container."""
        other = "99999999-9999-4999-8999-999999999999"
        add_pod(tmp_path, "shop", "web-0", other, {"app": [CID]})
        assert KubeletLogIndex(str(tmp_path)).lookup(UID, CID) is None

    def test_hostile_tree_keeps_the_stream(self, tmp_path: Path) -> None:
        """Through the CLI: a tree full of bad names next to the real pod gives one valid
        record with the real pod's names."""
        uid, cid = "99887766-5544-3322-1100-ffeeddccbbaa", "12ab" * 16
        (tmp_path / "pods").mkdir()
        (tmp_path / "pods" / f"x\ny_z_{uid}").mkdir()
        (tmp_path / "pods" / ("q" * 250)).mkdir()
        add_pod(tmp_path, "shop", "cart-0", uid, {"app": [cid]})
        (tmp_path / "containers" / f'cart-0_shop_a"pp-{cid}.log').symlink_to("loop")
        proc = run_cli(str(REAL / "cgroupfs-guaranteed-pod-limit.kmsg"),
                       "--kubelet-log-dir", str(tmp_path))  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        [rec] = [orjson.loads(line) for line in proc.stdout.splitlines()]
        validate_record(rec)
        assert rec["kubernetes"]["pod_name"] == "cart-0"
        assert rec["kubernetes"]["container_name"] == "app"


class TestPodsFile:
    @pytest.fixture
    def pods(self) -> PodsFileIndex:
        return PodsFileIndex([str(PODS / "kubectl-get-pods.json")], pytest.fail)

    def test_deployment_pod_object(self, pods: PodsFileIndex) -> None:
        """A Deployment's pod: names, image, node, labels (opt-in) and the Deployment."""
        obj = enrich(pods, with_labels=True, record={
            "uid": "3f0c1a2b-4d5e-4f60-8a1b-2c3d4e5f6a7b", "cid": "a1" * 32})  # fmt: skip
        assert obj == {
            "namespace_name": "shop",
            "pod_name": "web-7d9c5b8f6-x2k4q",
            "pod_id": "3f0c1a2b-4d5e-4f60-8a1b-2c3d4e5f6a7b",
            "container_name": "app",
            "docker_id": "a1" * 32,
            "container_image": "registry.example.com/shop/web:1.4.2",
            "host": "node-a",
            "labels": {"app": "web", "pod-template-hash": "7d9c5b8f6"},
            "owner": {"kind": "Deployment", "name": "web"},
        }

    def test_labels_are_off_by_default(self, pods: PodsFileIndex) -> None:
        """Without --k8s-labels the object has no labels key."""
        obj = enrich(pods, record={"uid": "3f0c1a2b-4d5e-4f60-8a1b-2c3d4e5f6a7b"})
        assert obj is not None and "labels" not in obj

    @pytest.mark.parametrize(
        ("uid", "cid", "container", "owner"),
        [
            ("3f0c1a2b-4d5e-4f60-8a1b-2c3d4e5f6a7b", "a0" * 32, "app", ("Deployment", "web")),
            (
                "3f0c1a2b-4d5e-4f60-8a1b-2c3d4e5f6a7b",
                "a3" * 32,
                "istio-init",
                ("Deployment", "web"),
            ),
            (
                "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
                "b1" * 32,
                "postgres",
                ("StatefulSet", "postgres"),
            ),
            (
                "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a",
                "c1" * 32,
                "report",
                ("Job", "report-29389020"),
            ),
            (
                "9f0a1b2c-3d4e-4f5a-8b6c-7d8e9f0a1b2c",
                "d1" * 32,
                "kube-proxy",
                ("DaemonSet", "kube-proxy"),
            ),
            (STATIC_UID, "e1" * 32, "etcd", ("Node", "node-a")),
        ],
        ids=["restarted", "init-container", "statefulset", "job", "daemonset", "static-pod"],
    )
    def test_each_workload(
        self, pods: PodsFileIndex, uid: str, cid: str, container: str, owner: tuple[str, str]
    ) -> None:
        """Each kind of pod gives its container and the workload a person knows."""
        obj = enrich(pods, record={"uid": uid, "cid": cid})
        assert obj is not None
        assert obj["container_name"] == container
        assert (obj["owner"]["kind"], obj["owner"]["name"]) == owner

    def test_static_pod_carries_the_mirror_uid(self, pods: PodsFileIndex) -> None:
        """A static pod is found by the hash its cgroup carries; pod_id is the API object's."""
        obj = enrich(pods, record={"uid": STATIC_UID, "cid": "e1" * 32})
        assert obj is not None and obj["pod_id"] == "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"

    def test_owner_chain_from_the_file(self) -> None:
        """With the ReplicaSets and Jobs in a pods file, a Job resolves to its CronJob."""
        pods = PodsFileIndex(
            [str(PODS / "kubectl-get-pods.json"), str(PODS / "kubectl-get-replicasets-jobs.json")],
            pytest.fail,
        )
        enricher = PodMetadataEnricher([pods], parents=[pods.parent])
        uid = "7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a"
        obj = enricher(record(uid=uid, cid="c1" * 32)).kubernetes
        assert obj is not None and obj["owner"] == {"kind": "CronJob", "name": "report"}

    def test_json_lines_history(self) -> None:
        """A JSON-lines history: a pod seen twice keeps both container IDs; a later List adds
        pods."""
        warnings: list[str] = []
        pods = PodsFileIndex(
            [str(PODS / "pods-history.jsonl"), str(PODS / "kubectl-get-pods.json")],
            warnings.append,
        )
        assert warnings == []
        old = enrich(pods, record={"uid": "3f0c1a2b-4d5e-4f60-8a1b-2c3d4e5f6a7b", "cid": "a0" * 32})
        new = enrich(pods, record={"uid": "4a1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", "cid": "a4" * 32})
        assert old is not None and old["container_name"] == "app"
        assert new is not None and new["container_image"] == "registry.example.com/shop/web:1.4.3"

    def test_bad_lines_warned_and_hostile_names_dropped(self, tmp_path: Path) -> None:
        """Lines that are not JSON objects are counted in one warning; a pod with a 10 KB name,
        a newline or a quote in its names is not indexed."""
        good = json.loads((PODS / "kubectl-get-pods.json").read_text())["items"][1]
        bad = []
        for name in ("p" * 10240, "web\n0", 'web"0'):
            pod = json.loads(json.dumps(good))
            pod["metadata"]["name"] = name
            pod["metadata"]["uid"] = "11111111-2222-4333-8444-555555555555"
            bad.append(pod)
        path = tmp_path / "pods.jsonl"
        path.write_text("\n".join(["not json", "[1]", *map(json.dumps, bad), json.dumps(good)]))
        warnings: list[str] = []
        pods = PodsFileIndex([str(path)], warnings.append)
        assert warnings == [f"--pods-file {path}: 2 lines are not JSON objects (skipped)"]
        assert list(pods.pods) == ["5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"]

    def test_253_char_pod_name(self, tmp_path: Path) -> None:
        """A pod name of 253 characters (the limit) is kept whole."""
        doc = json.loads((PODS / "kubectl-get-pods.json").read_text())
        name = ("a" * 62 + ".") * 4 + "b"
        doc["items"][1]["metadata"]["name"] = name
        path = tmp_path / "pods.json"
        path.write_text(json.dumps(doc))
        obj = enrich(PodsFileIndex([str(path)], pytest.fail),
                     record={"uid": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"})  # fmt: skip
        assert obj is not None and obj["pod_name"] == name and len(name) == 253

    def test_unreadable_file_is_an_error(self, tmp_path: Path) -> None:
        """A pods file that cannot be read fails at start-up, naming it."""
        with pytest.raises(PodsFileError, match=r"absent\.json"):
            PodsFileIndex([str(tmp_path / "absent.json")], print)


class TestWorkload:
    def test_deployment_from_template_hash(self) -> None:
        """Without a lookup, ReplicaSet <name>-<pod-template-hash> is the Deployment <name>."""
        pod = PodInfo("shop", "web-7d9c5-x", UID, labels=(("pod-template-hash", "7d9c5"),),
                      owner=("ReplicaSet", "web-7d9c5"))  # fmt: skip
        assert workload(pod) == ("Deployment", "web")

    def test_bare_replicaset_stays(self) -> None:
        """A ReplicaSet whose name does not end in the hash is the owner itself."""
        pod = PodInfo("shop", "rs-x", UID, labels=(), owner=("ReplicaSet", "rs"))
        assert workload(pod) == ("ReplicaSet", "rs")

    def test_lookup_wins_over_the_naming_rule(self) -> None:
        """A ReplicaSet that the lookup says has no controller is not taken for a Deployment."""
        pod = PodInfo("shop", "web-7d9c5-x", UID, labels=(("pod-template-hash", "7d9c5"),),
                      owner=("ReplicaSet", "web-7d9c5"))  # fmt: skip
        assert workload(pod, lambda *_: (True, None)) == ("ReplicaSet", "web-7d9c5")


class TestEnricherContract:
    def test_argument_is_never_changed(self, tmp_path: Path) -> None:
        """The enricher returns a new record; the one it got is unchanged."""
        add_pod(tmp_path, "shop", "web-0", UID, {"app": [CID]})
        given = record()
        before = given.as_dict()
        out = PodMetadataEnricher([KubeletLogIndex(str(tmp_path))])(given)
        assert given.as_dict() == before
        assert out is not given and out.kubernetes is not None
        assert {k: v for k, v in out.as_dict().items() if k != "kubernetes"} == {
            k: v for k, v in before.items() if k != "kubernetes"
        }

    def test_no_pod_uid_is_passed_on(self, tmp_path: Path) -> None:
        """A record without pod_uid is passed on as it is."""
        given = record(uid=None, cid=None)
        assert PodMetadataEnricher([KubeletLogIndex(str(tmp_path))])(given) is given

    def test_records_share_no_object(self, tmp_path: Path) -> None:
        """Two records of one pod get two separate kubernetes objects."""
        add_pod(tmp_path, "shop", "web-0", UID, {"app": [CID]})
        enricher = PodMetadataEnricher([KubeletLogIndex(str(tmp_path))])
        first, second = enricher(record()), enricher(record())
        assert first.kubernetes == second.kubernetes
        assert first.kubernetes is not second.kubernetes


# --- the API -------------------------------------------------------------------------------------
@pytest.fixture
def api(pki: Pki) -> Iterator[FakeApiServer]:
    with FakeApiServer(pki) as server:
        server.state.tokens.add(TOKEN)
        items = json.loads((PODS / "kubectl-get-pods.json").read_text())["items"]
        server.state.pods.extend(items)
        for obj in json.loads((PODS / "kubectl-get-replicasets-jobs.json").read_text())["items"]:
            meta = obj["metadata"]
            group = "apps" if obj["kind"] == "ReplicaSet" else "batch"
            plural = obj["kind"].lower() + "s"
            server.state.objects[
                f"/apis/{group}/v1/namespaces/{meta['namespace']}/{plural}/{meta['name']}"
            ] = obj
        yield server


@pytest.fixture
def sa_dir(tmp_path: Path, pki: Pki, api: FakeApiServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text(TOKEN)
    (directory / "ca.crt").write_bytes(pki.ca.read_bytes())
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
    return directory


@pytest.fixture
def index(sa_dir: Path) -> Iterator[ApiPodIndex]:
    warnings: list[str] = []
    pods = ApiPodIndex(ApiClient(in_cluster_config(str(sa_dir))), warnings.append)
    pods.warnings = warnings  # type: ignore[attr-defined]
    yield pods
    pods.close()
    assert all(TOKEN not in w for w in warnings)


class TestApi:
    def test_owners_resolved_with_one_cached_get(
        self, api: FakeApiServer, index: ApiPodIndex
    ) -> None:
        """ReplicaSet -> Deployment and Job -> CronJob, each by one GET, cached."""
        enricher = PodMetadataEnricher([], api=index, wait=5.0)
        web = record(uid="3f0c1a2b-4d5e-4f60-8a1b-2c3d4e5f6a7b", cid="a1" * 32)
        job = record(uid="7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a", cid="c1" * 32)
        for rec in (web, job, web, job):
            out = enricher(rec).kubernetes
            assert out is not None
        assert enricher(web).kubernetes["owner"] == {"kind": "Deployment", "name": "web"}  # type: ignore[index]
        assert enricher(job).kubernetes["owner"] == {"kind": "CronJob", "name": "report"}  # type: ignore[index]
        assert enricher(web).kubernetes["container_image"] == "registry.example.com/shop/web:1.4.2"  # type: ignore[index]
        gets = [r.path for r in api.state.of("GET")]
        assert gets == [
            "/api/v1/pods",
            "/apis/apps/v1/namespaces/shop/replicasets/web-7d9c5b8f6",
            "/apis/batch/v1/namespaces/batch/jobs/report-29389020",
        ]
        assert api.state.of("GET")[0].query["fieldSelector"] == ["spec.nodeName=node-a"]

    def test_rbac_rules_cover_requests(self, api: FakeApiServer, index: ApiPodIndex) -> None:
        """Every request is allowed by pods.api.RBAC_RULES, and every rule is used."""
        enricher = PodMetadataEnricher([], api=index, wait=5.0)
        for uid, cid in (("3f0c1a2b-4d5e-4f60-8a1b-2c3d4e5f6a7b", "a1" * 32),
                         ("7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a", "c1" * 32)):  # fmt: skip
            enricher(record(uid=uid, cid=cid))
        used = set()
        for r in api.state.requests:
            parts = r.path.split("/")
            if parts[1] == "api":
                used.add(("", parts[3], "list"))
            else:
                used.add((parts[2], parts[6], "get"))
        allowed = {(g, res, v) for rule in RBAC_RULES for g in rule["apiGroups"]
                   for res in rule["resources"] for v in rule["verbs"]}  # fmt: skip
        assert used == allowed

    def test_static_pod_through_the_mirror(self, index: ApiPodIndex) -> None:
        """The API's mirror pod is found by the UID the static pod's cgroup carries."""
        obj = PodMetadataEnricher([], api=index, wait=5.0)(
            record(uid=STATIC_UID, cid="e1" * 32)
        ).kubernetes
        assert obj is not None and obj["pod_name"] == "etcd-node-a"
        assert obj["owner"] == {"kind": "Node", "name": "node-a"}

    def test_miss_waits_at_most_the_bound(self, api: FakeApiServer, index: ApiPodIndex) -> None:
        """An API server that does not answer holds a record no longer than the wait (50 ms
        live); the record goes on with what the files know."""
        api.state.script = ["hang"]
        enricher = PodMetadataEnricher([], api=index)
        start = time.monotonic()
        out = enricher(record())
        assert time.monotonic() - start < 0.5
        assert out.kubernetes is None

    def test_files_and_api_merge(self, tmp_path: Path, index: ApiPodIndex) -> None:
        """Names from the files, image and owner from the API, in one object."""
        uid = "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"
        add_pod(tmp_path, "db", "postgres-0", uid, {"postgres": ["b1" * 32]})
        enricher = PodMetadataEnricher([KubeletLogIndex(str(tmp_path))], api=index, wait=5.0)
        obj = enricher(record(uid=uid, cid="b1" * 32)).kubernetes
        assert obj is not None
        assert obj["container_image"] == "docker.io/library/postgres:16.4"
        assert obj["owner"] == {"kind": "StatefulSet", "name": "postgres"}


class TestCli:
    UID = "99887766-5544-3322-1100-ffeeddccbbaa"  # the real capture's pod
    CID = "12ab" * 16

    def _pods_file(self, tmp_path: Path) -> Path:
        doc = json.loads((PODS / "kubectl-get-pods.json").read_text())
        pod = doc["items"][1]  # the StatefulSet's pod, re-used under the capture's UID
        pod["metadata"]["uid"] = self.UID
        pod["status"]["containerStatuses"][0]["containerID"] = f"containerd://{self.CID}"
        path = tmp_path / "pods.json"
        path.write_text(json.dumps(doc))
        return path

    def test_pods_file_gives_names_to_old_logs(self, tmp_path: Path) -> None:
        """Offline: --pods-file names the pod of a kill read from a kernel log."""
        proc = run_cli(str(REAL / "cgroupfs-guaranteed-pod-limit.kmsg"),
                       "--pods-file", str(self._pods_file(tmp_path)), "--k8s-labels",
                       "--kubelet-log-dir", "")  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        [rec] = [orjson.loads(line) for line in proc.stdout.splitlines()]
        validate_record(rec)
        assert rec["kubernetes"]["namespace_name"] == "db"
        assert rec["kubernetes"]["owner"] == {"kind": "StatefulSet", "name": "postgres"}
        assert rec["kubernetes"]["labels"]["app"] == "postgres"

    def test_summary_groups_by_workload(self, tmp_path: Path) -> None:
        """`oom-input summary` with a pods file shows namespace/workload and container."""
        proc = subprocess.run(
            [sys.executable, "-m", "oom_input", "summary",
             str(REAL / "cgroupfs-guaranteed-pod-limit.kmsg"),
             "--pods-file", str(self._pods_file(tmp_path))],
            capture_output=True, env={**os.environ, "COLUMNS": "200"}, timeout=60, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert b"db/StatefulSet/postgres  postgres" in proc.stdout

    def test_bad_pods_file_is_a_usage_error(self, tmp_path: Path) -> None:
        """An unreadable --pods-file: exit 2, the file named on stderr."""
        proc = run_cli("--pods-file", str(tmp_path / "nope.json"), stdin=b"")
        assert proc.returncode == 2
        assert b"nope.json" in proc.stderr

    def test_no_kubernetes_object_without_a_pod(self) -> None:
        """A kill outside Kubernetes has kubernetes null."""
        proc = run_cli(str(REAL / "simple-memcg.kmsg"))
        [rec] = [orjson.loads(line) for line in proc.stdout.splitlines()]
        assert rec["kubernetes"] is None


def test_record_replace_keeps_other_fields() -> None:
    """dataclasses.replace on a record copies every other field (the enricher relies on it)."""
    rec = record()
    assert replace(rec, kubernetes={"a": 1}).pid == 4242


def test_offline_lists_the_node_once(api: FakeApiServer, index: ApiPodIndex) -> None:
    """Offline (relist off), kills of many pods gone since cost one pod list, not one each."""
    enricher = PodMetadataEnricher([], api=index, wait=5.0, relist=False)
    for i in range(5):
        assert enricher(record(uid=f"0000000{i}-1111-4222-8333-444444444444")).kubernetes is None
    found = enricher(record(uid="5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e", cid="b1" * 32))
    assert found.kubernetes is not None
    assert len(api.state.of("GET")) == 1


def test_api_pods_with_hostile_names_are_not_indexed(
    api: FakeApiServer, index: ApiPodIndex
) -> None:
    """Pods the API stand-in lists with a 10 KB name, a newline or a quote are skipped; the
    others are found."""
    good = api.state.pods[1]
    for i, name in enumerate(("p" * 10240, "web\n0", 'web"0')):
        pod = json.loads(json.dumps(good))
        pod["metadata"]["name"] = name
        pod["metadata"]["uid"] = f"0000000{i}-1111-4222-8333-444444444444"
        api.state.pods.append(pod)
    enricher = PodMetadataEnricher([], api=index, wait=5.0, relist=False)
    for i in range(3):
        assert enricher(record(uid=f"0000000{i}-1111-4222-8333-444444444444")).kubernetes is None
    obj = enricher(record(uid=good["metadata"]["uid"], cid="b1" * 32)).kubernetes
    assert obj is not None and obj["pod_name"] == "postgres-0"


def test_nodes_listed_are_bounded(
    api: FakeApiServer, index: ApiPodIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records naming more hosts than MAX_NODES do not make a pod list each."""
    from oom_input.pods import api as pods_api

    monkeypatch.setattr(pods_api, "MAX_NODES", 2)
    for i, host in enumerate(("node-a", "node-b", "node-c", "node-d")):
        index.lookup(host, f"0000000{i}-1111-4222-8333-444444444444", None, 5.0)
    assert len(api.state.of("GET")) == 2
    assert any("more than 2 nodes" in w for w in index.warnings)  # type: ignore[attr-defined]


def test_schema_rejects_a_broken_kubernetes_object() -> None:
    """The schema is the contract: unknown keys and names no pod can have are rejected."""
    from jsonschema import ValidationError

    good = {"namespace_name": "shop", "pod_name": "web-0", "pod_id": UID, "container_name": "app",
            "docker_id": CID, "container_image": None, "host": "node-a",
            "owner": {"kind": "StatefulSet", "name": "web"}}  # fmt: skip
    validate_record({**record().as_dict(), "kubernetes": good})
    for bad in ({**good, "extra": 1}, {**good, "pod_name": "web\n0"},
                {**good, "owner": {"kind": "X"}}, {**good, "docker_id": "xyz"}):  # fmt: skip
        with pytest.raises(ValidationError):
            validate_record({**record().as_dict(), "kubernetes": bad})


def test_yaml_is_not_imported_without_a_kubeconfig() -> None:
    """PyYAML is imported only to read a kubeconfig: the CLI with its pod and Event modules
    loaded (in-cluster use) does without it."""
    code = (
        "import sys, oom_input.cli as c, oom_input.events, oom_input.kube, oom_input.pods.enricher;"
        "c.build_parser(); print('yaml' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_pods_file_of_kubectl_watch(tmp_path: Path) -> None:
    """`kubectl get pods -A -o json -w` output (indented objects back to back) is read too."""
    items = json.loads((PODS / "kubectl-get-pods.json").read_text())["items"]
    path = tmp_path / "watch.json"
    path.write_text("".join(json.dumps(item, indent=4) + "\n" for item in items))
    warnings: list[str] = []
    pods = PodsFileIndex([str(path)], warnings.append)
    assert warnings == []
    assert len(pods.pods) == len(items)
