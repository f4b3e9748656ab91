"""The opt-in webhook probe, against real local webhooks that check Twilio's signature.

Loopback is not public, so every test that wants an answer opts it in with the
same allow-list `--probe-allow` fills; the tests without one prove that nothing
reaches the loopback listeners.
"""

from __future__ import annotations

import ipaddress
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import pytest
from loopback import Listener, answer, drip
from twilio.request_validator import RequestValidator

from auditor.cli import main
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
from auditor.outbound import OutboundPolicy, parse_cidr
from auditor.snapshot import save_snapshot

A = "AC" + "a" * 32
B = "AC" + "b" * 32
TOKENS = {A: "f00d" * 8, B: "beef" * 8}
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
ALLOWED = OutboundPolicy(allow=LOOPBACK, deadline=2)
SECRET = "hunter2-URL-PASSWORD"


class Hook(BaseHTTPRequestHandler):
    """Answers TwiML naming the AccountSid it was called for, after checking the signature."""

    seen: ClassVar[list[dict[str, str]]] = []
    methods: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def _answer(self, params: dict[str, str], url: str, sign_params: dict[str, str]) -> None:
        token = TOKENS.get(params.get("AccountSid", ""), "")
        valid = RequestValidator(token).validate(
            url, sign_params, self.headers.get("X-Twilio-Signature", "")
        )
        Hook.seen.append(params)
        Hook.methods.append(self.command)
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
        self.send_header(
            "Content-Type", "text/xml; charset=x-bogus" if path == "/bogus" else "text/xml"
        )
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
    Hook.methods = []
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
    results = probe_webhooks(snapshot_with(hook_url), TOKENS, policy=ALLOWED, concurrency=3)
    assert len(results) == 6
    assert all(r.http_status == 200 and r.error is None for r in results), results
    for r in results:
        assert r.body is not None and f'callerId="{r.served_accounts[0]}"' in r.body
    client_legs = [p for p in Hook.seen if p["From"] == PROBE_CLIENT]
    assert len(client_legs) == 1 and client_legs[0]["AccountSid"] == B
    assert sorted(Hook.methods) == ["GET"] + ["POST"] * 5


def test_only_accounts_with_tokens_are_probed(hook_url: str) -> None:
    results = probe_webhooks(snapshot_with(hook_url), {A: TOKENS[A]}, policy=ALLOWED)
    assert {r.served_accounts[0] for r in results} == {A}
    assert len(results) == 2


def test_without_an_allow_list_loopback_webhooks_receive_nothing(hook_url: str) -> None:
    results = probe_webhooks(snapshot_with(hook_url), TOKENS)
    assert len(results) == 6 and Hook.seen == []
    assert all(r.http_status is None and r.body is None for r in results)
    assert {r.error for r in results} == {"refused: 127.0.0.1, a loopback address"}


def test_wrong_token_is_reported_not_raised(hook_url: str) -> None:
    target = ProbeTarget(f"{hook_url}/ivr", "POST", A, False, "+15551230001")
    result = probe_one(target, "0" * 32, policy=ALLOWED)
    assert result.http_status == 403
    assert "0" * 32 not in repr(result)


def test_redirects_are_not_followed_and_size_is_capped(hook_url: str) -> None:
    redirect = probe_one(
        ProbeTarget(f"{hook_url}/redirect", "POST", A, False, "+1"), TOKENS[A], policy=ALLOWED
    )
    assert redirect.http_status == 302 and len(Hook.seen) == 1
    huge = probe_one(
        ProbeTarget(f"{hook_url}/huge", "POST", A, False, "+1"),
        TOKENS[A],
        policy=OutboundPolicy(allow=LOOPBACK, max_bytes=100_000),
    )
    assert huge.body is None and huge.error is not None and "larger than" in huge.error


