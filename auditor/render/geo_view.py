"""What the report says about destinations: risk sentences and the Geo Permissions method.

Kept apart from view.py (one small module per concern): the report states how Geo
Permissions were judged, since Twilio does not document what an inheriting
subaccount's Countries list answers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from auditor.model import Finding, Snapshot
from auditor.regions import region_label
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


def geo_method_sentences(snapshot: Snapshot, regions: Sequence[str] = ()) -> list[str]:
    """How destinations were judged: which Geo Permissions applied, and what is not known.

    `regions`: the Twilio Regions the analysis covers (default the snapshot's own). Each
    region has its own Geo Permissions (a merged input holds one entry per account per
    region), so the counts are given per region, each from that region's entries only.
    """
    rows = len(country_rules())
    table = (
        f"Caller IDs on calls abroad were checked against a table of {rows} destination-country "
        f"rules, each taken from Twilio's own guidelines or support pages and dated "
        f"({TABLE_FILE}; the command twilio-audit rules lists it)."
    )
    audited = list(dict.fromkeys(regions)) or [snapshot.region]
    read_in = {
        region: [p for p in snapshot.dialing_permissions if (p.region or snapshot.region) == region]
        for region in audited
    }
    if not any(read_in.values()):
        return [
            "Voice Geo Permissions were not read for this snapshot, so no destination was "
            "judged against them.",
            table,
        ]
    several = len(audited) > 1
    parts = [
        "Voice Geo Permissions (DialingPermissions/Countries and the inheritance setting) "
        "were read for each account with its own credentials"
        + (
            " in each Twilio Region: regions are isolated, so a call is judged by the "
            "permissions of the region it runs in."
            if several
            else "."
        ),
        "A subaccount that inherits them is judged by its parent's list, which Twilio documents "
        "it uses; what Twilio's Countries list answers such a subaccount is not documented, so "
        "that answer is not used. Where the inheritance setting could not be read, a "
        "destination counts as blocked only if neither the subaccount's own list nor its "
        "parent's enables it.",
    ]
    for region, entries in read_in.items():
        counts = _counts(snapshot, region, entries)
        if several:
            parts.append(f"In {region_label(region)}: {counts}.")
        else:
            parts.append(f"{counts[0].upper()}{counts[1:]}.")
    parts.append(_risk_sentence(snapshot))
    return [" ".join(parts), table]


def _counts(snapshot: Snapshot, region: str, entries: Sequence[object]) -> str:
    """'read for 3 accounts; accounts judged: 1 by their own list; 2 by …' in one region."""
    if not entries:
        return "not read, so no destination of a call running there was judged against them"
    by = GeoIndex(snapshot, region).by_method()
    counts = [
        f"{len(by[OWN])} by their own list",
        f"{len(by[INHERITED])} by their parent's",
    ]
    if by[UNCERTAIN]:
        counts.append(f"{len(by[UNCERTAIN])} by both (inheritance unknown)")
    if by[""]:
        counts.append(f"{len(by[''])} not at all (not read, empty or closed)")
    return f"read for {_plural(len(entries), 'account')}; accounts judged: " + "; ".join(counts)


def _risk_sentence(snapshot: Snapshot) -> str:
    """How a destination's risk class was told: Twilio's prefixes where read, else its type."""
    read = sorted(p.iso_code for p in snapshot.high_risk_special_prefixes)
    by_type = (
        "premium-rate, shared-cost, UAN, personal, pager and voicemail numbers count as "
        "Twilio's high-risk special services, other numbers as low-risk"
    )
    fraud = (
        "Twilio does not publish its toll-fraud ranges, so a call blocked as toll fraud "
        "cannot be foreseen."
    )
    if not read:
        return f"A number's risk class comes from its type: {by_type}. {fraud}"
    return (
        "A number's risk class comes from Twilio's own high-risk special prefixes of its "
        f"country, read for the {len(read)} {'country' if len(read) == 1 else 'countries'} "
        "the audited calls dial "
        f"({', '.join(read)}): a number inside one is high-risk special, any other low-risk. "
        f"For other countries it comes from the number's type: {by_type}. {fraud}"
    )
