"""Synthetic hierarchies: deterministic, valid, unique numbers, cross-account caller IDs."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from auditor.emulator import EmulatorServer, generate_hierarchy, load_scenario, validate_scenario
from auditor.errors import AuditorError

E164 = re.compile(r"^\+[1-9]\d{7,14}$")


def _owned(scenario: dict[str, Any]) -> dict[str, str]:
    return {
        n["phone_number"]: acc["sid"]
        for acc in scenario["accounts"]
        for n in acc["incoming_phone_numbers"]
    }


def test_deterministic_and_seeded() -> None:
    assert generate_hierarchy(4, 3) == generate_hierarchy(4, 3)
    assert generate_hierarchy(4, 3, seed=1) != generate_hierarchy(4, 3)


def test_shape_counts_and_validity() -> None:
    scenario = generate_hierarchy(
        5, 7, apps_per_account=3, flows_per_account=2, functions_per_account=2, alerts_per_account=4
    )
    validate_scenario(scenario)  # SIDs are prefix + 32 lowercase hex, references resolve
    accounts = scenario["accounts"]
    assert len(accounts) == 6
    parent = accounts[0]
    assert parent["owner_account_sid"] is None
    assert all(a["owner_account_sid"] == parent["sid"] for a in accounts[1:])
    for acc in accounts:
        assert len(acc["incoming_phone_numbers"]) == 7
        assert len(acc["applications"]) == 3
        assert len(acc["flows"]) == 2
        assert len(acc["services"][0]["functions"]) == 2
        assert len(acc["alerts"]) == 4
    numbers = [n["phone_number"] for a in accounts for n in a["incoming_phone_numbers"]]
    verified = [c["phone_number"] for a in accounts for c in a["outgoing_caller_ids"]]
    assert len(set(numbers + verified)) == len(numbers) + len(verified)
    assert all(E164.match(n) for n in numbers + verified)


def test_numbers_unique_in_a_large_hierarchy() -> None:
    scenario = generate_hierarchy(1000, 3, flows_per_account=0, functions_per_account=0)
    numbers = [
        c["phone_number"]
        for a in scenario["accounts"]
        for c in a["incoming_phone_numbers"] + a["outgoing_caller_ids"]
    ]
    assert len(numbers) == len(set(numbers)) == 1001 * 4


def test_cross_account_caller_ids_exist() -> None:
    scenario = generate_hierarchy(6, 2)
    owner = _owned(scenario)
    cross = 0
    for acc in scenario["accounts"]:
        for flow in acc["flows"]:
            for state in flow["definition"]["states"]:
                value = state["properties"].get("caller_id") or state["properties"].get("from")
                if value in owner and owner[value] != acc["sid"]:
                    cross += 1
        for svc in acc["services"]:
            for env in svc["environments"]:
                for var in env["variables"]:
                    if var["value"] in owner and owner[var["value"]] != acc["sid"]:
                        cross += 1
        for alert in acc["alerts"]:
            m = re.search(r'callerId="([^"]*)"', alert["response_body"])
            if m and m.group(1) in owner and owner[m.group(1)] != acc["sid"]:
                cross += 1
    assert cross >= 3


def test_served_by_the_emulator() -> None:
    scenario = generate_hierarchy(2, 2)
    with EmulatorServer(scenario) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert set(server.index.accounts) == {a["sid"] for a in scenario["accounts"]}


def test_load_scenario_reports_problems(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AuditorError, match="not valid JSON"):
        load_scenario(bad)
    scenario = generate_hierarchy(1, 1)
    scenario["accounts"][1]["incoming_phone_numbers"][0]["sid"] = "PN123"
    bad.write_text(json.dumps(scenario))
    with pytest.raises(AuditorError, match="PN123"):
        load_scenario(bad)
    with pytest.raises(AuditorError, match="not found"):
        load_scenario(tmp_path / "missing.json")


def test_standalone_command(tmp_path: Path) -> None:
    import requests

    scenario = generate_hierarchy(1, 2)
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(scenario))
    proc = subprocess.Popen(
        [sys.executable, "-m", "auditor.emulator", "--scenario", str(path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        parent = scenario["accounts"][0]
        resp = requests.get(
            f"{url}/api/2010-04-01/Accounts.json",
            auth=(parent["sid"], parent["auth_token"]),
            timeout=10,
        )
        assert len(resp.json()["accounts"]) == 2
        proc.send_signal(signal.SIGINT)  # Ctrl-C stops it cleanly
        _out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
