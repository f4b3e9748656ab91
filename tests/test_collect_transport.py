"""The collector's lean paths (issue #14): kept-alive http.client connections and list
records read as the JSON objects Twilio sent, against real servers through the SDK.

They exist for CPU per request; what they must keep is what the slower paths gave:
the same records, the same refusals (deadline, byte cap, TLS, origin), the same retries.
"""

from __future__ import annotations

import gzip
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from loopback import API_CA, CA, Listener, Request, answer

from auditor.collect import records
from auditor.collect.bounded import ApiRefusedError
from auditor.collect.client import make_client
from auditor.collect.credentials import Credentials
from auditor.collect.http import ReadOnlyHttpClient, RetryPolicy
from auditor.collect.walker import page_records
from auditor.emulator import EmulatorServer, generate_hierarchy

API = "https://api.twilio.com/2010-04-01/Accounts.json"
AUTH = ("AC" + "0" * 32, "token")


@pytest.fixture(scope="module")
def hierarchy() -> dict[str, Any]:
    return generate_hierarchy(2, 5, alerts_per_account=3, seed=4)


@pytest.fixture(scope="module")
def emulator(hierarchy: dict[str, Any]) -> Iterator[EmulatorServer]:
    with EmulatorServer(hierarchy) as server:
        yield server


def _client(hierarchy: dict[str, Any], emulator: EmulatorServer, index: int) -> Any:
    acc = hierarchy["accounts"][index]
    creds = Credentials(account_sid=acc["sid"], auth_token=acc["auth_token"])
    return make_client(creds, emulator.url, http_client=ReadOnlyHttpClient(emulator.url))


def test_page_records_are_the_json_objects_and_map_like_the_sdk_instances(
    hierarchy: dict[str, Any], emulator: EmulatorServer
) -> None:
    parent = _client(hierarchy, emulator, 0)
    sub = _client(hierarchy, emulator, 1)
    sub_sid = hierarchy["accounts"][1]["sid"]
    lists = [
        (parent.api.v2010.accounts(sub_sid).incoming_phone_numbers, records.phone_number),
        (parent.api.v2010.accounts(sub_sid).applications, records.application),
        (sub.studio.v2.flows, records.flow),  # revision: parsed as the SDK parses it
        (sub.monitor.v1.alerts, records.alert),  # date_created: likewise
    ]
    for resource, mapper in lists:
        raw = list(page_records(resource.page(page_size=1000)))
        typed = list(resource.page(page_size=1000))
        assert raw and all(type(rec) is dict for rec in raw)
        assert [mapper(r, sub_sid, []) for r in raw] == [mapper(t, sub_sid, []) for t in typed]


def test_a_record_that_is_not_an_object_fails_as_the_sdk_fails_on_it(
    hierarchy: dict[str, Any], emulator: EmulatorServer
) -> None:
    parent = _client(hierarchy, emulator, 0)
    page = parent.api.v2010.accounts(hierarchy["accounts"][1]["sid"]).applications.page()
    page._records = iter([["not", "an", "object"]])
    with pytest.raises(AttributeError):
        list(page_records(page))


def test_kept_alive_connections_are_reused_across_requests(
    hierarchy: dict[str, Any], emulator: EmulatorServer
) -> None:
    acc = hierarchy["accounts"][0]
    client = ReadOnlyHttpClient(emulator.url)
    sockets = set()
    for _ in range(5):
        resp = client.request("GET", API, auth=(acc["sid"], acc["auth_token"]))
        assert resp.status_code == 200
        assert client._direct is not None
        (idle,) = client._direct._idle.values()
        assert len(idle) == 1 and idle[0].sock is not None
        sockets.add(idle[0].sock.fileno())
    assert len(sockets) == 1


