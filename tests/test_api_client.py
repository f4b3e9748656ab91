"""The API client against a hostile or intercepted API (`--api-url http://…`).

A tampering proxy sits between the collector and the emulator and rewrites
chosen answers: next-page links to a foreign host, links that never end,
answers of many megabytes, answers that drip. The collection must finish with a
snapshot, the damage confined to one coverage line per list, and no credential
may reach anything but the API's own origin.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from loopback import Listener, Tamper, TamperHandler, TamperProxy

from auditor.cli import main
from auditor.collect import CollectConfig, collect
from auditor.collect.bounded import ApiRefusedError
from auditor.collect.credentials import Credentials
from auditor.collect.http import ReadOnlyHttpClient, RetryPolicy
from auditor.emulator import EmulatorServer, generate_hierarchy
from auditor.errors import AuditorError
from auditor.model import Snapshot
from auditor.snapshot import save_snapshot

SECRET = "api-url-PASSWORD-42"


@pytest.fixture(scope="module")
def hierarchy() -> dict[str, Any]:
    return generate_hierarchy(2, 3, seed=9)


@pytest.fixture
def emulator(hierarchy: dict[str, Any]) -> Iterator[EmulatorServer]:
    with EmulatorServer(hierarchy) as server:
        yield server


def parent(hierarchy: dict[str, Any]) -> Credentials:
    p = hierarchy["accounts"][0]
    return Credentials(account_sid=p["sid"], auth_token=p["auth_token"])


def collect_through(
    tamper: Tamper, hierarchy: dict[str, Any], emulator: EmulatorServer, **config: Any
) -> tuple[Snapshot, float, str]:
    """Collect the hierarchy through a tampering proxy: (snapshot, seconds, proxy URL)."""
    proxy = TamperProxy(emulator.url, tamper)
    try:
        started = time.monotonic()
        snapshot = collect(
            CollectConfig(credentials=parent(hierarchy), api_url=proxy.url, **config)
        )
        return snapshot, time.monotonic() - started, proxy.url
    finally:
        proxy.close()


def tokens(hierarchy: dict[str, Any]) -> list[str]:
    return [a["auth_token"] for a in hierarchy["accounts"]]


@pytest.fixture(params=["urllib3", "requests"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both transports: urllib3 alone, and requests (used when a proxy is configured)."""
    if request.param == "requests":
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # bypassed for loopback below
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return str(request.param)


def test_a_next_page_link_to_a_foreign_host_is_never_followed(
    hierarchy: dict[str, Any], emulator: EmulatorServer, tmp_path: Path, transport: str
) -> None:
    with Listener() as foreign:

        def tamper(handler: TamperHandler, path: str) -> bool:
            if not path.startswith("/studio/v2/Flows?"):
                return False
            status, body = handler.fetch()
            page = json.loads(body)
            page["meta"]["next_page_url"] = foreign.url("/v2/Flows?Page=1&PageToken=steal")
            handler.reply(status, json.dumps(page).encode())
            return True

        snapshot, _, proxy_url = collect_through(tamper, hierarchy, emulator)
        time.sleep(0.1)
        assert foreign.connections == 0  # no SID, no token, not even a connection
    for account in hierarchy["accounts"]:
        line = snapshot.coverage[account["sid"]]["flows"]
        assert line == (
            f"error: refused to follow a link to {foreign.url('/v2/Flows?Page=1&PageToken=steal')}"
            f": requests (and credentials) go to {proxy_url} only"
        )
        assert snapshot.coverage[account["sid"]]["phone_numbers"] == "ok"
    text = save_snapshot(snapshot, tmp_path).read_text()
    assert not any(token in text for token in tokens(hierarchy))


def test_without_api_url_credentials_go_to_twilio_over_https_only() -> None:
    client = ReadOnlyHttpClient(retry=RetryPolicy(max_attempts=1))
    for url in (
        "http://api.twilio.com/2010-04-01/Accounts.json",  # plain text
        "https://api.twilio.com.evil.example/2010-04-01/Accounts.json",
        "https://evil.example/?u=https://api.twilio.com/",
        "https://127.0.0.1/2010-04-01/Accounts.json",
    ):
        with pytest.raises(ApiRefusedError, match=re.escape("go to https://*.twilio.com only")):
            client.request("GET", url, auth=("AC" + "0" * 32, "token"))
    assert client.stats.requests == 0


def test_a_next_page_chain_that_never_ends_stops_at_the_page_cap(
    hierarchy: dict[str, Any], emulator: EmulatorServer, transport: str
) -> None:
    pages: dict[str, int] = {}

    def tamper(handler: TamperHandler, path: str) -> bool:
        if not path.startswith("/monitor/v1/Alerts?"):
            return False
        account = handler.account()
        pages[account] = pages.get(account, 0) + 1
        body = {
            "alerts": [],
            "meta": {
                "page": pages[account],
                "page_size": 1000,
                "key": "alerts",
                "next_page_url": f"https://monitor.twilio.com/v1/Alerts?PageSize=1000"
                f"&Page={pages[account]}&PageToken=PA{pages[account]}",
            },
        }
        handler.reply(200, json.dumps(body).encode())
        return True

    snapshot, elapsed, _ = collect_through(tamper, hierarchy, emulator, max_pages=7)
    assert set(pages.values()) == {7}
    for account in hierarchy["accounts"]:
        assert snapshot.coverage[account["sid"]]["alerts"] == (
            "error: more than 7 pages in one list; stopped there "
            "(a next-page link that never ends?)"
        )
        assert snapshot.coverage[account["sid"]]["flows"] == "ok"
    assert elapsed < 10


