"""Studio flows, Functions, alerts and references_from_snapshot."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.extract import references_from_snapshot
from auditor.extract.alerts import extract_alert
from auditor.extract.functions import extract_function, referenced_env_names
from auditor.extract.studio import extract_flow
from auditor.model import (
    Alert,
    CallerIdReference,
    ServerlessFunction,
    Snapshot,
    Source,
    StudioFlow,
    WebhookResponse,
)

A1 = "AC" + "1" * 32
A2 = "AC" + "2" * 32


def _flow(states: object, status: str = "published") -> StudioFlow:
    return StudioFlow(
        sid="FW1",
        account_sid=A1,
        friendly_name="IVR",
        status=status,
        revision=3,
        definition={"states": states},  # type: ignore[dict-item]
    )


def test_studio_widgets() -> None:
    states = [
        {"name": "Trigger", "type": "trigger", "properties": {}},
        {
            "name": "to_sales",
            "type": "connect-call-to",
            "properties": {
                "caller_id": "{{contact.channel.address}}",
                "noun": "number",
                "to": "+15557770000",
            },
        },
        {
            "name": "to_agent",
            "type": "connect-call-to",
            "properties": {"caller_id": "+15551230001", "noun": "client", "to": "alice"},
        },
        {
            "name": "to_many",
            "type": "connect-call-to",
            "properties": {
                "caller_id": "{{flow.variables.cid}}",
                "noun": "number-multi",
                "to": "+1,+2",
            },
        },
        {
            "name": "to_sip",
            "type": "connect-call-to",
            "properties": {"noun": "sip", "to": "sip:a@b"},
        },
        {
            "name": "callback",
            "type": "make-outgoing-call-v2",
            "properties": {"from": "", "to": "{{contact.channel.address}}"},
        },
    ]
    refs, notes = extract_flow(_flow(states))
    assert notes == []
    got = [
        (r.source.location, r.raw_value, r.kind, r.dialed, r.passthrough, r.missing) for r in refs
    ]
    assert got == [
        ("to_sales", "{{contact.channel.address}}", "template", "number", True, False),
        ("to_agent", "+15551230001", "number", "client", False, False),
        # number-multi rings each number of its comma-separated `to`: one reference per leg
        ("to_many", "{{flow.variables.cid}}", "template", "number", False, False),
        ("to_many", "{{flow.variables.cid}}", "template", "number", False, False),
        ("to_sip", "", "empty", "sip", False, True),
        ("callback", "", "empty", "number", False, False),
    ]
    assert all(r.source.kind == "studio_flow" and r.source.sid == "FW1" for r in refs)
    assert all(r.via == "studio" for r in refs)
    assert all(r.executing_account_sid == A1 for r in refs)


def test_studio_malformed_definition_is_a_note() -> None:
    refs, notes = extract_flow(_flow("nope"))
    assert refs == [] and notes
    refs, notes = extract_flow(
        _flow([1, {"type": "connect-call-to", "properties": {"caller_id": 5}}])
    )
    assert [r.raw_value for r in refs] == ["5"] and len(notes) == 2


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["states", "type", "name", "properties", "caller_id", "from", "noun", "to", "x"]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_json)
def test_studio_never_raises_on_arbitrary_json(data: object) -> None:
    flow = _flow([])
    flow.definition = data  # type: ignore[assignment]
    refs, notes = extract_flow(flow)
    assert all(isinstance(r, CallerIdReference) for r in refs) and isinstance(notes, list)
    flow.definition = {"states": data}  # type: ignore[dict-item]
    refs, _ = extract_flow(flow)
    assert all(r.executing_account_sid == A1 for r in refs)


FUNCTION_CODE = """\
exports.handler = function(context, event, callback) {
  const twiml = new Twilio.twiml.VoiceResponse();
  const { SALES_ID } = context;
  // twiml.dial({ callerId: '+15550000000' });
  const log = "callerId: +15550000001";
  twiml.dial({ callerId: context.CALLER_ID }).number(event.To);
  twiml.dial({callerId: event.From}, '+15557770000');
  const opts = { callerId: context.MISSING_ID };
  twiml.dial(opts).client('bob');
  twiml.dial({ callerId: SALES_ID }, '+15557770001');
  const client = context.getTwilioClient();
  client.calls.create({ to: '+15557770002', from: `+1555123${'0'}009`, url: 'x' });
  client.calls.create({ to: '+15557770003', from: '+15551230010', url: 'x' });
  twiml.dial('+15557770004');
  callback(null, twiml);
};
"""


def _fn(code: str = FUNCTION_CODE) -> ServerlessFunction:
    return ServerlessFunction(
        sid="ZH1",
        account_sid=A2,
        service_sid="ZS1",
        service_name="ivr",
        path="/dial",
        version_sid="ZN1",
        content=code,
        environment={"CALLER_ID": "+15551230001", "SALES_ID": "5551230002"},
    )


def test_function_references() -> None:
    refs, notes = extract_function(_fn())
    got = [
        (r.source.location, r.raw_value, r.kind, r.e164, r.passthrough, r.resolved_from, r.missing)
        for r in refs
    ]
    assert got == [
        ("/dial:6", "+15551230001", "number", "+15551230001", False, "context.CALLER_ID", False),
        ("/dial:7", "event.From", "template", None, True, None, False),
        ("/dial:8", "context.MISSING_ID", "empty", None, False, None, False),
        ("/dial:10", "5551230002", "number", "+15551230002", False, "context.SALES_ID", False),
        # a template whose only hole is a literal is a literal: the value is fixed
        ("/dial:12", "+15551230009", "number", "+15551230009", False, None, False),
        ("/dial:13", "+15551230010", "number", "+15551230010", False, None, False),
        ("/dial:14", "", "empty", None, False, None, True),
    ]
    assert [r.dialed for r in refs] == [
        "number",
        "number",
        "client",  # twiml.dial(opts).client('bob'): opts followed to its object
        "number",
        "number",
        "number",
        "number",
    ]
    assert all(r.source.kind == "function" and r.executing_account_sid == A2 for r in refs)
    assert any("MISSING_ID" in n for n in notes)


@pytest.mark.parametrize(
    ("code", "names"),
    [
        ("const { callerId } = context; twiml.dial({ callerId }).number(event.To);", {"callerId"}),
        ("twiml.dial({callerId: context.A || context.B});", {"A", "B"}),
        ("const opts = {}; opts.callerId = context.X; twiml.dial(opts);", {"X"}),
        ("twiml.dial({callerId: ok ? context.C1 : context.C2})", {"C1", "C2"}),
        ("twiml.dial({callerId: context.has ? context.C : ''})", {"C"}),
        ("twiml.dial({callerId: 'a ? context.S : b'})", set()),
        ("const k = context.API_KEY; twiml.say(k); twiml.dial({callerId: '+1'});", set()),
    ],
)
def test_referenced_env_names_spellings(code: str, names: set[str]) -> None:
    assert referenced_env_names(code) == names


def test_referenced_env_names() -> None:
    assert referenced_env_names(FUNCTION_CODE) == {"CALLER_ID", "MISSING_ID", "SALES_ID"}
    assert referenced_env_names("const k = context.API_KEY; twiml.dial({callerId: '+1'});") == set()
    assert referenced_env_names("const f = process.env.FROM; client.calls.create({from: f})") == {
        "FROM"
    }


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("dial({callerId: context.X, from}) '\"`/*\n+15")),
        max_size=120,
    )
)
def test_function_never_raises(code: str) -> None:
    refs, _ = extract_function(_fn(code))
    assert all(r.source.location and r.source.location.startswith("/dial:") for r in refs)
    assert isinstance(referenced_env_names(code), set)


def _alert(**kw: object) -> Alert:
    base: dict[str, object] = {"sid": "NO1", "account_sid": A1, "error_code": "13214"}
    base.update(kw)
    return Alert(**base)  # type: ignore[arg-type]


def test_alert_from_body_with_passthrough() -> None:
    body = '<Response><Dial callerId="+15551230001"><Number>+15557770000</Number></Dial></Response>'
    (ref,), _notes = extract_alert(
        _alert(response_body=body, request_variables="From=%2B15551230001&To=%2B1555")
    )
    assert (ref.raw_value, ref.source.location, ref.passthrough, ref.dialed) == (
        "+15551230001",
        "response_body",
        True,
        "number",
    )


def test_alert_from_alert_text() -> None:
    alert = _alert(
        alert_text="Msg=Dial%3A+Invalid+callerId+value&callerId=%2B15551230002&ErrorCode=13214"
    )
    (ref,), _ = extract_alert(alert)
    assert (ref.raw_value, ref.e164, ref.source.location, ref.source.sid) == (
        "+15551230002",
        "+15551230002",
        "alert_text",
        "NO1",
    )


def test_alert_broken_body_falls_back_to_text_and_other_codes_are_ignored() -> None:
    alert = _alert(response_body="<Response><Dial", alert_text="callerId=client%3Abob")
    (ref,), notes = extract_alert(alert)
    assert ref.kind == "client" and any("could not be parsed" in n for n in notes)
    assert extract_alert(_alert(error_code="11200", alert_text="callerId=%2B1")) == ([], [])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.text(max_size=100), st.text(max_size=60))
def test_alert_never_raises(body: str, text: str, variables: str) -> None:
    refs, notes = extract_alert(
        _alert(response_body=body, alert_text=text, request_variables=variables)
    )
    assert all(r.executing_account_sid == A1 for r in refs) and isinstance(notes, list)


def test_references_from_snapshot_is_complete_and_deterministic() -> None:
    from auditor.model import Account, PhoneNumber

    code_ref = CallerIdReference("+1", "number", Source("code", None, "a.py:1"), None)
    snap = Snapshot(
        root_account_sid=A1,
        collected_at="2026-11-29T00:00:00Z",
        tool_version="t",
        accounts=[Account(A1, "p", "active", None), Account(A2, "c", "active", A1)],
        phone_numbers=[PhoneNumber("PN1", A2, "+15559990000")],
        flows=[
            _flow(
                [
                    {
                        "name": "w",
                        "type": "connect-call-to",
                        "properties": {"caller_id": "+15551230001"},
                    }
                ]
            ),
            _flow(
                [
                    {
                        "name": "d",
                        "type": "connect-call-to",
                        "properties": {"caller_id": "+15551230099"},
                    }
                ],
                "draft",
            ),
        ],
        functions=[_fn()],
        alerts=[_alert(alert_text="callerId=%2B15551230002")],
        webhooks=[
            WebhookResponse(
                url="https://app.example/voice",
                method="POST",
                http_status=200,
                body=(
                    '<Response><Dial callerId="+15551230003">+1555</Dial>'
                    '<Dial callerId="+15559990000">+1</Dial></Response>'
                ),
                served_accounts=[A2, A1],
                reached_from=["PN1"],
                client_leg=True,
            ),
            WebhookResponse(
                url="https://down.example", method="POST", http_status=500, body="<Response/>"
            ),
        ],
        code_references=[code_ref],
    )
    refs, _notes = references_from_snapshot(snap)
    kinds = [r.source.kind for r in refs]
    assert kinds == ["alert"] + ["studio_flow"] + ["function"] * 7 + ["webhook"] * 4 + ["code"]
    assert "+15551230099" not in {r.raw_value for r in refs}  # draft flows never run
    hooks = [r for r in refs if r.source.kind == "webhook"]
    assert {r.executing_account_sid for r in hooks} == {A1, A2}
    assert all(r.client_leg for r in hooks)
    assert [r.passthrough for r in hooks if r.raw_value == "+15559990000"] == [True, True]
    again, _ = references_from_snapshot(snap)
    assert again == refs
