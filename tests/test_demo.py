"""The demo hierarchy end to end: emulator → collector → analysis → every report format.

The whole expected set of findings is asserted (any extra finding means a clean
twin fired; any missing one means a rule went quiet), and every output file is
searched for every secret of the scenario.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from auditor.commands.demo import DemoRun, run_demo
from auditor.emulator import validate_scenario
from auditor.emulator.demo import (
    ABROAD_NUMBERS,
    DEMO_EXPECTED,
    DEMO_NOW,
    DEMO_WEB_ADDRESS,
    DEMO_WEBHOOKS,
    HILLCREST_RELEASED,
    INTERNATIONAL,
    INTL_JP,
    INTL_TR,
    INTL_UK_VERIFIED,
    INTL_US,
    MAIN_LINE,
    NUMBER_COUNTS,
    PARENT,
    RIVERSIDE,
    SHARED_IVR_URL,
    SOFTPHONE_URL,
    demo_baseline_scenario,
    demo_probe_policy,
    demo_resolver,
    demo_scenario,
    demo_secrets,
    scenario_json,
)
from auditor.findings import severity_counts
from auditor.model import Severity
from auditor.outbound import OutboundFailed, OutboundPolicy, OutboundRefused
from auditor.rules import ALL_RULES

# The rule table of the design: tests/test_rules.py checks the registry holds exactly it.
DESIGN_RULES = {rule.id for rule in ALL_RULES}
# Rules that need the webhook probe: the demo probes its simulated web apps (DemoWebApps,
# behind demo_probe_policy), so none is pending any more; listed so a rule going quiet is named.
PENDING_PROBE: set[str] = set()
ALL_FORMATS = ["html", "pdf", "json", "csv", "sarif", "md"]


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    out = tmp_path_factory.mktemp("demo") / "twilio-audit-demo"
    yield run_demo(out, ALL_FORMATS, now=DEMO_NOW)


def _tuples(findings: list[dict[str, object]]) -> set[tuple[str, str, str, str]]:
    return {
        (str(f["rule"]), str(f["account_sid"]), str(f["caller_id"]), str(f["source"]["kind"]))  # type: ignore[index]
        for f in findings
    }


# --------------------------------------------------------------------------- the scenario


def test_scenario_is_deterministic_and_valid() -> None:
    assert scenario_json(demo_scenario()) == scenario_json(demo_scenario())
    validate_scenario(demo_scenario())
    validate_scenario(demo_baseline_scenario())


def test_scenario_is_a_realistic_hierarchy() -> None:
    scenario = demo_scenario()
    accounts = scenario["accounts"]
    assert accounts[0]["sid"] == PARENT and accounts[0]["owner_account_sid"] is None
    subs = accounts[1:]
    assert len(subs) == 9 and all(a["owner_account_sid"] == PARENT for a in subs)
    assert sorted(a["status"] for a in subs).count("suspended") == 1
    assert sorted(a["status"] for a in subs).count("closed") == 1
    numbers = sum(len(a["incoming_phone_numbers"]) for a in accounts)
    assert numbers == sum(NUMBER_COUNTS.values()) + len(ABROAD_NUMBERS) >= 300
    functions = [f for a in accounts for s in a["services"] for f in s["functions"]]
    assert any(len(f["versions"]) > 1 for f in functions)


def test_alert_dates_follow_the_clock() -> None:
    later = DEMO_NOW.replace(year=2031)
    dates = [al["date_created"] for a in demo_scenario(later)["accounts"] for al in a["alerts"]]
    assert dates and all(d.startswith("2031-") for d in dates)


def test_webhook_data_for_the_probe_rules_is_in_place() -> None:
    scenario = demo_scenario()
    served = {
        a["sid"]
        for a in scenario["accounts"]
        for n in a["incoming_phone_numbers"]
        if n["voice_url"] == SHARED_IVR_URL
    }
    assert len(served) == 3
    apps = [p for a in scenario["accounts"] for p in a["applications"]]
    assert any(p["voice_url"] == SOFTPHONE_URL for p in apps)
    assert "callerId" not in DEMO_WEBHOOKS[SOFTPHONE_URL]


def test_demo_web_apps_check_the_probe_signature() -> None:
    scenario = demo_scenario()
    tokens = {a["sid"]: a["auth_token"] for a in scenario["accounts"]}
    policy = demo_probe_policy(scenario)
    params = {"AccountSid": RIVERSIDE, "From": "+15005550006", "To": "+19715550120"}
    body = urlencode(params).encode()
    good = RequestValidator(tokens[RIVERSIDE]).compute_signature(SHARED_IVR_URL, params)
    ok = policy.send("POST", SHARED_IVR_URL, headers={"X-Twilio-Signature": good}, body=body)
    forged = policy.send("POST", SHARED_IVR_URL, headers={"X-Twilio-Signature": "x"}, body=body)
    assert ok.status == 200 and "<Dial" in ok.text()
    assert forged.status == 403 and "<Dial" not in forged.text()
    with pytest.raises(OutboundFailed, match="cannot resolve"):
        policy.send("POST", "https://elsewhere.example/voice", body=body)


def test_only_the_demo_policy_opens_the_demo_web_apps() -> None:
    """The demo's apps sit behind an allow-list; the default policy refuses their address."""
    policy = demo_probe_policy(demo_scenario())
    assert policy.check(SHARED_IVR_URL) == DEMO_WEB_ADDRESS
    plain = OutboundPolicy(resolver=demo_resolver)
    with pytest.raises(OutboundRefused, match="loopback"):
        plain.check(SHARED_IVR_URL)
    with pytest.raises(OutboundRefused):  # the demo's allow-list opens the demo's address only
        policy.check("http://127.0.0.2/voice")


