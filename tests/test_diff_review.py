"""The documented weekly review script, run for real against the emulator.

First run: it becomes the baseline. Second run, after a number moved to a sibling
subaccount: the script exits 1, keeps the run's snapshot, report and diff, and
does not accept the regression as the new baseline.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from test_check import BILLING, CLINIC, OWNED, PARENT, TOKENS, scenario

from auditor.emulator import EmulatorServer

ROOT = Path(__file__).resolve().parent.parent
FLOW = "FW" + "f" * 32


def with_flow(owner_of_number: str) -> dict[str, Any]:
    """The check scenario plus a clinic flow dialing with OWNED, held by `owner_of_number`."""
    data = copy.deepcopy(scenario())
    accounts = {a["sid"]: a for a in data["accounts"]}
    clinic, owner = accounts[CLINIC], accounts[owner_of_number]
    number = next(n for n in clinic["incoming_phone_numbers"] if n["phone_number"] == OWNED)
    if owner is not clinic:
        clinic["incoming_phone_numbers"].remove(number)
        owner.setdefault("incoming_phone_numbers", []).append(number)
    clinic["flows"] = [
        {
            "sid": FLOW,
            "friendly_name": "Front desk",
            "status": "published",
            "revision": 1,
            "definition": {
                "description": "forward",
                "initial_state": "Trigger",
                "flags": {},
                "states": [
                    {"name": "Trigger", "type": "trigger", "transitions": [], "properties": {}},
                    {
                        "name": "forward",
                        "type": "connect-call-to",
                        "transitions": [],
                        "properties": {"noun": "number", "to": "+15552223333", "caller_id": OWNED},
                    },
                ],
            },
        }
    ]
    return data


def review_script(runs: Path) -> str:
    doc = (ROOT / "docs" / "periodic-review.md").read_text(encoding="utf-8")
    (script,) = re.findall(r"```sh\n(.*?)```", doc, flags=re.S)
    for old, new in (
        (". /etc/twilio-audit/env", ":"),
        ("runs=/var/lib/twilio-audit", f"runs='{runs}'"),
        ("$(date -u +%Y-%m-%dT%H%M%SZ)", "$RUN_ID"),
    ):
        assert old in script
        script = script.replace(old, new)
    return script


def run_review(
    tmp_path: Path, server: EmulatorServer, run_id: str
) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "twilio-audit"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m auditor "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "TWILIO_ACCOUNT_SID": PARENT,
        "TWILIO_AUTH_TOKEN": TOKENS[PARENT],
        "TWILIO_AUDIT_API_URL": server.url,
        "RUN_ID": run_id,
    }
    for var in ("TWILIO_API_KEY", "TWILIO_API_SECRET"):
        env.pop(var, None)
    return subprocess.run(
        ["sh", "-c", review_script(tmp_path / "runs")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_documented_review_accepts_a_clean_run_and_fails_on_a_regression(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with EmulatorServer(with_flow(CLINIC)) as server:
        first = run_review(tmp_path, server, "run-1")
    assert first.returncode == 0, first.stderr
    assert (runs / "accepted").resolve() == (runs / "run-1").resolve()
    assert {"snapshot.json", "findings.json", "report.md", "report.html"} <= {
        p.name for p in (runs / "run-1").iterdir()
    }

    with EmulatorServer(with_flow(BILLING)) as server:  # the clinic's number moved to Billing
        second = run_review(tmp_path, server, "run-2")
    assert second.returncode == 1, second.stderr
    assert "callerid-released" in second.stdout and "callerid-cross-account" in second.stdout
    assert f"~ {OWNED}" in second.stdout
    diff_md = (runs / "run-2" / "diff.md").read_text(encoding="utf-8")
    assert "### New findings" in diff_md and "Numbers moved between accounts" in diff_md
    assert (runs / "run-2" / "snapshot.json").is_file()  # kept for reading
    assert (runs / "accepted").resolve() == (runs / "run-1").resolve()  # not accepted
    assert TOKENS[PARENT] not in second.stdout + second.stderr
