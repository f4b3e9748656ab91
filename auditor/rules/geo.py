"""Which Voice Geo Permissions apply to an account, and whether they let a number be dialed.

Twilio answers `/v1/DialingPermissions/Countries` and `/v1/Settings` for the account
whose credentials ask. A subaccount with `dialing_permissions_inheritance` true uses its
parent's ("Master Project's") permissions; Twilio does not document what the Countries
list returns to such a subaccount, so the list it answered is not used for it:

- a top-level account, or a subaccount that does not inherit: its own list;
- a subaccount that inherits: its parent's effective permissions (followed upwards);
- a subaccount whose Settings could not be read: both lists that might apply (its own
  and its parent's) are consulted, and a destination counts as blocked only when neither
  enables it — no finding rests on a guess about inheritance (and if either list is
  unknown, nothing is judged).

A list that could not be read, or came back empty (Twilio lists every country it can
call), leaves the account's destinations unjudged.

A number's risk class comes from Twilio's own high-risk special prefixes of its
country (`HighRiskSpecialPrefixes`, read by the collector for the countries fixed
destinations dial): "Each Voice DialingPermission Country resource describes these three
groups of phone number prefixes" (twilio.com/docs/voice/api/dialing-permissions-resources),
so a read list decides — a number in it is high-risk special, one outside it low-risk.
Where the list was not read (an older snapshot, a failed request, code scanned later),
the number's type decides (phonenumbers): premium-rate, shared-cost,
UAN, personal, pager and voicemail numbers are Twilio's "high-risk special services";
fixed lines, mobiles, toll-free and VoIP numbers are "low-risk" ("most mobile and
landline/fixed number ranges"). Twilio's toll-fraud ranges are "not available for
download", so whether a low-risk number sits in one cannot be judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from auditor.extract.destinations import entry_for, matching_prefix, prefix_digits
from auditor.extract.numberinfo import number_info
from auditor.model import DialingPermissionCountry, DialingPermissions, Snapshot

__all__ = ["entry_for"]  # re-exported: the rules and their tests read it from here

DOCS_GEO = "https://www.twilio.com/docs/voice/api/dialing-permissions-resources"
DOCS_GEO_CONSOLE = "https://www.twilio.com/docs/sip-trunking/voice-dialing-geographic-permissions"
BULK_UPDATE_URL = "https://voice.twilio.com/v1/DialingPermissions/BulkCountryUpdates"
SETTINGS_URL = "https://voice.twilio.com/v1/Settings"
CONSOLE_PAGE = "Console › Voice › Settings › Geo permissions"

LOW_RISK = "low-risk"
HIGH_RISK_SPECIAL = "high-risk special"
# phonenumbers types Twilio counts as "special services" ("premium numbers, special
# services, shared cost, and others"); every other type is in the low-risk group.
SPECIAL_TYPES = frozenset(
    {"premium_rate", "shared_cost", "uan", "personal_number", "pager", "voicemail"}
)
# The flag of a country entry that enables each risk class.
FLAG = {
    LOW_RISK: "low_risk_numbers_enabled",
    HIGH_RISK_SPECIAL: "high_risk_special_numbers_enabled",
}

OWN = "own"
INHERITED = "inherited"
UNCERTAIN = "uncertain"  # Settings not read: every list that might apply is consulted


@dataclass(frozen=True)
class EffectivePermissions:
    """The Geo Permissions that apply to `account_sid`, and how that was decided."""

    account_sid: str
    how: str  # OWN | INHERITED | UNCERTAIN
    holder: str  # the account whose list applies (the parent it inherits from, or itself)
    lists: tuple[tuple[DialingPermissionCountry, ...], ...]  # more than one only if UNCERTAIN


@dataclass(frozen=True)
class RiskClass:
    """A number's Geo Permissions risk class and what it was told by, in words."""

    risk: str  # LOW_RISK | HIGH_RISK_SPECIAL
    basis: str  # "Twilio's high-risk special prefix +449 of GB", "its number type (…)"


def classify_risk(e164: str, iso: str | None, prefixes: Sequence[str] | None) -> RiskClass:
    """By Twilio's prefixes (digit strings) of the governing country `iso` when they were
    read, else by the number's type."""
    country = iso or "its country"
    if prefixes is not None:
        match = matching_prefix(e164, prefixes)
        if match is not None:
            return RiskClass(
                HIGH_RISK_SPECIAL, f"Twilio's high-risk special prefix +{match} of {country}"
            )
        return RiskClass(LOW_RISK, f"outside Twilio's high-risk special prefixes of {country}")
    info = number_info(e164)
    kind = info.type if info is not None else "unknown"
    risk = HIGH_RISK_SPECIAL if kind in SPECIAL_TYPES else LOW_RISK
    return RiskClass(
        risk, f"its number type ({kind}; Twilio's high-risk prefixes of {country} were not read)"
    )


