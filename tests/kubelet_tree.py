"""Build a kubelet-style log tree, as the kubelet lays it out, for the pod metadata tests.

Layout and naming (kubelet ``pkg/kubelet/kuberuntime``: ``BuildPodLogsDirectory``,
``BuildContainerLogsDirectory``, ``logSymlink``)::

    <root>/pods/<namespace>_<pod name>_<pod uid>/<container name>/<restart count>.log
    <root>/containers/<pod name>_<namespace>_<container name>-<container id>.log
        -> <root>/pods/<namespace>_<pod name>_<pod uid>/<container name>/<restart count>.log

The symlink's name is cut to 255 bytes (ext4's limit) as the kubelet cuts it: the part before
``.log`` to 251 characters. Targets are absolute, as the kubelet writes them.
"""

from __future__ import annotations

from pathlib import Path

EXT4_MAX_NAME = 255
LOG_SUFFIX = ".log"


def link_name(pod: str, namespace: str, container: str, container_id: str) -> str:
    """The kubelet's symlink name for a container's log."""
    stem = f"{pod}_{namespace}_{container}-{container_id}"
    return stem[: EXT4_MAX_NAME - len(LOG_SUFFIX)] + LOG_SUFFIX


def add_container(
    root: Path, namespace: str, pod: str, uid: str, container: str, container_id: str, restart: int
) -> Path:
    """One container instance: its log file under pods/ and its symlink under containers/."""
    log_dir = root / "pods" / f"{namespace}_{pod}_{uid}" / container
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{restart}.log"
    log.write_text("2026-11-26T19:58:34.1Z stdout F started\n")
    links = root / "containers"
    links.mkdir(parents=True, exist_ok=True)
    link = links / link_name(pod, namespace, container, container_id)
    link.symlink_to(log)
    return link


def add_pod(
    root: Path, namespace: str, pod: str, uid: str, containers: dict[str, list[str]]
) -> None:
    """A pod and its containers; each container's IDs in restart order (0.log, 1.log, ...)."""
    (root / "pods" / f"{namespace}_{pod}_{uid}").mkdir(parents=True, exist_ok=True)
    for name, ids in containers.items():
        for restart, container_id in enumerate(ids):
            add_container(root, namespace, pod, uid, name, container_id, restart)
