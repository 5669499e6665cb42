"""Kubernetes Events for OOM kills, posted off the record path.

``oom-input --events`` posts, next to the unchanged record stream on stdout:

- for a system OOM (``victim_container_name == "/"``) exactly the Event the kubelet posts
  (``pkg/kubelet/oom``): on the Node, namespace ``default``, type Warning, reason ``SystemOOM``,
  message ``System OOM encountered, victim process: <name>, pid: <pid>``;
- for a kill inside a pod (a record with ``pod_uid``) a Warning ``OOMKilling`` Event on the Pod,
  e.g. ``Memory cgroup out of memory: killed process 4242 (java) in container app; anon-rss
  512000kB, limit 524288kB``. The pod's namespace and name come from listing the pods of this
  node (``fieldSelector=spec.nodeName=<node>``, cached, listed again on a miss); no Event when
  the pod is not found. A system OOM that killed a process of a pod gets both Events.
  ``--no-pod-events`` turns the Pod Events off, ``--no-node-events`` the Node ones.

Like client-go's event recorder: names ``<object>.<hex unix nanos>``; an identical Event within
10 minutes becomes a strategic-merge PATCH of the first (``count`` + 1, ``lastTimestamp``); at most
25 Events per object, then one per 5 minutes (token bucket). ``write`` only puts the record in a
bounded queue (a full queue drops the oldest record, counted); one worker thread posts, with a
timeout on every request and retries with backoff and jitter on connection errors, 429 and 5xx
(honouring ``Retry-After``). Other 4xx are reported once per status and reason, and dropped.
``close`` sends what is pending within ``--events-flush-timeout`` seconds. With a state
directory, the keys of records already posted are kept on disk, so a restart does not post them
again. ``--events-dry-run`` prints each Event as one JSON line on stderr instead of sending it
(pod names are looked up when the cluster is reachable; else the Pod Event carries the UID only).

RBAC needed (``RBAC_RULES``)::

    - apiGroups: [""]
      resources: ["events"]
      verbs: ["create", "patch"]
    - apiGroups: [""]
      resources: ["pods"]
      verbs: ["list"]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import json
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TextIO
from urllib.parse import quote

from oom_input.types import OomRecord, Sink

# oom_input.kube (ssl, http.client: ~10 MB, tens of ms) is imported only when a sink is made,
# so that adding the options to the parser keeps --help fast.
if TYPE_CHECKING:
    from oom_input.kube import ApiClient, ClusterConfig

RBAC_RULES: Final[tuple[dict, ...]] = (
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
)

SYSTEM_OOM_REASON: Final = "SystemOOM"  # kubelet pkg/kubelet/oom: systemOOMEvent
POD_OOM_REASON: Final = "OOMKilling"
MAX_MESSAGE_CHARS: Final = 1024
MAX_NAME_CHARS: Final = 253  # a DNS subdomain
DEDUPE_WINDOW_S: Final = 600.0
DEDUPE_ENTRIES: Final = 4096  # client-go: maxLruCacheEntries
SPAM_BURST: Final = 25  # client-go EventSourceObjectSpamFilter: defaultSpamBurst
SPAM_REFILL_S: Final = 300.0  # ... and defaultSpamQPS = 1/300
SPAM_OBJECTS: Final = 4096
POSTED_KEYS: Final = 1024  # record keys kept in the state file (the newest)
STATE_FILE_NAME: Final = "oom-input-events.json"
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
WARN_INTERVAL_S: Final = 60.0
MISSING_POD_TTL_S: Final = 60.0  # a UID not in a pod list is not listed for again this long
DEFAULT_SERVICE_ACCOUNT_DIR: Final = "/var/run/secrets/kubernetes.io/serviceaccount"


def add_event_arguments(parser: argparse.ArgumentParser) -> None:
    """The --events options, in their own help group."""
    group = parser.add_argument_group(
        "Kubernetes Events",
        "a Warning Event per OOM kill: SystemOOM on the Node (as the kubelet posts it),\n"
        "OOMKilling on the Pod; RBAC: events create, patch; pods list",
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


def make_event_sink(
    args: argparse.Namespace, warn: Callable[[str], None], state_dir: str | None = None
) -> EventSink | None:
    """The event sink the command line asks for, None without --events/--events-dry-run.
    Raises EventsConfigError when the options are bad or name no usable cluster connection
    (nothing is sent at start-up)."""
    if not (args.events or args.events_dry_run):
        return None
    return EventSink(event_options(args), warn, state_dir)


def load_cluster(options: EventOptions) -> ClusterConfig:
    """The kubeconfig's current context, else the in-cluster service account."""
    from oom_input.kube import KubeConfigError, in_cluster_config, kubeconfig_config

    try:
        if options.kubeconfig:
            return kubeconfig_config(options.kubeconfig)
        return in_cluster_config(options.service_account_dir)
    except KubeConfigError as exc:
        raise EventsConfigError(f"--events: {exc}") from None


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
        self.primary.write_object(obj)  # type: ignore[attr-defined]

    def close(self) -> None:
        try:
            self.primary.close()
        finally:
            self.events.close()


