"""Each rule fires on a minimal case and stays quiet on its clean twin."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_rules_support import (
    A_NUM,
    B_NUM,
    B_URL,
    B_VERIFIED,
    C_NUM,
    FUNC_A,
    ROOT,
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

from auditor.analysis import analyse_references
from auditor.model import (
    CallerIdReference,
    Finding,
    PhoneNumber,
    PolicyEntry,
    Snapshot,
    Source,
    VerifiedCallerId,
)
from auditor.rules import ALL_RULES, RULES_BY_ID


def run(
    refs: list[CallerIdReference],
    snapshot: Snapshot | None = None,
    **kwargs: object,
) -> list[Finding]:
    return analyse_references(snapshot or make_snapshot(), refs, **kwargs).findings  # type: ignore[arg-type]


def only(findings: list[Finding], rule: str) -> list[Finding]:
    return [f for f in findings if f.rule == rule]


def rules_of(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


# --------------------------------------------------------------------------- registry


def test_registry_has_every_rule_of_the_design_once() -> None:
    ids = [r.id for r in ALL_RULES]
    assert ids == list(dict.fromkeys(ids))
    assert set(ids) == {
        "callerid-not-authorized",
        "callerid-cross-account",
        "callerid-not-e164",
        "callerid-empty",
        "callerid-client-on-pstn",
        "callerid-released",
        "webhook-context-mismatch",
        "callerid-owner-inactive",
        "alert-13214-observed",
        "policy-callerid-missing",
        "callerid-missing-client-leg",
        "verified-callerid-duplicated",
        "callerid-passthrough",
        "dial-destination-not-permitted",
        "callerid-geo-restricted",
        "callerid-verified-unsupported-in-region",
    }
    for rule in ALL_RULES:
        assert rule.title and rule.risk and rule.remediation
        assert rule.docs_url.startswith("https://www.twilio.com/docs/")
    assert RULES_BY_ID["callerid-not-authorized"].severity == "critical"


def test_clean_hierarchy_has_no_finding() -> None:
    assert run([make_ref(A_NUM), make_ref(B_VERIFIED, B), make_ref(ROOT_NUM, ROOT)]) == []


# --------------------------------------------------------------------------- not-authorized


def test_not_authorized_fires_for_a_number_nobody_holds() -> None:
    (f,) = run([make_ref(STRANGER)])
    assert f.rule == "callerid-not-authorized" and f.severity == "critical"
    assert f.account_sid == A and f.caller_id == STRANGER and f.owner_account_sid is None
    assert 13214 in f.error_codes
    assert f"/2010-04-01/Accounts/{A}/OutgoingCallerIds.json" in f.remediation
    assert "+15551110001 ('Main line A')" in f.remediation  # A's own number, by name


def test_not_authorized_needs_an_executing_account() -> None:
    assert run([make_ref(STRANGER, None)]) == []


def test_not_authorized_ignores_client_and_sip_dials() -> None:
    assert run([make_ref(STRANGER, dialed="client"), make_ref(STRANGER, dialed="sip")]) == []


def test_unknown_dialed_noun_is_judged() -> None:
    assert rules_of(run([make_ref(STRANGER, dialed="unknown")])) == {"callerid-not-authorized"}


# --------------------------------------------------------------------------- cross-account


def test_cross_account_names_owner_path_and_move_request() -> None:
    (f,) = run([make_ref(ROOT_NUM)])  # A uses the parent's number; nobody else uses it
    assert f.rule == "callerid-cross-account" and f.severity == "high"
    assert f.owner_account_sid == ROOT and f.path == [A, ROOT]
    assert (
        f"POST /2010-04-01/Accounts/{ROOT}/IncomingPhoneNumbers/{pn('root')}.json "
        f"with AccountSid={A}"
    ) in f.remediation
    assert "Do not move" not in f.remediation


def test_cross_account_sibling_path_goes_through_the_parent() -> None:
    ref = make_ref(B_NUM)
    (f,) = only(run([ref]), "callerid-cross-account")
    assert f.path == [A, ROOT, B]
    assert "Clinic B" in f.message


def test_cross_account_recommends_verification_when_owner_uses_the_number() -> None:
    # B's number answers B's inbound calls at B_URL: moving it would break B.
    (f,) = only(run([make_ref(B_NUM)]), "callerid-cross-account")
    assert "Do not move" in f.remediation and "would break" in f.remediation
    assert f"Accounts/{A}/OutgoingCallerIds.json" in f.remediation
    assert "IncomingPhoneNumbers" not in f.remediation


def test_cross_account_owner_using_it_as_callerid_blocks_the_move() -> None:
    refs = [make_ref(ROOT_NUM), make_ref(ROOT_NUM, ROOT, source=Source("code", None, "x.py:3"))]
    (f,) = only(run(refs), "callerid-cross-account")
    assert "uses it as a callerId itself" in f.remediation


def test_cross_account_for_a_verified_id_says_it_cannot_be_moved() -> None:
    (f,) = only(run([make_ref(B_VERIFIED)]), "callerid-cross-account")
    assert f.owner_account_sid == B and "cannot be moved" in f.remediation
    assert f.details["owner_holds"] == "verified"


def test_cross_account_quiet_when_also_verified_in_the_executing_account() -> None:
    snap = make_snapshot()
    snap.verified_caller_ids.append(VerifiedCallerId(pn("va"), A, B_NUM))
    assert run([make_ref(B_NUM)], snap) == []


# --------------------------------------------------------------------------- not-e164


def test_not_e164_says_the_normalised_form_would_be_authorized() -> None:
    (f,) = run([make_ref("(555) 111-0001")])
    assert f.rule == "callerid-not-e164" and f.caller_id == A_NUM
    assert "would be authorized" in f.message and f.details["normalized_authorized"] is True


def test_not_e164_says_when_the_normalised_form_would_still_fail() -> None:
    found = run([make_ref("15552220001")])
    (f,) = only(found, "callerid-not-e164")
    assert "still be refused" in f.message and f.details["normalized_authorized"] is False
    assert "callerid-cross-account" in rules_of(found)


def test_not_e164_applies_without_executing_account() -> None:
    (f,) = run([make_ref("555.111.0001", None)])
    assert f.rule == "callerid-not-e164" and "cannot be told" in f.message


def test_not_e164_quiet_on_e164() -> None:
    assert only(run([make_ref(A_NUM), make_ref(" +15551110001 ")]), "callerid-not-e164") == []


# --------------------------------------------------------------------------- empty


def test_empty_fires_on_blank_null_and_unrendered_placeholders() -> None:
    alert_src = Source("alert", "NO" + "1" * 32, "response_body")
    refs = [
        make_ref(""),
        make_ref("undefined", None),
        make_ref("{{caller_id}}", source=alert_src),
        make_ref("${CALLER_ID}", source=Source("code", None, "app.js:4")),
    ]
    found = only(run(refs), "callerid-empty")
    assert sorted(f.raw_value or "" for f in found) == sorted(
        ["", "undefined", "{{caller_id}}", "${CALLER_ID}"]
    )


def test_empty_quiet_on_studio_liquid_and_missing_callerid() -> None:
    refs = [
        make_ref("{{flow.variables.caller_id}}"),  # Studio renders it at run time
        make_ref("", missing=True),  # no callerId attribute: Twilio uses From
    ]
    assert only(run(refs), "callerid-empty") == []


def test_empty_on_a_client_dial_is_not_judged() -> None:
    assert run([make_ref("", dialed="client")]) == []


# --------------------------------------------------------------------------- client-on-pstn


def test_client_on_pstn_fires_on_a_dial_to_a_number() -> None:
    (f,) = run([make_ref("client:alice")])
    assert f.rule == "callerid-client-on-pstn" and A_NUM in f.remediation


def test_client_on_pstn_quiet_on_a_dial_to_a_client() -> None:
    assert run([make_ref("client:alice", dialed="client")]) == []


# --------------------------------------------------------------------------- released


def test_released_fires_when_the_baseline_owned_it() -> None:
    baseline = make_snapshot(collected_at="2026-10-01T00:00:00Z")
    baseline.phone_numbers.append(PhoneNumber(pn("gone"), A, STRANGER, "Old A"))
    found = run([make_ref(STRANGER)], baseline=baseline)
    (f,) = only(found, "callerid-released")
    assert "2026-10-01T00:00:00Z" in f.message and pn("gone") in f.message
    assert f"IncomingPhoneNumbers.json with PhoneNumber={STRANGER}" in f.remediation
    assert "callerid-not-authorized" in rules_of(found)


def test_released_names_the_account_it_moved_to() -> None:
    baseline = make_snapshot()
    baseline.phone_numbers.append(PhoneNumber(pn("moved"), A, ROOT_NUM))
    (f,) = only(run([make_ref(ROOT_NUM)], baseline=baseline), "callerid-released")
    assert f.owner_account_sid == ROOT and "now belongs to Parent" in f.message


def test_released_quiet_without_baseline_or_when_still_owned() -> None:
    assert only(run([make_ref(STRANGER)]), "callerid-released") == []
    assert run([make_ref(A_NUM)], baseline=make_snapshot()) == []


# ------------------------------------------------------------------ webhook-context-mismatch


def test_webhook_context_mismatch_fires_for_the_accounts_that_fail() -> None:
    snap = make_snapshot(webhooks=[webhook(B_URL, [A, B])])
    found = run([webhook_ref(B_NUM, B), webhook_ref(B_NUM, A)], snap)
    (f,) = only(found, "webhook-context-mismatch")
    assert f.account_sid == A and f.owner_account_sid == B
    assert f.details["served_accounts"] == [A, B] and f.details["authorized_accounts"] == [B]
    # the same failure is not reported twice
    assert only(found, "callerid-cross-account") == []


def test_webhook_context_mismatch_uses_probe_data_for_accounts_without_a_ref() -> None:
    snap = make_snapshot(webhooks=[webhook(B_URL, [A, B, ROOT])])
    found = only(run([webhook_ref(B_NUM, B)], snap), "webhook-context-mismatch")
    assert sorted(f.account_sid or "" for f in found) == sorted([A, ROOT])


def test_webhook_context_mismatch_quiet_when_every_account_holds_it() -> None:
    snap = make_snapshot(webhooks=[webhook(B_URL, [A, B])])
    snap.verified_caller_ids.append(VerifiedCallerId(pn("va"), A, B_NUM))
    assert run([webhook_ref(B_NUM, B), webhook_ref(B_NUM, A)], snap) == []


def test_webhook_serving_one_account_is_plain_cross_account() -> None:
    snap = make_snapshot(webhooks=[webhook(B_URL, [A])])
    assert rules_of(run([webhook_ref(B_NUM, A)], snap)) == {"callerid-cross-account"}


# --------------------------------------------------------------------------- owner-inactive


def test_owner_inactive_fires_for_a_number_of_a_closed_account() -> None:
    found = run([make_ref(C_NUM)])
    (f,) = only(found, "callerid-owner-inactive")
    assert f.severity == "medium" and f.owner_account_sid == C
    assert "30 days" in f.message and f"IncomingPhoneNumbers/{pn('c1')}.json" in f.remediation
    assert "callerid-cross-account" in rules_of(found)


def test_owner_inactive_quiet_for_an_active_owner() -> None:
    assert only(run([make_ref(ROOT_NUM)]), "callerid-owner-inactive") == []


# --------------------------------------------------------------------------- alert-13214-observed


def test_alerts_are_grouped_by_account_and_callerid() -> None:
    alerts = [
        alert("1", A, "2026-11-20T10:00:00Z"),
        alert("2", A, "2026-11-22T10:00:00Z"),
        alert("3", A, "2026-11-21T10:00:00Z"),
        alert("4", A, "2026-11-23T10:00:00Z"),
    ]
    refs = [alert_ref(a, B_NUM) for a in alerts[:3]] + [alert_ref(alerts[3], STRANGER)]
    found = run(refs, make_snapshot(alerts=alerts))
    observed = only(found, "alert-13214-observed")
    assert [(f.caller_id, f.details["count"]) for f in observed] == [(B_NUM, 3), (STRANGER, 1)]
    assert "3 times between" in observed[0].message and "once, on" in observed[1].message
    first = observed[0]
    assert first.details["first_seen"] == "2026-11-20T10:00:00Z"
    assert first.details["last_seen"] == "2026-11-22T10:00:00Z"
    assert first.owner_account_sid == B and B_NUM in first.impacted  # the alert's To number
    # three alerts for one Dial are one cross-account finding, not three
    assert len(only(found, "callerid-cross-account")) == 1


def test_alert_without_a_callerid_is_still_counted() -> None:
    snap = make_snapshot(alerts=[alert("9", A, "2026-11-20T10:00:00Z")])
    (f,) = run([], snap)
    assert f.rule == "alert-13214-observed" and f.caller_id is None and f.details["count"] == 1


def test_other_alert_codes_are_not_13214() -> None:
    snap = make_snapshot(alerts=[alert("9", A, "2026-11-20T10:00:00Z", error_code="11200")])
    assert run([], snap) == []


# --------------------------------------------------------------------------- policy


def test_policy_callerid_missing_fires_and_stays_quiet() -> None:
    policy = [PolicyEntry(A, A_NUM, "Clinic A"), PolicyEntry(A, B_NUM, "Clinic A")]
    (f,) = run([], policy=policy)
    assert f.rule == "policy-callerid-missing" and f.caller_id == B_NUM
    assert f.owner_account_sid == B and f.source.kind == "policy"


def test_policy_account_outside_the_hierarchy() -> None:
    (f,) = run([], policy=[PolicyEntry("AC" + "f" * 32, A_NUM)])
    assert "not part of the audited hierarchy" in f.message


# --------------------------------------------------------------------------- missing-client-leg


def test_missing_client_leg_fires_from_probe_data() -> None:
    snap = make_snapshot(webhooks=[webhook(B_URL, [B], client_leg=True)])
    (f,) = run([webhook_ref("", B, missing=True)], snap)
    assert f.rule == "callerid-missing-client-leg" and f.severity == "medium"
    assert f'callerId="{B_NUM}"' in f.remediation


def test_missing_client_leg_fires_from_the_reference_flag() -> None:
    (f,) = run([make_ref("", missing=True, client_leg=True)])
    assert f.rule == "callerid-missing-client-leg"


def test_missing_client_leg_quiet_on_a_pstn_leg_or_a_client_dial() -> None:
    snap = make_snapshot(webhooks=[webhook(B_URL, [B], client_leg=False)])
    refs = [
        webhook_ref("", B, missing=True),
        make_ref("", missing=True, client_leg=True, dialed="client"),
    ]
    assert run(refs, snap) == []


# --------------------------------------------------------------------------- verified-duplicated


def test_verified_duplicated_fires_once_per_number() -> None:
    snap = make_snapshot()
    snap.verified_caller_ids.append(VerifiedCallerId(pn("va"), A, B_VERIFIED))
    (f,) = run([make_ref(B_VERIFIED, B)], snap)
    assert f.rule == "verified-callerid-duplicated" and f.severity == "low"
    assert f.details == {"accounts": [A, B], "used_by": [B]}
    assert f"DELETE /2010-04-01/Accounts/{A}/OutgoingCallerIds/{pn('va')}.json" in f.remediation


def test_verified_once_is_not_duplicated() -> None:
    assert run([]) == []


# --------------------------------------------------------------------------- passthrough


def test_passthrough_is_listed_as_info() -> None:
    (f,) = run([make_ref("{{trigger.call.From}}")])
    assert f.rule == "callerid-passthrough" and f.severity == "info"


def test_passthrough_is_never_judged_for_authorization() -> None:
    ref = make_ref("+15557770001", passthrough=True)
    assert rules_of(run([ref])) == {"callerid-passthrough"}


def test_function_reference_is_reached_through_its_url() -> None:
    snap = make_snapshot()
    snap.phone_numbers.append(
        PhoneNumber(pn("a2"), A, "+15551110002", voice_url="https://clinic-a-1234.twil.io/dial")
    )
    (f,) = run([make_ref(STRANGER, source=Source("function", FUNC_A, "/dial:3"))], snap)
    assert f.impacted == ["+15551110002"]


def test_client_identity_passed_through_to_a_phone_is_not_listed_as_passthrough() -> None:
    ref = make_ref("client:agent_17", passthrough=True)
    assert rules_of(run([ref])) == {"callerid-client-on-pstn"}
    ok = make_ref("client:agent_17", passthrough=True, dialed="client")
    assert rules_of(run([ok])) == {"callerid-passthrough"}


def test_missing_client_leg_once_per_dial_when_probed_as_phone_and_client() -> None:
    snap = make_snapshot(
        webhooks=[webhook(B_URL, [B], client_leg=False), webhook(B_URL, [B], client_leg=True)]
    )
    refs = [webhook_ref("", B, missing=True), webhook_ref("", B, missing=True, client_leg=True)]
    assert [f.rule for f in run(refs, snap)] == ["callerid-missing-client-leg"]


# ------------------------------------------------------------ verified-unsupported-in-region

VERIFIED_IN_IE1 = "callerid-verified-unsupported-in-region"


def test_verified_caller_id_in_ie1_fires_with_the_region_and_its_source() -> None:
    (f,) = run([make_ref(B_VERIFIED, B, region="ie1")])
    assert f.rule == VERIFIED_IN_IE1 and f.severity == "high" and f.error_codes == [13214]
    assert f.account_sid == B and f.owner_account_sid == B and f.region == "ie1"
    assert "runs in IE1" in f.message and "only as a Verified Caller ID" in f.message
    assert "regional-product-and-feature-availability" in f.message
    assert "+15552220001 ('Front desk B')" in f.remediation  # B's own number, valid there
    assert f.details["region"] == "IE1"


def test_verified_caller_id_is_fine_in_us1_and_unjudged_where_twilio_does_not_say() -> None:
    assert run([make_ref(B_VERIFIED, B, region="us1")]) == []
    assert run([make_ref(B_VERIFIED, B)]) == []  # region unknown (code): not judged
    assert run([make_ref(B_VERIFIED, B, region="au1")]) == []  # AU1: not confirmed


def test_an_owned_number_is_valid_in_ie1_even_when_also_verified() -> None:
    snap = make_snapshot()
    snap.verified_caller_ids.append(VerifiedCallerId(pn("vb2"), B, B_NUM))
    assert run([make_ref(B_NUM, B, region="ie1")], snap) == []


def test_in_ie1_other_rules_keep_their_cases_and_drop_verification_as_a_fix() -> None:
    (f,) = run([make_ref(STRANGER, region="ie1")])
    assert f.rule == "callerid-not-authorized"
    assert "does not support Verified Caller IDs" in f.remediation
    assert "OutgoingCallerIds" not in f.remediation
    (g,) = run([make_ref(B_VERIFIED, A, region="ie1")])  # B's verified number, used by A
    assert g.rule == "callerid-cross-account" and "Verifying it would not help" in g.remediation


def test_verified_here_and_owned_by_a_sibling_proposes_the_move() -> None:
    snap = make_snapshot()
    snap.verified_caller_ids.append(VerifiedCallerId(pn("va"), A, B_NUM))
    (f,) = run([make_ref(B_NUM, A, region="ie1")], snap)
    assert f.rule == VERIFIED_IN_IE1
    assert f"/IncomingPhoneNumbers/{pn('b1')}.json with AccountSid={A}" in f.remediation


def test_a_calls_api_from_in_ie1_is_judged_with_the_calls_api_code() -> None:
    (f,) = run([make_ref(B_VERIFIED, B, region="ie1", via="calls-api")])
    assert f.rule == VERIFIED_IN_IE1 and f.error_codes == [21210]
    assert "refuses the Calls API request (21210)" in f.message


# --------------------------------------------------------------------------- properties

_values = st.one_of(
    st.sampled_from([A_NUM, B_NUM, ROOT_NUM, C_NUM, B_VERIFIED, STRANGER, "(555) 111-0001"]),
    st.sampled_from(["", "null", "client:x", "sip:a@b", "{{x}}", "{{trigger.call.From}}"]),
    st.text(max_size=20),
)
_sources = st.sampled_from(
    [
        Source("studio_flow", "FW" + "a" * 32, "w"),
        Source("function", FUNC_A, "/dial:1"),
        Source("alert", "NO" + "1" * 32, "response_body"),
        Source("webhook", None, B_URL),
        Source("code", None, "x.py:1"),
        Source("mystery", None, None),
    ]
)


def test_an_empty_and_a_missing_callerid_in_one_alert_are_two_problems_in_any_order() -> None:
    """Found by hypothesis: they were collapsed into one, and the survivor (so the
    callerid-empty finding) depended on the order the references arrived in."""
    alert = Source(kind="alert", sid="NO" + "1" * 32, location="response_body")
    empty = make_ref("", A, source=alert, dialed="number")
    missing = make_ref("", A, source=alert, dialed="number", missing=True)
    snap = make_snapshot()
    forward = run([empty, missing], snap)
    backward = run([missing, empty], snap)
    assert [f.fingerprint for f in forward] == [f.fingerprint for f in backward]
    assert "callerid-empty" in {f.rule for f in forward}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            _values,
            st.sampled_from([A, B, ROOT, C, None, "AC" + "9" * 32]),
            _sources,
            st.sampled_from(["number", "client", "sip", "queue", "conference", "unknown"]),
            st.booleans(),
        ),
        max_size=12,
    )
)
def test_any_references_give_valid_deterministic_findings(
    rows: list[tuple[str, str | None, Source, str, bool]],
) -> None:
    refs = [
        make_ref(v, acc, source=src, dialed=dialed, missing=missing and not v)
        for v, acc, src, dialed, missing in rows
    ]
    snap = make_snapshot(webhooks=[webhook(B_URL, [A, B], client_leg=True)])
    first = run(refs, snap, baseline=make_snapshot())
    second = run(list(reversed(refs)), snap, baseline=make_snapshot())
    assert [f.fingerprint for f in first] == [f.fingerprint for f in second]
    assert {f.rule for f in first} <= set(RULES_BY_ID)
    for f in first:
        assert f.severity == RULES_BY_ID[f.rule].severity
        assert f.message and f.remediation
