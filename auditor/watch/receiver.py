"""`POST /debugger` and `GET /healthz`: a Starlette app served by uvicorn.

Why uvicorn + Starlette: both are maintained and widely deployed; uvicorn binds a
socket we open ourselves (so a bad `--listen` is one clear line before anything
starts), runs in a thread and stops on a flag within its graceful timeout, which
is what a 2-second SIGTERM budget needs; Starlette lets the handler read the body
as a stream and stop at the size cap. No form parser dependency: the body is
form-encoded ASCII, read with urllib's parser under a field-count cap.

The handler only checks and queues: size (413), signature (403, counted, never
notifies), shape (400), queue room (503); diagnosis happens off the request path.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from auditor.errors import AuditorError
from auditor.watch.events import EventError, WatchEvent, event_from_debugger

log = logging.getLogger("auditor.watch")

MAX_BODY_BYTES = 256 * 1024  # a Debugger event carries one TwiML body (Twilio caps TwiML at 64 KB)
MAX_FORM_FIELDS = 64
DEBUGGER_PATH = "/debugger"


class TokenBook:
    """Auth tokens by account, held in memory only (never in repr, logs or files)."""

    def __init__(self, root_sid: str, tokens: Mapping[str, str]) -> None:
        self.root_sid = root_sid
        self._tokens = dict(tokens)

    def __repr__(self) -> str:
        return f"TokenBook({len(self._tokens)} accounts)"

    def candidates(self, account_sid: str, parent_sid: str | None) -> list[str]:
        """The event account's token, then its parent's, then the root's (Twilio does not
        document which one signs a subaccount's event for a parent's webhook)."""
        out: list[str] = []
        for sid in (account_sid, parent_sid, self.root_sid):
            token = self._tokens.get(sid or "")
            if token and token not in out:
                out.append(token)
        return out


def signed(url: str, form: Mapping[str, str], signature: str, book: TokenBook) -> bool:
    """Twilio's X-Twilio-Signature over `url` + the form, with any candidate token."""
    account = form.get("AccountSid", "")
    parent = form.get("ParentAccountSid") or None
    return any(
        RequestValidator(token).validate(url, dict(form), signature)
        for token in book.candidates(account, parent)
    )


def parse_form(body: bytes) -> dict[str, str]:
    """The form fields; ValueError for non-UTF-8, too many fields or a repeated field."""
    text = body.decode("utf-8")
    pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            raise ValueError(f"field {key[:40]!r} given twice")
        form[key] = value
    return form


class Receiver:
    """The request handlers; `submit` queues an event (False when the queue is full)."""

    def __init__(
        self,
        book: TokenBook,
        submit: Callable[[WatchEvent], bool],
        count: Callable[[str], None],
        health: Callable[[], dict[str, Any]],
        public_url: str | None = None,
    ) -> None:
        self.book = book
        self.submit = submit
        self.count = count
        self.health = health
        self.public_url = public_url

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(DEBUGGER_PATH, self.debugger, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
            ]
        )

    async def healthz(self, request: Request) -> Response:
        return JSONResponse(self.health())

    async def debugger(self, request: Request) -> Response:
        self.count("requests")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return self._refuse(413, "too_large", "body over the size cap")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return self._refuse(413, "too_large", "body over the size cap")
        signature = request.headers.get("x-twilio-signature", "")
        if not signature:
            return self._refuse(403, "unsigned", "no X-Twilio-Signature")
        try:
            form = parse_form(bytes(body))
        except ValueError as exc:
            return self._refuse(400, "malformed", f"not a form: {str(exc)[:80]}")
        url = self.public_url or str(request.url)
        if not signed(url, form, signature, self.book):
            return self._refuse(403, "bad_signature", f"signature does not match {url}")
        try:
            event = event_from_debugger(form)
        except EventError as exc:
            return self._refuse(400, "malformed", str(exc))
        if not self.submit(event):
            return self._refuse(503, "queue_full", "diagnosis queue full")
        self.count("accepted")
        return PlainTextResponse("", status_code=200)

    def _refuse(self, status: int, what: str, why: str) -> Response:
        self.count(what)
        log.warning("POST %s refused (%d): %s", DEBUGGER_PATH, status, why)
        return PlainTextResponse(f"{status}\n", status_code=status)


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[::1]:PORT` or `PORT` (loopback) → (host, port); AuditorError otherwise."""
    value = text.strip()
    host, port = "127.0.0.1", value
    if value.startswith("["):
        close = value.find("]")
        host, port = value[1:close], value[close + 2 :] if close > 0 else ""
    elif ":" in value:
        host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise AuditorError(
            f"--listen {text!r}: give HOST:PORT, e.g. 127.0.0.1:8080 or 0.0.0.0:8080"
        )
    return host, int(port)


class HttpServer:
    """uvicorn on a socket bound here; `start()` returns once it serves, `stop()` within ~1 s."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(128)
        except OSError as exc:
            sock.close()
            raise AuditorError(
                f"--listen {host}:{port}: cannot listen there ({exc.strerror}); "
                "choose another address or port"
            ) from None
        self.sock = sock
        self.host = host
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            app,
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            proxy_headers=False,  # the signature is checked against --public-url, not headers
            server_header=False,
            loop="asyncio",
            http="h11",
            ws="none",
            limit_concurrency=256,
            timeout_keep_alive=5,
            timeout_graceful_shutdown=1,  # joined for at most what is left of the stop budget
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="watch-http", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self.sock])
        except (OSError, asyncio.CancelledError) as exc:  # pragma: no cover - logged, not raised
            log.error("HTTP server stopped: %s", type(exc).__name__)

    def start(self, timeout: float = 10.0) -> HttpServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started and self._thread.is_alive():
            if time.monotonic() > deadline:
                raise AuditorError("the HTTP server did not start; see the log above")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 1.5) -> None:
        self.server.should_exit = True
        self._thread.join(timeout)
        self.sock.close()
