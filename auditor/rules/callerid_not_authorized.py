"""callerid-not-authorized: a literal callerId that no account of the hierarchy holds."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Severity
from auditor.rules.base import (
    DOCS_13214,
    ERROR_13214,
    ERROR_21210,
    Rule,
    RuleContext,
    describe_source,
    finding_for,
    judgeable,
)
from auditor.rules.remedy import Remedy


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        judge = ctx.judge(ref)
        if not judgeable(ref, judge) or not ref.e164 or not ref.executing_account_sid:
            continue
        if ctx.index.authorized.get(ref.e164):
            continue
        x = ref.executing_account_sid
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} {judge.uses} {ref.e164} in "
            f"{ctx.index.account_label(x)}, but no account of the hierarchy owns or verifies "
            f"that number: {judge.refusal(judge.not_authorized)} and the call never rings.",
            Remedy.for_ref(ctx, ref).unowned(ref.e164),
            path=[x],
            error_codes=[judge.not_authorized],
        )


RULE = Rule(
    id="callerid-not-authorized",
    title="Caller ID owned or verified by no account of the hierarchy",
    severity=Severity.CRITICAL.value,
    error_codes=(ERROR_13214, ERROR_21210),
    risk="Every call through this Dial or API request fails: the callee's phone never rings "
    "and the caller hears silence or an error.",
    remediation="Verify {caller_id} in {account_sid} (OutgoingCallerIds), buy or port it into "
    "{account_sid}, or use one of {account_sid}'s own numbers.",
    docs_url=DOCS_13214,
    check=check,
)
