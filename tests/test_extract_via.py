"""Each non-code source says how its caller ID reaches Twilio (`via`); Flex outbound caller IDs."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.extract import references_from_snapshot
from auditor.extract.alerts import extract_alert
from auditor.extract.flex import extract_flex
from auditor.extract.studio import extract_flow
from auditor.extract.twiml import extract_twiml
from auditor.model import (
    Alert,
    FlexConfiguration,
    FlexOutboundFlow,
    Snapshot,
    Source,
    StudioFlow,
    WebhookResponse,
)

ACC = "AC" + "1" * 32
GO = "GO" + "1" * 32


def flex(*flows: FlexOutboundFlow, status: str | None = "ok") -> FlexConfiguration:
    return FlexConfiguration(ACC, status, GO, list(flows))


def test_flex_outbound_caller_id_is_a_reference_of_the_flex_account() -> None:
    refs, notes = extract_flex(flex(FlexOutboundFlow("default", "+15035550100", location="US")))
    (ref,) = refs
    assert notes == []
    assert (ref.via, ref.executing_account_sid, ref.e164, ref.dialed) == (
        "flex-outbound",
        ACC,
        "+15035550100",
        "number",
    )
    assert ref.source == Source("flex", None, "outbound_call_flows.default")


def test_flex_national_number_is_read_in_the_dialpads_country() -> None:
    (ref,) = extract_flex(flex(FlexOutboundFlow("default", "020 7946 0000", location="GB")))[0]
    assert ref.kind == "number" and ref.e164 == "+442079460000"  # still not E.164 as written


def test_flex_without_outbound_dialing_or_not_set_up_gives_nothing() -> None:
    assert extract_flex(flex()) == ([], [])
    assert extract_flex(flex(FlexOutboundFlow("default", None))) == ([], [])
    assert extract_flex(flex(FlexOutboundFlow("default", "  "))) == ([], [])
    flow = FlexOutboundFlow("default", "+15035550100")
    assert extract_flex(flex(flow, status="notstarted")) == ([], [])
    assert len(extract_flex(flex(flow, status="inprogress"))[0]) == 1


def test_flex_references_come_out_of_the_snapshot() -> None:
    snap = Snapshot(ACC, "2026-11-29T12:00:00Z", "test")
    snap.flex_configurations.append(flex(FlexOutboundFlow("default", "client:agent")))
    refs, _ = references_from_snapshot(snap)
    assert [(r.via, r.kind) for r in refs] == [("flex-outbound", "client")]


def test_studio_widgets_are_studio() -> None:
    states = [
        {
            "name": "dial",
            "type": "connect-call-to",
            "properties": {"caller_id": "+1503555", "noun": "number"},
        },
        {"name": "call", "type": "make-outgoing-call-v2", "properties": {"from": "+15035550100"}},
        {"name": "bare", "type": "make-outgoing-call-v2", "properties": {}},
    ]
    flow = StudioFlow("FW" + "1" * 32, ACC, "f", "published", 1, {"states": states})
    refs, _ = extract_flow(flow)
    assert [(r.source.location, r.via) for r in refs] == [
        ("dial", "studio"),
        ("call", "studio"),
        ("bare", "studio"),
    ]


def test_twiml_in_webhooks_and_alert_bodies_is_a_dial() -> None:
    refs, _ = extract_twiml(
        '<Response><Dial callerId="+15035550100">+15035550101</Dial></Response>',
        account_sid=ACC,
        source=Source("webhook", None, "https://x.example/voice"),
    )
    assert [r.via for r in refs] == ["dial"]
    snap = Snapshot(ACC, "2026-11-29T12:00:00Z", "test")
    snap.webhooks.append(
        WebhookResponse(
            "https://x.example/voice",
            "POST",
            200,
            body='<Response><Dial callerId="+15035550100"><Number>+1503</Number></Dial></Response>',
            served_accounts=[ACC],
        )
    )
    assert [r.via for r in references_from_snapshot(snap)[0]] == ["dial"]


def _alert(code: str, **kw: object) -> Alert:
    return Alert("NO" + "1" * 32, ACC, code, **kw)  # type: ignore[arg-type]


def test_alert_codes_tell_a_dial_from_a_calls_api_request() -> None:
    body = '<Response><Dial callerId="+15035550100"><Number>+15035550101</Number></Dial></Response>'
    assert [r.via for r in extract_alert(_alert("13214", response_body=body))[0]] == ["dial"]
    text = "Msg=Dial%3A+Invalid+callerId+value&callerId=%2B15035550100"
    assert [r.via for r in extract_alert(_alert("13214", alert_text=text))[0]] == ["dial"]
    for code in ("21210", "21212"):
        rest = extract_alert(_alert(code, alert_text="From=%2B15035550100"))[0]
        assert [r.via for r in rest] == ["calls-api"], code


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["default", "other", ""]),
        st.builds(
            FlexOutboundFlow,
            name=st.text(max_size=5),
            caller_id=st.one_of(st.none(), st.text(max_size=30)),
            location=st.one_of(st.none(), st.text(max_size=3)),
        ),
        max_size=3,
    ),
    st.sampled_from([None, "ok", "inprogress", "notstarted", "x"]),
)
def test_flex_never_raises(flows: dict[str, FlexOutboundFlow], status: str | None) -> None:
    refs, _ = extract_flex(FlexConfiguration(ACC, status, None, list(flows.values())))
    assert all(r.via == "flex-outbound" and r.executing_account_sid == ACC for r in refs)
