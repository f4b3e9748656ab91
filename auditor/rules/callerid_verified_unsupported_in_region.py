"""callerid-verified-unsupported-in-region: a Verified Caller ID used where the region has none.

Twilio checks a callerId against what the executing account owns or has verified,
in the region the call runs in. Some regions do not support Verified Caller IDs at
all (IE1, per Twilio's regional availability page; `auditor.regions` holds the table
and its sources): a Dial running there with a number the account holds only as a
Verified Caller ID is refused (13214), although the same Dial works in US1. Owned
numbers are global, so they are the fix. The references carry their region (the
region of the snapshot they were read from); the rule asks the table, never a name.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Severity
from auditor.regions import (
    INBOUND_REGION_URL,
    VERIFIED_CALLER_IDS,
    availability,
    lacks,
    region_label,
)
from auditor.rules.base import (
    ERROR_13214,
    ERROR_21210,
    Rule,
    RuleContext,
    describe_source,
    finding_for,
    judgeable,
    move_request,
    own_numbers_text,
)
from auditor.rules.remedy import owned_number


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        judge = ctx.judge(ref)  # a Dial: 13214; a Calls API From: 21210 (rules.base.Judge)
        if not judgeable(ref, judge) or not ref.e164 or not ref.executing_account_sid:
            continue
        if not lacks(ref.region, VERIFIED_CALLER_IDS):
            continue
        x, e164 = ref.executing_account_sid, ref.e164
        if ctx.index.authorized.get(e164, {}).get(x) != "verified":
            continue  # owned (global, fine everywhere), or not held: other rules say so
        row = availability(ref.region or "", VERIFIED_CALLER_IDS)
        region = region_label(ref.region)
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} runs in {region} and {judge.uses} {e164}, which "
            f"{ctx.index.account_label(x)} holds only as a Verified Caller ID. Twilio does not "
            f"support Verified Caller IDs in {region} (regional product availability: "
            f"{row.source}): {judge.refusal(judge.not_authorized)}, although the same caller "
            "ID works in US1.",
            _fixes(ctx, x, e164, region),
            owner=x,
            path=[x],
            details={"region": region, "held_as": "verified"},
            error_codes=[judge.not_authorized],
        )


def _fixes(ctx: RuleContext, x: str, e164: str, region: str) -> str:
    """An owned number works in every region (numbers are global): use, move or buy one."""
    own = own_numbers_text(ctx, x)
    lead = (
        f"Use one of {x}'s own numbers as callerId ({own}): phone numbers are global, so a "
        f"number {x} owns is valid in {region}; a Verified Caller ID is not."
        if own
        else f"{x} owns no voice number: buy one for it (numbers are global and valid in "
        f"{region}); a Verified Caller ID is not."
    )
    owners = sorted(
        sid for sid, how in ctx.index.authorized.get(e164, {}).items() if how == "owned"
    )
    number = owned_number(ctx, owners[0], e164) if owners else None
    if number is not None:
        move = move_request(owners[0], number.sid, x)
        keep = f" Or move {e164} from {owners[0]} into {x}: {move}."
    else:
        keep = f" Or buy or port {e164} into {x}."
    return (
        f"{lead}{keep} Or run this call in US1, where the Verified Caller ID is accepted (set "
        f"the inbound processing region of the numbers that reach it: {INBOUND_REGION_URL})."
    )


RULE = Rule(
    id="callerid-verified-unsupported-in-region",
    title="Verified Caller ID used in a region without Verified Caller IDs",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214, ERROR_21210),
    risk="Calls run in a Twilio Region that does not support Verified Caller IDs (IE1): Twilio "
    "refuses the Dial although the same caller ID works in US1, so moving to the region breaks "
    "every call through it.",
    remediation="Use a number {account_sid} owns (owned numbers work in every region), move "
    "{caller_id} into {account_sid}, or run the call in US1.",
    docs_url="https://www.twilio.com/docs/global-infrastructure/regional-product-and-feature-availability",
    check=check,
)
