"""The one outbound policy (auditor.outbound): what it refuses, and how it talks to what it allows.

Refusals are proven on the wire: a listener bound on loopback must see zero
connections. Deadlines are small (about a second) so no test waits long.
"""

from __future__ import annotations

import ipaddress
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loopback import CA, Listener, Silent, answer, drip, endless

from auditor.errors import AuditorError
from auditor.outbound import (
    OutboundError,
    OutboundFailed,
    OutboundPolicy,
    OutboundRefused,
    OutboundResponse,
    address_refusal,
    parse_cidr,
    parse_target,
    shown_url,
)

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
SECRET = "s3cr3t-PASSWORD"


def resolver(table: dict[str, Sequence[str]], calls: list[str] | None = None) -> Callable:
    def resolve(host: str, port: int) -> Sequence[str]:
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise OSError("no such host")
        return table[host]

    return resolve


def no_dns(host: str, port: int) -> Sequence[str]:
    raise AssertionError(f"the resolver was asked about {host}: an address needs no lookup")


@pytest.fixture()
def hook() -> Iterator[Listener]:
    with Listener(answer(200, "<Response/>", {"Content-Type": "text/xml"})) as server:
        yield server


# --------------------------------------------------------------------------- decisions

PRIVATE_V4 = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
]
PRIVATE_V6 = [
    "::1/128",
    "fc00::/7",
    "fd00::/8",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
    "2001:db8::/32",
    "2001::/32",  # Teredo
    "100::/64",
    "64:ff9b:1::/48",
]
PUBLIC_V4 = ["1.0.0.0/8", "8.0.0.0/8", "23.0.0.0/8", "52.0.0.0/8", "104.0.0.0/8", "185.0.0.0/8"]
PUBLIC_V6 = ["2400::/12", "2600::/12", "2a00::/12", "2c00::/12", "2800::/12"]


def addresses_in(networks: list[str]) -> st.SearchStrategy[ipaddress.IPv4Address]:
    def pick(net: str) -> st.SearchStrategy:
        n = ipaddress.ip_network(net)
        ints = st.integers(int(n.network_address), int(n.broadcast_address))
        return ints.map(ipaddress.ip_address)

    return st.sampled_from(networks).flatmap(pick)


def _number(value: int, base: str, pad: int) -> str:
    if base == "oct":
        return "0" * (1 + pad) + format(value, "o")
    if base == "hex":
        return "0x" + "0" * pad + format(value, "x")
    return format(value, "d")


@st.composite
def ipv4_spellings(draw: st.DrawFn, address: ipaddress.IPv4Address) -> str:
    """inet_aton's spellings of one address: 1 to 4 parts, each decimal, octal or hex."""
    n = int(address)
    octets = list(address.packed)
    parts = draw(st.sampled_from([1, 2, 3, 4]))
    values = {
        1: [n],
        2: [octets[0], n & 0xFFFFFF],
        3: [octets[0], octets[1], n & 0xFFFF],
        4: octets,
    }[parts]
    spelled = [
        _number(v, draw(st.sampled_from(["dec", "oct", "hex"])), draw(st.integers(0, 2)))
        for v in values
    ]
    text = ".".join(spelled)
    if draw(st.booleans()):
        text = text.upper()
    if draw(st.booleans()):
        text += "."
    return text


@st.composite
def noncanonical_ipv4(draw: st.DrawFn, address: ipaddress.IPv4Address) -> str:
    text = draw(ipv4_spellings(address))
    if text == str(address):
        text = f"{address}."  # the canonical spelling with a trailing dot is not canonical
    return text


def ipv6_forms(address: ipaddress.IPv4Address) -> list[str]:
    """The IPv6 spellings that carry an IPv4 address: mapped, compatible, 6to4, NAT64."""
    hi, lo = int(address) >> 16, int(address) & 0xFFFF
    return [
        f"[::ffff:{address}]",
        f"[::FFFF:{hi:x}:{lo:x}]",
        f"[0:0:0:0:0:ffff:{address}]",
        f"[0000:0000:0000:0000:0000:ffff:{hi:04x}:{lo:04x}]",
        f"[::{address}]",
        f"[2002:{hi:x}:{lo:x}::1]",
        f"[64:ff9b::{address}]",
    ]


