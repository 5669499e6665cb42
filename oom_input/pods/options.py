"""The pod metadata options, the enricher they ask for, and the sink that applies it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from oom_input.pods.api import ApiPodIndex
    from oom_input.pods.enricher import PodMetadataEnricher
    from oom_input.types import OomRecord, Sink

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


class PodEnricher(Protocol):
    """``record -> record`` with the ``kubernetes`` object, and ``close`` at the end."""

    def __call__(self, record: OomRecord) -> OomRecord: ...

    def close(self) -> None: ...


def make_pod_enricher(
    args: argparse.Namespace, warn: Callable[[str], None], *, live: bool
) -> tuple[PodEnricher, ApiPodIndex | None]:
    """The enricher the options ask for and the API pod index it uses (None without the API;
    share it with the event sink). Raises ValueError (message for the user) on bad options."""
    if not (args.pods_file or _wants_api(args)):
        # only the node's kubelet log files, read at a record's miss anyway: nothing to check or
        # fetch now, so the pod code is imported at the first record of a pod
        return _AtFirstPod(lambda: _enricher(args, warn, live=live)[0]), None
    return _enricher(args, warn, live=live)


def _wants_api(args: argparse.Namespace) -> bool:
    return bool(args.k8s_metadata or getattr(args, "events", False))


def _enricher(
    args: argparse.Namespace, warn: Callable[[str], None], *, live: bool
) -> tuple[PodMetadataEnricher, ApiPodIndex | None]:
    from oom_input.pods.enricher import LIVE_WAIT_S, PodMetadataEnricher, PodSource
    from oom_input.pods.kubelet_logs import KubeletLogIndex

    node = getattr(args, "node_name", None)
    sources: list[PodSource] = []
    parents = []
    if args.pods_file:
        from oom_input.pods.pods_file import PodsFileIndex

        pods_file = PodsFileIndex(args.pods_file, warn)
        sources.append(pods_file)
        parents.append(pods_file.parent)
    if args.kubelet_log_dir:
        sources.append(KubeletLogIndex(args.kubelet_log_dir, node=node))
    api = None
    if _wants_api(args):
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


class _AtFirstPod:
    """The enricher ``build`` makes, made at the first record that needs it: a log without
    kills in pods never imports the pod code (its classes and regexes cost ~5 ms at start-up)."""

    def __init__(self, build: Callable[[], PodEnricher]) -> None:
        self._build = build
        self._enricher: PodEnricher | None = None

    def __call__(self, record: OomRecord) -> OomRecord:
        if self._enricher is None:
            if not record.pod_uid and record.kubernetes is None:
                return record  # (what the enricher gives back for a record of no pod)
            self._enricher = self._build()
        return self._enricher(record)

    def close(self) -> None:
        if self._enricher is not None:
            self._enricher.close()


class EnrichingSink:
    """A Sink that passes each record through an enricher first (the CLI puts the pod metadata
    enricher in front of every output: stdout, Events, --summary, --jobs alike)."""

    def __init__(self, sink: Sink, enrich: PodEnricher) -> None:
        self.sink = sink
        self.enrich = enrich

    def write(self, record: OomRecord) -> None:
        self.sink.write(self.enrich(record))

    def write_object(self, obj: object) -> None:
        """--passthrough input records go on unchanged (to a sink that takes them)."""
        write_object = getattr(self.sink, "write_object", None)  # not in the Sink protocol
        if write_object is not None:
            write_object(obj)

    def close(self) -> None:
        try:
            self.sink.close()
        finally:
            self.enrich.close()


def _api_index(args: argparse.Namespace, warn: Callable[[str], None]) -> ApiPodIndex:
    from oom_input.events.config import EventsConfigError, event_options, load_cluster
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


__all__ = [
    "DEFAULT_KUBELET_LOG_DIR",
    "EnrichingSink",
    "PodEnricher",
    "add_pod_metadata_arguments",
    "make_pod_enricher",
]
