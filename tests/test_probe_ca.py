"""`--probe-ca FILE`: the probe trusts an operator's internal CA in addition to certifi's.

The loopback webhook presents tests/fixtures/tls/hook.pem (for hook.example, signed by
the throw-away test CA in ca.pem, which no public bundle holds): the probe reads its
TwiML only when the test CA is given, and public CAs stay trusted with it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import certifi
import pytest
from loopback import CA, TLS_DIR, Listener, answer

from auditor.cli import main
from auditor.collect import CollectConfig
from auditor.collect.credentials import Credentials
from auditor.collect.probe import probe_webhooks
from auditor.errors import AuditorError
from auditor.model import Account, PhoneNumber, Snapshot, WebhookResponse
from auditor.outbound.cabundle import MAX_CA_BYTES, ca_count, load_ca_bundle
from auditor.outbound.transport import _tls_context

A = "AC" + "a" * 32
TWIML = '<Response><Dial callerId="+15551230001">+15557770001</Dial></Response>'
PEM = Path(CA).read_text(encoding="utf-8")


def resolve(host: str, port: int) -> Sequence[str]:
    if host != "hook.example":
        raise OSError("no such host")
    return ["127.0.0.1"]


def probe(port: int, probe_ca: str | None) -> list[WebhookResponse]:
    snapshot = Snapshot(
        root_account_sid=A,
        collected_at="2026-11-29T12:00:00Z",
        tool_version="test",
        accounts=[Account(A, "Clinic", "active", None)],
        phone_numbers=[
            PhoneNumber(
                "PN" + "1" * 32,
                A,
                "+15551230001",
                voice_url=f"https://hook.example:{port}/voice",
                voice_method="POST",
            )
        ],
    )
    config = CollectConfig(
        credentials=Credentials(account_sid=A, auth_token="t" * 32),
        probe_webhooks=True,
        probe_allow=(ipaddress.ip_network("127.0.0.1/32"),),
        probe_ca=probe_ca,
    )
    policy = replace(config.outbound_policy(), resolver=resolve)  # hook.example → loopback
    return probe_webhooks(snapshot, {A: "t" * 32}, policy=policy)


def test_the_probe_reads_an_internal_https_webhook_with_its_ca() -> None:
    with Listener(answer(200, TWIML, {"Content-Type": "text/xml"}), tls=True) as server:
        (trusted,) = probe(server.port, load_ca_bundle(CA))
        (untrusted,) = probe(server.port, None)
    assert trusted.http_status == 200 and trusted.error is None
    assert trusted.body == TWIML
    assert untrusted.body is None and untrusted.error is not None
    assert "TLS certificate not valid for hook.example" in untrusted.error
    assert "--probe-ca FILE trusts it" in untrusted.error  # the hint names the option
    assert [r.sni for r in server.requests] == ["hook.example"]  # one request got through


def test_the_operators_ca_is_trusted_in_addition_to_certifi() -> None:
    public = _tls_context(None).cert_store_stats()["x509_ca"]
    both = _tls_context(None, PEM).cert_store_stats()["x509_ca"]
    assert public > 50 and both == public + ca_count(PEM) == public + 1
    assert ca_count(Path(certifi.where()).read_text(encoding="utf-8")) == public


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ((TLS_DIR / "hook.key").read_text(), "holds a private key"),
        (PEM + (TLS_DIR / "hook.key").read_text(), "holds a private key"),
        ("just some text\n", "no PEM certificate in it"),
        ("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", "readable PEM"),
        ("", "no PEM certificate"),
    ],
)
def test_a_bundle_that_is_not_ca_certificates_is_one_line(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bundle.pem"
    path.write_text(content)
    with pytest.raises(AuditorError, match=message) as exc:
        load_ca_bundle(path)
    assert str(exc.value).startswith(f"--probe-ca {path}")
    assert "\n" not in str(exc.value)


def test_the_bundle_is_read_through_the_capped_reader(tmp_path: Path) -> None:
    big = tmp_path / "big.pem"
    big.write_bytes(PEM.encode() * (MAX_CA_BYTES // len(PEM) + 2))
    with pytest.raises(AuditorError, match="byte cap"):
        load_ca_bundle(big)
    with pytest.raises(AuditorError, match="not a regular file"):
        load_ca_bundle("/dev/zero")
    with pytest.raises(AuditorError, match="no such file"):
        load_ca_bundle(tmp_path / "missing.pem")
    assert load_ca_bundle(CA) == PEM


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--probe-ca", CA], "--probe-ca applies to --probe-webhooks only"),
        (["--probe-webhooks", "--probe-ca", str(TLS_DIR / "hook.key")], "holds a private key"),
    ],
)
def test_cli_refuses_a_bad_probe_ca_before_anything_else(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["collect", "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert exc.value.code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before the collection


# --------------------------------------------------------------------------- watch notifiers


def test_a_notifier_reaches_an_internal_https_proxy_with_notify_ca() -> None:
    import time

    from auditor.watch import WatchConfig
    from auditor.watch.notify import Notifier

    def delivered(notify_ca: str | None, port: int) -> tuple[int, int]:
        config = WatchConfig(
            snapshot=Path("snapshot.json"),
            credentials=Credentials(account_sid=A, auth_token="t" * 32),
            notify=[f"https://hook.example:{port}/notify"],
            notify_allow=(ipaddress.ip_network("127.0.0.1/32"),),
            notify_ca=notify_ca,
        )
        policy = replace(config.notify_policy(), resolver=resolve)
        notifier = Notifier(config.notify[0], policy, attempts=1).start()
        notifier.submit(b'{"text": "13214"}')
        end = time.monotonic() + 10
        while notifier.sent + notifier.failed == 0 and time.monotonic() < end:
            time.sleep(0.05)
        notifier.stop()
        return notifier.sent, notifier.failed

    with Listener(answer(200, "ok"), tls=True) as server:
        assert delivered(load_ca_bundle(CA, "--notify-ca"), server.port) == (1, 0)
        assert delivered(None, server.port) == (0, 1)  # the test CA is not a public one
    assert len(server.requests) == 1 and server.requests[0].body == b'{"text": "13214"}'


def test_watch_refuses_a_bad_notify_ca_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    key = str(TLS_DIR / "hook.key")
    for args, message in (
        (["--notify-ca", CA], "--notify-ca applies to --notify URLs only"),
        (["--notify", "https://hooks.example.com/x", "--notify-ca", key], "holds a private key"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(["watch", "--snapshot", str(tmp_path / "snapshot.json"), "--poll", "60", *args])
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        assert exc.value.code == 2 and len(lines) == 1 and message in lines[0], err
