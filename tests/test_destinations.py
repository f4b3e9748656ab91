"""Every reference records the fixed destination it rings (E.164 + ISO country), or None
when the destination is decided at run time: TwiML <Number> and bare <Dial> text (alerts,
webhooks), Studio connect-call-to and make-outgoing-call-v2 `to`."""

from __future__ import annotations

import pytest
from test_rules_support import A, B, make_snapshot, webhook

from auditor.analysis import unique_references
from auditor.extract import references_from_snapshot
from auditor.extract.numberinfo import country_label, fixed_destination, number_info
from auditor.extract.studio import extract_flow
from auditor.extract.twiml import extract_twiml
from auditor.model import Alert, Source, StudioFlow

SRC = Source("webhook", None, "https://a.example.com/voice")


def dests(xml: str) -> list[tuple[str, str | None, str | None]]:
    refs, notes = extract_twiml(xml, account_sid=A, source=SRC)
    assert notes == []
    return [(r.raw_value, r.destination, r.destination_country) for r in refs]


def test_number_noun_gives_its_destination() -> None:
    xml = '<Response><Dial callerId="+15551110001"><Number>+902122223344</Number></Dial></Response>'
    assert dests(xml) == [("+15551110001", "+902122223344", "TR")]


def test_bare_dial_text_gives_its_destination() -> None:
    xml = '<Response><Dial callerId="+15551110001"> +44 20 7946 0123 </Dial></Response>'
    assert dests(xml) == [("+15551110001", "+442079460123", "GB")]


def test_each_number_of_a_dial_is_its_own_reference() -> None:
    xml = (
        '<Response><Dial callerId="+15551110001"><Number>+4930901820</Number>'
        "<Number>0044 20 7946 0123</Number><Number>{{patient}}</Number></Dial></Response>"
    )
    assert dests(xml) == [
        ("+15551110001", "+4930901820", "DE"),
        ("+15551110001", "+442079460123", "GB"),
        ("+15551110001", None, None),  # decided at run time
    ]


@pytest.mark.parametrize(
    "target",
    [
        "<Client>alice</Client>",
        "<Sip>sip:desk@example.com</Sip>",
        "<Queue>support</Queue>",
        "<Conference>room</Conference>",
        "",
    ],
)
def test_dials_that_ring_no_number_have_no_destination(target: str) -> None:
    assert dests(f'<Response><Dial callerId="+15551110001">{target}</Dial></Response>') == [
        ("+15551110001", None, None)
    ]


def test_a_national_number_says_nothing_about_its_country() -> None:
    xml = (
        '<Response><Dial callerId="+15551110001"><Number>(503) 555-0155</Number></Dial></Response>'
    )
    assert dests(xml) == [("+15551110001", None, None)]


def test_a_dial_without_callerid_still_records_each_destination() -> None:
    refs, _ = extract_twiml(
        "<Response><Dial><Number>+4930901820</Number><Number>+14155550123</Number></Dial>"
        "</Response>",
        account_sid=A,
        source=SRC,
    )
    assert [(r.missing, r.destination_country) for r in refs] == [(True, "DE"), (True, "US")]


def test_unique_references_keep_the_legs_apart() -> None:
    refs, _ = extract_twiml(
        '<Response><Dial callerId="+15551110001"><Number>+4930901820</Number>'
        "<Number>+442079460123</Number></Dial></Response>",
        account_sid=A,
        source=SRC,
    )
    assert len(unique_references(refs + refs)) == 2


def _flow(states: list[dict[str, object]]) -> StudioFlow:
    return StudioFlow("FW" + "1" * 32, A, "Abroad", "published", 1, {"states": states})


def test_studio_widgets_record_their_fixed_destinations() -> None:
    states = [
        {
            "name": "to_istanbul",
            "type": "connect-call-to",
            "properties": {"caller_id": "+15551110001", "noun": "number", "to": "+902122223344"},
        },
        {
            "name": "to_desks",
            "type": "connect-call-to",
            "properties": {
                "caller_id": "+15551110001",
                "noun": "number-multi",
                "to": "+4930901820, +442079460123",
            },
        },
        {
            "name": "to_patient",
            "type": "make-outgoing-call-v2",
            "properties": {"from": "+15551110001", "to": "{{flow.data.patient_phone}}"},
        },
        {
            "name": "to_lab",
            "type": "make-outgoing-call-v2",
            "properties": {"from": "+15551110001", "to": "+81312345678"},
        },
        {
            "name": "to_agent",
            "type": "connect-call-to",
            "properties": {"caller_id": "+15551110001", "noun": "client", "to": "+4930901820"},
        },
    ]
    refs, notes = extract_flow(_flow(states))
    assert notes == []
    assert [(r.source.location, r.destination, r.destination_country) for r in refs] == [
        ("to_istanbul", "+902122223344", "TR"),
        ("to_desks", "+4930901820", "DE"),
        ("to_desks", "+442079460123", "GB"),
        ("to_patient", None, None),
        ("to_lab", "+81312345678", "JP"),
        ("to_agent", None, None),  # a client noun rings an identity, whatever `to` says
    ]
    assert {r.via for r in refs} == {"studio"}


def test_alerts_and_webhooks_carry_destinations_through_the_snapshot() -> None:
    body = (
        '<Response><Dial callerId="+15551110001"><Number>+902122223344</Number></Dial></Response>'
    )
    alert = Alert("NO" + "1" * 32, A, "13214", response_body=body)
    hook = webhook("https://b.example.com/voice", [A, B], body=body)
    refs, _ = references_from_snapshot(make_snapshot(alerts=[alert], webhooks=[hook]))
    got = {(r.source.kind, r.executing_account_sid, r.destination_country) for r in refs}
    assert got == {("alert", A, "TR"), ("webhook", A, "TR"), ("webhook", B, "TR")}


def test_number_facts() -> None:
    assert fixed_destination("client:alice") == (None, None)
    assert fixed_destination(None) == (None, None)
    info = number_info("+15555550100")  # fictional and invalid: its calling code's country
    assert info is not None and info.country == "US" and not info.valid
    assert number_info("+4930901820").type == "fixed_line"  # type: ignore[union-attr]
    assert number_info("not a number") is None
    assert country_label("TR") == "Turkey (TR)" and country_label(None) == "an unknown country"
