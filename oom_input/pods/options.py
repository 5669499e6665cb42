"""The pod metadata options, and the enricher they ask for."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from oom_input.pods.api import ApiPodIndex
    from oom_input.pods.enricher import PodMetadataEnricher

DEFAULT_KUBELET_LOG_DIR = "/var/log"


def add_pod_metadata_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that give records their ``kubernetes`` object, in their own help group."""
    group = parser.add_argument_group(
        "pod metadata",
        "a `kubernetes` object on each record of a known pod (namespace_name, pod_name, pod_id,\n"
        "container_name, docker_id, container_image, host, owner), from the node's kubelet log\n"
        "files (always tried), --pods-file, and the API (--k8s-metadata or --events)",
    )
    group.add_argument(
        "--kubelet-log-dir",
        default=DEFAULT_KUBELET_LOG_DIR,
        metavar="DIR",
        help="where the kubelet's pods/ and containers/ log directories are (default /var/log); "
        "'' turns this source off",
    )
    group.add_argument(
        "--pods-file",
        action="append",
        default=[],
        metavar="FILE",
        help="pods as `kubectl get pods -A -o json` prints them (a document, JSON lines, or "
        "-w output; may be given several times), for logs read away from the cluster",
    )
    group.add_argument(
        "--k8s-metadata",
        action="store_true",
        help="also ask the API server (this node's pod list; ReplicaSet/Job owners); RBAC: pods "
        "list, replicasets and jobs get; on with --events",
    )
    group.add_argument(
        "--k8s-labels",
        action="store_true",
        help="add the pod's labels (kubernetes.labels; from the API or --pods-file)",
    )


def make_pod_enricher(
    args: argparse.Namespace, warn: Callable[[str], None], *, live: bool
) -> tuple[PodMetadataEnricher, ApiPodIndex | None]:
    """The enricher the options ask for and the API pod index it uses (None without the API;
    share it with the event sink). Raises ValueError (message for the user) on bad options."""
    from oom_input.pods.enricher import LIVE_WAIT_S, PodMetadataEnricher, PodSource
    from oom_input.pods.kubelet_logs import KubeletLogIndex
    from oom_input.pods.pods_file import PodsFileIndex

    node = getattr(args, "node_name", None)
    sources: list[PodSource] = []
    parents = []
    if args.pods_file:
        pods_file = PodsFileIndex(args.pods_file, warn)
        sources.append(pods_file)
        parents.append(pods_file.parent)
    if args.kubelet_log_dir:
        sources.append(KubeletLogIndex(args.kubelet_log_dir, node=node))
    api = None
    if args.k8s_metadata or getattr(args, "events", False):
        api = _api_index(args, warn)
        if node:
            api.prefetch(node)
    timeout = getattr(args, "events_timeout", 10.0)
    enricher = PodMetadataEnricher(
        sources,
        api=api,
        node_name=node,
        with_labels=args.k8s_labels,
        wait=LIVE_WAIT_S if live else timeout,
        relist=live,
        parents=parents,
    )
    return enricher, api


def _api_index(args: argparse.Namespace, warn: Callable[[str], None]) -> ApiPodIndex:
    from oom_input.events.options import EventsConfigError, event_options, load_cluster
    from oom_input.kube import ApiClient
    from oom_input.pods.api import ApiPodIndex

    options = event_options(args)
    try:
        cluster = load_cluster(options)
    except EventsConfigError as exc:
        if getattr(args, "events", False):
            raise
        raise ValueError(str(exc).replace("--events:", "--k8s-metadata:")) from None
    client = ApiClient(cluster, timeout=options.request_timeout)
    return ApiPodIndex(client, lambda message: warn(cluster.scrub(message)))


__all__ = ["DEFAULT_KUBELET_LOG_DIR", "add_pod_metadata_arguments", "make_pod_enricher"]
