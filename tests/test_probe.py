"""The opt-in webhook probe, against a real local webhook that checks Twilio's signature."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from twilio.request_validator import RequestValidator

from auditor.collect import CollectConfig, collect
from auditor.collect.credentials import Credentials
from auditor.collect.probe import (
    PROBE_CLIENT,
    ProbeTarget,
    probe_one,
    probe_targets,
    probe_webhooks,
)
from auditor.emulator import EmulatorServer
from auditor.extract import references_from_snapshot
from auditor.model import PhoneNumber, SipDomain, Snapshot, TwimlApp
from auditor.snapshot import save_snapshot

A = "AC" + "a" * 32
B = "AC" + "b" * 32
TOKENS = {A: "f00d" * 8, B: "beef" * 8}


class Hook(BaseHTTPRequestHandler):
    """Answers TwiML naming the AccountSid it was called for, after checking the signature."""

    seen: ClassVar[list[dict[str, str]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, params: dict[str, str], url: str, sign_params: dict[str, str]) -> None:
        token = TOKENS.get(params.get("AccountSid", ""), "")
        valid = RequestValidator(token).validate(
            url, sign_params, self.headers.get("X-Twilio-Signature", "")
        )
        Hook.seen.append(params)
        path = urlsplit(self.path).path
        if not valid:
            self.send_response(403)
            self.end_headers()
            return
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.end_headers()
            return
        body = (
            "x" * 500_000
            if path == "/huge"
            else f'<Response><Dial callerId="{params["AccountSid"]}">'
            f"{params['To']}</Dial></Response>"
        )
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        params = dict(parse_qsl(self.rfile.read(length).decode()))
        self._answer(params, f"http://{self.headers['Host']}{self.path}", params)

    def do_GET(self) -> None:
        params = dict(parse_qsl(urlsplit(self.path).query))
        self._answer(params, f"http://{self.headers['Host']}{self.path}", {})


@pytest.fixture()
def hook_url() -> Iterator[str]:
    Hook.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def snapshot_with(url: str) -> Snapshot:
    return Snapshot(
        root_account_sid=A,
        collected_at="2026-11-29T00:00:00Z",
        tool_version="test",
        phone_numbers=[
            PhoneNumber("PN" + "1" * 32, A, "+15551230001", voice_url=f"{url}/ivr"),
            PhoneNumber("PN" + "2" * 32, B, "+15551230002", voice_url=f"{url}/ivr"),
            PhoneNumber(
                "PN" + "3" * 32, B, "+15551230003", voice_url=f"{url}/get", voice_method="GET"
            ),
            PhoneNumber(
                "PN" + "4" * 32,
                B,
                "+15551230004",
                voice_url="https://webhooks.twilio.com/v1/Accounts/x/Flows/FW1",
            ),
            PhoneNumber(
                "PN" + "5" * 32,
                B,
                "+15551230005",
                voice_url=f"{url}/ignored",
                voice_application_sid="AP" + "1" * 32,
            ),
        ],
        applications=[TwimlApp("AP" + "1" * 32, B, "Softphone", voice_url=f"{url}/app")],
        sip_domains=[SipDomain("SD" + "1" * 32, A, "a.sip.twilio.com", voice_url=f"{url}/sip")],
    )


def test_targets_cover_numbers_apps_and_sip_domains(hook_url: str) -> None:
    targets = probe_targets(snapshot_with(hook_url))
    keys = {(t.url.rsplit("/", 1)[1], t.account_sid, t.client_leg) for t in targets}
    assert keys == {
        ("ivr", A, False),
        ("ivr", B, False),
        ("get", B, False),
        ("app", B, False),
        ("app", B, True),
        ("sip", A, False),
    }
    app_leg = next(t for t in targets if t.url.endswith("/app") and not t.client_leg)
    assert app_leg.called == "+15551230005"  # the number that routes to the app
    assert app_leg.reached_from == ("AP" + "1" * 32,)


def test_probe_is_signed_per_account_and_reads_twiml(hook_url: str) -> None:
    results = probe_webhooks(snapshot_with(hook_url), TOKENS, concurrency=3)
    assert len(results) == 6
    assert all(r.http_status == 200 and r.error is None for r in results), results
    for r in results:
        assert r.body is not None and f'callerId="{r.served_accounts[0]}"' in r.body
    client_legs = [p for p in Hook.seen if p["From"] == PROBE_CLIENT]
    assert len(client_legs) == 1 and client_legs[0]["AccountSid"] == B


def test_only_accounts_with_tokens_are_probed(hook_url: str) -> None:
    results = probe_webhooks(snapshot_with(hook_url), {A: TOKENS[A]})
    assert {r.served_accounts[0] for r in results} == {A}
    assert len(results) == 2


def test_wrong_token_is_reported_not_raised(hook_url: str) -> None:
    target = ProbeTarget(f"{hook_url}/ivr", "POST", A, False, "+15551230001")
    result = probe_one(target, "0" * 32, session=requests.Session())
    assert result.http_status == 403
    assert "0" * 32 not in repr(result)


def test_redirects_are_not_followed_and_size_is_capped(hook_url: str) -> None:
    session = requests.Session()
    redirect = probe_one(
        ProbeTarget(f"{hook_url}/redirect", "POST", A, False, "+1"), TOKENS[A], session=session
    )
    assert redirect.http_status == 302 and len(Hook.seen) == 1
    huge = probe_one(
        ProbeTarget(f"{hook_url}/huge", "POST", A, False, "+1"),
        TOKENS[A],
        session=session,
        max_bytes=100_000,
    )
    assert huge.body is None and huge.error is not None and "larger than" in huge.error


def test_unreachable_webhook_is_an_error_without_secrets() -> None:
    target = ProbeTarget("http://user:pw@127.0.0.1:1/x", "POST", A, False, "+1")
    result = probe_one(target, TOKENS[A], session=requests.Session(), timeout=2)
    assert result.http_status is None
    assert result.error is not None and "127.0.0.1:1" in result.error
    assert "pw" not in result.error and TOKENS[A] not in result.error


def probe_scenario(url: str) -> dict[str, object]:
    def account(sid: str, owner: str | None, n: int) -> dict[str, object]:
        return {
            "sid": sid,
            "friendly_name": f"Account {n}",
            "status": "active",
            "owner_account_sid": owner,
            "auth_token": TOKENS[sid],
            "incoming_phone_numbers": [
                {
                    "sid": "PN" + str(n) * 32,
                    "phone_number": f"+1555123000{n}",
                    "voice_url": f"{url}/ivr",
                    "voice_method": "POST",
                }
            ],
        }

    return {"name": "probe", "accounts": [account(A, None, 1), account(B, A, 2)]}


def test_collect_probes_webhooks_only_when_asked(hook_url: str, tmp_path: Path) -> None:
    scenario = probe_scenario(hook_url)
    with EmulatorServer(scenario) as server:
        creds = Credentials(account_sid=A, auth_token=TOKENS[A])
        plain = collect(CollectConfig(credentials=creds, api_url=server.url))
        assert plain.webhooks == [] and Hook.seen == []
        probed = collect(CollectConfig(credentials=creds, api_url=server.url, probe_webhooks=True))
    assert sorted((w.served_accounts[0], w.http_status) for w in probed.webhooks) == [
        (A, 200),
        (B, 200),
    ]
    assert {probed.coverage[sid]["webhooks"] for sid in (A, B)} == {"ok"}
    refs, _ = references_from_snapshot(probed)
    assert {(r.executing_account_sid, r.raw_value) for r in refs if r.source.kind == "webhook"} == {
        (A, A),
        (B, B),
    }
    text = save_snapshot(probed, tmp_path).read_text()
    assert TOKENS[A] not in text and TOKENS[B] not in text
