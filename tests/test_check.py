"""`twilio-audit check` against the emulator over HTTP: owned, verified, missing, other account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main
from auditor.emulator import EmulatorServer

PARENT = "AC" + "0" * 32
CLINIC = "AC" + "1" * 32
BILLING = "AC" + "2" * 32
TOKENS = {PARENT: "a" * 32, CLINIC: "b" * 32, BILLING: "c" * 32}

OWNED = "+15551230001"  # owned by CLINIC
LONGER = "+155512300012"  # owned by CLINIC too: PhoneNumber=+15551230001 matches it partially
VERIFIED = "+15557770001"  # verified by CLINIC
SIBLING = "+15551230004"  # owned by BILLING only
NOWHERE = "+15559990000"  # nobody's
IE1_PARENT_TOKEN = "d" * 32  # the parent's credentials in IE1 (Twilio's are per region)


def scenario() -> dict[str, Any]:
    """A parent with two subaccounts; small on purpose, every case of `check` in it."""
    return {
        "name": "check",
        "accounts": [
            {
                "sid": PARENT,
                "friendly_name": "Parent",
                "status": "active",
                "owner_account_sid": None,
                "auth_token": TOKENS[PARENT],
                "regions": {"ie1": {"auth_token": IE1_PARENT_TOKEN}},
            },
            {
                "sid": CLINIC,
                "friendly_name": "Clinic",
                "status": "active",
                "owner_account_sid": PARENT,
                "auth_token": TOKENS[CLINIC],
                "incoming_phone_numbers": [
                    {"sid": "PN" + "1" * 32, "phone_number": LONGER},
                    {"sid": "PN" + "2" * 32, "phone_number": OWNED},
                ],
                "outgoing_caller_ids": [{"sid": "PN" + "3" * 32, "phone_number": VERIFIED}],
            },
            {
                "sid": BILLING,
                "friendly_name": "Billing",
                "status": "active",
                "owner_account_sid": PARENT,
                "auth_token": TOKENS[BILLING],
                "incoming_phone_numbers": [{"sid": "PN" + "4" * 32, "phone_number": SIBLING}],
            },
        ],
    }


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(scenario()) as srv:
        yield srv


def run_check(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    server: EmulatorServer,
    *args: str,
    as_account: str = PARENT,
    token: str | None = None,
) -> tuple[int, str, str]:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", as_account)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", token or TOKENS[as_account])
    for var in ("TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_AUDIT_API_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["check", *args, "--api-url", server.url])
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_owned_and_verified_pass(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    server.reset_stats()
    rc, out, _ = run_check(monkeypatch, capsys, server, "--account", CLINIC, OWNED, VERIFIED)
    assert rc == 0
    assert out.splitlines() == [
        f"✓ {OWNED}  owned by {CLINIC}",
        f"✓ {VERIFIED}  verified caller ID of {CLINIC}",
    ]
    # The PhoneNumber filter, not a listing: 1 GET for the owned number, 2 for the verified one.
    assert server.stats.total_requests == 3


def test_missing_number_fails_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    rc, out, err = run_check(monkeypatch, capsys, server, "--account", CLINIC, OWNED, NOWHERE)
    assert rc == 1
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("✓")
    assert lines[1].startswith(f"✗ {NOWHERE}  not found in {CLINIC} (Clinic)")
    assert "13214" in lines[1] and "verify it" in lines[1]
    assert "1 of 2" in err


def test_partial_filter_match_is_not_ownership(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    # BILLING owns SIBLING; the CLINIC's +155512300012 must not count for +1555123001.
    rc, out, _ = run_check(monkeypatch, capsys, server, "--account", BILLING, "+1555123001")
    assert rc == 1 and out.startswith("✗ +1555123001")


def test_number_of_another_account_gets_a_hint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    rc, out, _ = run_check(monkeypatch, capsys, server, "--account", CLINIC, SIBLING)
    assert rc == 1
    assert f"owned by {BILLING} (Billing) in the same hierarchy" in out
    assert f"move it to {CLINIC}" in out


def test_hint_needs_credentials_that_can_see_the_owner(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    # The clinic's own token reads only the clinic: no hint, still a clear failure.
    rc, out, _ = run_check(
        monkeypatch, capsys, server, "--account", CLINIC, SIBLING, as_account=CLINIC
    )
    assert rc == 1
    assert out.startswith(f"✗ {SIBLING}  not found in {CLINIC}")
    assert BILLING not in out


@pytest.mark.parametrize(
    ("number", "fix"),
    [("(555) 123-0001", "write it as +15551230001"), ("client:alice", "E.164")],
)
def test_bad_number_is_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    server: EmulatorServer,
    number: str,
    fix: str,
) -> None:
    server.reset_stats()
    rc, out, err = run_check(monkeypatch, capsys, server, "--account", CLINIC, OWNED, number)
    assert rc == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert repr(number) in err and fix in err
    assert server.stats.total_requests == 0  # validated before any request


def test_bad_usage_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    rc, _, err = run_check(monkeypatch, capsys, server, OWNED)
    assert rc == 2 and "--account" in err
    rc, _, err = run_check(monkeypatch, capsys, server, "--account", "AC123", OWNED)
    assert rc == 2 and "'AC123' is not an Account SID" in err
    rc, _, err = run_check(monkeypatch, capsys, server)
    assert rc == 2 and "nothing to check" in err


def test_wrong_credentials_are_exit_2_without_the_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    wrong = "f" * 32
    rc, out, err = run_check(monkeypatch, capsys, server, "--account", CLINIC, OWNED, token=wrong)
    assert rc == 2 and out == ""
    assert "rejected the credentials (401)" in err and wrong not in err


def test_missing_credentials_are_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--account", CLINIC, OWNED, "--api-url", server.url])
    assert exit_info.value.code == 2
    assert "TWILIO_ACCOUNT_SID is not set" in capsys.readouterr().err


def test_account_the_credentials_cannot_read_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    rc, _, err = run_check(
        monkeypatch, capsys, server, "--account", BILLING, SIBLING, as_account=CLINIC
    )
    assert rc == 2 and BILLING in err


def test_policy_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    server: EmulatorServer,
) -> None:
    policy = tmp_path / "callerids.toml"
    policy.write_text(
        f'[accounts.{CLINIC}]\nname = "Clinic"\ncaller_ids = ["{OWNED}", "{SIBLING}"]\n\n'
        f'[accounts.{BILLING}]\ncaller_ids = ["{SIBLING}"]\n',
        encoding="utf-8",
    )
    rc, out, _ = run_check(monkeypatch, capsys, server, "--policy", str(policy))
    lines = out.splitlines()
    assert rc == 1 and len(lines) == 3
    assert lines[0] == f"✓ {OWNED}  owned by {CLINIC} (Clinic)"
    assert lines[1].startswith(f"✗ {SIBLING}  not found in {CLINIC} (Clinic)")
    assert lines[2] == f"✓ {SIBLING}  owned by {BILLING} (Billing)"

    policy.write_text(f'[accounts.{CLINIC}]\ncaller_ids = ["555-0100"]\n', encoding="utf-8")
    rc, out, err = run_check(monkeypatch, capsys, server, "--policy", str(policy))
    assert rc == 2 and out == "" and "'555-0100' is not an E.164 number" in err


def test_unknown_account_is_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    unknown = "AC" + "9" * 32
    rc, out, err = run_check(monkeypatch, capsys, server, "--account", unknown, OWNED)
    assert rc == 2 and out == "" and unknown in err and len(err.strip().splitlines()) == 1


def test_in_ie1_only_owned_numbers_pass(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], server: EmulatorServer
) -> None:
    """IE1 does not support Verified Caller IDs: a verified number fails there, owned passes."""
    server.reset_stats()
    rc, out, err = run_check(
        monkeypatch, capsys, server, "--region", "ie1", "--edge", "dublin",
        "--account", CLINIC, OWNED, VERIFIED, token=IE1_PARENT_TOKEN,
    )  # fmt: skip
    assert rc == 1, err
    owned, verified = out.splitlines()
    assert owned.startswith(f"✓ {OWNED}  owned by {CLINIC}")
    assert verified.startswith(f"✗ {VERIFIED}  not found in {CLINIC}")
    assert "IE1 does not support Verified Caller IDs" in verified
    assert "verify it there" not in verified
    # IncomingPhoneNumbers only, never OutgoingCallerIds: one GET per number, then the hint
    # (the accounts list and one lookup in each other account) — 5, where US1 takes 8.
    assert server.stats.total_requests == 5
    assert server.stats.status_counts == {200: 5}
    rc, _, err = run_check(
        monkeypatch, capsys, server, "--region", "ie1", "--account", CLINIC, OWNED,
        token=IE1_PARENT_TOKEN,
    )  # fmt: skip
    assert rc == 2 and "--edge dublin" in err