def urls_for(host: str) -> st.SearchStrategy[str]:
    return st.builds(
        "{}://{}{}{}{}".format,
        st.sampled_from(["http", "https", "HTTP"]),
        st.sampled_from(["", "user:pw@", f"u:{SECRET}@"]),
        st.just(host),
        st.sampled_from(["", ":80", ":8080", ":443"]),
        st.sampled_from(["", "/", "/voice?x=1", "/latest/meta-data/"]),
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), address=addresses_in(PRIVATE_V4))
def test_every_spelling_of_a_private_ipv4_address_is_refused(
    data: st.DataObject, address: ipaddress.IPv4Address
) -> None:
    host = data.draw(
        st.one_of(
            st.just(str(address)),
            ipv4_spellings(address),
            st.sampled_from(ipv6_forms(address)),
            st.just(str(address).translate(str.maketrans("0123456789.", "０１２３４５６７８９。"))),
        )
    )
    url = data.draw(urls_for(host))
    with pytest.raises(OutboundRefused) as refused:
        OutboundPolicy(resolver=no_dns).check(url)
    assert SECRET not in str(refused.value) and "pw@" not in str(refused.value)


@settings(max_examples=200)
@given(data=st.data(), address=addresses_in(PUBLIC_V4))
def test_noncanonical_spellings_are_refused_even_for_public_addresses(
    data: st.DataObject, address: ipaddress.IPv4Address
) -> None:
    url = data.draw(urls_for(data.draw(noncanonical_ipv4(address))))
    with pytest.raises(OutboundRefused, match="non-canonical"):
        OutboundPolicy(resolver=no_dns).check(url)


@settings(max_examples=200)
@given(data=st.data(), address=addresses_in(PRIVATE_V6))
def test_private_ipv6_addresses_are_refused(
    data: st.DataObject, address: ipaddress.IPv6Address
) -> None:
    spelled = data.draw(st.sampled_from([address.compressed, address.exploded]))
    url = data.draw(urls_for(f"[{spelled}]"))
    with pytest.raises(OutboundRefused):
        OutboundPolicy(resolver=no_dns).check(url)


@settings(max_examples=200)
@given(data=st.data(), address=addresses_in(PUBLIC_V4 + PUBLIC_V6))
def test_public_addresses_pass(data: st.DataObject, address: ipaddress._BaseAddress) -> None:
    host = f"[{address}]" if address.version == 6 else str(address)
    assert OutboundPolicy(resolver=no_dns).check(data.draw(urls_for(host))) == str(address)
    assert address_refusal(address) is None


@given(address=addresses_in(PUBLIC_V4))
def test_ipv6_forms_of_public_ipv4_addresses_are_judged_by_the_ipv4_address(
    address: ipaddress.IPv4Address,
) -> None:
    policy = OutboundPolicy(resolver=no_dns)
    assert policy.check(f"http://[::ffff:{address}]/") == str(address)  # connects over IPv4
    hi, lo = int(address) >> 16, int(address) & 0xFFFF
    nat64 = ipaddress.ip_address(f"64:ff9b::{address}")
    assert policy.check(f"http://[64:ff9b::{address}]/") == str(nat64)
    six_to_four = ipaddress.ip_address(f"2002:{hi:x}:{lo:x}::1")
    assert policy.check(f"http://[{six_to_four.exploded}]/") == str(six_to_four)


@settings(max_examples=200)
@given(
    public=st.lists(addresses_in(PUBLIC_V4 + PUBLIC_V6), min_size=0, max_size=3),
    private=st.lists(addresses_in(PRIVATE_V4 + PRIVATE_V6), min_size=1, max_size=2),
    data=st.data(),
)
def test_a_name_is_refused_if_any_address_it_resolves_to_is_refused(
    public: list, private: list, data: st.DataObject
) -> None:
    answers = data.draw(st.permutations([str(a) for a in public + private]))
    policy = OutboundPolicy(resolver=resolver({"hooks.example.com": answers}))
    with pytest.raises(
        OutboundRefused, match=re.escape("hooks.example.com resolves to")
    ) as refused:
        policy.check("https://hooks.example.com/voice")
    assert any(str(a) in str(refused.value) for a in private)


