"""Bounded reads for the API client: one deadline per request, headers and body, and a byte cap.

urllib3's timeouts apply to each socket operation, so a server that drips a byte
every few seconds keeps a "30 s timeout" request alive for minutes. Here the
outbound policy's watchdog shuts the connection's socket down at the deadline,
whatever the request is doing (TLS handshake, headers, body); connections are
still pooled. Bodies are read in chunks up to a cap, never whole, so a hostile
or broken API cannot make the collector hold gigabytes.

`Connections` is the collector's own sender when no proxy is configured: kept-alive
`http.client` connections per origin, no URL re-parsing, no pool-manager lookups.
The collector is CPU-bound at its concurrency, and urllib3's request path costs about
twice as much CPU per request as http.client's (benchmarks/README.md, issue #14).
"""

from __future__ import annotations

import http.client
import select
import socket as socketlib
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from socket import socket
from typing import Any, Protocol, TypeVar

import certifi
import requests
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from auditor.outbound import Watchdog

M = TypeVar("M", bound=urllib3.PoolManager)
_CHUNK = 64 * 1024
_local = threading.local()  # the watchdog of the request this thread is sending


class ApiRefusedError(requests.RequestException):
    """A request the client will not send (a foreign host) or an answer it will not read
    (too large): not retried; str() is one line for coverage. A RequestException, so every
    caller that handles network errors handles these too."""


def _watch(sock: socket | None) -> None:
    watchdog: Watchdog | None = getattr(_local, "watchdog", None)
    if watchdog is not None and sock is not None:
        watchdog.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket:
        sock = super()._new_conn()
        _watch(sock)  # the TLS handshake runs on this socket
        return sock

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        _watch(self.sock)  # a kept-alive connection, or the TLS socket made on connect
        return super().getresponse()


class _WatchedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket:
        sock = super()._new_conn()
        _watch(sock)
        return sock

    def getresponse(self) -> urllib3.response.HTTPResponse:  # type: ignore[override]
        _watch(self.sock)
        return super().getresponse()


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def watch_pools(manager: M) -> M:
    """Make `manager` (or a ProxyManager) build connections the deadline can cut."""
    manager.pool_classes_by_scheme = {
        "http": _WatchedHTTPConnectionPool,
        "https": _WatchedHTTPSConnectionPool,
    }
    return manager


@contextmanager
def request_deadline(seconds: float) -> Iterator[Watchdog]:
    """Everything this thread sends inside ends `seconds` from now, or its socket is shut."""
    watchdog = Watchdog(time.monotonic() + seconds)
    _local.watchdog = watchdog
    try:
        yield watchdog
    finally:
        watchdog.stop()
        _local.watchdog = None


class _Answer(Protocol):
    """urllib3's or http.client's response: headers with a case-insensitive get()."""

    @property
    def headers(self) -> Any: ...


def read_capped(response: _Answer, max_bytes: int, chunks: Iterable[bytes]) -> bytes:
    """The body, refused (ApiRefusedError) as soon as it is known to exceed `max_bytes`."""
    declared = response.headers.get("Content-Length") or ""
    if declared.isdigit() and int(declared) > max_bytes:
        raise ApiRefusedError(_too_large(max_bytes, int(declared)))
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise ApiRefusedError(_too_large(max_bytes, None))
        parts.append(chunk)
    return b"".join(parts)


def _too_large(max_bytes: int, declared: int | None) -> str:
    mib = max_bytes / 1024**2
    size = f" ({declared / 1024**2:.0f} MiB)" if declared is not None else ""
    return f"answer larger than {mib:g} MiB{size}; not read"


# ------------------------------------------------------------------ the direct sender

Origin = tuple[str, str, int]  # scheme, host, port


def _watched_create_connection(
    address: tuple[str, int], timeout: Any = None, source_address: Any = None
) -> socket:
    sock = socketlib.create_connection(address, timeout, source_address)
    _watch(sock)  # before the TLS handshake, which runs on this socket
    return sock


