"""A stand-in for the Kubernetes API server in the events tests: real HTTPS (stdlib http.server +
ssl) on 127.0.0.1, certificates made at test time with the openssl CLI.

It checks the bearer token (or, with ``client_ca``, a client certificate), validates each Event
against the core/v1 rules that matter, keeps the Events it accepted, serves a pod list and
other objects by path (``objects``: ReplicaSets, Jobs), and records every request. ``script`` lists answers to give instead of the normal ones, one per
request: an HTTP status (401, 429, 500, ...), ``(429, retry_after)`` or "hang".
"""

from __future__ import annotations

import json
import re
import shutil
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

# metav1 object names of Events: a DNS subdomain (lower case, dots, dashes), at most 253 chars
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
EVENT_NAME = re.compile(r"(?P<object>.+)\.(?P<nanos>[0-9a-f]+)")
RFC3339_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
RFC3339_MICRO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
# apimachinery's IsQualifiedName, read from its rules: an optional DNS-subdomain prefix and "/",
# then 1-63 alphanumerics, "-", "_" or "." starting and ending alphanumeric
QUALIFIED_NAME = re.compile(
    r"(?:(?P<prefix>[^/]+)/)?(?P<name>[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)"
)
# kubernetes pkg/apis/core/validation/events.go: ReasonLengthLimit, ActionLengthLimit,
# ReportingInstanceLengthLimit, NoteLengthLimit, compared with Go's len (UTF-8 bytes)
EVENT_BYTE_LIMITS = {"reason": 128, "action": 128, "reportingInstance": 128, "message": 1024}
EVENTS_PATH = re.compile(r"/api/v1/namespaces/(?P<ns>[^/]+)/events(?:/(?P<name>[^/]+))?")


