"""callerId references in TwiML: every <Dial>, its callerId and what it dials.

Parsed with defusedxml (no entities, no external references) and a size cap:
a hostile, oversized or broken document becomes a note, never an exception.
Tags are matched case-insensitively and without their namespace, at any depth.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qsl
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from auditor.extract.numberinfo import fixed_destination
from auditor.extract.values import classify, normalize
from auditor.model import CallerIdReference, DialedKind, RefKind, Source

MAX_TWIML_CHARS = 1_000_000  # Twilio itself refuses TwiML over 64 KB

_NOUNS = {
    "number": DialedKind.NUMBER,
    "client": DialedKind.CLIENT,
    "sip": DialedKind.SIP,
    "queue": DialedKind.QUEUE,
    "conference": DialedKind.CONFERENCE,
}


def _local(name: object) -> str:
    """Tag or attribute name without namespace, lower-cased."""
    text = name if isinstance(name, str) else ""
    return text.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _attr(element: Element, wanted: str) -> str | None:
    for key, value in element.attrib.items():
        if _local(key) == wanted:
            return value
    return None


def dialed_kind(dial: Element) -> str:
    """What a <Dial> rings: its first noun child, else its text (a bare number or client:)."""
    for child in dial.iter():
        if child is dial:
            continue
        kind = _NOUNS.get(_local(child.tag))
        if kind is not None:
            return kind.value
    text = (dial.text or "").strip()
    if not text:
        return DialedKind.UNKNOWN.value
    lowered = text.lower()
    if lowered.startswith("client:"):
        return DialedKind.CLIENT.value
    if lowered.startswith(("sip:", "sips:")):
        return DialedKind.SIP.value
    return DialedKind.NUMBER.value


def dial_targets(dial: Element) -> list[str]:
    """What each leg of a <Dial> rings: the text of every <Number>, or its bare text.

    Empty when the Dial rings no phone number (a <Client>, <Sip>, <Queue>, <Conference>).
    """
    numbers = [
        (child.text or "").strip()
        for child in dial.iter()
        if child is not dial and _local(child.tag) == "number"
    ]
    if numbers:
        return numbers
    if dialed_kind(dial) == DialedKind.NUMBER.value:  # no noun: a bare number as its text
        return [(dial.text or "").strip()]
    return []


def per_destination(ref: CallerIdReference, targets: list[str]) -> list[CallerIdReference]:
    """One reference per number the Dial rings, each with its fixed destination (or None).

    A <Dial> with several <Number>s rings them all at once: each is its own outgoing leg,
    which Twilio checks against the Geo Permissions and the destination country's rules
    separately, under the same callerId. The ownership rules see the legs as one Dial
    (auditor.rules.base.representative_references).
    """
    if not targets:
        return [ref]
    out = []
    for target in targets:
        destination, country = fixed_destination(target)
        out.append(replace(ref, destination=destination, destination_country=country))
    return out


def is_passthrough(value: str, request_vars: dict[str, str] | None) -> bool:
    """True when the callerId is the call's own From or To (Twilio allows that)."""
    if not request_vars or not value.strip():
        return False
    candidate = value.strip()
    norm = normalize(candidate)
    for key in ("From", "To", "Caller", "Called"):
        other = (request_vars.get(key) or "").strip()
        if not other:
            continue
        if other == candidate or (norm is not None and normalize(other) == norm):
            return True
    return False


def extract_twiml(
    xml: str,
    *,
    account_sid: str | None,
    source: Source,
    request_vars: dict[str, str] | None = None,
) -> tuple[list[CallerIdReference], list[str]]:
    """References for every <Dial> in a TwiML document, plus notes on what could not be read."""
    where = source.location or source.sid or source.kind
    if not isinstance(xml, str) or not xml.strip():
        return [], []
    if len(xml) > MAX_TWIML_CHARS:
        return [], [f"{where}: TwiML of {len(xml)} characters is over the {MAX_TWIML_CHARS} cap"]
    try:
        root = SafeET.fromstring(xml.lstrip("\ufeff").strip(), forbid_dtd=True)
    except Exception as exc:  # defusedxml raises several unrelated types; all mean "unusable"
        reason = type(exc).__name__
        if reason == "ParseError":
            reason = f"not well-formed XML ({exc})"
        return [], [f"{where}: TwiML could not be parsed: {reason}"]
    client_leg = bool(
        request_vars and (request_vars.get("From") or "").strip().lower().startswith("client:")
    )
    refs: list[CallerIdReference] = []
    for element in root.iter():
        if _local(element.tag) != "dial":
            continue
        dialed = dialed_kind(element)
        targets = dial_targets(element)
        value = _attr(element, "callerid")
        if value is None:
            missing = CallerIdReference(
                raw_value="",
                kind=RefKind.EMPTY.value,
                source=source,
                executing_account_sid=account_sid,
                dialed=dialed,
                client_leg=client_leg,
                missing=True,
            )
            refs.extend(per_destination(missing, targets))
            continue
        info = classify(value)
        passthrough = info.passthrough or is_passthrough(value, request_vars)
        ref = CallerIdReference(
            raw_value=value,
            kind=info.kind,
            source=source,
            executing_account_sid=account_sid,
            e164=info.e164,
            dialed=dialed,
            passthrough=passthrough,
            template=info.template,
            client_leg=client_leg,
        )
        refs.extend(per_destination(ref, targets))
    return refs, []


def parse_form(text: str | None) -> dict[str, str]:
    """Form-encoded text (request_variables, alert_text) as a dict; never raises."""
    if not text:
        return {}
    try:
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=10_000))
    except ValueError:
        return {}