@given(public=st.lists(addresses_in(PUBLIC_V4 + PUBLIC_V6), min_size=1, max_size=4))
def test_a_name_resolving_to_public_addresses_only_passes(public: list) -> None:
    policy = OutboundPolicy(resolver=resolver({"hooks.example.com": [str(a) for a in public]}))
    assert policy.check("https://hooks.example.com/voice") == str(public[0])


@settings(max_examples=500)
@given(
    text=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60),
    prefix=st.sampled_from(["http://", "https://", "", "http://[", "http://u:p@", "ftp://"]),
)
def test_no_url_makes_the_policy_raise_anything_but_its_own_errors(text: str, prefix: str) -> None:
    policy = OutboundPolicy(resolver=lambda host, port: ["93.184.216.34"])
    try:
        policy.check(prefix + text)
    except OutboundError as exc:
        assert "\n" not in str(exc) and "\r" not in str(exc)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://[::1/voice", "malformed URL"),
        ("http://u:p@127.0.0.1:99999/", "port out of range"),
        ("http://h.example:0/", "port out of range"),
        ("http://h.example:+80/", "port out of range"),
        ("http://h.example/a\r\nX-Injected: 1", "control character"),
        ("http://h.example/a b", "control character or space"),
        ("http://h\u202eexample.com/", "control character"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://h.example/", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("http:///voice", "no host"),
        ("http://[fe80::1%25eth0]/", "zone identifiers"),
        ("http://[v1.x]/", "malformed"),
        ("http://ex%61mple.com/", "malformed host"),
        ("http://a..b/", "malformed host"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:169.254.169.254]/", "169.254.169.254, a link-local"),
        ("http://0.0.0.0:80/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://100.64.1.1/", "carrier-grade NAT"),
        ("http://[fd00::1]/", "unique-local"),
        ("http://[2002:a9fe:a9fe::]/", "translation of the IPv4 address 169.254.169.254"),
        ("http://[64:ff9b::10.0.0.1]/", "translation of the IPv4 address 10.0.0.1"),
        ("http://255.255.255.255/", "broadcast"),
        ("http://2130706433/", "non-canonical"),
        ("http://0177.0.0.1/", "non-canonical"),
        ("http://0x7f.1/", "non-canonical"),
        ("http://127.1/", "non-canonical"),
        ("http://127.0.0.01/", "non-canonical"),
        ("http://1.2.3.4.5/", "non-canonical"),
    ],
)
def test_refusals_name_the_reason(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefused, match=re.escape(reason)):
        OutboundPolicy(resolver=no_dns).check(url)


def test_allow_opts_a_network_in_but_never_unspecified_or_multicast() -> None:
    policy = OutboundPolicy(allow=(parse_cidr("10.20.0.0/16"), parse_cidr("fd12::/16")))
    assert policy.check("http://10.20.3.4:8080/voice") == "10.20.3.4"
    assert policy.check("http://[fd12::7]/") == "fd12::7"
    assert policy.check("http://[::ffff:10.20.0.1]/") == "10.20.0.1"
    with pytest.raises(OutboundRefused, match=re.escape("10.21.0.1, a private")):
        policy.check("http://10.21.0.1/")
    everything = OutboundPolicy(allow=(parse_cidr("0.0.0.0/0"), parse_cidr("::/0")))
    assert everything.check("http://127.0.0.1/") == "127.0.0.1"
    for url in ("http://0.0.0.0/", "http://224.0.0.1/", "http://[::]/", "http://[ff02::1]/"):
        with pytest.raises(OutboundRefused):
            everything.check(url)


def test_parse_cidr() -> None:
    assert parse_cidr("192.168.4.7") == ipaddress.ip_network("192.168.4.7/32")
    assert parse_cidr(" fd00::/8 ") == ipaddress.ip_network("fd00::/8")
    with pytest.raises(AuditorError, match=re.escape("did you mean 10.0.0.0/8")):
        parse_cidr("10.1.2.3/8")
    for bad in ("nope", "10.0.0.0/33", "010.0.0.0/8", ""):
        with pytest.raises(AuditorError, match="--probe-allow"):
            parse_cidr(bad)


