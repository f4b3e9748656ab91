"""extract_twiml: every <Dial>, tolerant of case, namespaces and nesting; hostile XML is a note."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.extract.twiml import extract_twiml
from auditor.model import Source

ACCOUNT = "AC" + "1" * 32
SRC = Source(kind="alert", sid="NO1", location="response_body")


def _refs(xml: str, **kw: object) -> list:
    refs, notes = extract_twiml(xml, account_sid=ACCOUNT, source=SRC, **kw)  # type: ignore[arg-type]
    assert notes == []
    return refs


def test_dial_number_with_callerid() -> None:
    (ref,) = _refs(
        '<Response><Dial callerId="+15551230001"><Number>+15557770000</Number></Dial></Response>'
    )
    assert (ref.raw_value, ref.kind, ref.e164, ref.dialed) == (
        "+15551230001",
        "number",
        "+15551230001",
        "number",
    )
    assert ref.executing_account_sid == ACCOUNT and ref.source is SRC and not ref.missing


def test_each_noun_and_bare_text() -> None:
    xml = """<?xml version="1.0"?><Response>
      <Dial callerId="+15551230001">  +15557770000  </Dial>
      <Dial callerId="client:bob"><Client>alice</Client></Dial>
      <Dial callerId="+15551230001"><Sip>sip:a@b.sip.twilio.com</Sip></Dial>
      <Dial callerId="+15551230001"><Queue>support</Queue></Dial>
      <Dial callerId="+15551230001"><Conference>room</Conference></Dial>
      <Dial callerId="+15551230001">client:carol</Dial>
    </Response>"""
    assert [r.dialed for r in _refs(xml)] == [
        "number",
        "client",
        "sip",
        "queue",
        "conference",
        "client",
    ]


def test_case_namespaces_whitespace_and_nesting() -> None:
    xml = """<r:Response xmlns:r="urn:x"><Gather><r:DIAL CALLERID="  +1 555 123 0001 ">
      <r:number>+15557770000</r:number></r:DIAL></Gather>
      <Response><dial callerid="+15551230002"><NUMBER>1</NUMBER></dial></Response></r:Response>"""
    refs = _refs(xml)
    assert [(r.raw_value.strip(), r.e164, r.dialed) for r in refs] == [
        ("+1 555 123 0001", "+15551230001", "number"),
        ("+15551230002", "+15551230002", "number"),
    ]


def test_missing_and_empty_callerid_differ() -> None:
    missing, empty = _refs(
        "<Response><Dial><Number>+15557770000</Number></Dial>"
        '<Dial callerId=""><Number>+1</Number></Dial></Response>'
    )
    assert (missing.missing, missing.raw_value, missing.kind, missing.template) == (
        True,
        "",
        "empty",
        None,
    )
    assert (empty.missing, empty.kind) == (False, "empty")


def test_unrendered_placeholder_is_empty() -> None:
    (ref,) = _refs('<Response><Dial callerId="{{caller_id}}">+15557770000</Dial></Response>')
    assert ref.kind == "empty"


def test_passthrough_and_client_leg_from_request_vars() -> None:
    xml = (
        '<Response><Dial callerId="(555) 123-0009">+15557770000</Dial>'
        '<Dial callerId="+15551230001">+1555777</Dial></Response>'
    )
    same, other = _refs(xml, request_vars={"From": "+15551230009", "To": "+15559990000"})
    assert same.passthrough and not other.passthrough
    (ref,) = _refs(
        "<Response><Dial>+15557770000</Dial></Response>", request_vars={"From": "client:alice"}
    )
    assert ref.client_leg and ref.missing


def _notes(xml: str) -> list[str]:
    refs, notes = extract_twiml(xml, account_sid=ACCOUNT, source=SRC)
    assert refs == []
    return notes


def test_billion_laughs_is_a_note() -> None:
    xml = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        '<Response><Dial callerId="&lol3;">+1</Dial></Response>'
    )
    (note,) = _notes(xml)
    assert "could not be parsed" in note


def test_external_entity_is_a_note() -> None:
    xml = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<Response><Dial callerId="&x;">+1</Dial></Response>'
    )
    (note,) = _notes(xml)
    assert "could not be parsed" in note and "root:" not in note


def test_broken_xml_is_a_note() -> None:
    (note,) = _notes('<Response><Dial callerId="+15551230001">+1</Response')
    assert "not well-formed" in note


def test_ten_megabytes_is_a_note() -> None:
    xml = "<Response>" + "<Say>x</Say>" * (10 * 1024 * 1024 // 12) + "</Response>"
    (note,) = _notes(xml)
    assert "cap" in note


def test_empty_document_is_nothing() -> None:
    assert extract_twiml("  ", account_sid=ACCOUNT, source=SRC) == ([], [])


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_on_text(text: str) -> None:
    refs, notes = extract_twiml(text, account_sid=ACCOUNT, source=SRC)
    assert isinstance(refs, list) and isinstance(notes, list)


_xml_fragment = st.recursive(
    st.sampled_from(["+15551230001", "client:a", "", "{{x}}", "&amp;", "<", "]]>"]),
    lambda inner: st.builds(
        lambda tag, attr, body: f'<{tag} callerId="{attr}">{body}</{tag}>',
        st.sampled_from(["Dial", "dial", "Number", "Client", "Response", "x:Dial"]),
        st.text(max_size=10),
        inner,
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(_xml_fragment)
def test_never_raises_on_xmlish(text: str) -> None:
    refs, notes = extract_twiml(f"<Response>{text}</Response>", account_sid=ACCOUNT, source=SRC)
    assert all(r.executing_account_sid == ACCOUNT for r in refs)
    assert not (refs and notes)  # either parsed (references) or a note, never both