# --- Event bodies --------------------------------------------------------------------------------
def rfc3339(wall_ns: int) -> str:
    """metav1.Time on the wire: seconds, UTC, "Z"."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall_ns // 1_000_000_000))


def system_oom_message(record: OomRecord) -> str:
    """kubelet's text: the victim only when both its name and a non-zero pid are known."""
    message = "System OOM encountered"
    if record.process_name and record.pid:
        message += f", victim process: {record.process_name}, pid: {record.pid}"
    return message[:MAX_MESSAGE_CHARS]


def pod_oom_message(record: OomRecord, container: str | None) -> str:
    """What was killed, where, and the memory figures the report carried."""
    prefix = "Memory cgroup out of memory" if record.kind == "memcg" else "Out of memory"
    if record.pid is not None:
        victim = f"killed process {record.pid}"
        if record.process_name:
            victim += f" ({record.process_name})"
    else:
        victim = "no process killed"
    if container:
        victim += f" in container {container}"
    figures = []
    if record.anon_rss_kb is not None:
        figures.append(f"anon-rss {record.anon_rss_kb}kB")
    if record.memory_limit_kb is not None:
        figures.append(f"limit {record.memory_limit_kb}kB")
    message = f"{prefix}: {victim}" + (f"; {', '.join(figures)}" if figures else "")
    return message[:MAX_MESSAGE_CHARS]


@dataclass(frozen=True)
class _Draft:
    """An Event before it has a name and timestamps."""

    namespace: str
    object_name: str
    involved: dict[str, str]
    reason: str
    message: str

    def body(self, component: str, host: str, name: str, namespace: str) -> dict[str, Any]:
        """The core/v1 Event, key for key as client-go serialises the recorder's (makeEvent);
        the caller sets firstTimestamp, lastTimestamp and count."""
        return {
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
            "reportingInstance": host,
        }


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
    return json.dumps(parts, separators=(",", ":"))


# --- client-go's correlator, the parts that matter ------------------------------------------------
class SpamFilter:
    """A token bucket per involved object (burst 25, one more token per 5 minutes)."""

    def __init__(self, burst: int = SPAM_BURST, refill_s: float = SPAM_REFILL_S) -> None:
        self.burst = burst
        self.refill_s = refill_s
        self._buckets: collections.OrderedDict[str, tuple[float, float]] = collections.OrderedDict()

    def allow(self, key: str, now: float) -> bool:
        tokens, at = self._buckets.pop(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) / self.refill_s)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > SPAM_OBJECTS:
            self._buckets.popitem(last=False)
        return allowed


@dataclass
class _Seen:
    """An Event already posted: where it is, for the PATCH of an identical one."""

    name: str
    namespace: str
    count: int
    first: str
    last_mono: float


@dataclass
class _Pod:
    namespace: str
    name: str
    uid: str
    # container id (without the runtime:// prefix) -> (container name, spec field path)
    containers: dict[str, tuple[str, str]] = field(default_factory=dict)


_STATUS_LISTS: Final = (
    ("containerStatuses", "spec.containers"),
    ("initContainerStatuses", "spec.initContainers"),
    ("ephemeralContainerStatuses", "spec.ephemeralContainers"),
)


