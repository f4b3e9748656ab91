"""The collector against hostile or garbled API answers, over real HTTP through the SDK.

The emulator's `faults.raw_answers` serves a given body for one path (as a captive
portal, an intercepting proxy or a hostile --api-url would). A garbled *first* answer
is the operator's network: one line, exit 2. Anything odd later is a coverage error
for that account and source; the run completes and `report` loads what `collect` wrote.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from test_cli import assert_one_line_error, cli

from auditor.emulator import EmulatorServer, generate_hierarchy
from auditor.snapshot import load_snapshot

ACCOUNTS = "/api/2010-04-01/Accounts.json"


@pytest.fixture(scope="module")
def base() -> dict[str, Any]:
    return generate_hierarchy(2, 3, alerts_per_account=1)


def parent(scenario: dict[str, Any]) -> tuple[str, str]:
    acc = scenario["accounts"][0]
    return acc["sid"], acc["auth_token"]


@pytest.fixture
def scenario(base: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(base)


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch, scenario: dict[str, Any]) -> Iterator[EmulatorServer]:
    """The emulator for `scenario` (edit the scenario before using this fixture)."""
    for var in ("TWILIO_API_KEY", "TWILIO_API_SECRET"):
        monkeypatch.delenv(var, raising=False)
    sid, token = parent(scenario)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", token)
    with EmulatorServer(scenario) as server:
        monkeypatch.setenv("TWILIO_AUDIT_API_URL", server.url)
        yield server


def answer(server: EmulatorServer, scenario: dict[str, Any], path: str, account: int = 0) -> Any:
    """What the emulator normally answers `account` for `path` (to build a hostile variant)."""
    acc = scenario["accounts"][account]
    resp = requests.get(server.url + path, auth=(acc["sid"], acc["auth_token"]), timeout=10)
    resp.raise_for_status()
    return resp.json()


def raw(server: EmulatorServer, *answers: dict[str, Any]) -> None:
    server.set_faults(raw_answers=list(answers))


def collect(capsys: pytest.CaptureFixture[str], out: Path) -> tuple[int, str, str]:
    return cli(capsys, "collect", "--out", str(out), "-q")


# --------------------------------------------------------------------------- the first answer


@pytest.mark.parametrize(
    "body, content_type, words",
    [
        (
            "<html><body>Sign in to the hotel Wi-Fi</body></html>",
            "text/html",
            "an HTML page instead of JSON (a captive portal or proxy?)",
        ),
        ('{"accounts": [{"sid": "AC', "application/json", "truncated JSON"),
        ([{"sid": "AC" + "0" * 32}], "application/json", "a JSON list where Twilio answers an"),
        ("", "application/json", "an empty answer"),
        ({"unexpected": 1, "keys": 2}, "application/json", "not in the shape of a Twilio list"),
        ("[" * 100_000 + "]" * 100_000, "application/json", "JSON nested too deeply"),
    ],
)
def test_a_garbled_first_answer_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
    serve: EmulatorServer,
    tmp_path: Path,
    body: Any,
    content_type: str,
    words: str,
) -> None:
    raw(serve, {"path": ACCOUNTS, "status": 200, "content_type": content_type, "body": body})
    code, _, err = collect(capsys, tmp_path / "out")
    assert code == 2
    assert_one_line_error(err, "did not answer like the Twilio API", words, "--api-url")
    assert not (tmp_path / "out" / "snapshot.json").exists()
    code, _, err = cli(capsys, "audit", "--out", str(tmp_path / "audit"), "-q")
    assert code == 2
    assert_one_line_error(err, words)


# --------------------------------------------------------------------------- later answers


def test_a_garbled_later_answer_is_a_coverage_error_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str],
    scenario: dict[str, Any],
    serve: EmulatorServer,
    tmp_path: Path,
) -> None:
    sub = scenario["accounts"][1]["sid"]
    other = scenario["accounts"][2]["sid"]
    flow = scenario["accounts"][2]["flows"][0]["sid"]
    raw(
        serve,
        {
            "path": f"/api/2010-04-01/Accounts/{sub}/IncomingPhoneNumbers.json",
            "content_type": "text/html",
            "body": "<!doctype html><title>Blocked by policy</title>",
        },
        {"path": f"/studio/v2/Flows/{flow}", "body": '{"sid": "' + flow + '", "definit'},
    )
    code, out, err = collect(capsys, tmp_path / "out")
    assert code == 0, err
    assert "Traceback" not in err
    snap = load_snapshot(tmp_path / "out")
    assert snap.coverage[sub]["phone_numbers"] == (
        "error: garbled answer: an HTML page instead of JSON (a captive portal or proxy?)"
    )
    assert snap.coverage[other]["flows"] == (
        "error: garbled answer: truncated JSON (the answer stops mid-document)"
    )
    assert snap.coverage[other]["phone_numbers"] == "ok"
    assert snap.coverage[sub]["flows"] == "ok"
    assert {n.account_sid for n in snap.phone_numbers} == {scenario["accounts"][0]["sid"], other}
    assert "source(s) not read: see coverage" in out
    code, _, err = cli(capsys, "report", str(tmp_path / "out"), "-o", str(tmp_path / "r"))
    assert code in (0, 1), err


# --------------------------------------------------------------------------- odd records


def test_odd_records_are_skipped_or_kept_as_text_and_report_loads_the_snapshot(
    capsys: pytest.CaptureFixture[str],
    scenario: dict[str, Any],
    serve: EmulatorServer,
    tmp_path: Path,
) -> None:
    root, _ = parent(scenario)
    sub = scenario["accounts"][1]["sid"]
    listing = answer(serve, scenario, ACCOUNTS + "?PageSize=1000")
    listing["accounts"][1]["friendly_name"] = 4711  # an integer name: kept, as text
    listing["accounts"].append({**listing["accounts"][2], "sid": None})  # no SID: skipped
    numbers_path = f"/api/2010-04-01/Accounts/{sub}/IncomingPhoneNumbers.json"
    numbers = answer(serve, scenario, numbers_path + "?PageSize=1000")
    numbers["incoming_phone_numbers"][0]["sid"] = None
    numbers["incoming_phone_numbers"][1]["friendly_name"] = 12
    numbers["incoming_phone_numbers"][1]["capabilities"] = ["voice"]
    numbers["incoming_phone_numbers"][2]["voice_application_sid"] = "../../Accounts"
    raw(serve, {"path": ACCOUNTS, "body": listing}, {"path": numbers_path, "body": numbers})

    code, _, err = collect(capsys, tmp_path / "out")
    assert code == 0, err
    snap = load_snapshot(tmp_path / "out")  # what collect wrote, report loads
    assert [a.sid for a in snap.accounts] == [a["sid"] for a in scenario["accounts"]]
    assert snap.account(sub).friendly_name == "4711"  # type: ignore[union-attr]
    kept = [n for n in snap.phone_numbers if n.account_sid == sub]
    assert [n.friendly_name for n in kept] == ["12"]
    assert kept[0].capabilities == {}
    assert snap.coverage[sub]["phone_numbers"] == (
        "error: 2 records Twilio returned could not be used: phone number (no SID) with sid "
        "null, not a Twilio SID"
    )
    assert snap.coverage[root]["phone_numbers"] == "ok"
    notes = " ".join(snap.notes)
    assert "The account list held 1 record(s) that could not be used" in notes
    assert "account " + sub + ": friendly_name was a number" in notes
    code, _, err = cli(capsys, "report", str(tmp_path / "out"), "-o", str(tmp_path / "r"))
    assert code in (0, 1), err


def test_a_record_the_loader_would_reject_never_reaches_the_snapshot(
    capsys: pytest.CaptureFixture[str],
    scenario: dict[str, Any],
    serve: EmulatorServer,
    tmp_path: Path,
) -> None:
    sub = scenario["accounts"][1]["sid"]
    service = scenario["accounts"][1]["services"][0]
    fn = service["functions"][0]
    version = fn["versions"][-1]["sid"]
    path = (
        f"/serverless/v1/Services/{service['sid']}/Functions/{fn['sid']}/Versions/{version}/Content"
    )
    content = answer(serve, scenario, path, account=1)
    content["content"] = {"not": "text"}
    raw(serve, {"path": path, "body": content})
    code, _, err = collect(capsys, tmp_path / "out")
    assert code == 0, err
    snap = load_snapshot(tmp_path / "out")
    assert snap.coverage[sub]["functions"] == (
        f"error: garbled answer: function version {version}: content is a dict"
    )
    assert all(isinstance(f.content, str) for f in snap.functions)


# --------------------------------------------------------------------------- deep JSON


def deep_definition(levels: int, caller_id: str) -> str:
    """A Studio definition whose widget is where Twilio puts it and whose junk is `levels` deep."""
    junk = '{"a":' * levels + "1" + "}" * levels
    widget = {
        "name": "dial",
        "type": "connect-call-to",
        "transitions": [],
        "properties": {"caller_id": caller_id, "noun": "number", "to": "+15005550006"},
    }
    return (
        '{"description": "deep", "initial_state": "Trigger", "flags": {}, "states": ['
        + json.dumps(widget)
        + ', {"name": "junk", "type": "set-variables", "properties": {"variables": '
        + junk
        + "}}]}"
    )


@pytest.mark.parametrize("levels", [500, 900, 990, 5000])
def test_a_deep_studio_definition_never_prevents_the_snapshot(
    capsys: pytest.CaptureFixture[str],
    scenario: dict[str, Any],
    serve: EmulatorServer,
    tmp_path: Path,
    levels: int,
) -> None:
    """Cut below 64 levels (its widgets still audited) when the SDK could parse it; past
    the parser's own stack (about 990 levels in a worker thread), a coverage error."""
    account = scenario["accounts"][1]
    flow = account["flows"][0]["sid"]
    fetched = answer(serve, scenario, f"/studio/v2/Flows/{flow}", account=1)
    fetched["definition"] = "DEFINITION"
    body = json.dumps(fetched).replace('"DEFINITION"', deep_definition(levels, "+15551239999"))
    raw(serve, {"path": f"/studio/v2/Flows/{flow}", "body": body})
    code, _, err = collect(capsys, tmp_path / "out")
    assert code == 0, err
    snap = load_snapshot(tmp_path / "out")
    stored = next(f for f in snap.flows if f.sid == flow)
    coverage = snap.coverage[account["sid"]]["flows"]
    parsed = coverage == "ok"
    if levels <= 900:
        assert parsed
    if levels == 5000:
        assert coverage == "error: garbled answer: JSON nested too deeply to read"
    if parsed:
        states = stored.definition["states"]
        assert states[0]["properties"]["caller_id"] == "+15551239999"  # type: ignore[index]
        text = (tmp_path / "out" / "snapshot.json").read_text()
        assert "[nested too deeply: cut by twilio-audit]" in text
        assert any(
            f"flows {flow}: JSON nested deeper than 64 levels was cut" in n for n in snap.notes
        )
    else:
        assert coverage == "error: garbled answer: JSON nested too deeply to read"
        assert stored.definition == {}  # the listed flow, without the unreadable definition
    code, _, err = cli(
        capsys, "report", str(tmp_path / "out"), "-o", str(tmp_path / "r"), "-f", "json"
    )
    assert code in (0, 1), err
    found = json.loads((tmp_path / "r" / "findings.json").read_text())
    assert any(f["raw_value"] == "+15551239999" for f in found["findings"]) == parsed


