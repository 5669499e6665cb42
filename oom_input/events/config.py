"""What the --events options ask for (``EventOptions``) and the cluster connection they name."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from oom_input.events.bodies import is_node_name, is_qualified_name
from oom_input.events.options import DEFAULT_SERVICE_ACCOUNT_DIR

# oom_input.kube (ssl, http.client: ~10 MB, tens of ms) is imported only when a connection is
# loaded (load_cluster).
if TYPE_CHECKING:
    from oom_input.kube import ClusterConfig


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
        if not is_qualified_name(self.component):
            # the API server rejects every Event with eventTime (a kill's time) otherwise
            raise EventsConfigError(
                f"--event-component {self.component!r}: not a qualified name "
                "([<DNS subdomain>/]<1-63 letters, digits, '-', '_', '.'>, alphanumeric at both "
                "ends), as the API server requires of an Event's reportingComponent"
            )
        if self.node_name is not None and not is_node_name(self.node_name):
            raise EventsConfigError(
                f"--node-name {self.node_name!r}: not a Node's name (a DNS-1123 subdomain: "
                "lowercase letters, digits, '-' and '.')"
            )
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
    "EventOptions",
    "EventsConfigError",
    "event_options",
    "load_cluster",
]
