"""Every rule's remediation knows where the call runs: no verification proposed where
Twilio has no Verified Caller IDs (IE1), and still proposed in US1.

Each case below makes one rule fire twice: once for a call in IE1, once for its US1
twin. The IE1 text must not ask for a Verified Caller ID (neither the OutgoingCallerIds
request nor "owns or verifies") and must say why; the US1 text keeps the verification,
so the test tells the two apart.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest
from test_rules_support import (
    A_NUM,
    B_NUM,
    B_URL,
    ROOT_NUM,
    STRANGER,
    A,
    B,
    C,
    alert,
    alert_ref,
    make_ref,
    make_snapshot,
    pn,
    webhook,
    webhook_ref,
)

import auditor.rules
from auditor.analysis import analyse_references
from auditor.model import CallerIdReference, Finding, PhoneNumber, PolicyEntry, VerifiedCallerId

C_VERIFIED = "+15554440009"  # verified by the closed account C only


def _findings(rule: str, region: str) -> list[Finding]:
    snap = make_snapshot()
    snap.verified_caller_ids.append(VerifiedCallerId(pn("vc"), C, C_VERIFIED, "C cell"))
    kwargs: dict[str, object] = {}
    refs = CASES[rule](region)
    if rule == "callerid-released":
        base = make_snapshot(collected_at="2026-10-01T00:00:00Z")
        base.phone_numbers.append(PhoneNumber(pn("gone"), A, STRANGER, "Old A"))
        base.phone_numbers.append(PhoneNumber(pn("moved"), A, ROOT_NUM, "Was A's"))
        kwargs["baseline"] = base
    if rule == "webhook-context-mismatch":
        snap.webhooks.append(webhook(B_URL, [A, B]))
    if rule == "alert-13214-observed":
        snap.alerts.append(alert("1", A, "2026-11-20T10:00:00Z"))
    if rule == "policy-callerid-missing":
        kwargs["policy"] = [PolicyEntry(A, STRANGER, "Clinic A line"), PolicyEntry(A, ROOT_NUM)]
    found = analyse_references(snap, refs, **kwargs).findings  # type: ignore[arg-type]
    return [f for f in found if f.rule == rule]


def _alert_refs(region: str) -> list[CallerIdReference]:
    ref = alert_ref(alert("1", A, "2026-11-20T10:00:00Z"), STRANGER)
    ref.region = region
    return [ref]


CASES: dict[str, Callable[[str], list[CallerIdReference]]] = {
    # the five that suggested verifying in any region
    "callerid-released": lambda r: [make_ref(STRANGER, region=r), make_ref(ROOT_NUM, region=r)],
    "callerid-owner-inactive": lambda r: [make_ref(C_VERIFIED, region=r)],
    "webhook-context-mismatch": lambda r: [
        webhook_ref(B_NUM, B, region=r),
        webhook_ref(B_NUM, A, region=r),
    ],
    "alert-13214-observed": _alert_refs,
    "policy-callerid-missing": lambda r: [make_ref(A_NUM, region=r)],  # A's calls run in r
    # the two that already passed the region
    "callerid-not-authorized": lambda r: [make_ref(STRANGER, region=r)],
    "callerid-cross-account": lambda r: [make_ref(ROOT_NUM, region=r)],
    # "a number the executing account owns or verifies"
    "callerid-empty": lambda r: [make_ref("", region=r)],
    "callerid-not-e164": lambda r: [make_ref("(555) 999-0001", region=r)],
    "callerid-client-on-pstn": lambda r: [make_ref("client:alice", region=r)],
    "callerid-passthrough": lambda r: [
        make_ref("{{trigger.call.From}}", region=r, via="calls-api")
    ],
    "callerid-missing-client-leg": lambda r: [
        webhook_ref("", B, missing=True, client_leg=True, region=r)
    ],
}
VERIFY_REQUEST = "OutgoingCallerIds.json"
PHRASE_RULES = {
    "callerid-empty",
    "callerid-not-e164",
    "callerid-client-on-pstn",
    "callerid-passthrough",
    "callerid-missing-client-leg",
}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_no_rule_proposes_verifying_where_the_region_has_no_verified_caller_ids(
    rule: str,
) -> None:
    found = _findings(rule, "ie1")
    assert found, f"{rule} did not fire in IE1"
    for f in found:
        text = f.remediation
        assert VERIFY_REQUEST not in text, text
        assert "owns or verifies" not in text, text
        assert "does not support Verified Caller IDs" in text, text
        assert "IE1" in text, text


@pytest.mark.parametrize("rule", sorted(CASES))
def test_the_us1_twin_still_proposes_verifying(rule: str) -> None:
    found = _findings(rule, "us1")
    assert found, f"{rule} did not fire in US1"
    expected = "owns or verifies" if rule in PHRASE_RULES else VERIFY_REQUEST
    assert any(expected in f.remediation for f in found), [f.remediation for f in found]
    assert all("does not support Verified Caller IDs" not in f.remediation for f in found)


def test_owner_inactive_in_ie1_points_at_own_numbers_instead() -> None:
    (f,) = _findings("callerid-owner-inactive", "ie1")
    assert "Verifying it would not help" in f.remediation
    assert "+15551110001 ('Main line A')" in f.remediation


def test_released_in_ie1_buys_back_or_moves_but_never_verifies() -> None:
    by_value = {f.caller_id: f.remediation for f in _findings("callerid-released", "ie1")}
    assert f"IncomingPhoneNumbers.json with PhoneNumber={STRANGER}" in by_value[STRANGER]
    assert "AccountSid=" in by_value[ROOT_NUM]  # moving the parent's number back still works


def test_webhook_mismatch_for_an_account_seen_only_by_the_probe_keeps_the_region() -> None:
    snap = make_snapshot(webhooks=[webhook(B_URL, [A, B])])
    found = analyse_references(snap, [webhook_ref(B_NUM, B, region="ie1")]).findings
    (f,) = [f for f in found if f.rule == "webhook-context-mismatch"]
    assert f.account_sid == A and f.region == "ie1"
    assert VERIFY_REQUEST not in f.remediation


def test_policy_of_an_account_calling_in_both_regions_says_where_verifying_helps() -> None:
    snap = make_snapshot()
    refs = [make_ref(A_NUM, region="us1"), make_ref(A_NUM, region="ie1", via="calls-api")]
    (f,) = analyse_references(snap, refs, policy=[PolicyEntry(A, STRANGER)]).findings
    assert VERIFY_REQUEST in f.remediation
    assert "covers its calls in US1 only" in f.remediation
    assert "IE1, where it also places calls, does not support Verified Caller IDs" in (
        f.remediation
    )


def test_policy_without_references_is_judged_in_every_region_audited() -> None:
    snap = make_snapshot(region="ie1")
    (f,) = analyse_references(snap, [], policy=[PolicyEntry(A, STRANGER)]).findings
    assert VERIFY_REQUEST not in f.remediation and "IE1" in f.remediation
    (g,) = analyse_references(
        make_snapshot(), [], policy=[PolicyEntry(A, STRANGER)], regions=["us1", "ie1"]
    ).findings
    assert "covers its calls in US1 only" in g.remediation


def test_a_verified_caller_id_written_badly_in_ie1_is_not_called_authorized() -> None:
    snap = make_snapshot()
    found = analyse_references(snap, [make_ref("(555) 333-0001", B, region="ie1")]).findings
    (f,) = [f for f in found if f.rule == "callerid-not-e164"]
    assert f.details["normalized_authorized"] is False
    assert "callerid-verified-unsupported-in-region" in f.message


def test_the_verification_request_is_written_in_remedy_only() -> None:
    """The design: no rule writes its own verification request (it would not know where the
    call runs); they all go through auditor.rules.remedy.Remedy."""
    rules_dir = Path(auditor.rules.__file__).parent
    writers = []
    for path in sorted(rules_dir.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and "/OutgoingCallerIds.json" in text:
                writers.append(path.name)
    assert writers == ["remedy.py"]
