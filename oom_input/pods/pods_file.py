"""Pod names offline: ``--pods-file FILE`` (``kubectl get pods -A -o json``).

A file holds one JSON document (a ``List``/``PodList`` with ``items``, or one Pod), JSON lines
(each a Pod or a list: a history of snapshots appended over time), or documents back to back
(``kubectl get pods -A -o json -w``, which prints each change as an indented object). Several
files may be given. A pod seen more than once keeps every container ID it ever had (a restarted
container's old ID still names it); its other fields come from the last time it was seen.
ReplicaSets and Jobs in the same files (``kubectl get pods,replicasets,jobs -A -o json``) let
owners resolve to Deployments and CronJobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import orjson

from oom_input.pods.model import Owner, PodInfo
from oom_input.pods.objects import owners_from_objects, pod_from_object

MAX_PODS: Final = 200_000
MAX_LINE_BYTES: Final = 64 << 20


class PodsFileError(ValueError):
    """A pods file cannot be read at all; the message names it."""


class PodsFileIndex:
    """Pods by the UID their cgroups carry, from one or more pods files."""

    def __init__(self, paths: list[str], warn: Callable[[str], None]) -> None:
        self.pods: dict[str, PodInfo] = {}
        self.owners: dict[tuple[str, str, str], Owner | None] = {}
        self._warn = warn
        for path in paths:
            self._load(path)

    def lookup(self, uid: str, container_id: str | None, host: str | None = None) -> PodInfo | None:
        """The pod with cgroup UID ``uid`` (a PodSource)."""
        return self.pods.get(uid)

    def parent(self, kind: str, namespace: str, name: str) -> tuple[bool, Owner | None]:
        """A ReplicaSet's or Job's controller when the files hold it (a ParentLookup)."""
        key = (kind, namespace, name)
        return (True, self.owners[key]) if key in self.owners else (False, None)

    def _load(self, path: str) -> None:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise PodsFileError(f"--pods-file {path}: cannot read ({exc.strerror})") from None
        objects, bad = _documents(data)
        if bad:
            self._warn(f"--pods-file {path}: {bad} lines are not JSON objects (skipped)")
        before = len(self.pods), len(self.owners)
        for obj in objects:
            listed = obj.get("items")
            items: list[Any] = listed if isinstance(listed, list) else [obj]
            dicts = [item for item in items if isinstance(item, dict)]
            for key, owner in owners_from_objects(iter(dicts)).items():
                if len(self.owners) < MAX_PODS or key in self.owners:
                    self.owners[key] = owner
            for item in dicts:
                if item.get("kind", "Pod") == "Pod":
                    self._add(item)
        if (len(self.pods), len(self.owners)) == before:
            self._warn(f"--pods-file {path}: no pods, ReplicaSets or Jobs found")

    def _add(self, item: Mapping[str, Any]) -> None:
        pod = pod_from_object(item)
        if pod is None:
            return
        known = self.pods.pop(pod.uid, None)
        if known is not None:
            pod = pod._replace(containers={**known.containers, **pod.containers})
        elif len(self.pods) >= MAX_PODS:
            self.pods.pop(next(iter(self.pods)))
        self.pods[pod.uid] = pod


def _documents(data: bytes) -> tuple[Iterator[dict[str, Any]], int]:
    """The JSON objects of a file: one document, one per line, or documents back to back
    (``kubectl get pods -A -o json -w`` prints each change as an indented object); and the count
    of lines that are none of these."""
    try:
        whole = orjson.loads(data)
    except orjson.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return iter([whole]), 0
    found: list[dict[str, Any]] = []
    bad = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            value = orjson.loads(line) if len(line) <= MAX_LINE_BYTES else None
        except orjson.JSONDecodeError:
            value = None
        if isinstance(value, dict):
            found.append(value)
        else:
            bad += 1
    if bad:
        concatenated = _back_to_back(data)
        if concatenated is not None:
            return iter(concatenated), 0
    return iter(found), bad


def _back_to_back(data: bytes) -> list[dict[str, Any]] | None:
    """Objects written one after the other (any whitespace between), or None."""
    import json  # rare: orjson reads one document at a time only

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    index = 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index == len(text):
            return found or None
        try:
            value, index = decoder.raw_decode(text, index)
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        found.append(value)


__all__ = ["PodsFileError", "PodsFileIndex"]
