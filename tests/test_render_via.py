"""Every report says how a finding's call is placed: a <Dial>, a Calls API request, a Studio
widget or Flex outbound (one short label), from findings the real rules produced."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from test_rules_support import FLOW_A, ROOT_NUM, STRANGER, A, make_ref, make_snapshot

from auditor.analysis import analyse_references
from auditor.model import Analysis, Snapshot, Source, StudioFlow, Via
from auditor.render import ReportOptions, render_reports
from auditor.render.view import build_view

CODE = Source("code", None, "app/calls.js:12")
FLEX = Source("flex", None, "outbound_call_flows.default")


def _case() -> tuple[Snapshot, Analysis]:
    definition = {"states": [{"name": "call_patient", "type": "make-outgoing-call-v2"}]}
    snap = make_snapshot(flows=[StudioFlow(FLOW_A, A, "Triage A", "published", 3, definition)])
    refs = [
        make_ref(STRANGER, source=Source("code", None, "app/dial.py:3")),  # a <Dial>
        make_ref(ROOT_NUM, source=CODE, via=Via.CALLS_API.value),
        make_ref(
            "+15557770001",
            source=Source("studio_flow", FLOW_A, "call_patient"),
            via=Via.STUDIO.value,
        ),
        make_ref("+15557770002", source=FLEX, via=Via.FLEX_OUTBOUND.value),
    ]
    return snap, analyse_references(snap, refs)


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("via-reports")
    snap, analysis = _case()
    options = ReportOptions(generated_at="2026-11-29T12:00:00Z")
    render_reports(snap, analysis, folder, ["html", "json", "csv", "sarif", "md"], options)
    return folder


LABELS = {"dial": "<Dial>", "calls-api": "Calls API request", "studio": "Studio widget"}


def test_each_finding_view_has_the_label_of_its_path() -> None:
    snap, analysis = _case()
    view = build_view(snap, analysis, ReportOptions(generated_at="2026-11-29T12:00:00Z"))
    labels = {fv.finding.via: fv.via_label for g in view.groups for fv in g.findings}
    assert labels == {**LABELS, "flex-outbound": "Flex outbound"}
    # The summary names the codes Twilio answers on the paths found, not just 13214.
    assert "(errors 13214 and 21210)" in view.risk[0]


def test_html_says_placed_through(out: Path) -> None:
    html = (out / "report.html").read_text()
    assert html.count("<dt>Placed through</dt>") == 4
    for label in ("&lt;Dial&gt;", "Calls API request", "Studio widget", "Flex outbound"):
        assert f'<dd class="via">{label}</dd>' in html
    assert "Flex configuration · outbound_call_flows.default" in html  # the Flex source


def test_markdown_source_cells_carry_the_label(out: Path) -> None:
    md = (out / "report.md").read_text()
    assert "app/calls.js:12 (Calls API request) |" in md
    assert "(\\<Dial\\>) |" in md  # escaped: renders as <Dial>, never as a tag
    assert "(Flex outbound) |" in md


def test_json_and_sarif_carry_via(out: Path) -> None:
    doc = json.loads((out / "findings.json").read_text())
    assert sorted(f["via"] for f in doc["findings"]) == sorted(
        ["dial", "calls-api", "studio", "flex-outbound"]
    )
    sarif = json.loads((out / "findings.sarif").read_text())
    vias = {r["properties"]["via"] for r in sarif["runs"][0]["results"]}
    assert vias == {"dial", "calls-api"}  # SARIF holds the code findings only


def test_csv_names_how_each_use_is_placed(out: Path) -> None:
    rows = {
        r["phone_number"]: r
        for r in csv.DictReader(io.StringIO((out / "inventory.csv").read_text()))
    }
    assert rows[ROOT_NUM]["used_as_caller_id_by"] == (
        "Clinic A: source code · app/calls.js:12 (Calls API request)"
    )
