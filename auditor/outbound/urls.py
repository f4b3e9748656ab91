"""A URL taken apart once for the outbound policy: the check and the connection share it."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from auditor.outbound.addresses import IPAddress
from auditor.outbound.errors import OutboundRefused

# WHATWG URL: a host whose last label is a number is an IPv4 address in some spelling.
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0x[0-9a-f]*)", re.IGNORECASE)
_DNS_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_PORT = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True)
class Target:
    """A URL taken apart once; the check and the connection both use this one parse."""

    scheme: str
    host: str  # ASCII: IDNA-encoded name or an address literal (no brackets)
    port: int
    path: str  # the request target: path and query, ASCII
    literal: IPAddress | None  # the host is an address, not a name

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


def parse_target(url: object) -> Target:
    """Take a URL apart for the policy, or raise OutboundRefused naming what is wrong."""
    if not isinstance(url, str) or not url:
        raise OutboundRefused(url, "not a URL")
    if any(not ch.isprintable() or ch.isspace() for ch in url):
        raise OutboundRefused(url, "control character or space in the URL")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise OutboundRefused(url, "malformed URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise OutboundRefused(url, "only http and https URLs are contacted")
    hostport = parts.netloc.rpartition("@")[2]  # userinfo is never sent
    if hostport.startswith("["):
        raw_host, bracket, rest = hostport[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise OutboundRefused(url, "malformed IPv6 host")
        raw_port = rest[1:] if rest else None
    else:
        raw_host, colon, port_text = hostport.partition(":")
        raw_port = port_text if colon else None
    port = 443 if scheme == "https" else 80
    if raw_port:  # "host:" means the default port, as in every URL parser
        if not _PORT.fullmatch(raw_port) or not 0 < int(raw_port) <= 65535:
            raise OutboundRefused(url, "port out of range 1-65535")
        port = int(raw_port)
    literal: IPAddress | None
    if hostport.startswith("["):
        if "%" in raw_host:
            raise OutboundRefused(url, "IPv6 zone identifiers are not contacted")
        try:
            literal = ipaddress.IPv6Address(raw_host)
        except ValueError:
            raise OutboundRefused(url, "malformed IPv6 host") from None
        host = literal.compressed
    else:
        host = _ascii_host(url, raw_host)
        literal = _ipv4_literal(url, host)
    path = parts.path or "/"
    if not path.startswith("/"):
        raise OutboundRefused(url, "malformed URL path")
    if parts.query:
        path = f"{path}?{parts.query}"
    path = "".join(ch if ord(ch) < 128 else quote(ch, safe="") for ch in path)
    return Target(scheme, host, port, path, literal)


def _ascii_host(url: str, raw: str) -> str:
    if not raw:
        raise OutboundRefused(url, "no host")
    try:
        host = raw.lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise OutboundRefused(url, "malformed host name") from None
    labels = host.removesuffix(".").split(".")
    if len(host) > 254 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise OutboundRefused(url, "malformed host name")
    return host


def _ipv4_literal(url: str, host: str) -> ipaddress.IPv4Address | None:
    """The address if `host` is a canonical dotted quad; None if it is a name; else refused."""
    last = host.removesuffix(".").rsplit(".", 1)[-1]
    if not _NUMERIC_LABEL.fullmatch(last):
        return None
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        address = None
    if address is None or str(address) != host:
        raise OutboundRefused(
            url,
            "IPv4 address in a non-canonical spelling (decimal, octal, hex or short forms "
            "are refused; write it as a dotted quad like 203.0.113.7)",
        )
    return address
