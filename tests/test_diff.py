"""auditor.diff: finding and inventory comparison between two runs, and its renderers."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from auditor.analysis import analyse
from auditor.cli import main
from auditor.diff import compare, compare_with_baseline, mark_status
from auditor.model import (
    Account,
    CallerIdReference,
    Finding,
    PhoneNumber,
    Snapshot,
    Source,
    VerifiedCallerId,
)
from auditor.render.comparison import render_html, render_json, render_markdown, render_text
from auditor.snapshot import load_snapshot, save_snapshot

PARENT = "AC" + "0" * 32
CLINIC = "AC" + "1" * 32
BILLING = "AC" + "2" * 32
LAB = "AC" + "3" * 32
NEWSUB = "AC" + "4" * 32
GONE = "AC" + "5" * 32


def snap(
    collected_at: str,
    accounts: list[Account],
    numbers: list[PhoneNumber],
    verified: list[VerifiedCallerId],
) -> Snapshot:
    return Snapshot(
        root_account_sid=PARENT,
        collected_at=collected_at,
        tool_version="test",
        accounts=accounts,
        phone_numbers=numbers,
        verified_caller_ids=verified,
    )


def finding(fp: str, severity: str = "high", rule: str = "callerid-cross-account") -> Finding:
    return Finding(
        rule=rule,
        severity=severity,
        account_sid=CLINIC,
        caller_id="+15551230009",
        raw_value="+15551230009",
        owner_account_sid=BILLING,
        source=Source(kind="studio_flow", sid="FW" + "a" * 32, location="dial"),
        message=f"message {fp}",
        remediation="move it",
        fingerprint=fp,
    )


@pytest.fixture
def old_new() -> tuple[Snapshot, Snapshot]:
    old = snap(
        "2026-11-01T00:00:00Z",
        [
            Account(PARENT, "Parent", "active", None),
            Account(CLINIC, "Clinic", "active", PARENT),
            Account(BILLING, "Billing", "active", PARENT),
            Account(LAB, "Lab", "suspended", PARENT),
            Account(GONE, "Old sub", "closed", PARENT),
        ],
        [
            PhoneNumber("PN" + "1" * 32, CLINIC, "+15551230001"),  # stays
            PhoneNumber("PN" + "2" * 32, CLINIC, "+15551230002"),  # released
            PhoneNumber("PN" + "3" * 32, CLINIC, "+15551230003"),  # moved (same SID)
            PhoneNumber("PN" + "4" * 32, BILLING, "+15551230004"),  # moved (same E.164)
        ],
        [
            VerifiedCallerId("PN" + "a" * 32, CLINIC, "+15557770001"),  # removed
            VerifiedCallerId("PN" + "b" * 32, BILLING, "+15557770002"),  # stays
        ],
    )
    new = snap(
        "2026-11-29T12:00:00Z",
        [
            Account(PARENT, "Parent", "active", None),
            Account(CLINIC, "Clinic", "suspended", PARENT),  # suspended
            Account(BILLING, "Billing", "closed", PARENT),  # closed
            Account(LAB, "Lab", "active", PARENT),  # reactivated
            Account(NEWSUB, "New <b>sub</b>", "active", PARENT),  # added
        ],
        [
            PhoneNumber("PN" + "1" * 32, CLINIC, "+15551230001"),
            PhoneNumber("PN" + "3" * 32, BILLING, "+15551230003"),
            PhoneNumber("PN" + "9" * 32, LAB, "+15551230004"),  # released + bought by Lab
            PhoneNumber("PN" + "5" * 32, NEWSUB, "+15551230005"),  # added
        ],
        [
            VerifiedCallerId("PN" + "b" * 32, BILLING, "+15557770002"),
            VerifiedCallerId("PN" + "c" * 32, LAB, "+15557770003"),  # added
        ],
    )
    return old, new


def test_findings_new_resolved_unchanged_by_fingerprint(old_new: tuple[Snapshot, Snapshot]) -> None:
    old, new = old_new
    comp = compare(
        old,
        new,
        [finding("keep"), finding("fixed", "critical")],
        [finding("keep"), finding("fresh-low", "low"), finding("fresh-crit", "critical")],
    )
    assert [f.fingerprint for f in comp.new] == ["fresh-crit", "fresh-low"]  # severity order
    assert [f.fingerprint for f in comp.resolved] == ["fixed"]
    assert [f.fingerprint for f in comp.unchanged] == ["keep"]
    assert [f.fingerprint for f in comp.new_at_or_above("high")] == ["fresh-crit"]
    assert len(comp.new_at_or_above("low")) == 2
    assert comp.new_at_or_above("never") == []


def test_duplicate_fingerprints_match_pairwise(old_new: tuple[Snapshot, Snapshot]) -> None:
    old, new = old_new
    comp = compare(old, new, [finding("x")], [finding("x"), finding("x")])
    assert len(comp.unchanged) == 1 and len(comp.new) == 1 and comp.resolved == []


def test_findings_without_fingerprint_match_on_their_fields(
    old_new: tuple[Snapshot, Snapshot],
) -> None:
    old, new = old_new
    a, b = finding(""), finding("")
    b.message = "reworded, same place"
    c = finding("")
    c.caller_id = "+15550000000"
    comp = compare(old, new, [a], [b, c])
    assert comp.unchanged == [b] and comp.new == [c] and comp.resolved == []


def test_inventory_changes_every_kind(old_new: tuple[Snapshot, Snapshot]) -> None:
    old, new = old_new
    inv = compare(old, new, [], []).inventory
    assert [n.phone_number for n in inv.numbers_added] == ["+15551230005"]
    assert [n.phone_number for n in inv.numbers_released] == ["+15551230002"]
    moves = {(m.phone_number, m.old_account_sid, m.new_account_sid) for m in inv.numbers_moved}
    assert moves == {("+15551230003", CLINIC, BILLING), ("+15551230004", BILLING, LAB)}
    assert [(v.account_sid, v.phone_number) for v in inv.verified_added] == [(LAB, "+15557770003")]
    assert [(v.account_sid, v.phone_number) for v in inv.verified_removed] == [
        (CLINIC, "+15557770001")
    ]
    assert [a.sid for a in inv.accounts_added] == [NEWSUB]
    assert [a.sid for a in inv.accounts_removed] == [GONE]
    changes = {(s.account_sid, s.old_status, s.new_status, s.change) for s in inv.status_changed}
    assert changes == {
        (CLINIC, "active", "suspended", "suspended"),
        (BILLING, "active", "closed", "closed"),
        (LAB, "suspended", "active", "reactivated"),
    }
    assert inv.count() == 11


def test_identical_runs_have_no_change(old_new: tuple[Snapshot, Snapshot]) -> None:
    old, _ = old_new
    comp = compare(old, old, [finding("a")], [finding("a")])
    assert comp.inventory.count() == 0 and comp.new == [] and comp.resolved == []
    assert "No change." in render_text(comp)


def test_mark_status_sets_new_and_unchanged() -> None:
    current = [finding("a"), finding("b")]
    mark_status(current, [finding("a"), finding("gone")])
    assert [(f.fingerprint, f.status) for f in current] == [("a", "unchanged"), ("b", "new")]


def test_renderers_agree(old_new: tuple[Snapshot, Snapshot]) -> None:
    old, new = old_new
    evil = finding("evil", "critical")
    evil.message = "<script>alert(1)</script> | *bold*"
    comp = compare(old, new, [finding("fixed")], [evil])

    text = render_text(comp)
    assert "New findings (1)" in text and "Resolved findings (1)" in text
    assert "~ +15551230003" in text and f"{CLINIC} (Clinic) → {BILLING} (Billing)" in text
    assert "~ " + f"{CLINIC} (Clinic): active → suspended\n" in text
    assert "suspended → active (reactivated)" in text

    data = json.loads(render_json(comp))
    assert data["summary"] == {
        "findings_new": 1,
        "findings_resolved": 1,
        "findings_unchanged": 0,
        "inventory_changes": 11,
    }
    assert data["findings"]["new"][0]["fingerprint"] == "evil"
    assert data["inventory"]["numbers_moved"][0]["new_account_sid"] == BILLING
    assert {s["change"] for s in data["inventory"]["status_changed"]} == {
        "suspended",
        "closed",
        "reactivated",
    }

    md = render_markdown(comp)
    assert "### New findings (1)" in md and "\\<script\\>" in md and "\\|" in md
    assert "- +15551230002 (PN" in md and "- - " not in md  # no accidental nested lists

    html = render_html(comp)
    assert html.lstrip().startswith("<section") and "<script>" not in html
    assert "&lt;script&gt;" in html and "New &lt;b&gt;sub&lt;/b&gt;" in html
    page = render_html(comp, standalone=True)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")


def test_text_output_drops_terminal_control_characters(old_new: tuple[Snapshot, Snapshot]) -> None:
    old, new = old_new
    new.accounts[-1].friendly_name = "evil\x1b[2J\x07name"
    text = render_text(compare(old, new, [], []))
    assert "\x1b" not in text and "\x07" not in text and "evil[U+001B][2J[U+0007]name" in text


# --------------------------------------------------------------------------- the CLI


def code_ref(value: str, account: str) -> CallerIdReference:
    return CallerIdReference(
        raw_value=value,
        kind="number",
        source=Source(kind="code", location="app/dial.py:12"),
        executing_account_sid=account,
        e164=value,
        dialed="number",
    )


def cli_runs(tmp_path: Path) -> tuple[Path, Path]:
    """Old: the clinic dials with its own number and an unknown one (critical).
    New: its number moved to Billing (a regression), the unknown one is now verified."""
    accounts = [
        Account(PARENT, "Parent", "active", None),
        Account(CLINIC, "Clinic", "active", PARENT),
        Account(BILLING, "Billing", "active", PARENT),
    ]
    refs = [code_ref("+15551230001", CLINIC), code_ref("+15559990000", CLINIC)]
    old = snap(
        "2026-11-01T00:00:00Z", accounts, [PhoneNumber("PN" + "1" * 32, CLINIC, "+15551230001")], []
    )
    new = snap(
        "2026-11-29T12:00:00Z",
        accounts,
        [PhoneNumber("PN" + "1" * 32, BILLING, "+15551230001")],
        [VerifiedCallerId("PN" + "7" * 32, CLINIC, "+15559990000")],
    )
    old.code_references = refs
    new.code_references = refs
    old_dir = tmp_path / "audit-2026-11-01"
    old_dir.mkdir()
    save_snapshot(old, old_dir)  # an audit output folder
    return old_dir, save_snapshot(new, tmp_path / "new-snapshot.json")  # a snapshot file


def run_diff(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(["diff", *args])
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_cli_fails_on_new_findings_at_or_above_fail_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = cli_runs(tmp_path)
    rc, out, err = run_diff(capsys, str(old), str(new))
    assert rc == 1 and "at or above high" in err
    assert "callerid-released  +15551230001" in out  # the move is a regression
    assert "Resolved findings (1)" in out and "callerid-not-authorized  +15559990000" in out
    assert f"~ +15551230001 (PN{'1' * 32}): {CLINIC} (Clinic) → {BILLING} (Billing)" in out
    assert run_diff(capsys, str(old), str(new), "--fail-on", "critical")[0] == 0
    assert run_diff(capsys, str(old), str(new), "--fail-on", "never")[0] == 0
    # Nothing new when a run is compared with itself, whatever the threshold.
    assert run_diff(capsys, str(new), str(new), "--fail-on", "info")[0] == 0


def test_cli_formats_and_out_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = cli_runs(tmp_path)
    target = tmp_path / "diff.json"
    rc, out, err = run_diff(capsys, str(old), str(new), "-f", "json", "--out", str(target))
    assert rc == 1 and out == "" and f"wrote {target}" in err
    data = json.loads(target.read_text(encoding="utf-8"))
    assert {f["rule"] for f in data["findings"]["new"]} >= {"callerid-released"}
    assert [f["rule"] for f in data["findings"]["resolved"]] == ["callerid-not-authorized"]
    assert data["inventory"]["numbers_moved"][0]["old_account_sid"] == CLINIC

    _, md, _ = run_diff(capsys, str(old), str(new), "--format", "md", "--fail-on", "never")
    assert md.startswith("## Changes since the previous run") and "### Resolved findings (1)" in md

    page = tmp_path / "diff.html"
    run_diff(capsys, str(old), str(new), "--format", "html", "--out", str(page))
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and 'id="changes"' in html


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.json", "no such file"),
        (lambda d: d, "folder has no snapshot.json"),
        (lambda d: _write(d / "x.json", '{"hello": 1}'), "not a twilio-audit snapshot"),
        (lambda d: _write(d / "y.json", '{"schema_version": 1, "root_acc'), "not valid JSON"),
    ],
)
def test_cli_bad_input_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: Any, message: str
) -> None:
    _, new = cli_runs(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    rc, out, err = run_diff(capsys, str(make(empty)), str(new))
    assert rc == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_cli_policy_findings_are_compared_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = cli_runs(tmp_path)
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[accounts.{CLINIC}]\ncaller_ids = ["+15551230001"]\n', encoding="utf-8")
    args = [str(old), str(new), "-f", "json", "--fail-on", "never"]
    _, plain, _ = run_diff(capsys, *args)
    _, with_policy, _ = run_diff(capsys, *args, "--policy", str(policy))
    rules = {f["rule"] for f in json.loads(with_policy)["findings"]["new"]}
    assert "policy-callerid-missing" in rules
    assert "policy-callerid-missing" not in {
        f["rule"] for f in json.loads(plain)["findings"]["new"]
    }


# --------------------------------------------------------------------------- the docs


def _code_blocks(lang: str) -> list[str]:
    doc = Path(__file__).resolve().parent.parent / "docs" / "periodic-review.md"
    text = doc.read_text(encoding="utf-8")
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_docs_review_script_is_valid_sh() -> None:
    (script,) = _code_blocks("sh")
    result = subprocess.run(["sh", "-n"], input=script, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "--fail-on high" in script and "--baseline" in script


def test_docs_workflow_is_valid_yaml_that_keeps_artifacts() -> None:
    yaml = pytest.importorskip("yaml")
    (workflow,) = _code_blocks("yaml")
    data = yaml.safe_load(workflow)
    steps = data["jobs"]["review"]["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "run/"
    assert any("twilio-audit diff" in s.get("run", "") for s in steps)


def test_cli_refuses_runs_of_different_hierarchies_and_warns_on_swapped_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = cli_runs(tmp_path)
    other = snap("2026-11-29T12:00:00Z", [], [], [])
    other.root_account_sid = "AC" + "9" * 32
    foreign = save_snapshot(other, tmp_path / "other.json")
    rc, out, err = run_diff(capsys, str(old), str(foreign))
    assert rc == 2 and out == "" and "same hierarchy" in err
    rc, _, err = run_diff(capsys, str(new), str(old), "--fail-on", "never")
    assert rc == 0 and "did you swap them?" in err


def test_compare_with_baseline_marks_the_current_findings(tmp_path: Path) -> None:
    old_dir, new_file = cli_runs(tmp_path)
    old, new = load_snapshot(old_dir), load_snapshot(new_file)
    findings = analyse(new, baseline=old).findings
    comp = compare_with_baseline(old, new, findings)
    assert findings and {f.status for f in findings} == {"new"}
    assert sorted(f.fingerprint for f in comp.new) == sorted(f.fingerprint for f in findings)
    assert [f.rule for f in comp.resolved] == ["callerid-not-authorized"]
    again = analyse(new, baseline=new).findings  # the next run, nothing changed
    assert compare_with_baseline(new, new, again).new == []
    assert {f.status for f in again} == {"unchanged"}
