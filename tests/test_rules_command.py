"""`twilio-audit rules`: every rule with its metadata, as a table or JSON."""

from __future__ import annotations

import json
import subprocess
import sys

from typer.testing import CliRunner

from auditor.cli import app
from auditor.rules import ALL_RULES
from auditor.rules.country_table import country_rules


def test_rules_json_lists_every_rule_with_metadata() -> None:
    result = CliRunner().invoke(app, ["rules", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [r["id"] for r in data] == [r.id for r in ALL_RULES]
    for entry in data:
        extra = {"table", "country_rules"} if entry["id"] == "callerid-geo-restricted" else set()
        assert set(entry) == {
            "id",
            "title",
            "severity",
            "error_codes",
            "risk",
            "remediation",
            "docs_url",
            *extra,
        }
    by_id = {r["id"]: r for r in data}
    assert by_id["callerid-cross-account"]["error_codes"][0] == 13214
    assert by_id["callerid-passthrough"]["severity"] == "info"
    table = by_id["callerid-geo-restricted"]["country_rules"]
    assert len(table) == len(country_rules()) and by_id["callerid-geo-restricted"]["table"]
    assert all(row["source"].startswith("https://") and row["checked"] for row in table)
    assert {row["effect"] for row in table} == {"refused", "replaced", "surcharge"}


def test_rules_table_names_every_rule() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "auditor", "rules"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "160", "PATH": ""},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for rule in ALL_RULES:
        assert rule.id in proc.stdout
    assert "Destination caller-ID rules" in proc.stdout
    wide = subprocess.run(
        [sys.executable, "-m", "auditor", "rules"],
        capture_output=True,
        text=True,
        env={"COLUMNS": "1200", "PATH": ""},
        check=True,
    ).stdout
    for row in country_rules():  # every row of the country table, with its source
        assert row.source in wide and row.rule[:40] in wide