def index_pods(pod_list: dict[str, Any]) -> dict[str, _Pod]:
    """Pods by UID, and static pods also by the UID their cgroups carry (the mirror
    annotation); each with its current and previous container IDs."""
    pods: dict[str, _Pod] = {}
    for item in pod_list.get("items") or ():
        meta = item.get("metadata") or {}
        uid, name, namespace = meta.get("uid"), meta.get("name"), meta.get("namespace")
        if not (uid and name and namespace):
            continue
        pod = _Pod(namespace, name, uid)
        status = item.get("status") or {}
        for key, spec_path in _STATUS_LISTS:
            for container in status.get(key) or ():
                cname = container.get("name")
                if not cname:
                    continue
                # lastState: the container that was OOM-killed has been replaced by now
                ids = [
                    container.get("containerID"),
                    ((container.get("lastState") or {}).get("terminated") or {}).get("containerID"),
                ]
                for cid in ids:
                    if cid:
                        pod.containers[cid.partition("://")[2] or cid] = (
                            cname,
                            f"{spec_path}{{{cname}}}",
                        )
        pods[uid] = pod
        mirror = (meta.get("annotations") or {}).get("kubernetes.io/config.mirror")
        if mirror:
            pods.setdefault(mirror, pod)
    return pods


# --- the sink ------------------------------------------------------------------------------------
class _Failed(Exception):
    """A request failed for good (already reported); ``status`` is the HTTP status, if any."""

    def __init__(self, status: int | None) -> None:
        super().__init__(status)
        self.status = status


class _GiveUp(Exception):
    """The flush deadline at exit passed: stop sending."""


