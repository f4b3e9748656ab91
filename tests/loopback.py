"""Small loopback servers for the network tests: they record every connection and request.

A refusal test binds one of these and asserts it saw nothing; a deadline test
makes it drip; a TLS test makes it present tests/fixtures/tls/hook.pem.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TLS_DIR = Path(__file__).parent / "fixtures" / "tls"
CA = str(TLS_DIR / "ca.pem")

Respond = Callable[["Request", socket.socket], None]


@dataclass
class Request:
    """One HTTP request as the server received it."""

    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    sni: str | None = None


def answer(
    status: int = 200,
    body: bytes | str = b"",
    headers: dict[str, str] | None = None,
) -> Respond:
    """A complete HTTP/1.1 answer with Content-Length."""
    data = body.encode() if isinstance(body, str) else body

    def respond(_: Request, conn: socket.socket) -> None:
        head = [f"HTTP/1.1 {status} X", f"Content-Length: {len(data)}", "Connection: close"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data)

    return respond


def drip(prefix: bytes, byte: bytes = b"x", every: float = 0.3, count: int = 1000) -> Respond:
    """Send `prefix`, then one byte every `every` seconds: each read succeeds, none ends."""

    def respond(_: Request, conn: socket.socket) -> None:
        conn.sendall(prefix)
        for _ in range(count):
            time.sleep(every)
            conn.sendall(byte)

    return respond


def endless(chunk: int = 1 << 16) -> Respond:
    """A chunked answer that never ends (no Content-Length to refuse it by)."""

    def respond(_: Request, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = f"{chunk:x}\r\n".encode() + b"y" * chunk + b"\r\n"
        while True:
            conn.sendall(piece)

    return respond


@dataclass
class Listener:
    """A TCP server on 127.0.0.1 (or ::1) answering each request with `respond`."""

    respond: Respond = field(default_factory=lambda: answer(200, "<Response/>"))
    host: str = "127.0.0.1"
    tls: bool = False
    connections: int = 0
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((self.host, 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._lock = threading.Lock()
        self._closed = False
        self._context: ssl.SSLContext | None = None
        self._sni = threading.local()  # the handshake runs in the connection's own thread
        if self.tls:
            self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._context.load_cert_chain(TLS_DIR / "hook.pem", TLS_DIR / "hook.key")
            self._context.sni_callback = self._record_sni
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/", host: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        name = host or (f"[{self.host}]" if ":" in self.host else self.host)
        return f"{scheme}://{name}:{self.port}{path}"

    def _record_sni(self, _sock: object, name: str | None, _ctx: ssl.SSLContext) -> None:
        self._sni.name = name

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        sni: str | None = None
        try:
            conn.settimeout(10)
            if self._context is not None:
                self._sni.name = None
                conn = self._context.wrap_socket(conn, server_side=True)
                sni = self._sni.name
            request = _read_request(conn)
            if request is None:
                return
            request.sni = sni
            with self._lock:
                self.requests.append(request)
            self.respond(request, conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()

    def close(self) -> None:
        self._closed = True
        _stop_listening(self._sock)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _stop_listening(sock: socket.socket) -> None:
    """close() alone leaves a socket blocked in accept() listening; shutdown() wakes it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _read_request(conn: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, target, headers, body)


@dataclass
class Silent:
    """Accepts TCP connections and never says a word (a stalled TLS handshake, a hung app)."""

    host: str = "127.0.0.1"
    connections: int = 0

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((self.host, 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            self._held.append(conn)

    def close(self) -> None:
        _stop_listening(self._sock)
        for conn in self._held:
            conn.close()

    def __enter__(self) -> Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
