"""Pod names from the node's own files: the kubelet's log directories (no API rights needed).

The kubelet keeps, for every pod on the node and for a while after its containers died::

    <dir>/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log
    <dir>/containers/<pod>_<namespace>_<container>-<container id>.log
        -> <dir>/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log   (a symlink)

(kubelet ``BuildPodLogsDirectory`` and ``logSymlink``; a symlink name longer than 255 bytes is
cut to 251 + ``.log``, losing the end of the container ID.) Namespaces, pod and container names
cannot contain ``_``, so the names split without doubt.

The directories are listed on a miss only, at most once per ``rescan_interval`` (1 s), and what
was seen is kept (bounded, oldest first out), so a kill of a pod deleted since keeps what the
files said. Nothing is followed: symlinks are read with ``readlink``, never opened, so loops and
dangling links cost nothing; names that break the Kubernetes rules are skipped.
"""

from __future__ import annotations

import collections
import os
import re
import time
from collections.abc import Callable
from typing import Final, NamedTuple

from oom_input.pods.model import (
    DNS_LABEL,
    DNS_LABEL_RE,
    DNS_SUBDOMAIN,
    POD_UID,
    ContainerInfo,
    PodInfo,
)

# kubelet BuildPodLogsDirectory: <namespace>_<pod name>_<pod uid>
POD_LOG_DIR: Final = re.compile(rf"({DNS_LABEL})_({DNS_SUBDOMAIN})_({POD_UID})")
# kubelet logSymlink: <pod name>_<namespace>_<container name>-<64 hex id>.log (uncut)
CONTAINER_LOG_LINK: Final = re.compile(
    rf"({DNS_SUBDOMAIN})_({DNS_LABEL})_({DNS_LABEL})-([0-9a-f]{{64}})\.log"
)
# the link's target: .../<namespace>_<pod>_<uid>/<container>/<restart count>.log
LINK_TARGET: Final = re.compile(
    rf"(?:.*/)?({DNS_LABEL})_({DNS_SUBDOMAIN})_({POD_UID})/({DNS_LABEL})/\d+\.log"
)
EXT4_MAX_NAME: Final = 255  # the kubelet cuts link names to this (ext4's limit)
LINK_SUFFIX: Final = ".log"
MAX_PODS: Final = 4096  # pods remembered (the kubelet runs at most a few hundred)
MAX_CONTAINERS: Final = 16384  # container IDs remembered
MAX_ENTRIES: Final = 20000  # directory entries read per listing
MAX_TARGET_CHARS: Final = 4096


class _Link(NamedTuple):
    """What a container's log symlink says."""

    uid: str | None  # from the target's text; None when it does not name a pod directory
    namespace: str
    pod: str
    container: str


class _PodDir:
    """A pod's log directory (a plain class: a dataclass would cost ~0.3 ms at import)."""

    __slots__ = ("containers", "name", "namespace", "uid")

    def __init__(self, namespace: str, name: str, uid: str) -> None:
        self.namespace = namespace
        self.name = name
        self.uid = uid
        self.containers: tuple[str, ...] | None = None  # subdirectories, read when needed


class KubeletLogIndex:
    """Pod and container names by pod UID and container ID, from ``<log_dir>/pods`` and
    ``<log_dir>/containers``."""

    def __init__(
        self,
        log_dir: str = "/var/log",
        *,
        node: str | None = None,
        rescan_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.pods_dir = os.path.join(log_dir, "pods")
        self.containers_dir = os.path.join(log_dir, "containers")
        self.node = node
        self.rescan_interval = rescan_interval
        self._clock = clock
        self._scanned_at: float | None = None
        self._pods: collections.OrderedDict[str, _PodDir] = collections.OrderedDict()
        self._links: collections.OrderedDict[str, _Link] = collections.OrderedDict()  # by ID
        self._link_names: set[str] = set()  # the last listing of containers/, for cut names
        self.scans = 0

    def lookup(self, uid: str, container_id: str | None, host: str | None = None) -> PodInfo | None:
        """What the files say about pod ``uid`` (and its container), or None."""
        pod = self._pods.get(uid)
        link = self._links.get(container_id) if container_id else None
        missing = link is None and (pod is None or container_id is not None)
        if missing and self._rescan_allowed():
            self._scan()
            pod = self._pods.get(uid)
            link = self._links.get(container_id) if container_id else None
        if link is not None and (
            link.uid not in (None, uid)
            or (pod is not None and (link.namespace, link.pod) != (pod.namespace, pod.name))
        ):
            link = None  # the ID belongs to another pod
        if pod is not None:
            namespace, name = pod.namespace, pod.name
        elif link is not None:
            namespace, name = link.namespace, link.pod
        else:
            return None
        containers: dict[str, ContainerInfo] = {}
        if container_id:
            cname = link.container if link is not None else self._cut_link_match(pod, container_id)
            if cname is not None:
                containers[container_id] = ContainerInfo(cname)
        return PodInfo(namespace, name, uid, node=self.node or host, containers=containers)

    def _rescan_allowed(self) -> bool:
        now = self._clock()
        if self._scanned_at is not None and now - self._scanned_at < self.rescan_interval:
            return False
        self._scanned_at = now
        return True

    def _scan(self) -> None:
        self.scans += 1
        for entry in _list(self.pods_dir):
            match = POD_LOG_DIR.fullmatch(entry)
            if match is None:
                continue
            namespace, name, uid = match.groups()
            known = self._pods.pop(uid, None)
            self._pods[uid] = known or _PodDir(namespace, name, uid)
            if len(self._pods) > MAX_PODS:
                self._pods.popitem(last=False)
        names = _list(self.containers_dir)
        self._link_names = set(names)
        for entry in names:
            match = CONTAINER_LOG_LINK.fullmatch(entry)
            if match is None:
                continue
            name, namespace, container, cid = match.groups()
            if cid in self._links:
                continue
            self._links[cid] = _Link(
                self._link_uid(entry, namespace, name), namespace, name, container
            )
            if len(self._links) > MAX_CONTAINERS:
                self._links.popitem(last=False)

    def _link_uid(self, entry: str, namespace: str, name: str) -> str | None:
        """The pod UID the link points into (its target may be gone: only the text is read)."""
        try:
            target = os.readlink(os.path.join(self.containers_dir, entry))
        except (OSError, ValueError):
            return None
        match = LINK_TARGET.fullmatch(target) if len(target) <= MAX_TARGET_CHARS else None
        if match is None or (match[1], match[2]) != (namespace, name):
            return None
        return match[3]

    def _cut_link_match(self, pod: _PodDir | None, container_id: str) -> str | None:
        """A link name cut at 255 bytes: the container whose full link name starts the same."""
        if pod is None:
            return None
        if pod.containers is None:
            pod.containers = tuple(
                n
                for n in _list(os.path.join(self.pods_dir, f"{pod.namespace}_{pod.name}_{pod.uid}"))
                if DNS_LABEL_RE.fullmatch(n)
            )
        room = EXT4_MAX_NAME - len(LINK_SUFFIX)
        for container in pod.containers:
            full = f"{pod.name}_{pod.namespace}_{container}-{container_id}"
            if len(full) > room and full[:room] + LINK_SUFFIX in self._link_names:
                return container
        return None


def _list(directory: str) -> list[str]:
    """Up to MAX_ENTRIES names in ``directory`` ([] when it cannot be read)."""
    names: list[str] = []
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                names.append(entry.name)
                if len(names) >= MAX_ENTRIES:
                    break
    except OSError:
        return []
    return names


__all__ = ["KubeletLogIndex"]