def test_parse_target_keeps_host_port_and_path() -> None:
    t = parse_target("HTTPS://User:pw@Hooks.Example.COM:8443/v?x=1&y=ü#frag")
    assert (t.scheme, t.host, t.port, t.path) == (
        "https",
        "hooks.example.com",
        8443,
        "/v?x=1&y=%C3%BC",
    )
    assert t.host_header == "hooks.example.com:8443"
    assert parse_target("http://bücher.example/").host == "xn--bcher-kva.example"
    assert parse_target("http://[2a00:1450::1]/").host_header == "[2a00:1450::1]"


def test_shown_url_redacts_and_stays_one_line() -> None:
    assert shown_url(f"https://u:{SECRET}@h.example/x") == "https://***@h.example/x"
    assert SECRET not in shown_url(f"https://u:{SECRET}#x@h.example/")
    assert shown_url("http://h/\r\n") == "http://h/%0D%0A"
    assert len(shown_url("http://h/" + "a" * 5000)) == 200


def test_unknown_charsets_never_raise() -> None:
    for content_type in (
        "text/xml; charset=x-bogus",
        "text/xml; charset=zlib",
        "text/xml; charset=hex",
        "text/xml; charset=idna",
        'text/xml; charset="utf-8',
        "text/xml; charset=" + "a" * 500,
        ";;;charset",
        None,
    ):
        text = OutboundResponse(200, {}, "<Response>é</Response>".encode(), content_type).text()
        assert text.startswith("<Response>")
    latin = OutboundResponse(200, {}, "é".encode("latin-1"), "text/plain; charset=ISO-8859-1")
    assert latin.text() == "é"


# --------------------------------------------------------------------------- on the wire


REFUSED_SPELLINGS = [
    "http://127.0.0.1:{port}/voice",
    "http://localhost:{port}/voice",  # the real resolver: loopback
    "http://2130706433:{port}/voice",
    "http://0177.0.0.1:{port}/voice",
    "http://0x7f.1:{port}/voice",
    "http://127.1:{port}/voice",
    "http://0x7f000001:{port}/voice",
    "http://[::ffff:127.0.0.1]:{port}/voice",
    "http://[::1]:{port}/voice",
    "http://0.0.0.0:{port}/voice",
    "http://u:{secret}@127.0.0.1:{port}/voice",
]


@pytest.mark.parametrize("template", REFUSED_SPELLINGS)
def test_refused_targets_receive_zero_connections(hook: Listener, template: str) -> None:
    url = template.format(port=hook.port, secret=SECRET)
    for method in ("GET", "POST"):
        with pytest.raises(OutboundRefused) as refused:
            OutboundPolicy(deadline=1).send(method, url, body=b"x=1")
        assert SECRET not in str(refused.value)
    time.sleep(0.05)
    assert hook.connections == 0


def test_a_name_resolving_to_loopback_receives_nothing(hook: Listener) -> None:
    calls: list[str] = []
    policy = OutboundPolicy(resolver=resolver({"hook.example": ["127.0.0.1"]}, calls))
    with pytest.raises(
        OutboundRefused, match=re.escape("hook.example resolves to 127.0.0.1, a loopback")
    ):
        policy.send("POST", hook.url(host="hook.example"), body=b"")
    assert calls == ["hook.example"] and hook.connections == 0


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "HEAD", "GET\r\nX: y", "", "OPTIONS"])
def test_only_get_and_post_are_sent(hook: Listener, method: str) -> None:
    with pytest.raises(OutboundRefused, match="is not GET or POST"):
        OutboundPolicy(allow=LOOPBACK).send(method, hook.url())
    assert hook.connections == 0