def test_an_unknown_charset_is_read_not_raised(hook_url: str) -> None:
    target = ProbeTarget(f"{hook_url}/bogus", "POST", A, False, "+1")
    result = probe_one(target, TOKENS[A], policy=ALLOWED)
    assert result.http_status == 200 and result.error is None
    assert result.body is not None and "<Dial" in result.body
    assert result.content_type == "text/xml; charset=x-bogus"


@pytest.mark.parametrize("method", ["PUT", "DELETE", "GET\r\nX-Injected: 1", "post\n"])
def test_voice_methods_other_than_get_and_post_are_refused(hook_url: str, method: str) -> None:
    snapshot = Snapshot(
        root_account_sid=A,
        collected_at="2026-11-29T00:00:00Z",
        tool_version="test",
        phone_numbers=[
            PhoneNumber("PN" + "1" * 32, A, "+1555", voice_url=f"{hook_url}/x", voice_method=method)
        ],
    )
    [result] = probe_webhooks(snapshot, TOKENS, policy=ALLOWED)
    assert result.error is not None and "is not GET or POST" in result.error
    assert "\r" not in result.error and "\n" not in result.error and "\n" not in result.method
    assert Hook.seen == []


def test_unreachable_webhook_is_an_error_without_secrets() -> None:
    with Listener() as closed:
        port = closed.port
    target = ProbeTarget(f"http://user:pw@127.0.0.1:{port}/x", "POST", A, False, "+1")
    result = probe_one(target, TOKENS[A], policy=ALLOWED)
    assert result.http_status is None and result.error == "connection refused"
    assert TOKENS[A] not in repr(result)


def test_the_phase_deadline_cuts_slow_webhooks_and_skips_the_rest() -> None:
    with Listener(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", every=0.2)) as slow:
        snapshot = Snapshot(
            root_account_sid=A,
            collected_at="2026-11-29T00:00:00Z",
            tool_version="test",
            phone_numbers=[
                PhoneNumber(f"PN{i:032d}", A, f"+1555000{i:04d}", voice_url=slow.url(f"/{i}"))
                for i in range(6)
            ],
        )
        started = time.monotonic()
        results = probe_webhooks(
            snapshot,
            TOKENS,
            policy=OutboundPolicy(allow=LOOPBACK, deadline=30),
            concurrency=2,
            phase_deadline=1.0,
        )
        elapsed = time.monotonic() - started
    assert elapsed < 2.0, elapsed
    errors = sorted(r.error or "" for r in results)
    assert errors[:2] == ["no complete answer within 1 s (the deadline)"] * 2, errors
    assert errors[2:] == ["not probed: the probe phase deadline (1 s) passed first"] * 4
    assert slow.connections == 2


# --------------------------------------------------------------------------- collect


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
        probed = collect(
            CollectConfig(
                credentials=creds,
                api_url=server.url,
                probe_webhooks=True,
                probe_allow=(parse_cidr("127.0.0.1"),),
            )
        )
    assert sorted((w.served_accounts[0], w.http_status) for w in probed.webhooks) == [
        (A, 200),
        (B, 200),
    ]
    assert {probed.coverage[sid]["webhooks"] for sid in (A, B)} == {"ok"}
    assert not any(note.startswith("Webhook probe") for note in probed.notes)
    refs, _ = references_from_snapshot(probed)
    assert {(r.executing_account_sid, r.raw_value) for r in refs if r.source.kind == "webhook"} == {
        (A, A),
        (B, B),
    }
    text = save_snapshot(probed, tmp_path).read_text()
    assert TOKENS[A] not in text and TOKENS[B] not in text


def hostile_scenario(port: int, malformed: bool = True) -> dict[str, Any]:
    """Voice URLs an attacker would write into a subaccount, each aimed at the operator."""
    urls = [
        f"http://127.0.0.1:{port}/voice",
        f"http://localhost:{port}/voice",
        f"http://2130706433:{port}/voice",
        f"http://0x7f.1:{port}/voice",
        f"http://[::1]:{port}/voice",
        f"http://[::ffff:127.0.0.1]:{port}/voice",
        f"http://0.0.0.0:{port}/voice",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://10.0.0.7/voice",
        "http://100.64.0.1/voice",
        "http://[fd00::1]/voice",
        f"https://ops:{SECRET}@127.0.0.1:{port}/voice",
    ]
    if malformed:  # what graph.normalize_url cannot take yet (issue 9, the local half)
        urls += ["http://[::1/voice", f"http://u:{SECRET}@127.0.0.1:99999/"]
    numbers = [
        {
            "sid": f"PN{i:032x}",
            "phone_number": f"+1555200{i:04d}",
            "voice_url": url,
            "voice_method": "POST",
        }
        for i, url in enumerate(urls)
    ]
    numbers += [
        {
            "sid": f"PN{100 + i:032x}",
            "phone_number": f"+1555300{i:04d}",
            "voice_url": f"http://127.0.0.1:{port}/m{i}",
            "voice_method": method,
        }
        for i, method in enumerate(["PUT", "GET\r\nX-Injected: 1"])
    ]
    return {
        "name": "hostile-webhooks",
        "accounts": [
            {
                "sid": A,
                "friendly_name": "Parent",
                "status": "active",
                "owner_account_sid": None,
                "auth_token": TOKENS[A],
                "incoming_phone_numbers": [],
            },
            {
                "sid": B,
                "friendly_name": "Stranger's subaccount",
                "status": "active",
                "owner_account_sid": A,
                "auth_token": TOKENS[B],
                "incoming_phone_numbers": numbers,
            },
        ],
    }


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 4), out, err


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("TWILIO_API_KEY", "TWILIO_API_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", A)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKENS[A])


