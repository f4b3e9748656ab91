"""classify / normalize / is_e164: the one place a callerId value is classified."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.extract.values import classify, is_e164, is_placeholder, normalize
from auditor.model import RefKind


@pytest.mark.parametrize(
    ("raw", "kind", "e164"),
    [
        ("+15551234567", RefKind.NUMBER, "+15551234567"),
        ("+1 (555) 123-4567", RefKind.NUMBER, "+15551234567"),
        ("15551234567", RefKind.NUMBER, "+15551234567"),
        ("442071838750", RefKind.NUMBER, "+442071838750"),
        ("0044 20 7183 8750", RefKind.NUMBER, "+442071838750"),
        ("client:alice", RefKind.CLIENT, None),
        ("Client:Alice", RefKind.CLIENT, None),
        ("sip:desk@example.sip.twilio.com", RefKind.SIP, None),
        ("Anonymous", RefKind.OTHER, None),
        # a leading + is written as a phone number even when the rest is a placeholder
        ("+phoneNumber", RefKind.NUMBER, None),
        ("+1XXXXXXXXXX", RefKind.NUMBER, None),
    ],
)
def test_classify_values(raw: str, kind: RefKind, e164: str | None) -> None:
    got = classify(raw)
    assert (got.kind, got.e164) == (kind.value, e164)


def test_national_number_gets_a_recorded_us_hint() -> None:
    got = classify("5551234567")
    assert (got.kind, got.e164, got.assumed_region) == ("number", "+15551234567", "US")
    assert classify("+15551234567").assumed_region is None
    assert classify("020 7183 8750", default_region="GB").e164 == "+442071838750"


@pytest.mark.parametrize("raw", [None, "", "   ", "None", "null", "undefined", "nil"])
def test_empty_values(raw: str | None) -> None:
    assert classify(raw).kind == RefKind.EMPTY


@pytest.mark.parametrize("raw", ["{{x}}", "${CALLER_ID}", "%s", "{caller}", "{0}", "<%= num %>"])
def test_unrendered_placeholders_are_empty(raw: str) -> None:
    got = classify(raw)
    assert got.kind == RefKind.EMPTY
    assert got.template == raw
    assert is_placeholder(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "{{trigger.call.From}}",
        "{{trigger.call.To}}",
        "{{contact.channel.address}}",
        "{{flow.channel.address}}",
        "{{ contact.channel.address | strip }}",
    ],
)
def test_liquid_passthrough(raw: str) -> None:
    got = classify(raw)
    assert (got.kind, got.passthrough, got.template) == ("template", True, raw)


def test_liquid_variable_is_rendered_at_run_time_not_empty() -> None:
    got = classify("{{flow.variables.caller}}")
    assert (got.kind, got.passthrough) == ("template", False)
    assert classify("{{widgets.lookup.parsed.number}}").kind == RefKind.TEMPLATE


def test_is_e164() -> None:
    assert is_e164("+15551234567")
    assert not is_e164("15551234567")
    assert not is_e164("+0123")
    assert not is_e164("+1234567890123456")
    assert not is_e164(None)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="+0123456789 ()-.", max_size=24) | st.text(max_size=30))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    if once is not None:
        assert is_e164(once)
        assert normalize(once) == once


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_classify_never_raises(text: str) -> None:
    got = classify(text)
    assert got.kind in {k.value for k in RefKind}