def test_report_on_a_deeply_nested_snapshot_or_policy_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    deep = tmp_path / "deep.json"
    for levels in (150, 100_000):
        deep.write_text(
            '{"schema_version": 1, "root_account_sid": "AC'
            + "0" * 32
            + '", "notes": '
            + "[" * levels
            + "]" * levels
            + "}"
        )
        code, _, err = cli(capsys, "report", str(deep), "-o", str(tmp_path / "o"))
        assert code == 2
        assert_one_line_error(err, str(deep), "nested", "not one of its snapshots")
    policy = tmp_path / "deep.toml"
    for levels in (20, 100_000):
        policy.write_text(f"[accounts.AC{'0' * 32}]\ncaller_ids = " + "[" * levels + "]" * levels)
        code, _, err = cli(capsys, "check", "--policy", str(policy))
        assert code == 2
        assert_one_line_error(err, "policy file", "nested too deeply")


def test_check_behind_a_captive_portal_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], scenario: dict[str, Any], serve: EmulatorServer
) -> None:
    sub = scenario["accounts"][1]["sid"]
    raw(
        serve,
        {
            "path": f"/api/2010-04-01/Accounts/{sub}/IncomingPhoneNumbers.json",
            "content_type": "text/html",
            "body": "<html>Please log in</html>",
        },
    )
    code, _, err = cli(capsys, "check", "--account", sub, "+15551230001")
    assert code == 2
    assert_one_line_error(err, "an HTML page instead of JSON", "--api-url")


