"""The enricher that gives a record its ``kubernetes`` object, from the sources the user enabled.

Sources are asked cheapest first (pods files in memory, the node's kubelet log files, the API
server's cached pod list) until one knows the pod as an API object (labels, owner) and its
container; what each knows is merged. The whole lookup of one record waits at most ``wait``
seconds (50 ms live) for the network; then the record goes on with what is known.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from oom_input.pods.model import (
    ContainerInfo,
    Owner,
    ParentLookup,
    PodInfo,
    kubernetes_object,
    workload,
)
from oom_input.types import OomRecord, changed

if TYPE_CHECKING:
    from oom_input.pods.api import ApiPodIndex

LIVE_WAIT_S = 0.05


class PodSource(Protocol):
    """A source that answers at once, from memory or the node's files."""

    def lookup(self, uid: str, container_id: str | None, host: str | None = None) -> PodInfo | None:
        """What the source knows about the pod with cgroup UID ``uid``, or None."""
        ...


class PodMetadataEnricher:
    """``record -> record`` with ``kubernetes`` set when a source knows the record's pod."""

    def __init__(
        self,
        sources: Sequence[PodSource],
        *,
        api: ApiPodIndex | None = None,
        node_name: str | None = None,
        with_labels: bool = False,
        wait: float = LIVE_WAIT_S,
        relist: bool = True,
        parents: Sequence[ParentLookup] = (),
    ) -> None:
        self.sources = list(sources)
        self.api = api
        self.node_name = node_name
        self.with_labels = with_labels
        self.wait = wait
        self.relist = relist  # live: a miss lists the node's pods again (a pod started since)
        self.parents = list(parents)

    def __call__(self, record: OomRecord) -> OomRecord:
        uid = record.pod_uid
        if not uid:
            return record if record.kubernetes is None else changed(record, kubernetes=None)
        end = time.monotonic() + self.wait
        cid = record.container_id
        host = self.node_name or (record.host.lower() if record.host else None)
        pod: PodInfo | None = None
        for source in self.sources:
            found = source.lookup(uid, cid, host)
            if found is not None:
                pod = _merge(pod, found)
                if _complete(pod, cid):
                    break
        if self.api is not None and host and not _complete(pod, cid):
            wait = max(0.0, end - time.monotonic())
            found = self.api.lookup(host, uid, cid, wait, relist=self.relist)
            if found is not None:
                pod = _merge(pod, found)
        if pod is None:
            return record if record.kubernetes is None else changed(record, kubernetes=None)
        owner = workload(pod, lambda kind, ns, name: self._parent(kind, ns, name, end))
        obj = kubernetes_object(pod, cid, owner=owner, host=host, with_labels=self.with_labels)
        return changed(record, kubernetes=obj)

    def _parent(
        self, kind: str, namespace: str, name: str, end: float
    ) -> tuple[bool, Owner | None]:
        for parent in self.parents:
            known, owner = parent(kind, namespace, name)
            if known:
                return known, owner
        if self.api is not None:
            return self.api.parent(kind, namespace, name, max(0.0, end - time.monotonic()))
        return False, None

    def close(self) -> None:
        if self.api is not None:
            self.api.close()


def _complete(pod: PodInfo | None, container_id: str | None) -> bool:
    """An API object (labels known) that names the container."""
    return (
        pod is not None
        and pod.labels is not None
        and (not container_id or container_id in pod.containers)
    )


def _merge(known: PodInfo | None, more: PodInfo) -> PodInfo:
    """What two sources say about one pod; an API object (labels known) wins over the files."""
    if known is None:
        return more
    first, second = (
        (more, known) if known.labels is None and more.labels is not None else (known, more)
    )
    containers: dict[str, ContainerInfo] = dict(second.containers)
    for cid, info in first.containers.items():
        other = containers.get(cid)
        if other is None or info.image or not other.image:
            containers[cid] = info
    return first._replace(
        node=first.node or second.node,
        api_uid=first.api_uid or second.api_uid,
        labels=first.labels if first.labels is not None else second.labels,
        owner=first.owner or second.owner,
        containers=containers,
    )


__all__ = ["LIVE_WAIT_S", "PodMetadataEnricher", "PodSource"]