def test_collect_refuses_every_hostile_webhook_and_still_writes_the_snapshot(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, env: None
) -> None:
    out = tmp_path / "out"
    with Listener() as listener, EmulatorServer(hostile_scenario(listener.port)) as server:
        port = listener.port
        code, stdout, err = cli(
            capsys, "collect", "--probe-webhooks", "--api-url", server.url, "--out", str(out)
        )
        time.sleep(0.1)
        assert listener.connections == 0  # nothing reached the operator's own machine
    assert code == 0 and "Traceback" not in err, err
    assert "17 webhook answers" in stdout
    snapshot = json.loads((out / "snapshot.json").read_text())
    hooks = snapshot["webhooks"]
    assert len(hooks) == 17 and all(h["http_status"] is None for h in hooks)
    assert all(h["error"].startswith("refused: ") for h in hooks), [h["error"] for h in hooks]
    coverage = snapshot["coverage"][B]["webhooks"]
    assert coverage.startswith("error: 17 webhook(s) gave no TwiML; ") and "\n" not in coverage
    assert coverage.endswith("(and 16 more: see notes)")
    notes = [n for n in snapshot["notes"] if n.startswith("Webhook probe: ")]
    assert len(notes) == 18  # one per target, and one saying what --probe-allow does
    expected = {
        "POST http://169.254.169.254/latest/meta-data/iam/security-credentials/: refused: "
        "169.254.169.254, a link-local address (where cloud metadata services answer)",
        f"POST http://localhost:{port}/voice: refused: localhost resolves to 127.0.0.1, "
        "a loopback address",
        f"POST http://2130706433:{port}/voice: refused: IPv4 address in a non-canonical spelling",
        "POST http://[::1/voice: refused: malformed URL",
        "POST http://***@127.0.0.1:99999/: refused: port out of range 1-65535",
        f"POST https://***@127.0.0.1:{port}/voice: refused: 127.0.0.1, a loopback address",
        f"PUT http://127.0.0.1:{port}/m0: refused: voice method 'PUT' is not GET or POST",
        f"GET%0D%0AX-Injected:%201 http://127.0.0.1:{port}/m1: refused: voice method "
        "'GET%0D%0AX-Injected:%201' is not GET or POST",
    }
    for line in expected:
        assert any(n.removeprefix("Webhook probe: ").startswith(line) for n in notes), line
    assert any("--probe-allow CIDR opts in" in n for n in notes)
    assert SECRET not in json.dumps(notes) and SECRET not in coverage
    assert SECRET not in json.dumps(hooks)  # the probe's own records hold no URL password
    assert "https://***@127.0.0.1" in json.dumps(hooks)
    data = (out / "snapshot.json").read_bytes()
    assert TOKENS[A].encode() not in data and TOKENS[B].encode() not in data


