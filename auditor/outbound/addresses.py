"""Which IP addresses the outbound policy refuses, and why: data plus one pure decision.

The table follows IANA's IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890
and its updates); Python's own `ipaddress` flags are a second opinion behind it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from auditor.errors import AuditorError
from auditor.outbound.errors import shown_url

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IANA's IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and updates): what is
# refused and why, first match wins. IPv4-mapped addresses are judged as the IPv4 address
# they are; 6to4 and NAT64 addresses also by the IPv4 address they carry.
_REFUSED: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(net), why)
    for net, why in (
        ("0.0.0.0/8", "an unspecified ('this network') address"),
        ("10.0.0.0/8", "a private address (RFC 1918)"),
        ("100.64.0.0/10", "a carrier-grade NAT address (100.64.0.0/10, RFC 6598)"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address (where cloud metadata services answer)"),
        ("172.16.0.0/12", "a private address (RFC 1918)"),
        ("192.0.0.0/24", "an IETF protocol address (192.0.0.0/24)"),
        ("192.0.2.0/24", "a documentation address (RFC 5737)"),
        ("192.88.99.0/24", "a deprecated 6to4 relay address"),
        ("192.168.0.0/16", "a private address (RFC 1918)"),
        ("198.18.0.0/15", "a benchmarking address (RFC 2544)"),
        ("198.51.100.0/24", "a documentation address (RFC 5737)"),
        ("203.0.113.0/24", "a documentation address (RFC 5737)"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address (240.0.0.0/4)"),
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/96", "an IPv4-compatible address (deprecated)"),
        ("64:ff9b:1::/48", "a local-use NAT64 address (RFC 8215)"),
        ("100::/64", "a discard-only address (RFC 6666)"),
        ("2001::/23", "an IETF protocol address (Teredo, benchmarking, ORCHID: 2001::/23)"),
        ("2001:db8::/32", "a documentation address (RFC 3849)"),
        ("3fff::/20", "a documentation address (RFC 9637)"),
        ("5f00::/16", "an SRv6 segment identifier (RFC 9602)"),
        ("fc00::/7", "a unique-local address (fc00::/7)"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address (deprecated)"),
        ("ff00::/8", "a multicast address"),
    )
)
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # DNS64 synthesises these for IPv4-only hosts
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")


def parse_cidr(text: str, option: str = "--probe-allow") -> IPNetwork:
    """A network an operator opts in (`10.20.0.0/16`, `fd12::/48`, or one address)."""
    value = text.strip()
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise AuditorError(
            f"{option} {shown_url(text)}: not a network; write it in CIDR notation, "
            "e.g. 10.20.0.0/16, 192.168.4.7 or fd12:3456::/48"
        ) from None
    raise AuditorError(f"{option} {value}: host bits are set; did you mean {loose}?")


def address_refusal(address: IPAddress, allow: Sequence[IPNetwork] = ()) -> str | None:
    """Why `address` may not be contacted ("10.0.0.1 is a private address …"), or None."""
    phrase = refused_as(address, allow)
    return None if phrase is None else f"{unmapped(address)} is {phrase}"


def refused_as(address: IPAddress, allow: Sequence[IPNetwork] = ()) -> str | None:
    """What kind of refused address this is ("a loopback address"), or None. Pure: no I/O."""
    ip = unmapped(address)
    if ip.is_unspecified or ip.is_multicast or ip == _BROADCAST:
        # Not a destination a webhook server can be, whatever --probe-allow says
        # (0.0.0.0 and :: reach this very machine on Linux).
        return _special(ip) or "not a unicast address"
    if any(ip.version == net.version and ip in net for net in allow):
        return None
    why = _special(ip)
    if why:
        return why
    inner = _embedded_ipv4(ip)
    if inner is not None:
        inner_why = refused_as(inner, allow)
        if inner_why:
            return f"a translation of the IPv4 address {inner}, {inner_why}"
    return None


def unmapped(address: IPAddress) -> IPAddress:
    """`::ffff:a.b.c.d` is the IPv4 address a.b.c.d: judged and connected to as such."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _special(ip: IPAddress) -> str | None:
    for net, why in _REFUSED:
        if ip.version == net.version and ip in net:
            return why
    if isinstance(ip, ipaddress.IPv4Address):
        return None if ip.is_global else "not a globally routable address"
    if ip in _NAT64:
        return None  # judged by the IPv4 address it carries
    if ip not in _GLOBAL_UNICAST_V6:
        return "outside the global unicast range 2000::/3"
    if ip.is_private or ip.is_reserved or ip.is_link_local or ip.is_site_local:
        return "not a globally routable address"  # Python's own registry, as a second opinion
    return None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None
