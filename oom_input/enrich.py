"""Kubernetes attribution of OOM records from cgroup paths alone.

A kernel OOM report names two memory cgroups: the killed task's (``container_name``) and the one
whose limit was hit (``victim_container_name``). The kubelet and the container runtimes give those
cgroups names that encode the pod UID, the QoS class and the container ID, so no API call is
needed::

    cgroupfs driver  /kubepods/burstable/pod<uid>/<64 hex>                (Guaranteed: no <qos>)
    systemd driver   /kubepods.slice/kubepods-burstable.slice/
                         kubepods-burstable-pod<uid with _>.slice/cri-containerd-<64 hex>.scope

cgroup v1 and v2 name them alike, and nested nodes (kind, LXC, docker-in-docker, a test's own
cgroup) put any path in front. Paths are attacker-influenced text, so whole segments are matched
against exact shapes and anything else is left unattributed. Every form real nodes print, with
where each comes from, is the table in tests/data/pods/README.md (test_enrich runs it).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from oom_input.types import OomRecord, changed

# Every pattern below is applied with fullmatch to one whole path segment: no substring can match,
# and [0-9a-f] (not \d or \w) keeps Unicode lookalike digits out.
_HEX64 = r"[0-9a-f]{64}"
_UID_GROUPS = (r"[0-9a-f]{8}", r"[0-9a-f]{4}", r"[0-9a-f]{4}", r"[0-9a-f]{4}", r"[0-9a-f]{12}")
# static pods (etcd, kube-apiserver, ... from manifest files) get the kubelet's hash of the
# manifest as uid: 32 hex digits without dashes, kept as they are
_UID_STATIC = r"[0-9a-f]{32}"
_UID_DASHED = "(?:" + "-".join(_UID_GROUPS) + "|" + _UID_STATIC + ")"
# systemd unit names cannot carry "-" inside one level, so the kubelet writes the uid with "_".
_UID_UNDERSCORED = "(?:" + "_".join(_UID_GROUPS) + "|" + _UID_STATIC + ")"

# kubelet, cgroupfs driver: the pod directory `pod<uid>`, under `kubepods/[burstable|besteffort/]`.
CGROUPFS_POD_DIR: Final = re.compile(rf"pod({_UID_DASHED})")
# kubelet, cgroupfs driver: the QoS directories between `kubepods` and the pod (none = Guaranteed).
CGROUPFS_QOS_DIRS: Final = frozenset({"burstable", "besteffort"})
# containerd and docker (cgroupfs driver) name the container directory by its bare id, cri-o
# (cgroupfs) writes `crio-<id>`; cri-o's `crio-conmon-<id>` monitor is deliberately no match.
CGROUPFS_CONTAINER_DIR: Final = re.compile(rf"(crio-)?({_HEX64})")
# kubelet, systemd driver (pkg/kubelet/cm CgroupName.ToSystemd): `<root->kubepods[-<qos>]-pod
# <uid_>.slice`, where <root-> is the words of --cgroup-root's slice ("" by default, `kubelet-` on
# kind, whose kubelet runs with cgroup root /kubelet). A systemd slice `a-b-c.slice` always sits
# in `a-b.slice`, so a root other than those two only counts inside its QoS (or kubepods) slice.
# The slice from its last "kubepods" on (<root-> is told apart by string search: a regex with a
# lazy <root-> prefix backtracks quadratically on a long hostile segment).
SYSTEMD_POD_SLICE: Final = re.compile(
    rf"kubepods(-burstable|-besteffort)?-pod({_UID_UNDERSCORED})\.slice"
)
SYSTEMD_ROOT_WORDS: Final = re.compile(r"(?:[A-Za-z0-9_]+-)*")
# roots whose pod slices count wherever they are (kubepods.slice at the top, kind's kubelet.slice)
SYSTEMD_ROOTS_ANYWHERE: Final = frozenset({"", "kubelet-"})
# containerd's CRI with runc's cgroupfs driver under a systemd-driver kubelet (a mismatch real
# nodes run with: kubernetes/kubernetes#106514) passes runc the systemd cgroupsPath
# `<pod slice>:cri-containerd:<id>`, which runc's cgroupfs driver makes one directory below
# containerd's own cgroup (`/system.slice/containerd.service/...`).
SYSTEMD_COLON_CONTAINER: Final = re.compile(
    rf"(?:kubelet-)?kubepods(-burstable|-besteffort)?-pod({_UID_UNDERSCORED})\.slice"
    rf":cri-containerd:({_HEX64})"
)
# containerd, cri-o and docker (systemd driver) put each container in `<prefix>-<id>.scope`;
# cri-o's `crio-conmon-<id>.scope` (the monitor process, not a container) is deliberately no match.
SYSTEMD_CONTAINER_SCOPE: Final = re.compile(rf"(cri-containerd|crio|docker)-({_HEX64})\.scope")
# docker outside Kubernetes, systemd driver: `docker-<id>.scope` (usually under system.slice).
DOCKER_SCOPE: Final = re.compile(rf"docker-({_HEX64})\.scope")
# docker outside Kubernetes, cgroupfs driver: `docker/<id>`.
DOCKER_CGROUPFS_PARENT: Final = "docker"
DOCKER_CGROUPFS_DIR: Final = re.compile(_HEX64)

_SYSTEMD_RUNTIMES: Final = {"cri-containerd": "containerd", "crio": "cri-o", "docker": "docker"}


@dataclass(frozen=True, slots=True)
class PodAttribution:
    """What a cgroup path says about the Kubernetes pod and container it belongs to."""

    pod_uid: str | None = None
    container_id: str | None = None
    qos_class: str | None = None
    container_runtime: str | None = None


_NOTHING: Final = PodAttribution()


@lru_cache(maxsize=4096)
def attribute_cgroup(path: str | None) -> PodAttribution:
    """Attribute a memory cgroup path to a pod/container; all fields None when it names none."""
    if not path or not path.startswith("/"):
        return _NOTHING
    segments = path.split("/")[1:]
    # The outermost match wins: below a container's own cgroup the names are chosen by whoever
    # runs inside it (a pod can fake a nested pod), while nested nodes (kind) never place a pod
    # above the real one, only a docker scope, which a pod match outranks.
    for index, segment in enumerate(segments):
        pod = _systemd_pod(segments, index, segment) or _cgroupfs_pod(segments, index, segment)
        if pod is not None:
            return pod
    return _docker_outside_kubernetes(segments)


def _systemd_pod(segments: list[str], index: int, segment: str) -> PodAttribution | None:
    start = segment.rfind("kubepods")
    if start < 0:
        return None
    root = segment[:start]
    match = SYSTEMD_POD_SLICE.fullmatch(segment, start)
    if match is None or SYSTEMD_ROOT_WORDS.fullmatch(root) is None:
        colon = SYSTEMD_COLON_CONTAINER.fullmatch(segment)
        if colon is None:
            return None
        qos, uid, container_id = colon.groups()
        return PodAttribution(_dashed(uid), container_id, _qos(qos), "containerd")
    qos, uid = match.groups()
    if root not in SYSTEMD_ROOTS_ANYWHERE and (
        index == 0 or segments[index - 1] != f"{root}kubepods{qos or ''}.slice"
    ):
        return None
    container_id = runtime = None
    if index + 1 < len(segments):
        container = SYSTEMD_CONTAINER_SCOPE.fullmatch(segments[index + 1])
        if container is not None:
            runtime = _SYSTEMD_RUNTIMES[container.group(1)]
            container_id = container.group(2)
    return PodAttribution(_dashed(uid), container_id, _qos(qos), runtime)


def _dashed(uid: str) -> str:
    """The pod UID from a systemd name (the kubelet escapes its "-" as "_")."""
    return uid.replace("_", "-")


def _qos(systemd_qos: str | None) -> str:
    """The QoS class from a slice's `-<qos>` word (none: Guaranteed)."""
    return systemd_qos[1:] if systemd_qos else "guaranteed"


