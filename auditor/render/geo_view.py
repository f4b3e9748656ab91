"""What the report says about destinations: risk sentences and the Geo Permissions method.

Kept apart from view.py (one small module per concern): the report states how Geo
Permissions were judged, since Twilio does not document what an inheriting
subaccount's Countries list answers.
"""

from __future__ import annotations

from collections.abc import Iterable

from auditor.model import Finding, Snapshot
from auditor.rules.country_table import TABLE_FILE, country_rules
from auditor.rules.geo import INHERITED, OWN, UNCERTAIN, GeoIndex

NOT_PERMITTED = "dial-destination-not-permitted"
GEO_RESTRICTED = "callerid-geo-restricted"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _countries(findings: list[Finding]) -> str:
    return ", ".join(sorted({f.destination_country or "?" for f in findings}))


def destination_risk_sentences(findings: Iterable[Finding]) -> list[str]:
    """One sentence per destination rule that fired, in plain words."""
    items = list(findings)
    out = []
    blocked = [f for f in items if f.rule == NOT_PERMITTED]
    if blocked:
        out.append(
            f"{_plural(len(blocked), 'call destination')} ({_countries(blocked)}) "
            f"{'is' if len(blocked) == 1 else 'are'} blocked by the Geo Permissions of the "
            "account that places the call: those calls never ring."
        )
    restricted = [f for f in items if f.rule == GEO_RESTRICTED]
    if restricted:
        out.append(
            f"{_plural(len(restricted), 'call')} to {_countries(restricted)} "
            f"{'uses' if len(restricted) == 1 else 'use'} a caller ID the destination country "
            "refuses, replaces or bills at a surcharge (see the country rules and their sources)."
        )
    return out


def geo_method_sentences(snapshot: Snapshot) -> list[str]:
    """How destinations were judged: which Geo Permissions applied, and what is not known."""
    rows = len(country_rules())
    table = (
        f"Caller IDs on calls abroad were checked against a table of {rows} destination-country "
        f"rules, each taken from Twilio's own guidelines or support pages and dated "
        f"({TABLE_FILE}; the command twilio-audit rules lists it)."
    )
    if not snapshot.dialing_permissions:
        return [
            "Voice Geo Permissions were not read for this snapshot, so no destination was "
            "judged against them.",
            table,
        ]
    by = GeoIndex(snapshot).by_method()
    read = len(snapshot.dialing_permissions)
    parts = [
        f"Voice Geo Permissions (DialingPermissions/Countries and the inheritance setting) "
        f"were read for {_plural(read, 'account')}, each with its own credentials. A "
        "subaccount that inherits them is judged by its parent's list, which Twilio documents "
        "it uses; what Twilio's Countries list answers such a subaccount is not documented, so "
        "that answer is not used. Where the inheritance setting could not be read, a "
        "destination counts as blocked only if neither the subaccount's own list nor its "
        "parent's enables it."
    ]
    counts = [
        f"{len(by[OWN])} by their own list",
        f"{len(by[INHERITED])} by their parent's",
    ]
    if by[UNCERTAIN]:
        counts.append(f"{len(by[UNCERTAIN])} by both (inheritance unknown)")
    if by[""]:
        counts.append(f"{len(by[''])} not at all (not read, empty or closed)")
    parts.append("Accounts judged: " + "; ".join(counts) + ".")
    parts.append(
        "A number's risk class comes from its type: premium-rate, shared-cost, UAN, personal, "
        "pager and voicemail numbers are Twilio's high-risk special services, other numbers "
        "low-risk. Twilio does not publish its toll-fraud ranges, so a call blocked as toll "
        "fraud cannot be foreseen."
    )
    return [" ".join(parts), table]