def test_a_next_page_link_back_to_an_earlier_page_ends_the_list_with_an_error(
    hierarchy: dict[str, Any], emulator: EmulatorServer
) -> None:
    def tamper(handler: TamperHandler, path: str) -> bool:
        if not path.startswith("/serverless/v1/Services?"):
            return False
        status, body = handler.fetch()
        page = json.loads(body)
        page["meta"]["next_page_url"] = "https://serverless.twilio.com/v1/Services?Page=1"
        handler.reply(status, json.dumps(page).encode())
        return True

    snapshot, _, _ = collect_through(tamper, hierarchy, emulator)
    sub = hierarchy["accounts"][1]["sid"]
    assert snapshot.coverage[sub]["functions"] == (
        "error: a next-page link repeats an earlier page; the list was cut there"
    )


def test_two_huge_pages_are_refused_without_reading_them(
    hierarchy: dict[str, Any], emulator: EmulatorServer, transport: str
) -> None:
    """50 MB answers, one declared, one chunked: each list gets a coverage error."""
    subs = [a["sid"] for a in hierarchy["accounts"][1:3]]
    declared = {subs[0]: True, subs[1]: False}

    def tamper(handler: TamperHandler, path: str) -> bool:
        for sid, declare in declared.items():
            if path.startswith(f"/api/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json"):
                handler.huge(50 * 1024**2, declare)
                return True
        return False

    snapshot, _, _ = collect_through(tamper, hierarchy, emulator, max_response_bytes=4 * 1024**2)
    assert snapshot.coverage[subs[0]]["phone_numbers"] == (
        "error: answer larger than 4 MiB (50 MiB); not read"
    )
    assert snapshot.coverage[subs[1]]["phone_numbers"] == (
        "error: answer larger than 4 MiB; not read"
    )
    assert snapshot.coverage[subs[0]]["verified_caller_ids"] == "ok"
    assert {n.account_sid for n in snapshot.phone_numbers} == {hierarchy["accounts"][0]["sid"]}


def test_a_dripping_answer_is_cut_at_the_request_deadline(
    emulator: EmulatorServer, hierarchy: dict[str, Any], transport: str
) -> None:
    def tamper(handler: TamperHandler, path: str) -> bool:
        handler.drip(100, 0.2)
        return True

    proxy = TamperProxy(emulator.url, tamper)
    client = ReadOnlyHttpClient(proxy.url, timeout=1.0, retry=RetryPolicy(max_attempts=1))
    try:
        started = time.monotonic()
        with pytest.raises(Exception, match="no complete answer within 1 s"):
            client.request(
                "GET", "https://api.twilio.com/2010-04-01/Accounts.json", auth=("AC", "x")
            )
        elapsed = time.monotonic() - started
    finally:
        proxy.close()
    assert 0.9 <= elapsed < 2.0, elapsed


def test_a_drip_is_retried_and_the_collection_completes(
    emulator: EmulatorServer, hierarchy: dict[str, Any]
) -> None:
    dripped: list[str] = []

    def tamper(handler: TamperHandler, path: str) -> bool:
        if "/IncomingPhoneNumbers.json" not in path or dripped:
            return False
        dripped.append(path)
        handler.drip(50, 0.1)
        return True

    snapshot, elapsed, _ = collect_through(tamper, hierarchy, emulator, timeout=0.8)
    assert len(dripped) == 1 and elapsed < 5
    assert all(cov["phone_numbers"] == "ok" for cov in snapshot.coverage.values())
    assert len(snapshot.phone_numbers) == 3 * 3


def test_a_password_in_api_url_is_never_stored_or_printed(
    hierarchy: dict[str, Any],
    emulator: EmulatorServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    p = hierarchy["accounts"][0]
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", p["sid"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", p["auth_token"])
    monkeypatch.delenv("TWILIO_API_KEY", raising=False)
    url = emulator.url.replace("http://", f"http://audit:{SECRET}@")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as done:
        main(["collect", "--api-url", url, "--out", str(out), "--verbose"])
    printed = capsys.readouterr()
    assert done.value.code == 0, printed.err
    snapshot = json.loads((out / "snapshot.json").read_text())
    assert snapshot["api_url"] == emulator.url.replace("http://", "http://***@")
    assert SECRET not in (out / "snapshot.json").read_text()
    assert SECRET not in printed.out + printed.err
    assert "http: GET http://***@127.0.0.1" in printed.err  # --verbose shows it redacted
    with pytest.raises(SystemExit) as done:
        main(["collect", "--api-url", f"http://u:{SECRET}@[::1/x", "--out", str(out)])
    err = capsys.readouterr().err
    assert done.value.code == 2 and "--api-url http://***@[::1/x: not an http(s) URL" in err
    assert SECRET not in err and "Traceback" not in err


def test_a_malformed_api_url_is_an_input_error() -> None:
    for bad in ("ftp://x", "http://", "http://h:99999", "http://[::1"):
        with pytest.raises(AuditorError, match="--api-url"):
            ReadOnlyHttpClient(bad)