def _cgroupfs_pod(segments: list[str], index: int, segment: str) -> PodAttribution | None:
    match = CGROUPFS_POD_DIR.fullmatch(segment)
    if match is None or index == 0:
        return None
    # The pod directory only counts where the kubelet puts it, directly under its QoS directory.
    parent = segments[index - 1]
    if parent == "kubepods":
        qos = "guaranteed"
    elif parent in CGROUPFS_QOS_DIRS and index >= 2 and segments[index - 2] == "kubepods":
        qos = parent
    else:
        return None
    container_id = runtime = None
    if index + 1 < len(segments):
        container = CGROUPFS_CONTAINER_DIR.fullmatch(segments[index + 1])
        if container is not None:
            # A bare id does not say which runtime wrote it (containerd and docker both do).
            runtime = "cri-o" if container.group(1) else None
            container_id = container.group(2)
    return PodAttribution(match.group(1), container_id, qos, runtime)


def _docker_outside_kubernetes(segments: list[str]) -> PodAttribution:
    for index, segment in enumerate(segments):
        match = DOCKER_SCOPE.fullmatch(segment)
        if match is not None:
            return PodAttribution(container_id=match.group(1), container_runtime="docker")
        if (
            segment == DOCKER_CGROUPFS_PARENT
            and index + 1 < len(segments)
            and DOCKER_CGROUPFS_DIR.fullmatch(segments[index + 1])
        ):
            return PodAttribution(container_id=segments[index + 1], container_runtime="docker")
    return _NOTHING


def kubernetes_enricher(record: OomRecord) -> OomRecord:
    """The record with pod_uid, container_id, qos_class and container_runtime set from its
    cgroups (a copy when any of them changes; the argument is never changed)."""
    fields = _attribution_fields(record.container_name, record.victim_container_name)
    if _pod_fields(record) == fields:
        return record
    new = changed(record)
    new.pod_uid, new.container_id, new.qos_class, new.container_runtime = fields
    return new


# the record fields kubernetes_enricher sets, in PodAttribution's order
_pod_fields = operator.attrgetter("pod_uid", "container_id", "qos_class", "container_runtime")


def _attribution_fields(
    container: str | None, victim: str | None
) -> tuple[str | None, str | None, str | None, str | None]:
    """The attribution of a record with these cgroups, as its four fields."""
    attribution = _NOTHING
    # The killed task's cgroup is the most specific: when the limit was hit on the pod, it still
    # names the container inside it.
    if container != "/":
        attribution = attribute_cgroup(container)
    if attribution == _NOTHING:
        attribution = attribute_cgroup(victim)
    return (
        attribution.pod_uid,
        attribution.container_id,
        attribution.qos_class,
        attribution.container_runtime,
    )


__all__ = ["PodAttribution", "attribute_cgroup", "kubernetes_enricher"]