def test_allowed_target_gets_host_header_and_no_ambient_credentials(
    hook: Listener, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ~/.netrc, no proxy variables, no URL userinfo: only the headers handed in."""
    (tmp_path / ".netrc").write_text(
        f"machine hook.example login netrc-user password {SECRET}\n"
        f"machine 127.0.0.1 login netrc-user password {SECRET}\n"
        f"default login netrc-user password {SECRET}\n"
    )
    os.chmod(tmp_path / ".netrc", 0o600)
    with Listener() as proxy:
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            monkeypatch.setenv(name, proxy.url())
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        policy = OutboundPolicy(
            allow=(parse_cidr("127.0.0.1"),),
            resolver=resolver({"hook.example": ["127.0.0.1"]}),
        )
        url = f"http://user:{SECRET}@hook.example:{hook.port}/voice?a=1"
        response = policy.send(
            "POST",
            url,
            headers={"X-Twilio-Signature": "sig", "Host": "evil.example"},
            body=b"From=%2B1",
        )
    assert response.status == 200 and response.text() == "<Response/>"
    assert response.content_type == "text/xml"
    assert proxy.connections == 0
    [request] = hook.requests
    assert request.method == "POST" and request.target == "/voice?a=1"
    assert request.headers["host"] == f"hook.example:{hook.port}"
    assert request.headers["x-twilio-signature"] == "sig"
    assert "authorization" not in request.headers and "proxy-authorization" not in request.headers
    assert request.body == b"From=%2B1"
    assert SECRET not in repr(request)


def test_redirects_are_returned_never_followed() -> None:
    with (
        Listener() as elsewhere,
        Listener(answer(302, "", {"Location": "http://127.0.0.1:1/x"})) as hook,
    ):
        hook.respond = answer(302, "", {"Location": elsewhere.url("/stolen")})
        response = OutboundPolicy(allow=LOOPBACK).send("GET", hook.url("/r"))
    assert response.status == 302 and response.headers["location"] == elsewhere.url("/stolen")
    assert hook.connections == 1 and elsewhere.connections == 0


def test_dns_rebinding_cannot_move_the_connection() -> None:
    """The resolver answers an allowed address once, then another: the checked one is used."""
    with Listener(host="127.0.0.1") as checked, Listener(host="127.0.0.2") as rebound:
        answers = iter([["127.0.0.1"], ["127.0.0.2"], ["127.0.0.2"]])
        calls: list[str] = []

        def rebinding(host: str, port: int) -> list[str]:
            calls.append(host)
            return next(answers)

        policy = OutboundPolicy(allow=(parse_cidr("127.0.0.1"),), resolver=rebinding)
        response = policy.send("GET", f"http://hook.example:{checked.port}/")
        assert response.status == 200
        # the second listener shares the port number only by chance; the address is what matters
        assert calls == ["hook.example"]
        assert checked.connections == 1 and rebound.connections == 0


def test_dns_rebinding_from_public_to_loopback_reaches_nothing(hook: Listener) -> None:
    answers = iter([["93.184.216.34"], ["127.0.0.1"], ["127.0.0.1"]])
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return next(answers)

    policy = OutboundPolicy(deadline=0.5, resolver=rebinding)
    with pytest.raises(OutboundFailed):  # 93.184.216.34 is unreachable from the test machine
        policy.send("GET", f"http://rebind.example:{hook.port}/")
    assert calls == ["rebind.example"] and hook.connections == 0


def test_checked_addresses_are_tried_in_order(hook: Listener) -> None:
    policy = OutboundPolicy(
        allow=LOOPBACK, resolver=resolver({"hook.example": ["127.0.0.3", "127.0.0.1"]})
    )
    # nothing listens on 127.0.0.3 at that port: refused, then the second checked address
    assert policy.send("GET", hook.url(host="hook.example")).status == 200


@pytest.mark.parametrize(
    "respond",
    [
        drip(b"HTTP/1.1 200 OK\r\nX-Slow: "),  # headers never end
        drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"),  # body never ends
        drip(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\nx\r\n"),
        drip(b"H"),  # the status line never ends
    ],
    ids=["headers", "body", "chunks", "status"],
)
def test_a_slow_drip_is_cut_at_the_total_deadline(respond: Callable) -> None:
    with Listener(respond) as slow:
        started = time.monotonic()
        with pytest.raises(OutboundFailed, match=r"within 1 s \(the deadline\)"):
            OutboundPolicy(allow=LOOPBACK, deadline=1.0).send("GET", slow.url())
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 2.0, elapsed


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_silent_server_and_a_stalled_tls_handshake_hit_the_deadline(scheme: str) -> None:
    with Silent() as silent:
        policy = OutboundPolicy(
            allow=LOOPBACK, deadline=0.6, resolver=resolver({"hook.example": ["127.0.0.1"]})
        )
        started = time.monotonic()
        with pytest.raises(OutboundFailed, match="deadline"):
            policy.send("GET", f"{scheme}://hook.example:{silent.port}/")
        assert time.monotonic() - started < 1.6
        assert silent.connections == 1


def test_a_per_request_deadline_overrides_the_policy() -> None:
    with Listener(drip(b"HTTP/1.1 200 OK\r\n")) as slow:
        started = time.monotonic()
        with pytest.raises(OutboundFailed, match=re.escape("0.4 s")):
            OutboundPolicy(allow=LOOPBACK, deadline=30).send("GET", slow.url(), deadline=0.4)
        assert time.monotonic() - started < 1.4


def test_answers_larger_than_the_cap_are_refused_without_reading_them() -> None:
    declared = b"HTTP/1.1 200 OK\r\nContent-Length: 50000000\r\n\r\n"
    with Listener(drip(declared, b"z" * 65536, every=0)) as big, Listener(endless()) as chunked:
        policy = OutboundPolicy(allow=LOOPBACK, max_bytes=100_000, deadline=2)
        with pytest.raises(OutboundFailed, match="larger than 100000 bytes"):
            policy.send("GET", big.url())
        started = time.monotonic()
        with pytest.raises(OutboundFailed, match="larger than 100000 bytes"):
            policy.send("GET", chunked.url())
        assert time.monotonic() - started < 1.5
    exact = OutboundPolicy(allow=LOOPBACK, max_bytes=5)
    with Listener(answer(200, "12345")) as fits:
        assert exact.send("GET", fits.url()).body == b"12345"


def test_malformed_request_headers_are_refused(hook: Listener) -> None:
    policy = OutboundPolicy(allow=LOOPBACK)
    for headers in ({"X-A": "b\r\nX-Injected: 1"}, {"X A": "b"}, {"X-A": "é"}, {"": "x"}):
        with pytest.raises(OutboundRefused, match="malformed request header"):
            policy.send("GET", hook.url(), headers=headers)
    assert hook.connections == 0


def test_connection_refused_is_one_line_without_secrets() -> None:
    with Listener() as closed:
        port = closed.port
    policy = OutboundPolicy(allow=LOOPBACK, deadline=1)
    with pytest.raises(OutboundFailed) as failed:
        policy.send("GET", f"http://u:{SECRET}@127.0.0.1:{port}/x")
    assert str(failed.value) == f"http://***@127.0.0.1:{port}/x: connection refused"


# --------------------------------------------------------------------------- TLS


def tls_policy(**kw: object) -> OutboundPolicy:
    table = {"hook.example": ["127.0.0.1"], "other.example": ["127.0.0.1"]}
    options: dict = {"allow": LOOPBACK, "resolver": resolver(table), "ca_certs": CA}
    options.update(kw)
    return OutboundPolicy(**options)


def test_tls_sends_sni_and_verifies_the_certificate_for_the_url_host() -> None:
    with Listener(answer(200, "ok"), tls=True) as server:
        response = tls_policy().send("GET", server.url("/v", host="hook.example"))
    assert response.status == 200 and response.body == b"ok"
    [request] = server.requests
    assert request.sni == "hook.example"
    assert request.headers["host"] == f"hook.example:{server.port}"


@pytest.mark.parametrize(
    ("host", "options"),
    [
        ("other.example", {}),  # the certificate names hook.example only
        ("127.0.0.1", {}),  # no IP address in the certificate
        ("hook.example", {"ca_certs": None}),  # the test CA is not in certifi's bundle
    ],
)
def test_tls_refuses_a_certificate_not_valid_for_the_host(host: str, options: dict) -> None:
    with Listener(answer(200, "ok"), tls=True) as server:
        with pytest.raises(OutboundFailed, match="TLS certificate not valid"):
            tls_policy(**options).send("GET", server.url(host=host))
        assert server.requests == []