def test_deep_xml_and_deep_twiml_answers_are_notes_not_crashes() -> None:
    from auditor.extract.twiml import extract_twiml
    from auditor.model import Source

    deep = "<Response>" + "<Gather>" * 50_000 + "</Gather>" * 50_000 + "</Response>"
    refs, notes = extract_twiml(deep, account_sid=None, source=Source("alert", "NO1"))
    assert refs == [] and notes == []
    dial = '<Response><Dial callerId="+15551230001">' + "<a>" * 50_000 + "</a>" * 50_000
    refs, notes = extract_twiml(dial + "</Dial></Response>", account_sid=None, source=Source("x"))
    assert [r.raw_value for r in refs] == ["+15551230001"] and notes == []


def test_one_item_that_breaks_an_extractor_is_a_note_and_the_rest_is_audited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import auditor.extract as extract
    from auditor.extract.studio import extract_flow
    from auditor.model import Snapshot, StudioFlow

    flows = [
        StudioFlow(f"FW{i:032x}", "AC" + "1" * 32, f"flow {i}", "published", 1, {}) for i in (1, 2)
    ]
    flows[1].definition = {
        "states": [
            {"name": "d", "type": "connect-call-to", "properties": {"caller_id": "+15551230001"}}
        ]
    }

    def fragile(flow: StudioFlow) -> Any:
        if flow.sid == flows[0].sid:
            raise ValueError("an extractor bug")
        return extract_flow(flow)

    monkeypatch.setattr(extract, "extract_flow", fragile)
    snap = Snapshot("AC" + "1" * 32, "2026-11-29T12:00:00Z", "0", flows=flows)
    refs, notes = extract.references_from_snapshot(snap)
    assert [r.raw_value for r in refs] == ["+15551230001"]
    assert notes == [
        f"flow {flows[0].sid}: could not be analysed (ValueError: a bug in twilio-audit, "
        "please report it); its caller IDs are not audited"
    ]