def risk_class(e164: str, prefixes: Sequence[str] | None = None) -> str:
    """LOW_RISK or HIGH_RISK_SPECIAL: by `prefixes` (digit strings) when read, else by type."""
    return classify_risk(e164, None, prefixes).risk


def permits(entry: DialingPermissionCountry | None, risk: str) -> bool:
    return entry is not None and bool(getattr(entry, FLAG[risk]))


def _usable(perms: DialingPermissions | None) -> tuple[DialingPermissionCountry, ...] | None:
    if perms is None or not perms.countries_read or not perms.countries:
        return None
    return tuple(perms.countries)


class GeoIndex:
    """Effective permissions of every account of a snapshot in one Twilio Region, each
    worked out once (regions are isolated: each has its own Geo Permissions)."""

    def __init__(self, snapshot: Snapshot, region: str | None = None) -> None:
        self.snapshot = snapshot
        self.region = region or snapshot.region
        self._perms = {
            p.account_sid: p
            for p in snapshot.dialing_permissions
            if (p.region or snapshot.region) == self.region
        }
        self._parent = {a.sid: a.owner_account_sid for a in snapshot.accounts}
        # Twilio's high-risk special prefixes by Geo Permissions country (those read).
        self.prefixes: dict[str, tuple[str, ...]] = {
            p.iso_code: prefix_digits(p.prefixes) for p in snapshot.high_risk_special_prefixes
        }
        self._memo: dict[str, EffectivePermissions | None] = {}
        self._inheriting: dict[str, list[str]] | None = None  # holder → inheriting accounts

    def effective(self, sid: str) -> EffectivePermissions | None:
        """The permissions Twilio applies to an account's calls (None: they cannot be told)."""
        if sid not in self._memo:
            self._memo[sid] = None  # a cycle in owner_account_sid ends here
            self._memo[sid] = self._work_out(sid)
        return self._memo[sid]

    def _work_out(self, sid: str) -> EffectivePermissions | None:
        perms = self._perms.get(sid)
        own = _usable(perms)
        parent = self._parent.get(sid)
        inheritance = perms.inheritance if perms else None
        if not parent or parent == sid or inheritance is False:
            return EffectivePermissions(sid, OWN, sid, (own,)) if own else None
        above = self.effective(parent)
        if inheritance is True:
            return (
                EffectivePermissions(sid, INHERITED, above.holder, above.lists) if above else None
            )
        if own is None or above is None:
            return None  # one of the lists that may apply is unknown: nothing can be told
        return EffectivePermissions(sid, UNCERTAIN, above.holder, (own, *above.lists))

    def inheriting_from(self, holder: str) -> list[str]:
        """Subaccounts whose permissions are `holder`'s: a change there reaches them too.

        Worked out once for every holder (each finding asks; 5,000 accounts × 6,000
        findings was 30 million lookups).
        """
        if self._inheriting is None:
            inheriting: dict[str, list[str]] = {}
            for account in self.snapshot.accounts:
                eff = self.effective(account.sid)
                if eff and eff.how == INHERITED and account.sid != eff.holder:
                    inheriting.setdefault(eff.holder, []).append(account.sid)
            self._inheriting = inheriting
        return list(self._inheriting.get(holder, ()))

    def by_method(self) -> dict[str, list[str]]:
        """Account SIDs by how their permissions were judged (OWN, INHERITED, UNCERTAIN, "")."""
        out: dict[str, list[str]] = {OWN: [], INHERITED: [], UNCERTAIN: [], "": []}
        for account in self.snapshot.accounts:
            eff = self.effective(account.sid)
            out[eff.how if eff else ""].append(account.sid)
        return out


@dataclass(frozen=True)
class Verdict:
    """Whether the permissions let a number be dialed, with the entry that decided it."""

    permitted: bool
    risk: str
    entry: DialingPermissionCountry | None  # from the list that applies (the first, if several)
    basis: str = ""  # how the risk class was told (RiskClass.basis)


def judge(
    eff: EffectivePermissions,
    e164: str,
    iso: str | None,
    prefixes: Mapping[str, Sequence[str]] | None = None,
) -> Verdict:
    """Permitted when any list that may apply enables the number's risk class.

    `prefixes`: Twilio's high-risk special prefixes by Geo Permissions country (GeoIndex);
    the governing entry's country picks the list (a Canadian number: `US`'s).
    """
    entries = [entry_for(countries, e164, iso) for countries in eff.lists]
    entry = next((e for e in entries if e is not None), None)
    country = entry.iso_code if entry is not None else iso
    read = (prefixes or {}).get(country or "")
    risk = classify_risk(e164, country, read)
    permitted = any(permits(e, risk.risk) for e in entries)
    return Verdict(permitted, risk.risk, entry, risk.basis)
