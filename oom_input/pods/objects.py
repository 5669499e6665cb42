"""Pods, ReplicaSets and Jobs as API objects (API answers, ``kubectl get -o json``): PodInfo.

Every name read from an object is checked against the Kubernetes rules for that kind of name
(``model``'s patterns) before it is kept: an object whose names could not exist in a cluster is
skipped, a label or an image that could not is dropped. Only the sources that read objects
(``api``, ``pods_file``) import this module: the node's files alone do without its regexes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from oom_input.pods.model import DNS_LABEL_RE, DNS_SUBDOMAIN, POD_UID, ContainerInfo, Owner, PodInfo

DNS_SUBDOMAIN_RE: Final = re.compile(DNS_SUBDOMAIN)
POD_UID_RE: Final = re.compile(POD_UID)
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
MIRROR_ANNOTATION: Final = "kubernetes.io/config.mirror"  # static pod: the manifest hash


def is_namespace(text: object) -> bool:
    """A valid namespace name (the other ``is_*`` alike for their kind of name)."""
    return isinstance(text, str) and DNS_LABEL_RE.fullmatch(text) is not None


def is_pod_name(text: object) -> bool:
    return isinstance(text, str) and DNS_SUBDOMAIN_RE.fullmatch(text) is not None


def is_container_name(text: object) -> bool:
    return isinstance(text, str) and DNS_LABEL_RE.fullmatch(text) is not None


def is_pod_uid(text: object) -> bool:
    return isinstance(text, str) and POD_UID_RE.fullmatch(text) is not None


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


__all__ = [
    "first_owner",
    "is_container_name",
    "is_namespace",
    "is_pod_name",
    "is_pod_uid",
    "owners_from_objects",
    "pod_from_object",
]
