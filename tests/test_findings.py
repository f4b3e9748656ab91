"""findings.json shape, deterministic order, stable fingerprints, counts and exit thresholds."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest
from test_rules_support import (
    B_NUM,
    B_URL,
    B_VERIFIED,
    C_NUM,
    ROOT_NUM,
    STRANGER,
    A,
    B,
    alert,
    alert_ref,
    make_ref,
    make_snapshot,
    pn,
    webhook,
    webhook_ref,
)

from auditor.analysis import analyse_references
from auditor.errors import AuditorError
from auditor.findings import (
    exceeds,
    findings_document,
    fingerprint,
    severity_counts,
    sort_findings,
    worst_severity,
)
from auditor.model import (
    Analysis,
    DialingPermissionCountry,
    DialingPermissions,
    Finding,
    PhoneNumber,
    PolicyEntry,
    Snapshot,
    Source,
    VerifiedCallerId,
)

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "findings.schema.json").read_text())


def busy_snapshot() -> tuple[Snapshot, list, Snapshot, list[PolicyEntry]]:
    """A hierarchy on which every rule fires at least once."""
    alerts = [alert("1", A, "2026-11-20T10:00:00Z"), alert("2", A, "2026-11-21T10:00:00Z")]
    snap = make_snapshot(
        alerts=alerts,
        webhooks=[webhook(B_URL, [A, B]), webhook("https://x.example/c", [A], client_leg=True)],
    )
    snap.verified_caller_ids.append(VerifiedCallerId(pn("va"), A, B_VERIFIED))
    # A calls abroad: Germany is not in its Geo Permissions; Turkey refuses a Turkish caller ID.
    snap.phone_numbers.append(PhoneNumber(pn("tr"), A, "+902122223344", "Istanbul desk"))
    snap.dialing_permissions = [
        DialingPermissions(
            A,
            inheritance=False,
            countries=[
                DialingPermissionCountry("US", country_codes=["+1"], low_risk_numbers_enabled=True),
                DialingPermissionCountry(
                    "TR", country_codes=["+90"], low_risk_numbers_enabled=True
                ),
                DialingPermissionCountry("DE", country_codes=["+49"]),
            ],
            countries_read=True,
        )
    ]
    abroad = Source("studio_flow", "FW" + "a" * 32, "abroad")
    refs = [
        make_ref(
            "+15551110001", source=abroad, destination="+4930901820", destination_country="DE"
        ),
        make_ref(
            "+902122223344", source=abroad, destination="+902163334455", destination_country="TR"
        ),
        make_ref(STRANGER),
        make_ref(ROOT_NUM),
        make_ref("(555) 111-0001"),
        make_ref(""),
        make_ref("client:alice"),
        make_ref(C_NUM, source=Source("studio_flow", "FW" + "a" * 32, "x")),
        make_ref("{{trigger.call.From}}"),
        webhook_ref(B_NUM, B),
        webhook_ref(B_NUM, A),
        webhook_ref("", A, "https://x.example/c", missing=True),
        make_ref("+15550001111", source=Source("code", None, "dial.py:9")),
        *[alert_ref(a, B_NUM) for a in alerts],
        # B's Verified Caller ID on a Dial that runs in IE1 (no Verified Caller IDs there).
        make_ref(B_VERIFIED, B, region="ie1", source=Source("function", "ZH" + "e" * 32, "/x")),
    ]
    baseline = make_snapshot(collected_at="2026-10-01T00:00:00Z")
    baseline.phone_numbers.append(PhoneNumber(pn("old"), A, "+15550001111"))
    policy = [PolicyEntry(A, STRANGER, "Clinic A")]
    return snap, refs, baseline, policy


def busy_analysis() -> tuple[Snapshot, Analysis]:
    snap, refs, baseline, policy = busy_snapshot()
    return snap, analyse_references(snap, refs, baseline=baseline, policy=policy)


def test_every_rule_fires_on_the_busy_hierarchy() -> None:
    from auditor.rules import ALL_RULES

    _, analysis = busy_analysis()
    assert {f.rule for f in analysis.findings} == {r.id for r in ALL_RULES}


def test_findings_document_matches_the_schema() -> None:
    snap, analysis = busy_analysis()
    doc = findings_document(snap, analysis)
    jsonschema.validate(doc, SCHEMA)
    assert json.loads(json.dumps(doc)) == doc  # plain JSON, nothing lost
    assert doc["root_account_sid"] == snap.root_account_sid
    assert doc["coverage"] == {snap.root_account_sid: {"api": "ok"}, A: {"studio": "ok"}}
    assert list(doc["findings"][0])[:11] == [
        "rule",
        "severity",
        "account_sid",
        "caller_id",
        "raw_value",
        "owner_account_sid",
        "source",
        "impacted",
        "error_codes",
        "message",
        "remediation",
    ]


def test_destination_findings_carry_both_fields_and_others_neither() -> None:
    snap, analysis = busy_analysis()
    doc = findings_document(snap, analysis)
    by_rule = {f["rule"]: f for f in doc["findings"]}
    blocked = by_rule["dial-destination-not-permitted"]
    assert (blocked["destination"], blocked["destination_country"]) == ("+4930901820", "DE")
    restricted = by_rule["callerid-geo-restricted"]
    assert (restricted["destination"], restricted["destination_country"]) == (
        "+902163334455",
        "TR",
    )
    assert "destination" not in by_rule["callerid-not-authorized"]
    broken = copy.deepcopy(doc)
    del next(f for f in broken["findings"] if "destination" in f)["destination_country"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)  # one without the other is not valid


def test_schema_rejects_a_broken_document() -> None:
    snap, analysis = busy_analysis()
    doc = findings_document(snap, analysis, generated_at="2026-11-29T12:00:00Z")
    broken = copy.deepcopy(doc)
    del broken["findings"][0]["source"]["kind"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)


def test_same_snapshot_gives_identical_findings_twice() -> None:
    snap, refs, baseline, policy = busy_snapshot()
    first = analyse_references(snap, refs, baseline=baseline, policy=policy)
    second = analyse_references(snap, list(reversed(refs)), baseline=baseline, policy=policy)
    when = "2026-11-29T12:00:00Z"
    assert findings_document(snap, first, generated_at=when) == findings_document(
        snap, second, generated_at=when
    )


def test_fingerprints_are_unique_and_stable() -> None:
    _, analysis = busy_analysis()
    prints = [f.fingerprint for f in analysis.findings]
    assert len(set(prints)) == len(prints)
    assert all(len(p) == 64 for p in prints)
    f = analysis.findings[0]
    assert fingerprint(f) == f.fingerprint
    changed = copy.deepcopy(f)
    changed.message, changed.impacted = "other words", ["+15550000000"]
    assert fingerprint(changed) == f.fingerprint  # wording is not identity
    changed.source.location = "elsewhere"
    assert fingerprint(changed) != f.fingerprint


def test_alert_fingerprint_survives_a_new_alert_window() -> None:
    snap, refs, baseline, policy = busy_snapshot()
    before = analyse_references(snap, refs, baseline=baseline, policy=policy)
    later = alert("0", A, "2026-11-19T10:00:00Z")  # a smaller SID than the kept alert
    snap.alerts.append(later)
    after = analyse_references(
        snap, [*refs, alert_ref(later, B_NUM)], baseline=baseline, policy=policy
    )
    assert {f.fingerprint for f in before.findings} == {f.fingerprint for f in after.findings}


def test_sort_is_by_severity_then_rule_order() -> None:
    _, analysis = busy_analysis()
    ranks = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
    seq = [ranks[f.severity] for f in analysis.findings]
    assert seq == sorted(seq, reverse=True)
    assert sort_findings(list(reversed(analysis.findings))) == analysis.findings


def test_severity_counts_worst_and_exceeds() -> None:
    _, analysis = busy_analysis()
    counts = severity_counts(analysis.findings)
    assert list(counts) == ["critical", "high", "medium", "low", "info"]
    assert sum(counts.values()) == len(analysis.findings)
    assert counts["critical"] == 2  # STRANGER in the flow, the released number in code
    assert worst_severity(analysis.findings) == "critical"
    assert worst_severity([]) is None
    info_only = [f for f in analysis.findings if f.severity == "info"]
    assert exceeds(analysis.findings, "critical")
    assert not exceeds(info_only, "low") and exceeds(info_only, "info")
    assert not exceeds(analysis.findings, "never")
    assert not exceeds([], "info")


def test_exceeds_rejects_an_unknown_threshold() -> None:
    with pytest.raises(AuditorError, match="--fail-on 'severe'"):
        exceeds([], "severe")


def test_finding_extras_are_json_safe() -> None:
    f = Finding(
        "callerid-empty",
        "high",
        A,
        "",
        "",
        None,
        Source("code"),
        "m",
        "r",
        details={"set": {"b", "a"}, "obj": object},
    )
    doc = findings_document(
        make_snapshot(), Analysis(findings=[f]), generated_at="2026-11-29T12:00:00Z"
    )
    details = doc["findings"][0]["details"]
    assert details["set"] == ["a", "b"] and isinstance(details["obj"], str)


def test_every_finding_in_findings_json_says_how_the_call_is_placed() -> None:
    snap, analysis = busy_analysis()
    doc = findings_document(snap, analysis)
    vias = {f["rule"]: f["via"] for f in doc["findings"]}
    assert vias["verified-callerid-duplicated"] is None
    assert vias["policy-callerid-missing"] == "policy"
    assert vias["alert-13214-observed"] == "dial"
    assert all("via" in f for f in doc["findings"])
    broken = copy.deepcopy(doc)
    broken["findings"][0]["via"] = "telepathy"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, SCHEMA)
