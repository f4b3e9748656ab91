"""Bounded reads for the API client: one deadline per request, headers and body, and a byte cap.

urllib3's timeouts apply to each socket operation, so a server that drips a byte
every few seconds keeps a "30 s timeout" request alive for minutes. Here the
outbound policy's watchdog shuts the connection's socket down at the deadline,
whatever the request is doing (TLS handshake, headers, body); connections are
still pooled. Bodies are read in chunks up to a cap, never whole, so a hostile
or broken API cannot make the collector hold gigabytes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from socket import socket
from typing import TypeVar

import requests
import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.response import BaseHTTPResponse

from auditor.outbound import Watchdog

M = TypeVar("M", bound=urllib3.PoolManager)
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


def read_capped(response: BaseHTTPResponse, max_bytes: int, chunks: Iterable[bytes]) -> bytes:
    """The body, refused (ApiRefusedError) as soon as it is known to exceed `max_bytes`."""
    declared = response.headers.get("Content-Length", "")
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
