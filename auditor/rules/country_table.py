"""The destination caller-ID table (auditor/data/destination_callerid_rules.toml) and its checks.

Countries are data: each row says which caller IDs one destination country refuses,
replaces or surcharges, with Twilio's page as its source. The code below only reads
rows and matches facts about a call against them — small pure checks, the same for
every country; no country code appears in it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

from auditor.errors import AuditorError
from auditor.extract.numberinfo import NUMBER_TYPES
from auditor.model import Severity

TABLE_FILE = "destination_callerid_rules.toml"
EFFECTS = {
    "refused": Severity.HIGH.value,  # the call fails
    "replaced": Severity.MEDIUM.value,  # it completes with another (or no) caller ID
    "surcharge": Severity.LOW.value,  # it completes and costs more
}
HELD_AS = ("any", "owned", "verified")
COUNTRY_WORDS = ("same", "other", "any")
_ISO = re.compile(r"^[A-Z]{2}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SOURCE = re.compile(r"^https://([a-z0-9-]+\.)*twilio\.com/")
_TYPE_WORDS = {"uan": "national (UAN)", "toll_free": "toll-free"}


@dataclass(frozen=True)
class CallerFacts:
    """What matters about a caller ID on one call (facts, not judgements)."""

    country: str | None
    type: str  # a phonenumbers type name (auditor.extract.numberinfo)
    valid: bool
    held: str | None  # "owned" | "verified" by the executing account, None: neither


@dataclass(frozen=True)
class DestinationFacts:
    country: str
    type: str


@dataclass(frozen=True)
class CountryRule:
    """One row of the table."""

    id: str
    destination: str
    caller_id_country: str | tuple[str, ...]  # "same" | "other" | "any" | ISO codes
    held_as: str
    effect: str
    rule: str
    quote: str
    source: str
    checked: date
    caller_id_types: tuple[str, ...] = ()
    caller_id_valid: bool | None = None
    destination_types: tuple[str, ...] = ()
    note: str = ""
    fix: str = ""  # a remedy the source itself suggests

    @property
    def severity(self) -> str:
        return EFFECTS[self.effect]

    def matches(self, caller: CallerFacts, dest: DestinationFacts) -> bool:
        """True when a call to `dest` with `caller` is what this row is about."""
        return (
            dest.country == self.destination
            and _in(dest.type, self.destination_types)
            and self._country_matches(caller.country, dest.country)
            and _in(caller.type, self.caller_id_types)
            and (self.caller_id_valid is None or caller.valid == self.caller_id_valid)
            and (self.held_as == "any" or caller.held == self.held_as)
        )

    def _country_matches(self, caller: str | None, destination: str) -> bool:
        wanted = self.caller_id_country
        if wanted == "any":
            return True
        if wanted == "same":
            return caller == destination
        if wanted == "other":
            return caller is not None and caller != destination
        return caller in wanted

    def condition_text(self) -> str:
        """The caller-ID condition in words ('a Turkish-country… '): for `rules` and reports."""
        parts: list[str] = []
        wanted = self.caller_id_country
        if wanted == "same":
            parts.append(f"caller ID from {self.destination}")
        elif wanted == "other":
            parts.append(f"caller ID from outside {self.destination}")
        elif wanted == "any":
            parts.append("any caller ID")
        else:
            parts.append(f"caller ID from {', '.join(wanted)}")
        if self.caller_id_types:
            words = (_TYPE_WORDS.get(t, t.replace("_", " ")) for t in self.caller_id_types)
            parts.append("that is " + " or ".join(words))
        if self.caller_id_valid is False:
            parts.append("that is not a valid number")
        elif self.caller_id_valid is True:
            parts.append("that is a valid number")
        if self.held_as == "verified":
            parts.append("held only as a Verified Caller ID")
        elif self.held_as == "owned":
            parts.append("that is a Twilio number of the account")
        if self.destination_types:
            words = (_TYPE_WORDS.get(t, t.replace("_", " ")) for t in self.destination_types)
            parts.append("on calls to " + " or ".join(words) + " numbers")
        return " ".join(parts)

    def metadata(self) -> dict[str, object]:
        """The row as `twilio-audit rules --json` lists it."""
        return {
            "id": self.id,
            "destination": self.destination,
            "destination_types": list(self.destination_types),
            "caller_id_country": (
                self.caller_id_country
                if isinstance(self.caller_id_country, str)
                else list(self.caller_id_country)
            ),
            "held_as": self.held_as,
            "caller_id_types": list(self.caller_id_types),
            "caller_id_valid": self.caller_id_valid,
            "effect": self.effect,
            "severity": self.severity,
            "condition": self.condition_text(),
            "rule": self.rule,
            "quote": self.quote,
            "source": self.source,
            "checked": self.checked.isoformat(),
            "note": self.note,
            "fix": self.fix,
        }


def _in(value: str, allowed: tuple[str, ...]) -> bool:
    return not allowed or value in allowed


def check_rows(rows: tuple[CountryRule, ...], countries: frozenset[str]) -> None:
    """Every row has a source, a known effect, valid ISO codes, types and a date (else raise)."""
    seen: set[str] = set()
    for row in rows:
        where = f"{TABLE_FILE}: rule {row.id!r}"
        problems = []
        if not _ID.match(row.id) or row.id in seen:
            problems.append("id must be unique, lower case letters, digits and dashes")
        if row.destination not in countries:
            problems.append(f"destination {row.destination!r} is not an ISO 3166 country code")
        if row.effect not in EFFECTS:
            problems.append(f"effect must be one of {', '.join(EFFECTS)}")
        if row.held_as not in HELD_AS:
            problems.append(f"held_as must be one of {', '.join(HELD_AS)}")
        wanted = row.caller_id_country
        if isinstance(wanted, str):
            if wanted not in COUNTRY_WORDS:
                problems.append(
                    f"caller_id_country must be {', '.join(COUNTRY_WORDS)} or ISO codes"
                )
        elif not wanted or any(c not in countries for c in wanted):
            problems.append("caller_id_country lists a code that is not an ISO 3166 country")
        unknown = [
            t for t in (*row.caller_id_types, *row.destination_types) if t not in NUMBER_TYPES
        ]
        if unknown:
            problems.append(f"unknown number type(s) {unknown}; use {sorted(NUMBER_TYPES)}")
        if not _SOURCE.match(row.source):
            problems.append("source must be an https:// page on twilio.com")
        if not row.rule.strip() or not row.quote.strip():
            problems.append("rule and quote must say what Twilio's page says")
        if not isinstance(row.checked, date) or row.checked > date.today():
            problems.append("checked must be the date (YYYY-MM-DD) the source was read")
        if problems:
            raise AuditorError(f"{where}: {'; '.join(problems)}")
        seen.add(row.id)


def parse_rows(data: dict[str, Any]) -> tuple[CountryRule, ...]:
    """Rows from the TOML document (AuditorError naming the row on a wrong field)."""
    if data.get("schema") != 1 or not isinstance(data.get("rule"), list):
        raise AuditorError(f"{TABLE_FILE}: expected schema = 1 and [[rule]] tables")
    rows = []
    for i, raw in enumerate(data["rule"]):
        where = f"{TABLE_FILE}: rule #{i + 1} ({raw.get('id', '?')!r})"
        try:
            country = raw["caller_id_country"]
            rows.append(
                CountryRule(
                    id=str(raw["id"]),
                    destination=str(raw["destination"]),
                    caller_id_country=country if isinstance(country, str) else tuple(country),
                    held_as=str(raw["held_as"]),
                    effect=str(raw["effect"]),
                    rule=str(raw["rule"]),
                    quote=str(raw["quote"]),
                    source=str(raw["source"]),
                    checked=raw["checked"],
                    caller_id_types=tuple(raw.get("caller_id_types", ())),
                    caller_id_valid=raw.get("caller_id_valid"),
                    destination_types=tuple(raw.get("destination_types", ())),
                    note=str(raw.get("note", "")),
                    fix=str(raw.get("fix", "")),
                )
            )
        except (KeyError, TypeError) as exc:
            raise AuditorError(f"{where}: missing or malformed field {exc}") from None
    return tuple(rows)


def iso_countries() -> frozenset[str]:
    """ISO 3166 alpha-2 codes phonenumbers knows (every country with a calling code)."""
    import phonenumbers

    return frozenset(
        r for r in phonenumbers.SUPPORTED_REGIONS if _ISO.match(r) and r not in ("ZZ",)
    )


@cache
def country_rules() -> tuple[CountryRule, ...]:
    """The shipped table, parsed and checked once."""
    text = resources.files("auditor").joinpath("data", TABLE_FILE).read_text(encoding="utf-8")
    rows = parse_rows(tomllib.loads(text))
    check_rows(rows, iso_countries())
    return rows


def rules_for(destination: str | None) -> tuple[CountryRule, ...]:
    """The rows about calls to `destination` (an ISO code), in table order."""
    if destination is None:
        return ()
    return tuple(row for row in country_rules() if row.destination == destination)
