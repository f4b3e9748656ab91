"""--accept: accepted findings stay in every format, marked, and do not fail the run; expired
entries stop applying and say so; entries that match nothing are stale; a bad file is one line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from render_fixtures import CALLS, CLINIC
from review_data import accept_toml, analysed_snapshot

from auditor.accept import apply_acceptances, load_accept_file
from auditor.analysis import analyse
from auditor.cli import main
from auditor.errors import AuditorError
from auditor.snapshot import save_snapshot

ALERT_CID = "+15550010000"  # the 13214 alert of the fixture: high, in the Clinic account
DUPLICATE_CID = "+15559990001"  # verified in two accounts: low


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def entry(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "reason": "Shared front desk; moves in Q1",
        "accepted_by": "J. Doe",
        "expires": "2027-03-31",
    }
    return {**base, **fields}


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    return save_snapshot(analysed_snapshot("2026-11-29"), tmp_path / "snap" / "snapshot.json")


def test_accepted_expired_and_stale(tmp_path: Path) -> None:
    findings = analyse(analysed_snapshot("2026-11-29")).findings
    alert = next(f for f in findings if f.rule == "alert-13214-observed")
    dup = next(f for f in findings if f.rule == "verified-callerid-duplicated")
    path = accept_toml(
        tmp_path / "accept.toml",
        [
            entry(
                rule="alert-13214-observed",
                account=CLINIC.upper().replace("X", "x"),
                caller_id="+1 555 001 0000",
            ),
            entry(fingerprint=dup.fingerprint, expires="2026-11-28", reason="old decision"),
            entry(rule="callerid-cross-account", account=CALLS, caller_id="+15550000000"),
        ],
    )
    report = apply_acceptances(findings, load_accept_file(path), date(2026, 11, 29))
    assert alert.acceptance is not None and alert.acceptance.entry == 1
    assert alert.acceptance.expires == "2027-03-31" and alert.acceptance.accepted_by == "J. Doe"
    assert dup.acceptance is None  # expired the day before: counts again …
    assert dup.acceptance_expired is not None and dup.acceptance_expired.reason == "old decision"
    assert [o.state for o in report.outcomes] == ["active", "expired", "stale"]
    assert report.outcomes[0].fingerprints == [alert.fingerprint]
    assert any("expired on 2026-11-28" in w for w in report.warnings())
    assert any("entry 3" in w and "stale" in w for w in report.warnings())
    # The expiry day itself still applies.
    again = apply_acceptances(findings, load_accept_file(path), date(2026, 11, 28))
    assert dup.acceptance is not None and again.outcomes[1].state == "active"


def _dup_account() -> str:
    return next(
        f.account_sid or ""
        for f in analyse(analysed_snapshot("2026-11-29")).findings
        if f.rule == "verified-callerid-duplicated"
    )


def test_every_format_keeps_and_marks_the_accepted_finding(
    snapshot_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = accept_toml(
        tmp_path / "accept.toml",
        [
            entry(
                rule="verified-callerid-duplicated", account=_dup_account(), caller_id=DUPLICATE_CID
            )
        ],
    )
    out_dir = tmp_path / "out"
    code, out, err = cli(
        capsys, "report", str(snapshot_file), "--out", str(out_dir), "--accept", str(path),
        "-f", "html", "-f", "json", "-f", "md", "-f", "csv", "--fail-on", "low",
    )  # fmt: skip
    assert code == 1, err  # the high finding is not accepted
    assert "2 finding(s): 1 high, 1 low; 1 accepted (not counted toward --fail-on)" in out
    assert "low (accepted)" in out  # the terminal table marks it too

    doc = json.loads((out_dir / "findings.json").read_text())
    accepted = [f for f in doc["findings"] if f["status"] == "accepted"]
    assert len(doc["findings"]) == 2 and len(accepted) == 1  # kept, not hidden
    assert accepted[0]["rule"] == "verified-callerid-duplicated"
    assert accepted[0]["acceptance"]["reason"] == "Shared front desk; moves in Q1"
    assert accepted[0]["acceptance"]["expires"] == "2027-03-31"
    assert doc["accepted_risks"]["entries"][0]["state"] == "active"

    html = (out_dir / "report.html").read_text()
    assert 'id="accepted"' in html and 'href="#accepted"' in html
    assert "accepted until 31 March 2027, Shared front desk; moves in Q1" in html
    assert html.count('class="finding-status status-accepted">accepted</span>') >= 1
    assert "1 finding is open; 1 is an accepted risk" in html  # the summary separates them

    md = (out_dir / "report.md").read_text()
    assert "low (accepted until 31 March 2027: Shared front desk; moves in Q1, J. Doe)" in md
    assert "| open | 0 | 1 | 0 | 0 | 0 | 1 |" in md and "| accepted | 0 | 0 | 0 | 1 | 0 | 1 |" in md

    rows = (out_dir / "inventory.csv").read_text().splitlines()
    assert rows[0].endswith(",findings,accepted,first_seen")
    marked = [r for r in rows if "verified-callerid-duplicated until 2027-03-31" in r]
    assert len(marked) == 2 and all(DUPLICATE_CID in r for r in marked)  # both accounts' rows


def test_sarif_suppressions_for_an_accepted_code_finding(tmp_path: Path) -> None:
    from review_data import analysis

    from auditor.render.sarif import sarif_document

    a = analysis()
    code = next(f for f in a.findings if f.source.kind == "code")
    path = accept_toml(tmp_path / "a.toml", [entry(fingerprint=code.fingerprint)])
    apply_acceptances(a.findings, load_accept_file(path), date(2026, 11, 29))
    results = sarif_document(analysed_snapshot("2026-11-29"), a)["runs"][0]["results"]
    marked = [r for r in results if r.get("suppressions")]
    assert len(marked) == 1 and len(results) > 1  # the others are not suppressed
    (suppression,) = marked[0]["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert "accepted by J. Doe until 2027-03-31" in suppression["justification"]


@pytest.mark.parametrize(
    ("fail_on", "accepted", "expected"),
    [
        ("high", ["alert"], 0),  # the high one is accepted, the low one is below high
        ("low", ["alert"], 1),  # the low one still fails at low
        ("low", ["alert", "dup"], 0),  # both accepted
        ("high", [], 1),  # nothing accepted
        ("high", ["alert-expired"], 1),  # an expired acceptance does not protect
    ],
)
def test_fail_on_counts_only_what_nobody_accepted(
    fail_on: str,
    accepted: list[str],
    expected: int,
    snapshot_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    entries = {
        "alert": entry(rule="alert-13214-observed", account=CLINIC, caller_id=ALERT_CID),
        "alert-expired": entry(
            rule="alert-13214-observed", account=CLINIC, caller_id=ALERT_CID, expires="2026-01-01"
        ),
        "dup": entry(
            rule="verified-callerid-duplicated", account=_dup_account(), caller_id=DUPLICATE_CID
        ),
    }
    path = accept_toml(tmp_path / "accept.toml", [entries[k] for k in accepted])
    code, _, err = cli(
        capsys, "report", str(snapshot_file), "--out", str(tmp_path / "o"),
        "--accept", str(path), "--fail-on", fail_on, "-f", "json",
    )  # fmt: skip
    assert code == expected, err
    if "alert-expired" in accepted:
        assert "expired on 2026-01-01" in err


def test_diff_accept_keeps_an_accepted_new_finding_from_failing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = save_snapshot(analysed_snapshot("2026-10-01", duplicate_fixed=True), tmp_path / "a")
    new = save_snapshot(analysed_snapshot("2026-11-29"), tmp_path / "b")
    code, out, err = cli(capsys, "diff", str(old), str(new), "--fail-on", "low")
    assert code == 1 and "verified-callerid-duplicated" in out
    dup = next(
        f
        for f in analyse(analysed_snapshot("2026-11-29")).findings
        if f.rule == "verified-callerid-duplicated"
    )
    path = accept_toml(tmp_path / "accept.toml", [entry(fingerprint=dup.fingerprint)])
    code, out, err = cli(
        capsys, "diff", str(old), str(new), "--fail-on", "low", "--accept", str(path)
    )
    assert code == 0, err
    assert "(accepted until 2027-03-31: Shared front desk; moves in Q1)" in out
    code, out, _ = cli(
        capsys, "diff", str(old), str(new), "--accept", str(path), "--format", "json"
    )
    (finding,) = json.loads(out)["findings"]["new"]
    assert finding["status"] == "accepted" and finding["acceptance"]["accepted_by"] == "J. Doe"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[[accept]\nrule = 1", "not valid TOML"),
        ('[[accepted]]\nreason = "x"', "unknown top-level key 'accepted'"),
        (
            '[[accept]]\nrule = "callerid-cross-account"\naccount = "AC' + "0" * 32 + '"\n'
            'caller_id = "+15550000000"\naccepted_by = "x"\nexpires = 2027-01-01',
            "entry 1: 'reason' is missing",
        ),
        (
            '[[accept]]\nfingerprint = "abc"\nreason = "r"\naccepted_by = "x"\n'
            "expires = 2027-01-01",
            "fingerprint must be 64 hex digits",
        ),
        (
            '[[accept]]\nrule = "callerid-typo"\naccount = "AC' + "0" * 32 + '"\n'
            'caller_id = "+1"\nreason = "r"\naccepted_by = "x"\nexpires = 2027-01-01',
            "unknown rule 'callerid-typo'",
        ),
        (
            '[[accept]]\nrule = "callerid-cross-account"\nreason = "r"\naccepted_by = "x"\n'
            "expires = 2027-01-01",
            "names no finding (missing account, caller_id)",
        ),
        (
            '[[accept]]\nfingerprint = "' + "a" * 64 + '"\nreason = "r"\naccepted_by = "x"\n'
            'expires = "next year"',
            "'expires' 'next year' is not a date",
        ),
        (
            '[[accept]]\nfingerprint = "' + "a" * 64 + '"\nreason = "r"\naccepted_by = "x"\n'
            "expires = 2027-01-01\nexpire = 2027-01-01",
            "unknown key 'expire'",
        ),
    ],
)
def test_a_malformed_file_is_one_line_exit_2(
    text: str,
    expected: str,
    snapshot_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "accept.toml"
    path.write_text(text)
    with pytest.raises(AuditorError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        load_accept_file(path)
    code, _, err = cli(
        capsys, "report", str(snapshot_file), "--out", str(tmp_path / "o"), "--accept", str(path)
    )
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and expected in lines[0], err
    assert f"accept file {path}" in lines[0]
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_missing_accept_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(AuditorError, match="not found; check the --accept path"):
        load_accept_file(tmp_path / "nope.toml")
