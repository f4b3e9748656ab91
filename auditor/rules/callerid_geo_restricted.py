"""callerid-geo-restricted: caller ID and fixed destination match a row of the country table.

The rows (auditor/data/destination_callerid_rules.toml) say what some destination
countries do to some caller IDs, each with Twilio's page as its source; severity
follows the row's effect: refused → high, replaced → medium, surcharge → low.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from auditor.extract.numberinfo import country_label, number_info
from auditor.model import CallerIdReference, Finding, RefKind, Severity
from auditor.rules.base import (
    DOCS_DIAL_CALLERID,
    Rule,
    RuleContext,
    describe_source,
    finding_for,
)
from auditor.rules.country_table import (
    TABLE_FILE,
    CallerFacts,
    CountryRule,
    DestinationFacts,
    country_rules,
    rules_for,
)

EFFECT_WORDS = {
    "refused": "The call is refused.",
    "replaced": "The call goes through, but the person called sees another caller ID or none.",
    "surcharge": "The call goes through and is billed at a surcharged rate.",
}
HELD_WORDS = {
    "owned": "a number the account owns",
    "verified": "only a Verified Caller ID of the account",
    None: "a number the account neither owns nor verifies",
}


def caller_facts(ctx: RuleContext, e164: str, account: str | None) -> CallerFacts | None:
    info = number_info(e164)
    if info is None:
        return None
    held = ctx.index.authorized.get(e164, {}).get(account) if account else None
    return CallerFacts(country=info.country, type=info.type, valid=info.valid, held=held)


def allowed(rows: Sequence[CountryRule], caller: CallerFacts, dest: DestinationFacts) -> bool:
    """True when no row of the destination applies to this caller ID."""
    return not any(row.matches(caller, dest) for row in rows)


def _alternative(
    ctx: RuleContext, account: str | None, dest: DestinationFacts, rows: Sequence[CountryRule]
) -> str:
    """A caller ID of the account that the destination's rows allow, or a number to get."""
    country = country_label(dest.country)
    if account:
        label = ctx.index.account_label(account)
        own = sorted(ctx.index.numbers_by_account.get(account, []), key=lambda n: n.phone_number)
        for number in own:
            facts = caller_facts(ctx, number.phone_number, account)
            if facts and number.capabilities.get("voice", True) and allowed(rows, facts, dest):
                name = f" ('{number.friendly_name}')" if number.friendly_name else ""
                return (
                    f"Use {number.phone_number}{name}, a number {label} owns from "
                    f"{country_label(facts.country)}, as the caller ID for calls to {country}: "
                    f"no rule of the table applies to it."
                )
    local = CallerFacts(country=dest.country, type="fixed_line", valid=True, held="owned")
    whose = f" for {ctx.index.account_label(account)}" if account else ""
    if allowed(rows, local, dest):
        return (
            f"Buy a local {country} Twilio number{whose} and use it as the caller ID for calls "
            f"to {country} (a Twilio number, not a Verified Caller ID)."
        )
    return (
        f"Use a Twilio number from outside {country} as the caller ID for calls to {country}"
        f"{whose} (buy one if the account has none)."
    )


def _finding(
    ctx: RuleContext, ref: CallerIdReference, row: CountryRule, caller: CallerFacts, dest: str
) -> Finding:
    cid = ref.e164 or ref.raw_value
    facts = f"{HELD_WORDS.get(caller.held, HELD_WORDS[None])}, from {country_label(caller.country)}"
    if caller.type != "unknown":
        facts += f", {caller.type.replace('_', '-')}"
    if not caller.valid:
        facts += ", not a valid number"
    rows = rules_for(row.destination)
    dest_facts = DestinationFacts(row.destination, _type(dest))
    finding = finding_for(
        RULE,
        ctx,
        ref,
        f"{describe_source(ref, ctx)} calls {dest} in {country_label(row.destination)} with "
        f"caller ID {cid} ({facts}). {row.rule} {EFFECT_WORDS[row.effect]} "
        f"(Source: {row.source}, checked {row.checked.isoformat()}.)",
        " ".join(
            part
            for part in (_alternative(ctx, ref.executing_account_sid, dest_facts, rows), row.fix)
            if part
        ),
        details={"country_rule": row.id, "effect": row.effect, "rule_source": row.source},
        error_codes=[],
    )
    finding.severity = row.severity
    finding.destination = dest
    finding.destination_country = row.destination
    return finding


def _type(e164: str) -> str:
    info = number_info(e164)
    return info.type if info else "unknown"


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.leg_references:
        if (
            ref.kind != RefKind.NUMBER
            or ref.e164 is None
            or ref.passthrough
            or ref.missing
            or not ref.destination
            or not ref.destination_country
        ):
            continue
        rows = rules_for(ref.destination_country)
        if not rows:
            continue
        caller = caller_facts(ctx, ref.e164, ref.executing_account_sid)
        if caller is None:
            continue
        dest = DestinationFacts(ref.destination_country, _type(ref.destination))
        for row in rows:
            if row.matches(caller, dest):
                yield _finding(ctx, ref, row, caller, ref.destination)


def _table() -> dict[str, object]:
    return {"table": TABLE_FILE, "country_rules": [row.metadata() for row in country_rules()]}


RULE = Rule(
    id="callerid-geo-restricted",
    title="Caller ID the destination country refuses, replaces or surcharges",
    severity=Severity.HIGH.value,  # per finding: refused high, replaced medium, surcharge low
    error_codes=(),
    risk=(
        "Some countries refuse or replace caller IDs of some kinds (a same-country number, a "
        "Verified Caller ID, a toll-free number), or bill them more: calls to them fail, show "
        "another caller ID, or cost more. Each row of the country table names Twilio's page."
    ),
    remediation=(
        "Use a caller ID of the executing account that the destination's rules allow (for "
        "instance one of its numbers from another country), or buy a local Twilio number."
    ),
    docs_url=DOCS_DIAL_CALLERID,  # each row of the table names its own page
    check=check,
    extra=_table,
)
