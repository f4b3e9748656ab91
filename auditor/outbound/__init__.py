"""The one outbound policy: how the auditor contacts a URL taken from customer data.

A subaccount's webhook URLs (and a `watch` notifier's targets) are written by
people the operator does not control, while the machine running the audit often
sits inside a corporate network next to metadata services, admin consoles and
databases. So every such request goes through `OutboundPolicy.send`, which

1. parses the URL itself (http/https only, no control characters or spaces, a
   port in 1–65535) and refuses anything malformed instead of raising;
2. refuses every spelling of an IPv4 address but the canonical dotted quad
   (`2130706433`, `0177.0.0.1`, `0x7f.1`, `127.1`): URL parsers, `inet_aton` and
   resolvers disagree on what those mean, which is what SSRF filters get
   bypassed with, and no real webhook is written that way;
3. resolves the host once and refuses the target if ANY address it resolves to
   is not globally routable (loopback, private, link-local with the cloud
   metadata address, CGNAT, unique-local, multicast, unspecified, reserved,
   documentation and benchmarking ranges, and the IPv4-mapped, 6to4 and NAT64
   forms of those), unless an `allow` network (`--probe-allow CIDR`) holds it;
4. connects to the address it checked, never looking the name up again (a DNS
   rebinding answer cannot slip in between), with TLS SNI, certificate
   verification (certifi's bundle, plus the operator's own CA with `--probe-ca`)
   and the Host header for the URL's own host name;
5. sends GET or POST only, follows no redirect (a 3xx is returned as it is),
   sends no credentials it was not handed explicitly (URL userinfo is dropped,
   nothing is read from ~/.netrc or proxy variables: there is no proxy);
6. ends the whole exchange at one wall-clock deadline (connect, TLS, headers,
   body: a server dripping a byte every few seconds is cut at the deadline, not
   per read) and refuses answers larger than `max_bytes`.

Failures are `OutboundRefused` (the policy said no) or `OutboundFailed` (the
network did), each one line naming the URL with its userinfo redacted.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from auditor.outbound.addresses import (
    IPAddress,
    IPNetwork,
    address_refusal,
    parse_cidr,
    refused_as,
    unmapped,
)
from auditor.outbound.errors import OutboundError, OutboundFailed, OutboundRefused, shown_url
from auditor.outbound.transport import (
    OutboundRequest,
    OutboundResponse,
    Resolver,
    Transport,
    resolve_within,
    socket_transport,
    system_resolver,
)
from auditor.outbound.urls import Target, parse_target
from auditor.outbound.watchdog import Watchdog

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_BYTES",
    "METHODS",
    "IPAddress",
    "IPNetwork",
    "OutboundError",
    "OutboundFailed",
    "OutboundPolicy",
    "OutboundRefused",
    "OutboundRequest",
    "OutboundResponse",
    "Resolver",
    "Target",
    "Transport",
    "Watchdog",
    "address_refusal",
    "parse_cidr",
    "parse_target",
    "refused_as",
    "shown_url",
    "socket_transport",
    "system_resolver",
]

METHODS = frozenset({"GET", "POST"})  # the methods Twilio itself sends to a webhook
DEFAULT_DEADLINE = 10.0
DEFAULT_MAX_BYTES = 256 * 1024
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Headers the policy writes itself: a caller cannot redirect Host or reframe the body.
_OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


@dataclass(frozen=True)
class OutboundPolicy:
    """Public addresses only (plus `allow`), GET/POST, no redirects, one deadline, a byte cap.

    `resolver` and `transport` are seams for tests and the demo (whose web apps
    answer in process): the checks before them always run.
    """

    allow: tuple[IPNetwork, ...] = ()  # --probe-allow CIDRs
    deadline: float = DEFAULT_DEADLINE  # total seconds: connect + TLS + headers + body
    max_bytes: int = DEFAULT_MAX_BYTES
    resolver: Resolver = field(default=system_resolver, repr=False, compare=False)
    transport: Transport = field(default=socket_transport, repr=False, compare=False)
    ca_certs: str | None = None  # a CA bundle file instead of certifi's (tests)
    # PEM text of CA certificates trusted in addition to certifi's (--probe-ca FILE,
    # read by auditor.outbound.cabundle.load_ca_bundle): an operator's internal CA.
    extra_ca: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", tuple(self.allow))
        if not self.deadline > 0 or self.max_bytes <= 0:
            raise ValueError("OutboundPolicy needs a positive deadline and max_bytes")

    def check(self, url: str) -> str:
        """The checked address to connect to, or OutboundRefused (OutboundFailed: no DNS)."""
        return self._addresses(url, parse_target(url), time.monotonic() + self.deadline)[0]

    def _addresses(self, url: str, target: Target, end: float) -> tuple[str, ...]:
        if target.literal is not None:
            found: list[str] = [str(target.literal)]
        else:
            found = resolve_within(self.resolver, url, target, end)
        checked: list[str] = []
        for text in found:
            try:
                address = unmapped(ipaddress.ip_address(text))
            except ValueError:
                raise OutboundRefused(
                    url, "the resolver answered something not an address"
                ) from None
            refused = refused_as(address, self.allow)
            if refused:
                name = "" if target.literal is not None else f"{target.host} resolves to "
                raise OutboundRefused(url, f"{name}{address}, {refused}")
            checked.append(str(address))
        return tuple(dict.fromkeys(checked))

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        deadline: float | None = None,
    ) -> OutboundResponse:
        """One request under the policy (see the module docstring); never follows a redirect.

        `deadline` overrides the policy's for this request (the probe passes what is
        left of its phase); `headers` are sent as given (except Host and framing).
        """
        seconds = self.deadline if deadline is None else deadline
        end = time.monotonic() + max(0.0, seconds)
        verb = method.upper() if isinstance(method, str) else ""
        if verb not in METHODS:
            raise OutboundRefused(url, f"method {shown_url(method)[:20]!r} is not GET or POST")
        target = parse_target(url)
        pairs = _checked_headers(url, headers or {})
        if seconds <= 0:
            raise OutboundFailed(url, "no time left before the deadline")
        addresses = self._addresses(url, target, end)
        request = OutboundRequest(
            url=url,
            method=verb,
            target=target,
            addresses=addresses,
            headers=pairs,
            body=body,
            deadline=end,
            seconds=seconds,
            max_bytes=self.max_bytes,
            ca_certs=self.ca_certs,
            extra_ca=self.extra_ca,
        )
        return self.transport(request)


def _checked_headers(url: str, headers: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for name, value in headers.items():
        if (
            not isinstance(name, str)
            or not isinstance(value, str)
            or not _HEADER_NAME.fullmatch(name)
            or not all(ch == "\t" or " " <= ch <= "~" for ch in value)
        ):
            raise OutboundRefused(url, f"malformed request header {shown_url(name)[:40]!r}")
        if name.lower() not in _OWN_HEADERS:
            pairs.append((name, value))
    return tuple(pairs)
