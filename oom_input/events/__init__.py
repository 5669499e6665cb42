"""Kubernetes Events for OOM kills, posted off the record path (``oom-input --events``).

Next to the unchanged record stream on stdout:

- for a system OOM (``victim_container_name == "/"``) exactly the Event the kubelet posts
  (``pkg/kubelet/oom``): on the Node, namespace ``default``, type Warning, reason ``SystemOOM``;
- for a kill inside a pod (a record with ``pod_uid``) a Warning ``OOMKilling`` Event on the Pod,
  naming the container and the pod: ``Memory cgroup out of memory: killed process 4242 (java) in
  container app of pod shop/web-0; anon-rss 512000kB, limit 524288kB``. A system OOM that killed
  a process of a pod gets both Events. ``--no-pod-events`` / ``--no-node-events`` turn them off.

Like client-go's event recorder: names ``<object>.<hex unix nanos>``, identical Events within 10
minutes aggregated, at most 25 Events per object then one per 5 minutes. The Events carry the
kill's time, not the time they were posted.

The parts: ``options`` (command line, cluster connection), ``bodies`` (pure Event bodies),
``correlator`` (client-go's spam filter and aggregation), ``sink`` (the worker with retries),
``state`` (what was posted, across restarts); the pod index is ``oom_input.pods.api``, shared
with the ``kubernetes`` object of the records.

RBAC needed (``RBAC_RULES``): events create, patch; pods list; and, for the records' owners
(``--events`` also fills the records' ``kubernetes`` object), replicasets and jobs get.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from oom_input.events.bodies import (
    POD_OOM_REASON,
    SYSTEM_OOM_REASON,
    pod_oom_message,
    system_oom_message,
)
from oom_input.events.options import (
    EventOptions,
    EventsConfigError,
    add_event_arguments,
    event_options,
    load_cluster,
)
from oom_input.pods.api import RBAC_RULES as POD_METADATA_RBAC_RULES
from oom_input.types import OomRecord, Sink

if TYPE_CHECKING:
    from oom_input.events.sink import EventSink
    from oom_input.pods.api import ApiPodIndex

RBAC_RULES: Final[tuple[dict[str, list[str]], ...]] = (
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    *POD_METADATA_RBAC_RULES,
)


def __getattr__(name: str) -> object:
    """``EventSink`` is imported on first use (start-up without --events stays fast)."""
    if name == "EventSink":
        from oom_input.events.sink import EventSink

        return EventSink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_event_sink(
    args: argparse.Namespace,
    warn: Callable[[str], None],
    state_dir: str | None = None,
    pod_index: ApiPodIndex | None = None,
) -> EventSink | None:
    """The event sink the command line asks for, None without --events/--events-dry-run.
    Raises EventsConfigError when the options are bad or name no usable cluster connection
    (nothing is sent at start-up)."""
    if not (args.events or args.events_dry_run):
        return None
    from oom_input.events.sink import EventSink  # (not imported for --help or without Events)

    return EventSink(event_options(args), warn, state_dir, pod_index=pod_index)


def tee(primary: Sink, events: EventSink | None) -> Sink:
    """``primary`` (stdout) first, then the event sink; ``primary`` alone without events."""
    return primary if events is None else _Tee(primary, events)


class _Tee:
    def __init__(self, primary: Sink, events: EventSink) -> None:
        self.primary = primary
        self.events = events

    def write(self, record: OomRecord) -> None:
        self.primary.write(record)
        self.events.write(record)

    def write_object(self, obj: object) -> None:
        """--passthrough input records go to stdout only."""
        self.primary.write_object(obj)

    def close(self) -> None:
        try:
            self.primary.close()
        finally:
            self.events.close()


__all__ = [
    "POD_OOM_REASON",
    "RBAC_RULES",
    "SYSTEM_OOM_REASON",
    "EventOptions",
    "EventSink",
    "EventsConfigError",
    "add_event_arguments",
    "event_options",
    "load_cluster",
    "make_event_sink",
    "pod_oom_message",
    "system_oom_message",
    "tee",
]
