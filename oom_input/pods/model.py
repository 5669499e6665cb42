"""What is known about a pod, from any source, and the record's ``kubernetes`` object built from it.

Sources (``kubelet_logs``, ``pods_file``, ``api``) all produce ``PodInfo``. The object carries the
key names of Fluent Bit's ``kubernetes`` filter and Fluentd's ``kubernetes_metadata`` filter, so
queries written for container logs work on OOM records too.

Every name read from outside is checked against the Kubernetes rules for that kind of name before
it is kept (``objects`` for API objects, ``kubelet_logs`` for the node's files): a name that could
not exist in a cluster (a newline, a quote, 10 KB, upper case) is dropped, never copied into a
record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple

# Kubernetes name rules (k8s.io/apimachinery validation): namespaces and container names are
# RFC 1123 labels (at most 63), pod and most object names RFC 1123 subdomains (at most 253).
DNS_LABEL: Final = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
DNS_SUBDOMAIN: Final = r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?"
DNS_LABEL_RE: Final = re.compile(DNS_LABEL)
# a pod UID as the kubelet writes it: dashed UUID, or a static pod's 32-hex manifest hash
POD_UID: Final = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})"
STATIC_POD_UID_RE: Final = re.compile(r"[0-9a-f]{32}")
# the Deployment controller names its ReplicaSets <deployment>-<pod-template-hash> and puts the
# hash on the pods as this label
POD_TEMPLATE_HASH: Final = "pod-template-hash"

Owner = tuple[str, str]  # (kind, name)


# (NamedTuples, not frozen dataclasses: a third of the cost at import, which a run pays at its
# first record of a pod)
class ContainerInfo(NamedTuple):
    """One container of a pod (a current or previous instance, by its ID)."""

    name: str
    image: str | None = None
    spec_path: str | None = None  # "spec.containers", "spec.initContainers", ...


class PodInfo(NamedTuple):
    """What one source knows about a pod."""

    namespace: str
    name: str
    uid: str  # the UID the pod's cgroups and log directory carry
    node: str | None = None
    api_uid: str | None = None  # the API object's UID where it differs (a static pod's mirror)
    labels: tuple[tuple[str, str], ...] | None = None  # None: the source does not know them
    owner: Owner | None = None  # the first controller (or owner) reference
    containers: Mapping[str, ContainerInfo] = MappingProxyType({})  # by container ID

    @property
    def static(self) -> bool:
        """A static pod: its UID is the kubelet's 32-hex hash of the manifest."""
        return STATIC_POD_UID_RE.fullmatch(self.uid) is not None

    def label(self, key: str) -> str | None:
        """The value of one label, None when absent or unknown."""
        for k, v in self.labels or ():
            if k == key:
                return v
        return None


# A ReplicaSet's or Job's own controller: (known, controller). known False: could not be asked.
ParentLookup = Callable[[str, str, str], tuple[bool, Owner | None]]


def _no_parent(kind: str, namespace: str, name: str) -> tuple[bool, Owner | None]:
    return False, None


def workload(pod: PodInfo, parent: ParentLookup = _no_parent) -> Owner | None:
    """The workload a person knows: ReplicaSet -> its Deployment, Job -> its CronJob when the
    owner chain says so (asked through ``parent``), else the pod's first owner; a static pod's
    owner is its Node. A ReplicaSet that cannot be looked up is taken for its Deployment when its
    name is ``<deployment>-<pod-template-hash>`` (the Deployment controller's naming rule)."""
    owner = pod.owner
    if owner is None:
        return ("Node", pod.node) if pod.static and pod.node else None
    kind, name = owner
    if kind not in ("ReplicaSet", "Job"):
        return owner
    known, controller = parent(kind, pod.namespace, name)
    if known:
        wanted = "Deployment" if kind == "ReplicaSet" else "CronJob"
        return controller if controller is not None and controller[0] == wanted else owner
    template_hash = pod.label(POD_TEMPLATE_HASH)
    if kind == "ReplicaSet" and template_hash and name.endswith("-" + template_hash):
        return ("Deployment", name[: -len(template_hash) - 1])
    return owner


def kubernetes_object(
    pod: PodInfo,
    container_id: str | None,
    *,
    owner: Owner | None,
    host: str | None,
    with_labels: bool,
) -> dict[str, Any]:
    """The record's ``kubernetes`` object (a new dict each time: records share nothing)."""
    container = pod.containers.get(container_id) if container_id else None
    obj: dict[str, Any] = {
        "namespace_name": pod.namespace,
        "pod_name": pod.name,
        "pod_id": pod.api_uid or pod.uid,
        "container_name": None if container is None else container.name,
        "docker_id": container_id,
        "container_image": None if container is None else container.image,
        "host": pod.node or host,
    }
    if with_labels:
        obj["labels"] = None if pod.labels is None else dict(pod.labels)
    obj["owner"] = None if owner is None else {"kind": owner[0], "name": owner[1]}
    return obj


__all__ = [
    "ContainerInfo",
    "Owner",
    "ParentLookup",
    "PodInfo",
    "kubernetes_object",
    "workload",
]
