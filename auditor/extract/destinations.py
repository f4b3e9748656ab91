"""Which Geo Permissions country governs a destination, and Twilio's high-risk prefixes of it.

Pure functions over model data, shared by the collector (which countries' prefixes
to read: auditor.collect.prefixes) and the rules (what a read list means for a
number: auditor.rules.geo), so both map a number to the same entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from auditor.model import DialingPermissionCountry


def entry_for(
    countries: Sequence[DialingPermissionCountry], e164: str, iso: str | None
) -> DialingPermissionCountry | None:
    """The entry that governs a number: by its ISO country, else Twilio's longest country code.

    Twilio groups some countries ("United States/Canada" is `US` with `+1`), so a Canadian
    number is governed by the `US` entry when the list has no `CA` of its own.
    """
    by_iso = next((c for c in countries if iso and c.iso_code == iso), None)
    if by_iso is not None:
        return by_iso
    digits = e164.lstrip("+")
    best: DialingPermissionCountry | None = None
    best_len = 0
    for country in countries:
        for code in country.country_codes:
            prefix = _digits(code)
            if prefix and digits.startswith(prefix) and len(prefix) > best_len:
                best, best_len = country, len(prefix)
    return best


def entry_country(
    countries: Sequence[DialingPermissionCountry], e164: str, iso: str | None
) -> str | None:
    """The ISO code of the entry governing `e164` (its own country when no list holds it)."""
    entry = entry_for(countries, e164, iso) if countries else None
    return entry.iso_code if entry is not None else iso


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def prefix_digits(prefixes: Iterable[str]) -> tuple[str, ...]:
    """Twilio's prefixes as digit strings: "+1(510) 720" → "1510720" (empty ones dropped)."""
    return tuple(d for d in (_digits(p) for p in prefixes) if d)


def matching_prefix(e164: str, prefixes: Sequence[str]) -> str | None:
    """The longest of `prefixes` (digit strings) that `e164` starts with, or None."""
    digits = _digits(e164)
    found = [p for p in prefixes if digits.startswith(p)]
    return max(found, key=len) if found else None
