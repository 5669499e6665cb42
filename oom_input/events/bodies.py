"""Event bodies: pure functions of a record (no I/O, no clock of their own).

- a system OOM (``victim_container_name == "/"``): the Event the kubelet posts
  (``pkg/kubelet/oom``): on the Node, namespace ``default``, reason ``SystemOOM``, message
  ``System OOM encountered, victim process: <name>, pid: <pid>``;
- a kill inside a pod: reason ``OOMKilling`` on the Pod, e.g. ``Memory cgroup out of memory:
  killed process 4242 (java) in container app of pod shop/web-0; anon-rss 512000kB, limit
  524288kB``.

The kill's time (``time_of_death``) is the Event's time when the record has one, so a replay of
old logs does not claim the kill happened now: ``firstTimestamp``/``lastTimestamp`` (seconds)
and ``eventTime`` (microseconds; core/v1 then requires ``action``, set to the reason).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

import orjson

from oom_input.types import OomRecord

SYSTEM_OOM_REASON: Final = "SystemOOM"  # kubelet pkg/kubelet/oom: systemOOMEvent
POD_OOM_REASON: Final = "OOMKilling"
# The API server's limits on a core/v1 Event with eventTime (kubernetes pkg/apis/core/validation
# events.go: NoteLengthLimit, ReportingInstanceLengthLimit), counted as Go's len: UTF-8 bytes.
MAX_MESSAGE_BYTES: Final = 1024
MAX_REPORTING_INSTANCE_BYTES: Final = 128
MAX_NAME_CHARS: Final = 253  # a DNS subdomain
# A DNS-1123 subdomain (apimachinery IsDNS1123Subdomain), what a Node's name must be.
DNS_SUBDOMAIN: Final = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"
)
# The name part of a qualified name (apimachinery IsQualifiedName), at most 63 characters; the
# API server requires reportingComponent to be one once an Event has eventTime (events.go).
QUALIFIED_NAME_PART: Final = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")


def is_node_name(text: str) -> bool:
    """Whether ``text`` can be a Node's name (a DNS-1123 subdomain, as the API validates it)."""
    return len(text) <= MAX_NAME_CHARS and DNS_SUBDOMAIN.fullmatch(text) is not None


def is_qualified_name(text: str) -> bool:
    """Whether ``text`` is a qualified name: ``[<DNS subdomain>/]<name part>``."""
    prefix, slash, name = text.rpartition("/")
    if slash and not (prefix and is_node_name(prefix)):
        return False
    return QUALIFIED_NAME_PART.fullmatch(name) is not None


def clip_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, never inside a character."""
    data = text.encode("utf-8")
    return text if len(data) <= limit else data[:limit].decode("utf-8", "ignore")


def rfc3339(wall_ns: int) -> str:
    """metav1.Time on the wire: seconds, UTC, "Z"."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall_ns // 1_000_000_000))


def micro_time(wall_ns: int) -> str:
    """metav1.MicroTime on the wire: microseconds, UTC, "Z"."""
    seconds, ns = divmod(wall_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1000:06d}Z"


def kill_time_ns(record: OomRecord) -> int | None:
    """The record's time of death in ns since the epoch, None when it has none or it is bad."""
    text = record.time_of_death
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    delta = when - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


def system_oom_message(record: OomRecord) -> str:
    """kubelet's text: the victim only when both its name and a non-zero pid are known."""
    message = "System OOM encountered"
    if record.process_name and record.pid:
        message += f", victim process: {record.process_name}, pid: {record.pid}"
    return clip_utf8(message, MAX_MESSAGE_BYTES)


def pod_oom_message(
    record: OomRecord, container: str | None, pod: tuple[str, str] | None = None
) -> str:
    """What was killed, where (container, namespace/pod), and the memory figures."""
    prefix = "Memory cgroup out of memory" if record.kind == "memcg" else "Out of memory"
    if record.pid is not None:
        victim = f"killed process {record.pid}"
        if record.process_name:
            victim += f" ({record.process_name})"
    else:
        victim = "no process killed"
    if container:
        victim += f" in container {container}"
    if pod is not None:
        victim += f" {'of' if container else 'in'} pod {pod[0]}/{pod[1]}"
    figures = []
    if record.anon_rss_kb is not None:
        figures.append(f"anon-rss {record.anon_rss_kb}kB")
    if record.memory_limit_kb is not None:
        figures.append(f"limit {record.memory_limit_kb}kB")
    message = f"{prefix}: {victim}" + (f"; {', '.join(figures)}" if figures else "")
    return clip_utf8(message, MAX_MESSAGE_BYTES)


@dataclass(frozen=True)
class EventDraft:
    """An Event before it has a name and timestamps."""

    namespace: str
    object_name: str
    involved: dict[str, str]
    reason: str
    message: str
    kill_ns: int | None = None  # the kill's time, when the record has one

    def body(self, component: str, host: str, name: str, namespace: str) -> dict[str, Any]:
        """The core/v1 Event, key for key as client-go serialises the recorder's (makeEvent);
        the caller sets firstTimestamp, lastTimestamp and count."""
        body: dict[str, Any] = {
            "kind": "Event",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": None},
            "involvedObject": self.involved,
            "reason": self.reason,
            "message": self.message,
            "source": {"component": component, "host": host},
            "firstTimestamp": None,
            "lastTimestamp": None,
            "count": 0,
            "type": "Warning",
            "eventTime": None,
            "reportingComponent": component,
            # the API server refuses a longer one once eventTime is set (legacyValidateEvent)
            "reportingInstance": clip_utf8(host, MAX_REPORTING_INSTANCE_BYTES),
        }
        if self.kill_ns is not None:
            body["eventTime"] = micro_time(self.kill_ns)
            body["action"] = self.reason  # required by core/v1 once eventTime is set
        return body


def event_name(object_name: str, wall_ns: int) -> str:
    suffix = f".{wall_ns:x}"
    return object_name[: MAX_NAME_CHARS - len(suffix)] + suffix


def record_key(record: OomRecord) -> str | None:
    """What identifies a kill across restarts: (boot id, pid, printk time) when the record has
    them, else the wall time and host too; None when nothing tells kills apart."""
    if record.boot_id and record.kernel_time_us is not None:
        parts: list[Any] = [record.boot_id, record.pid, record.kernel_time_us]
    elif record.pid is None and record.kernel_time_us is None and record.time_of_death is None:
        return None
    else:
        parts = [
            record.host,
            record.boot_id,
            record.pid,
            record.kernel_time_us,
            record.time_of_death,
        ]
    return orjson.dumps(parts).decode()


__all__ = [
    "POD_OOM_REASON",
    "SYSTEM_OOM_REASON",
    "EventDraft",
    "clip_utf8",
    "event_name",
    "is_node_name",
    "is_qualified_name",
    "kill_time_ns",
    "micro_time",
    "pod_oom_message",
    "record_key",
    "rfc3339",
    "system_oom_message",
]
