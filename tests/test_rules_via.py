"""Rules judge a reference by `via`: a <Dial> (13214) or a REST request's From (21210/21212/21213).

Each rule that reads a caller ID has a case per path that makes it fire with that path's
codes and words, and one that keeps it quiet.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_rules import only, run
from test_rules_support import (
    A_NUM,
    B_NUM,
    B_VERIFIED,
    C_NUM,
    FLOW_A,
    ROOT,
    ROOT_NUM,
    STRANGER,
    A,
    B,
    make_ref,
    make_snapshot,
    pn,
)

from auditor.model import (
    CallerIdReference,
    PhoneNumber,
    PolicyEntry,
    Snapshot,
    Source,
    StudioFlow,
    VerifiedCallerId,
    Via,
)
from auditor.rules import RULES_BY_ID

CALLS = Via.CALLS_API.value
PARTICIPANT = Via.CONFERENCE_PARTICIPANT.value
CODE = Source("code", None, "app/calls.js:12")


def rest(value: str, account: str | None = A, **fields: object) -> CallerIdReference:
    """A Calls API From found in code."""
    fields.setdefault("source", CODE)
    return make_ref(value, account, via=CALLS, **fields)  # type: ignore[arg-type]


def studio_snapshot() -> Snapshot:
    """Flow A with one widget of each call-placing type."""
    definition = {
        "states": [
            {"name": "Trigger", "type": "trigger", "properties": {}},
            {"name": "dial_nurse", "type": "connect-call-to", "properties": {}},
            {"name": "call_patient", "type": "make-outgoing-call-v2", "properties": {}},
        ]
    }
    return make_snapshot(flows=[StudioFlow(FLOW_A, A, "Triage A", "published", 3, definition)])


def studio(value: str, widget: str, **fields: object) -> CallerIdReference:
    source = Source("studio_flow", FLOW_A, widget)
    return make_ref(value, A, source=source, via=Via.STUDIO.value, **fields)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- not-authorized


def test_not_authorized_on_a_calls_api_request_says_21210() -> None:
    (f,) = run([rest(STRANGER)])
    assert f.rule == "callerid-not-authorized" and f.error_codes == [21210]
    assert f.via == CALLS and "Calls API request" in f.message
    assert "13214" not in f.message and "Dial" not in f.message


def test_not_authorized_on_a_dial_still_says_13214() -> None:
    (f,) = run([make_ref(STRANGER)])
    assert f.error_codes == [13214] and "refuses the Dial (13214)" in f.message
    assert f.via == "dial"


def test_not_authorized_on_a_participants_request() -> None:
    (f,) = run([make_ref(STRANGER, source=CODE, via=PARTICIPANT)])
    assert f.error_codes == [21210] and "Participants API request" in f.message


def test_rest_from_is_judged_on_a_call_to_a_client_but_not_to_sip() -> None:
    # Twilio: "If using a phone number, it must be a Twilio number or a Verified outgoing
    # caller id" whatever To is; a SIP To takes a username instead.
    assert [f.rule for f in run([rest(STRANGER, dialed="client")])] == ["callerid-not-authorized"]
    assert run([rest(STRANGER, dialed="sip")]) == []
    assert run([make_ref(STRANGER, dialed="client")]) == []  # <Dial><Client>: not checked


def test_rest_from_owned_by_the_account_is_quiet() -> None:
    assert run([rest(A_NUM), rest(A_NUM, dialed="client")]) == []


def test_studio_widgets_are_judged_by_their_type() -> None:
    snap = studio_snapshot()
    outgoing, connect = run(
        [studio(STRANGER, "call_patient"), studio(STRANGER, "dial_nurse")], snap
    )
    assert {f.source.location: f.error_codes for f in (outgoing, connect)} == {
        "call_patient": [21210],
        "dial_nurse": [13214],
    }
    assert outgoing.via == connect.via == "studio"
    by_widget = {f.source.location: f.message for f in (outgoing, connect)}
    assert "through the Calls API" in by_widget["call_patient"]
    assert "refuses the Dial (13214)" in by_widget["dial_nurse"]


def test_studio_widget_found_by_index_and_unknown_flow_judged_as_a_dial() -> None:
    snap = studio_snapshot()
    (by_index,) = run([studio(STRANGER, "state #2")], snap)
    assert by_index.error_codes == [21210]
    (unknown,) = run([studio(STRANGER, "call_patient")])  # flow without a definition
    assert unknown.error_codes == [13214]


def test_flex_outbound_is_judged_like_a_dial_of_its_account() -> None:
    source = Source("flex", None, "outbound_call_flows.default")
    (f,) = run([make_ref(ROOT_NUM, source=source, via=Via.FLEX_OUTBOUND.value)])
    assert f.rule == "callerid-cross-account" and f.error_codes == [13214]
    assert f.via == "flex-outbound" and "Flex configuration" in f.message
    assert "agents' outbound calls" in f.message
    clean = make_ref(A_NUM, source=source, via=Via.FLEX_OUTBOUND.value)
    assert run([clean]) == []


# --------------------------------------------------------------------------- cross-account


def test_cross_account_on_a_calls_api_request() -> None:
    (f,) = run([rest(ROOT_NUM)])
    assert f.rule == "callerid-cross-account" and f.error_codes == [21210]
    assert "places a Calls API request from" in f.message and "21210" in f.message
    assert run([rest(ROOT_NUM, ROOT)]) == []


# --------------------------------------------------------------------------- not-e164


def test_not_e164_on_a_calls_api_request_says_21212() -> None:
    (f,) = run([rest("(555) 111-0001")])
    assert f.rule == "callerid-not-e164" and f.error_codes == [21212]
    assert 'Write the From as "+15551110001"' in f.remediation
    assert run([rest("+15551110001")]) == []


# --------------------------------------------------------------------------- empty


def test_calls_api_request_without_from_is_21213_but_a_dial_without_callerid_is_fine() -> None:
    (f,) = run([rest("", missing=True)])
    assert f.rule == "callerid-empty" and f.error_codes == [21213]
    assert "without any From" in f.message
    assert run([make_ref("", missing=True)]) == []


def test_empty_and_unrendered_from() -> None:
    empty, placeholder = sorted(run([rest(""), rest("${CALLER_ID}")]), key=lambda f: f.raw_value)
    assert empty.error_codes == [21213] and placeholder.error_codes == [21212]
    # From is required whatever the request calls, a client too.
    assert [f.error_codes for f in run([rest("", dialed="client")])] == [[21213]]
    assert run([make_ref("", dialed="client")]) == []  # <Dial><Client> without callerId


def test_studio_outgoing_call_liquid_is_not_empty() -> None:
    assert run([studio("{{flow.variables.cid}}", "call_patient")], studio_snapshot()) == []


# --------------------------------------------------------------------------- client-on-pstn


@pytest.mark.parametrize(
    ("via", "dialed", "codes"),
    [
        ("dial", "number", [13214]),
        ("dial", "unknown", [13214]),
        (CALLS, "number", [21212]),
        (CALLS, "unknown", [21212]),
    ],
)
def test_client_on_pstn_fires_on_phone_or_unknown_destinations(
    via: str, dialed: str, codes: list[int]
) -> None:
    (f,) = run([make_ref("client:alice", source=CODE, via=via, dialed=dialed)])
    assert f.rule == "callerid-client-on-pstn" and f.error_codes == codes
    refused = "the Calls API request" if via == CALLS else "the Dial"
    assert f"Twilio refuses {refused} ({codes[0]})" in f.message


@pytest.mark.parametrize("dialed", ["client", "sip", "queue", "conference"])
def test_client_to_client_calls_are_allowed(dialed: str) -> None:
    # calls.create({ from: 'client:alice', to: 'client:bob' }) and <Dial><Client>.
    refs = [
        make_ref("client:alice", source=CODE, via=CALLS, dialed=dialed),
        make_ref("client:alice", dialed=dialed),
    ]
    assert only(run(refs), "callerid-client-on-pstn") == []


# --------------------------------------------------------------------------- released, inactive


def test_released_on_a_calls_api_request() -> None:
    baseline = make_snapshot(collected_at="2026-10-01T00:00:00Z")
    baseline.phone_numbers.append(PhoneNumber(pn("a9"), A, "+15551110009", "Old"))
    (f,) = only(run([rest("+15551110009")], baseline=baseline), "callerid-released")
    assert f.error_codes == [21210] and "Calls API request" in f.message
    assert only(run([rest(A_NUM)], baseline=baseline), "callerid-released") == []


def test_owner_inactive_on_a_calls_api_request() -> None:
    (f,) = only(run([rest(C_NUM)]), "callerid-owner-inactive")
    assert f.error_codes == [21210]
    assert only(run([rest(B_NUM, B)]), "callerid-owner-inactive") == []


# --------------------------------------------------------------------------- missing-client-leg


def test_missing_client_leg_is_a_dial_rule() -> None:
    found = run([rest("", missing=True, client_leg=True)])
    assert [f.rule for f in found] == ["callerid-empty"]  # 21213, not a client-leg Dial
    (dial,) = run([make_ref("", missing=True, client_leg=True)])
    assert dial.rule == "callerid-missing-client-leg" and dial.error_codes == [13214]


# --------------------------------------------------------------------------- passthrough


def test_rest_request_from_the_callers_number_is_not_called_allowed() -> None:
    (f,) = run([rest("{{trigger.call.From}}")])
    assert f.rule == "callerid-passthrough" and f.severity == "info"
    assert f.error_codes == [21210] and "allows" not in f.message
    assert "owns or verifies" in f.message
    (dial,) = run([make_ref("{{trigger.call.From}}")])
    assert dial.error_codes == [] and "Twilio allows this" in dial.message


def test_rest_request_from_the_called_number_is_allowed() -> None:
    for value in ("{{trigger.call.To}}", "{{flow.channel.address}}"):
        (f,) = run([rest(value)])
        assert f.error_codes == [] and "Twilio allows this" in f.message, value


def test_rest_passthrough_of_the_caller_through_code() -> None:
    ref = rest("req.body.From", kind="template", passthrough=True, template="req.body.From")
    (f,) = run([ref])
    assert f.error_codes == [21210]


# --------------------------------------------------------------------------- findings carry via


def test_every_finding_says_how_the_call_is_placed() -> None:
    policy = [PolicyEntry(A, B_NUM, "Clinic A")]
    snap = studio_snapshot()
    snap.verified_caller_ids.append(VerifiedCallerId(pn("va"), A, B_VERIFIED))
    found = run(
        [rest(STRANGER), studio(STRANGER, "call_patient"), make_ref(ROOT_NUM)], snap, policy=policy
    )
    vias = {f.rule: f.via for f in found}
    assert vias["policy-callerid-missing"] == "policy"
    assert vias["verified-callerid-duplicated"] is None  # about the inventory, not a call
    assert {f.via for f in only(found, "callerid-not-authorized")} == {CALLS, "studio"}
    assert vias["callerid-cross-account"] == "dial"


def test_rule_metadata_lists_every_code_a_finding_can_carry() -> None:
    snap = studio_snapshot()
    refs = [
        rest(STRANGER),
        rest(ROOT_NUM),
        rest("(555) 111-0001"),
        rest("", missing=True),
        rest("${X}"),
        rest("client:a"),
        rest(C_NUM),
        rest("{{trigger.call.From}}"),
        studio(STRANGER, "call_patient"),
        make_ref(STRANGER),
        make_ref(ROOT_NUM),
        make_ref("client:a"),
        make_ref(""),
    ]
    for f in run(refs, snap, policy=[PolicyEntry(A, STRANGER)]):
        assert set(f.error_codes) <= set(RULES_BY_ID[f.rule].error_codes), f.rule


# --------------------------------------------------------------------------- properties

_vias = st.sampled_from([v.value for v in Via])
_values = st.sampled_from(
    [
        *(A_NUM, ROOT_NUM, C_NUM, STRANGER, "(555) 111-0001", "", "${X}", "client:x", "sip:a@b"),
        *("{{trigger.call.From}}", "{{trigger.call.To}}", "{{flow.variables.x}}"),
    ]
)
_dialed = st.sampled_from(["number", "client", "sip", "queue", "conference", "unknown"])
_locations = st.sampled_from(["call_patient", "dial_nurse", "state #9", "nowhere"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_values, _vias, _dialed, _locations, st.booleans()), max_size=10))
def test_any_path_gives_findings_within_the_rules_metadata(
    rows: list[tuple[str, str, str, str, bool]],
) -> None:
    refs = [
        make_ref(
            value,
            source=Source("studio_flow", FLOW_A, loc) if via == "studio" else CODE,
            via=via,
            dialed=dialed,
            missing=missing and not value,
        )
        for value, via, dialed, loc, missing in rows
    ]
    snap = studio_snapshot()
    first = run(refs, snap)
    assert [f.fingerprint for f in first] == [f.fingerprint for f in run(refs[::-1], snap)]
    for f in first:
        rule = RULES_BY_ID[f.rule]
        assert f.severity == rule.severity
        assert set(f.error_codes) <= set(rule.error_codes), (f.rule, f.error_codes)
        assert f.via in {v.value for v in Via}


def test_a_dial_alert_and_a_calls_api_alert_for_one_value_stay_two_findings() -> None:
    dial = make_ref(STRANGER, source=Source("alert", "NO" + "1" * 32, "alert_text"))
    calls = make_ref(STRANGER, source=Source("alert", "NO" + "2" * 32, "alert_text"), via=CALLS)
    found = only(run([dial, calls]), "callerid-not-authorized")
    assert sorted(f.error_codes[0] for f in found) == [13214, 21210]
