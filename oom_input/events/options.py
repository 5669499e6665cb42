"""The --events options and the connection they name."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

# oom_input.kube (ssl, http.client: ~10 MB, tens of ms) is imported only when a sink is made,
# so that adding the options to the parser keeps --help fast.
if TYPE_CHECKING:
    from oom_input.kube import ClusterConfig

DEFAULT_SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def add_event_arguments(parser: argparse.ArgumentParser) -> None:
    """The --events options, in their own help group."""
    group = parser.add_argument_group(
        "Kubernetes Events",
        "a Warning Event per OOM kill: SystemOOM on the Node (as the kubelet posts it),\n"
        "OOMKilling on the Pod; RBAC: events create, patch; pods list;\n"
        "replicasets, jobs get (the records' kubernetes.owner)",
    )
    group.add_argument("--events", action="store_true", help="post Events to the API server")
    group.add_argument(
        "--events-dry-run",
        action="store_true",
        help="print the Event bodies as JSON lines on stderr instead of posting them",
    )
    group.add_argument("--no-pod-events", action="store_true", help="no OOMKilling Events on Pods")
    group.add_argument(
        "--no-node-events",
        action="store_true",
        help="no SystemOOM Events on the Node (where the kubelet already posts them)",
    )
    group.add_argument(
        "--event-component",
        default="oom-input",
        metavar="NAME",
        help="source.component and reportingComponent of the Events (default oom-input)",
    )
    group.add_argument(
        "--node-name",
        default=os.environ.get("NODE_NAME") or None,
        metavar="NAME",
        help="this node's name (default $NODE_NAME, else the record's host, in lower case)",
    )
    group.add_argument(
        "--kubeconfig",
        metavar="PATH",
        help="use this kubeconfig's current context instead of the in-cluster service account",
    )
    group.add_argument(
        "--service-account-dir",
        default=DEFAULT_SERVICE_ACCOUNT_DIR,
        metavar="DIR",
        help=f"token and ca.crt for in-cluster use (default {DEFAULT_SERVICE_ACCOUNT_DIR})",
    )
    group.add_argument(
        "--events-flush-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="at exit, wait at most this long for pending Events (default 5)",
    )
    group.add_argument(
        "--events-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="timeout of each API request (default 10)",
    )
    group.add_argument(
        "--events-queue-size",
        type=int,
        default=1000,
        metavar="N",
        help="records waiting to be posted; when full the oldest is dropped (default 1000)",
    )


class EventsConfigError(ValueError):
    """Bad event options or no way to reach the API server; the message says why."""


@dataclass
class EventOptions:
    """Everything the event sink needs; ``event_options`` fills it from the command line."""

    dry_run: bool = False
    pod_events: bool = True
    node_events: bool = True
    component: str = "oom-input"
    node_name: str | None = None
    kubeconfig: str | None = None
    service_account_dir: str = DEFAULT_SERVICE_ACCOUNT_DIR
    flush_timeout: float = 5.0
    request_timeout: float = 10.0
    queue_size: int = 1000
    max_attempts: int = 6
    backoff_base: float = 0.5  # first retry after 0.5 s (x 0.5..1.5 jitter), doubling
    backoff_cap: float = 30.0
    retry_after_cap: float = 60.0
    pod_relist_interval: float = 1.0  # at most one pod list per this many seconds on misses
    dry_run_stream: TextIO | None = None  # None: sys.stderr at the time of printing
    wall_ns: Callable[[], int] = time.time_ns  # Event timestamps and names
    monotonic: Callable[[], float] = time.monotonic  # the dedupe, spam and relist windows

    def __post_init__(self) -> None:
        if not self.component:
            raise EventsConfigError("--event-component must not be empty")
        if self.flush_timeout < 0:
            raise EventsConfigError("--events-flush-timeout must be >= 0")
        if self.request_timeout <= 0:
            raise EventsConfigError("--events-timeout must be > 0")
        if self.queue_size < 1:
            raise EventsConfigError("--events-queue-size must be >= 1")


def event_options(args: argparse.Namespace) -> EventOptions:
    """EventOptions from the parsed command line (raises EventsConfigError)."""
    return EventOptions(
        dry_run=args.events_dry_run,
        pod_events=not args.no_pod_events,
        node_events=not args.no_node_events,
        component=args.event_component,
        node_name=args.node_name,
        kubeconfig=args.kubeconfig,
        service_account_dir=args.service_account_dir,
        flush_timeout=args.events_flush_timeout,
        request_timeout=args.events_timeout,
        queue_size=args.events_queue_size,
    )


def load_cluster(options: EventOptions) -> ClusterConfig:
    """The kubeconfig's current context, else the in-cluster service account."""
    from oom_input.kube import KubeConfigError, in_cluster_config, kubeconfig_config

    try:
        if options.kubeconfig:
            return kubeconfig_config(options.kubeconfig)
        return in_cluster_config(options.service_account_dir)
    except KubeConfigError as exc:
        raise EventsConfigError(f"--events: {exc}") from None


__all__ = [
    "DEFAULT_SERVICE_ACCOUNT_DIR",
    "EventOptions",
    "EventsConfigError",
    "add_event_arguments",
    "event_options",
    "load_cluster",
]
