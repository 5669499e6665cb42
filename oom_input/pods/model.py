"""What is known about a pod, from any source, and the record's ``kubernetes`` object built from it.

Sources (``kubelet_logs``, ``pods_file``, ``api``) all produce ``PodInfo``. The object carries the
key names of Fluent Bit's ``kubernetes`` filter and Fluentd's ``kubernetes_metadata`` filter, so
queries written for container logs work on OOM records too.

Every name read from outside is checked against the Kubernetes rules for that kind of name before
it is kept: a name that could not exist in a cluster (a newline, a quote, 10 KB, upper case) is
dropped, never copied into a record.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

# Kubernetes name rules (k8s.io/apimachinery validation): namespaces and container names are
# RFC 1123 labels (at most 63), pod and most object names RFC 1123 subdomains (at most 253).
DNS_LABEL: Final = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
DNS_SUBDOMAIN: Final = r"[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?"
DNS_LABEL_RE: Final = re.compile(DNS_LABEL)
DNS_SUBDOMAIN_RE: Final = re.compile(DNS_SUBDOMAIN)
# a pod UID as the kubelet writes it: dashed UUID, or a static pod's 32-hex manifest hash
POD_UID: Final = r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})"
POD_UID_RE: Final = re.compile(POD_UID)
STATIC_POD_UID_RE: Final = re.compile(r"[0-9a-f]{32}")
CONTAINER_ID_RE: Final = re.compile(r"[0-9a-f]{64}")
# a controller's kind is a Go type name
KIND_RE: Final = re.compile(r"[A-Z][A-Za-z0-9]{0,62}")
# label keys: optional DNS-subdomain prefix and a name of at most 63; values at most 63
LABEL_KEY_RE: Final = re.compile(
    rf"(?:{DNS_SUBDOMAIN}/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{{0,61}}[A-Za-z0-9])?"
)
LABEL_VALUE_RE: Final = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
MAX_LABELS: Final = 64
MAX_IMAGE_CHARS: Final = 512
# the Deployment controller names its ReplicaSets <deployment>-<pod-template-hash> and puts the
# hash on the pods as this label
POD_TEMPLATE_HASH: Final = "pod-template-hash"
MIRROR_ANNOTATION: Final = "kubernetes.io/config.mirror"  # static pod: the manifest hash

Owner = tuple[str, str]  # (kind, name)


def is_namespace(text: object) -> bool:
    """A valid namespace name (the other ``is_*`` alike for their kind of name)."""
    return isinstance(text, str) and DNS_LABEL_RE.fullmatch(text) is not None


def is_pod_name(text: object) -> bool:
    return isinstance(text, str) and DNS_SUBDOMAIN_RE.fullmatch(text) is not None


def is_container_name(text: object) -> bool:
    return isinstance(text, str) and DNS_LABEL_RE.fullmatch(text) is not None


def is_pod_uid(text: object) -> bool:
    return isinstance(text, str) and POD_UID_RE.fullmatch(text) is not None


@dataclass(frozen=True, slots=True)
class ContainerInfo:
    """One container of a pod (a current or previous instance, by its ID)."""

    name: str
    image: str | None = None
    spec_path: str | None = None  # "spec.containers", "spec.initContainers", ...


@dataclass(frozen=True, slots=True)
class PodInfo:
    """What one source knows about a pod."""

    namespace: str
    name: str
    uid: str  # the UID the pod's cgroups and log directory carry
    node: str | None = None
    api_uid: str | None = None  # the API object's UID where it differs (a static pod's mirror)
    labels: tuple[tuple[str, str], ...] | None = None  # None: the source does not know them
    owner: Owner | None = None  # the first controller (or owner) reference
    containers: Mapping[str, ContainerInfo] = field(default_factory=dict)  # by container ID

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


def first_owner(meta: Mapping[str, Any]) -> Owner | None:
    """The controller reference of an object's metadata, else its first owner reference."""
    refs = [r for r in meta.get("ownerReferences") or () if isinstance(r, dict)]
    refs = [r for r in refs if KIND_RE.fullmatch(str(r.get("kind"))) and is_pod_name(r.get("name"))]
    chosen = next((r for r in refs if r.get("controller") is True), refs[0] if refs else None)
    return None if chosen is None else (str(chosen["kind"]), str(chosen["name"]))


