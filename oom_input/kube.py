"""A small Kubernetes API client on the standard library (http.client + ssl).

Two ways to reach the API server, both with TLS verification always on:

- in-cluster: ``KUBERNETES_SERVICE_HOST``/``KUBERNETES_SERVICE_PORT``, the service account token
  and ``ca.crt`` under the service account directory. Bound tokens rotate, so the token file is
  re-read when it changes (checked per request), at least every minute, and after a 401.
- a kubeconfig file: its current context; ``server``, ``certificate-authority(-data)``,
  ``tls-server-name``, ``token``, ``tokenFile``, ``client-certificate(-data)`` and
  ``client-key(-data)``. ``insecure-skip-tls-verify: true`` is refused; exec and auth-provider
  plugins are not supported (use a token or a client certificate).

The token never appears in an exception or message of this module: it is only ever put in the
``Authorization`` header, and ``TokenSource`` hides it from ``repr``.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import email.utils
import http.client
import os
import socket
import ssl
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson

TOKEN_MAX_AGE_S: Final = 60.0  # bound tokens rotate: re-read at least this often
MAX_RESPONSE_BYTES: Final = 64 * 1024 * 1024  # a pod list of a full node is a few MB


class KubeConfigError(Exception):
    """The cluster connection cannot be configured; the message says what is missing."""


class ApiError(Exception):
    """A request failed. ``retryable``: a connection error, a timeout, 429 or 5xx."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str = "",
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class TokenSource:
    """A bearer token, from a file (re-read when it changes, when older than ``max_age`` and
    after ``invalidate``) or fixed. ``repr`` never shows it."""

    def __init__(
        self,
        *,
        path: str | None = None,
        value: str | None = None,
        max_age: float = TOKEN_MAX_AGE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._value = value
        self._max_age = max_age
        self._clock = clock
        self._read_at: float | None = None
        self._stat: tuple[int, int, int] | None = None
        # the last tokens, to scrub from messages (bounded: tokens rotate hourly for months)
        self.seen: collections.deque[str] = collections.deque(
            () if value is None else (value,), maxlen=4
        )

    def __repr__(self) -> str:
        return f"TokenSource(path={self.path!r}, value=<hidden>)"

    def invalidate(self) -> None:
        """Read the file again before the next use (after a 401)."""
        self._read_at = None

    def get(self) -> str:
        if self.path is None:
            return self._value or ""
        try:
            st = os.stat(self.path)
        except OSError as exc:
            if self._value is not None:
                return self._value  # keep the last token while the file is being swapped
            raise KubeConfigError(f"token file {self.path}: {exc.strerror}") from None
        stat = (st.st_ino, st.st_mtime_ns, st.st_size)
        now = self._clock()
        if (
            self._value is None
            or self._read_at is None
            or stat != self._stat
            or now - self._read_at >= self._max_age
        ):
            try:
                with open(self.path, encoding="utf-8") as f:
                    value = f.read().strip()
            except (OSError, UnicodeDecodeError) as exc:
                if self._value is not None:
                    return self._value
                raise KubeConfigError(f"token file {self.path}: cannot read ({exc})") from None
            if value:
                if value != self._value:
                    self.seen.append(value)
                self._value = value
            self._read_at, self._stat = now, stat
        return self._value or ""


@dataclass
class ClusterConfig:
    """Where the API server is and how to authenticate to it."""

    host: str
    port: int
    ssl_context: ssl.SSLContext
    token: TokenSource | None = None
    base_path: str = ""  # a path prefix of the server URL (API proxies), without trailing /
    server_hostname: str | None = None  # tls-server-name: the name the certificate must carry
    origin: str = ""  # "in-cluster" or the kubeconfig path, for messages

    def __repr__(self) -> str:
        return f"ClusterConfig(host={self.host!r}, port={self.port}, origin={self.origin!r})"

    def scrub(self, message: str) -> str:
        """``message`` without any token this connection has used (for diagnostics)."""
        for secret in () if self.token is None else self.token.seen:
            if secret:
                message = message.replace(secret, "<token>")
        return message


def in_cluster_config(service_account_dir: str) -> ClusterConfig:
    """The pod's own service account, like client-go's rest.InClusterConfig."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise KubeConfigError(
            "not running in a cluster (KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT unset): "
            "give --kubeconfig"
        )
    try:
        port_number = int(port)
    except ValueError:
        raise KubeConfigError(f"KUBERNETES_SERVICE_PORT is not a port: {port!r}") from None
    token_path = os.path.join(service_account_dir, "token")
    ca_path = os.path.join(service_account_dir, "ca.crt")
    token = TokenSource(path=token_path)
    token.get()  # fails now, with the path, when the token is missing
    context = _tls_context(ca_file=ca_path, what="service account ca.crt")
    return ClusterConfig(host.strip("[]"), port_number, context, token, origin="in-cluster")


def kubeconfig_config(path: str) -> ClusterConfig:
    """The current context of a kubeconfig file (YAML or JSON)."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise KubeConfigError(f"kubeconfig {path}: cannot read ({exc})") from None
    try:
        doc = load_kubeconfig_document(text)
    except ValueError as exc:
        raise KubeConfigError(f"kubeconfig {path}: {exc}") from None
    if not isinstance(doc, dict):
        raise KubeConfigError(f"kubeconfig {path}: not a mapping")
    base = os.path.dirname(os.path.abspath(path))

    def fail(message: str) -> KubeConfigError:
        return KubeConfigError(f"kubeconfig {path}: {message}")

    def named(section: str, name: Any, key: str) -> dict[str, Any]:
        for entry in doc.get(section) or ():
            if isinstance(entry, dict) and entry.get("name") == name:
                value = entry.get(key)
                if isinstance(value, dict):
                    return value
        raise fail(f"no {key} named {name!r} in {section}")

    current = doc.get("current-context")
    if not current:
        raise fail("no current-context")
    context = named("contexts", current, "context")
    cluster = named("clusters", context.get("cluster"), "cluster")
    user = named("users", context.get("user"), "user") if context.get("user") else {}

    if cluster.get("insecure-skip-tls-verify") in (True, "true"):
        raise fail("insecure-skip-tls-verify is refused: TLS verification is always on")
    for unsupported in ("exec", "auth-provider"):
        if user.get(unsupported):
            raise fail(
                f"user {unsupported} plugins are not supported: use a token or a client certificate"
            )
    if cluster.get("proxy-url"):
        raise fail("proxy-url is not supported")
    server = str(cluster.get("server") or "")
    url = urllib.parse.urlsplit(server)
    if url.scheme != "https" or not url.hostname:
        raise fail(f"server must be an https:// URL (got {server!r})")

    def file_or_data(key: str) -> tuple[str | None, bytes | None]:
        data = (
            cluster.get(f"{key}-data")
            if key == "certificate-authority"
            else user.get(f"{key}-data")
        )
        if data:
            try:
                return None, base64.b64decode(str(data), validate=True)
            except ValueError:
                raise fail(f"{key}-data is not base64") from None
        file = cluster.get(key) if key == "certificate-authority" else user.get(key)
        return (os.path.join(base, str(file)) if file else None), None

    ca_file, ca_data = file_or_data("certificate-authority")
    cert_file, cert_data = file_or_data("client-certificate")
    key_file, key_data = file_or_data("client-key")
    context_tls = _tls_context(ca_file=ca_file, ca_data=ca_data, what=f"kubeconfig {path} CA")
    if (cert_file or cert_data) and (key_file or key_data):
        _load_client_cert(context_tls, cert_file, cert_data, key_file, key_data, path)
    elif cert_file or cert_data or key_file or key_data:
        raise fail("client-certificate and client-key must be given together")

    token: TokenSource | None = None
    if user.get("token"):
        token = TokenSource(value=str(user["token"]))
    elif user.get("tokenFile"):
        token = TokenSource(path=os.path.join(base, str(user["tokenFile"])))
        token.get()
    elif user.get("username") or user.get("password"):
        raise fail("basic authentication is not supported: use a token or a client certificate")

    try:
        port = url.port or 443
    except ValueError:
        raise fail(f"bad port in server {server!r}") from None
    return ClusterConfig(
        host=url.hostname,
        port=port,
        ssl_context=context_tls,
        token=token,
        base_path=url.path.rstrip("/"),
        server_hostname=str(cluster["tls-server-name"]) if cluster.get("tls-server-name") else None,
        origin=f"kubeconfig {path}",
    )


def _tls_context(
    *, ca_file: str | None = None, ca_data: bytes | None = None, what: str
) -> ssl.SSLContext:
    """A verifying client context (CERT_REQUIRED, host name checked, TLS >= 1.2)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if ca_data is not None:
            context.load_verify_locations(cadata=ca_data.decode("ascii"))
        elif ca_file is not None:
            context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        raise KubeConfigError(f"{what}: cannot load ({exc})") from None
    return context


def _load_client_cert(
    context: ssl.SSLContext,
    cert_file: str | None,
    cert_data: bytes | None,
    key_file: str | None,
    key_data: bytes | None,
    origin: str,
) -> None:
    # ssl loads certificates from files only: inline data goes through a private temporary
    # directory (0700) that is removed right after loading.
    with tempfile.TemporaryDirectory(prefix="oom-input-") as tmp:
        if cert_data is not None:
            cert_file = _write_private(os.path.join(tmp, "client.crt"), cert_data)
        if key_data is not None:
            key_file = _write_private(os.path.join(tmp, "client.key"), key_data)
        try:
            context.load_cert_chain(str(cert_file), str(key_file))
        except (OSError, ssl.SSLError) as exc:
            raise KubeConfigError(f"kubeconfig {origin}: client certificate: {exc}") from None


def _write_private(path: str, data: bytes) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


class _Connection(http.client.HTTPSConnection):
    """HTTPS with a separate name for certificate checks (kubeconfig tls-server-name)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        context: ssl.SSLContext,
        timeout: float,
        server_hostname: str | None,
    ) -> None:
        super().__init__(host, port, context=context, timeout=timeout)
        self._tls_name = server_hostname or host
        self._tls_context = context

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._tls_context.wrap_socket(self.sock, server_hostname=self._tls_name)


