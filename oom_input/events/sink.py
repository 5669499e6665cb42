"""The event sink: records in, Events posted by one worker thread, off the record path.

``write`` only puts the record in a bounded queue (a full queue drops the oldest record,
counted); one worker thread posts, with a timeout on every request and retries with backoff and
jitter on connection errors, 429 and 5xx (honouring ``Retry-After``). Other 4xx are reported once
per status and reason, and dropped. ``close`` sends what is pending within
``--events-flush-timeout`` seconds. With a state directory, the keys of records already posted
are kept on disk (``state``), so a restart does not post them again. ``--events-dry-run`` prints
each Event as one JSON line on stderr instead of sending it.

A Pod Event names the pod found in the API's list of the node's pods (``oom_input.pods.api``,
shared with the pod metadata enricher); a pod the API no longer has keeps the names the record's
``kubernetes`` object got from the node's files; else no Pod Event.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import random
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import orjson

from oom_input.events.bodies import (
    POD_OOM_REASON,
    SYSTEM_OOM_REASON,
    EventDraft,
    event_name,
    is_node_name,
    kill_time_ns,
    pod_oom_message,
    record_key,
    rfc3339,
    system_oom_message,
)
from oom_input.events.config import EventOptions, EventsConfigError, event_options, load_cluster
from oom_input.events.correlator import Correlator, Posted, event_key, object_key
from oom_input.events.state import PostedKeys
from oom_input.pods.api import RBAC_RULES as POD_METADATA_RBAC_RULES
from oom_input.pods.model import ContainerInfo, PodInfo
from oom_input.types import OomRecord, Sink

if TYPE_CHECKING:
    from oom_input.kube import ApiClient, ClusterConfig
    from oom_input.pods.api import ApiPodIndex

# what the sink's requests and the pod index it uses need
RBAC_RULES: Final[tuple[dict[str, list[str]], ...]] = (
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    *POD_METADATA_RBAC_RULES,
)
STRATEGIC_MERGE_PATCH: Final = "application/strategic-merge-patch+json"
WARN_INTERVAL_S: Final = 60.0


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
        pod_index: ApiPodIndex | None = None,
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
        # the node's pods: shared with the pod metadata enricher when the CLI made one
        self._own_pod_index = pod_index is None and cluster is not None and options.pod_events
        if self._own_pod_index:
            from oom_input.pods.api import ApiPodIndex

            assert cluster is not None
            pod_index = ApiPodIndex(
                ApiClient(cluster, timeout=options.request_timeout),
                self._warn,
                relist_interval=options.pod_relist_interval,
            )
        self._pod_index = pod_index
        # a dry run posts nothing, so it neither reads nor writes the state
        self._posted = PostedKeys(None if options.dry_run else state_dir, self._warn)
        self._queue: collections.deque[OomRecord] = collections.deque()
        self._cond = threading.Condition()
        self._closing = False
        self._closed = False
        self._busy = False
        self._deadline: float | None = None
        self._wake = threading.Event()
        self._correlator = Correlator()
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
        with self._cond:
            if self._closing:
                return
            if len(self._queue) >= self.options.queue_size:
                self._queue.popleft()
                self.stats["dropped_queue_full"] += 1
                dropped = self.stats["dropped_queue_full"]
            else:
                dropped = 0
            self._queue.append(record)  # a value: no stage changes a record once emitted
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
        if self._own_pod_index and self._pod_index is not None:
            self._pod_index.close()
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
        if not is_node_name(node):
            # no Node has such a name (the API requires a DNS-1123 subdomain): an Event would
            # name none, and the Event's own name `<node>.<hex>` could not be a path segment
            self._warn_limited(
                "bad-node",
                f"events: host {node[:100]!r} cannot be a Node's name (give --node-name): no Event",
            )
            self.stats["bad_node_name"] += 1
            return
        key = record_key(record)
        if self.options.node_events and record.victim_container_name == "/":
            node_ref = {"kind": "Node", "name": node, "uid": node}  # kubelet's nodeRef, uid too
            message = system_oom_message(record)
            draft = EventDraft(
                "default", node, node_ref, SYSTEM_OOM_REASON, message, kill_time_ns(record)
            )
            self._post(None if key is None else f"{key}|node", node, draft)
        if self.options.pod_events and record.pod_uid:
            self._post_pod(None if key is None else f"{key}|pod", node, record)

    def _post_pod(self, posted_key: str | None, node: str, record: OomRecord) -> None:
        uid = str(record.pod_uid)
        if posted_key is not None and posted_key in self._posted:
            self.stats["already_posted"] += 1
            return
        kill_ns = kill_time_ns(record)
        pod = self._find_pod(node, uid, record.container_id)
        known = record.kubernetes or {}
        if pod is None and known.get("namespace_name") and known.get("pod_name"):
            # not in the API (deleted since?): the names the node's files gave the record
            pod = PodInfo(known["namespace_name"], known["pod_name"], uid)
            if known.get("container_name") and record.container_id:
                pod = pod._replace(
                    containers={record.container_id: ContainerInfo(known["container_name"])}
                )
        if pod is None:
            if self._client is None:  # dry run without a cluster: the UID is all there is
                ref = {"kind": "Pod", "uid": uid, "apiVersion": "v1"}
                message = pod_oom_message(record, None)
                self._post(
                    posted_key, node, EventDraft("", uid, ref, POD_OOM_REASON, message, kill_ns)
                )
                return
            self.stats["pod_not_found"] += 1
            self._warn_limited(
                "pod-not-found", f"events: no pod with UID {uid} on node {node}: no Event"
            )
            return
        container = pod.containers.get(record.container_id) if record.container_id else None
        ref = {
            "kind": "Pod",
            "namespace": pod.namespace,
            "name": pod.name,
            "uid": pod.api_uid or pod.uid,
            "apiVersion": "v1",
        }
        if container is not None and container.spec_path:
            ref["fieldPath"] = f"{container.spec_path}{{{container.name}}}"  # as the kubelet's
        message = pod_oom_message(
            record, None if container is None else container.name, (pod.namespace, pod.name)
        )
        draft = EventDraft(pod.namespace, pod.name, ref, POD_OOM_REASON, message, kill_ns)
        self._post(posted_key, node, draft)

    def _find_pod(self, node: str, uid: str, container_id: str | None) -> PodInfo | None:
        """The pod from the API's list of the node's pods (listed again on a miss, at most once
        per relist interval; see oom_input.pods.api), waiting within the flush deadline."""
        if self._pod_index is None:
            return None
        wait = self.options.pod_relist_interval + self.options.request_timeout
        remaining = self._remaining()
        if remaining is not None:
            if remaining <= 0:
                raise _GiveUp
            wait = min(wait, remaining)
        return self._pod_index.lookup(node, uid, container_id, wait)

    def _post(self, posted_key: str | None, node: str, draft: EventDraft) -> None:
        """Create the Event, or PATCH its identical twin; spam-limited per object."""
        if posted_key is not None and posted_key in self._posted:
            self.stats["already_posted"] += 1
            return
        ref = draft.involved
        spam_key = object_key(self.options.component, node, ref)
        mono = self.options.monotonic()
        if not self._correlator.spam.allow(spam_key, mono):
            self.stats["spam_filtered"] += 1
            self._warn_limited(
                "spam",
                f"events: too many Events for {ref.get('kind')} {draft.object_name}: not posted "
                "(25, then 1 per 5 minutes)",
            )
            return
        same_key = event_key(spam_key, ref, draft.reason, draft.message)
        wall_ns = self._unique_ns()
        stamp = rfc3339(wall_ns if draft.kill_ns is None else draft.kill_ns)
        twin = self._correlator.twin(same_key, mono)
        if twin is not None:
            body = draft.body(self.options.component, node, twin.name, twin.namespace)
            body.update(firstTimestamp=twin.first, lastTimestamp=stamp, count=twin.count + 1)
            sent = self._send_update(body)
        else:
            name = event_name(draft.object_name, wall_ns)
            body = draft.body(self.options.component, node, name, draft.namespace)
            body.update(firstTimestamp=stamp, lastTimestamp=stamp, count=1)
            sent = self._send_create(body)
        if not sent:
            return
        meta = body["metadata"]
        self._correlator.remember(
            same_key,
            Posted(meta["name"], meta["namespace"], body["count"], body["firstTimestamp"], mono),
        )
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
            print(orjson.dumps(body).decode(), file=stream, flush=True)
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
        base = min(self.options.backoff_cap, self.options.backoff_base * 2.0 ** (attempt - 1))
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
        if self._client is not None:
            message = self._client.config.scrub(message)
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


__all__ = ["RBAC_RULES", "EventSink", "make_event_sink", "tee"]