def _cut_short(_: Request, conn: socket.socket) -> None:
    conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"accounts": [')


def test_an_answer_cut_short_of_its_length_is_retried_never_taken() -> None:
    with Listener(_cut_short) as server:
        client = ReadOnlyHttpClient(server.url(), retry=RetryPolicy(max_attempts=2, base_delay=0))
        with pytest.raises(requests.ConnectionError, match="connection failed: IncompleteRead"):
            client.request("GET", API, auth=AUTH)
    assert len(server.requests) == 2 and client.stats.retries == 1


def test_a_compressed_answer_is_decoded_within_the_byte_cap() -> None:
    body = b'{"accounts": []}'
    headers = {"Content-Encoding": "gzip"}
    with Listener(answer(200, gzip.compress(body), headers)) as server:
        resp = ReadOnlyHttpClient(server.url()).request("GET", API, auth=AUTH)
    assert resp.text == body.decode()
    assert server.requests[0].headers["accept-encoding"] == "identity"
    bomb = gzip.compress(b"0" * (3 * 1024**2))  # 3 MiB in a few KiB
    with Listener(answer(200, bomb, headers)) as server:
        client = ReadOnlyHttpClient(server.url(), max_response_bytes=1024**2)
        with pytest.raises(ApiRefusedError, match="answer larger than 1 MiB; not read"):
            client.request("GET", API, auth=AUTH)


def test_tls_is_verified_before_anything_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", CA)  # trusted CA, but not for 127.0.0.1
    with Listener(answer(200, "{}"), tls=True) as server:
        client = ReadOnlyHttpClient(server.url(), retry=RetryPolicy(max_attempts=1))
        assert client._direct is not None
        with pytest.raises(requests.ConnectionError, match="SSLCertVerificationError"):
            client.request("GET", API, auth=AUTH)
    assert server.requests == []


def test_the_sdk_reads_over_verified_tls_through_the_direct_sender(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The positive half of the TLS test: a certificate the bundle trusts, for this host."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", API_CA)
    sid = "AC" + "1" * 32
    page = json.dumps(
        {
            "accounts": [{"sid": sid, "friendly_name": "Over TLS", "status": "active"}],
            "next_page_uri": None,
            "page": 0,
            "page_size": 50,
            "uri": "/2010-04-01/Accounts.json",
        }
    )
    headers = {"Content-Type": "application/json"}
    with Listener(answer(200, page, headers), tls=True, cert="api") as server:
        http = ReadOnlyHttpClient(server.url(), retry=RetryPolicy(max_attempts=1))
        assert http._direct is not None  # no proxy: the kept-alive http.client sender
        creds = Credentials(account_sid=sid, auth_token="token")
        sdk = make_client(creds, server.url(), http_client=http)
        accounts = sdk.api.v2010.accounts.list()
    assert [(a.sid, a.friendly_name) for a in accounts] == [(sid, "Over TLS")]
    assert [r.target.split("?")[0] for r in server.requests] == ["/api/2010-04-01/Accounts.json"]


def test_a_link_with_spaces_or_non_ascii_is_percent_encoded() -> None:
    with Listener(answer(200, "{}")) as server:
        client = ReadOnlyHttpClient(server.url())
        client.request("GET", "https://api.twilio.com/2010-04-01/A b/é.json?x=1 2", auth=AUTH)
    assert server.requests[0].target == "/api/2010-04-01/A%20b/%C3%A9.json?x=1%202"


def test_fields_the_sdk_parses_are_parsed_the_same_way_from_json(
    hierarchy: dict[str, Any], emulator: EmulatorServer
) -> None:
    from twilio.rest.monitor.v1.alert import AlertInstance
    from twilio.rest.studio.v2.flow import FlowInstance

    sub = _client(hierarchy, emulator, 1)
    flow = {"sid": "FW" + "1" * 32, "revision": 7.0, "status": "published"}
    alert = {"sid": "NO" + "2" * 32, "error_code": 13214, "date_created": "2026-11-28T1:2:3Z"}
    for rec, instance, mapper in (
        (flow, FlowInstance(sub.studio.v2, dict(flow)), records.flow),
        (alert, AlertInstance(sub.monitor.v1, dict(alert)), records.alert),
    ):
        raw_notes: list[str] = []
        sdk_notes: list[str] = []
        assert mapper(dict(rec), "AC" + "3" * 32, raw_notes) == mapper(
            instance, "AC" + "3" * 32, sdk_notes
        )
        assert raw_notes == sdk_notes


def _kept_alive_then_closed(_: Request, conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")  # keep-alive, then gone


def test_an_idle_connection_the_server_closed_is_replaced_without_a_retry() -> None:
    with Listener(_kept_alive_then_closed) as server:
        client = ReadOnlyHttpClient(server.url())
        for _ in range(3):
            assert client.request("GET", API, auth=AUTH).text == "{}"
            time.sleep(0.05)  # the server has closed its end by now
    assert server.connections == 3 and client.stats.retries == 0
