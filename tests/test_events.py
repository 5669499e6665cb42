"""Kubernetes Events (oom_input.events) against a real local HTTPS API server stand-in
(events_server.py: stdlib http.server + ssl, certificates made with the openssl CLI)."""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from events_server import FakeApiServer, Pki, validate_event

from oom_input.events import (
    RBAC_RULES,
    EventsConfigError,
    EventSink,
    add_event_arguments,
    event_options,
    make_event_sink,
    system_oom_message,
)
from oom_input.kube import TokenSource, load_kubeconfig_document
from oom_input.types import OomRecord

TOKEN = "tok-3f9a1c7e-secret"
NEW_TOKEN = "tok-b2d4e6f8-rotated"
NODE = "node-a"
POD_UID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
CID = "ab" * 32
OLD_CID = "cd" * 32
FIXED_NS = 1_764_182_254_798_531_000  # 2025-11-26T18:37:34Z


@pytest.fixture
def api(pki: Pki) -> Iterator[FakeApiServer]:
    with FakeApiServer(pki) as server:
        server.state.tokens.add(TOKEN)
        server.state.pods.append(_pod())
        yield server


@pytest.fixture
def sa_dir(tmp_path: Path, pki: Pki, api: FakeApiServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An in-cluster service account directory pointing at the fake API server."""
    directory = tmp_path / "serviceaccount"
    directory.mkdir()
    (directory / "token").write_text(TOKEN + "\n")
    (directory / "ca.crt").write_bytes(pki.ca.read_bytes())
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(api.port))
    monkeypatch.delenv("NODE_NAME", raising=False)
    return directory


Factory = Callable[..., EventSink]


@pytest.fixture
def make_sink(tmp_path: Path) -> Iterator[Factory]:
    """make_sink(*cli_args, state_dir=None, **EventOptions overrides) -> a started EventSink;
    its warnings land in make_sink.warnings. Closed at teardown."""
    sinks: list[EventSink] = []
    warnings: list[str] = []

    def make(*cli: str, state_dir: str | None = None, **overrides: Any) -> EventSink:
        args = _parse(*cli)
        defaults = {"backoff_base": 0.01, "request_timeout": 2.0, "flush_timeout": 5.0}
        options = replace(event_options(args), **{**defaults, **overrides})
        sink = EventSink(options, warnings.append, state_dir)
        sinks.append(sink)
        return sink

    make.warnings = warnings  # type: ignore[attr-defined]
    yield make
    for sink in sinks:
        sink.close()


def _parse(*cli: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_event_arguments(parser)
    return parser.parse_args(cli)


def _sa_args(sa_dir: Path, *more: str) -> tuple[str, ...]:
    return ("--events", "--service-account-dir", str(sa_dir), *more)


def _pod(
    uid: str = POD_UID, name: str = "web-7d9f", namespace: str = "shop", node: str = NODE
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": uid},
        "spec": {"nodeName": node},
        "status": {
            "containerStatuses": [
                {
                    "name": "app",
                    "containerID": f"containerd://{CID}",
                    "lastState": {"terminated": {"containerID": f"containerd://{OLD_CID}"}},
                },
                {"name": "sidecar", "containerID": f"containerd://{'ef' * 32}"},
            ]
        },
    }


def system_record(pid: int | None = 4242, kernel_us: int = 499_798_531, **kw: Any) -> OomRecord:
    fields: dict[str, Any] = {
        "time_of_death": "2025-11-26T18:37:34.798531Z",
        "kernel_time_us": kernel_us,
        "host": NODE,
        "boot_id": "3c1b7a0e-boot",
        "pid": pid,
        "process_name": "stress-ng",
        "container_name": "/",
        "victim_container_name": "/",
        "kind": "system",
        "complete": True,
    }
    return OomRecord(**{**fields, **kw})


def pod_record(container_id: str = CID, uid: str = POD_UID, **kw: Any) -> OomRecord:
    path = f"/kubepods/burstable/pod{uid}/{container_id}"
    fields: dict[str, Any] = {
        "pid": 4242,
        "process_name": "java",
        "container_name": path,
        "victim_container_name": path,
        "kind": "memcg",
        "anon_rss_kb": 512000,
        "memory_limit_kb": 524288,
        "pod_uid": uid,
        "container_id": container_id,
        "container_runtime": "containerd",
    }
    return system_record(**{**fields, **kw})


class TestSystemOom:
    def test_body_equals_kubelets(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """A system OOM gives the Event the kubelet's recorder sends, key for key, but for the
        kill's own time in eventTime (with the action core/v1 then requires)."""
        sink = make_sink(*_sa_args(sa_dir), wall_ns=lambda: FIXED_NS)
        sink.write(system_record())
        sink.close()
        [post] = api.state.of("POST")
        assert post.path == "/api/v1/namespaces/default/events"
        assert post.body == {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {
                "name": f"node-a.{FIXED_NS:x}",
                "namespace": "default",
                "creationTimestamp": None,
            },
            "involvedObject": {"kind": "Node", "name": "node-a", "uid": "node-a"},
            "reason": "SystemOOM",
            "message": "System OOM encountered, victim process: stress-ng, pid: 4242",
            "source": {"component": "oom-input", "host": "node-a"},
            "firstTimestamp": "2025-11-26T18:37:34Z",
            "lastTimestamp": "2025-11-26T18:37:34Z",
            "count": 1,
            "type": "Warning",
            "eventTime": "2025-11-26T18:37:34.798531Z",
            "reportingComponent": "oom-input",
            "reportingInstance": "node-a",
            "action": "SystemOOM",
        }
        assert api.state.problems == []

    def test_message_without_victim(self):
        """Without a pid or a name the message is kubelet's bare text."""
        assert system_oom_message(system_record(pid=None)) == "System OOM encountered"
        assert system_oom_message(system_record(process_name=None)) == "System OOM encountered"

    def test_node_name_option_wins_over_host(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """--node-name names the Node instead of the record's host."""
        sink = make_sink(*_sa_args(sa_dir, "--node-name", "worker-7"))
        sink.write(system_record(host="Other-Host"))
        sink.close()
        [post] = api.state.of("POST")
        assert post.body["involvedObject"]["name"] == "worker-7"
        assert post.body["source"]["host"] == "worker-7"


class TestPodEvents:
    def test_pod_event_after_lookup(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """A pod's OOM is posted on the Pod found by listing this node's pods."""
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(pod_record())
        sink.close()
        [get] = api.state.of("GET")
        assert get.path == "/api/v1/pods"
        assert get.query["fieldSelector"] == [f"spec.nodeName={NODE}"]
        [post] = api.state.of("POST")
        assert post.path == "/api/v1/namespaces/shop/events"
        assert post.body["involvedObject"] == {
            "kind": "Pod",
            "namespace": "shop",
            "name": "web-7d9f",
            "uid": POD_UID,
            "apiVersion": "v1",
            "fieldPath": "spec.containers{app}",
        }
        assert post.body["reason"] == "OOMKilling"
        assert post.body["message"] == (
            "Memory cgroup out of memory: killed process 4242 (java) in container app of pod "
            "shop/web-7d9f; "
            "anon-rss 512000kB, limit 524288kB"
        )
        assert api.state.problems == []

    def test_no_event_for_unknown_pod(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """A pod UID this node does not run gives no Event."""
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(pod_record(uid="99999999-9999-9999-9999-999999999999"))
        sink.close()
        assert len(api.state.of("GET")) == 1
        assert api.state.of("POST") == []
        assert sink.stats["pod_not_found"] == 1

    def test_previous_container_id_names_container(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """A container already replaced after the kill is found through lastState."""
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(pod_record(container_id=OLD_CID))
        sink.close()
        [post] = api.state.of("POST")
        assert " in container app of pod shop/web-7d9f;" in post.body["message"]

    def test_new_pod_found_by_relisting(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """A pod started after the last list is found by listing again on the miss."""
        new_uid = "11111111-2222-3333-4444-555555555555"
        sink = make_sink(*_sa_args(sa_dir), pod_relist_interval=0.05)
        sink.write(pod_record(pid=1))
        api.wait_for(1, "POST")
        api.state.pods.append(_pod(uid=new_uid, name="batch-x"))
        sink.write(pod_record(pid=2, uid=new_uid))
        sink.close()
        assert len(api.state.of("GET")) == 2
        assert [p.body["involvedObject"]["name"] for p in api.state.of("POST")] == [
            "web-7d9f",
            "batch-x",
        ]

    def test_pod_list_cached(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """A known pod is not listed again."""
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(pod_record(pid=1))
        sink.write(pod_record(pid=2))
        sink.close()
        assert len(api.state.of("GET")) == 1
        assert len(api.state.of("POST")) == 2

    def test_no_pod_events_option(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """--no-pod-events posts nothing for a pod's OOM."""
        sink = make_sink(*_sa_args(sa_dir, "--no-pod-events"))
        sink.write(pod_record())
        sink.close()
        assert api.state.requests == []


class TestCorrelation:
    def test_identical_event_is_patched(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """An identical Event within 10 minutes is a strategic-merge PATCH with count 2."""
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(system_record(kernel_us=1))
        sink.write(system_record(kernel_us=2))
        sink.close()
        [post] = api.state.of("POST")
        [patch] = api.state.of("PATCH")
        assert patch.path == f"/api/v1/namespaces/default/events/{post.body['metadata']['name']}"
        assert patch.content_type == "application/strategic-merge-patch+json"
        assert set(patch.body) == {"count", "lastTimestamp"}
        assert patch.body["count"] == 2

    def test_identical_event_after_window_is_new(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """After 10 minutes an identical Event is created anew."""
        clock = [1000.0]
        sink = make_sink(*_sa_args(sa_dir), monotonic=lambda: clock[0])
        sink.write(system_record(kernel_us=1))
        api.wait_for(1, "POST")
        clock[0] += 601
        sink.write(system_record(kernel_us=2))
        sink.close()
        assert len(api.state.of("POST")) == 2
        assert api.state.of("PATCH") == []

    def test_spam_limit_per_object(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """The 26th Event on one object within 5 minutes is not sent."""
        sink = make_sink(*_sa_args(sa_dir), monotonic=lambda: 50.0)
        for pid in range(1, 27):
            sink.write(system_record(pid=pid, kernel_us=pid))
        sink.close()
        assert len(api.state.of("POST")) == 25
        assert sink.stats["spam_filtered"] == 1


class TestToken:
    def test_replaced_token_file_is_used(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """A token file replaced (as kubelet rotates it) is used by the next request."""
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(system_record(pid=1, kernel_us=1))
        api.wait_for(1, "POST")
        new = sa_dir / "token.new"
        new.write_text(NEW_TOKEN)
        os.replace(new, sa_dir / "token")
        api.state.tokens = {NEW_TOKEN}
        sink.write(system_record(pid=2, kernel_us=2))
        sink.close()
        assert [r.token for r in api.state.of("POST")] == [TOKEN, NEW_TOKEN]
        assert len(api.state.events) == 2

    def test_401_rereads_and_retries(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """A 401 makes the client read the token again and retry at once."""
        api.state.script = [401]
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(system_record())
        sink.close()
        assert len(api.state.of("POST")) == 2
        assert len(api.state.events) == 1

    def test_token_reread_every_minute(self, tmp_path: Path):
        """An unchanged-looking token file is still read again after 60 s."""
        path = tmp_path / "token"
        path.write_text("aaaa")
        before = os.stat(path)
        clock = [0.0]
        source = TokenSource(path=str(path), clock=lambda: clock[0])
        assert source.get() == "aaaa"
        with open(path, "r+") as f:  # same inode, size and mtime: invisible to stat
            f.write("bbbb")
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
        clock[0] = 59.0
        assert source.get() == "aaaa"
        clock[0] = 60.0
        assert source.get() == "bbbb"

    def test_token_never_in_messages(
        self,
        sa_dir: Path,
        api: FakeApiServer,
        make_sink: Factory,
        capsys: pytest.CaptureFixture[str],
    ):
        """A rejected token is reported without the token text."""
        api.state.tokens = {"something-else"}
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(system_record())
        sink.close()
        warnings = make_sink.warnings  # type: ignore[attr-defined]
        assert any("401" in w for w in warnings)
        captured = capsys.readouterr()
        text = "\n".join([*warnings, captured.out, captured.err, repr(sink.options)])
        text += repr(sink._client.config) + repr(sink._client.config.token)  # type: ignore[union-attr]
        assert TOKEN not in text


class TestFailures:
    def test_500_and_429_are_retried(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """5xx and 429 are retried, the wait honouring Retry-After."""
        api.state.script = [500, (429, 1)]
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(system_record())
        sink.close()
        posts = api.state.of("POST")
        assert len(posts) == 3
        assert posts[2].at - posts[1].at >= 0.9
        assert len(api.state.events) == 1

    def test_timeout_is_retried(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """A request that gets no answer times out and is sent again."""
        api.state.script = ["hang"]
        sink = make_sink(*_sa_args(sa_dir), request_timeout=0.3)
        sink.write(system_record())
        sink.close()
        assert len(api.state.of("POST")) == 2
        assert len(api.state.events) == 1

    def test_write_never_blocks_while_server_hangs(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """write() returns at once (< 10 ms) while the API server does not answer."""
        api.state.script = ["hang"] * 50
        sink = make_sink(*_sa_args(sa_dir), request_timeout=5.0, flush_timeout=0.3)
        sink.write(system_record(pid=0, kernel_us=0))
        api.wait_for(1, "POST")
        slowest = 0.0
        for pid in range(1, 201):
            start = time.perf_counter()
            sink.write(system_record(pid=pid, kernel_us=pid))
            slowest = max(slowest, time.perf_counter() - start)
        assert slowest < 0.010
        start = time.monotonic()
        sink.close()
        assert time.monotonic() - start < 1.0
        assert sink.stats["not_sent_at_exit"] >= 200

    def test_full_queue_drops_oldest(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """A full queue loses its oldest record, counted; the newest are sent."""
        api.state.script = ["hang"]
        sink = make_sink(*_sa_args(sa_dir, "--events-queue-size", "2"), request_timeout=0.5)
        sink.write(system_record(pid=1, kernel_us=1))
        api.wait_for(1, "POST")
        for pid in (2, 3, 4, 5):
            sink.write(system_record(pid=pid, kernel_us=pid))
        sink.close()
        assert sink.stats["dropped_queue_full"] == 2
        sent = [e["message"].rsplit(" ", 1)[1] for e in api.state.events.values()]
        assert sorted(sent) == ["1", "4", "5"]

    def test_other_4xx_reported_once_and_dropped(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """A 403 is not retried, and reported once for several Events."""
        api.state.script = [403, 403]
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(system_record(pid=1, kernel_us=1))
        sink.write(system_record(pid=2, kernel_us=2))
        sink.close()
        assert len(api.state.of("POST")) == 2
        warnings = make_sink.warnings  # type: ignore[attr-defined]
        assert len([w for w in warnings if "HTTP 403" in w]) == 1

    def test_wrong_ca_is_reported(
        self, sa_dir: Path, pki: Pki, api: FakeApiServer, make_sink: Factory
    ):
        """A server certificate the CA did not sign: reported, nothing sent, no crash."""
        (sa_dir / "ca.crt").write_bytes(pki.other_ca.read_bytes())
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(system_record())
        sink.close()
        assert api.state.requests == []
        warnings = make_sink.warnings  # type: ignore[attr-defined]
        assert any("TLS verification" in w for w in warnings), warnings


class TestConfiguration:
    def test_kubeconfig_with_client_certificate(self, tmp_path: Path, pki: Pki, make_sink: Factory):
        """--kubeconfig: CA data, a client certificate file and inline key authenticate."""
        key_data = base64.b64encode(pki.client_key.read_bytes()).decode()
        ca_data = base64.b64encode(pki.ca.read_bytes()).decode()
        with FakeApiServer(pki, client_ca=pki.ca) as server:
            config = tmp_path / "kubeconfig"
            config.write_text(
                f"""apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: {ca_data}
    server: https://127.0.0.1:{server.port}
  name: test
contexts:
- context:
    cluster: test
    user: node  # a comment
  name: test
current-context: "test"
preferences: {{}}
users:
- name: node
  user:
    client-certificate: {pki.client_cert}
    client-key-data: {key_data}
"""
            )
            sink = make_sink("--events", "--kubeconfig", str(config))
            sink.write(system_record())
            sink.close()
            assert len(server.state.events) == 1

    def test_kubeconfig_insecure_refused(self, tmp_path: Path):
        """insecure-skip-tls-verify is refused at start-up."""
        config = tmp_path / "kubeconfig"
        config.write_text(
            json.dumps(
                {
                    "current-context": "c",
                    "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
                    "clusters": [
                        {
                            "name": "k",
                            "cluster": {
                                "server": "https://127.0.0.1:1",
                                "insecure-skip-tls-verify": True,
                            },
                        }
                    ],
                    "users": [{"name": "u", "user": {"token": "x"}}],
                }
            )
        )
        with pytest.raises(EventsConfigError, match="insecure-skip-tls-verify"):
            make_event_sink(_parse("--events", "--kubeconfig", str(config)), print)

    def test_no_cluster_is_a_startup_error(self, monkeypatch: pytest.MonkeyPatch):
        """--events outside a cluster without --kubeconfig fails with a clear message."""
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        with pytest.raises(EventsConfigError, match="--kubeconfig"):
            make_event_sink(_parse("--events"), print)

    def test_no_sink_without_flags(self):
        """Without --events or --events-dry-run there is no event sink."""
        assert make_event_sink(_parse(), print) is None

    def test_kubeconfig_yaml(self):
        """Sequences at their key's indent, quotes, comments, flow {}, escapes and multi-line
        plain scalars read as YAML reads them (PyYAML)."""
        text = "a:\n- b: 'it''s'  # c\n  c: \"x#y\\x41\"\n- - 1\nd: {}\ne: ~\nf: one\n  two\n"
        assert load_kubeconfig_document(text) == {
            "a": [{"b": "it's", "c": "x#yA"}, [1]],
            "d": {},
            "e": None,
            "f": "one two",
        }

    def test_bad_kubeconfig_yaml_is_a_startup_error(self, tmp_path: Path):
        """A kubeconfig that is not YAML is refused with its path in the message."""
        config = tmp_path / "kubeconfig"
        config.write_text("a: [unclosed\n")
        with pytest.raises(EventsConfigError, match=str(config)):
            make_event_sink(_parse("--events", "--kubeconfig", str(config)), print)

    def test_rbac_rules_cover_requests(self, sa_dir: Path, api: FakeApiServer, make_sink: Factory):
        """Every request made is allowed by RBAC_RULES (the owners' get is in
        test_pod_metadata's RBAC test)."""
        sink = make_sink(*_sa_args(sa_dir))
        for kernel_us in (1, 2):
            sink.write(pod_record(kernel_us=kernel_us))
        sink.close()
        verbs = {"POST": "create", "PATCH": "patch", "GET": "list"}
        used = {(r.path.split("/")[-1 if r.method != "PATCH" else -2], verbs[r.method])
                for r in api.state.requests}  # fmt: skip
        allowed = {(res, verb) for rule in RBAC_RULES for res in rule["resources"]
                   for verb in rule["verbs"] if rule["apiGroups"] == [""]}  # fmt: skip
        assert used == allowed
        assert {(g, r, v) for rule in RBAC_RULES for g in rule["apiGroups"]
                for r in rule["resources"] for v in rule["verbs"]} == {
            ("", "events", "create"), ("", "events", "patch"), ("", "pods", "list"),
            ("apps", "replicasets", "get"), ("batch", "jobs", "get"),
        }  # fmt: skip


class TestRestartAndDryRun:
    def test_restart_does_not_repost(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory, tmp_path: Path
    ):
        """With a state directory, a record posted before a restart is not posted again."""
        state = tmp_path / "state"
        state.mkdir()
        first = make_sink(*_sa_args(sa_dir), state_dir=str(state))
        first.write(system_record())
        first.close()
        [state_file] = state.iterdir()
        assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
        again = make_sink(*_sa_args(sa_dir), state_dir=str(state))
        again.write(system_record())
        again.write(system_record(pid=77, kernel_us=77))
        again.close()
        assert len(api.state.of("POST")) == 2
        assert again.stats["already_posted"] == 1

    def test_dry_run_prints_bodies(self, make_sink: Factory, monkeypatch: pytest.MonkeyPatch):
        """--events-dry-run prints each Event as one JSON line and sends nothing."""
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        out = io.StringIO()
        sink = make_sink("--events-dry-run", dry_run_stream=out)
        sink.write(system_record())
        sink.write(pod_record(kernel_us=5))
        sink.close()
        node, pod = (json.loads(line) for line in out.getvalue().splitlines())
        assert node["reason"] == "SystemOOM"
        assert node["involvedObject"]["kind"] == "Node"
        assert pod["reason"] == "OOMKilling"
        assert pod["involvedObject"]["uid"] == POD_UID


class TestNamesAndTimes:
    def test_event_carries_the_kill_time(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """A replayed kill three days old: the Event's times are the kill's, its name now's."""
        later = FIXED_NS + 3 * 86_400 * 10**9
        sink = make_sink(*_sa_args(sa_dir), wall_ns=lambda: later)
        sink.write(pod_record())
        sink.close()
        [post] = api.state.of("POST")
        assert post.body["firstTimestamp"] == post.body["lastTimestamp"] == "2025-11-26T18:37:34Z"
        assert post.body["eventTime"] == "2025-11-26T18:37:34.798531Z"
        assert post.body["action"] == "OOMKilling"
        assert post.body["metadata"]["name"] == f"web-7d9f.{later:x}"
        assert api.state.problems == []

    def test_record_without_time_gets_the_posting_time(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """Without time_of_death the Event is stamped when posted, eventTime null as kubelet's."""
        sink = make_sink(*_sa_args(sa_dir), wall_ns=lambda: FIXED_NS + 10**9)
        sink.write(system_record(time_of_death=None))
        sink.close()
        [post] = api.state.of("POST")
        assert post.body["firstTimestamp"] == "2025-11-26T18:37:35Z"
        assert post.body["eventTime"] is None and "action" not in post.body

    def test_pod_gone_from_the_api_keeps_the_records_names(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """A pod the API no longer lists gets its Event under the names the node's files gave
        the record's kubernetes object."""
        gone = "22222222-3333-4444-5555-666666666666"
        names = {"namespace_name": "shop", "pod_name": "gone-0", "container_name": "app"}
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(pod_record(uid=gone, kubernetes=names))
        sink.close()
        [post] = api.state.of("POST")
        assert post.path == "/api/v1/namespaces/shop/events"
        assert post.body["involvedObject"]["name"] == "gone-0"
        assert " in container app of pod shop/gone-0;" in post.body["message"]
        assert api.state.problems == []

    def test_cli_shares_one_pod_list_between_records_and_events(
        self, sa_dir: Path, api: FakeApiServer, tmp_path: Path
    ):
        """oom-input --events: the record gets its kubernetes object and the Pod Event its
        names from one pod list."""
        from helpers import run_cli

        uid, cid = "99887766-5544-3322-1100-ffeeddccbbaa", "12ab" * 16
        pod = _pod(uid=uid)
        pod["status"]["containerStatuses"][0]["containerID"] = f"containerd://{cid}"
        api.state.pods[:] = [pod]
        capture = Path(__file__).parent / "data" / "real" / "cgroupfs-guaranteed-pod-limit.kmsg"
        proc = run_cli(
            *_sa_args(sa_dir, "--node-name", NODE, "--kubelet-log-dir", ""),
            "--boot-time", "1764180000", str(capture),
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        [record] = [json.loads(line) for line in proc.stdout.splitlines()]
        assert record["kubernetes"]["pod_name"] == "web-7d9f"
        assert record["kubernetes"]["container_name"] == "app"
        assert len(api.state.of("GET")) == 1
        [post] = api.state.of("POST")
        assert " in container app of pod shop/web-7d9f;" in post.body["message"]
        assert post.body["eventTime"].startswith(record["time_of_death"][:19])


def _valid_event() -> dict[str, Any]:
    """A Pod Event as the sink posts it (eventTime set)."""
    return {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {"name": f"web-7d9f.{FIXED_NS:x}", "namespace": "shop"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web-7d9f", "uid": POD_UID},
        "reason": "OOMKilling",
        "message": "Memory cgroup out of memory: killed process 4242 (java)",
        "source": {"component": "oom-input", "host": NODE},
        "firstTimestamp": "2025-11-26T18:37:34Z",
        "lastTimestamp": "2025-11-26T18:37:34Z",
        "count": 1,
        "type": "Warning",
        "eventTime": "2025-11-26T18:37:34.798531Z",
        "reportingComponent": "oom-input",
        "reportingInstance": NODE,
        "action": "OOMKilling",
    }


# Bodies the API server refuses (pkg/apis/core/validation/events.go, legacyValidateEvent, for an
# Event with eventTime): the stand-in must refuse each, or the tests above prove nothing.
REFUSED_BODIES: dict[str, dict[str, Any]] = {
    "component with a space": {"reportingComponent": "oom input"},
    "component of 64 characters": {"reportingComponent": "a" * 64},
    "component with a bad prefix": {"reportingComponent": "Example.com/oom-input"},
    "component with two slashes": {"reportingComponent": "a/b/c"},
    "no reportingInstance": {"reportingInstance": ""},
    "instance of 129 bytes": {"reportingInstance": "n" * 129},
    "no action": {"action": ""},
    "action of 129 bytes": {"action": "A" * 129},
    "reason of 129 bytes": {"reason": "R" * 129},
    "message of 1025 bytes in 342 characters": {"message": "\u20ac" * 341 + "xx"},
    "cluster object outside default": {
        "involvedObject": {"kind": "Node", "name": NODE, "uid": NODE},
    },
}


@pytest.mark.parametrize("change", REFUSED_BODIES.values(), ids=REFUSED_BODIES.keys())
def test_stand_in_refuses_what_the_api_server_refuses(change: dict[str, Any]) -> None:
    """The fake API server's validation finds each rule's violation (and none in a good body)."""
    assert validate_event(_valid_event(), "shop") == []
    assert validate_event({**_valid_event(), **change}, "shop") != []


class TestApiServerRules:
    def test_multibyte_message_fits_the_note_limit(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """A message of many multi-byte characters is cut to 1024 bytes (Go's len), whole
        characters only, and accepted."""
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(pod_record(process_name="\u20ac" * 600))
        sink.write(system_record(process_name="\u00e9" * 700, kernel_us=9))
        sink.close()
        assert api.state.problems == []
        messages = [post.body["message"] for post in api.state.of("POST")]
        assert len(messages) == 2
        for message in messages:
            assert 1021 < len(message.encode("utf-8")) <= 1024
        assert messages[0].endswith("\u20ac")

    @pytest.mark.parametrize("component", ["oom input", "-oom", "a" * 64, "x/y/z", "/oom"])
    def test_component_must_be_a_qualified_name(self, component: str):
        """--event-component must be what the API accepts as reportingComponent."""
        with pytest.raises(EventsConfigError, match="qualified name"):
            event_options(_parse("--events", f"--event-component={component}"))

    @pytest.mark.parametrize("component", ["oom-input", "oom_input.v2", "example.com/oom-input"])
    def test_qualified_components_are_accepted(self, component: str):
        """Names with a DNS prefix, dots and underscores are qualified names."""
        options = event_options(_parse("--events", f"--event-component={component}"))
        assert options.component == component

    def test_node_name_option_must_be_a_node_name(self):
        """--node-name must be a DNS-1123 subdomain, as every Node's name is."""
        with pytest.raises(EventsConfigError, match="--node-name"):
            event_options(_parse("--events", "--node-name", "Node_A"))

    def test_host_that_cannot_be_a_node_gets_no_event(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """A record whose host cannot be a Node's name posts nothing, and says why once."""
        sink = make_sink(*_sa_args(sa_dir))
        sink.write(system_record(host="web server"))
        sink.write(system_record(host="web server", kernel_us=7))
        sink.close()
        assert api.state.of("POST") == []
        assert sink.stats["bad_node_name"] == 2
        assert len([w for w in make_sink.warnings if "cannot be a Node" in w]) == 1  # type: ignore[attr-defined]

    def test_longest_node_name_is_accepted(
        self, sa_dir: Path, api: FakeApiServer, make_sink: Factory
    ):
        """A 253-character node name: reportingInstance is cut to 128 bytes, the name fits."""
        node = ".".join(["n" * 63] * 4)[:253]
        sink = make_sink(*_sa_args(sa_dir, "--node-name", node))
        sink.write(system_record())
        sink.close()
        [post] = api.state.of("POST")
        assert post.body["reportingInstance"] == node[:128]
        assert api.state.problems == []
