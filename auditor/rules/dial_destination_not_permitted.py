"""dial-destination-not-permitted: a fixed destination the executing account may not call.

Twilio blocks an outgoing call to a country (or to its high-risk special numbers) that
the account's Voice Dialing Geographic Permissions do not enable: 13227 for a <Dial>,
21215 for the Calls API, 32205 for SIP trunking. Which permissions apply, and how a
number's risk class is told, is auditor.rules.geo.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from auditor.extract.numberinfo import country_label
from auditor.model import (
    CallerIdReference,
    DialingPermissionCountry,
    Finding,
    Severity,
    SourceKind,
    Via,
)
from auditor.rules.base import Rule, RuleContext, describe_source, finding_for
from auditor.rules.geo import (
    BULK_UPDATE_URL,
    CONSOLE_PAGE,
    DOCS_GEO,
    FLAG,
    HIGH_RISK_SPECIAL,
    INHERITED,
    OWN,
    SETTINGS_URL,
    UNCERTAIN,
    EffectivePermissions,
    GeoIndex,
    Verdict,
    judge,
)

ERROR_13227 = 13227  # Dial: geo permissions do not permit the call
ERROR_21215 = 21215  # Calls API: Geo Permission configuration is not permitting call
ERROR_32205 = 32205  # SIP Trunking: geo permissions
# Which error a blocked call logs, by the API that places it (Twilio support 223180228).
GEO_ERROR_BY_VIA = {
    Via.DIAL.value: ERROR_13227,
    Via.CALLS_API.value: ERROR_21215,
    Via.CONFERENCE_PARTICIPANT.value: ERROR_21215,
    Via.FLEX_OUTBOUND.value: ERROR_21215,  # Flex places outbound calls through the REST API
    Via.SIP_TRUNKING.value: ERROR_32205,
}
# Studio: Connect Call To dials like <Dial>; Make Outgoing Call places a REST-style call.
GEO_ERROR_BY_WIDGET = {"connect-call-to": ERROR_13227, "make-outgoing-call-v2": ERROR_21215}
_GEO_KEY = "geo-index"
PERMISSION_WORDS = {
    OWN: "its own list",
    INHERITED: "inherited from its parent",
    UNCERTAIN: "its own and its parent's (inheritance setting not read)",
}


def geo_index(ctx: RuleContext, region: str | None = None) -> GeoIndex:
    """One GeoIndex per analysis and region, shared by the rules that need it."""
    key = f"{_GEO_KEY}:{region or ctx.snapshot.region}"
    index = ctx.shared.get(key)
    if not isinstance(index, GeoIndex):
        index = GeoIndex(ctx.snapshot, region)
        ctx.shared[key] = index
    return index


def studio_widget_type(ctx: RuleContext, ref: CallerIdReference) -> str | None:
    """The type of the Studio widget a reference comes from (its name is the location)."""
    flow = ctx.index.flows.get(ref.source.sid or "") if ref.source.sid else None
    states = flow.definition.get("states") if flow and isinstance(flow.definition, dict) else None
    for state in states if isinstance(states, list) else []:
        if isinstance(state, dict) and state.get("name") == ref.source.location:
            kind = state.get("type")
            return kind if isinstance(kind, str) else None
    return None


def geo_error_code(ctx: RuleContext, ref: CallerIdReference) -> int:
    if ref.via == Via.STUDIO.value or ref.source.kind == SourceKind.STUDIO_FLOW:
        return GEO_ERROR_BY_WIDGET.get(studio_widget_type(ctx, ref) or "", ERROR_13227)
    return GEO_ERROR_BY_VIA.get(ref.via, ERROR_13227)


def update_request(entry: DialingPermissionCountry | None, iso: str, risk: str) -> str:
    """The UpdateRequest JSON that enables `risk` for `iso`, keeping the other flags as they are."""
    flags = {
        "low_risk_numbers_enabled": bool(entry and entry.low_risk_numbers_enabled),
        "high_risk_special_numbers_enabled": bool(
            entry and entry.high_risk_special_numbers_enabled
        ),
        "high_risk_tollfraud_numbers_enabled": bool(
            entry and entry.high_risk_tollfraud_numbers_enabled
        ),
    }
    flags[FLAG[risk]] = True
    item = {"iso_code": iso, **{k: "true" if v else "false" for k, v in flags.items()}}
    return json.dumps([item])


def _where(eff: EffectivePermissions, ctx: RuleContext) -> str:
    label = ctx.index.account_label
    if eff.how == INHERITED:
        return f"the Geo Permissions it inherits from {label(eff.holder)}"
    if eff.how == UNCERTAIN:
        return (
            "its Geo Permissions (its inheritance setting could not be read; neither its own "
            f"list nor that of {label(eff.holder)} enables it)"
        )
    return "its Geo Permissions"


def _remediation(
    ctx: RuleContext,
    account: str,
    eff: EffectivePermissions,
    verdict: Verdict,
    iso: str,
    destination: str,
    region: str,
) -> str:
    label = ctx.index.account_label
    what = "high-risk special numbers" if verdict.risk == HIGH_RISK_SPECIAL else "calls"
    target = eff.holder if eff.how == INHERITED else account
    request = (
        f"POST {BULK_UPDATE_URL} with UpdateRequest="
        f"{update_request(verdict.entry, iso, verdict.risk)}, authenticated as {target} (its "
        f"own Account SID and Auth Token: the request names no account), or in the "
        f"{CONSOLE_PAGE} page of {label(target)}"
    )
    text = f"Enable {what} to {country_label(iso)} for {label(target)}: {request}."
    if eff.how == INHERITED:
        geo = geo_index(ctx, region)
        others = [s for s in geo.inheriting_from(eff.holder) if s != account]
        reach = f" and the {len(others)} other subaccount(s) that inherit too" if others else ""
        text += (
            f" {label(account)} inherits its Geo Permissions from {label(eff.holder)}, so the "
            f"change reaches it{reach}. To enable {iso} for {label(account)} alone, turn "
            f"inheritance off (POST {SETTINGS_URL} with DialingPermissionsInheritance=false, "
            f"authenticated as {account}) and set its own countries: it then follows its own "
            f"list for every country."
        )
    if verdict.risk == HIGH_RISK_SPECIAL:
        text += (
            f" Warning: this widens toll-fraud exposure. High-risk special numbers (premium, "
            f"shared-cost and other special services) are billed at high rates and are a "
            f"common target of toll fraud; enable them only if the business must call "
            f"{destination}, and keep high_risk_tollfraud_numbers_enabled false."
        )
    else:
        text += (
            f" This opens only Twilio's low-risk ranges of {iso}; keep "
            f"high_risk_tollfraud_numbers_enabled false so its toll-fraud ranges stay blocked."
        )
    return text


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.leg_references:
        account, destination, iso = (
            ref.executing_account_sid,
            ref.destination,
            ref.destination_country,
        )
        if not account or not destination or not iso:
            continue
        region = ref.region or ctx.snapshot.region
        geo = geo_index(ctx, region)
        eff = geo.effective(account)
        if eff is None:
            continue  # permissions not read: coverage says so; nothing is guessed
        verdict = judge(eff, destination, iso, geo.prefixes)
        if verdict.permitted:
            continue
        code = geo_error_code(ctx, ref)
        entry_iso = verdict.entry.iso_code if verdict.entry else iso
        if verdict.entry is None:
            why = (
                f"{country_label(iso)} is not in the Geo Permissions list Twilio gives "
                f"{ctx.index.account_label(account)}: it cannot be enabled there (ask Twilio "
                f"support whether calls to it are possible)"
            )
        else:
            why = (
                f"{_where(eff, ctx)} do not enable {verdict.risk} numbers of {country_label(iso)} "
                f"({destination} is {verdict.risk}: {verdict.basis})"
            )
        finding = finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} calls {destination} in {country_label(iso)} from "
            f"{ctx.index.account_label(account)}, but {why}: Twilio blocks the call ({code}).",
            _remediation(ctx, account, eff, verdict, entry_iso, destination, region),
            details={
                "destination_risk": verdict.risk,
                "destination_risk_basis": verdict.basis,
                "geo_permissions": PERMISSION_WORDS[eff.how],
                "geo_permissions_of": ctx.index.account_label(eff.holder),
            },
            error_codes=[code],
        )
        finding.destination = destination
        finding.destination_country = iso
        yield finding


RULE = Rule(
    id="dial-destination-not-permitted",
    title="Destination not enabled in the account's Geo Permissions",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13227, ERROR_21215, ERROR_32205),
    risk=(
        "Calls to this destination are blocked before they ring: Twilio's Voice Dialing "
        "Geographic Permissions of the account that places them do not enable the country "
        "(or its high-risk special numbers)."
    ),
    remediation=(
        "Enable the country for the account that places the call (POST "
        "/v1/DialingPermissions/BulkCountryUpdates with its own credentials, or the Console's "
        "Geo permissions page); for a subaccount that inherits, on its parent or with "
        "inheritance turned off. Keep the high-risk toll-fraud ranges off."
    ),
    docs_url=DOCS_GEO,
    check=check,
)