_STATUS_LISTS: Final = (
    ("containerStatuses", "spec.containers"),
    ("initContainerStatuses", "spec.initContainers"),
    ("ephemeralContainerStatuses", "spec.ephemeralContainers"),
)


def pod_from_object(item: Mapping[str, Any]) -> PodInfo | None:
    """A PodInfo from one core/v1 Pod object (API answer or ``kubectl get -o json``); None when
    its names are not valid Kubernetes names."""
    meta = item.get("metadata")
    if not isinstance(meta, dict):
        return None
    uid, name, namespace = meta.get("uid"), meta.get("name"), meta.get("namespace")
    if not (is_pod_uid(uid) and is_pod_name(name) and is_namespace(namespace)):
        return None
    assert isinstance(uid, str) and isinstance(name, str) and isinstance(namespace, str)
    spec, status = _mapping(item.get("spec")), _mapping(item.get("status"))
    containers: dict[str, ContainerInfo] = {}
    for key, spec_path in _STATUS_LISTS:
        for entry in status.get(key) or ():
            if not isinstance(entry, dict) or not is_container_name(entry.get("name")):
                continue
            image = entry.get("image")
            if not (
                isinstance(image, str) and len(image) <= MAX_IMAGE_CHARS and image.isprintable()
            ):
                image = None
            info = ContainerInfo(entry["name"], image, spec_path)
            # lastState: the container that was OOM-killed has been replaced by now
            last = _mapping(_mapping(entry.get("lastState")).get("terminated")).get("containerID")
            for cid in (entry.get("containerID"), last):
                bare = _bare_container_id(cid)
                if bare is not None:
                    containers[bare] = info
    mirror = _mapping(meta.get("annotations")).get(MIRROR_ANNOTATION)
    node = spec.get("nodeName")
    return PodInfo(
        namespace=namespace,
        name=name,
        uid=mirror if isinstance(mirror, str) and is_pod_uid(mirror) else uid,
        node=node if is_pod_name(node) else None,
        api_uid=uid if mirror else None,
        labels=_labels(meta.get("labels")),
        owner=first_owner(meta),
        containers=containers,
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _bare_container_id(value: object) -> str | None:
    """``containerd://<64 hex>`` (any runtime prefix) -> the 64 hex digits."""
    if not isinstance(value, str):
        return None
    bare = value.partition("://")[2] or value
    return bare if CONTAINER_ID_RE.fullmatch(bare) else None


def _labels(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict):
        return ()
    kept = [
        (k, v)
        for k, v in value.items()
        if isinstance(k, str)
        and isinstance(v, str)
        and len(k) <= 317
        and LABEL_KEY_RE.fullmatch(k)
        and LABEL_VALUE_RE.fullmatch(v)
    ]
    return tuple(sorted(kept)[:MAX_LABELS])


def owners_from_objects(
    items: Iterator[Mapping[str, Any]],
) -> dict[tuple[str, str, str], Owner | None]:
    """(kind, namespace, name) -> controller of each ReplicaSet and Job among ``items`` (e.g.
    ``kubectl get pods,replicasets,jobs -A -o json``)."""
    found: dict[tuple[str, str, str], Owner | None] = {}
    for item in items:
        kind = item.get("kind")
        meta = item.get("metadata")
        if kind not in ("ReplicaSet", "Job") or not isinstance(meta, dict):
            continue
        if is_namespace(meta.get("namespace")) and is_pod_name(meta.get("name")):
            found[(str(kind), meta["namespace"], meta["name"])] = first_owner(meta)
    return found


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
    "first_owner",
    "kubernetes_object",
    "owners_from_objects",
    "pod_from_object",
    "workload",
]