# --------------------------------------------------------------------------- end to end


def test_demo_yields_exactly_the_expected_findings(demo_run: DemoRun) -> None:
    doc = json.loads((demo_run.result.out_dir / "findings.json").read_text())
    got = _tuples(doc["findings"])
    assert got - DEMO_EXPECTED == set(), "findings that should not fire (a clean twin fired)"
    assert DEMO_EXPECTED - got == set(), "expected findings that did not fire"
    assert doc["root_account_sid"] == PARENT


def test_every_rule_of_the_design_fires_except_those_pending_the_probe(demo_run: DemoRun) -> None:
    fired = {f.rule for f in demo_run.result.analysis.findings}
    assert len(DESIGN_RULES) == 16
    assert fired == DESIGN_RULES - PENDING_PROBE
    assert {rule for rule, *_ in DEMO_EXPECTED} == DESIGN_RULES - PENDING_PROBE


def test_findings_are_marked_against_the_baseline(demo_run: DemoRun) -> None:
    findings = demo_run.result.analysis.findings
    status = {(f.rule, f.caller_id): f.status for f in findings}
    assert {f.status for f in findings} == {"new", "unchanged"}
    assert status[("callerid-released", HILLCREST_RELEASED)] == "new"  # released since
    assert status[("callerid-cross-account", MAIN_LINE)] == "unchanged"  # already there
    comparison = demo_run.result.comparison
    assert comparison is not None and len(comparison.new) + len(comparison.unchanged) == len(
        findings
    )
    doc = json.loads((demo_run.result.out_dir / "findings.json").read_text())
    # demo-accept.toml accepts one finding: findings.json says "accepted" for it (issue #13).
    statuses = [f["status"] for f in doc["findings"]]
    assert set(statuses) == {"new", "unchanged", "accepted"} and statuses.count("accepted") == 1


def test_no_finding_is_reported_twice(demo_run: DemoRun) -> None:
    keys = [
        (f.rule, f.account_sid, f.caller_id, f.source.kind, f.source.sid, f.source.location)
        for f in demo_run.result.analysis.findings
    ]
    assert sorted(k for k in set(keys) if keys.count(k) > 1) == []


def test_the_probe_reached_every_simulated_web_app(demo_run: DemoRun) -> None:
    hooks = demo_run.result.snapshot.webhooks
    assert {h.url for h in hooks} == set(DEMO_WEBHOOKS)
    assert all(h.http_status == 200 and h.error is None for h in hooks)
    assert any(h.client_leg for h in hooks)


