"""Pod names from the API server: the node's pod list and the owners of its pods.

One worker thread with its own connection does every request, so a caller never blocks on the
network longer than it chooses to wait. The node's pods are listed like the kubelet lists them
(``fieldSelector=spec.nodeName=<node>``, ``resourceVersion=0``: from the API server's cache) on
a miss, at most once per ``relist_interval``; a UID a list did not have is not listed for again
for ``MISSING_POD_TTL_S``. A ReplicaSet or Job owner is resolved with one GET, cached.

RBAC: pods ``list``; replicasets (apps) and jobs (batch) ``get`` for the owners (``RBAC_RULES``).
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from oom_input.pods.model import Owner, PodInfo
from oom_input.pods.objects import first_owner, pod_from_object

if TYPE_CHECKING:
    from oom_input.kube import ApiClient

RBAC_RULES: Final[tuple[dict[str, list[str]], ...]] = (
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
    {"apiGroups": ["apps"], "resources": ["replicasets"], "verbs": ["get"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get"]},
)
MISSING_POD_TTL_S: Final = 60.0
MAX_OWNERS: Final = 4096
MAX_MISSING: Final = 4096
MAX_NODES: Final = 64  # nodes whose pods are listed (records name their host: one, live)
WARN_INTERVAL_S: Final = 60.0
_OWNER_PATHS: Final = {"ReplicaSet": "/apis/apps/v1", "Job": "/apis/batch/v1"}
_OWNER_RESOURCES: Final = {"ReplicaSet": "replicasets", "Job": "jobs"}


def pods_path(node: str) -> str:
    """The request for the pods of ``node``."""
    selector = quote(f"spec.nodeName={node}", safe="")
    # resourceVersion=0: served from the API server's cache (the kubelet lists the same way)
    return f"/api/v1/pods?fieldSelector={selector}&resourceVersion=0"


def owner_path(kind: str, namespace: str, name: str) -> str:
    """The request for one ReplicaSet or Job."""
    return (
        f"{_OWNER_PATHS[kind]}/namespaces/{quote(namespace, safe='')}/"
        f"{_OWNER_RESOURCES[kind]}/{quote(name, safe='')}"
    )


class ApiPodIndex:
    """The node's pods (and their owners' controllers) from the API server, asked for by
    ``lookup``/``parent`` with a bound on the wait."""

    def __init__(
        self,
        client: ApiClient,
        warn: Callable[[str], None],
        *,
        relist_interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._warn = warn
        self.relist_interval = relist_interval
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._pods: dict[str, dict[str, PodInfo]] = {}  # node -> uid -> pod
        self._generation: collections.Counter[str] = collections.Counter()  # lists per node
        self._listed_at: dict[str, float] = {}
        self._missing: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._owners: collections.OrderedDict[tuple[str, str, str], Owner | None] = (
            collections.OrderedDict()
        )
        self._owner_failed: set[tuple[str, str, str]] = set()
        self._want_lists: list[str] = []
        self._want_owners: list[tuple[str, str, str]] = []
        self._closing = False
        self._warned_at: dict[str, float] = {}
        self.requests = 0
        self._thread = threading.Thread(target=self._run, name="oom-input-pods", daemon=True)
        self._thread.start()

    # --- callers ---------------------------------------------------------------------------------
    def prefetch(self, node: str) -> None:
        """List the node's pods now, so the first kill finds them cached."""
        with self._cond:
            self._ask_list(node)

    def lookup(
        self, node: str, uid: str, container_id: str | None, wait: float, *, relist: bool = True
    ) -> PodInfo | None:
        """The pod with cgroup UID ``uid`` on ``node``; listed again (waiting at most ``wait``
        seconds) when the cache does not know it or its container. ``relist=False``: one list
        of the node is enough (a replay of old logs: its unknown pods are gone for good)."""
        with self._cond:
            pod = self._pods.get(node, {}).get(uid)
            if pod is not None and (not container_id or container_id in pod.containers):
                return pod
            if not relist and node in self._pods:
                return pod
            missed = self._missing.get(uid)
            if missed is not None and self._monotonic() - missed < MISSING_POD_TTL_S:
                return pod
            known_nodes = len(self._listed_at) + len(self._want_lists)
            if (
                node not in self._listed_at
                and node not in self._want_lists
                and known_nodes >= MAX_NODES
            ):
                self._warn_limited(
                    "nodes", f"pod metadata: more than {MAX_NODES} nodes: not listed"
                )
                return None
            before = self._generation[node]
            self._ask_list(node)
            end = time.monotonic() + wait
            while self._generation[node] == before and not self._closing:
                remaining = end - time.monotonic()
                if remaining <= 0:
                    return pod
                self._cond.wait(remaining)
            pod = self._pods.get(node, {}).get(uid)
            if pod is None and node in self._pods:
                self._missing[uid] = self._monotonic()
                if len(self._missing) > MAX_MISSING:
                    self._missing.popitem(last=False)
            return pod

    def parent(
        self, kind: str, namespace: str, name: str, wait: float
    ) -> tuple[bool, Owner | None]:
        """The controller of a ReplicaSet or Job: (known, owner); asked once, then cached."""
        key = (kind, namespace, name)
        if kind not in _OWNER_PATHS:
            return False, None
        with self._cond:
            if key not in self._owners and key not in self._owner_failed:
                if key not in self._want_owners:
                    self._want_owners.append(key)
                    self._cond.notify_all()
                end = time.monotonic() + wait
                while key not in self._owners and key not in self._owner_failed:
                    remaining = end - time.monotonic()
                    if remaining <= 0 or self._closing:
                        break
                    self._cond.wait(remaining)
            if key in self._owners:
                return True, self._owners[key]
            return False, None

    def close(self) -> None:
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(1.0)

    def _ask_list(self, node: str) -> None:
        if node not in self._want_lists:
            self._want_lists.append(node)
            self._cond.notify_all()

    # --- the worker ------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not (self._want_lists or self._want_owners or self._closing):
                    self._cond.wait()
                if self._closing:
                    return
                if self._want_owners:
                    job: tuple[str, ...] = self._want_owners[0]
                else:
                    node = self._want_lists[0]
                    last = self._listed_at.get(node)
                    now = self._monotonic()
                    if last is not None and now - last < self.relist_interval:
                        self._cond.wait(self.relist_interval - (now - last))
                        continue
                    job = (node,)
            try:
                if len(job) == 3:
                    self._fetch_owner((job[0], job[1], job[2]))
                else:
                    self._list(job[0])
            except Exception as exc:  # a bug must not kill the worker silently
                self._warn_limited("bug", f"pod metadata: internal error ({type(exc).__name__})")

    def _list(self, node: str) -> None:
        answer = self._get(pods_path(node))
        pods: dict[str, PodInfo] | None = None
        if isinstance(answer, dict):
            pods = {}
            for item in answer.get("items") or ():
                pod = pod_from_object(item) if isinstance(item, dict) else None
                if pod is not None:
                    pods[pod.uid] = pod
        with self._cond:
            if node in self._want_lists:
                self._want_lists.remove(node)
            self._listed_at[node] = self._monotonic()
            if pods is not None:
                self._pods[node] = pods
            self._generation[node] += 1
            self._cond.notify_all()

    def _fetch_owner(self, key: tuple[str, str, str]) -> None:
        answer = self._get(owner_path(*key))
        with self._cond:
            self._want_owners.remove(key)
            if isinstance(answer, dict) and isinstance(answer.get("metadata"), dict):
                self._owners[key] = first_owner(answer["metadata"])
                if len(self._owners) > MAX_OWNERS:
                    self._owners.popitem(last=False)
            elif len(self._owner_failed) < MAX_OWNERS:
                self._owner_failed.add(key)
            self._cond.notify_all()

    def _get(self, path: str) -> Any:
        from oom_input.kube import ApiError

        self.requests += 1
        try:
            return self._client.request("GET", path)
        except ApiError as exc:
            self._warn_limited(f"http-{exc.status}", f"pod metadata: {exc}")
            return None

    def _warn_limited(self, kind: str, message: str) -> None:
        now = self._monotonic()
        last = self._warned_at.get(kind)
        if last is None or now - last >= WARN_INTERVAL_S:
            self._warned_at[kind] = now
            with contextlib.suppress(Exception):  # diagnostics must never stop the worker
                self._warn(message)


__all__ = ["RBAC_RULES", "ApiPodIndex", "owner_path", "pods_path"]