class EventSink:
    """A Sink that turns records into Events, posted by one worker thread."""

    def __init__(
        self,
        options: EventOptions,
        warn: Callable[[str], None],
        state_dir: str | None = None,
        *,
        cluster: ClusterConfig | None = None,
    ) -> None:
        self.options = options
        self._raw_warn = warn
        self._client: ApiClient | None = None
        if cluster is None and not options.dry_run:
            cluster = load_cluster(options)
        elif cluster is None and options.pod_events:
            # a dry run resolves pod names when it can reach the cluster, else prints UIDs
            try:
                cluster = load_cluster(options)
            except EventsConfigError:
                cluster = None
        if cluster is not None:
            from oom_input.kube import ApiClient

            self._client = ApiClient(cluster, timeout=options.request_timeout)
        # a dry run posts nothing, so it neither reads nor writes the state
        self._posted = _PostedKeys(None if options.dry_run else state_dir, self._warn)
        self._queue: collections.deque[OomRecord] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._closed = False
        self._busy = False
        self._deadline: float | None = None
        self._wake = threading.Event()
        self._spam = SpamFilter()
        self._seen: collections.OrderedDict[str, _Seen] = collections.OrderedDict()
        self._pods: dict[str, dict[str, _Pod]] = {}  # node -> uid -> pod
        self._listed_at: dict[str, float] = {}
        self._missing: dict[str, float] = {}  # pod uid -> when a list did not have it
        self._last_ns = 0
        self._reported: set[tuple[Any, ...]] = set()
        self._warned_at: dict[str, float] = {}
        self.stats: collections.Counter[str] = collections.Counter()
        self._thread = threading.Thread(target=self._run, name="oom-input-events", daemon=True)
        self._thread.start()

    # --- the Sink protocol: called on the record path -------------------------------------------
    def write(self, record: OomRecord) -> None:
        """Queue the record (never blocks); a full queue loses its oldest record."""
        if not self._wanted(record):
            return
        snapshot = copy.copy(record)
        with self._cond:
            if self._closing:
                return
            if len(self._queue) >= self.options.queue_size:
                self._queue.popleft()
                self.stats["dropped_queue_full"] += 1
                dropped = self.stats["dropped_queue_full"]
            else:
                dropped = 0
            self._queue.append(snapshot)
            self._cond.notify()
        if dropped:
            self._warn_limited(
                "queue", f"events: queue full, oldest record dropped ({dropped} so far)"
            )

    def close(self) -> None:
        """Send what is pending, waiting at most the flush timeout; then stop the worker."""
        if self._closed:
            return
        self._closed = True
        timeout = self.options.flush_timeout
        with self._cond:
            self._closing = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify()
        self._wake.set()
        self._thread.join(timeout + 0.2)
        if self._thread.is_alive():
            with self._cond:
                left = len(self._queue) + (1 if self._busy else 0)
                self._queue.clear()
            self.stats["not_sent_at_exit"] += left
        elif self._client is not None:
            self._client.close()
        self._summary()

    def _wanted(self, record: OomRecord) -> bool:
        return (self.options.node_events and record.victim_container_name == "/") or (
            self.options.pod_events and bool(record.pod_uid)
        )

    # --- the worker ------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                record = self._queue.popleft()
                self._busy = True
            try:
                self._handle(record)
            except _GiveUp:
                with self._cond:
                    self.stats["not_sent_at_exit"] += 1 + len(self._queue)
                    self._queue.clear()
                    self._busy = False
                return
            except Exception as exc:  # a bug must not kill the worker silently
                self._warn_limited("bug", f"events: internal error ({type(exc).__name__}: {exc})")
            with self._cond:
                self._busy = False

    def _handle(self, record: OomRecord) -> None:
        node = self.options.node_name or (record.host.lower() if record.host else None)
        if not node:
            self._report_once(
                ("no-node",),
                "events: no node name (give --node-name or $NODE_NAME): no Event posted",
            )
            self.stats["no_node_name"] += 1
            return
        key = record_key(record)
        if self.options.node_events and record.victim_container_name == "/":
            node_ref = {"kind": "Node", "name": node, "uid": node}  # kubelet's nodeRef, uid too
            draft = _Draft("default", node, node_ref, SYSTEM_OOM_REASON, system_oom_message(record))
            self._post(None if key is None else f"{key}|node", node, draft)
        if self.options.pod_events and record.pod_uid:
            self._post_pod(None if key is None else f"{key}|pod", node, record)

    def _post_pod(self, posted_key: str | None, node: str, record: OomRecord) -> None:
        uid = str(record.pod_uid)
        if posted_key is not None and posted_key in self._posted:
            self.stats["already_posted"] += 1
            return
        if self._client is None:  # dry run without a cluster: the UID is all there is
            ref = {"kind": "Pod", "uid": uid, "apiVersion": "v1"}
            draft = _Draft("", uid, ref, POD_OOM_REASON, pod_oom_message(record, None))
            self._post(posted_key, node, draft)
            return
        pod, container = self._find_pod(node, uid, record.container_id)
        if pod is None:
            self.stats["pod_not_found"] += 1
            self._warn_limited(
                "pod-not-found", f"events: no pod with UID {uid} on node {node}: no Event"
            )
            return
        ref = {
            "kind": "Pod",
            "namespace": pod.namespace,
            "name": pod.name,
            "uid": pod.uid,
            "apiVersion": "v1",
        }
        if container is not None:
            ref["fieldPath"] = container[1]  # like the kubelet's container events
        message = pod_oom_message(record, None if container is None else container[0])
        self._post(posted_key, node, _Draft(pod.namespace, pod.name, ref, POD_OOM_REASON, message))

    def _find_pod(
        self, node: str, uid: str, container_id: str | None
    ) -> tuple[_Pod | None, tuple[str, str] | None]:
        """The pod (and container) from the cached list of the node's pods, listed again when
        it does not know them: at most once per relist interval (waiting for it), and not for
        a UID that a list made in the last minute did not have (a deleted pod)."""
        pods = self._pods.get(node, {})
        pod = pods.get(uid)
        stale = pod is None or (container_id is not None and container_id not in pod.containers)
        now = self.options.monotonic()
        missed = self._missing.get(uid)
        if stale and (missed is None or now - missed >= MISSING_POD_TTL_S):
            last = self._listed_at.get(node)
            if last is not None and now - last < self.options.pod_relist_interval:
                self._sleep(self.options.pod_relist_interval - (now - last))
            self._listed_at[node] = self.options.monotonic()
            try:
                listing = self._call("GET", _pods_path(node))
            except _Failed:
                listing = None  # reported by _call
            if isinstance(listing, dict):
                self._pods[node] = pods = index_pods(listing)
                pod = pods.get(uid)
                if pod is None:
                    self._missing[uid] = self._listed_at[node]
                    if len(self._missing) > SPAM_OBJECTS:
                        self._missing.pop(next(iter(self._missing)))
        if pod is None:
            return None, None
        return pod, pod.containers.get(container_id) if container_id else None

    def _post(self, posted_key: str | None, node: str, draft: _Draft) -> None:
        """Create the Event, or PATCH its identical twin; spam-limited per object."""
        if posted_key is not None and posted_key in self._posted:
            self.stats["already_posted"] += 1
            return
        ref = draft.involved
        # client-go's getSpamKey: source and involved object, not the reason or message
        fields = ("kind", "namespace", "name", "uid", "apiVersion")
        object_key = "\x00".join(
            [self.options.component, node, *(ref.get(f, "") for f in fields), "Warning"]
        )
        mono = self.options.monotonic()
        if not self._spam.allow(object_key, mono):
            self.stats["spam_filtered"] += 1
            self._warn_limited(
                "spam",
                f"events: too many Events for {ref.get('kind')} {draft.object_name}: not posted "
                "(25, then 1 per 5 minutes)",
            )
            return
        # client-go's getEventKey: all of the above and fieldPath, reason and message
        same_key = "\x00".join([object_key, ref.get("fieldPath", ""), draft.reason, draft.message])
        wall_ns = self._unique_ns()
        stamp = rfc3339(wall_ns)
        seen = self._seen.get(same_key)
        if seen is not None and mono - seen.last_mono <= DEDUPE_WINDOW_S:
            body = draft.body(self.options.component, node, seen.name, seen.namespace)
            body.update(firstTimestamp=seen.first, lastTimestamp=stamp, count=seen.count + 1)
            sent = self._send_update(body)
        else:
            name = event_name(draft.object_name, wall_ns)
            body = draft.body(self.options.component, node, name, draft.namespace)
            body.update(firstTimestamp=stamp, lastTimestamp=stamp, count=1)
            sent = self._send_create(body)
        if not sent:
            return
        meta = body["metadata"]
        self._seen.pop(same_key, None)
        self._seen[same_key] = _Seen(
            meta["name"], meta["namespace"], body["count"], body["firstTimestamp"], mono
        )
        if len(self._seen) > DEDUPE_ENTRIES:
            self._seen.popitem(last=False)
        if posted_key is not None:
            self._posted.add(posted_key)

    def _send_create(self, body: dict[str, Any]) -> bool:
        if self.options.dry_run:
            return self._print(body)
        meta = body["metadata"]
        try:
            path = f"/api/v1/namespaces/{meta['namespace']}/events"
            self._call("POST", path, body, quiet_status=(409,))
        except _Failed as exc:
            if exc.status != 409:
                return False
            # AlreadyExists: a retried POST whose first try went through (names are unique)
        self.stats["created"] += 1
        return True

    def _send_update(self, body: dict[str, Any]) -> bool:
        if self.options.dry_run:
            return self._print(body)
        meta = body["metadata"]
        patch = {"count": body["count"], "lastTimestamp": body["lastTimestamp"]}
        path = f"/api/v1/namespaces/{meta['namespace']}/events/{meta['name']}"
        try:
            self._call("PATCH", path, patch, STRATEGIC_MERGE_PATCH, quiet_status=(404,))
        except _Failed as exc:
            if exc.status != 404:
                return False
            # the Event expired (event-ttl) meanwhile: create it again, as client-go does
            return self._send_create(body)
        self.stats["updated"] += 1
        return True

    def _print(self, body: dict[str, Any]) -> bool:
        stream = self.options.dry_run_stream or sys.stderr
        try:
            print(
                json.dumps(body, separators=(",", ":"), ensure_ascii=False), file=stream, flush=True
            )
        except (OSError, ValueError):
            return False
        self.stats["printed"] += 1
        return True

    def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        quiet_status: tuple[int, ...] = (),
    ) -> Any:
        """One API request with retries (connection errors, 429, 5xx); failures are reported
        (4xx once per status and reason) and raised as _Failed; _GiveUp past the deadline."""
        from oom_input.kube import ApiError

        assert self._client is not None
        attempt = 0
        while True:
            attempt += 1
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                raise _GiveUp
            try:
                return self._client.request(
                    method, path, body, content_type=content_type, timeout=remaining
                )
            except ApiError as exc:
                if not exc.retryable:
                    if exc.status not in quiet_status:
                        self.stats["rejected"] += 1
                        self._report_once(
                            (exc.status, exc.reason), f"events: {exc} (reported once; dropped)"
                        )
                    raise _Failed(exc.status) from None
                if attempt >= self.options.max_attempts:
                    self.stats["failed"] += 1
                    self._warn_limited("failed", f"events: giving up after {attempt} tries: {exc}")
                    raise _Failed(exc.status) from None
                self.stats["retries"] += 1
                self._sleep(self._backoff(attempt, exc.retry_after))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        base = min(self.options.backoff_cap, self.options.backoff_base * 2 ** (attempt - 1))
        delay = base * random.uniform(0.5, 1.5)
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.options.retry_after_cap))
        return delay

    def _remaining(self) -> float | None:
        deadline = self._deadline
        return None if deadline is None else deadline - time.monotonic()

    def _sleep(self, delay: float) -> None:
        """Wait before a retry; at exit only while the flush deadline allows."""
        end = time.monotonic() + delay
        while (now := time.monotonic()) < end:
            remaining = self._remaining()
            if remaining is not None and end - now > remaining:
                raise _GiveUp  # the retry would come after the deadline
            if self._wake.is_set():  # closing: the deadline allows this wait
                time.sleep(end - now)
                return
            self._wake.wait(end - now)

    def _unique_ns(self) -> int:
        now = max(self.options.wall_ns(), self._last_ns + 1)
        self._last_ns = now
        return now

    # --- reporting (the token never reaches a message) -------------------------------------------
    def _warn(self, message: str) -> None:
        token = self._client.config.token if self._client is not None else None
        if token is not None:
            for secret in token.seen:
                if secret:
                    message = message.replace(secret, "<token>")
        with contextlib.suppress(Exception):  # diagnostics must never stop the worker
            self._raw_warn(message)

    def _report_once(self, key: tuple[Any, ...], message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            self._warn(message)

    def _warn_limited(self, kind: str, message: str) -> None:
        now = self.options.monotonic()
        last = self._warned_at.get(kind)
        if last is None or now - last >= WARN_INTERVAL_S:
            self._warned_at[kind] = now
            self._warn(message)

    def _summary(self) -> None:
        lost = {
            "dropped (queue full)": self.stats["dropped_queue_full"],
            "not sent at exit": self.stats["not_sent_at_exit"],
            "failed": self.stats["failed"],
            "rejected": self.stats["rejected"],
            "filtered (spam limit)": self.stats["spam_filtered"],
        }
        shown = ", ".join(f"{n} {what}" for what, n in lost.items() if n)
        if shown:
            done = self.stats["created"] + self.stats["updated"] + self.stats["printed"]
            self._warn(f"events: {done} posted; {shown}")


def _pods_path(node: str) -> str:
    selector = quote(f"spec.nodeName={node}", safe="")
    # resourceVersion=0: served from the API server's cache (the kubelet lists the same way)
    return f"/api/v1/pods?fieldSelector={selector}&resourceVersion=0"


class _PostedKeys:
    """The keys of records already posted, in memory and (with a directory) on disk: JSON,
    written atomically (temp file, fsync, rename), mode 0600, never through a symlink."""

    def __init__(self, directory: str | None, warn: Callable[[str], None]) -> None:
        self.path = None if directory is None else os.path.join(directory, STATE_FILE_NAME)
        self._warn = warn
        self._keys: collections.OrderedDict[str, None] = collections.OrderedDict()
        if self.path is not None:
            self._load()

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def add(self, key: str) -> None:
        self._keys[key] = None
        while len(self._keys) > POSTED_KEYS:
            self._keys.popitem(last=False)
        self._save()

    def _load(self) -> None:
        assert self.path is not None
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            return
        except OSError as exc:
            self._warn(f"events state {self.path}: cannot read ({exc.strerror})")
            return
        try:
            with os.fdopen(fd, "rb") as f:
                data = json.loads(f.read(4 * 1024 * 1024))
            keys = data["posted"]
            if data.get("version") != 1 or not isinstance(keys, list):
                raise ValueError("unknown format")
            for key in keys[-POSTED_KEYS:]:
                self._keys[str(key)] = None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._warn(f"events state {self.path}: unreadable ({exc}); starting afresh")

    def _save(self) -> None:
        if self.path is None:
            return
        tmp = f"{self.path}.{os.getpid()}.tmp"
        data = json.dumps({"version": 1, "posted": list(self._keys)}).encode()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, self.path)  # replaces a symlink at the path, never follows it
        except OSError as exc:
            self._warn(f"events state {self.path}: cannot write ({exc.strerror})")


__all__ = [
    "POD_OOM_REASON",
    "RBAC_RULES",
    "SYSTEM_OOM_REASON",
    "EventOptions",
    "EventSink",
    "EventsConfigError",
    "add_event_arguments",
    "event_options",
    "make_event_sink",
    "pod_oom_message",
    "system_oom_message",
    "tee",
]