class ApiClient:
    """Requests to one API server over one kept-alive connection; not thread-safe (one worker
    thread uses it). Every request has a timeout; a 401 re-reads the token and retries once."""

    def __init__(
        self, config: ClusterConfig, *, timeout: float = 10.0, user_agent: str = "oom-input"
    ) -> None:
        self.config = config
        self.timeout = timeout
        self.user_agent = user_agent
        self._conn: _Connection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        timeout: float | None = None,
    ) -> Any:
        """Send one request, return the decoded JSON answer; raises ApiError."""
        data = None if body is None else orjson.dumps(body)
        token = self.config.token
        for attempt in (1, 2):
            status, headers, payload = self._send(method, path, data, content_type, timeout)
            if status == 401 and token is not None and token.path is not None and attempt == 1:
                token.invalidate()  # a rotated token: read the file again, try once more
                continue
            break
        if 200 <= status < 300:
            try:
                return orjson.loads(payload) if payload else None
            except ValueError:
                raise ApiError(f"{method} {path}: answer is not JSON", status=status) from None
        reason, message = _status_details(payload)
        retryable = status == 429 or status >= 500
        retry_after = _retry_after(headers.get("Retry-After")) if retryable else None
        text = f"{method} {path}: HTTP {status}" + (f" {reason}" if reason else "")
        if message:
            text += f": {message[:300]}"
        raise ApiError(
            text, status=status, reason=reason, retryable=retryable, retry_after=retry_after
        )

    def _send(
        self, method: str, path: str, data: bytes | None, content_type: str, timeout: float | None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        limit = self.timeout if timeout is None else max(0.05, min(timeout, self.timeout))
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        if data is not None:
            headers["Content-Type"] = content_type
        try:
            if self.config.token is not None:
                headers["Authorization"] = "Bearer " + self.config.token.get()
        except KubeConfigError as exc:
            raise ApiError(str(exc), retryable=True) from None
        for attempt in (1, 2):
            kept_alive = self._conn is not None
            conn = self._connection(limit)
            try:
                conn.request(method, self.config.base_path + path, body=data, headers=headers)
                response = conn.getresponse()
                payload = response.read(MAX_RESPONSE_BYTES + 1)
                if len(payload) > MAX_RESPONSE_BYTES:
                    self.close()
                    raise ApiError(f"{method} {path}: answer too large")
                if response.will_close:
                    self.close()
                return response.status, response.headers, payload
            except ssl.SSLCertVerificationError as exc:
                self.close()
                raise ApiError(
                    f"TLS verification of {self._where()} failed: {exc.verify_message or exc}"
                ) from None
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
                # a kept-alive connection the server closed meanwhile: one try on a new one
                self.close()
                if not kept_alive or attempt == 2:
                    raise ApiError(f"{self._where()}: {_describe(exc)}", retryable=True) from None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                raise ApiError(f"{self._where()}: {_describe(exc)}", retryable=True) from None
        raise AssertionError("unreachable")

    def _connection(self, timeout: float) -> _Connection:
        if self._conn is None:
            self._conn = _Connection(
                self.config.host,
                self.config.port,
                context=self.config.ssl_context,
                timeout=timeout,
                server_hostname=self.config.server_hostname,
            )
        self._conn.timeout = timeout
        if self._conn.sock is not None:
            self._conn.sock.settimeout(timeout)
        return self._conn

    def _where(self) -> str:
        host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
        return f"API server {host}:{self.config.port} ({self.config.origin})"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _status_details(payload: bytes) -> tuple[str, str]:
    """(reason, message) of a metav1.Status answer, else ("", start of the text)."""
    with contextlib.suppress(ValueError, AttributeError):
        status = orjson.loads(payload)
        return str(status.get("reason") or ""), str(status.get("message") or "")
    return "", payload[:200].decode("utf-8", "replace")


def _retry_after(value: str | None) -> float | None:
    """Retry-After: delay seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    with contextlib.suppress(TypeError, ValueError, IndexError):
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    return None


def load_kubeconfig_document(text: str) -> Any:
    """A kubeconfig's document, YAML (JSON is YAML too) read as kubectl reads it. PyYAML is
    imported here only: most runs (in-cluster, no --kubeconfig) never need it."""
    try:
        import yaml
    except ImportError:
        raise KubeConfigError(
            "reading a kubeconfig needs PyYAML: pip install 'oom-input[kubeconfig]'"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).replace("\n", " ")) from None


__all__ = [
    "ApiClient",
    "ApiError",
    "ClusterConfig",
    "KubeConfigError",
    "TokenSource",
    "in_cluster_config",
    "kubeconfig_config",
    "load_kubeconfig_document",
]