@dataclass
class Pki:
    """Files made by ``make_pki``."""

    ca: Path
    server_cert: Path
    server_key: Path
    other_ca: Path  # a CA that did not sign the server certificate
    client_cert: Path
    client_key: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1/localhost signed by it, a second unrelated CA,
    and a client certificate signed by the first CA (P-256 keys: fast to make)."""
    if shutil.which("openssl") is None:
        raise RuntimeError("the openssl CLI is needed to make test certificates")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for name in ("ca", "other-ca"):
        _openssl(
            "req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2",
            "-subj", f"/CN=oom-input test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=directory,
        )  # fmt: skip
    leaves = {
        "server": "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        "client": "extendedKeyUsage=clientAuth\n",
    }
    for name, ext in leaves.items():
        (directory / f"{name}.ext").write_text(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
            "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n" + ext
        )
        _openssl(
            "req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={'localhost' if name == 'server' else 'system:node:node-a'}",
            cwd=directory,
        )  # fmt: skip
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.crt",
            cwd=directory,
        )  # fmt: skip
    return Pki(
        ca=directory / "ca.crt",
        server_cert=directory / "server.crt",
        server_key=directory / "server.key",
        other_ca=directory / "other-ca.crt",
        client_cert=directory / "client.crt",
        client_key=directory / "client.key",
    )


def validate_event(event: Any, namespace: str) -> list[str]:
    """What the API server would reject in a core/v1 Event (create)."""
    problems = []
    if not isinstance(event, dict):
        return ["not an object"]
    if event.get("kind") not in (None, "Event") or event.get("apiVersion") not in (None, "v1"):
        problems.append("kind/apiVersion")
    meta = event.get("metadata") or {}
    name = meta.get("name", "")
    if not (isinstance(name, str) and len(name) <= 253 and DNS_SUBDOMAIN.fullmatch(name)):
        problems.append(f"metadata.name {name!r}")
    if meta.get("namespace", namespace) != namespace:
        problems.append("metadata.namespace differs from the URL")
    involved = event.get("involvedObject") or {}
    if not involved.get("kind") or not involved.get("name"):
        problems.append("involvedObject.kind/name")
    if involved.get("kind") == "Node":
        if namespace != "default" or involved.get("namespace"):
            problems.append("a Node Event must be in namespace default")
    elif involved.get("namespace") != namespace:
        problems.append("involvedObject.namespace differs from the Event's")
    match = EVENT_NAME.fullmatch(name or "")
    if match is None or not str(involved.get("name")).startswith(match["object"]):
        problems.append("name is not <object (cut to fit)>.<hex nanos>")
    if event.get("type") not in ("Normal", "Warning"):
        problems.append(f"type {event.get('type')!r}")
    if not event.get("reason"):
        problems.append("reason missing")
    message = event.get("message")
    if not isinstance(message, str) or len(message.encode("utf-8")) > 1024:
        problems.append("message missing or longer than 1024 bytes")
    for key in ("firstTimestamp", "lastTimestamp"):
        if not RFC3339_SECONDS.fullmatch(str(event.get(key))):
            problems.append(f"{key} {event.get(key)!r}")
    if not isinstance(event.get("count"), int) or event["count"] < 1:
        problems.append("count")
    source = event.get("source") or {}
    if not source.get("component"):
        problems.append("source.component")
    if event.get("eventTime") is None and not event.get("reportingComponent"):
        problems.append("reportingComponent")
    if event.get("eventTime") is not None:
        problems += _event_time_problems(event, namespace)
    if not DNS_SUBDOMAIN.fullmatch(namespace):
        problems.append(f"namespace {namespace!r} is not a DNS-1123 subdomain")
    return problems


def _event_time_problems(event: dict[str, Any], namespace: str) -> list[str]:
    """core/v1 legacyValidateEvent's rules for an Event with eventTime (pkg/apis/core/validation
    events.go, as the API server applies them to POST /api/v1 .../events)."""
    problems = []
    if not RFC3339_MICRO.fullmatch(str(event["eventTime"])):
        problems.append(f"eventTime {event['eventTime']!r}")
    involved = event.get("involvedObject") or {}
    if not involved.get("namespace") and namespace not in ("default", "kube-system"):
        problems.append("an Event with eventTime on a cluster object must be in default")
    for key in ("reportingComponent", "reportingInstance", "action", "reason"):
        if not event.get(key):
            problems.append(f"{key} required with eventTime")
    component = QUALIFIED_NAME.fullmatch(str(event.get("reportingComponent") or ""))
    prefix = None if component is None else component["prefix"]
    if component is None or (
        prefix is not None and not (len(prefix) <= 253 and DNS_SUBDOMAIN.fullmatch(prefix))
    ):
        problems.append(f"reportingComponent {event.get('reportingComponent')!r}: not qualified")
    for key, limit in EVENT_BYTE_LIMITS.items():
        if len(str(event.get(key) or "").encode("utf-8")) > limit:
            problems.append(f"{key} longer than {limit} bytes")
    return problems


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    token: str | None
    content_type: str | None
    body: Any
    at: float


@dataclass
class ApiState:
    """What the fake API server knows, serves and saw (shared with the handler threads)."""

    tokens: set[str] = field(default_factory=set)
    pods: list[dict[str, Any]] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # GET by path
    events: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, method: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # headers and body in one send (no Nagle/delayed-ACK stall per answer)
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def _serve(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        auth = self.headers.get("Authorization") or ""
        url = urlsplit(self.path)
        request = Request(
            self.command,
            url.path,
            parse_qs(url.query),
            auth[7:] if auth.startswith("Bearer ") else None,
            self.headers.get("Content-Type"),
            json.loads(raw) if raw else None,
            time.monotonic(),
        )
        with state.lock:
            state.requests.append(request)
            scripted = state.script.pop(0) if state.script else None
        if scripted == "hang":
            state.release.wait(30)
            self.close_connection = True
            return
        if isinstance(scripted, tuple):
            self._status(scripted[0], "TooManyRequests", {"Retry-After": str(scripted[1])})
            return
        if isinstance(scripted, int):
            self._status(scripted, "Scripted")
            return
        if self.server.client_ca is None and request.token not in state.tokens:
            self._status(401, "Unauthorized")
            return
        if request.method == "GET" and url.path == "/api/v1/pods":
            node = request.query.get("fieldSelector", [""])[0].removeprefix("spec.nodeName=")
            pods = [p for p in state.pods if p.get("spec", {}).get("nodeName") == node]
            self._json(200, {"kind": "PodList", "apiVersion": "v1", "items": pods})
            return
        if request.method == "GET" and url.path in state.objects:
            self._json(200, state.objects[url.path])
            return
        match = EVENTS_PATH.fullmatch(url.path)
        if match is None:
            self._status(404, "NotFound")
            return
        namespace, name = match["ns"], match["name"]
        if request.method == "POST" and name is None:
            problems = validate_event(request.body, namespace)
            if problems:
                with state.lock:
                    state.problems.extend(problems)
                self._status(422, "Invalid")
                return
            key = (namespace, request.body["metadata"]["name"])
            with state.lock:
                if key in state.events:
                    self._status(409, "AlreadyExists")
                    return
                state.events[key] = request.body
            self._json(201, request.body)
        elif request.method == "PATCH" and name is not None:
            if request.content_type != "application/strategic-merge-patch+json":
                self._status(415, "UnsupportedMediaType")
                return
            with state.lock:
                event = state.events.get((namespace, name))
                if event is None:
                    self._status(404, "NotFound")
                    return
                event.update(request.body)
            self._json(200, event)
        else:
            self._status(405, "MethodNotAllowed")

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int, reason: str, headers: dict[str, str] | None = None) -> None:
        body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
                "message": f"scripted or refused: {reason}", "code": code}  # fmt: skip
        self._json(code, body, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: ApiState
    client_ca: Path | None


class FakeApiServer:
    """Start with ``with FakeApiServer(pki) as api:``; ``api.port``, ``api.state``."""

    def __init__(self, pki: Pki, *, client_ca: Path | None = None) -> None:
        self.state = ApiState()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pki.server_cert, pki.server_key)
        if client_ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(client_ca)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._server.client_ca = client_ca
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.release.set()
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, method: str | None = None, timeout: float = 5.0) -> None:
        """Until ``count`` requests (of ``method``) arrived."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.state.lock:
                n = sum(1 for r in self.state.requests if method in (None, r.method))
            if n >= count:
                return
            time.sleep(0.005)
        raise AssertionError(f"{count} {method or ''} requests expected, got {n}")
