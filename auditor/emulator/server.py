"""A threaded loopback HTTP server that answers like the Twilio REST API for a scenario.

    with EmulatorServer(generate_hierarchy(3, 10)) as server:
        client = Client(sid, token, http_client=ReadOnlyHttpClient(server.url))

One thread per connection (HTTP/1.1 keep-alive, so the SDK's pool is reused),
a deep accept queue, and every response precomputed at load: the collector
benchmark pushes thousands of requests through it. Latency is a sleep in the
handler thread; the only shared lock guards counters and is never held while
sleeping or writing.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from auditor.emulator import debugger, shapes
from auditor.emulator.auth import authenticate
from auditor.emulator.dispatch import (
    Reply,
    dispatch,
    not_found,
    product_of,
    split_host,
    target_account,
    unauthorized,
)
from auditor.emulator.index import ScenarioIndex, add_alerts, build_index
from auditor.emulator.paging import dumps
from auditor.emulator.scenario import (
    PRODUCTS,
    load_scenario,
    regional_scenario,
    scenario_regions,
    validate_scenario,
)
from auditor.errors import AuditorError

log = logging.getLogger("auditor.emulator")

_PHRASES = {status.value: status.phrase for status in HTTPStatus}

# Twilio's error code for a status we inject (fail_every_n, product_errors).
_ERROR_CODES = {400: 20001, 401: 20003, 403: 20403, 404: 20404, 429: 20429, 500: 20500, 503: 20503}
_MESSAGES = {
    400: "Bad request",
    401: "Authenticate",
    403: "Forbidden",
    404: "Not found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True)
class Faults:
    """Faults on demand; all off by default (see docs/scenario-format.md)."""

    latency_ms: float = 0
    max_in_flight_per_account: int = 0
    fail_every_n: int = 0
    fail_status: int = 500
    product_errors: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # Hostile answers, served as given for one path (any query, before authentication, as a
    # captive portal or proxy would): {"path", "status", "content_type", "body"}.
    raw_answers: Sequence[Mapping[str, Any]] = ()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Faults:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise AuditorError(
                f"scenario faults: unknown key(s) {', '.join(unknown)}; "
                f"use {', '.join(sorted(known))}"
            )
        faults = cls(**data)
        faults.check()
        return faults

    def check(self) -> None:
        if self.latency_ms < 0 or self.max_in_flight_per_account < 0 or self.fail_every_n < 0:
            raise AuditorError("faults: latency_ms, max_in_flight_per_account, fail_every_n >= 0")
        if not 400 <= self.fail_status <= 599:
            raise AuditorError(f"faults: fail_status {self.fail_status} must be a 4xx/5xx status")
        for sid, per_product in self.product_errors.items():
            for product, status in per_product.items():
                if product not in PRODUCTS or not 400 <= int(status) <= 599:
                    raise AuditorError(
                        f"faults: product_errors[{sid}][{product}]={status}; product must be one "
                        f"of {', '.join(PRODUCTS)} and status 4xx/5xx"
                    )
        for answer in self.raw_answers:
            path, status = answer.get("path"), answer.get("status", 200)
            if not isinstance(path, str) or not path.startswith("/") or "body" not in answer:
                raise AuditorError("faults: each raw_answers entry needs a /path and a body")
            if not isinstance(status, int) or not 100 <= status <= 599:
                raise AuditorError(f"faults: raw_answers status {status!r} is not an HTTP status")

    def raw_answer(self, path: str) -> Reply | None:
        """The hostile answer configured for `path`, if any."""
        for answer in self.raw_answers:
            if answer["path"] == path:
                body = answer["body"]
                raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else None
                return Reply(
                    int(answer.get("status", 200)),
                    {} if raw is not None else body,
                    raw if raw is not None else dumps(body).encode(),
                    answer.get("content_type"),
                )
        return None


@dataclass
class EmulatorStats:
    """What the server saw. `max_in_flight` counts attempts, so it exceeds the limit iff 429s."""

    total_requests: int = 0  # every request, refused methods included
    per_account_requests: dict[str, int] = field(default_factory=dict)  # by account read
    max_in_flight: dict[str, int] = field(default_factory=dict)
    refused_methods: list[str] = field(default_factory=list)  # "POST /api/…"
    too_many_requests: int = 0  # 429s sent (in-flight limit and injected)
    injected_failures: int = 0  # fail_every_n and product_errors answers
    status_counts: dict[int, int] = field(default_factory=dict)

    def copy(self) -> EmulatorStats:
        return replace(
            self,
            per_account_requests=dict(self.per_account_requests),
            max_in_flight=dict(self.max_in_flight),
            refused_methods=list(self.refused_methods),
            status_counts=dict(self.status_counts),
        )


def _error_reply(status: int) -> Reply:
    code = _ERROR_CODES.get(status, 20000 + status if status < 600 else 20500)
    return Reply(status, shapes.error(status, code, _MESSAGES.get(status, "Error")))


class EmulatorServer:
    """Serve `scenario` on http://host:port (port 0: any free port) until stopped."""

    def __init__(self, scenario: Mapping[str, Any], host: str = "127.0.0.1", port: int = 0) -> None:
        validate_scenario(scenario)
        self.scenario = scenario
        # One index per Twilio Region the scenario has data in (credentials differ by region);
        # `index` is US1's, what requests to the plain hosts (api, studio …) read.
        self.indexes: dict[str, ScenarioIndex] = {
            region: build_index(regional_scenario(scenario, region))
            for region in scenario_regions(scenario)
        }
        self.index = self.indexes["us1"]
        self._faults = Faults.from_dict(scenario.get("faults", {}))
        self._lock = threading.Lock()
        self._stats = EmulatorStats()
        self._in_flight: dict[str, int] = {}
        self._served = 0  # GETs past auth, for fail_every_n
        self._stopping = threading.Event()
        self._host = host
        self._port = port
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def from_file(cls, path: str | Path, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
        return cls(load_scenario(path), host, port)

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> EmulatorServer:
        if self._httpd is not None:
            return self
        try:
            httpd = _HTTPServer((self._host, self._port), _Handler)
        except OSError as exc:
            raise AuditorError(
                f"emulator: cannot listen on {self._host}:{self._port} ({exc.strerror}); "
                "choose another --port"
            ) from None
        httpd.emulator = self
        self._stopping.clear()
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.name = f"emulator:{self.port}"
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("emulator is not running; call start() first")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL to pass as --api-url."""
        return f"http://{self._host}:{self.port}"

    # --- faults and stats ------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the faults (`faults`) or change some fields (`latency_ms=30`, …)."""
        new = replace(faults or self._faults, **changes)
        new.check()
        with self._lock:
            if new.fail_every_n != self._faults.fail_every_n:
                self._served = 0  # count the Nth from now on
            self._faults = new
        return new

    @property
    def stats(self) -> EmulatorStats:
        with self._lock:
            return self._stats.copy()

    @property
    def refused_methods(self) -> list[str]:
        return self.stats.refused_methods

    def in_flight(self) -> dict[str, int]:
        """Requests being answered now, per account (those with none left out)."""
        with self._lock:
            return {sid: n for sid, n in self._in_flight.items() if n}

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = EmulatorStats()
            self._served = 0

    # --- events over time (watch) -----------------------------------------------------

    def add_alert(self, account_sid: str, alert: Mapping[str, Any]) -> None:
        """Serve a new Monitor alert of `account_sid` from now on (it appears to polling)."""
        if account_sid not in self.index.accounts:
            raise AuditorError(f"emulator: no account {account_sid} in the scenario")
        with self._lock:
            add_alerts(self.index, account_sid, [dict(alert)])

    def deliver_debugger_event(
        self,
        url: str,
        account_sid: str,
        alert: Mapping[str, Any],
        *,
        signed_by: str | None = "account",
        sign_url: str | None = None,
    ) -> int:
        """POST `alert` to `url` as Twilio's Debugger webhook; the HTTP status answered.

        `signed_by`: "account" (the alert's account token, as Twilio signs), "parent"
        (the parent's token), "wrong" (a token of no account), None (no signature).
        `sign_url`: the URL the signature covers when it is not `url` (behind a proxy).
        """
        entry = self.index.accounts[account_sid]
        owner = entry.owner if entry.owner and entry.owner != account_sid else None
        form = debugger.debugger_form(alert, account_sid, owner)
        tokens = {
            "account": entry.auth_token,
            "parent": self.index.accounts[self.index.parent_sid].auth_token,
            "wrong": "0" * 32,
        }
        signature = None
        if signed_by is not None:
            signature = debugger.sign(sign_url or url, form, tokens[signed_by])
        return debugger.deliver(url, form, signature)

    # --- request handling (called from handler threads) -------------------------------

    def _count_status(self, status: int) -> None:
        with self._lock:
            self._stats.status_counts[status] = self._stats.status_counts.get(status, 0) + 1
            if status == 429:
                self._stats.too_many_requests += 1

    def refuse(self, method: str, path: str) -> Reply:
        log.warning("emulator refused %s %s (405): the API is read-only here", method, path)
        with self._lock:
            self._stats.total_requests += 1
            self._stats.refused_methods.append(f"{method} {path}")
        self._count_status(405)
        return Reply(405, shapes.error(405, 20004, "Method not allowed"))

    def handle_get(self, raw_path: str, authorization: str | None) -> Reply:
        try:
            reply = self._handle_get(raw_path, authorization)
        except Exception:  # a bug here must not hang the client: answer like Twilio would
            log.exception("emulator: error answering GET %s", urlsplit(raw_path).path)
            reply = _error_reply(500)
        self._count_status(reply.status)
        return reply

    def _handle_get(self, raw_path: str, authorization: str | None) -> Reply:
        faults = self._faults
        parts = urlsplit(raw_path)
        query = parse_qsl(parts.query, keep_blank_values=True)
        with self._lock:
            self._stats.total_requests += 1
        raw = faults.raw_answer(parts.path)
        if raw is not None:
            return raw
        host = split_host(parts.path)
        if isinstance(host, Reply):
            self._sleep(faults)
            return host
        path = host.path
        index = self.indexes.get(host.region)
        # A region the scenario has no data in has no credentials either: 401, as Twilio
        # answers credentials of another region.
        who = authenticate(index, authorization) if index is not None else None
        if who is None or index is None:
            self._sleep(faults)
            return unauthorized()
        target = target_account(index, who, path)
        if target is None:
            self._sleep(faults)
            return not_found(path)
        limit = faults.max_in_flight_per_account
        nth = 0
        with self._lock:
            stats = self._stats
            stats.per_account_requests[target] = stats.per_account_requests.get(target, 0) + 1
            now = self._in_flight.get(target, 0) + 1
            self._in_flight[target] = now
            if now > stats.max_in_flight.get(target, 0):
                stats.max_in_flight[target] = now
            refused = 0 < limit < now
            if refused:
                self._in_flight[target] = now - 1
            else:
                self._served += 1
                nth = self._served
        if refused:
            self._sleep(faults)
            return _error_reply(429)
        try:
            self._sleep(faults)
            if faults.fail_every_n and nth % faults.fail_every_n == 0:
                return self._injected(faults.fail_status)
            status = faults.product_errors.get(target, {}).get(product_of(path))
            if status:
                return self._injected(int(status))
            return dispatch(index, who, path, query, host.label)
        finally:
            with self._lock:
                self._in_flight[target] -= 1

    def _injected(self, status: int) -> Reply:
        with self._lock:
            self._stats.injected_failures += 1
        return _error_reply(status)

    def _sleep(self, faults: Faults) -> None:
        """The injected latency; `stop()` cuts it short so shutdown never waits on it."""
        if faults.latency_ms > 0:
            self._stopping.wait(faults.latency_ms / 1000.0)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    emulator: EmulatorServer

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def close_connections(self) -> None:
        """Cut keep-alive connections, so a stopped emulator answers nothing at all."""
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the SDK's connection pool is reused
    disable_nagle_algorithm = True
    server_version = "TwilioEmulator/1.0"
    sys_version = ""
    timeout = 120  # close idle keep-alive connections eventually
    server: _HTTPServer

    def do_GET(self) -> None:
        self._send(self.server.emulator.handle_get(self.path, self.headers.get("Authorization")))

    def _refuse(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
        self._send(self.server.emulator.refuse(self.command, urlsplit(self.path).path))

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_TRACE = _refuse

    def _send(self, reply: Reply) -> None:
        """Status line, headers and body in one write (one segment for small answers)."""
        body = reply.encode()
        phrase = _PHRASES.get(reply.status, "")
        head = (
            f"HTTP/1.1 {reply.status} {phrase}\r\n"
            f"Server: {self.server_version}\r\n"
            f"Date: {self.date_time_string()}\r\n"
            f"Content-Type: {reply.content_type or 'application/json; charset=utf-8'}\r\n"
            f"Content-Length: {len(body)}\r\n"
            + ("Allow: GET\r\n" if reply.status == 405 else "")
            + "\r\n"
        ).encode("latin-1")
        self.log_request(reply.status, len(body))
        try:
            self.wfile.write(head if self.command == "HEAD" else head + body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("emulator: " + format, *args)
