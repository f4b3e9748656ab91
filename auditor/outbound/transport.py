"""Resolving and sending for the outbound policy: one deadline for all of it, a byte cap.

A watchdog thread shuts the socket down at the deadline, because per-read
timeouts cannot stop a server that drips one byte just before each would expire.
"""

from __future__ import annotations

import functools
import http.client
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import certifi

from auditor.outbound.errors import OutboundFailed
from auditor.outbound.urls import Target
from auditor.outbound.watchdog import Watchdog

_READ_CHUNK = 64 * 1024
_CHARSET = re.compile(r"[A-Za-z0-9._:+-]{1,40}")

Resolver = Callable[[str, int], Sequence[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for `host` (getaddrinfo), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_within(resolver: Resolver, url: str, target: Target, end: float) -> list[str]:
    """Ask the resolver, but give up at the deadline (getaddrinfo itself has no timeout)."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["addresses"] = list(resolver(target.host, target.port))
        except Exception as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, name="outbound-resolve", daemon=True)
    thread.start()
    thread.join(max(0.0, end - time.monotonic()))
    if thread.is_alive():
        raise OutboundFailed(url, f"no DNS answer for {target.host} before the deadline")
    if "error" in box:
        raise OutboundFailed(url, f"cannot resolve {target.host}")
    addresses = box.get("addresses")
    if not isinstance(addresses, list) or not addresses:
        raise OutboundFailed(url, f"{target.host} resolves to no address")
    return [str(a) for a in addresses]


# --------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class OutboundResponse:
    """What the target answered: a 3xx is an answer too (redirects are never followed)."""

    status: int
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    content_type: str | None

    def text(self) -> str:
        """The body decoded with the declared charset; a bogus one falls back to UTF-8."""
        charset = _charset(self.content_type)
        if charset:
            try:
                return self.body.decode(charset, errors="replace")
            except (LookupError, ValueError, TypeError):
                pass  # charset=x-bogus, or a non-text codec such as charset=zlib
        return self.body.decode("utf-8", errors="replace")


def _charset(content_type: str | None) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            value = value.strip().strip("\"'")
            return value if _CHARSET.fullmatch(value) else None
    return None


@dataclass(frozen=True)
class OutboundRequest:
    """What a transport sends: everything checked, nothing left to look up."""

    url: str  # as given; shown only through shown_url
    method: str  # GET or POST
    target: Target
    addresses: tuple[str, ...]  # checked addresses: connect to these only, in order
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    deadline: float  # time.monotonic() by which everything is over
    seconds: float  # the deadline as a duration, for messages
    max_bytes: int
    ca_certs: str | None
    extra_ca: str | None = None  # PEM text trusted in addition (OutboundPolicy.extra_ca)


Transport = Callable[[OutboundRequest], OutboundResponse]


class _Deadline(Exception):
    pass


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Deadline
    return left


# OpenSSL's X509_V_ERR codes for a chain that ends at a CA the bundle does not hold.
_UNKNOWN_ISSUER = frozenset({2, 18, 19, 20})  # no issuer; self-signed (leaf, chain); local


@functools.lru_cache(maxsize=8)
def _tls_context(ca_certs: str | None, extra_ca: str | None = None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_certs or certifi.where())
    if extra_ca:
        context.load_verify_locations(cadata=extra_ca)  # in addition to the bundle
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def socket_transport(request: OutboundRequest) -> OutboundResponse:
    """Send over a socket to a checked address; every failure becomes OutboundFailed."""
    watchdog = Watchdog(request.deadline)
    sock: socket.socket | None = None
    try:
        sock = _connect(request, watchdog)
        return _exchange(request, sock)
    except _Deadline:
        raise OutboundFailed(request.url, _late(request)) from None
    except ssl.SSLCertVerificationError as exc:
        reason = exc.verify_message or "not trusted"
        hint = (
            "; an internal CA? --probe-ca FILE trusts it"
            if exc.verify_code in _UNKNOWN_ISSUER and not request.extra_ca
            else ""
        )
        raise OutboundFailed(
            request.url, f"TLS certificate not valid for {request.target.host} ({reason}){hint}"
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        # Every socket timeout is set to the time left, so a timeout is the deadline too.
        if watchdog.fired or isinstance(exc, TimeoutError) or time.monotonic() >= request.deadline:
            raise OutboundFailed(request.url, _late(request)) from None
        raise OutboundFailed(request.url, _describe(exc)) from None
    finally:
        watchdog.stop()
        if sock is not None:
            sock.close()


def _late(request: OutboundRequest) -> str:
    return f"no complete answer within {round(request.seconds, 1):g} s (the deadline)"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ssl.SSLError):
        return "TLS handshake failed"
    if isinstance(exc, http.client.HTTPException | ConnectionResetError):
        return f"malformed or interrupted HTTP answer ({type(exc).__name__})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"network error ({exc.strerror.lower()})"
    return f"network error ({type(exc).__name__})"


def _connect(request: OutboundRequest, watchdog: Watchdog) -> socket.socket:
    """A connected (and for https, verified) socket to the first checked address that answers."""
    target = request.target
    failure: OSError | None = None
    for address in request.addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        watchdog.watch(sock)
        try:
            sock.settimeout(_remaining(request.deadline))
            sock.connect((address, target.port))
        except OSError as exc:
            sock.close()
            if watchdog.fired:
                raise _Deadline from None
            failure = exc
            continue
        except BaseException:
            sock.close()
            raise
        if target.scheme != "https":
            return sock
        try:
            tls = _tls_context(request.ca_certs, request.extra_ca).wrap_socket(
                sock, server_hostname=target.host, do_handshake_on_connect=False
            )
        except BaseException:
            sock.close()
            raise
        watchdog.watch(tls)
        try:
            tls.settimeout(_remaining(request.deadline))
            tls.do_handshake()
        except BaseException:
            tls.close()
            raise
        return tls
    raise failure or OSError("no address to connect to")


def _exchange(request: OutboundRequest, sock: socket.socket) -> OutboundResponse:
    target = request.target
    conn = http.client.HTTPConnection(target.host, target.port)  # never connects itself
    conn.sock = sock
    sock.settimeout(_remaining(request.deadline))
    conn.putrequest(request.method, target.path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", target.host_header)
    for name, value in request.headers:
        conn.putheader(name, value)
    if request.body is not None or request.method == "POST":
        conn.putheader("Content-Length", str(len(request.body or b"")))
    conn.endheaders(request.body)
    response = conn.getresponse()
    headers: dict[str, str] = {}
    for name, value in response.getheaders():
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > request.max_bytes:
        raise OutboundFailed(request.url, _too_large(request))
    chunks: list[bytes] = []
    size = 0
    while True:
        sock.settimeout(_remaining(request.deadline))
        chunk = response.read1(_READ_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > request.max_bytes:
            raise OutboundFailed(request.url, _too_large(request))
        chunks.append(chunk)
    _remaining(request.deadline)  # the last byte must arrive in time too
    return OutboundResponse(
        status=response.status,
        headers=headers,
        body=b"".join(chunks),
        content_type=headers.get("content-type"),
    )


def _too_large(request: OutboundRequest) -> str:
    return f"answer larger than {request.max_bytes} bytes; not read"
