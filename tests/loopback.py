"""Small loopback servers for the network tests: they record every connection and request.

A refusal test binds one of these and asserts it saw nothing; a deadline test
makes it drip; a TLS test makes it present tests/fixtures/tls/hook.pem.
`TamperProxy` sits between the collector and the emulator and rewrites chosen
answers (tests/test_api_client.py, benchmarks/hostile_api_bench.py).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

TLS_DIR = Path(__file__).parent / "fixtures" / "tls"
CA = str(TLS_DIR / "ca.pem")
API_CA = str(TLS_DIR / "api-ca.pem")  # signed api.pem, a certificate for 127.0.0.1

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
    cert: str = "hook"  # tests/fixtures/tls/<cert>.pem: "hook" (hook.example) or "api" (127.0.0.1)
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
            cert = TLS_DIR / self.cert
            self._context.load_cert_chain(cert.with_suffix(".pem"), cert.with_suffix(".key"))
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


# ------------------------------------------------------------- a hostile API in the middle

Tamper = Callable[["TamperHandler", str], bool]  # True: it answered the request itself


class TamperProxy:
    """Forwards every GET to the emulator unless `tamper` answers it first."""

    def __init__(self, upstream: str, tamper: Tamper) -> None:
        self.upstream = urlsplit(upstream)
        self.tamper = tamper
        self.paths: list[str] = []
        self.lock = threading.Lock()
        handler = type("Handler", (TamperHandler,), {"proxy": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class TamperHandler(BaseHTTPRequestHandler):
    proxy: TamperProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with self.proxy.lock:
            self.proxy.paths.append(self.path)
        try:
            if not self.proxy.tamper(self, self.path):
                status, body = self.fetch()
                self.reply(status, body)
        except OSError:
            pass  # the client hung up on a refused answer: what the tests want

    def account(self) -> str:
        user = base64.b64decode(self.headers["Authorization"].split()[1]).decode()
        return user.split(":")[0]

    def fetch(self, path: str | None = None) -> tuple[int, bytes]:
        upstream = self.proxy.upstream
        conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=10)
        conn.request(
            "GET", path or self.path, headers={"Authorization": self.headers["Authorization"]}
        )
        response = conn.getresponse()
        return response.status, response.read()

    def drip(self, count: int, every: float, length: int = 100_000) -> None:
        """Promise `length` bytes, then send one every `every` seconds, `count` times."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        for _ in range(count):
            self.wfile.write(b" ")
            self.wfile.flush()
            time.sleep(every)

    def huge(self, size: int, declare: bool) -> None:
        """`size` bytes of a page that starts like JSON, with Content-Length or chunked."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if declare:
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b'{"incoming_phone_numbers": [' + b" " * (1024**2 - 29)
        for _ in range(size // len(chunk)):
            self.wfile.write(chunk if declare else b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if not declare:
            self.wfile.write(b"0\r\n\r\n")

    def reply(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
