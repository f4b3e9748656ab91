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

A number's risk class comes from its type (phonenumbers): premium-rate, shared-cost,
UAN, personal, pager and voicemail numbers are Twilio's "high-risk special services";
fixed lines, mobiles, toll-free and VoIP numbers are "low-risk" ("most mobile and
landline/fixed number ranges"). Twilio's toll-fraud ranges are "not available for
download", so whether a low-risk number sits in one cannot be judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auditor.extract.numberinfo import number_info
from auditor.model import DialingPermissionCountry, DialingPermissions, Snapshot

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


def risk_class(e164: str) -> str:
    """LOW_RISK or HIGH_RISK_SPECIAL, from the number's type."""
    info = number_info(e164)
    return HIGH_RISK_SPECIAL if info is not None and info.type in SPECIAL_TYPES else LOW_RISK


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
            prefix = "".join(ch for ch in code if ch.isdigit())
            if prefix and digits.startswith(prefix) and len(prefix) > best_len:
                best, best_len = country, len(prefix)
    return best


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
        self._memo: dict[str, EffectivePermissions | None] = {}

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
        """Subaccounts whose permissions are `holder`'s: a change there reaches them too."""
        out = []
        for account in self.snapshot.accounts:
            eff = self.effective(account.sid)
            if account.sid != holder and eff and eff.how == INHERITED and eff.holder == holder:
                out.append(account.sid)
        return out

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


def judge(eff: EffectivePermissions, e164: str, iso: str | None) -> Verdict:
    """Permitted when any list that may apply enables the number's risk class."""
    risk = risk_class(e164)
    entries = [entry_for(countries, e164, iso) for countries in eff.lists]
    permitted = any(permits(entry, risk) for entry in entries)
    return Verdict(permitted, risk, next((e for e in entries if e is not None), None))
