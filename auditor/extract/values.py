"""Classify a callerId value: the one place that decides number/client/sip/template/empty.

Every extractor (TwiML, Studio, Functions, alerts, local code) hands its raw value
here, so a value means the same thing wherever it was found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers

from auditor.model import CallerIdReference, RefKind

_E164 = re.compile(r"\+[1-9]\d{1,14}")
# Characters a human writes in a phone number: digits, +, spaces, dashes, dots, parentheses.
_PHONEISH = re.compile(r"\+?[\d\s().\-/]*\d[\d\s().\-/]*")
_NULLISH = {"none", "null", "nil", "undefined", "nan", '""', "''"}

# Studio Liquid variables that render the call's own From/To (Twilio allows these).
_PASSTHROUGH_LIQUID = {
    "trigger.call.from",
    "trigger.call.to",
    "trigger.call.caller",
    "trigger.call.called",
    "contact.channel.address",
    "flow.channel.address",
}
# Roots of the Liquid context Studio renders at run time.
_LIQUID_ROOTS = ("trigger.", "flow.", "widgets.", "contact.")
_LIQUID = re.compile(r"\{\{\s*([^{}|]*?)\s*(?:\|[^{}]*)?\}\}")
# Placeholders a template engine should have replaced before Twilio saw the value.
_PLACEHOLDER = re.compile(
    r"\{\{[^{}]*\}\}"  # {{x}} mustache / jinja / liquid
    r"|\$\{[^{}]*\}"  # ${X} shell / JS template / Spring
    r"|%\(?\w*\)?[sd]\b|%s|%d"  # printf: %s, %(name)s
    r"|\{\w*\}"  # {x}, {0}, {} str.format
    r"|<%=?[^%]*%>"  # ERB / EJS
    r"|#\{[^{}]*\}"  # Ruby interpolation
    r"|\[\[[^\[\]]*\]\]"  # [[x]]
)


@dataclass(frozen=True)
class Classified:
    """What a raw callerId value is; `assumed_region` is set when the E.164 form is a guess."""

    kind: str  # RefKind value
    e164: str | None = None
    passthrough: bool = False
    template: str | None = None
    assumed_region: str | None = None


def is_e164(value: str | None) -> bool:
    """True for a syntactically valid E.164 number: '+', country code, at most 15 digits."""
    return value is not None and _E164.fullmatch(value) is not None


def _format(number: phonenumbers.PhoneNumber) -> str | None:
    text: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return text if is_e164(text) else None


def _parse(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _normalize(value: str, default_region: str | None) -> tuple[str | None, str | None]:
    """(E.164 form, region assumed to get it) for a phone-like value, or (None, None)."""
    text = value.strip()
    if is_e164(text):
        return text, None
    if not _PHONEISH.fullmatch(text):
        return None, None
    digits = re.sub(r"\D", "", text)
    if not digits or len(digits) > 17:
        return None, None
    if text.startswith("+"):
        number = _parse("+" + digits, None)
        if number is not None and phonenumbers.is_possible_number(number):
            return _format(number), None
        return None, None
    if digits.startswith("00"):  # international dialling prefix used outside NANP
        number = _parse("+" + digits[2:], None)
        if number is not None and phonenumbers.is_valid_number(number):
            return _format(number), None
    if default_region:
        number = _parse(digits, default_region.upper())
        if number is not None and phonenumbers.is_possible_number(number):
            return _format(number), default_region.upper()
    if len(digits) == 11 and digits.startswith("1"):  # NANP written with its country code
        number = _parse("+" + digits, None)
        if number is not None and phonenumbers.is_possible_number(number):
            return _format(number), None
    if len(digits) == 10 and digits[0] in "23456789":  # a NANP national number: a hint
        number = _parse(digits, "US")
        if number is not None and phonenumbers.is_possible_number(number):
            return _format(number), "US"
    number = _parse("+" + digits, None)  # a leading country code without '+'
    if number is not None and phonenumbers.is_valid_number(number):
        return _format(number), None
    return None, None


def normalize(value: str | None, *, default_region: str | None = None) -> str | None:
    """The E.164 form of a phone-like value when it is unambiguous, else None (idempotent)."""
    if value is None:
        return None
    return _normalize(value, default_region)[0]


def is_placeholder(value: str) -> bool:
    """True when the value still holds a template placeholder nobody rendered."""
    return _PLACEHOLDER.search(value) is not None


def classify(raw: str | None, *, default_region: str | None = None) -> Classified:
    """Classify a callerId value as written (see RefKind)."""
    if raw is None:
        return Classified(RefKind.EMPTY.value)
    text = raw.strip()
    if not text or text.lower() in _NULLISH:
        return Classified(RefKind.EMPTY.value)
    liquid = _LIQUID.fullmatch(text)
    if liquid:
        expr = liquid.group(1).strip()
        if expr.lower() in _PASSTHROUGH_LIQUID:
            return Classified(RefKind.TEMPLATE.value, passthrough=True, template=text)
        if expr.startswith(_LIQUID_ROOTS):  # Studio renders it at run time
            return Classified(RefKind.TEMPLATE.value, template=text)
        return Classified(RefKind.EMPTY.value, template=text)
    if is_placeholder(text):
        return Classified(RefKind.EMPTY.value, template=text)
    lowered = text.lower()
    if lowered.startswith("client:"):
        return Classified(RefKind.CLIENT.value)
    if lowered.startswith(("sip:", "sips:")):
        return Classified(RefKind.SIP.value)
    if text.startswith("+") or _PHONEISH.fullmatch(text):
        e164, region = _normalize(text, default_region)
        if e164 is None and not text.startswith("+") and not re.search(r"\d{3}", text):
            return Classified(RefKind.OTHER.value)
        # a leading + says "phone number" even when the rest is a placeholder (+phoneNumber)
        return Classified(RefKind.NUMBER.value, e164=e164, assumed_region=region)
    return Classified(RefKind.OTHER.value)


def region_notes(refs: Iterable[CallerIdReference]) -> list[str]:
    """One note per reference whose E.164 form rests on an assumed region (a national number)."""
    notes: list[str] = []
    for ref in refs:
        if ref.kind != RefKind.NUMBER or ref.e164 is None or is_e164(ref.raw_value.strip()):
            continue
        region = classify(ref.raw_value).assumed_region
        if region:
            where = ref.source.location or ref.source.sid or ref.source.kind
            notes.append(
                f"{where}: {ref.raw_value.strip()!r} has no country code; "
                f"read as {region} ({ref.e164})"
            )
    return notes