def test_audit_with_hostile_webhooks_writes_every_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, env: None
) -> None:
    out = tmp_path / "out"
    with Listener() as listener:
        with EmulatorServer(hostile_scenario(listener.port, malformed=False)) as server:
            code, _, err = cli(
                capsys,
                "audit",
                "--probe-webhooks",
                "--api-url",
                server.url,
                "--out",
                str(out),
                "--quiet",
                *("--format", "json", "--format", "html", "--format", "md", "--format", "csv"),
            )
        time.sleep(0.1)
        assert listener.connections == 0
    assert code in (0, 1) and "Traceback" not in err, err
    html = (out / "report.html").read_text()
    assert "security-credentials" in html and "link-local" in html  # the refusal is shown
    for path in out.iterdir():
        data = path.read_bytes()
        assert TOKENS[A].encode() not in data and TOKENS[B].encode() not in data, path


def test_probe_allow_opens_a_network_and_is_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, env: None
) -> None:
    with Listener(answer(200, "<Response/>", {"Content-Type": "text/xml"})) as listener:
        scenario = probe_scenario(listener.url().rstrip("/"))
        with EmulatorServer(scenario) as server:
            base = ("collect", "--api-url", server.url, "--quiet")
            code, _, err = cli(capsys, *base, "--out", str(tmp_path / "bad"), "--probe-allow", "x")
            assert code == 2 and "--probe-allow x: not a network" in err
            code, _, err = cli(
                capsys, *base, "--out", str(tmp_path / "b"), "--probe-allow", "127.0.0.1/8"
            )
            assert code == 2 and "did you mean 127.0.0.0/8" in err
            code, _, err = cli(
                capsys, *base, "--out", str(tmp_path / "c"), "--probe-allow", "127.0.0.0/8"
            )
            assert code == 2 and "add --probe-webhooks" in err
            assert listener.connections == 0
            code, out, err = cli(
                capsys,
                *base,
                "--out",
                str(tmp_path / "ok"),
                "--probe-webhooks",
                "--probe-allow",
                "127.0.0.0/8",
            )
    assert code == 0, err
    assert "2 webhook answers" in out
    assert listener.connections == 2
    assert {r.headers["host"] for r in listener.requests} == {f"127.0.0.1:{listener.port}"}


def test_ctrl_c_during_the_probe_exits_130_promptly(tmp_path: Path) -> None:
    with Listener(drip(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", every=0.5)) as slow:
        scenario = probe_scenario(slow.url().rstrip("/"))
        with EmulatorServer(scenario) as server:
            env = dict(
                os.environ,
                TWILIO_ACCOUNT_SID=A,
                TWILIO_AUTH_TOKEN=TOKENS[A],
                PYTHONUNBUFFERED="1",
            )
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "auditor",
                    "collect",
                    "--out",
                    str(tmp_path / "out"),
                    "--api-url",
                    server.url,
                    "--probe-webhooks",
                    "--probe-allow",
                    "127.0.0.1/32",
                ],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
            )
            deadline = time.monotonic() + 60
            while slow.connections < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert proc.poll() is None and slow.connections == 2
            proc.send_signal(signal.SIGINT)
            started = time.monotonic()
            _, err = proc.communicate(timeout=30)
            elapsed = time.monotonic() - started
    assert proc.returncode == 130, err
    assert elapsed < 3.0, elapsed
    assert "interrupted" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "snapshot.json").exists()
