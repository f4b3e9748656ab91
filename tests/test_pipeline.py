"""The pipeline's own decisions: exit codes, --code and --format parsing, offline report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auditor.commands.options import FailOn, Format
from auditor.errors import AuditorError
from auditor.model import Account, Analysis, Finding, Snapshot, Source
from auditor.pipeline import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    AuditOptions,
    coverage_errors,
    exit_code,
    normalise_formats,
    parse_code_args,
    run_audit,
    run_report,
)
from auditor.snapshot import save_snapshot

ROOT = "AC" + "1" * 32
SUB = "AC" + "2" * 32


def _finding(severity: str) -> Finding:
    return Finding(
        rule="callerid-passthrough",
        severity=severity,
        account_sid=ROOT,
        caller_id="+15035550100",
        raw_value="+15035550100",
        owner_account_sid=None,
        source=Source(kind="studio_flow", sid="FW" + "0" * 32, location="w"),
        message="m",
        remediation="r",
    )


def _snapshot(coverage: dict[str, dict[str, str]] | None = None) -> Snapshot:
    return Snapshot(
        root_account_sid=ROOT,
        collected_at="2026-11-29T12:00:00Z",
        tool_version="test",
        accounts=[
            Account(sid=ROOT, friendly_name="Parent", status="active", owner_account_sid=None),
            Account(sid=SUB, friendly_name="Child", status="active", owner_account_sid=ROOT),
        ],
        coverage=coverage or {ROOT: {"flows": "ok"}, SUB: {"flows": "ok"}},
    )


@pytest.mark.parametrize(
    "severities, fail_on, strict, incomplete, expected",
    [
        ([], FailOn.HIGH, False, [], EXIT_CLEAN),
        (["medium"], FailOn.HIGH, False, [], EXIT_CLEAN),
        (["high"], FailOn.HIGH, False, [], EXIT_FINDINGS),
        (["critical"], "high", False, [], EXIT_FINDINGS),
        (["info"], FailOn.INFO, False, [], EXIT_FINDINGS),
        (["critical"], FailOn.NEVER, False, [], EXIT_CLEAN),
        (["critical"], FailOn.HIGH, False, ["x: flows: error: 500"], EXIT_FINDINGS),
        ([], FailOn.HIGH, True, ["x: flows: error: 500"], EXIT_INCOMPLETE),
        (["critical"], FailOn.HIGH, True, ["x: flows: error: 500"], EXIT_INCOMPLETE),
        (["critical"], FailOn.HIGH, True, [], EXIT_FINDINGS),
    ],
)
def test_exit_code(
    severities: list[str], fail_on: FailOn | str, strict: bool, incomplete: list[str], expected: int
) -> None:
    analysis = Analysis(findings=[_finding(s) for s in severities])
    assert exit_code(analysis, incomplete, fail_on, strict) == expected


def test_coverage_errors_lists_only_errors() -> None:
    snap = _snapshot({ROOT: {"flows": "ok", "alerts": "error: 401"}, SUB: {"flows": "skipped"}})
    assert coverage_errors(snap) == [f"{ROOT}: alerts: error: 401"]


def test_parse_code_args(tmp_path: Path) -> None:
    weird = tmp_path / "a=b"
    weird.mkdir()
    sid = "AC" + "ab" * 16
    assert parse_code_args([str(tmp_path), f"{tmp_path}=AC{sid[2:].upper()}"]) == [
        (tmp_path, None),
        (tmp_path, sid),
    ]
    assert parse_code_args([str(weird)]) == [(weird, None)]  # '=' in a real path
    with pytest.raises(AuditorError, match="PATH=ACxxx"):
        parse_code_args([f"{tmp_path}/missing=ACnot-a-sid"])
    with pytest.raises(AuditorError, match="no such file"):
        parse_code_args([str(tmp_path / "missing")])
    with pytest.raises(AuditorError, match="no such file"):
        parse_code_args([f"{tmp_path / 'missing'}={sid}"])


def test_normalise_formats() -> None:
    assert normalise_formats(None) == ["html", "json"]
    assert normalise_formats([Format.PDF, "json", Format.PDF, "MD"]) == ["pdf", "json", "md"]
    with pytest.raises(AuditorError, match="unknown format"):
        normalise_formats(["docx"])


def test_report_writes_into_out_and_copies_the_snapshot(tmp_path: Path) -> None:
    src = save_snapshot(_snapshot(), tmp_path / "in" / "snapshot.json")
    out = tmp_path / "out"
    result = run_report(src, AuditOptions(out_dir=out, formats=["json"], fail_on="info"))
    assert result.exit_code == EXIT_CLEAN and result.files == [out / "findings.json"]
    assert json.loads((out / "snapshot.json").read_text())["root_account_sid"] == ROOT
    doc = json.loads((out / "findings.json").read_text())
    assert doc["findings"] == [] and doc["root_account_sid"] == ROOT
    # Reporting into the snapshot's own folder leaves the snapshot alone.
    before = src.read_bytes()
    run_report(src.parent, AuditOptions(out_dir=src.parent, formats=["json"]))
    assert src.read_bytes() == before and (src.parent / "findings.json").exists()


def test_report_strict_on_an_incomplete_snapshot(tmp_path: Path) -> None:
    src = save_snapshot(_snapshot({ROOT: {"alerts": "error: 500"}}), tmp_path / "s.json")
    result = run_report(src, AuditOptions(out_dir=tmp_path / "o", formats=["json"], strict=True))
    assert result.exit_code == EXIT_INCOMPLETE and result.incomplete


def test_audit_needs_something_to_collect_with(tmp_path: Path) -> None:
    with pytest.raises(AuditorError, match="collect"):
        run_audit(AuditOptions(out_dir=tmp_path))


def test_audit_with_a_collector_saves_the_snapshot(tmp_path: Path) -> None:
    result = run_audit(
        AuditOptions(out_dir=tmp_path / "o", formats=["json"], collector=lambda: _snapshot())
    )
    assert result.snapshot_path == tmp_path / "o" / "snapshot.json"
    assert result.snapshot_path.exists() and result.exit_code == EXIT_CLEAN
