"""The --events command-line options (``config`` turns them into ``EventOptions``).

Every parser gets these options, so this module stays light: a run without Events imports
nothing else of the package.
"""

from __future__ import annotations

import argparse
import os

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
        help="source.component and reportingComponent of the Events, a qualified name such as "
        "example.com/oom-input (default oom-input)",
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


__all__ = ["DEFAULT_SERVICE_ACCOUNT_DIR", "add_event_arguments"]
