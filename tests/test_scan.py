"""`twilio-audit scan`: text, JSON, SARIF, exit codes, and checks against a snapshot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from auditor.cli import main
from auditor.model import Account, PhoneNumber, Snapshot, VerifiedCallerId
from auditor.snapshot import save_snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "scan"
SKIP_PATTERNS = ("--exclude", "patterns")  # the pattern apps have their own test
PARENT = "AC" + "0" * 32
CHILD = "AC" + "a" * 32
SIBLING = "AC" + "b" * 32


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["scan", *args])
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


@pytest.fixture(scope="module")
def snapshot_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    snap = Snapshot(
        root_account_sid=PARENT,
        collected_at="2026-11-29T12:00:00Z",
        tool_version="test",
        accounts=[
            Account(PARENT, "Parent", "active", None),
            Account(CHILD, "Clinic", "active", PARENT),
            Account(SIBLING, "Billing", "active", PARENT),
        ],
        phone_numbers=[
            PhoneNumber("PN" + "1" * 32, CHILD, "+15551230002"),
            PhoneNumber("PN" + "2" * 32, SIBLING, "+15551230001"),
            PhoneNumber("PN" + "3" * 32, CHILD, "+15551230080"),
        ],
        verified_caller_ids=[VerifiedCallerId("PN" + "4" * 32, CHILD, "+15551230060")],
    )
    return save_snapshot(snap, tmp_path_factory.mktemp("snap") / "snapshot.json")


def test_text_lists_references_with_file_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, str(FIXTURE), *SKIP_PATTERNS, "--fail-on", "never")
    assert rc == 0
    assert "python/voice.py:13  callerId '+15551230002'  number  dials number" in out
    assert "js/dial.js  1 Dial(s) without callerId (lines 14)  dials number" in out
    assert "python/voice.py:58  From '+15551230003'  number  dials number  via calls-api" in out
    assert "+15550000" not in out  # commented-out code and look-alike strings
    assert "34 reference(s) in 14 file(s) scanned, 1 skipped" in out


def test_standalone_findings_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, str(FIXTURE), *SKIP_PATTERNS, "--format", "json")
    doc = json.loads(out)
    rules = {(f["rule"], f["source"]["location"]) for f in doc["findings"]}
    assert rules == {
        ("callerid-not-e164", "python/voice.py:40"),
        ("callerid-not-e164", "twiml/forward.xml:5"),
        ("callerid-empty", "python/voice.py:46"),
        ("callerid-empty", "js/dial.js:12"),
        ("callerid-client-on-pstn", "js/outbound.ts:8"),
    }
    assert rc == 1
    assert len(doc["references"]) == 34 and doc["snapshot_used"] is False
    rc, _, _ = _run(
        capsys, str(FIXTURE), *SKIP_PATTERNS, "--format", "json", "--fail-on", "critical"
    )
    assert rc == 0


def test_snapshot_checks_literals_against_the_hierarchy(
    capsys: pytest.CaptureFixture[str], snapshot_file: Path
) -> None:
    rc, out, _ = _run(
        capsys,
        str(FIXTURE),
        *SKIP_PATTERNS,
        "--snapshot",
        str(snapshot_file),
        "--account",
        CHILD,
        "-f",
        "json",
    )
    doc = json.loads(out)
    found = {(f["rule"], f["source"]["location"]) for f in doc["findings"]}
    assert ("callerid-cross-account", "python/voice.py:21") in found  # sibling's number
    assert ("callerid-not-authorized", "python/voice.py:58") in found  # nobody's number
    assert not any(loc == "python/voice.py:13" for _, loc in found)  # its own number
    assert not any(loc == "twiml/forward.xml:4" for _, loc in found)  # its verified caller ID
    cross = next(f for f in doc["findings"] if f["rule"] == "callerid-cross-account")
    assert cross["owner_account_sid"] == SIBLING and cross["account_sid"] == CHILD
    assert all(f["source"]["kind"] == "code" for f in doc["findings"])
    assert rc == 1


def test_sarif_is_2_1_0_with_file_and_line(capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, _ = _run(capsys, str(FIXTURE), *SKIP_PATTERNS, "--format", "sarif")
    doc = json.loads(out)
    assert doc["version"] == "2.1.0"
    results = doc["runs"][0]["results"]
    rule_ids = {r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]}
    assert {r["ruleId"] for r in results} <= rule_ids
    located = {
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in results
    }
    assert ("callerid-empty", "js/dial.js", 12) in located
    assert ("callerid-reference", "php/voice.php", 10) in located
    assert rc == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "no such file"),
        (["{fixture}", "--account", "ACnope"], "not an Account SID"),
        (["{fixture}", "--snapshot", "{snapshot}"], "--snapshot needs --account"),
        (
            ["{fixture}", "--snapshot", "{snapshot}", "--account", "AC" + "c" * 32],
            "not in the snapshot",
        ),
        (["{fixture}", "--snapshot", "{fixture}/.env", "--account", CHILD], "not valid JSON"),
    ],
)
def test_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    snapshot_file: Path,
    args: list[str],
    message: str,
) -> None:
    subst = {
        "missing": str(tmp_path / "nope"),
        "fixture": str(FIXTURE),
        "snapshot": str(snapshot_file),
    }
    rc, _, err = _run(capsys, *(a.format(**subst) for a in args))
    assert rc == 2
    assert message in err and "Traceback" not in err


def test_out_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "scan.json"
    rc, out, _ = _run(capsys, str(FIXTURE / "twiml"), "-f", "json", "-o", str(target))
    assert out == "" and rc == 1
    refs = json.loads(target.read_text())["references"]
    assert [r["source"]["location"] for r in refs] == [
        "bin.twiml:1",
        "forward.xml:4",
        "forward.xml:5",
        "forward.xml:6",
    ]


def test_text_groups_dials_without_callerid_per_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "ivr.js").write_text(
        "const twilio = require('twilio');\n"
        "const r = new twilio.twiml.VoiceResponse();\n"
        + "".join(f"r.dial('+1415555{n:04d}');\n" for n in range(30))
        + "r.dial({ callerId: '+14155550999' }, '+14155551000');\n"
    )
    _, out, _ = _run(capsys, str(tmp_path), "--fail-on", "never")
    lines = out.splitlines()
    summary = [line for line in lines if "without callerId" in line]
    assert summary == [
        "ivr.js  30 Dial(s) without callerId (lines "
        + ", ".join(str(n) for n in range(3, 23))
        + " and 10 more)  dials number"
    ]
    assert any(line.startswith("ivr.js:33  callerId '+14155550999'") for line in lines)
    # JSON keeps every one
    _rc, out, _ = _run(capsys, str(tmp_path), "--format", "json", "--fail-on", "never")
    refs = json.loads(out)["references"]
    assert sum(r["missing"] for r in refs) == 30


def test_json_says_via_and_value_source_for_every_reference(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _rc, out, _ = _run(
        capsys, str(FIXTURE), *SKIP_PATTERNS, "--format", "json", "--fail-on", "never"
    )
    refs = json.loads(out)["references"]
    assert all(r["via"] in ("dial", "calls-api", "conference-participant", "studio") for r in refs)
    assert all((r["value_source"] is None) == r["missing"] for r in refs)
    by_loc = {r["source"]["location"]: r for r in refs}
    assert by_loc["python/voice.py:58"]["via"] == "calls-api"
    assert by_loc["python/voice.py:58"]["destination"] == "+15557770005"
    assert by_loc["js/dial.js:10"]["value_source"] == "env"
    assert by_loc["js/dial.js:11"]["value_source"] == "passthrough"
    assert by_loc["java/Settings.java:10"]["value_source"] == "config"
    assert by_loc["python/voice.py:13"]["value_source"] == "literal"


def test_exclude_and_include_tests(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    line = "r.dial(caller_id='+14155550100')\n"
    for rel in ("app/voice.py", "legacy/old.py", "tests/test_voice.py", "app/voice_test.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(line)

    def located(*args: str) -> set[str]:
        _rc, out, _ = _run(capsys, str(tmp_path), "-f", "json", "--fail-on", "never", *args)
        doc = json.loads(out)
        return {r["source"]["location"].rsplit(":", 1)[0] for r in doc["references"]}

    assert located() == {"app/voice.py", "legacy/old.py"}
    assert located("--exclude", "legacy") == {"app/voice.py"}
    assert located("--exclude", "legacy/*", "--exclude", "app/*.py") == set()
    assert located("--include-tests") == {
        "app/voice.py",
        "legacy/old.py",
        "tests/test_voice.py",
        "app/voice_test.py",
    }
    _rc, out, _ = _run(capsys, str(tmp_path), "--fail-on", "never")
    assert "2 test file(s) not read" in out and "--include-tests" in out


def test_prose_is_never_twiml_and_assertions_are_not_dials(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    notes = tmp_path / "NOTES.md"
    notes.write_text('Use <Dial callerId="+14155550100"> to forward; see <Dial>.\n')
    _, out, _ = _run(capsys, str(notes), "-f", "json", "--fail-on", "never")
    doc = json.loads(out)
    assert doc["references"] == [] and "not code, TwiML or a template" in doc["notes"][0]
    bare = tmp_path / "forward"
    bare.write_text('<Response><Dial callerId="+14155550100">+14155550101</Dial></Response>')
    _, out, _ = _run(capsys, str(bare), "-f", "json", "--fail-on", "never")
    assert [r["raw_value"] for r in json.loads(out)["references"]] == ["+14155550100"]
    spec = tmp_path / "tests" / "voice.test.js"
    spec.parent.mkdir()
    spec.write_text(
        "const twilio = require('twilio');\n"
        "test('forwards', () => {\n"
        "  expect(body).toContain('<Dial callerId=\"+14155550100\">');\n"
        "  const expected = '<Response><Dial>+14155550101</Dial></Response>';\n"
        "  expect(render()).toEqual(expected);\n"
        "});\n"
    )
    _, out, _ = _run(capsys, str(tmp_path / "tests"), "-f", "json", "--include-tests")
    assert json.loads(out)["references"] == []


def test_placeholder_from_is_high_and_a_flex_function_request_is_not_passthrough(
    capsys: pytest.CaptureFixture[str],
) -> None:
    patterns = FIXTURE / "patterns"
    rc, out, _ = _run(capsys, str(patterns / "legacy-sdks"), "--format", "json")
    doc = json.loads(out)
    high = {f["source"]["location"] for f in doc["findings"] if f["severity"] == "high"}
    assert "call.ts:9" in high  # from: '+phoneNumber': never a number Twilio accepts
    assert rc == 1
    _, out, _ = _run(capsys, str(patterns / "flex-serverless"), "--format", "json")
    refs = {r["source"]["location"]: r for r in json.loads(out)["references"]}
    flex = refs["outbound-dial.js:9"]  # the Flex UI's parameter, not the call's own number
    assert (flex["passthrough"], flex["value_source"]) == (False, "runtime")
    attributes = refs["cold-transfer.js:12"]  # <Dial${attributes}>: a callerId set at run time
    assert (attributes["missing"], attributes["kind"]) == (False, "template")


# --------------------------------------------------------------------------- regions


@pytest.fixture(scope="module")
def regional_folder(tmp_path_factory: pytest.TempPathFactory, snapshot_file: Path) -> Path:
    """An audit folder of two regions: snapshot.json (US1) and snapshot-ie1.json."""
    from dataclasses import replace

    from auditor.snapshot import load_snapshot, save_snapshots

    us1 = load_snapshot(snapshot_file)
    ie1 = replace(us1, region="ie1", edge="dublin", verified_caller_ids=[])
    folder = tmp_path_factory.mktemp("regions")
    save_snapshots([us1, ie1], folder)
    assert sorted(p.name for p in folder.iterdir()) == ["snapshot-ie1.json", "snapshot.json"]
    return folder


def _scan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    rc, out, _ = _run(capsys, str(FIXTURE), *SKIP_PATTERNS, "-f", "json", *args)
    return rc, json.loads(out)


def test_code_is_judged_in_the_region_it_runs_in(
    capsys: pytest.CaptureFixture[str], regional_folder: Path
) -> None:
    base = ("--snapshot", str(regional_folder), "--account", CHILD)
    _, ie1 = _scan_json(capsys, *base, "--region", "ie1")
    found = {(f["rule"], f["source"]["location"]): f for f in ie1["findings"]}
    # CHILD's Verified Caller ID works in US1, not in IE1 (read from snapshot-ie1.json)
    verified = found[("callerid-verified-unsupported-in-region", "twiml/forward.xml:4")]
    assert verified["region"] == "ie1" and ie1["region"] == "ie1"
    unowned = found[("callerid-not-authorized", "python/voice.py:58")]
    assert "OutgoingCallerIds" not in unowned["remediation"]
    assert "does not support Verified Caller IDs" in unowned["remediation"]
    _, us1 = _scan_json(capsys, *base, "--region", "us1")
    rules = {(f["rule"], f["source"]["location"]) for f in us1["findings"]}
    assert not any(loc == "twiml/forward.xml:4" for _, loc in rules)
    assert ("callerid-not-authorized", "python/voice.py:58") in rules
    assert us1["region"] == "us1"


def test_a_single_region_snapshot_judges_in_its_own_region(
    capsys: pytest.CaptureFixture[str], regional_folder: Path
) -> None:
    only_ie1 = regional_folder / "snapshot-ie1.json"
    _, doc = _scan_json(capsys, "--snapshot", str(only_ie1), "--account", CHILD)
    assert doc["region"] == "ie1"
    # IE1 has no Verified Caller IDs: the one CHILD verified in US1 is not there
    (f,) = [f for f in doc["findings"] if f["source"]["location"] == "twiml/forward.xml:4"]
    assert f["rule"] == "callerid-not-authorized" and f["region"] == "ie1"
    assert "OutgoingCallerIds" not in f["remediation"]
    rc, out, _ = _run(
        capsys, str(FIXTURE / "twiml"), "--snapshot", str(only_ie1), "--account", CHILD
    )
    assert "judged as running in IE1" in out and rc == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ((), "--snapshot holds audits of US1, IE1: pass --region us1 or --region ie1"),
        (("--region", "au1"), "--region au1: the snapshot holds no AU1 audit"),
        (("--region", "eu1"), "--region 'eu1' is not a Twilio Region"),
    ],
)
def test_a_multi_region_snapshot_needs_the_code_region(
    capsys: pytest.CaptureFixture[str],
    regional_folder: Path,
    extra: tuple[str, ...],
    message: str,
) -> None:
    rc, _, err = _run(
        capsys, str(FIXTURE), "--snapshot", str(regional_folder), "--account", CHILD, *extra
    )
    assert rc == 2 and message in err and "Traceback" not in err