def test_demo_writes_every_format_and_exits_zero(demo_run: DemoRun) -> None:
    names = {p.name for p in demo_run.result.files}
    assert names == {
        "report.html",
        "report.pdf",
        "findings.json",
        "inventory.csv",
        "findings.sarif",
        "report.md",
    }
    assert all(p.stat().st_size > 0 for p in demo_run.result.files)
    assert (demo_run.result.out_dir / "snapshot.json").exists()
    assert demo_run.baseline_path.exists() and demo_run.policy_path.exists()
    assert demo_run.result.exit_code == 0  # a demo: findings do not fail it
    counts = severity_counts(demo_run.result.analysis.findings)
    assert counts[Severity.CRITICAL.value] >= 1 and counts[Severity.INFO.value] >= 1


def test_only_deployed_function_versions_are_collected(demo_run: DemoRun) -> None:
    snapshot = demo_run.result.snapshot
    contents = "\n".join(f.content for f in snapshot.functions)
    assert "+15095550177" not in contents  # an older build
    assert "971.555.0103" not in contents  # written after the last deploy


def _output_texts(out: Path) -> Iterator[tuple[Path, str]]:
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield path, data.decode("utf-8", errors="replace")
        if path.suffix == ".pdf" and shutil.which("pdftotext"):
            text = subprocess.run(
                ["pdftotext", str(path), "-"], capture_output=True, check=True, timeout=60
            ).stdout
            yield path, text.decode("utf-8", errors="replace")


def test_no_secret_in_any_output_file(demo_run: DemoRun) -> None:
    secrets = set(demo_secrets(demo_scenario())) | set(demo_secrets(demo_baseline_scenario()))
    assert len(secrets) >= 8 + 1 + 5  # tokens, the API secret, env values
    out = demo_run.result.out_dir
    checked = 0
    for path, text in _output_texts(out):
        checked += 1
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{path} contains a secret of the scenario"
    assert checked >= 9  # six reports, snapshot, baseline snapshot, policy (+ pdf text)
    # The environment variables kept are only those used as caller IDs.
    kept = {k for f in demo_run.result.snapshot.functions for k in f.environment}
    assert kept == {"NURSE_LINE_CID", "BILLING_CID", "CC_MAIN_CID", "CALLBACK_CID"}


def test_the_clinic_abroad_reports_country_account_and_source(demo_run: DemoRun) -> None:
    """Each destination finding names the account, caller ID, destination country and source."""
    doc = json.loads((demo_run.result.out_dir / "findings.json").read_text())
    abroad = {
        (f["rule"], f["caller_id"], f["destination_country"]): f
        for f in doc["findings"]
        if f["account_sid"] == INTERNATIONAL and "destination" in f
    }
    assert set(abroad) == {
        ("callerid-geo-restricted", INTL_TR, "TR"),
        ("callerid-geo-restricted", INTL_JP, "JP"),
        ("callerid-geo-restricted", INTL_UK_VERIFIED, "GB"),
        ("dial-destination-not-permitted", INTL_US, "GB"),
        ("dial-destination-not-permitted", INTL_US, "DE"),
    }
    severities = {k[2]: f["severity"] for k, f in abroad.items() if k[0].startswith("callerid")}
    assert severities == {"TR": "high", "JP": "medium", "GB": "low"}  # refused/replaced/surcharge
    premium = abroad[("dial-destination-not-permitted", INTL_US, "GB")]
    assert premium["error_codes"] == [21215] and "toll-fraud" in premium["remediation"]
    berlin = abroad[("dial-destination-not-permitted", INTL_US, "DE")]
    assert berlin["error_codes"] == [13227] and berlin["destination"] == "+4930901820"
    turkey = abroad[("callerid-geo-restricted", INTL_TR, "TR")]
    assert "https://www.twilio.com/en-us/guidelines/tr/voice" in turkey["message"]
    assert INTL_US in turkey["remediation"]  # the US desk is a caller ID Turkey allows
    # The clinics inherit the parent's US-only permissions; the international office does not.
    snapshot = demo_run.result.snapshot
    inheritance = {
        g.account_sid: g.inheritance
        for g in snapshot.dialing_permissions
        if g.region in (None, "us1")  # Geo Permissions are per region; these are US1's
    }
    assert inheritance[INTERNATIONAL] is False and inheritance[RIVERSIDE] is True
