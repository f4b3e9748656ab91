"""What `phonenumbers` says about an E.164 number: its country, its type, whether it is valid.

The destination rules and the country table read numbers through these few functions
only, so a number means the same country and type wherever it is judged. Results are
cached: a hierarchy repeats the same few hundred numbers thousands of times.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

import phonenumbers
from phonenumbers import PhoneNumberType

from auditor.extract.values import classify, is_e164
from auditor.model import DialedKind, RefKind

# phonenumbers' types under the names the country table uses (lower case, as in its docs).
_TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}
NUMBER_TYPES = frozenset(_TYPE_NAMES.values())
COUNTRY_NAMES_FILE = "country_names.json"  # written by scripts/make-country-names


@dataclass(frozen=True)
class NumberInfo:
    """Country (ISO 3166 alpha-2, None when not a country's), type and validity of a number."""

    e164: str
    country: str | None
    type: str  # one of NUMBER_TYPES
    valid: bool


@lru_cache(maxsize=65536)
def number_info(e164: str) -> NumberInfo | None:
    """phonenumbers' view of an E.164 number (None when it does not parse)."""
    if not is_e164(e164):
        return None
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return None
    valid = bool(phonenumbers.is_valid_number(parsed))
    region = phonenumbers.region_code_for_number(parsed)
    if not region or region == "001":
        # An invalid number (a fictional +1 555 01xx, say) has no region of its own: its
        # country code's main country is what Twilio and carriers see (+1 → US, +44 → GB).
        region = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    country = region if region and region not in ("001", "ZZ") else None
    kind = _TYPE_NAMES.get(phonenumbers.number_type(parsed), "unknown") if valid else "unknown"
    return NumberInfo(e164=e164, country=country, type=kind, valid=valid)


def country_of(e164: str | None) -> str | None:
    """ISO 3166 alpha-2 of an E.164 number, or None."""
    info = number_info(e164) if e164 else None
    return info.country if info else None


def dialed_for_to(to: object, default: str = DialedKind.NUMBER.value) -> str:
    """What a call's `To` rings: a client, a SIP URI, or (anything else written) a number."""
    text = to.strip().lower() if isinstance(to, str) else ""
    if text.startswith("client:"):
        return DialedKind.CLIENT.value
    if text.startswith(("sip:", "sips:")):
        return DialedKind.SIP.value
    return DialedKind.NUMBER.value if text else default


def fixed_destination(text: str | None) -> tuple[str | None, str | None]:
    """(E.164, ISO country) of what a Dial rings when it is a number written in full.

    None, None for what is decided at run time (Liquid, `{{…}}`, variables), for client
    and SIP targets, and for a national number without a country code: which country
    Twilio would read it in is not something the TwiML says.
    """
    if text is None:
        return None, None
    info = classify(text)
    if info.kind != RefKind.NUMBER or info.e164 is None or info.assumed_region is not None:
        return None, None
    return info.e164, country_of(info.e164)


@lru_cache(maxsize=512)
def country_name(iso: str | None) -> str:
    """The English name of a country by ISO code ('' when phonenumbers does not know it).

    Read from auditor/data/country_names.json: phonenumbers' geocoder answers the same
    (tests/test_country_names.py), but importing it costs half a second.
    """
    return _country_names().get(iso, "") if iso else ""


@cache
def _country_names() -> dict[str, str]:
    text = resources.files("auditor").joinpath("data", COUNTRY_NAMES_FILE).read_text("utf-8")
    names: dict[str, str] = json.loads(text)["names"]
    return names


def country_label(iso: str | None) -> str:
    """'Turkey (TR)', or just the code when the name is unknown."""
    if not iso:
        return "an unknown country"
    name = country_name(iso)
    return f"{name} ({iso})" if name else iso
