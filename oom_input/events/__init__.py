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

The parts: ``options`` (the command line), ``config`` (what it asks for, the cluster
connection), ``bodies`` (pure Event bodies), ``correlator`` (client-go's spam filter and
aggregation), ``sink`` (the worker with retries), ``state`` (what was posted, across restarts);
the pod index is ``oom_input.pods.api``, shared with the ``kubernetes`` object of the records.

RBAC needed (``RBAC_RULES``): events create, patch; pods list; and, for the records' owners
(``--events`` also fills the records' ``kubernetes`` object), replicasets and jobs get.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # the names below, for the type checker; at run time __getattr__ finds them
    from oom_input.events.bodies import (
        POD_OOM_REASON,
        SYSTEM_OOM_REASON,
        pod_oom_message,
        system_oom_message,
    )
    from oom_input.events.config import EventOptions, EventsConfigError, event_options, load_cluster
    from oom_input.events.options import add_event_arguments
    from oom_input.events.sink import RBAC_RULES, EventSink, make_event_sink, tee

# The package's names, each imported from its module on first use: every command line gets the
# --events options (``options``), but only a run with Events needs the rest (the sink, the Event
# bodies, the pod index: classes and regexes that cost milliseconds at start-up).
_MODULE_OF: Final = {
    "POD_OOM_REASON": "bodies",
    "SYSTEM_OOM_REASON": "bodies",
    "pod_oom_message": "bodies",
    "system_oom_message": "bodies",
    "EventOptions": "config",
    "EventsConfigError": "config",
    "event_options": "config",
    "load_cluster": "config",
    "add_event_arguments": "options",
    "RBAC_RULES": "sink",
    "EventSink": "sink",
    "make_event_sink": "sink",
    "tee": "sink",
}


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


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