class _DirectHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._create_connection = _watched_create_connection


class _DirectHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, timeout: float, context: ssl.SSLContext) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._create_connection = _watched_create_connection


@lru_cache(maxsize=4)
def _tls_context(ca_certs: str | None) -> ssl.SSLContext:
    """Verified TLS (hostname and chain) against the bundle requests would use."""
    context = ssl.create_default_context(cafile=ca_certs or certifi.where())
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle kept-alive connection the server closed (or wrote to): not reusable."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):  # select() cannot watch a descriptor past FD_SETSIZE
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


_DECODERS: dict[str, Callable[[], Any]] = {
    "gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
    "deflate": lambda: zlib.decompressobj(),
}


def _decoded(encoding: str, body: bytes, max_bytes: int) -> bytes:
    """A compressed body (never asked for: the request says identity), decoded up to the cap."""
    make = _DECODERS.get(encoding.strip().lower())
    if make is None:
        raise ApiRefusedError(f"answer in an encoding not asked for ({encoding[:20]}); not read")
    try:
        decoder = make()
        data = decoder.decompress(body, max_bytes + 1)
    except zlib.error:
        raise ApiRefusedError("answer compressed wrongly; not read") from None
    if len(data) > max_bytes:
        raise ApiRefusedError(_too_large(max_bytes, None))
    return data


class Connections:
    """Kept-alive connections to the API, reused across threads; GET only.

    `get` sends one request on an idle connection of the origin (or a new one) and reads
    the answer whole, capped; a connection goes back to the pool only after a complete
    answer the server did not mark as the last. Every network failure raises OSError or
    http.client.HTTPException; the caller retries (a stale kept-alive connection too).
    """

    def __init__(self, maxsize: int, ca_certs: str | None) -> None:
        self.maxsize = maxsize
        self.ca_certs = ca_certs
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def _checkout(self, origin: Origin, timeout: float) -> http.client.HTTPConnection:
        with self._lock:
            idle = self._idle.get(origin)
            conn = idle.pop() if idle else None
        while conn is not None and _dropped(conn):
            conn.close()
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
        if conn is not None:
            conn.timeout = timeout
            assert conn.sock is not None
            conn.sock.settimeout(timeout)
            _watch(conn.sock)
            return conn
        scheme, host, port = origin
        if scheme == "https":
            return _DirectHTTPSConnection(host, port, timeout, _tls_context(self.ca_certs))
        return _DirectHTTPConnection(host, port, timeout)

    def _checkin(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.maxsize:
                idle.append(conn)
                return
        conn.close()

    def get(
        self,
        origin: Origin,
        target: str,
        headers: Mapping[str, str],
        timeout: float,
        max_bytes: int,
    ) -> tuple[int, bytes, http.client.HTTPMessage]:
        """(status, body, headers) of GET `target` (path and query) at `origin`."""
        conn = self._checkout(origin, timeout)
        reusable = False
        try:
            conn.putrequest("GET", target)  # Host from the origin; Accept-Encoding: identity
            for name, value in headers.items():
                conn.putheader(name, value)
            conn.endheaders()  # connects a new connection first
            if conn.sock is not None:
                _watch(conn.sock)  # the TLS socket made on connect
            resp = conn.getresponse()
            chunks = iter(lambda: resp.read1(_CHUNK), b"")
            body = read_capped(resp, max_bytes, chunks)
            if resp.length:  # the server closed before the declared length
                raise http.client.IncompleteRead(body, resp.length)
            resp.close()  # read to the end: the connection may carry the next request
            encoding = resp.headers.get("Content-Encoding")
            if encoding and encoding.strip().lower() != "identity":
                body = _decoded(encoding, body, max_bytes)
            reusable = not resp.will_close
            return resp.status, body, resp.headers
        finally:
            if reusable:
                self._checkin(origin, conn)
            else:
                conn.close()  # a broken, refused or last answer: the connection is not reused

    def close(self) -> None:
        with self._lock:
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
        for conn in idle:
            conn.close()
