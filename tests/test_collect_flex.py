"""Flex outbound caller IDs: collected per account over real HTTP through the SDK (emulator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.analysis import analyse
from auditor.cli import main
from auditor.collect import CollectConfig, collect
from auditor.collect.credentials import Credentials
from auditor.emulator import EmulatorServer, generate_hierarchy
from auditor.model import FlexOutboundFlow, Snapshot
from auditor.snapshot import load_snapshot

CRM_SECRET = "crm-pw-5e1d0c"  # in the Configuration's CRM URL: must never be stored
PLUGIN_TOKEN = "plugin-tok-93ab71"


def scenario() -> dict[str, Any]:
    """Subaccount 1 runs Flex with subaccount 2's number; the others have no Flex."""
    s = generate_hierarchy(3, 4, seed=5)
    flex, other = s["accounts"][1], s["accounts"][2]
    flex["flex_configuration"] = {
        "status": "ok",
        "outbound_call_flows": {
            "default": {
                "caller_id": other["incoming_phone_numbers"][0]["phone_number"],
                "queue_sid": "WQ" + "1" * 32,
                "workflow_sid": "WW" + "1" * 32,
                "location": "US",
            }
        },
        "crm_callback_url": f"https://crm:{CRM_SECRET}@crm.example/callback",
        "plugin_service_attributes": {"token": PLUGIN_TOKEN},
    }
    return s


def run_cli(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0)


def parent(s: dict[str, Any]) -> Credentials:
    p = s["accounts"][0]
    return Credentials(account_sid=p["sid"], auth_token=p["auth_token"])


def test_flex_configuration_is_collected_with_its_own_credentials() -> None:
    s = scenario()
    flex = s["accounts"][1]
    with EmulatorServer(s) as server:
        snap = collect(CollectConfig(credentials=parent(s), api_url=server.url))
    (config,) = snap.flex_configurations
    assert config.account_sid == flex["sid"] and config.status == "ok"
    assert config.flex_instance_sid and config.flex_instance_sid.startswith("GO")
    assert config.outbound_call_flows == [
        FlexOutboundFlow(
            "default",
            s["accounts"][2]["incoming_phone_numbers"][0]["phone_number"],
            "WQ" + "1" * 32,
            "WW" + "1" * 32,
            "US",
        )
    ]
    # An account without Flex answered 404: read fine, nothing to audit, said once.
    assert {sid: cov["flex"] for sid, cov in snap.coverage.items()} == dict.fromkeys(
        (a["sid"] for a in s["accounts"]), "ok"
    )
    (note,) = [n for n in snap.notes if "Flex" in n]
    assert note.startswith("3 account(s) have no Flex")
    assert not any("could not be read completely" in n for n in snap.notes)


def test_flex_outbound_caller_id_is_judged_in_the_flex_account() -> None:
    s = scenario()
    with EmulatorServer(s) as server:
        snap = collect(CollectConfig(credentials=parent(s), api_url=server.url))
    flex_findings = [f for f in analyse(snap).findings if f.via == "flex-outbound"]
    assert [(f.rule, f.account_sid, f.owner_account_sid, f.error_codes) for f in flex_findings] == [
        ("callerid-cross-account", s["accounts"][1]["sid"], s["accounts"][2]["sid"], [13214])
    ]
    assert flex_findings[0].source.kind == "flex"


def test_no_flex_reads_nothing_from_flex_api() -> None:
    s = scenario()
    with EmulatorServer(s) as server:
        collect(CollectConfig(credentials=parent(s), api_url=server.url))
        with_flex = server.stats.total_requests
    with EmulatorServer(s) as server:
        snap = collect(CollectConfig(credentials=parent(s), api_url=server.url, flex=False))
        without = server.stats.total_requests
    assert with_flex - without == len(s["accounts"])  # one Configuration fetch per account
    assert snap.flex_configurations == []
    assert all(cov["flex"] == "skipped" for cov in snap.coverage.values())
    assert not any("have no Flex" in n for n in snap.notes)


@pytest.mark.parametrize(("status", "code"), [(403, "20003"), (500, "20500")])
def test_a_failing_flex_api_is_a_coverage_error_not_no_flex(status: int, code: str) -> None:
    s = scenario()
    flex = s["accounts"][1]["sid"]
    s["faults"] = {"product_errors": {flex: {"flex-api": status}}}
    with EmulatorServer(s) as server:
        snap = collect(CollectConfig(credentials=parent(s), api_url=server.url, timeout=5))
    assert snap.coverage[flex]["flex"].startswith(f"error: {status}")
    assert snap.flex_configurations == []
    assert {k for k, v in snap.coverage[flex].items() if v != "ok"} == {"flex"}
    (note,) = [n for n in snap.notes if "have no Flex" in n]
    assert note.startswith("3 account(s)")  # the failing one is not counted as "no Flex"


def test_closed_account_flex_is_skipped() -> None:
    s = scenario()
    s["accounts"][1]["status"] = "closed"
    with EmulatorServer(s) as server:
        snap = collect(CollectConfig(credentials=parent(s), api_url=server.url))
    assert snap.coverage[s["accounts"][1]["sid"]]["flex"] == "skipped"
    assert snap.flex_configurations == []


@pytest.fixture
def parent_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The scenario, with its parent's credentials in the environment the CLI reads."""
    s = scenario()
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", s["accounts"][0]["sid"])
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", s["accounts"][0]["auth_token"])
    return s


def test_cli_collect_keeps_only_the_outbound_caller_id(
    tmp_path: Path, parent_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    s = parent_env
    with EmulatorServer(s) as server:
        rc = run_cli(["collect", "--out", str(tmp_path), "--api-url", server.url, "--quiet"])
    assert rc == 0 and "1 Flex configurations" in capsys.readouterr().out
    text = (tmp_path / "snapshot.json").read_text()
    for secret in (
        CRM_SECRET,
        PLUGIN_TOKEN,
        "crm.example",
        *(a["auth_token"] for a in s["accounts"]),
    ):
        assert secret not in text
    snap: Snapshot = load_snapshot(tmp_path)
    assert json.loads(text)["flex_configurations"][0]["outbound_call_flows"][0]["name"] == "default"
    assert snap.flex_configurations[0].outbound_call_flows[0].location == "US"


def test_cli_no_flex_option(
    tmp_path: Path, parent_env: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    with EmulatorServer(parent_env) as server:
        rc = run_cli(
            ["collect", "--out", str(tmp_path), "--api-url", server.url, "-q", "--no-flex"]
        )
    assert rc == 0 and "0 Flex configurations" in capsys.readouterr().out
    assert all(c["flex"] == "skipped" for c in load_snapshot(tmp_path).coverage.values())
