"""audit --baseline: every report format says which findings are new, and the report shows
what changed since the previous run (issue: periodic review)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from render_fixtures import SCRIPT_NAME, build_analysis, build_snapshot

from auditor.diff import compare, mark_status
from auditor.model import Analysis
from auditor.render import ReportOptions, render_reports

OPTIONS = ReportOptions(client_name="Test client", generated_at="2026-11-29T12:00:00Z")


def _runs() -> tuple[Analysis, object]:
    snapshot = build_snapshot()
    analysis = build_analysis()
    old = copy.deepcopy(snapshot)
    old.collected_at = "2026-10-01T00:00:00Z"
    old_findings = copy.deepcopy(analysis.findings[1:])  # the first finding is new
    mark_status(analysis.findings, old_findings)  # as compare_with_baseline does
    comparison = compare(old, snapshot, old_findings, analysis.findings)
    return analysis, comparison


def test_findings_are_marked_and_the_changes_section_is_rendered(tmp_path: Path) -> None:
    analysis, comparison = _runs()
    new = analysis.findings[0]
    assert new.status == "new"
    assert {f.status for f in analysis.findings[1:]} == {"unchanged"}
    render_reports(
        build_snapshot(), analysis, tmp_path, ["html", "md", "json", "sarif"], OPTIONS, comparison
    )
    html = (tmp_path / "report.html").read_text()
    assert '<section class="diff" id="changes">' in html
    assert 'href="#changes"' in html  # listed in the contents
    assert 'class="finding-status status-new">new</span>' in html
    assert html.count("finding-status status-unchanged") >= 1
    assert SCRIPT_NAME not in html  # account names in the section stay escaped
    md = (tmp_path / "report.md").read_text()
    assert "## Changes since the previous run" in md
    assert f"| {new.severity} (new) |" in md
    doc = json.loads((tmp_path / "findings.json").read_text())
    assert [f["status"] for f in doc["findings"]].count("new") == 1
    sarif = json.loads((tmp_path / "findings.sarif").read_text())
    states = {r.get("baselineState") for r in sarif["runs"][0]["results"]}
    assert states <= {"new", "unchanged"} and states


def test_without_a_baseline_nothing_is_marked(tmp_path: Path) -> None:
    render_reports(build_snapshot(), build_analysis(), tmp_path, ["html", "md"], OPTIONS)
    html = (tmp_path / "report.html").read_text()
    assert 'id="changes"' not in html and 'class="finding-status' not in html
    assert "(new)" not in (tmp_path / "report.md").read_text()
